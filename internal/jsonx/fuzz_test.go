package jsonx

import (
	"bytes"
	"testing"
)

// FuzzJSON checks that the tree parser and the streaming parser agree on
// what is valid and on the duplicate keys, and never panic.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":{"b":[1,2,{"c":"\u00e9"}]},"a":null}`, `{"x":"\ud83d\ude00","y":-1.5e3}`, `{"a":[[[]]]}`, `{"k":"v"}  `, `{"a":[NaN,-Infinity,"\ud800\u0041"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxDepth: 16}
		_, d1, err1 := Parse(b, lim)
		end, d2, err2 := Stream(b, lim, func(string) bool { return false }, func([]string, []bool, *Value) {}, func(string, int, *Value) {})
		if err2 == nil {
			if rest := bytes.TrimLeft(b[end:], " \t\r\n"); len(rest) > 0 {
				err2 = &Error{end, "trailing"}
			}
		}
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		if len(trimmed) > 0 && trimmed[0] == '{' && (err1 == nil) != (err2 == nil) {
			t.Fatalf("Parse err=%v, Stream err=%v", err1, err2)
		}
		if err1 == nil && err2 == nil && len(d1) != len(d2) {
			t.Fatalf("duplicates differ: %v vs %v", d1, d2)
		}
		// ParsePython only widens the grammar: whatever Parse accepts it
		// accepts, with the same duplicate keys.
		if _, d3, err3 := ParsePython(b, lim); err1 == nil && (err3 != nil || len(d3) != len(d1)) {
			t.Fatalf("Parse accepted, ParsePython err=%v dups %v vs %v", err3, d3, d1)
		}
	})
}
