package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestShardsManifest(t *testing.T) {
	dir := makeModel(t, "m", map[string]string{"big": strings.Repeat("a", 2500), "empty": "", "small": "s"})
	m, err := HashModel(dir, HashOptions{Method: MethodShards, ShardSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	// OMS v1.0 6.3.2: a shard's algorithm is the hash_type.
	want := []Resource{
		{"big:0:1000", "sha256", sum(strings.Repeat("a", 1000))},
		{"big:1000:2000", "sha256", sum(strings.Repeat("a", 1000))},
		{"big:2000:2500", "sha256", sum(strings.Repeat("a", 500))},
		{"small:0:1", "sha256", sum("s")},
	} // empty files have no shards, as in the reference tool
	if fmt.Sprint(m.Resources) != fmt.Sprint(want) {
		t.Errorf("resources\n got %v\nwant %v", m.Resources, want)
	}
	if m.ShardSize != 1000 {
		t.Errorf("shard size %d", m.ShardSize)
	}
}

func TestFilesManifestDigests(t *testing.T) {
	dir := makeModel(t, "m", map[string]string{"a": "hello", "d/b": ""})
	m, err := HashModel(dir, HashOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("hello"))
	e := sha256.Sum256(nil)
	if m.Resources[0].Digest != hex.EncodeToString(h[:]) || m.Resources[1].Name != "d/b" || m.Resources[1].Digest != hex.EncodeToString(e[:]) {
		t.Errorf("resources %+v", m.Resources)
	}
	root := sha256.Sum256(append(h[:], e[:]...))
	if m.RootDigest() != hex.EncodeToString(root[:]) {
		t.Errorf("root %s", m.RootDigest())
	}
	alg, hx, err := ModelDigest(dir, HashOptions{})
	if err != nil || alg != "sha256" || hx != m.RootDigest() {
		t.Errorf("ModelDigest = %s %s %v", alg, hx, err)
	}
}

// TestWalkRules: each case is a folder layout an attacker could use to
// make the signed content differ from what a loader reads.
func TestWalkRules(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	outside := makeModel(t, "outside", map[string]string{"secret": "s"})
	cases := []struct {
		name    string
		setup   func(dir string)
		allow   bool
		wantErr string
		want    []string
	}{
		{"symlink-refused-by-default", func(d string) { os.Symlink("a", filepath.Join(d, "link")) }, false, "symbolic link", nil},
		{"symlink-inside-allowed", func(d string) { os.Symlink("a", filepath.Join(d, "link")) }, true, "", []string{"a", "link"}},
		{"symlink-out-of-model", func(d string) { os.Symlink(filepath.Join(outside, "secret"), filepath.Join(d, "link")) }, true, "outside the model", nil},
		{"symlink-dir-out-of-model", func(d string) { os.Symlink(outside, filepath.Join(d, "dirlink")) }, true, "outside the model", nil},
		// A link to a folder is not followed, as model_signing does not
		// follow it (pathlib's "**"): the folder's files are signed under
		// their real paths, and a link back up is no cycle to walk.
		{"symlink-cycle-not-followed", func(d string) {
			os.Mkdir(filepath.Join(d, "sub"), 0o755)
			os.Symlink("..", filepath.Join(d, "sub", "up"))
		}, true, "", []string{"a"}},
		{"symlink-dir-inside-not-followed", func(d string) {
			os.MkdirAll(filepath.Join(d, "real"), 0o755)
			os.WriteFile(filepath.Join(d, "real", "w"), []byte("w"), 0o644)
			os.Symlink("real", filepath.Join(d, "dirlink"))
			os.Symlink(filepath.Join("real", "w"), filepath.Join(d, "filelink"))
		}, true, "", []string{"a", "filelink", "real/w"}},
		{"symlink-dir-to-ignored-folder", func(d string) {
			os.MkdirAll(filepath.Join(d, ".git", "objects"), 0o755)
			os.WriteFile(filepath.Join(d, ".git", "objects", "w"), []byte("w"), 0o644)
			os.Symlink(filepath.Join(".git", "objects"), filepath.Join(d, "weights"))
		}, true, "left out of the signature", nil},
		{"broken-symlink", func(d string) { os.Symlink("nowhere", filepath.Join(d, "link")) }, true, "broken", nil},
		{"backslash-name", func(d string) { os.WriteFile(filepath.Join(d, `x\..\y`), nil, 0o644) }, false, "backslash", nil},
		{"fifo", func(d string) { mkfifo(filepath.Join(d, "pipe")) }, false, "special file", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeModel(t, "m", map[string]string{"a": "1"})
			c.setup(dir)
			if c.name == "fifo" {
				if _, err := os.Lstat(filepath.Join(dir, "pipe")); err != nil {
					t.Skip("cannot make a FIFO here")
				}
			}
			done := make(chan struct{})
			var m *Manifest
			var err error
			go func() { m, err = HashModel(dir, HashOptions{AllowSymlinks: c.allow}); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("hashing hung (a FIFO was opened?)")
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range m.Resources {
				got = append(got, r.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("resources %v, want %v", got, c.want)
			}
		})
	}
}

func TestIgnorePaths(t *testing.T) {
	dir := makeModel(t, "m", map[string]string{"keep": "1", "skip/x": "2", "skipx": "3", ".git/HEAD": "4", ".github/w.yml": "5", "README.md": "6"})
	m, err := HashModel(dir, HashOptions{IgnorePaths: []string{"skip", "./README.md"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range m.Resources {
		got = append(got, r.Name)
	}
	// "skip" ignores the folder but not "skipx"; git metadata is ignored.
	if fmt.Sprint(got) != "[keep skipx]" {
		t.Errorf("resources %v", got)
	}
	if fmt.Sprint(m.IgnorePaths) != "[.git .gitattributes .github .gitignore README.md skip]" {
		t.Errorf("recorded ignore paths %v", m.IgnorePaths)
	}
}
