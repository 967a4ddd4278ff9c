package jsonx

import (
	"bytes"
	"testing"
)

// FuzzJSON checks that the tree parser and the streaming parser agree on
// what is valid and on the duplicate keys, and never panic.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":{"b":[1,2,{"c":"\u00e9"}]},"a":null}`, `{"x":"\ud83d\ude00","y":-1.5e3}`, `{"a":[[[]]]}`, `{"k":"v"}  `} {
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
	})
}
