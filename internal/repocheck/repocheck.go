// Command repocheck fails when the repository is not fit to be imported by
// a company: when a Go module lacks a LICENSE that pkg.go.dev recognizes as
// BSD-3-Clause, or when a tracked file is an executable binary.
//
// It is a module of its own, so that the library's go.mod does not carry
// its dependency (github.com/google/licensecheck, the detector pkg.go.dev
// uses). .ci/run runs it from the repository root:
//
//	(cd internal/repocheck && go run . ../..)
//
// Its tests run the same checks on the repository, so go test in this
// module fails too.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/licensecheck"
)

// wantLicense is the license every module carries, as licensecheck names it.
const wantLicense = "BSD-3-Clause"

// coverageThreshold is the share of a license file's words that must match
// a known license, in percent. pkg.go.dev uses the same threshold: below it,
// the license is "UNKNOWN" and the documentation is not shown.
const coverageThreshold = 75

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	errs, err := check(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "repocheck:", err)
		os.Exit(2)
	}
	for _, e := range errs {
		fmt.Fprintln(os.Stderr, e)
	}
	if len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "repocheck: %d problem(s)\n", len(errs))
		os.Exit(1)
	}
}

// check runs every check on the git work tree at root and returns what it
// found wrong; err is for a check that could not run.
func check(root string) (problems []error, err error) {
	files, err := trackedFiles(root)
	if err != nil {
		return nil, err
	}
	var mods []string
	for _, f := range files {
		if path.Base(f) == "go.mod" {
			mods = append(mods, path.Dir(f))
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("no go.mod tracked under %s", root)
	}
	for _, m := range mods {
		if err := checkModuleLicense(root, m, files); err != nil {
			problems = append(problems, err)
		}
	}
	for _, f := range files {
		kind, err := binaryKind(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		if kind != "" {
			problems = append(problems, fmt.Errorf("%s: a tracked %s executable; remove it (git rm --cached) and ignore build outputs in .gitignore", f, kind))
		}
	}
	return problems, nil
}

// trackedFiles lists the files git tracks under root, slash-separated and
// relative to root, as in a fresh clone.
func trackedFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("git ls-files in %s: %w", root, err)
	}
	var files []string
	for f := range strings.SplitSeq(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

// checkModuleLicense checks that the module in directory mod (relative to
// root, "." for the root) has a tracked LICENSE at its root, recognized as
// BSD-3-Clause. pkg.go.dev judges each module by the files of its own zip,
// so a nested module needs its own copy.
func checkModuleLicense(root, mod string, tracked []string) error {
	name := path.Join(mod, "LICENSE")
	if !slices.Contains(tracked, name) {
		fix := "add the repository's license as LICENSE and git add it"
		if mod != "." {
			fix = fmt.Sprintf("cp LICENSE %s/ && git add %s", mod, name)
		}
		return fmt.Errorf("%s: the module has no tracked LICENSE; pkg.go.dev shows no documentation without one: %s", mod, fix)
	}
	text, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	if err := checkLicenseText(text); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// checkLicenseText judges a license file as pkg.go.dev does: at least
// coverageThreshold percent of its words must match known licenses, and
// every license found must be wantLicense.
func checkLicenseText(text []byte) error {
	cov := licensecheck.Scan(text)
	var ids []string
	for _, m := range cov.Match {
		if !slices.Contains(ids, m.ID) {
			ids = append(ids, m.ID)
		}
	}
	switch {
	case len(ids) == 0:
		return fmt.Errorf("no known license recognized (want %s, the root LICENSE)", wantLicense)
	case cov.Percent < coverageThreshold:
		return fmt.Errorf("only %.0f%% of the text matches a license (%s), below pkg.go.dev's %d%%: it would show as UNKNOWN", cov.Percent, strings.Join(ids, ", "), coverageThreshold)
	case len(ids) != 1 || ids[0] != wantLicense:
		return fmt.Errorf("recognized as %s, want %s alone", strings.Join(ids, " + "), wantLicense)
	}
	return nil
}

// binaryKind reports which kind of native executable or object the file
// is ("ELF", "Mach-O", "PE"), or "" for any other file.
func binaryKind(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var head [64]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	if kind := headerKind(head[:n]); kind != "PE?" {
		return kind, nil
	}
	// "MZ" starts many files; a PE image has "PE\0\0" where the DOS
	// header's e_lfanew points.
	off := int64(binary.LittleEndian.Uint32(head[0x3c:]))
	var sig [4]byte
	if _, err := f.ReadAt(sig[:], off); err != nil {
		return "", nil
	}
	if string(sig[:]) == "PE\x00\x00" {
		return "PE", nil
	}
	return "", nil
}

// headerKind classifies a file by its first bytes; "PE?" means a DOS
// header whose PE signature is still to be checked.
func headerKind(h []byte) string {
	if len(h) < 8 {
		return ""
	}
	switch be, le := binary.BigEndian.Uint32(h), binary.LittleEndian.Uint32(h); {
	case string(h[:4]) == "\x7fELF":
		return "ELF"
	case be == 0xfeedface || be == 0xfeedfacf || le == 0xfeedface || le == 0xfeedfacf:
		return "Mach-O"
	case be == 0xcafebabe || be == 0xcafebabf:
		// A universal (fat) Mach-O file counts its architectures next; a
		// Java class file, which starts the same way, has its version
		// there, 45 or more.
		if narch := binary.BigEndian.Uint32(h[4:]); narch > 0 && narch < 45 {
			return "Mach-O"
		}
	case string(h[:2]) == "MZ" && len(h) >= 0x40:
		return "PE?"
	}
	return ""
}
