package jsonx

import "testing"

func TestParsePython(t *testing.T) {
	cases := []struct {
		name string
		in   string
		ok   bool
		str  string // the string at /a/0, when it is one
	}{
		// json.dumps(float("nan")) and friends: Keras writes these in configs.
		{"non-finite numbers", `{"a":[NaN,Infinity,-Infinity]}`, true, ""},
		{"surrogate pair", `{"a":["\ud83d\ude00"]}`, true, "😀"},
		// Python keeps an unpaired surrogate in a str; here it becomes U+FFFD.
		{"lone high surrogate", `{"a":["x\ud800y"]}`, true, "x\uFFFDy"},
		{"lone low surrogate", `{"a":["\udc00"]}`, true, "\uFFFD"},
		{"high surrogate before a plain escape", `{"a":["\ud800\u0041"]}`, true, "\uFFFDA"},
		{"high surrogate before a bad escape", `{"a":["\ud800\uzzzz"]}`, false, ""},
		// What Python's json refuses stays refused.
		{"lowercase nan", `{"a":nan}`, false, ""},
		{"truncated Infinity", `{"a":Infin}`, false, ""},
		{"leading zero", `{"a":01}`, false, ""},
		{"control character", "{\"a\":\"x\ny\"}", false, ""},
		{"invalid utf8", "{\"a\":\"\xff\"}", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, _, err := ParsePython([]byte(c.in), Limits{})
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.str != "" {
				if got := v.Get("a").Vals[0].Str; got != c.str {
					t.Fatalf("string %q, want %q", got, c.str)
				}
			}
		})
	}
	// Parse itself stays strict.
	for _, s := range []string{`{"a":NaN}`, `{"a":"\ud800"}`} {
		if _, _, err := Parse([]byte(s), Limits{}); err == nil {
			t.Errorf("Parse accepted %q", s)
		}
	}
	if v, _, _ := ParsePython([]byte(`NaN`), Limits{}); v == nil || v.Kind != Number {
		t.Fatalf("NaN is %+v, want a Number", v)
	} else if _, ok := Uint(v); ok {
		t.Fatal("Uint accepted NaN")
	}
}
