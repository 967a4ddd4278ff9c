package attest

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats/formatstest"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hexC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

// statementJSON builds a statement of the given type about subjects
// (name -> sha256 hex).
func statementJSON(t testing.TB, typ, predType string, pred any, subjects ...[2]string) []byte {
	t.Helper()
	var subs []map[string]any
	for _, s := range subjects {
		subs = append(subs, map[string]any{"name": s[0], "digest": map[string]string{"sha256": s[1]}})
	}
	b, err := json.Marshal(map[string]any{"_type": typ, "subject": subs, "predicateType": predType, "predicate": pred})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatement(t *testing.T) {
	pred := map[string]any{"k": "v"}
	cases := []struct {
		name    string
		ptype   string
		payload []byte
		wantErr string
	}{
		{"statement v1", InTotoPayloadType, statementJSON(t, StatementV1, "x", pred, [2]string{"m", hexA}), ""},
		{"statement v0.1 (npm, GitHub provenance)", InTotoPayloadType, statementJSON(t, StatementV01, "x", pred, [2]string{"m", hexA}), ""},
		{"unknown statement version", InTotoPayloadType, statementJSON(t, "https://in-toto.io/Statement/v9", "x", pred, [2]string{"m", hexA}), "not an in-toto Statement"},
		{"wrong payload type (not in-toto)", "application/vnd.model_signing+json", statementJSON(t, StatementV1, "x", pred, [2]string{"m", hexA}), "payloadType"},
		{"no subject", InTotoPayloadType, statementJSON(t, StatementV1, "x", pred), "subject"},
		{"truncated sha256 digest", InTotoPayloadType, statementJSON(t, StatementV1, "x", pred, [2]string{"m", hexA[:10]}), "length"},
		{"no predicate", InTotoPayloadType, statementJSON(t, StatementV1, "x", nil, [2]string{"m", hexA}), "predicate"},
		{"duplicate _type key (parser confusion)", InTotoPayloadType,
			[]byte(`{"_type":"` + StatementV1 + `","_type":"` + StatementV01 + `","subject":[{"digest":{"sha256":"` + hexA + `"}}],"predicateType":"x","predicate":{}}`), "twice"},
		{"duplicate subject (Go keeps the last, others the first)", InTotoPayloadType,
			[]byte(`{"_type":"` + StatementV1 + `","subject":[{"digest":{"sha256":"` + hexA + `"}}],"subject":[{"digest":{"sha256":"` + hexB + `"}}],"predicateType":"x","predicate":{}}`), "twice"},
		{"case twin key in predicate", InTotoPayloadType,
			[]byte(`{"_type":"` + StatementV1 + `","subject":[{"digest":{"sha256":"` + hexA + `"}}],"predicateType":"x","predicate":{"builder":{"id":"a"},"Builder":{"id":"b"}}}`), "case"},
		{"invalid UTF-8", InTotoPayloadType, []byte("{\"_type\":\"\xff\"}"), "UTF-8"},
		{"trailing garbage", InTotoPayloadType, append(statementJSON(t, StatementV1, "x", pred, [2]string{"m", hexA}), []byte("{}")...), "after"},
		{"deep nesting", InTotoPayloadType, []byte(`{"_type":"` + StatementV1 + `","predicate":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`), "deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := ParseStatement(c.ptype, c.payload)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(st.Subjects) != 1 || st.Subjects[0].Digest["sha256"] != hexA || st.PredicateType != "x" {
					t.Fatalf("parsed %+v", st)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func envelopeJSON(payloadType string, payload []byte, sigs ...string) []byte {
	var s []map[string]string
	for _, sig := range sigs {
		s = append(s, map[string]string{"keyid": "", "sig": sig})
	}
	b, _ := json.Marshal(map[string]any{"payloadType": payloadType, "payload": base64.StdEncoding.EncodeToString(payload), "signatures": s})
	return b
}

func TestSplit(t *testing.T) {
	st := statementJSON(t, StatementV1, "x", map[string]any{}, [2]string{"m", hexA})
	env := envelopeJSON(InTotoPayloadType, st, "c2ln")
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":` + string(env) + `}`)
	cases := []struct {
		name    string
		data    []byte
		kinds   []Kind
		wantErr string
	}{
		{"one envelope", env, []Kind{KindDSSE}, ""},
		{"one bundle", bundle, []Kind{KindBundle}, ""},
		{"JSON Lines, envelope then bundle", []byte(string(env) + "\n" + string(bundle) + "\n"), []Kind{KindDSSE, KindBundle}, ""},
		{"empty file", nil, nil, "empty"},
		{"message-signature bundle (a file signature, not an attestation)", []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{}}`), nil, "messageSignature"},
		{"other JSON", []byte(`{"a":1}`), nil, "neither"},
		{"array", []byte(`[1]`), nil, "not a JSON object"},
		{"second line is truncated", []byte(string(env) + "\n" + string(env[:len(env)/2])), nil, "#2"},
		{"duplicate payload key in the envelope", []byte(`{"payloadType":"a","payload":"AA==","payload":"AQ==","signatures":[]}`), nil, "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, err := Split(c.data)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != len(c.kinds) {
				t.Fatalf("got %d items, want %d", len(items), len(c.kinds))
			}
			for i, it := range items {
				if it.Kind != c.kinds[i] {
					t.Errorf("item %d: kind %v, want %v", i, it.Kind, c.kinds[i])
				}
				pt, p, err := UnverifiedPayload(it)
				if err != nil || pt != InTotoPayloadType || string(p) != string(st) {
					t.Errorf("item %d: payload %q %q %v", i, pt, p, err)
				}
			}
		})
	}
}

func TestTooManyItems(t *testing.T) {
	env := envelopeJSON(InTotoPayloadType, []byte("{}"), "c2ln")
	data := []byte(strings.Repeat(string(env)+"\n", MaxItems+1))
	if _, err := Split(data); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("got %v, want a limit error", err)
	}
}

// peerStatement reads the SLSA v0.2 statement GitHub/npm produced for
// sigstore-js 1.3.0.
func peerStatement(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(formatstest.Peers(t), "sigstore-go", "examples", "statement-provenance-sigstorejs1.3.0.json"))
	if err != nil {
		t.Skipf("peer statement not available: %v", err)
	}
	return b
}

func TestPeerStatementV01(t *testing.T) {
	st, err := ParseStatement(InTotoPayloadType, peerStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Version() != "v0.1" || st.PredicateType != SLSAv02 || len(st.Subjects) != 1 || st.Subjects[0].Name != "pkg:npm/sigstore@1.3.0" {
		t.Fatalf("parsed %+v", st)
	}
	if !strings.HasPrefix(st.Subjects[0].Digest["sha512"], "76176ffa") {
		t.Fatalf("digest %v", st.Subjects[0].Digest)
	}
}

func TestReadFileLimits(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("folder: %v", err)
	}
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk used, but the size says 32 MiB + 1.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Skip("cannot make a sparse file here")
	}
	f.Close()
	if _, err := ReadFile(big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("oversized file: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file read")
	}
}
