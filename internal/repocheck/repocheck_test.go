package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepository runs the checks on this repository, as .ci/run does:
// every module has a BSD-3-Clause LICENSE and no tracked file is a binary.
func TestRepository(t *testing.T) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v (the test runs in a git work tree)", err)
	}
	problems, err := check(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

const mit = `MIT License

Copyright (c) 2026 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

func TestLicenseText(t *testing.T) {
	bsd, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Repeat("This paragraph is about something else entirely and is not license text.\n", 40)
	for _, tc := range []struct {
		name, text string
		want       string // "" for accepted, else a part of the error
	}{
		{"bsd-3-clause", string(bsd), ""},
		{"mit", mit, "recognized as MIT"},
		{"both", string(bsd) + "\n" + mit, "MIT"},
		{"mostly-other-text", string(bsd) + notes, "below pkg.go.dev's 75%"},
		{"no-license", "All rights reserved.\n", "no known license"},
		{"empty", "", "no known license"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkLicenseText([]byte(tc.text))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestModuleLicense makes a git work tree with two modules and checks that
// a nested module without its own LICENSE, or with one left untracked, is
// reported by name.
func TestModuleLicense(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed:", err)
	}
	bsd, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write("go.mod", []byte("module example.com/m\n"))
	write("LICENSE", bsd)
	write("sub/go.mod", []byte("module example.com/m/sub\n"))
	write("sub/LICENSE", bsd) // present but not tracked: a fresh clone lacks it
	git("init", "-q")
	git("add", "go.mod", "LICENSE", "sub/go.mod")

	problems, err := check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), "sub: the module has no tracked LICENSE") {
		t.Fatalf("problems %v, want one about sub's LICENSE", problems)
	}

	git("add", "sub/LICENSE")
	if problems, err := check(dir); err != nil || len(problems) != 0 {
		t.Fatalf("with sub/LICENSE tracked: %v, %v; want no problem", problems, err)
	}

	write("sub/LICENSE", []byte(mit))
	problems, err = check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "sub/LICENSE: recognized as MIT") {
		t.Fatalf("problems %v, want sub/LICENSE recognized as MIT", problems)
	}
}

func TestBinaryKind(t *testing.T) {
	// A minimal PE: a DOS header pointing at "PE\0\0".
	pe := make([]byte, 0x80)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x40)
	copy(pe[0x40:], "PE\x00\x00")
	dosOnly := make([]byte, 0x80)
	copy(dosOnly, "MZ hello, this text starts like a DOS header")

	u32 := func(order binary.AppendByteOrder, vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = order.AppendUint32(b, v)
		}
		return append(b, make([]byte, 56)...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"elf", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 57)...), "ELF"},
		{"macho-64-le", u32(binary.LittleEndian, 0xfeedfacf, 7), "Mach-O"},
		{"macho-32-be", u32(binary.BigEndian, 0xfeedface, 18), "Mach-O"},
		{"macho-fat", u32(binary.BigEndian, 0xcafebabe, 2), "Mach-O"},
		{"java-class", u32(binary.BigEndian, 0xcafebabe, 0x00000041), ""},
		{"pe", pe, "PE"},
		{"mz-text", dosOnly, ""},
		{"go-source", []byte("package main\n\nfunc main() {}\n"), ""},
		{"script", []byte("#!/bin/sh\necho hi\n"), ""},
		{"short", []byte("\x7fEL"), ""},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(name, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := binaryKind(name)
			if err != nil || got != tc.want {
				t.Fatalf("binaryKind = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestBuiltBinary builds a real executable with the Go toolchain, checks
// that it is recognized, and that a work tree tracking it is refused.
func TestBuiltBinary(t *testing.T) {
	bsd, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string]string{
		"go.mod":  "module example.com/m\n",
		"LICENSE": string(bsd),
		"main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("go", "build", "-o", "prog", ".")
	if kind, err := binaryKind(filepath.Join(dir, "prog")); err != nil || kind != "ELF" && kind != "Mach-O" && kind != "PE" {
		t.Fatalf("binaryKind(built program) = %q, %v; want ELF, Mach-O or PE", kind, err)
	}
	run("git", "init", "-q")
	run("git", "add", "go.mod", "LICENSE", "main.go", "prog")
	problems, err := check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), "prog: a tracked ") {
		t.Fatalf("problems %v, want one about prog", problems)
	}
}
