package attest

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/internal/jsonx"
)

// Limits on what is read. Each stops a resource-exhaustion input: a file
// or nesting large enough to exhaust memory or stack before any signature
// is checked.
const (
	// MaxFileSize caps an attestation file (bundles with long certificate
	// chains and big SBOM predicates are a few MB at most).
	MaxFileSize = 32 << 20
	// MaxItems caps the attestations in one JSON Lines file.
	MaxItems = 1024
	// MaxSubjects caps the subjects of one statement (one per model file
	// is the most a real pipeline writes).
	MaxSubjects = 100000
)

// decodeStrict reads a signed document (statement, predicate, envelope,
// layout, link) with the project's one strict JSON reader: keys matched
// exactly (a key that case-folds to a known field, "reſources" or
// "runDetailſ", is refused, since Go's encoding/json would read it as
// that field and Python's json would not), no duplicate keys, valid UTF-8,
// the JSON type each field needs, nothing after the document.
func decodeStrict(data []byte, v any) error { return jsonx.Decode(data, v) }

// checkStrictJSON checks syntax, duplicates, case-folding twins and UTF-8
// of a document whose shape is checked later (or not at all).
func checkStrictJSON(data []byte) error { return jsonx.Check(data, nil) }

// maxListed caps the items a refusal message lists: a hostile statement
// or link can name hundreds of thousands of files, and a message must
// stay a message.
const maxListed = 20

// joinSome joins up to n items with sep, then says how many more there are.
func joinSome(items []string, sep string, n int) string {
	if len(items) <= n {
		return strings.Join(items, sep)
	}
	return fmt.Sprintf("%s%sand %d more", strings.Join(items[:n], sep), sep, len(items)-n)
}
