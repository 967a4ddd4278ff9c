package verify

import (
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorInput is the input of the official BLAKE3 test vectors: byte i
// is i % 251.
func vectorInput(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return string(b)
}

// TestHashTypeDigests pins each hash type to published vectors, through
// HashModel's file reading (so chunking and tree boundaries are covered).
func TestHashTypeDigests(t *testing.T) {
	cases := []struct {
		name, hashType, input, want string
	}{
		{"sha256/fips-180-abc", HashSHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"blake2b/rfc-7693-abc", HashBLAKE2b, "abc", "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"},
		{"blake2b/empty-file", HashBLAKE2b, "", "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"},
		// BLAKE3-team/BLAKE3 test_vectors/test_vectors.json (first 32 bytes).
		{"blake3/official-vector-0", HashBLAKE3, vectorInput(0), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
		{"blake3/official-vector-1025-two-chunks", HashBLAKE3, vectorInput(1025), "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
		{"blake3/official-vector-5121-tree", HashBLAKE3, vectorInput(5121), "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"},
		{"blake3/official-vector-102400", HashBLAKE3, vectorInput(102400), "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeModel(t, "m", map[string]string{"w.bin": c.input})
			m, err := HashModel(dir, HashOptions{HashType: c.hashType})
			if err != nil {
				t.Fatal(err)
			}
			r := m.Resources[0]
			if r.Digest != c.want || r.Algorithm != c.hashType || m.HashType != c.hashType {
				t.Fatalf("got %s %s (manifest %s), want %s %s", r.Algorithm, r.Digest, m.HashType, c.hashType, c.want)
			}
			// The root digest is SHA-256 over the raw digests whatever
			// the hash type (model_signing _signing/signing.py).
			raw, _ := hex.DecodeString(c.want)
			sum := sha256.Sum256(raw)
			if m.RootDigest() != hex.EncodeToString(sum[:]) {
				t.Fatalf("root digest %s is not sha256 of the resource digest", m.RootDigest())
			}
		})
	}
}

// TestReferenceHashTypeSignatures verifies models signed by model_signing
// v1.1.1's own hashing and serialization code with blake2b and blake3
// (testdata/refhashtypes, made by its gen.sh), and fails each once a
// byte of its weights changes.
func TestReferenceHashTypeSignatures(t *testing.T) {
	pub, err := filepath.Abs(filepath.Join("testdata", "refhashtypes", "pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir, hashType, method string
		resources             int
	}{
		{"blake2b-files", HashBLAKE2b, MethodFiles, 3},
		{"blake2b-shards-1024", HashBLAKE2b, MethodShards, 4}, // w.bin in 3 shards, a.txt in 1, the empty file in none
		{"blake3-files", HashBLAKE3, MethodFiles, 3},
		// use_shard_serialization(hashing_algorithm="blake3") hashes whole files.
		{"blake3-shards-requested", HashBLAKE3, MethodFiles, 3},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			model := copyTree(t, filepath.Join("testdata", "refhashtypes", c.dir))
			r := mustVerify(t, model, Options{Trust: TrustOptions{KeyPath: pub}})
			if r.Signed.HashType != c.hashType || r.Signed.Method != c.method || r.Resources != c.resources {
				t.Fatalf("verified %s/%s with %d resources, want %s/%s with %d", r.Signed.HashType, r.Signed.Method, r.Resources, c.hashType, c.method, c.resources)
			}
			w := filepath.Join(model, "sub", "w.bin")
			b, err := os.ReadFile(w)
			if err != nil {
				t.Fatal(err)
			}
			b[2000] ^= 1
			writeFile(t, w, b)
			mustFail(t, model, Options{Trust: TrustOptions{KeyPath: pub}}, "changed")
		})
	}
}

// TestSignHashTypes signs with each hash type and method and verifies the
// result; the statement carries the names model_signing writes.
func TestSignHashTypes(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	pub := writePublicKey(t, k.Public())
	cases := []struct {
		name, hashType, method string
		shardSize              int64
		wantAlg                string
		digestLen              int
		wantErr                string
	}{
		{name: "sha256-files-default", method: MethodFiles, wantAlg: "sha256", digestLen: 32},
		{name: "blake2b-files", hashType: HashBLAKE2b, method: MethodFiles, wantAlg: "blake2b", digestLen: 64},
		{name: "blake2b-shards", hashType: HashBLAKE2b, method: MethodShards, shardSize: 4, wantAlg: "blake2b-sharded-4", digestLen: 64},
		{name: "sha256-shards-reference-algorithm-name", hashType: HashSHA256, method: MethodShards, shardSize: 4, wantAlg: "sha256-sharded-4", digestLen: 32},
		{name: "blake3-files", hashType: HashBLAKE3, method: MethodFiles, wantAlg: "blake3", digestLen: 32},
		{name: "blake3-shards-reference-never-writes", hashType: HashBLAKE3, method: MethodShards, shardSize: 4, wantErr: "blake3 with --method shards"},
		{name: "unknown-md5", hashType: "md5", method: MethodFiles, wantErr: `hash type "md5" is not supported`},
		{name: "reference-option-spelling-blake2", hashType: "blake2", method: MethodFiles, wantErr: `"blake2" writes "blake2b"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeModel(t, "m", map[string]string{"w.bin": "weights", "config.json": "{}"})
			m, bundle, err := Sign(dir, SignOptions{Key: k, Hash: HashOptions{HashType: c.hashType, Method: c.method, ShardSize: c.shardSize}})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range m.Resources {
				if r.Algorithm != c.wantAlg || len(r.Digest) != 2*c.digestLen {
					t.Fatalf("resource %s: %s %s, want algorithm %s and %d bytes", r.Name, r.Algorithm, r.Digest, c.wantAlg, c.digestLen)
				}
			}
			var b struct {
				DsseEnvelope struct{ Payload []byte } `json:"dsseEnvelope"`
			}
			if err := json.Unmarshal(bundle, &b); err != nil {
				t.Fatal(err)
			}
			wantType := c.hashType
			if wantType == "" {
				wantType = HashSHA256
			}
			if !strings.Contains(string(b.DsseEnvelope.Payload), `"hash_type": "`+wantType+`"`) {
				t.Fatalf("statement does not say hash_type %s:\n%s", wantType, b.DsseEnvelope.Payload)
			}
			r := mustVerify(t, dir, Options{Trust: TrustOptions{KeyPath: pub}})
			if r.Signed.HashType != wantType {
				t.Fatalf("verified hash type %s, want %s", r.Signed.HashType, wantType)
			}
			writeFile(t, filepath.Join(dir, "w.bin"), []byte("weighTs"))
			mustFail(t, dir, Options{Trust: TrustOptions{KeyPath: pub}}, "changed")
		})
	}
}

// TestStatementHashTypeRefusals: a statement whose digests do not fit its
// hash type, or that names one modelvet cannot compute, is refused
// before any file is compared.
func TestStatementHashTypeRefusals(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	pub := writePublicKey(t, k.Public())
	files := map[string]string{"w.bin": "weights"}
	d32 := rtDigest("weights")
	d64 := d32 + d32
	stmt := func(hashType, alg, digest string) []byte {
		s := rtStatement([][2]string{{"w.bin", digest}}, map[string]any{"method": "files", "hash_type": hashType, "allow_symlinks": false}, nil)
		return withAlgorithm(s, alg)
	}
	cases := []struct {
		name string
		stmt []byte
		want string
	}{
		{"unknown-hash-type-md5", stmt("md5", "md5", d32), `hash type "md5" is not supported`},
		{"no-hash-type", stmt("", "", d32), "no hash_type"},
		{"blake2b-with-a-32-byte-digest", stmt("blake2b", "blake2b", d32), "not a hex blake2b digest (64 bytes)"},
		{"sha256-with-a-64-byte-digest", stmt("sha256", "sha256", d64), "not a hex sha256 digest (32 bytes)"},
		{"blake3-with-a-64-byte-digest", stmt("blake3", "blake3", d64), "not a hex blake3 digest (32 bytes)"},
		{"resource-algorithm-differs-from-hash-type", stmt("blake2b", "sha256", d64), "is not the serialization's"},
		{"blake2b-signature-of-other-bytes", stmt("blake2b", "blake2b", d64), "w.bin changed: signed blake2b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeModel(t, "m", files)
			sig := filepath.Join(t.TempDir(), "model.sig")
			writeFile(t, sig, signedBundle(t, k, InTotoPayloadType, c.stmt))
			r, err := Verify(dir, Options{SignaturePath: sig, Trust: TrustOptions{KeyPath: pub}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verified || !strings.Contains(fmt.Sprint(r.Problems), c.want) {
				t.Fatalf("verified=%v problems %v, want %q", r.Verified, r.Problems, c.want)
			}
		})
	}
}

// fakePass is a Digests standing in for the gate's one pass: it hashes
// each file when asked, but only with the hash type and shard size it was
// prepared for (as the pass hashes what PeekHashing said before the scan),
// refusing any other, as the pass does.
type fakePass struct {
	hashType  string
	shardSize int64
	asked     int
}

func (f *fakePass) FileDigests(path, hashType string, shardSize int64) (int64, string, []string, error) {
	f.asked++
	if hashType != f.hashType || shardSize != f.shardSize {
		return 0, "", nil, fmt.Errorf("fake pass: %s digests of %d-byte shards were not computed", hashType, shardSize)
	}
	_, newHash, err := HashFactory(hashType)
	if err != nil {
		return 0, "", nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", nil, err
	}
	if shardSize == 0 {
		h := newHash()
		h.Write(b)
		return int64(len(b)), hex.EncodeToString(h.Sum(nil)), nil, nil
	}
	var shards []string
	for off := 0; off < len(b); off += int(shardSize) {
		h := newHash()
		h.Write(b[off:min(len(b), off+int(shardSize))])
		shards = append(shards, hex.EncodeToString(h.Sum(nil)))
	}
	return int64(len(b)), "", shards, nil
}

// TestOnePassChecksEachHashType: with digests from the one pass (modelvet
// check), a signature of each hash type and method is checked from the
// pass's digests of that type; a pass prepared for other digests gives
// none and the signature fails (never a second read); what the pass does
// not read (a signed .git folder) is refused naming modelvet verify.
func TestOnePassChecksEachHashType(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	pub := writePublicKey(t, k.Public())
	cases := []struct {
		name     string
		files    map[string]string
		hash     HashOptions
		passType string // what the pass was prepared for ("" = the signature's)
		want     string // "" = the one pass verifies it
	}{
		{name: "control/sha256-files", files: map[string]string{"w.bin": "weights"}},
		{name: "blake2b-files", files: map[string]string{"w.bin": "weights", "c.json": "{}"}, hash: HashOptions{HashType: HashBLAKE2b}},
		{name: "blake3-files", files: map[string]string{"w.bin": "weights", "c.json": "{}"}, hash: HashOptions{HashType: HashBLAKE3}},
		{name: "blake2b-shards", files: map[string]string{"w.bin": "weights and more", "c.json": "{}"}, hash: HashOptions{HashType: HashBLAKE2b, Method: MethodShards, ShardSize: 4}},
		{name: "sha256-shards", files: map[string]string{"w.bin": "weights and more"}, hash: HashOptions{Method: MethodShards, ShardSize: 4}},
		{name: "blake2b-signature-pass-hashed-sha256", files: map[string]string{"w.bin": "weights"}, hash: HashOptions{HashType: HashBLAKE2b}, passType: HashSHA256, want: "blake2b digests of 0-byte shards were not computed"},
		{name: "sha256-signature-pass-hashed-blake3", files: map[string]string{"w.bin": "weights"}, passType: HashBLAKE3, want: "sha256 digests of 0-byte shards were not computed"},
		// model_signing --no-ignore-git-paths signs the .git folder.
		{name: "signed-git-folder-no-ignore-git-paths", files: map[string]string{"w.bin": "weights", ".git/HEAD": "ref: refs/heads/main"}, hash: HashOptions{NoDefaultIgnores: true}, want: "covers .git/HEAD, inside a .git folder"},
		{name: "signed-nested-git-folder", files: map[string]string{"w.bin": "weights", "sub/.git/config": "[core]"}, want: "covers sub/.git/config, inside a .git folder"},
		{name: "control/signed-gitattributes-is-read-by-the-scan", files: map[string]string{"w.bin": "weights", ".gitattributes": "*.bin lfs"}, hash: HashOptions{NoDefaultIgnores: true}},
		{name: "control/unsigned-git-folder-left-out", files: map[string]string{"w.bin": "weights", ".git/HEAD": "ref"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeModel(t, "m", c.files)
			_, bundle, err := Sign(dir, SignOptions{Key: k, Hash: c.hash})
			if err != nil {
				t.Fatal(err)
			}
			trust := TrustOptions{KeyPath: pub}
			mustVerify(t, dir, Options{Trust: trust}) // modelvet verify
			pass := &fakePass{}
			pass.hashType, pass.shardSize = PeekHashing(bundle)
			if c.passType != "" {
				pass.hashType = c.passType
			}
			r, err := Verify(dir, Options{Trust: trust, Digests: pass})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if !r.Verified || pass.asked == 0 {
					t.Fatalf("one pass: verified=%v after %d digests asked, problems %v", r.Verified, pass.asked, r.Problems)
				}
				// The same pass after a byte of the weights changed.
				writeFile(t, filepath.Join(dir, "w.bin"), []byte("weighTs and more"[:len(c.files["w.bin"])]))
				r, err := Verify(dir, Options{Trust: trust, Digests: pass})
				if err != nil {
					t.Fatal(err)
				}
				if r.Verified || !strings.Contains(fmt.Sprint(r.Problems), "w.bin") {
					t.Fatalf("one pass after a byte changed: verified=%v, problems %v", r.Verified, r.Problems)
				}
				return
			}
			msg := fmt.Sprint(r.Problems)
			if r.Verified || !strings.Contains(msg, c.want) {
				t.Fatalf("one pass: verified=%v, %d digests asked, problems %v; want a refusal %q", r.Verified, pass.asked, r.Problems, c.want)
			}
			if strings.Contains(c.want, ".git") && (!strings.Contains(msg, "modelvet verify") || pass.asked != 0) {
				t.Fatalf("one pass: %d digests asked, problems %v; want a refusal naming modelvet verify before any digest", pass.asked, r.Problems)
			}
		})
	}
}

// TestPeekHashing: the gate learns the hash type and shard size before
// the scan; an unreadable signature, or one naming a hash type nobody
// supports, leaves the pass at sha256 files (and verification fails).
func TestPeekHashing(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	dir := makeModel(t, "m", map[string]string{"w.bin": "weights"})
	sign := func(o HashOptions) []byte {
		_, b, err := Sign(dir, SignOptions{Key: k, Hash: o})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unknown := signedBundle(t, k, InTotoPayloadType, rtStatement([][2]string{{"w.bin", rtDigest("weights")}}, map[string]any{"method": "files", "hash_type": "sha3_256", "allow_symlinks": false}, nil))
	cases := []struct {
		name     string
		bundle   []byte
		wantType string
		wantSize int64
	}{
		{"sha256-files", sign(HashOptions{}), HashSHA256, 0},
		{"blake2b-files", sign(HashOptions{HashType: HashBLAKE2b}), HashBLAKE2b, 0},
		{"blake3-files", sign(HashOptions{HashType: HashBLAKE3}), HashBLAKE3, 0},
		{"blake2b-shards-4", sign(HashOptions{HashType: HashBLAKE2b, Method: MethodShards, ShardSize: 4}), HashBLAKE2b, 4},
		{"unsupported-sha3-256", unknown, HashSHA256, 0},
		{"not-a-bundle", []byte("{"), HashSHA256, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ht, size := PeekHashing(c.bundle)
			if ht != c.wantType || size != c.wantSize {
				t.Fatalf("PeekHashing = %s, %d; want %s, %d", ht, size, c.wantType, c.wantSize)
			}
		})
	}
}
