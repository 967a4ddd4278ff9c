package gguf

import (
	"encoding/binary"
	"testing"

	"github.com/modelvet/modelvet/formats/formatstest"
)

func FuzzGGUF(f *testing.F) {
	f.Add(file(3, binary.LittleEndian, llamaKVs(zephyr), llamaTensors, llamaData))
	f.Add(file(1, binary.LittleEndian, llamaKVs(""), llamaTensors, llamaData))
	f.Add(file(3, binary.BigEndian, llamaKVs(zephyr), llamaTensors, llamaData))
	f.Add(file(3, binary.LittleEndian, llamaKVs("{{ x|attr('__class__') }}"), nil, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := formatstest.ScanBytes(t, "x.gguf", data, nil)
		for _, x := range res.Findings {
			if x.Rule == "formats/analyzer-failure" {
				t.Fatal(x.Message)
			}
		}
		if len(res.Findings) > 200 {
			t.Fatalf("%d findings: unbounded reporting", len(res.Findings))
		}
	})
}
