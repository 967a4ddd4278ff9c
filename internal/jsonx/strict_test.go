package jsonx

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type strictDoc struct {
	Name      string            `json:"name"`
	Resources []strictRes       `json:"resources"`
	Digest    map[string]string `json:"digest"`
	Size      json.Number       `json:"shard_size"`
	Count     int               `json:"count"`
	Raw       []byte            `json:"rawBytes"`
	Flag      *bool             `json:"allow"`
	When      *time.Time        `json:"when"`
	Any       json.RawMessage   `json:"predicate"`
	Skip      string            `json:"-"`
	KeyID     string            `json:"keyid"`
	strictEmbedded
}

type strictEmbedded struct {
	Inline string `json:"inline"`
}

type strictRes struct {
	Digest string `json:"digest"`
}

func TestDecodeStrict(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string // substring of the error; "" = accepted
	}{
		{"plain document", `{"name":"m","resources":[{"digest":"ab"}],"digest":{"sha256":"x"},"shard_size":1000,"count":2,"rawBytes":"AQI=","allow":true,"when":"2024-01-02T03:04:05Z","predicate":{"x":[1]},"inline":"i"}`, ""},
		{"unknown keys are ignored", `{"name":"m","extra":{"deep":[1,2]}}`, ""},
		{"null where a value is absent", `{"name":null,"resources":null,"allow":null}`, ""},
		// Unicode case folding: Go's decoder fills "resources" from these.
		{"long s folds to s (reſources)", `{"resources":[],"reſources":[{"digest":"x"}]}`, `"resources" and "reſources" ("re\u017fources") differ only by case`},
		{"long s alone", `{"reſources":[{"digest":"x"}]}`, `"reſources" ("re\u017fources") differs from "resources"`},
		{"Kelvin sign folds to k", "{\"\u212aeyid\":\"x\"}", `differs from "keyid"`},
		{"Kelvin sign in a nested struct", `{"resources":[{"digeſt":"b"}]}`, `"digeſt" ("dige\u017ft") differs from "digest"`},
		{"ASCII case twin of a field", `{"Name":"x"}`, `"Name" differs from "name"`},
		{"embedded field case twin", `{"INLINE":"x"}`, `"INLINE" differs from "inline"`},
		{"case twins in a map", `{"digest":{"sha256":"a","SHA256":"b"}}`, "differ only by case"},
		{"Kelvin twin in a map", "{\"digest\":{\"k\":\"a\",\"\u212a\":\"b\"}}", "differ only by case"},
		{"case twins under a raw message", `{"predicate":{"builder":1,"Builder":2}}`, "differ only by case"},
		{"duplicate key", `{"name":"a","name":"b"}`, "duplicate key"},
		{"duplicate key deep in raw message", `{"predicate":{"a":{"b":1,"b":2}}}`, "duplicate key"},
		{"invalid UTF-8 in a value", "{\"name\":\"w\xff.bin\"}", "invalid UTF-8"},
		{"invalid UTF-8 in a key", "{\"n\xffame\":\"w\"}", "invalid UTF-8"},
		{"lone surrogate", `{"name":"w\ud800.bin"}`, "surrogate"},
		{"number as a string (json.Number)", `{"shard_size":"1000"}`, "a string where the document format has a number"},
		{"number as a string (int)", `{"count":"2"}`, "a string where"},
		{"string as a number", `{"name":5}`, "a number where"},
		{"bytes as an array", `{"rawBytes":[1,2]}`, "an array where"},
		{"bool as a string", `{"allow":"true"}`, "a string where"},
		{"time as a number", `{"when":1}`, "a number where"},
		{"garbage where a string is meant", `{"name":x}`, "unexpected 'x'"},
		{"trailing data", `{"name":"a"} {"name":"b"}`, "after the end"},
		{"truncated", `{"name":"a"`, "expected ',' or '}'"},
		{"deep nesting", `{"predicate":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nested deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d strictDoc
			err := Decode([]byte(c.in), &d)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// TestDecodeFillsWhatItChecked guards the pairing: a document Decode
// accepts is read by encoding/json into the same fields.
func TestDecodeFillsWhatItChecked(t *testing.T) {
	var d strictDoc
	if err := Decode([]byte(`{"name":"m","shard_size":7,"inline":"i","rawBytes":"AQI="}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "m" || d.Size != "7" || d.Inline != "i" || string(d.Raw) != "\x01\x02" {
		t.Fatalf("decoded %+v", d)
	}
}

func TestFoldKeyMatchesEqualFold(t *testing.T) {
	pairs := [][2]string{{"resources", "reſources"}, {"k", "\u212a"}, {"Digest", "digest"}, {"ß", "ẞ"}, {"abc", "abd"}, {"σ", "ς"}}
	for _, p := range pairs {
		if (foldKey(p[0]) == foldKey(p[1])) != strings.EqualFold(p[0], p[1]) {
			t.Errorf("foldKey(%q)=%q foldKey(%q)=%q disagree with EqualFold", p[0], foldKey(p[0]), p[1], foldKey(p[1]))
		}
	}
}

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"name":"m","resources":[{"digest":"ab"}],"shard_size":3}`, `{"reſources":[]}`, `{"digest":{"a":"b","A":"c"}}`, `{"predicate":{"x":[1,{"y":null}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d strictDoc
		if Decode(b, &d) != nil {
			return
		}
		// Whatever Decode accepts is valid JSON without duplicate keys for
		// the tree parser too.
		if _, dups, err := Parse(b, Limits{MaxDepth: maxStrictDepth + 1}); err != nil || len(dups) > 0 {
			t.Fatalf("Decode accepted what Parse refuses: %v %v", err, dups)
		}
	})
}

// manifestLike is a signed statement's shape: 20,000 resources.
func manifestLike() []byte {
	var sb strings.Builder
	sb.WriteString(`{"name":"m","resources":[`)
	for i := 0; i < 20000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"digest":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","name":"model-00001-of-00002.safetensors:0:1000000000"}`)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// BenchmarkDecodeStrict is the validation plus encoding/json's decoding.
func BenchmarkDecodeStrict(b *testing.B) {
	data := manifestLike()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var d strictDoc
		if err := Decode(data, &d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckStrict is the validation alone.
func BenchmarkCheckStrict(b *testing.B) {
	data := manifestLike()
	t := reflect.TypeFor[strictDoc]()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Check(data, t); err != nil {
			b.Fatal(err)
		}
	}
}
