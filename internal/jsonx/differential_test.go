package jsonx_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ita "github.com/in-toto/attestation/go/v1"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/modelvet/modelvet/attest"
	"github.com/modelvet/modelvet/verify"
)

// TestDifferentialAgainstPython reads the fixtures made by
// testdata/differential/gen.py with Python's json. For each trick it shows
// that encoding/json on its own reads something other than Python does
// from the same bytes (so the trick is real), and that modelvet's reader
// of that document refuses it, naming the trick.
func TestDifferentialAgainstPython(t *testing.T) {
	dir := filepath.Join("testdata", "differential")
	var cases []struct {
		Name   string `json:"name"`
		File   string `json:"file"`
		Python struct {
			Reads map[string]any `json:"reads"`
			Error string         `json:"error"`
		} `json:"python"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	type omsDoc struct {
		Predicate struct {
			Serialization struct {
				ShardSize json.Number `json:"shard_size"`
			} `json:"serialization"`
			Resources []struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
			} `json:"resources"`
		} `json:"predicate"`
	}
	// goReads is what the Go readers alone (encoding/json; protojson, which
	// read in-toto statements before) read, in the projection the
	// script recorded for Python (nil when it refuses the bytes).
	goReads := map[string]func([]byte) map[string]any{
		"fold-long-s-resources": func(b []byte) map[string]any {
			var d omsDoc
			if json.Unmarshal(b, &d) != nil || len(d.Predicate.Resources) == 0 {
				return nil
			}
			r := d.Predicate.Resources[0]
			return map[string]any{"name": r.Name, "digest": r.Digest}
		},
		"ascii-case-resources": func(b []byte) map[string]any {
			var d omsDoc
			if json.Unmarshal(b, &d) != nil {
				return nil
			}
			return map[string]any{"has_resources": len(d.Predicate.Resources) > 0}
		},
		"kelvin-sign-key": func(b []byte) map[string]any {
			var d struct {
				Signatures []struct {
					KeyID *string `json:"keyid"`
				} `json:"signatures"`
			}
			if json.Unmarshal(b, &d) != nil || len(d.Signatures) == 0 || d.Signatures[0].KeyID == nil {
				return map[string]any{"keyid": nil}
			}
			return map[string]any{"keyid": *d.Signatures[0].KeyID}
		},
		"invalid-utf8-name": func(b []byte) map[string]any {
			var d omsDoc
			if json.Unmarshal(b, &d) != nil || len(d.Predicate.Resources) == 0 {
				return nil
			}
			r := d.Predicate.Resources[0]
			return map[string]any{"name": r.Name, "digest": r.Digest}
		},
		"lone-surrogate-name": func(b []byte) map[string]any {
			var d omsDoc
			if json.Unmarshal(b, &d) != nil || len(d.Predicate.Resources) == 0 {
				return nil
			}
			var cps []any
			for _, r := range d.Predicate.Resources[0].Name {
				cps = append(cps, float64(r))
			}
			return map[string]any{"name_codepoints": cps}
		},
		"shard-size-string": func(b []byte) map[string]any {
			var d omsDoc
			if json.Unmarshal(b, &d) != nil {
				return nil
			}
			if _, err := d.Predicate.Serialization.ShardSize.Int64(); err == nil {
				return map[string]any{"shard_size_type": "int"}
			}
			return map[string]any{"shard_size_type": "str"}
		},
		"proto-name-predicate-type": func(b []byte) map[string]any {
			// protojson, the reader of in-toto statements before this one.
			var st ita.Statement
			if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &st) != nil {
				return nil
			}
			return map[string]any{"predicateType": st.GetPredicateType()}
		},
		"fold-long-s-slsa-run-details": func(b []byte) map[string]any {
			var d struct {
				Predicate slsa1.ProvenancePredicate `json:"predicate"`
			}
			if json.Unmarshal(b, &d) != nil {
				return nil
			}
			return map[string]any{"builder": d.Predicate.RunDetails.Builder.ID}
		},
	}
	// refused is modelvet's reading of the document, and what its error
	// must say.
	key := writeKey(t)
	refusal := map[string]struct {
		read func([]byte) error
		want string
	}{
		"fold-long-s-resources":        {omsStatement, `"resources" and "reſources" ("re\u017fources") differ only by case`},
		"ascii-case-resources":         {omsStatement, `"Resources" differs from "resources" only by case`},
		"kelvin-sign-key":              {func(b []byte) error { _, err := verify.VerifyDSSE(b, verify.TrustOptions{KeyPath: key}); return err }, `differs from "keyid" only by case`},
		"duplicate-resources":          {omsStatement, `duplicate key "resources"`},
		"invalid-utf8-name":            {omsStatement, "invalid UTF-8"},
		"lone-surrogate-name":          {omsStatement, "unpaired UTF-16 surrogate"},
		"shard-size-string":            {omsStatement, "a string where the document format has a number"},
		"proto-name-predicate-type":    {inTotoStatement, "predicateType is required"},
		"fold-long-s-slsa-run-details": {slsaStatement, `"runDetails" and "runDetailſ" ("runDetail\u017f") differ only by case`},
	}
	if len(cases) != len(refusal) {
		t.Fatalf("cases.json has %d cases, the test knows %d: regenerate or update both", len(cases), len(refusal))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			if g := goReads[c.Name]; g != nil {
				got := g(data)
				py, _ := json.Marshal(c.Python.Reads)
				gj, _ := json.Marshal(got)
				switch {
				case c.Python.Error != "" && got == nil:
					t.Fatalf("both Python (%s) and encoding/json refuse: not a differential", c.Python.Error)
				case c.Python.Error == "" && string(py) == string(gj):
					t.Fatalf("encoding/json reads what Python reads (%s): not a differential", py)
				}
				t.Logf("Python reads %s %s; the Go reader without the strict check (encoding/json, or protojson) reads %s", py, c.Python.Error, gj)
			}
			r, ok := refusal[c.Name]
			if !ok {
				t.Fatalf("no modelvet reader for case %q", c.Name)
			}
			err = r.read(data)
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("modelvet: %v, want a refusal mentioning %q", err, r.want)
			}
			t.Logf("modelvet: %v", err)
		})
	}
}

func omsStatement(b []byte) error {
	_, err := verify.ParseStatement(verify.InTotoPayloadType, b)
	return err
}

func inTotoStatement(b []byte) error {
	_, err := attest.ParseStatement(attest.InTotoPayloadType, b)
	return err
}

func slsaStatement(b []byte) error {
	st, err := attest.ParseStatement(attest.InTotoPayloadType, b)
	if err != nil {
		return err
	}
	_, err = attest.ParseProvenance(st)
	return err
}

func writeKey(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	p := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
