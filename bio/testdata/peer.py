"""A TLS peer built on Python's ssl.SSLObject and ssl.MemoryBIO.

It speaks raw TLS records over its standard input and output, so the Go
test is its transport. Reports go to standard error, one word per line.

usage: peer.py ROLE MODE CERT KEY CAFILE
  ROLE  server | client
  MODE  after echoing one line:
        close     send close_notify and wait for the peer's (unwrap)
        truncate  exit without close_notify
        wait      wait for the peer to end: report "peer-close-notify"
                  or "peer-truncated"
"""

import os
import ssl
import sys


def main():
    role, mode, certfile, keyfile, cafile = sys.argv[1:6]
    if role == "server":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(
        incoming,
        outgoing,
        server_side=(role == "server"),
        server_hostname=None if role == "server" else "localhost",
    )

    def flush():
        data = outgoing.read()
        while data:
            n = os.write(1, data)
            data = data[n:]

    def feed():
        data = os.read(0, 65536)
        if data:
            incoming.write(data)
        else:
            incoming.write_eof()

    def call(fn, *args):
        # The pump loop: flush, then feed, until fn needs nothing more.
        while True:
            try:
                result = fn(*args)
                flush()
                return result
            except ssl.SSLWantReadError:
                flush()
                feed()

    call(obj.do_handshake)
    report("handshake " + obj.version())
    line = b""
    while not line.endswith(b"\n"):
        line += call(obj.read, 65536)
    call(obj.write, b"echo:" + line.upper())

    if mode == "close":
        call(obj.unwrap)
        report("closed")
    elif mode == "truncate":
        report("truncating")
    elif mode == "wait":
        # SSLObject.read returns b"" at the peer's close_notify.
        try:
            while call(obj.read, 65536):
                pass
            report("peer-close-notify")
        except ssl.SSLZeroReturnError:
            report("peer-close-notify")
        except ssl.SSLEOFError:
            report("peer-truncated")


def report(word):
    sys.stderr.write(word + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    main()
