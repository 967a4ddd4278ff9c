package report

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestJSONFilesIsAlwaysAnArray: verify and attestation reports scan no
// files; "files" must still be an array ([]), not null, for consumers that
// iterate it (jq '.files[]' fails on null).
func TestJSONFilesIsAlwaysAnArray(t *testing.T) {
	r := &Report{Tool: "modelvet", Version: Version, Verdict: "pass", Sections: []Section{{Name: "signature", OK: true}}}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b.String())
	}
	if got := string(doc["files"]); got != "[]" {
		t.Errorf(`"files" is %s, want []`, got)
	}
	if r.Files != nil {
		t.Error("WriteJSON changed the caller's report")
	}
}
