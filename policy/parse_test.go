package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
)

// The commented example the docs point to must load, and mean what its
// comments say.
func TestExamplePolicyLoads(t *testing.T) {
	path := filepath.Join("..", "examples", "policy.yaml")
	p, err := Load(path)
	if err != nil {
		t.Fatalf("examples/policy.yaml: %v", err)
	}
	if p.FailOn != formats.High || p.Profile != formats.Strict {
		t.Errorf("fail_on %v profile %v", p.FailOn, p.Profile)
	}
	if !p.Signature.Required || p.Signature.Method() != MethodKeyless {
		t.Errorf("signature %+v", p.Signature)
	}
	if !filepath.IsAbs(p.Signature.TrustedRoot) || filepath.Base(p.Signature.TrustedRoot) != "trusted_root.json" {
		t.Errorf("trusted_root not resolved against the policy's folder: %q", p.Signature.TrustedRoot)
	}
	if !p.Provenance.Required || len(p.Provenance.BuilderIDs) != 1 {
		t.Errorf("provenance %+v", p.Provenance)
	}
	if got := p.Ref("fail_on"); got != "fail_on: high (policy.yaml:13)" {
		t.Errorf("Ref(fail_on) = %q", got)
	}
	if len(p.Ignore) != 2 || len(p.Suppress) != 1 {
		t.Errorf("ignore %v suppress %v", p.Ignore, p.Suppress)
	}
	// The keyless identity matcher accepts the exact identity and the
	// tag regexp, and nothing that merely contains them.
	re := p.Signature.IdentityPattern()
	for id, want := range map[string]bool{
		"https://github.com/example-org/models/.github/workflows/release.yml@refs/heads/main":               true,
		"https://github.com/example-org/models/.github/workflows/release.yml@refs/tags/v1.2":                true,
		"https://github.com/example-org/models/.github/workflows/release.yml@refs/heads/main-evil":          false,
		"https://github.com/attacker/x?https://github.com/example-org/models/.github/workflows/release.yml": false,
	} {
		if got := mustMatch(t, re, id); got != want {
			t.Errorf("identity %q: matched %v, want %v (pattern %s)", id, got, want, re)
		}
	}
}

// TestParseOCISignature: the oci.signature section reads like signature:,
// with paths resolved against the policy's folder and reasons citing its
// own lines; it does not make the model's own signature checked.
func TestParseOCISignature(t *testing.T) {
	dir := t.TempDir()
	p, err := Parse(filepath.Join(dir, "policy.yaml"), []byte("version: 1\noci:\n  signature:\n    required: true\n    keys: [keys/cosign.pub]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := p.OCI.Signature
	if !s.Required || s.Method() != MethodKey || len(s.Keys) != 1 || s.Keys[0] != filepath.Join(dir, "keys", "cosign.pub") {
		t.Errorf("oci.signature = %+v", s)
	}
	if p.Signature.Checked() {
		t.Errorf("oci.signature made the model's own signature checked: %+v", p.Signature)
	}
	if got := p.Ref("oci.signature.required"); got != "oci.signature.required: true (policy.yaml:4)" {
		t.Errorf("Ref = %q", got)
	}
	// A private CA narrowed to one signer is one trust method.
	p, err = Parse(filepath.Join(dir, "policy.yaml"), []byte("oci:\n  signature:\n    ca_chains: [ca.pem]\n    identities: [release@example.com]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := p.OCI.Signature; s.Method() != MethodCA || s.IdentityPattern() != `^(?:release@example\.com)$` {
		t.Errorf("CA narrowed by identity: method %s, identity %q", s.Method(), s.IdentityPattern())
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // substrings of the error, line numbers included
	}{
		{"unknown top-level key (typo of fail_on)", "version: 1\nfial_on: high\n", []string{`policy.yaml:2: unknown key "fial_on"`}},
		{"unknown nested key", "signature:\n  required: false\n  key: a.pub\n", []string{`policy.yaml:3: unknown key "key" in signature`}},
		{"fail_on is not a severity", "fail_on: severe\n", []string{"policy.yaml:1: fail_on", "severe"}},
		{"profile is not strict or permissive", "scan:\n  profile: lax\n", []string{"policy.yaml:2: scan.profile"}},
		{"allowed format unknown", "formats:\n  allow:\n    - safetensors\n    - safetensor\n", []string{`policy.yaml:4: formats.allow: unknown format "safetensor"`}},
		{"signature required without trust", "signature:\n  required: true\n", []string{"policy.yaml:2: signature.required is true but no trust"}},
		{"key and keyless both", "signature:\n  keys: [a.pub]\n  identities: [me@example.com]\n  issuers: [https://accounts.google.com]\n  trusted_root: tr.json\n",
			[]string{"policy.yaml:2: signature: several trust methods", "keys on line 2", "line 3"}},
		{"key and CA both", "signature:\n  keys: [a.pub]\n  ca_chains: [ca.pem]\n", []string{"several trust methods"}},
		{"keyless without trusted root", "signature:\n  identities: [me@example.com]\n  issuers: [https://accounts.google.com]\n", []string{"policy.yaml:2:", "needs trusted_root"}},
		{"keyless without identity accepts anyone", "signature:\n  issuers: [https://accounts.google.com]\n  trusted_root: tr.json\n", []string{"would accept anyone"}},
		{"bad identity regexp", "signature:\n  identity_regexps: ['(']\n", []string{"policy.yaml:2: signature.identity_regexps", "not a valid regular expression"}},
		{"provenance without signature trust", "provenance:\n  required: true\n  builder_ids: [b]\n", []string{"policy.yaml:2: provenance is checked but signature gives no trust"}},
		{"provenance required but nothing to match", "signature:\n  keys: [a.pub]\nprovenance:\n  required: true\n", []string{"policy.yaml:4: provenance.required is true but neither"}},
		{"duplicate key", "fail_on: high\nfail_on: critical\n", []string{`policy.yaml:2: the policy: "fail_on" is given twice (first on line 1)`}},
		{"required is not a boolean", "signature:\n  required: yes please\n", []string{"policy.yaml:2: signature.required must be true or false"}},
		{"alias hides a value", "a: &x high\nfail_on: *x\n", []string{"anchors and aliases"}},
		{"signature file escapes the folder", "signature:\n  file: ../other/model.sig\n", []string{"policy.yaml:2: signature.file", "plain file name"}},
		{"windows path in attestation name", "signature:\n  keys: [k.pub]\nprovenance:\n  attestation: 'C:\\x\\p.jsonl'\n  builder_ids: [b]\n", []string{"policy.yaml:4: provenance.attestation"}},
		{"suppression without reason", "suppress:\n  - rule: pickle/unknown-import\n", []string{"policy.yaml:2: suppress item for pickle/unknown-import: reason is required"}},
		{"suppression of everything", "suppress:\n  - rule: '*'\n    reason: x\n", []string{"policy.yaml:2: suppress.rule"}},
		{"ignore pattern with backslash", "ignore: ['docs\\x']\n", []string{"policy.yaml:1: ignore", "backslash"}},
		{"oci: unknown key (typo of signature)", "oci:\n  signatures:\n    required: true\n", []string{`policy.yaml:2: unknown key "signatures" in oci`}},
		{"oci.signature: file has no meaning in a registry", "oci:\n  signature:\n    file: model.sig\n", []string{`policy.yaml:3: unknown key "file" in oci.signature`}},
		{"oci.signature required without trust", "oci:\n  signature:\n    required: true\n", []string{"policy.yaml:3: oci.signature.required is true but no trust"}},
		{"oci.signature key and CA both", "oci:\n  signature:\n    keys: [a.pub]\n    ca_chains: [ca.pem]\n", []string{"policy.yaml:3: oci.signature: several trust methods", "keys on line 3", "ca_chains on line 4"}},
		{"oci.signature keyless without identity accepts anyone", "oci:\n  signature:\n    issuers: [https://accounts.google.com]\n    trusted_root: tr.json\n", []string{"oci.signature: keyless trust without identities"}},
		{"oci.signature CA narrowed by identity, plus a trusted root", "oci:\n  signature:\n    ca_chains: [ca.pem]\n    identities: [me@example.com]\n    trusted_root: tr.json\n", []string{"oci.signature: several trust methods"}},
		{"top-level signature: CA and identities are two methods", "signature:\n  ca_chains: [ca.pem]\n  identities: [me@example.com]\n", []string{"signature: several trust methods"}},
		{"oci.signature bad issuer regexp", "oci:\n  signature:\n    issuer_regexps: ['[']\n", []string{"policy.yaml:3: oci.signature.issuer_regexps", "not a valid regular expression"}},
		{"ignore pattern escaping the folder", "ignore: ['../x']\n", []string{"policy.yaml:1: ignore"}},
		{"allow everything import", "scan:\n  allow_imports: ['*']\n", []string{"policy.yaml:2: scan.allow_imports"}},
		{"empty allow list", "formats:\n  allow: []\n", []string{"policy.yaml:2: formats.allow is empty"}},
		{"unsupported version", "version: 2\n", []string{"policy.yaml:1: version"}},
		{"a list where a mapping belongs", "scan: [strict]\n", []string{"policy.yaml:1: scan must be a mapping"}},
		{"two documents", "fail_on: high\n---\nfail_on: low\n", []string{"second YAML document"}},
		{"empty file", "", []string{"the policy is empty"}},
		{"several errors reported together", "fial_on: x\nscan:\n  profil: strict\n", []string{"policy.yaml:1:", "policy.yaml:3:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("/etc/modelvet/policy.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.yaml)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	os.WriteFile(path, []byte("fail_on: critical\nsignature:\n  keys: keys/pub.pem\nscan:\n  profile: permissive\n  allow_imports: [sklearn.*, numpy.dtype]\n"), 0o644)
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.FailOn != formats.Critical || p.Signature.Required || p.Signature.Method() != MethodKey || !p.Signature.Checked() {
		t.Errorf("%+v", p)
	}
	if want := filepath.Join(dir, "keys", "pub.pem"); p.Signature.Keys[0] != want {
		t.Errorf("key %q, want %q", p.Signature.Keys[0], want)
	}
	o := p.ScanOptions()
	if o.Profile != formats.Permissive || len(o.Allow) != 2 || !o.Hash {
		t.Errorf("scan options %+v", o)
	}
	if p.Ref("formats.allow") != "formats.allow (default)" {
		t.Errorf("unset key ref %q", p.Ref("formats.allow"))
	}
}

func TestPatternMatch(t *testing.T) {
	cases := []struct {
		pat, rel string
		want     bool
	}{
		{"*.md", "README.md", true},
		{"*.md", "docs/deep/a.md", true},
		{"docs/", "docs/a.bin", true},
		{"docs/", "docs", true},
		{"docs/", "x/docs/a.bin", true}, // no slash inside: any depth, like .gitignore
		{"legacy/*.bin", "legacy/a.bin", true},
		{"legacy/*.bin", "other/legacy/a.bin", false},
		{"a/**/w.bin", "a/b/c/w.bin", true},
		{"a/**/w.bin", "a/w.bin", true},
		{"*.md", "model.bin", false},
		{"*.md", "", false},
	}
	for _, c := range cases {
		p, err := compilePattern(c.pat)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Match(c.rel); got != c.want {
			t.Errorf("%q ~ %q = %v, want %v", c.pat, c.rel, got, c.want)
		}
	}
}

// Reading a policy is bounded and never panics, whatever the bytes.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "examples", "policy.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("fail_on: high\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("suppress:\n  - rule: pickle/*\n    reason: x\n    paths: 'a/**/b'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		p, err := Parse("p.yaml", data)
		if err == nil && p == nil {
			t.Fatal("nil policy without error")
		}
	})
}
