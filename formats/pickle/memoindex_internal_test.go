package pickle

import "testing"

// TestParsePyIndex: protocol 0 GET/PUT indexes read as CPython's
// PyLong_FromString(s, NULL, 10) reads them.
func TestParsePyIndex(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"10", 10, true},
		{"1_0", 10, true},                     // PEP 515 underscores
		{"+1_0", 10, true},                    // a sign
		{" 3\r", 3, true},                     // surrounding whitespace
		{"-0", 0, true},                       // negative zero is zero
		{"-1", 0, false},                      // negative: refused by both unpicklers
		{"1__0", 0, false},                    // double underscore
		{"_1", 0, false},                      // leading underscore
		{"1_", 0, false},                      // trailing underscore
		{"0x10", 0, false},                    // base 10 only
		{"", 0, false},                        // empty
		{"99999999999999999999999", 0, false}, // past uint64
	} {
		got, ok := parsePyIndex([]byte(c.in))
		if ok != c.ok || ok && got != c.want {
			t.Errorf("parsePyIndex(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
