package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// rtDigest is the hex SHA-256 of s.
func rtDigest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// rtStatement renders an OMS v1.0 statement listing resources (name,
// digest) in the order given, with a subject digest consistent with them:
// the attacker's signature is always self-consistent and, unless the
// attack is on the envelope, validly signed by the trusted key. mod edits
// the decoded statement last (subject or type tricks).
func rtStatement(resources [][2]string, ser map[string]any, mod func(map[string]any)) []byte {
	var rs []any
	var list []Resource
	for _, r := range resources {
		rs = append(rs, map[string]any{"name": r[0], "algorithm": "sha256", "digest": r[1]})
		list = append(list, Resource{Name: r[0], Algorithm: "sha256", Digest: r[1]})
	}
	v := map[string]any{
		"_type":         StatementTypeV1,
		"subject":       []any{map[string]any{"name": "m", "digest": map[string]any{"sha256": rootDigest(list)}}},
		"predicateType": PredicateTypeV1,
		"predicate":     map[string]any{"serialization": ser, "resources": rs},
	}
	if mod != nil {
		mod(v)
	}
	out, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return out
}

// withAlgorithm sets every resource's algorithm in a statement.
func withAlgorithm(stmt []byte, alg string) []byte {
	return []byte(strings.ReplaceAll(string(stmt), `"algorithm":"sha256"`, `"algorithm":"`+alg+`"`))
}

func rtFiles(extra ...string) map[string]any {
	s := map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": false}
	if len(extra) > 0 {
		var ig []any
		for _, e := range extra {
			ig = append(ig, e)
		}
		s["ignore_paths"] = ig
	}
	return s
}

func rtShards(size any) map[string]any {
	return map[string]any{"method": "shards", "hash_type": "sha256", "allow_symlinks": false, "shard_size": size}
}

// rtEnvelope builds a key bundle whose envelope carries payloadType and
// payload, signed with each of sigs (PAE bytes to sign, key).
func rtBundle(t testing.TB, payloadType string, payload []byte, hintKey *ecdsa.PrivateKey, sigs ...rtSig) []byte {
	t.Helper()
	var ss []any
	for _, s := range sigs {
		sig, err := signPAE(s.key, s.msg)
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, map[string]any{"sig": base64.StdEncoding.EncodeToString(sig), "keyid": ""})
	}
	b := map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": keyHint(hintKey.Public())}},
		"dsseEnvelope": map[string]any{
			"payload":     base64.StdEncoding.EncodeToString(payload),
			"payloadType": payloadType,
			"signatures":  ss,
		},
	}
	out, _ := json.Marshal(b)
	return out
}

type rtSig struct {
	key *ecdsa.PrivateKey
	msg []byte
}

// editJSON decodes a JSON document, lets f change it, and encodes it.
func editJSON(t testing.TB, data []byte, f func(map[string]any)) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	f(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRedTeamModelSignatures is the attacker's table against `verify`
// with a trusted key: each case is a model and a signature an attacker can
// produce (by editing files, or a signature the trusted key really made
// over an odd statement, or a forged envelope), and must fail with a
// message that names the file or field at fault. "control" cases must
// pass, so the table cannot pass by refusing everything.
func TestRedTeamModelSignatures(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	other := newECKey(t, elliptic.P256())
	pub := writePublicKey(t, k.Public())
	W, C := rtDigest("weights"), rtDigest("{}")
	base := map[string]string{"w.bin": "weights", "config.json": "{}"}
	good := [][2]string{{"config.json", C}, {"w.bin", W}}
	goodStmt := rtStatement(good, rtFiles(), nil)
	signed := func(p []byte) []byte { return signedBundle(t, k, InTotoPayloadType, p) }
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		for a, b := range extra {
			m[a] = b
		}
		return m
	}
	type tc struct {
		name   string
		files  map[string]string
		setup  func(t *testing.T, dir string) // links, pipes
		bundle []byte
		opts   func(*Options)
		want   string // "" = must verify
		unix   bool   // needs POSIX links/pipes
	}
	cases := []tc{
		{name: "control/valid-signature", files: base, bundle: signed(goodStmt)},
		{name: "control/signer-ignore-path-relative", files: with(map[string]string{"notes.txt": "x"}), bundle: signed(rtStatement(good, rtFiles("notes.txt"), nil))},

		{name: "control/git-paths-left-out-by-default", files: with(map[string]string{".git/config": "x", ".gitattributes": "*.bin lfs"}), bundle: signed(goodStmt)},
		{name: "control/signed-gitattributes-is-checked", files: with(map[string]string{".gitattributes": "*.bin lfs"}), bundle: signed(rtStatement([][2]string{{".gitattributes", rtDigest("*.bin lfs")}, {"config.json", C}, {"w.bin", W}}, rtFiles(), nil))},
		{name: "git/signed-gitattributes-changed", files: with(map[string]string{".gitattributes": "*.bin text"}), bundle: signed(rtStatement([][2]string{{".gitattributes", rtDigest("*.bin lfs")}, {"config.json", C}, {"w.bin", W}}, rtFiles(), nil)), want: ".gitattributes changed"},
		{name: "git/signed-git-folder-with-unsigned-file", files: with(map[string]string{".git/HEAD": "ref", ".git/hooks/post-checkout": "evil"}), bundle: signed(rtStatement([][2]string{{".git/HEAD", rtDigest("ref")}, {"config.json", C}, {"w.bin", W}}, rtFiles(), nil)), want: ".git/hooks/post-checkout is in the model but not covered"},

		// Manifest path tricks.
		{name: "path/dotdot", files: base, bundle: signed(rtStatement([][2]string{{"../m/w.bin", W}}, rtFiles(), nil)), want: "'..'"},
		{name: "path/absolute", files: base, bundle: signed(rtStatement([][2]string{{"/w.bin", W}}, rtFiles(), nil)), want: "absolute"},
		{name: "path/backslash-windows-separator", files: with(map[string]string{"sub/w.bin": "weights"}), bundle: signed(rtStatement([][2]string{{`sub\w.bin`, W}}, rtFiles(), nil)), want: "backslash"},
		{name: "path/dot-slash-prefix", files: base, bundle: signed(rtStatement([][2]string{{"config.json", C}, {"./w.bin", W}}, rtFiles(), nil)), want: "'.'"},
		{name: "path/double-slash", files: with(map[string]string{"sub/w.bin": "weights"}), bundle: signed(rtStatement([][2]string{{"sub//w.bin", W}}, rtFiles(), nil)), want: "empty"},
		{name: "path/drive-letter", files: base, bundle: signed(rtStatement([][2]string{{"C:/w.bin", W}}, rtFiles(), nil)), want: "drive letter"},
		{name: "path/nul-byte", files: base, bundle: signed(rtStatement([][2]string{{"w.bin\x00.txt", W}}, rtFiles(), nil)), want: "NUL"},
		{name: "path/empty-name", files: base, bundle: signed(rtStatement([][2]string{{"", W}}, rtFiles(), nil)), want: "empty name"},
		{name: "path/unicode-nfd-vs-nfc-on-disk", files: map[string]string{"caf\u00e9.bin": "weights"}, bundle: signed(rtStatement([][2]string{{"cafe\u0301.bin", W}}, rtFiles(), nil)), want: "not found in the model"},
		{name: "path/case-only-difference", files: map[string]string{"w.bin": "weights"}, bundle: signed(rtStatement([][2]string{{"W.bin", W}}, rtFiles(), nil)), want: "W.bin is signed"},
		{name: "path/case-twins-one-on-disk", files: map[string]string{"w.bin": "weights"}, bundle: signed(rtStatement([][2]string{{"W.bin", rtDigest("evil")}, {"w.bin", W}}, rtFiles(), nil)), want: "W.bin is signed"},
		{name: "path/duplicate-first-matches", files: base, bundle: signed(rtStatement([][2]string{{"config.json", C}, {"w.bin", W}, {"w.bin", rtDigest("evil")}}, rtFiles(), nil)), want: "listed twice"},
		{name: "path/duplicate-last-matches", files: base, bundle: signed(rtStatement([][2]string{{"config.json", C}, {"w.bin", rtDigest("evil")}, {"w.bin", W}}, rtFiles(), nil)), want: "listed twice"},
		{name: "path/entry-for-a-directory", files: map[string]string{"sub/a.bin": "weights"}, bundle: signed(rtStatement([][2]string{{"sub", W}}, rtFiles(), nil)), want: "sub is signed"},
		{name: "path/single-file-signature-on-folder", files: map[string]string{"w.bin": "weights"}, bundle: signed(rtStatement([][2]string{{".", W}}, rtFiles(), nil)), want: ". is signed"},
		{name: "path/entry-for-a-symlink", unix: true, files: map[string]string{"real.bin": "weights"}, setup: func(t *testing.T, dir string) {
			if err := os.Symlink("real.bin", filepath.Join(dir, "w.bin")); err != nil {
				t.Skip(err)
			}
		}, bundle: signed(rtStatement([][2]string{{"real.bin", W}, {"w.bin", W}}, rtFiles(), nil)), want: "symbolic link"},
		{name: "path/symlink-outside-model-signer-allowed-links", unix: true, files: map[string]string{"config.json": "{}"}, setup: func(t *testing.T, dir string) {
			out := filepath.Join(filepath.Dir(dir), "outside.bin")
			writeFile(t, out, []byte("weights"))
			if err := os.Symlink(out, filepath.Join(dir, "w.bin")); err != nil {
				t.Skip(err)
			}
		}, bundle: signed(rtStatement(good, map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": true}, nil)), want: "outside the model"},
		// OMS §6.1.1: a link out of the model root MUST error, even when
		// the verifier allows links (conformance: key-symlink-outside-root).
		{name: "path/link-to-file-outside-caller-allows-links", unix: true, files: map[string]string{"config.json": "{}"}, setup: func(t *testing.T, dir string) {
			blob := filepath.Join(filepath.Dir(dir), "blobs", W)
			writeFile(t, blob, []byte("weights"))
			if err := os.Symlink(filepath.Join("..", "blobs", W), filepath.Join(dir, "w.bin")); err != nil {
				t.Skip(err)
			}
		}, bundle: signed(goodStmt), opts: func(o *Options) { o.AllowSymlinks = true }, want: "outside the model"},
		// model_signing does not follow a link to a folder (its files are
		// signed under their real paths): such a model verifies, and a
		// link that shows an ignored folder is refused.
		{name: "control/link-to-a-folder-inside-not-followed", unix: true, files: base, setup: func(t *testing.T, dir string) {
			if err := os.Symlink(".", filepath.Join(dir, "again")); err != nil {
				t.Skip(err)
			}
		}, bundle: signed(rtStatement(good, map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": true}, nil))},
		{name: "path/link-to-an-ignored-folder", unix: true, files: with(map[string]string{".git/objects/w.bin": "evil"}), setup: func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(".git", "objects"), filepath.Join(dir, "weights")); err != nil {
				t.Skip(err)
			}
		}, bundle: signed(rtStatement(good, map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": true}, nil)), want: "left out of the signature"},
		{name: "path/entry-for-a-fifo", unix: true, files: base, setup: func(t *testing.T, dir string) {
			mkfifo(filepath.Join(dir, "pipe"))
			if st, err := os.Lstat(filepath.Join(dir, "pipe")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
				t.Skip("cannot make a FIFO here")
			}
		}, bundle: signed(rtStatement([][2]string{{"config.json", C}, {"pipe", rtDigest("")}, {"w.bin", W}}, rtFiles(), nil)), want: "special file"},

		// Files present but not signed, and ignore paths that would hide them.
		{name: "unsigned/extra-weights-file", files: with(map[string]string{"evil.bin": "x"}), bundle: signed(goodStmt), want: "evil.bin is in the model but not covered"},
		{name: "unsigned/extra-file-in-subfolder", files: with(map[string]string{"sub/.hidden.pt": "x"}), bundle: signed(goodStmt), want: "sub/.hidden.pt is in the model but not covered"},
		{name: "ignore/signer-absolute-path-is-not-applied", files: with(map[string]string{"evil.bin": "x"}), bundle: signed(rtStatement(good, rtFiles("/evil.bin"), nil)), want: "evil.bin is in the model but not covered"},
		{name: "ignore/signer-backslash-path-is-not-applied", files: with(map[string]string{"sub/evil.bin": "x"}), bundle: signed(rtStatement(good, rtFiles(`sub\evil.bin`), nil)), want: "sub/evil.bin is in the model but not covered"},
		{name: "ignore/signer-dotdot-path-hides-nothing", files: with(map[string]string{"evil.bin": "x"}), bundle: signed(rtStatement(good, rtFiles("../m/evil.bin"), nil)), want: "evil.bin is in the model but not covered"},
		{name: "ignore/caller-ignores-a-signed-file", files: base, bundle: signed(goodStmt), opts: func(o *Options) { o.IgnorePaths = []string{"w.bin"} }, want: "w.bin is signed"},
		{name: "ignore/unsigned-files-allowed-but-signed-file-changed", files: map[string]string{"w.bin": "tampered", "config.json": "{}"}, bundle: signed(goodStmt), opts: func(o *Options) { o.IgnoreUnsignedFiles = true }, want: "w.bin changed"},

		// DSSE envelope and PAE.
		{name: "dsse/payload-type-not-in-toto", files: base, bundle: signedBundle(t, k, "application/json", goodStmt), want: "payload type"},
		{name: "dsse/payload-type-changed-after-signing", files: base, bundle: rtBundle(t, "application/vnd.in-toto+json;x", goodStmt, k, rtSig{k, pae(InTotoPayloadType, goodStmt)}), want: "does not verify"},
		{name: "dsse/pae-length-shift", files: base, bundle: rtBundle(t, InTotoPayloadType, goodStmt, k, rtSig{k, []byte("DSSEv1 28 application/vnd.in-toto+json " + string(goodStmt))}), want: "does not verify"},
		{name: "dsse/v0.2-compat-encoding-of-other-payload", files: base, bundle: rtBundle(t, InTotoPayloadType, goodStmt, k, rtSig{k, paeCompat(InTotoPayloadType, rtStatement(good, rtFiles("evil.bin"), nil))}), want: "does not verify"},
		{name: "dsse/two-signatures-one-forged", files: base, bundle: rtBundle(t, InTotoPayloadType, goodStmt, k, rtSig{other, pae(InTotoPayloadType, goodStmt)}, rtSig{k, pae(InTotoPayloadType, goodStmt)}), want: "2 signatures"},
		{name: "dsse/two-signatures-valid-first", files: base, bundle: rtBundle(t, InTotoPayloadType, goodStmt, k, rtSig{k, pae(InTotoPayloadType, goodStmt)}, rtSig{other, pae(InTotoPayloadType, goodStmt)}), want: "2 signatures"},
		{name: "dsse/other-key-with-trusted-key-hint", files: base, bundle: rtBundle(t, InTotoPayloadType, goodStmt, k, rtSig{other, pae(InTotoPayloadType, goodStmt)}), want: "does not verify"},

		// Bundle shape.
		{name: "bundle/media-type-unknown-version", files: base, bundle: []byte(strings.Replace(string(signed(goodStmt)), "bundle.v0.3+json", "bundle+json;version=0.4", 1)), want: "media type"},
		{name: "bundle/media-type-case", files: base, bundle: []byte(strings.Replace(string(signed(goodStmt)), "bundle.v0.3+json", "bundle.V0.3+json", 1)), want: "media type"},
		{name: "bundle/key-hint-plus-embedded-certificate", files: base, bundle: editJSON(t, signed(goodStmt), func(v map[string]any) {
			v["verificationMaterial"].(map[string]any)["certificate"] = map[string]any{"rawBytes": base64.StdEncoding.EncodeToString([]byte("cert"))}
		}), want: "exactly one of publicKey"},
		{name: "bundle/dsse-plus-message-signature", files: base, bundle: editJSON(t, signed(goodStmt), func(v map[string]any) {
			v["messageSignature"] = map[string]any{"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": "AA=="}, "signature": "AA=="}
		}), want: "both a DSSE envelope and a message signature"},
		{name: "bundle/trailing-second-document", files: base, bundle: append(signed(goodStmt), []byte(`{"mediaType":"x"}`)...), want: "not a readable"},
		{name: "bundle/bare-dsse-envelope", files: base, bundle: editJSON(t, signed(goodStmt), func(v map[string]any) {
			for key := range v {
				if key != "dsseEnvelope" {
					delete(v, key)
				}
			}
		}), want: "media type"},

		// Statement and predicate.
		{name: "statement/subject-not-root-digest", files: base, bundle: signed(rtStatement(good, rtFiles(), func(v map[string]any) {
			v["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": rtDigest("other model")}
		})), want: "inconsistent"},
		{name: "statement/several-subjects-one-matches", files: base, bundle: signed(rtStatement(good, rtFiles(), func(v map[string]any) {
			v["subject"] = append(v["subject"].([]any), map[string]any{"name": "other", "digest": map[string]any{"sha256": rtDigest("x")}})
		})), want: "2 subjects"},
		{name: "statement/predicate-type-slsa", files: base, bundle: signed(rtStatement(good, rtFiles(), func(v map[string]any) { v["predicateType"] = "https://slsa.dev/provenance/v1" })), want: "predicate type"},
		{name: "statement/predicate-type-future-oms", files: base, bundle: signed(rtStatement(good, rtFiles(), func(v map[string]any) { v["predicateType"] = "https://model_signing/signature/v1.1" })), want: "predicate type"},
		{name: "statement/statement-type-v0.1", files: base, bundle: signed(rtStatement(good, rtFiles(), func(v map[string]any) { v["_type"] = "https://in-toto.io/Statement/v0.1" })), want: "statement type"},
		{name: "statement/duplicate-resources-key", files: base, bundle: signed([]byte(strings.Replace(string(goodStmt), `"resources":`, `"resources":[],"resources":`, 1))), want: "duplicate"},
		{name: "statement/allow-symlinks-missing", files: base, bundle: signed(rtStatement(good, map[string]any{"method": "files", "hash_type": "sha256"}, nil)), want: "allow_symlinks"},
		{name: "statement/allow-symlinks-string-false", files: base, bundle: signed(rtStatement(good, map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": "false"}, nil)), want: "allow_symlinks"},
		{name: "statement/hash-type-unknown", files: base, bundle: signed(rtStatement(good, map[string]any{"method": "files", "hash_type": "sha3-256", "allow_symlinks": false}, nil)), want: "hash type"},
		{name: "statement/hash-type-uppercase", files: base, bundle: signed(rtStatement(good, map[string]any{"method": "files", "hash_type": "SHA256", "allow_symlinks": false}, nil)), want: "hash type"},
		{name: "statement/resource-algorithm-differs", files: base, bundle: signed([]byte(strings.Replace(string(goodStmt), `"algorithm":"sha256"`, `"algorithm":"md5"`, 1))), want: "algorithm"},
		{name: "statement/digest-short", files: base, bundle: signed(rtStatement([][2]string{{"w.bin", W[:62]}}, rtFiles(), nil)), want: "not a hex SHA-256"},
		{name: "statement/method-unknown", files: base, bundle: signed(rtStatement(good, map[string]any{"method": "tensors", "hash_type": "sha256", "allow_symlinks": false}, nil)), want: "unknown serialization"},

		// Shards.
		// model_signing names each shard digest "sha256-sharded-<size>".
		{name: "control/reference-shard-algorithm-name", files: map[string]string{"w.bin": "weights"}, bundle: signed(withAlgorithm(rtStatement([][2]string{{"w.bin:0:4", rtDigest("weig")}, {"w.bin:4:7", rtDigest("hts")}}, rtShards(4), nil), "sha256-sharded-4"))},
		{name: "shards/algorithm-names-another-shard-size", files: map[string]string{"w.bin": "weights"}, bundle: signed(withAlgorithm(rtStatement([][2]string{{"w.bin:0:4", rtDigest("weig")}, {"w.bin:4:7", rtDigest("hts")}}, rtShards(4), nil), "sha256-sharded-8")), want: "algorithm"},
		{name: "shards/sharded-algorithm-under-files-method", files: base, bundle: signed(withAlgorithm(goodStmt, "sha256-sharded-0")), want: "algorithm"},
		{name: "shards/size-zero", files: base, bundle: signed(rtStatement([][2]string{{"w.bin:0:7", W}}, rtShards(0), nil)), want: "shard_size"},
		{name: "shards/size-negative", files: base, bundle: signed(rtStatement([][2]string{{"w.bin:0:7", W}}, rtShards(-1), nil)), want: "shard_size"},
		{name: "shards/size-huge", files: base, bundle: signed(rtStatement([][2]string{{"w.bin:0:7", W}}, rtShards(1e300), nil)), want: "shard_size"},
		{name: "shards/size-fraction", files: base, bundle: signed(rtStatement([][2]string{{"w.bin:0:7", W}}, rtShards(2.5), nil)), want: "shard_size"},
		{name: "shards/size-string", files: base, bundle: signed(rtStatement([][2]string{{"w.bin:0:7", W}}, rtShards("1000"), nil)), want: "shard_size"},
		{name: "shards/overlapping-shards", files: base, bundle: signed(rtStatement([][2]string{{"w.bin:0:4", rtDigest("weig")}, {"w.bin:2:6", rtDigest("ight")}}, rtShards(4), nil)), want: "invalid offsets"},
		{name: "shards/bytes-appended-beyond-signed-shards", files: map[string]string{"w.bin": "weights+evil"}, bundle: signed(rtStatement([][2]string{{"w.bin:0:7", W}}, rtShards(7), nil)), opts: func(o *Options) { o.IgnoreUnsignedFiles = true }, want: "grew since it was signed"},
		// OMS v1.0 6.3.2: the offsets are the last two components.
		{name: "control/shard-of-a-file-named-with-colons", unix: true, files: map[string]string{"model:v2.bin": "weights"}, bundle: signed(rtStatement([][2]string{{"model:v2.bin:0:7", W}}, rtShards(7), nil))},
		{name: "shards/no-offsets", files: base, bundle: signed(rtStatement([][2]string{{"w.bin:7", W}}, rtShards(7), nil)), want: "path:start:end"},
		{name: "shards/leading-zero-offset", files: map[string]string{"w.bin": "weights"}, bundle: signed(rtStatement([][2]string{{"w.bin:00:7", W}}, rtShards(7), nil)), want: "non-canonical"},
		{name: "shards/plus-sign-offset", files: map[string]string{"w.bin": "weights"}, bundle: signed(rtStatement([][2]string{{"w.bin:+0:7", W}}, rtShards(7), nil)), want: "non-canonical"},

		// v0.2 statements (one subject per file).
		{name: "v0.2/subject-dotdot", files: base, bundle: signed(editJSON(t, goodStmt, func(v map[string]any) {
			v["predicateType"] = PredicateTypeV0_2
			v["subject"] = []any{map[string]any{"name": "../w.bin", "digest": map[string]any{"sha256": W}}}
		})), want: "'..'"},
		{name: "v0.2/unlisted-file", files: with(map[string]string{"evil.bin": "x"}), bundle: signed(editJSON(t, goodStmt, func(v map[string]any) {
			v["predicateType"] = PredicateTypeV0_2
			v["subject"] = []any{map[string]any{"name": "w.bin", "digest": map[string]any{"sha256": W}}, map[string]any{"name": "config.json", "digest": map[string]any{"sha256": C}}}
		})), want: "evil.bin is in the model but not covered"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.unix && runtime.GOOS == "windows" {
				t.Skip("needs POSIX links or pipes")
			}
			dir := makeModel(t, "m", c.files)
			if c.setup != nil {
				c.setup(t, dir)
			}
			writeFile(t, filepath.Join(dir, DefaultSignatureName), c.bundle)
			o := Options{Trust: TrustOptions{KeyPath: pub}}
			if c.opts != nil {
				c.opts(&o)
			}
			r, err := Verify(dir, o)
			if err != nil {
				t.Fatalf("usage error instead of a verdict: %v", err)
			}
			if c.want == "" {
				if !r.Verified {
					t.Fatalf("control case refused: %+v", r.Problems)
				}
				return
			}
			if r.Verified {
				t.Fatalf("VERIFIED; want a refusal mentioning %q", c.want)
			}
			var msgs []string
			for _, p := range r.Problems {
				msgs = append(msgs, p.Message)
			}
			all := strings.Join(msgs, " | ")
			if !strings.Contains(all, c.want) {
				t.Errorf("refused, but no message mentions %q: %s", c.want, all)
			}
		})
	}
}

// TestSignRefusesModelChangedWhileHashed: a file rewritten in place (same
// size), or renamed over, while `sign` hashes it must not be signed: the
// signature would vouch for bytes that never existed together. Nothing is
// written.
func TestSignRefusesModelChangedWhileHashed(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	for _, c := range []struct {
		name   string
		change func(t *testing.T, dir string)
	}{
		{"rewritten-in-place-same-size", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "w.bin")
			writeFile(t, p, []byte("WEIGHTS"))
			// A coarse clock must not hide the write.
			st, _ := os.Stat(p)
			os.Chtimes(p, st.ModTime().Add(time.Second), st.ModTime().Add(time.Second))
		}},
		{"renamed-over", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "w.bin")
			st, _ := os.Stat(p)
			writeFile(t, p+".new", []byte("WEIGHTS"))
			os.Chtimes(p+".new", st.ModTime(), st.ModTime())
			if err := os.Rename(p+".new", p); err != nil {
				// Windows refuses to replace a file another handle has
				// open: there the swap this case stands for cannot happen.
				t.Skipf("this OS refuses to rename over an open file (%v)", err)
			}
		}},
		{"removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "w.bin")) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := makeModel(t, "m", map[string]string{"w.bin": "weights", "config.json": "{}"})
			afterHashHook = func() { c.change(t, dir) }
			defer func() { afterHashHook = nil }()
			_, _, err := Sign(dir, SignOptions{Key: k})
			if err == nil || !strings.Contains(err.Error(), "w.bin") {
				t.Fatalf("signed a model that changed while it was hashed (err %v)", err)
			}
			if _, serr := os.Stat(filepath.Join(dir, DefaultSignatureName)); serr == nil {
				t.Error("a signature was written")
			}
		})
	}
	t.Run("control-unchanged", func(t *testing.T) {
		dir := makeModel(t, "m", map[string]string{"w.bin": "weights"})
		if _, _, err := Sign(dir, SignOptions{Key: k}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSingleFileResourceNames: a one-file model's resource is "." as
// model_signing writes it, or the file's name as OMS v1.0 (6.1.2)
// requires of signers; both verify, and only for that file's bytes.
func TestSingleFileResourceNames(t *testing.T) {
	k := newECKey(t, elliptic.P256())
	pub := writePublicKey(t, k.Public())
	W := rtDigest("weights")
	cases := []struct {
		name, content string
		resources     [][2]string
		ser           map[string]any
		want          string // "" = must verify
	}{
		{"control/reference-dot", "weights", [][2]string{{".", W}}, rtFiles(), ""},
		{"control/spec-basename", "weights", [][2]string{{"w.bin", W}}, rtFiles(), ""},
		{"control/spec-basename-shards", "weights", [][2]string{{"w.bin:0:4", rtDigest("weig")}, {"w.bin:4:7", rtDigest("hts")}}, rtShards(4), ""},
		{"basename-content-changed", "WEIGHTS", [][2]string{{"w.bin", W}}, rtFiles(), "w.bin changed"},
		{"another-file-name", "weights", [][2]string{{"other.bin", W}}, rtFiles(), "other.bin is signed"},
		{"dot-and-basename-together", "weights", [][2]string{{".", W}, {"w.bin", W}}, rtFiles(), "listed with other resources"},
		{"basename-under-a-folder-name", "weights", [][2]string{{"w.bin/x", W}}, rtFiles(), "w.bin/x is signed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			model := filepath.Join(dir, "w.bin")
			writeFile(t, model, []byte(c.content))
			writeFile(t, filepath.Join(dir, DefaultSignatureName), signedBundle(t, k, InTotoPayloadType, rtStatement(c.resources, c.ser, nil)))
			r, err := Verify(model, Options{Trust: TrustOptions{KeyPath: pub}})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if !r.Verified {
					t.Fatalf("control refused: %+v", r.Problems)
				}
				return
			}
			if r.Verified {
				t.Fatal("VERIFIED")
			}
			var all []string
			for _, p := range r.Problems {
				all = append(all, p.Message)
			}
			if !strings.Contains(strings.Join(all, " | "), c.want) {
				t.Errorf("refused, but not for %q: %v", c.want, all)
			}
		})
	}
}

// TestSignRefusesNonUTF8Name: a file name that is not valid UTF-8 cannot
// be written in the JSON manifest as it is (encoding/json would put
// U+FFFD in its place, naming another file), so signing refuses it
// (OMS v1.0 6.1) instead of writing a signature that names no file.
func TestSignRefusesNonUTF8Name(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("file names are UTF-16 or normalized UTF-8 here")
	}
	dir := makeModel(t, "m", map[string]string{"w.bin": "weights"})
	if err := os.WriteFile(filepath.Join(dir, "caf\xe9.bin"), []byte("x"), 0o644); err != nil {
		t.Skip(err)
	}
	_, _, err := Sign(dir, SignOptions{Key: newECKey(t, elliptic.P256())})
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Fatalf("signed a model with a non-UTF-8 file name (err %v)", err)
	}
}
