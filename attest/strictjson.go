package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
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
	// MaxDepth caps JSON nesting.
	MaxDepth = 64
	// MaxSubjects caps the subjects of one statement (one per model file
	// is the most a real pipeline writes).
	MaxSubjects = 100000
)

type jsonFrame struct {
	object    bool
	keys      map[string]string // lower-cased key -> key as written
	expectKey bool
	path      string // JSON pointer of this container
	key       string // last key read (objects)
	index     int    // next index (arrays)
}

// checkStrictJSON refuses JSON that two readers could see differently:
// invalid UTF-8 (replaced by U+FFFD in Go, rejected or kept elsewhere),
// duplicate object keys (Go keeps the last, others the first: an attacker
// puts a benign "payload" where a person or another tool looks and a
// hostile one where the verifier looks), keys equal except for case (Go's
// encoding/json matches field names case-insensitively), and nesting
// deeper than MaxDepth (stack exhaustion). It also refuses anything after
// the first value.
func checkStrictJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("JSON is not valid UTF-8 (two readers could decode it differently)")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	done := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 || !done {
				return errors.New("JSON is empty or ends inside an object or array (truncated)")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("invalid JSON near byte %d: %v", dec.InputOffset(), err)
		}
		if done {
			return fmt.Errorf("unexpected data after the JSON value at byte %d", dec.InputOffset())
		}
		var top *jsonFrame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top != nil && top.object && top.expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				done = valueDone(stack)
				continue
			}
			key, _ := tok.(string)
			low := strings.ToLower(key)
			if prev, dup := top.keys[low]; dup {
				if prev == key {
					return fmt.Errorf("JSON object at %q has the key %q twice (readers disagree on which one counts)", pointer(top.path), key)
				}
				return fmt.Errorf("JSON object at %q has keys %q and %q that differ only in case (Go reads both into the same field)", pointer(top.path), prev, key)
			}
			top.keys[low] = key
			top.key = key
			top.expectKey = false
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
			if len(stack) >= MaxDepth {
				return fmt.Errorf("JSON nests deeper than %d levels at %q", MaxDepth, pointer(childPath(top)))
			}
			stack = append(stack, &jsonFrame{object: d == '{', keys: map[string]string{}, expectKey: d == '{', path: childPath(top)})
			continue
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			stack = stack[:len(stack)-1]
		}
		done = valueDone(stack)
	}
}

// valueDone advances the enclosing container past one value and reports
// whether the top-level value is complete.
func valueDone(stack []*jsonFrame) bool {
	if len(stack) == 0 {
		return true
	}
	top := stack[len(stack)-1]
	if top.object {
		top.expectKey = true
	} else {
		top.index++
	}
	return false
}

func childPath(f *jsonFrame) string {
	if f == nil {
		return ""
	}
	if f.object {
		return f.path + "/" + strings.ReplaceAll(strings.ReplaceAll(f.key, "~", "~0"), "/", "~1")
	}
	return fmt.Sprintf("%s/%d", f.path, f.index)
}

func pointer(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
