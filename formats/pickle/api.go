package pickle

// The API other packages rely on. The implementation lives in the other
// files of this package.

import (
	"io"

	"github.com/modelvet/modelvet/formats"
)

// Verdict is what the import policy says of one global.
type Verdict int

const (
	Safe Verdict = iota
	Unknown
	Dangerous
)

// Global is a callable or class a pickle names.
type Global struct {
	Module, Name string
	Offset       int64
	Verdict      Verdict
}

// PersistentID is a persistent id the pickle hands to its loader (PyTorch
// uses them to name tensor storages). Value holds the literal the pickle
// built: strings, int64s, []any for tuples, Global for class references;
// nil for what is not a literal.
type PersistentID struct {
	Offset int64
	Value  any
}

// Result describes one pickle stream.
type Result struct {
	Protocol      int   // highest PROTO seen
	Pickles       int   // complete pickles (STOP reached)
	End           int64 // offset just past the last STOP
	FirstEnd      int64 // offset just past the first STOP (all a one-pickle loader reads)
	Ops           int64 // opcodes executed (each consumes at least one byte)
	Globals       []Global
	PersistentIDs []PersistentID
}

// Scan reads the pickle stream in r[0:size] as opcodes, reports findings
// to s and returns what it saw. It never imports or calls anything.
func Scan(s *formats.Scope, r io.ReaderAt, size int64) *Result { return scan(s, r, size) }

// Classify applies the import policy (built-in tables, the profile and the
// user's allow list) to one global.
func Classify(module, name string, opts *formats.Options) Verdict {
	return classify(module, name, opts)
}
