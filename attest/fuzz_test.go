package attest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to every reader that runs before a
// signature is checked or on a signed payload: the file splitter, the
// envelope/bundle payload extraction, the statement parser, the SLSA
// readers, binding and requirement checks. It asserts no panic and
// bounded time per input.
func FuzzParse(f *testing.F) {
	pred := mustJSON(f, slsaV1Predicate("https://b@v1", "https://github.com/o/r", "refs/heads/main", "1111111111111111111111111111111111111111",
		map[string]any{"uri": "hf://base", "digest": map[string]string{"sha256": hexB}}))
	var p map[string]any
	json.Unmarshal(pred, &p)
	v1 := statementJSON(f, StatementV1, SLSAv1, p, [2]string{"model", hexA})
	f.Add(v1)
	f.Add(statementJSON(f, StatementV01, SLSAv02, map[string]any{"builder": map[string]any{"id": "x"}, "materials": []any{map[string]any{"uri": "git+https://a@b"}}}, [2]string{"config.json", hexC}))
	env := envelopeJSON(InTotoPayloadType, v1, "c2ln", "AAAA")
	f.Add(env)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":` + string(env) + "}\n" + string(env)))
	f.Add([]byte(`{"a":{"b":[1,2,{"c":"d","C":1}]}}`))
	{
		peers := filepath.Join("..", "..", "shared", "peers", "sigstore-go", "examples")
		for _, n := range []string{"bundle-provenance.json", "statement-provenance-sigstorejs1.3.0.json", "bundle-publish.json"} {
			if b, err := os.ReadFile(filepath.Join(peers, n)); err == nil {
				f.Add(b)
			}
		}
	}
	model := Model{Root: Digest{"sha256", hexA}, Files: map[string]Digest{"config.json": {"sha256", hexC}}}
	req := Requirements{BuilderID: "https://b", SourceURI: "https://github.com/o/r@refs/heads/main", SourceRevision: "1111", DependencyDigests: []Digest{{"sha256", hexB}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		payloads := [][]byte{data}
		if items, err := Split(data); err == nil {
			for _, it := range items {
				if _, p, err := UnverifiedPayload(it); err == nil {
					payloads = append(payloads, p)
				}
			}
		}
		for _, pl := range payloads {
			st, err := ParseStatement(InTotoPayloadType, pl)
			if err != nil {
				continue
			}
			_ = st.SubjectNames()
			_, _ = Bind(st, model)
			_, _ = BindDigest(st, model.Root)
			if pr, err := ParseProvenance(st); err == nil {
				_ = pr.Claims()
				_ = pr.Check(req)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("input of %d bytes took %v", len(data), d)
		}
	})
}

// BenchmarkParseStatement measures the pre-signature readers on a
// statement with one subject per file of a 10,000-file model.
func BenchmarkParseStatement(b *testing.B) {
	subs := make([][2]string, 10000)
	for i := range subs {
		subs[i] = [2]string{filepath.ToSlash(filepath.Join("shards", "part-"+string(rune('a'+i%26))+"-"+time.Duration(i).String())), hexA}
	}
	pred := mustJSON(b, slsaV1Predicate("https://b@v1", "https://github.com/o/r", "refs/heads/main", "1111111111111111111111111111111111111111"))
	var p map[string]any
	json.Unmarshal(pred, &p)
	st := statementJSON(b, StatementV1, SLSAv1, p, subs...)
	data := envelopeJSON(InTotoPayloadType, st, "c2ln")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		items, err := Split(data)
		if err != nil {
			b.Fatal(err)
		}
		_, pl, _ := UnverifiedPayload(items[0])
		s, err := ParseStatement(InTotoPayloadType, pl)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseProvenance(s); err != nil {
			b.Fatal(err)
		}
	}
}
