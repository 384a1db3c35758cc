package archtest

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sturdy-go/sturdy"

// allowed lists each top-level package with the outside modules it may
// import (DESIGN.md, "Independent packages").
var allowed = map[string][]string{
	"tlsutil":   {"golang.org/x/crypto", "golang.org/x/net/publicsuffix"},
	"bio":       nil,
	"slowlog":   {"go.uber.org/zap"},
	"hashtable": {"github.com/dchest/siphash"},
	"fork":      nil,
	"observer":  nil,
}

// notPackages are top-level folders that are not building blocks: the
// examples compose the packages, and internal holds shared helpers.
var notPackages = []string{"examples", "internal", "bench", "testdata"}

// testOnly are modules any package's tests may use.
var testOnly = []string{"go.uber.org/goleak"}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("archtest: no go.mod above the test's directory")
		}
		dir = parent
	}
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func within(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// violation says why pkg (inside top-level package top) may not import
// imp, or "" when it may.
func violation(top, imp string, test bool) string {
	switch {
	case isStd(imp):
		return ""
	case within(imp, module+"/"+top):
		return ""
	case within(imp, module+"/internal"):
		return ""
	case within(imp, module):
		return "imports another sturdy package; top-level packages compose only in examples/"
	case slices.ContainsFunc(allowed[top], func(m string) bool { return within(imp, m) }):
		return ""
	case test && slices.ContainsFunc(testOnly, func(m string) bool { return within(imp, m) }):
		return ""
	}
	if len(allowed[top]) == 0 {
		return "imports an outside module; " + top + " may use the standard library only"
	}
	return "imports an outside module; " + top + " may depend only on " + strings.Join(allowed[top], " and ")
}

// packageDirs returns every folder under root/top holding Go files, leaving
// out modules of their own (integrations such as slowlog/otelslowlog, which
// DESIGN.md puts in their own go.mod precisely so that they may import
// other ecosystems).
func packageDirs(t *testing.T, root, top string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			return filepath.SkipDir
		}
		if d.IsDir() && path != filepath.Join(root, top) {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			dir := filepath.Dir(path)
			if !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func TestIndependence(t *testing.T) {
	root := moduleRoot(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || slices.Contains(notPackages, name) {
			continue
		}
		if _, ok := allowed[name]; !ok {
			if len(packageDirs(t, root, name)) > 0 {
				t.Errorf("%s/ holds Go code but is not one of the six packages of DESIGN.md; add it to archtest's table or move it under internal/ or examples/", name)
			}
			continue
		}
		for _, dir := range packageDirs(t, root, name) {
			// Check every file whatever its build constraints: a
			// forbidden import on another OS is still forbidden.
			ctx := build.Default
			ctx.UseAllFiles = true
			pkg, err := ctx.ImportDir(dir, build.ImportComment)
			if err != nil {
				var noGo *build.NoGoError
				if errors.As(err, &noGo) {
					continue
				}
				// UseAllFiles can mix package names (a main in an
				// ignored file); fall back to the default build.
				if pkg, err = build.Default.ImportDir(dir, 0); err != nil {
					t.Errorf("%s: %v", dir, err)
					continue
				}
			}
			rel, _ := filepath.Rel(root, dir)
			checked++
			for _, list := range []struct {
				imports []string
				test    bool
			}{{pkg.Imports, false}, {pkg.TestImports, true}, {pkg.XTestImports, true}} {
				for _, imp := range list.imports {
					if why := violation(name, imp, list.test); why != "" {
						kind := ""
						if list.test {
							kind = " (in a test)"
						}
						t.Errorf("%s%s imports %q: %s", rel, kind, imp, why)
					}
				}
			}
		}
	}
	t.Logf("checked %d package folders", checked)
}

func TestViolationRules(t *testing.T) {
	tests := []struct {
		top, imp string
		test     bool
		ok       bool
	}{
		{"bio", "crypto/tls", false, true},
		{"bio", module + "/bio/internal/x", false, true},
		{"bio", module + "/internal/testpki", true, true},
		{"bio", module + "/tlsutil", false, false},
		{"bio", module + "/tlsutil", true, false},
		{"bio", "golang.org/x/crypto/ocsp", false, false},
		{"tlsutil", "golang.org/x/crypto/ocsp", false, true},
		{"tlsutil", "golang.org/x/cryptography", false, false},
		{"tlsutil", "golang.org/x/net/publicsuffix", false, true},
		{"tlsutil", "golang.org/x/net/http2", false, false},
		{"slowlog", "go.uber.org/zap/zapcore", false, true},
		{"slowlog", "go.uber.org/goleak", false, false},
		{"slowlog", "go.uber.org/goleak", true, true},
		{"hashtable", "github.com/dchest/siphash", false, true},
		{"hashtable", "go.uber.org/zap", false, false},
		{"observer", "example.com/x", true, false},
	}
	for _, tc := range tests {
		why := violation(tc.top, tc.imp, tc.test)
		if (why == "") != tc.ok {
			t.Errorf("violation(%q, %q, test=%v) = %q, want ok=%v", tc.top, tc.imp, tc.test, why, tc.ok)
		}
	}
}
