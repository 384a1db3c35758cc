package fork

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Start starts cmd like cmd.Start, but the new process inherits exactly
// its standard input, output and error (cmd.Stdin, cmd.Stdout, cmd.Stderr,
// as exec.Cmd sets them up) and files, as descriptors 3, 4, ... in order,
// and nothing else: not a descriptor some other code left without
// close-on-exec, whether opened by cgo, a raw system call or syscall.Dup.
//
// Start sets cmd.Env to cmd.Env (or os.Environ() when nil) without any
// inheritance variables, plus LISTEN_FDS, LISTEN_FDNAMES and EnvMarker
// describing the files. A Go child reads them with Init; see the package
// documentation for a child in another language.
//
// cmd.ExtraFiles must be empty. Start passes duplicates of the files
// through it and closes them once the child has its copies, so the files'
// blocking mode is left alone: exec.Cmd alone would switch a socket of the
// net package to blocking mode, the caller's live listener included, whose
// Close could then hang. The child shares each file's open file description
// with its current flags; sockets and pipes made by Go are non-blocking, so
// a child in another language should set the mode it needs, as it would
// under systemd's NonBlocking=.
//
// Before starting, Start runs the AtFork prepare hooks in reverse order and,
// holding syscall.ForkLock for writing, marks every descriptor of this
// process from 3 up close-on-exec (a sticky change: this package treats an
// inheritable descriptor as a leak). After the start, successful or not, it
// runs the parent hooks in order. The caller still owns the files and
// should close its copies when the child has them; it must Wait for cmd as
// with exec.Cmd. Errors wrap os.ErrInvalid (a nil command or file, a bad
// name, cmd.ExtraFiles set), os.ErrClosed (a closed file) or the error of
// cmd.Start.
func Start(cmd *exec.Cmd, files ...NamedFile) error {
	if err := start(cmd, files); err != nil {
		return fmt.Errorf("fork: start: %w", err)
	}
	return nil
}

// start is Start with errors that do not name the operation.
func start(cmd *exec.Cmd, files []NamedFile) error {
	if cmd == nil {
		return invalid("nil command")
	}
	if cmd.Process != nil {
		return errors.New("exec: already started")
	}
	if len(cmd.ExtraFiles) > 0 {
		return invalid("cmd.ExtraFiles is set; pass the files to Start instead, so that they get names")
	}
	ids := make([]fileID, len(files))
	dups := make([]*os.File, 0, len(files))
	defer func() {
		for _, f := range dups {
			f.Close()
		}
	}()
	var names strings.Builder
	for i, nf := range files {
		if nf.File == nil {
			return fmt.Errorf("file %d (%q): %w", i, nf.Name, invalid("nil file"))
		}
		if err := validName(nf.Name); err != nil {
			return fmt.Errorf("file %d: %w", i, err)
		}
		// A duplicate of our own: exec.Cmd calls Fd on ExtraFiles, which
		// would switch a socket from the net package to blocking mode for
		// every holder of it, the caller's live listener included.
		d, err := dupFile(nf.File, false)
		if err != nil {
			return fmt.Errorf("file %d (%q): %w", i, nf.Name, err)
		}
		dups = append(dups, d)
		if ids[i], err = fileIdentity(d); err != nil {
			return fmt.Errorf("file %d (%q): %w", i, nf.Name, err)
		}
		if i > 0 {
			names.WriteByte(':')
		}
		names.WriteString(nf.Name)
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	clean := make([]string, 0, len(env)+3)
	for _, kv := range env {
		if !isInheritanceVar(kv) {
			clean = append(clean, kv)
		}
	}
	if len(files) > 0 {
		clean = append(clean,
			EnvListenFDs+"="+strconv.Itoa(len(files)),
			EnvListenFDNames+"="+names.String())
	}
	clean = append(clean, EnvMarker+"="+formatMarker(marker{ppid: os.Getpid(), start: selfStart(), ids: ids}))
	cmd.Env = clean
	cmd.ExtraFiles = dups

	hs := hookSnapshot()
	runPrepare(hs)
	err := markCloseOnExec()
	if err == nil {
		err = cmd.Start()
	} else {
		err = fmt.Errorf("marking descriptors close-on-exec: %w", err)
	}
	cmd.ExtraFiles = nil
	runParent(hs)
	return err
}

func isInheritanceVar(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	switch k {
	case EnvListenPID, EnvListenFDs, EnvListenFDNames, EnvMarker:
		return true
	}
	return false
}
