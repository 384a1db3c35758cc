package fork

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// sdNotify sends one sd_notify(3) datagram to addr (a path, or "@name" for
// an abstract socket).
func sdNotify(addr, msg string) error {
	if addr == "" || (addr[0] != '/' && addr[0] != '@') {
		return fmt.Errorf("NOTIFY_SOCKET=%q: only unix socket paths and @abstract names are supported", addr)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notifying systemd: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("notifying systemd: %w", err)
	}
	return nil
}

// writePIDFile replaces path with pid and a newline, atomically: readers see
// the old file or the new one.
func writePIDFile(path string, pid int) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.WriteString(strconv.Itoa(pid) + "\n")
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
