package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/attest"
	"github.com/modelvet/modelvet/verify"
)

var flagToken = regexp.MustCompile(`(?:^|[\s(\[|,'"])--([a-z][a-z0-9-]*)`)

// helpFlags returns the flags a command's help lists ("  --name").
func helpFlags(t *testing.T, args ...string) map[string]bool {
	t.Helper()
	_, _, help := runCLI(t, append(args, "-h")...)
	out := map[string]bool{}
	for _, l := range strings.Split(help, "\n") {
		if strings.HasPrefix(l, "  -") && !strings.HasPrefix(l, "  --") {
			t.Errorf("%v -h prints a single-dash flag: %q", args, l)
		}
		if strings.HasPrefix(l, "  --") {
			out[strings.Fields(l)[0][2:]] = true
		}
	}
	if len(out) == 0 {
		t.Fatalf("%v -h lists no flags:\n%s", args, help)
	}
	return out
}

// TestHelpMatchesTheREADME: every flag the README's command table gives a
// command is one its help lists, spelled --name as in the README, and
// check's usage shows --policy as required.
func TestHelpMatchesTheREADME(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		m := regexp.MustCompile("^\\| `modelvet ((?:attestation )?[a-z-]+)").FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows++
		cmdCell := strings.SplitN(line, "|", 3)[1]
		flags := helpFlags(t, strings.Fields(m[1])...)
		for _, tok := range flagToken.FindAllStringSubmatch(cmdCell, -1) {
			if !flags[tok[1]] {
				t.Errorf("README gives `modelvet %s` the flag --%s, which its help does not list", m[1], tok[1])
			}
		}
	}
	if rows < 8 {
		t.Fatalf("found %d command rows in README.md; the table moved?", rows)
	}
	_, _, help := runCLI(t, "check", "-h")
	if !strings.Contains(help, "usage: modelvet check MODEL --policy FILE") {
		t.Errorf("check usage does not show --policy as required:\n%s", help)
	}
	if code, _, errOut := runCLI(t, "check", filepath.Join("..", "..", "testdata", "examples", "clean-model")); code != exitUsage || !strings.Contains(errOut, "--policy FILE is required") {
		t.Errorf("check without --policy: exit %d\n%s", code, errOut)
	}
}

// TestCheckHintsNameOnlyItsOwnFlags: whatever check prints (findings that
// suggest --allow, signature problems that suggest --ignore-paths) names
// only flags check accepts; the rest is said in policy words.
func TestCheckHintsNameOnlyItsOwnFlags(t *testing.T) {
	model, pol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	// An unsigned file the signature does not cover, and a pickle with an
	// import the strict profile does not know.
	os.WriteFile(filepath.Join(model, "extra.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(model, "sk.pkl"), []byte("\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x07sklearn\x94\x8c\x03Foo\x94\x93\x94."), 0o644)
	flags := helpFlags(t, "check")
	for _, format := range []string{"text", "json", "sarif", "html"} {
		code, out, errOut := runCLI(t, "check", model, "--policy", pol, "--format", format)
		if code != exitFail {
			t.Fatalf("%s: exit %d\n%s%s", format, code, out, errOut)
		}
		for _, tok := range flagToken.FindAllStringSubmatch(out+errOut, -1) {
			if !flags[tok[1]] {
				t.Errorf("%s output names --%s, which check does not take", format, tok[1])
			}
		}
		if format == "text" && (!strings.Contains(out, "policy's ignore:") || !strings.Contains(out, "scan.allow_imports")) {
			t.Errorf("the hints are not in policy words:\n%s", out)
		}
	}
}

// TestCheckBlamesTheSubject: a signed model whose provenance is about other
// content is rejected with the attestation's subject at fault, not the
// policy's builder_ids (the builder is the accepted one).
func TestCheckBlamesTheSubject(t *testing.T) {
	model, pol := signedModel(t, "  builder_ids: ["+testBuilder+"]\n")
	// Re-attest with the publisher's key, about other bytes.
	dir := filepath.Dir(model)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(model, "model.intoto.jsonl"))
	if _, _, err := verify.Sign(model, verify.SignOptions{Key: key}); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "publisher.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	other := sha256.Sum256([]byte("another model"))
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	pred := `{"buildDefinition":{"buildType":"https://builder.example/type/v1","externalParameters":{}},"runDetails":{"builder":{"id":"` + testBuilder + `"}}}`
	att, err := attest.Create(attest.CreateOptions{PredicateType: "slsa-v1", Predicate: []byte(pred), SubjectName: "model",
		Subject: attest.Digest{Alg: "sha256", Hex: hex.EncodeToString(other[:])}, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(model, "model.intoto.jsonl"), append(att, '\n'), 0o644)
	code, out, errOut := runCLI(t, "check", model, "--policy", pol)
	if code != exitFail || !strings.Contains(out, "reason: policy/provenance (the attestation's subject") || strings.Contains(out, "provenance.builder_ids") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "signature: ok") {
		t.Errorf("the re-signed model's signature should verify:\n%s", out)
	}
}
