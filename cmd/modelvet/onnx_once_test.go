package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/policy"
)

// bigONNX returns the external-data fixture model (MatMul with W in
// weights.bin) with a 2 MiB inline initializer added to its graph: larger
// than what the one pass keeps for late readers, so a second reader of it
// would open and hash it again.
func bigONNX(t *testing.T) []byte {
	t.Helper()
	small, err := os.ReadFile(filepath.Join("..", "..", "formats", "onnx", "testdata", "external_ok", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var init []byte
	init = protowire.AppendTag(init, 1, protowire.VarintType) // dims
	init = protowire.AppendVarint(init, 512<<10)
	init = protowire.AppendTag(init, 2, protowire.VarintType) // data_type FLOAT
	init = protowire.AppendVarint(init, 1)
	init = protowire.AppendTag(init, 8, protowire.BytesType) // name
	init = protowire.AppendString(init, "B")
	init = protowire.AppendTag(init, 9, protowire.BytesType) // raw_data
	init = protowire.AppendBytes(init, make([]byte, 2<<20))
	var out []byte
	for b := small; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("fixture model.onnx is not protobuf")
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			t.Fatal("fixture model.onnx is not protobuf")
		}
		if num != 7 { // not the graph: as is
			out = append(out, b[:n+m]...)
			b = b[n+m:]
			continue
		}
		g, _ := protowire.ConsumeBytes(b[n:])
		g = append(append([]byte(nil), g...), protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), init)...) // initializer
		out = protowire.AppendBytes(protowire.AppendTag(out, 7, protowire.BytesType), g)
		b = b[n+m:]
	}
	return out
}

// TestONNXCompanionOpensModelOnce: the sniffer of an external data file
// (weights.bin) reads the ONNX models beside it for the files they name.
// When the model's own scan has finished by then, that lookup must use what
// the scan learnt, not open the model again (a second open and a second
// hashing pass of a large file, and a second view of it the verdict could
// rest on).
func TestONNXCompanionOpensModelOnce(t *testing.T) {
	model, pol, _, _ := swapModel(t, true)
	os.Remove(filepath.Join(model, "pytorch_model.bin"))
	os.WriteFile(filepath.Join(model, "model.onnx"), bigONNX(t), 0o644)
	w, err := os.ReadFile(filepath.Join("..", "..", "formats", "onnx", "testdata", "external_ok", "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(model, "weights.bin"), w, 0o644)
	for range 5 { // the walk's workers order the two scans differently each time
		g := gateFor(t, pol)
		opens := countOpens(g)
		rep, err := g.Check(context.Background(), model)
		if err != nil {
			t.Fatal(err)
		}
		wantOpenedOnce(t, opens, "model.onnx", "weights.bin")
		formatOf := map[string]string{}
		for _, f := range rep.Files {
			formatOf[filepath.Base(f.Path)] = f.Format
		}
		if formatOf["weights.bin"] != "onnx-external-data" {
			t.Fatalf("weights.bin read as %q, not as the model's external data", formatOf["weights.bin"])
		}
		// Changed after signing: the signature alone rejects it.
		for _, r := range rep.Reasons {
			if r.Rule != policy.RuleSignature {
				t.Errorf("unexpected reason %+v", r)
			}
		}
	}
}
