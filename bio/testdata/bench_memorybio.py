"""Throughput of Python's ssl.MemoryBIO, for bio's BenchmarkVsPython.

A client and a server SSLObject in one process, joined through MemoryBIOs.
For each line "N" on stdin it moves N writes of 16 KiB from client to
server and reads them there, then prints "done CIPHER CPU_NS", CPU_NS being
the process CPU time the N writes took. The Go benchmark times that round
trip, so process start-up is not counted.

usage: bench_memorybio.py CERT KEY CAFILE
"""

import ssl
import sys
import time

RECORD = 16384


def main():
    certfile, keyfile, cafile = sys.argv[1:4]
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(certfile, keyfile)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(cafile)
    for ctx in (sctx, cctx):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = cctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = sctx.wrap_bio(s_in, s_out, server_side=True)

    done = {client: False, server: False}
    while not (done[client] and done[server]):
        for obj in (client, server):
            if not done[obj]:
                try:
                    obj.do_handshake()
                    done[obj] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    # The server's session tickets.
    try:
        client.read(1)
    except ssl.SSLWantReadError:
        pass

    payload = b"x" * RECORD
    for line in sys.stdin:
        n = int(line)
        start = time.process_time_ns()
        for _ in range(n):
            client.write(payload)
            s_in.write(c_out.read())
            got = 0
            while got < RECORD:
                got += len(server.read(RECORD - got))
        cpu = time.process_time_ns() - start
        sys.stdout.write("done %s %d\n" % (client.cipher()[0], cpu))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
