package verify

import (
	"crypto/elliptic"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSignerIgnorePathsHiddenFilesReported: the reference tool honours the
// ignore_paths recorded in a signature, so a file added later under such a
// path does not fail verification; it must still be reported as not
// covered (attack: a weights file dropped where the signer said "ignore").
func TestSignerIgnorePathsHiddenFilesReported(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	trust := TrustOptions{KeyPath: writePublicKey(t, k.Public())}
	dir := makeModel(t, "m", map[string]string{
		"config.json":       `{}`,
		"model.safetensors": "weights",
		".git/HEAD":         "ref",
	})
	so := SignOptions{Key: k, Hash: HashOptions{IgnorePaths: []string{"extra", "pytorch_model.bin", "notes.txt"}}}
	if _, _, err := Sign(dir, so); err != nil {
		t.Fatal(err)
	}
	if r := mustVerify(t, dir, Options{Trust: trust}); len(r.NotCovered) != 0 {
		t.Fatalf("nothing hidden yet, got NotCovered %v", r.NotCovered)
	}
	writeFile(t, filepath.Join(dir, "pytorch_model.bin"), []byte("evil pickle"))
	writeFile(t, filepath.Join(dir, "extra", "w.bin"), []byte("more"))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("told to skip"))
	writeFile(t, filepath.Join(dir, ".git", "config"), []byte("git"))
	tests := []struct {
		name   string
		ignore []string
		want   string
	}{
		{"weights under signer ignore_paths", nil, "[extra notes.txt pytorch_model.bin]"},
		{"caller's own --ignore-paths not reported", []string{"notes.txt"}, "[extra pytorch_model.bin]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustVerify(t, dir, Options{Trust: trust, IgnorePaths: tc.ignore})
			if got := fmt.Sprint(r.NotCovered); got != tc.want {
				t.Errorf("NotCovered %s, want %s", got, tc.want)
			}
		})
	}
}

// TestIgnoreUnsignedFilesStillCatchesGrownShardedFile: with the shards
// method, a signed file that ends on a shard boundary and then has bytes
// appended keeps all its signed shards intact and gains a new one.
// --ignore-unsigned-files lets unsigned files pass, never an unsigned
// part of a signed file (attack: a zip checkpoint is read from its end,
// so appending a new central directory changes what loads).
func TestIgnoreUnsignedFilesStillCatchesGrownShardedFile(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	trust := TrustOptions{KeyPath: writePublicKey(t, k.Public())}
	dir := makeModel(t, "m", map[string]string{
		"model.pt":    strings.Repeat("z", 2048), // exactly two 1024-byte shards
		"config.json": `{}`,
	})
	if _, _, err := Sign(dir, SignOptions{Key: k, Hash: HashOptions{Method: MethodShards, ShardSize: 1024}}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "README.md"), []byte("an unsigned file may pass"))
	mustVerify(t, dir, Options{Trust: trust, IgnoreUnsignedFiles: true})

	f, err := os.OpenFile(filepath.Join(dir, "model.pt"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("PK\x05\x06 appended central directory"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, ignoreUnsigned := range []bool{false, true} {
		r := mustFail(t, dir, Options{Trust: trust, IgnoreUnsignedFiles: ignoreUnsigned}, "unsigned")
		found := false
		for _, p := range r.Problems {
			if strings.HasPrefix(p.Resource, "model.pt:2048:") && strings.Contains(p.Message, "grew") {
				found = true
			}
		}
		if !found {
			t.Errorf("ignoreUnsigned=%v: problems %+v do not name the appended shard of model.pt", ignoreUnsigned, r.Problems)
		}
	}
}

// TestHashRangeRefusesFileThatGrew: a file listed at N bytes that holds
// more when its last unit is hashed has changed under the verifier; the
// extra bytes would otherwise pass unhashed (attack: appending to a
// signed checkpoint while it is being verified).
func TestHashRangeRefusesFileThatGrew(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.pt")
	writeFile(t, p, []byte("0123456789"))
	var done atomic.Int64
	if _, err := hashRange(p, 0, 10, 10, sha256.New(), &done); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	if _, err := hashRange(p, 0, 5, 10, sha256.New(), &done); err != nil {
		t.Fatalf("first shard of an unchanged file: %v", err)
	}
	writeFile(t, p, []byte("0123456789 appended"))
	if _, err := hashRange(p, 0, 10, 10, sha256.New(), &done); err == nil || !strings.Contains(err.Error(), "grew") {
		t.Fatalf("grown file: got %v, want a 'grew' error", err)
	}
}
