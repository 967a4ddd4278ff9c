package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	ita "github.com/in-toto/attestation/go/v1"
)

// Statement type URIs this package reads.
const (
	StatementV01 = "https://in-toto.io/Statement/v0.1"
	StatementV1  = ita.StatementTypeUri // "https://in-toto.io/Statement/v1"
)

// Subject is one artifact a statement is about.
type Subject struct {
	Name   string
	Digest map[string]string // algorithm -> lower-case hex
}

// Statement is a parsed, validated in-toto statement.
type Statement struct {
	Type          string // StatementV01 or StatementV1
	PredicateType string
	Subjects      []Subject
	// Predicate is the predicate object as JSON (strict: no duplicate
	// keys, bounded depth), for the predicate-specific readers.
	Predicate json.RawMessage
}

// inTotoStatement is an in-toto statement (v0.1 and v1 share these
// fields) with the resource-descriptor fields of its subjects.
type inTotoStatement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// ParseStatement reads an in-toto Statement v0.1 or v1 from a DSSE
// payload. Anything else is refused: an unknown statement type could
// carry a subject field that means something else.
func ParseStatement(payloadType string, payload []byte) (*Statement, error) {
	if payloadType != InTotoPayloadType {
		return nil, fmt.Errorf("the envelope's payloadType is %q, not an in-toto statement (%s)", payloadType, InTotoPayloadType)
	}
	if len(payload) > MaxFileSize {
		return nil, fmt.Errorf("the statement is %d bytes, more than %d", len(payload), MaxFileSize)
	}
	// One strict reading (see decodeStrict); protojson is not used: it
	// also accepts the proto field names ("predicate_type"), which
	// Python's json and this package would not read.
	var head inTotoStatement
	if err := decodeStrict(payload, &head); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if head.Type != StatementV01 && head.Type != StatementV1 {
		return nil, fmt.Errorf("statement _type %q is not an in-toto Statement v0.1 or v1", head.Type)
	}
	if len(head.Subject) == 0 {
		return nil, errors.New("statement: the statement has no subject")
	}
	if len(head.Subject) > MaxSubjects {
		return nil, fmt.Errorf("statement has %d subjects, more than %d", len(head.Subject), MaxSubjects)
	}
	if head.PredicateType == "" {
		return nil, errors.New("statement: predicateType is required")
	}
	out := &Statement{Type: head.Type, PredicateType: head.PredicateType, Predicate: head.Predicate}
	for i, rd := range head.Subject {
		// in-toto's own rules for a resource descriptor (hex digests of
		// the right length for the algorithms it knows).
		if err := (&ita.ResourceDescriptor{Name: rd.Name, Uri: rd.URI, Digest: rd.Digest}).Validate(); err != nil {
			return nil, fmt.Errorf("statement subject #%d (%q): %v", i+1, rd.Name, err)
		}
		if len(rd.Digest) == 0 {
			return nil, fmt.Errorf("statement subject #%d (%q) has no digest", i+1, rd.Name)
		}
		s := Subject{Name: rd.Name, Digest: map[string]string{}}
		for alg, h := range rd.Digest {
			if h == "" {
				return nil, fmt.Errorf("statement subject #%d (%q): empty %s digest", i+1, s.Name, alg)
			}
			s.Digest[alg] = strings.ToLower(h)
		}
		out.Subjects = append(out.Subjects, s)
	}
	if p := bytes.TrimLeft(out.Predicate, " \t\r\n"); len(p) > 0 && p[0] != '{' && string(p) != "null" {
		return nil, errors.New("statement: the predicate is not a JSON object")
	}
	if len(out.Predicate) == 0 || string(out.Predicate) == "null" {
		return nil, errors.New("statement has no predicate")
	}
	return out, nil
}

// Version is "v0.1" or "v1".
func (s *Statement) Version() string {
	return strings.TrimPrefix(s.Type, "https://in-toto.io/Statement/")
}

// SubjectNames renders the subjects for messages: "name (sha256:...)".
func (s *Statement) SubjectNames() string {
	var parts []string
	for i, sub := range s.Subjects {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(s.Subjects)-5))
			break
		}
		n := sub.Name
		if n == "" {
			n = "(unnamed)"
		}
		parts = append(parts, n+" ("+formatDigestSet(sub.Digest)+")")
	}
	return strings.Join(parts, "; ")
}

// cleanSubjectName turns a subject name into a slash path relative to the
// model folder, or "" when it cannot name a file inside it (absolute,
// escaping, Windows drive or backslash forms: a subject such as
// "..\\..\\x" must never match a file by accident of normalization).
func cleanSubjectName(n string) string {
	if n == "" || strings.ContainsAny(n, "\\\x00") || strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return ""
	}
	c := path.Clean(n)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return ""
	}
	return c
}
