package jsonx

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	ok := []string{`{}`, `[]`, `{"a":[1,-0.5e+3,true,false,null,"x\u00e9\ud83d\ude00"]}`, " \n{\"a\" : {\"b\":\"c\"}}\t"}
	for _, s := range ok {
		if _, _, err := Parse([]byte(s), Limits{}); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := map[string]string{
		"trailing comma":     `{"a":1,}`,
		"leading zero":       `{"a":01}`,
		"bare fraction":      `{"a":.5}`,
		"single quotes":      `{'a':1}`,
		"control char":       "{\"a\":\"x\ny\"}",
		"invalid utf8":       "{\"a\xff\":1}",
		"lone surrogate":     `{"a":"\ud800"}`,
		"low surrogate only": `{"a":"\udc00"}`,
		"bad escape":         `{"a":"\q"}`,
		"two values":         `{} {}`,
		"NaN":                `{"a":NaN}`,
		"too deep":           strings.Repeat("[", 100) + strings.Repeat("]", 100),
		"unterminated":       `{"a":"x`,
	}
	for name, s := range bad {
		if _, _, err := Parse([]byte(s), Limits{MaxDepth: 64}); err == nil {
			t.Errorf("%s: %q accepted", name, s)
		}
	}
}

func TestDuplicates(t *testing.T) {
	_, dups, err := Parse([]byte(`{"a":1,"b":{"c":1,"c":2},"a":3,"d":[{"e":1,"e":1}]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/b c", " a", "/d/0 e"}
	if len(dups) != len(want) {
		t.Fatalf("dups %+v", dups)
	}
	for i, d := range dups {
		if d.Path+" "+d.Key != want[i] {
			t.Errorf("dup %d = %q %q, want %q", i, d.Path, d.Key, want[i])
		}
	}
}

func TestUint(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "18446744073709551615": true, "18446744073709551616": false, "-1": false, "1.0": false, "1e3": false} {
		v, _, err := Parse([]byte(s), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := Uint(v); ok != want {
			t.Errorf("Uint(%s) ok=%v", s, ok)
		}
	}
}
