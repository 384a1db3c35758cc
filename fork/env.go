package fork

import (
	"fmt"
	"strconv"
	"strings"
)

// The environment that carries inherited files from parent to child.
const (
	// EnvListenPID, EnvListenFDs and EnvListenFDNames are systemd's socket
	// activation protocol (sd_listen_fds(3)): the files are descriptors
	// 3, 4, ... 3+LISTEN_FDS-1, named by the colon-separated LISTEN_FDNAMES,
	// and meant for the process whose pid is LISTEN_PID.
	EnvListenPID     = "LISTEN_PID"
	EnvListenFDs     = "LISTEN_FDS"
	EnvListenFDNames = "LISTEN_FDNAMES"
	// EnvMarker is this package's stand-in for LISTEN_PID, which a Go
	// parent cannot set to the child's pid before exec. It holds a version,
	// the parent's pid and start time, and the identity (device and inode)
	// of every passed file; Init adopts the files only in the process
	// Start started (whose parent is, or was until it exited, that
	// process) and only if the descriptors it finds are those very files.
	EnvMarker = "STURDY_FORK"
)

// firstFD is SD_LISTEN_FDS_START: the first inherited descriptor.
const firstFD = 3

// maxFiles bounds LISTEN_FDS; no real process passes more.
const maxFiles = 1 << 16

// maxNameLen is systemd's FDNAME_MAX.
const maxNameLen = 255

const markerVersion = "2"

// fileID is the identity of an open file: st_dev and st_ino.
type fileID struct{ dev, ino uint64 }

// validName reports why name cannot travel in LISTEN_FDNAMES, or nil.
func validName(name string) error {
	if name == "" {
		return invalid("empty file name")
	}
	if len(name) > maxNameLen {
		return invalid("file name of %d bytes, at most %d", len(name), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == ':' {
			return invalid("file name %q has byte %#x at %d (printable ASCII except ':')", name, c, i)
		}
	}
	return nil
}

// parseListen interprets LISTEN_FDS and LISTEN_FDNAMES. Without
// LISTEN_FDNAMES every file is called "unknown", as sd_listen_fds_with_names
// does.
func parseListen(fds, names string, namesSet bool) ([]string, error) {
	n, err := strconv.Atoi(fds)
	if err != nil || !isDecimal(fds) || n > maxFiles || (fds != "0" && fds[0] == '0') {
		return nil, invalid("%s=%q is not a count of files", EnvListenFDs, fds)
	}
	out := make([]string, n)
	if !namesSet {
		for i := range out {
			out[i] = "unknown"
		}
		return out, nil
	}
	if n == 0 {
		if names != "" {
			return nil, invalid("%s names files but %s=0", EnvListenFDNames, EnvListenFDs)
		}
		return out, nil
	}
	if c := strings.Count(names, ":") + 1; c != n {
		return nil, invalid("%s has %d names for %s=%d", EnvListenFDNames, c, EnvListenFDs, n)
	}
	for i := range out {
		name, rest, _ := strings.Cut(names, ":")
		if err := validName(name); err != nil {
			return nil, fmt.Errorf("%s: name %d: %w", EnvListenFDNames, i, err)
		}
		out[i] = name
		names = rest
	}
	return out, nil
}

// parsePID parses LISTEN_PID.
func parsePID(s string) (int, error) {
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || !isDecimal(s) {
		return 0, invalid("%s=%q is not a pid", EnvListenPID, s)
	}
	return pid, nil
}

// isDecimal reports whether s is digits only (strconv also takes a sign).
func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// marker is the content of EnvMarker.
type marker struct {
	ppid  int      // the process that called Start
	start uint64   // its start time in clock ticks after boot (/proc stat field 22); 0: unknown
	ids   []fileID // the passed files
}

// formatMarker builds the value of EnvMarker:
// "2 <ppid> <start> <dev>.<ino> ...".
func formatMarker(m marker) string {
	var b strings.Builder
	b.WriteString(markerVersion)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(m.ppid))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(m.start, 10))
	ids := m.ids
	for _, id := range ids {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(id.dev, 16))
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(id.ino, 16))
	}
	return b.String()
}

// parseMarker is the inverse of formatMarker.
func parseMarker(s string) (marker, error) {
	bad := func(why string) (marker, error) {
		return marker{}, invalid("%s=%q: %s", EnvMarker, s, why)
	}
	f := strings.Split(s, " ")
	// Version 1, from a parent built with an older sturdy (as during an
	// upgrade to this version), has no start time: adoption then needs
	// the parent alive, as it is while Upgrade waits for Ready.
	first := 3
	switch {
	case len(f) >= 3 && f[0] == markerVersion:
	case len(f) >= 2 && f[0] == "1":
		first = 2
	default:
		return bad("unknown version")
	}
	if len(f)-first > maxFiles {
		return bad("too many files")
	}
	var m marker
	var err error
	m.ppid, err = strconv.Atoi(f[1])
	if err != nil || m.ppid <= 0 || !isDecimal(f[1]) {
		return bad("bad parent pid")
	}
	if first == 3 {
		m.start, err = strconv.ParseUint(f[2], 10, 64)
		if err != nil || !isDecimal(f[2]) {
			return bad("bad parent start time")
		}
	}
	m.ids = make([]fileID, 0, len(f)-first)
	for _, w := range f[first:] {
		d, i, ok := strings.Cut(w, ".")
		dev, err1 := strconv.ParseUint(d, 16, 64)
		ino, err2 := strconv.ParseUint(i, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			return bad("bad file identity")
		}
		m.ids = append(m.ids, fileID{dev, ino})
	}
	return m, nil
}

// Key prefixes of what an Upgrader passes on.
const (
	kindListen = "listen"
	kindPacket = "packet"
	kindFile   = "file"
)

// keyFor names an Upgrader's listener, packet conn or file so that the name
// survives LISTEN_FDNAMES: kind/network/address with every byte outside
// printable ASCII, and ':', '%', '/' and ' ', written as %XX.
func keyFor(kind, network, addr string) (string, error) {
	var b strings.Builder
	b.WriteString(kind)
	b.WriteByte('/')
	if network != "" {
		escape(&b, network)
		b.WriteByte('/')
	}
	escape(&b, addr)
	k := b.String()
	if err := validName(k); err != nil {
		return "", err
	}
	return k, nil
}

func escape(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c > 0x7e || c == ':' || c == '%' || c == '/' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
}
