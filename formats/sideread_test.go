package formats_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// openers are the files allowed to open model files by path: the
// non-blocking open itself, and the check's one pass (internal/onepass),
// which is the opener everything else goes through. formatstest reads
// test fixtures.
var openers = []string{
	"formats/open.go", "formats/open_unix.go", "formats/open_other.go",
	"internal/onepass/", "formats/formatstest/",
}

// directReads are the calls that read a file by path, outside the scan's
// opener (formats.Options.OpenFile, StatFile, ReadSmallFile).
var directReads = map[string]bool{
	"os.Open": true, "os.OpenFile": true, "os.ReadFile": true, "os.DirFS": true, "os.OpenRoot": true,
	"ioutil.ReadFile": true, "syscall.Open": true, "syscall.Openat": true, "unix.Open": true, "unix.Openat": true,
	"formats.OpenRegular": true, "OpenRegular": true, "mmap.Open": true,
}

// findDirectReads lists the direct file reads in one Go source.
func findDirectReads(fset *token.FileSet, name string, src any) ([]string, error) {
	return findCalls(fset, name, src, directReads)
}

// findCalls lists the calls of the named functions in one Go source.
func findCalls(fset *token.FileSet, name string, src any, calls map[string]bool) ([]string, error) {
	f, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		var fn string
		switch x := call.Fun.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				fn = id.Name + "." + x.Sel.Name
			}
		case *ast.Ident:
			fn = x.Name
		}
		if calls[fn] {
			out = append(out, fset.Position(call.Pos()).String()+": "+fn)
		}
		return true
	})
	return out, nil
}

// nameLookups look a path up by name (existence, type, a folder's
// names) without the scan's opener. They read no content, but a size or a
// file's presence learnt that way is a view of the disk the one pass does
// not cover, and a look above the scanned folder judges what was neither
// scanned nor signed (the Hugging Face remote-code check once looked for a
// config.json above the folder named for the scan). So each file that
// uses them is listed here with what it looks up; anything else goes
// through Options (StatFile, Listed) or is added here with its reason.
var nameLookups = map[string]bool{"os.Stat": true, "os.Lstat": true, "os.ReadDir": true}

var nameLookupUsers = map[string]string{
	"formats/walk.go":                     "the walk itself: lists the folder, resolves links against the root",
	"formats/fsnames/fsnames.go":          "names in the scanned folder that collide on Windows (no content)",
	"formats/mlflow/mlflow.go":            "whether an artifact path an MLmodel names exists beside it",
	"formats/onnx/companion.go":           "the .onnx models in an external data file's folder (then read through the opener)",
	"formats/onnx/external.go":            "each component of an external data path: links out of the root, not a regular file",
	"formats/safetensors/index.go":        "why a shard the index names is absent from the listing (a link, a folder)",
	"formats/hf/dir.go":                   "cache snapshot links and the blobs they point to (content hashed through the opener)",
	"formats/hf/json.go":                  "whether a module auto_map names ships in the scanned folder",
	"formats/pickle/sidefile.go":          "a joblib legacy side file beside the pickle: a link or not a regular file (content through the opener)",
	"formats/internal/sidecar/sidecar.go": "the manifests in a data file's folder (then read through the opener)",
}

// TestNameLookupsListed keeps by-name lookups to the files listed above.
func TestNameLookupsListed(t *testing.T) {
	fset := token.NewFileSet()
	used := map[string]bool{}
	eachGuardedSource(t, func(rel, p string) error {
		found, err := findCalls(fset, p, nil, nameLookups)
		if err != nil {
			return err
		}
		if len(found) > 0 {
			used[rel] = true
			if nameLookupUsers[rel] == "" {
				for _, f := range found {
					t.Errorf("%s: a by-name lookup outside the scan's opener; use Options.StatFile or Options.Listed, or list the file in nameLookupUsers with why", f)
				}
			}
		}
		return nil
	})
	for f := range nameLookupUsers {
		if !used[f] {
			t.Errorf("%s is listed in nameLookupUsers but looks nothing up by name: remove it", f)
		}
	}
}

// TestNoDirectFileReads keeps every analyzer and folder check on the
// scan's opener: a file read by path beside it (a sibling, external data,
// a side file, a cache blob) is a view of the file the check's one pass
// does not cover, so a swap between that read and the hashing pass would
// go unseen and the verdict rest on bytes the signature never covered.
func TestNoDirectFileReads(t *testing.T) {
	fset := token.NewFileSet()
	var bad []string
	eachGuardedSource(t, func(_, p string) error {
		found, err := findDirectReads(fset, p, nil)
		if err != nil {
			return err
		}
		bad = append(bad, found...)
		return nil
	})
	for _, b := range bad {
		t.Errorf("%s: read files beside the scanned one through Options.OpenFile, StatFile or ReadSmallFile (the check's one pass), not by path", b)
	}
}

// TestDirectReadGuardCatches: the guard above finds each way of opening a
// file by path (so it cannot pass by finding nothing), and leaves the
// scan's opener alone.
func TestDirectReadGuardCatches(t *testing.T) {
	for _, c := range []struct {
		name, call string
		found      bool
	}{
		{"os.Open of external data", `os.Open(p)`, true},
		{"os.ReadFile of a manifest", `os.ReadFile(p)`, true},
		{"os.OpenFile read-only", `os.OpenFile(p, os.O_RDONLY, 0)`, true},
		{"formats.OpenRegular of a blob", `formats.OpenRegular(p)`, true},
		{"ioutil.ReadFile", `ioutil.ReadFile(p)`, true},
		{"the scan's opener", `opts.OpenFile(p)`, false},
		{"a size through the opener", `opts.StatFile(p)`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "package x\nfunc f() { " + c.call + " }\n"
			got, err := findDirectReads(token.NewFileSet(), "x.go", src)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) > 0) != c.found {
				t.Errorf("found %v, want found=%v", got, c.found)
			}
		})
	}
}

// TestNameLookupGuardCatches: the by-name guard finds each lookup (so
// TestNameLookupsListed cannot pass by finding nothing) and leaves the
// opener's and the listing's calls alone.
func TestNameLookupGuardCatches(t *testing.T) {
	for _, c := range []struct {
		name, call string
		found      bool
	}{
		{"os.Stat of a marker above the scanned folder", `os.Stat(p)`, true},
		{"os.Lstat of a side file", `os.Lstat(p)`, true},
		{"os.ReadDir of a sibling folder", `os.ReadDir(p)`, true},
		{"a size through the opener", `opts.StatFile(p)`, false},
		{"the walk's listing", `opts.Listed(p)`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "package x\nfunc f() { " + c.call + " }\n"
			got, err := findCalls(token.NewFileSet(), "x.go", src, nameLookups)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) > 0) != c.found {
				t.Errorf("found %v, want found=%v", got, c.found)
			}
		})
	}
}

// eachGuardedSource calls fn for each product Go file under formats/ and
// internal/ (tests, testdata and the scan's own openers left out), with
// its slash-separated path relative to the repository root.
func eachGuardedSource(t *testing.T, fn func(rel, path string) error) {
	t.Helper()
	root := filepath.Join("..")
	for _, top := range []string{"formats", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if slices.ContainsFunc(openers, func(o string) bool { return rel == o || strings.HasSuffix(o, "/") && strings.HasPrefix(rel, o) }) {
				return nil
			}
			return fn(rel, p)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
