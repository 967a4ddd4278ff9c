package fsnames

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

func TestProblem(t *testing.T) {
	cases := []struct {
		name string
		rule string
	}{
		{"model.safetensors", ""},
		{"config.json", ""},
		{"CONFIG.json", ""},
		{"console.json", ""}, // starts with CON but is not the device
		{"com10.bin", ""},    // only COM1-9 are devices
		{"nul", "fs/windows-reserved-name"},
		{"NUL.bin", "fs/windows-reserved-name"},
		{"con.json", "fs/windows-reserved-name"},
		{"aux.tar.gz", "fs/windows-reserved-name"},
		{"Com1.pt", "fs/windows-reserved-name"},
		{"lpt9", "fs/windows-reserved-name"},
		{"LPT¹.bin", "fs/windows-reserved-name"},
		{"prn .txt", "fs/windows-reserved-name"},
		{"CONOUT$", "fs/windows-reserved-name"},
		{`..\..\evil.pkl`, "fs/windows-path-in-name"},
		{`sub\model.bin`, "fs/windows-path-in-name"},
		{"weights.bin:payload", "fs/windows-stream-name"},
		{"C:model.bin", "fs/windows-stream-name"},
		{"model.bin.", "fs/windows-trailing-dot"},
		{"model.bin ", "fs/windows-trailing-dot"},
		{"what?.bin", "fs/windows-invalid-name"},
		{"a\x01b.bin", "fs/windows-invalid-name"},
		{"\xff\xfe.bin", "fs/invalid-utf8-name"},
	}
	for _, c := range cases {
		rule, sev, msg := Problem(c.name)
		if rule != c.rule {
			t.Errorf("%q: rule %q, want %q", c.name, rule, c.rule)
		}
		if rule != "" && (sev < formats.Medium || !strings.Contains(msg, "Windows") && !strings.Contains(msg, "UTF-8")) {
			t.Errorf("%q: severity %v message %q", c.name, sev, msg)
		}
	}
}

// caseSensitive reports whether dir tells "a" from "A" (Linux: yes;
// Windows and Wine: no).
func caseSensitive(t *testing.T, dir string) bool {
	p := filepath.Join(dir, "probe")
	os.WriteFile(p, nil, 0o644)
	defer os.Remove(p)
	_, err := os.Stat(filepath.Join(dir, "PROBE"))
	return err != nil
}

func rulesByFile(res *formats.Result) map[string][]string {
	m := map[string][]string{}
	for _, f := range res.Files {
		for _, x := range f.Findings {
			// Only this package's rules: content findings (a .bin holding
			// "x" is unrecognized) are the analyzers' business.
			if strings.HasPrefix(x.Rule, "fs/") {
				m[filepath.Base(f.Path)] = append(m[filepath.Base(f.Path)], x.Rule)
			}
		}
	}
	for _, v := range m {
		sort.Strings(v)
	}
	return m
}

// A folder that is one thing on Linux and another on Windows is found
// when scanned on Linux; on a case-insensitive file system (Windows,
// Wine) the colliding pair cannot be created, and the test says so.
func TestFolderCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
	}
	write("config.json")
	want := map[string]string{}
	if caseSensitive(t, dir) {
		write("model.bin")
		write("Model.bin")
		os.Mkdir(filepath.Join(dir, "Tokenizer"), 0o755)
		os.Mkdir(filepath.Join(dir, "tokenizer"), 0o755)
		want["model.bin"] = "fs/case-collision"
		want["tokenizer"] = "fs/case-collision"
	} else {
		t.Log("case-insensitive file system: the case-collision pair cannot exist here; checking the other names")
	}
	if runtime.GOOS != "windows" {
		write("nul.bin")
		write(`..\evil.pkl`)
		write("weights.bin:ads")
		want["nul.bin"] = "fs/windows-reserved-name"
		want[`..\evil.pkl`] = "fs/windows-path-in-name"
		want["weights.bin:ads"] = "fs/windows-stream-name"
	}
	res, err := formats.Scan(context.Background(), []string{dir}, formats.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := rulesByFile(res)
	for name, rule := range want {
		if len(got[name]) != 1 || got[name][0] != rule {
			t.Errorf("%q: rules %v, want [%s]", name, got[name], rule)
		}
	}
	if len(got["config.json"]) != 0 || len(got["Model.bin"]) != 0 {
		t.Errorf("clean names got findings: %v", got)
	}
	if len(want) == 0 {
		t.Log("no hostile names can be created on this file system; only the clean case ran")
	}
}

// A model folder deeper than Windows' 260-character MAX_PATH is walked
// and hashed like any other (Go adds the \\?\ prefix on Windows), and a
// path the user gives with the \\?\ prefix works too.
func TestLongPaths(t *testing.T) {
	dir := t.TempDir()
	deep := dir
	for len(deep) < 320 {
		deep = filepath.Join(deep, strings.Repeat("d", 40))
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatalf("cannot create a %d-character path: %v", len(deep), err)
	}
	if err := os.WriteFile(filepath.Join(deep, "model.bin"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	roots := []string{dir}
	if runtime.GOOS == "windows" {
		abs, _ := filepath.Abs(dir)
		roots = append(roots, `\\?\`+abs)
	}
	for _, root := range roots {
		res, err := formats.Scan(context.Background(), []string{root}, formats.DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", root, err)
		}
		found := false
		for _, f := range res.Files {
			if filepath.Base(f.Path) == "model.bin" {
				found = true
				if len(f.SHA256) != 64 {
					t.Errorf("%s: not hashed (%q); findings %v", f.Path, f.SHA256, f.Findings)
				}
				for _, x := range f.Findings {
					if x.Rule == "fs/unreadable" {
						t.Errorf("long path unreadable: %s", x.Message)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: the file %d characters deep was not scanned", root, len(deep))
		}
	}
}

// BenchmarkCheck checks the names of a 1,000-file folder; SetBytes counts
// names. The folder does not exist, so the check works from the list the
// walk gives (an existing empty folder would be read instead).
func BenchmarkCheck(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "absent")
	var files []string
	for i := 0; i < 1000; i++ {
		files = append(files, fmt.Sprintf("model-%05d-of-01000.safetensors", i))
	}
	files = append(files, "Model-00001-of-01000.safetensors", "nul.json")
	b.SetBytes(int64(len(files)))
	reported := 0
	for b.Loop() {
		check(dir, files, nil, func(string, formats.Finding) { reported++ })
	}
	if reported == 0 {
		b.Fatal("the benchmark checked nothing (expected case collisions among the names)")
	}
}
