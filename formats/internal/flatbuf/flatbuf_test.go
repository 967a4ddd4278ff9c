package flatbuf

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	data := Build("TFL3", T{uint32(3), []T{{int8(0), "FlexReadFile", uint32(1), uint32(32)}}, nil, "desc", nil, nil, nil, nil, uint64(7)})
	b := &Buf{R: bytes.NewReader(data), Size: int64(len(data))}
	root, err := b.Root()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := root.Uint32(0, 0); v != 3 {
		t.Errorf("version %d", v)
	}
	if s, _, _ := root.String(3, 100); s != "desc" {
		t.Errorf("description %q", s)
	}
	if v, _ := root.Uint64(8, 0); v != 7 {
		t.Errorf("u64 %d", v)
	}
	n := 0
	err = root.Tables(1, func(_ int, e Table) error {
		n++
		s, _, err := e.String(1, 100)
		if s != "FlexReadFile" {
			t.Errorf("custom code %q", s)
		}
		return err
	})
	if err != nil || n != 1 {
		t.Fatal(err, n)
	}
	// Every offset is checked: a cut buffer errors, never panics.
	for i := range data {
		c := &Buf{R: bytes.NewReader(data[:i]), Size: int64(i)}
		if r, err := c.Root(); err == nil {
			_ = r.Tables(1, func(int, Table) error { return nil })
		}
	}
}
