package verify

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
)

// Statement and predicate identifiers of OMS.
const (
	InTotoPayloadType  = "application/vnd.in-toto+json"
	StatementTypeV1    = "https://in-toto.io/Statement/v1"
	PredicateTypeV1    = "https://model_signing/signature/v1.0"
	PredicateTypeV0_2  = "https://model_signing/Digests/v0.1" // written by model_signing v0.2.0
	compatModelName    = "compat-undefined-not-present"
	maxResources       = 10_000_000
	maxResourceNameLen = 4096
)

// Signed is what a verified model signature claims: the model's name and
// root digest, how it was serialized, and every resource's digest.
type Signed struct {
	PredicateType string     `json:"predicate_type"`
	ModelName     string     `json:"model_name"`
	RootDigest    string     `json:"root_digest,omitempty"` // hex SHA-256 (empty for v0.2 signatures, which have none)
	Method        string     `json:"method"`
	HashType      string     `json:"hash_type"`
	ShardSize     int64      `json:"shard_size,omitempty"`
	AllowSymlinks bool       `json:"allow_symlinks"`
	IgnorePaths   []string   `json:"ignore_paths,omitempty"`
	Resources     []Resource `json:"resources"`
}

type stmtJSON struct {
	Type          string          `json:"_type"`
	Subject       []subjectJSON   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type predicateJSON struct {
	Serialization *struct {
		Method        string      `json:"method"`
		HashType      string      `json:"hash_type"`
		AllowSymlinks *bool       `json:"allow_symlinks"`
		ShardSize     json.Number `json:"shard_size"`
		IgnorePaths   []string    `json:"ignore_paths"`
	} `json:"serialization"`
	Resources []struct {
		Name      *string `json:"name"`
		Algorithm string  `json:"algorithm"`
		Digest    string  `json:"digest"`
	} `json:"resources"`
}

// ParseStatement reads the payload of a verified envelope as an OMS
// statement and checks that it is self-consistent: one subject whose
// digest is the root digest of the listed resources, a known
// serialization, well-formed resource names and digests. Everything that
// does not fit is refused (fail closed): a verifier that guessed could be
// led to check less than the signer signed.
func ParseStatement(payloadType string, payload []byte) (*Signed, error) {
	if payloadType != InTotoPayloadType {
		return nil, fmt.Errorf("DSSE payload type is %q, want %q", payloadType, InTotoPayloadType)
	}
	var st stmtJSON
	if err := strictJSON(payload, &st); err != nil {
		return nil, fmt.Errorf("signed statement: %v", err)
	}
	if st.Type != StatementTypeV1 {
		return nil, fmt.Errorf("statement type is %q, want %q", st.Type, StatementTypeV1)
	}
	switch st.PredicateType {
	case PredicateTypeV1:
		return parseV1(&st)
	case PredicateTypeV0_2:
		return parseV02(&st)
	}
	return nil, fmt.Errorf("predicate type is %q, want %q (or the v0.2 %q)", st.PredicateType, PredicateTypeV1, PredicateTypeV0_2)
}

func parseV1(st *stmtJSON) (*Signed, error) {
	if len(st.Subject) != 1 {
		return nil, fmt.Errorf("statement has %d subjects; an OMS v1.0 signature has exactly one (the model)", len(st.Subject))
	}
	sub := st.Subject[0]
	want := strings.ToLower(sub.Digest["sha256"])
	if !isHexDigest(want, 32) {
		return nil, fmt.Errorf("subject %q has no valid sha256 digest", sub.Name)
	}
	if len(st.Predicate) == 0 || string(st.Predicate) == "null" {
		return nil, errors.New("statement has no predicate")
	}
	var p predicateJSON
	if err := strictJSON(st.Predicate, &p); err != nil {
		return nil, fmt.Errorf("predicate: %v", err)
	}
	if p.Serialization == nil {
		return nil, errors.New("predicate has no serialization section")
	}
	ser := p.Serialization
	s := &Signed{PredicateType: PredicateTypeV1, ModelName: sub.Name, RootDigest: want, Method: ser.Method, HashType: ser.HashType}
	if ser.AllowSymlinks == nil {
		return nil, errors.New("serialization does not say whether symlinks were allowed (allow_symlinks)")
	}
	s.AllowSymlinks = *ser.AllowSymlinks
	if ser.HashType != "sha256" {
		return nil, fmt.Errorf("serialization hash type %q is not supported (want sha256)", ser.HashType)
	}
	switch ser.Method {
	case MethodFiles:
	case MethodShards:
		f, err := strconv.ParseFloat(string(ser.ShardSize), 64)
		if err != nil || f <= 0 || f != math.Trunc(f) || f > 1<<53 {
			return nil, fmt.Errorf("shard serialization with invalid shard_size %q", ser.ShardSize)
		}
		s.ShardSize = int64(f)
	default:
		return nil, fmt.Errorf("unknown serialization method %q (want files or shards)", ser.Method)
	}
	for _, ig := range ser.IgnorePaths {
		s.IgnorePaths = append(s.IgnorePaths, ig)
	}
	if len(p.Resources) == 0 {
		return nil, errors.New("signature lists no resources: it covers no file")
	}
	if len(p.Resources) > maxResources {
		return nil, fmt.Errorf("signature lists %d resources, more than %d", len(p.Resources), maxResources)
	}
	seen := make(map[string]bool, len(p.Resources))
	for i, r := range p.Resources {
		if r.Name == nil {
			return nil, fmt.Errorf("resource %d has no name", i)
		}
		name := *r.Name
		if r.Algorithm != ser.HashType && r.Algorithm != ShardAlgorithm(ser.HashType, s.ShardSize) {
			want := fmt.Sprintf("%q", ser.HashType)
			if s.Method == MethodShards {
				want = fmt.Sprintf("%q or %q", ser.HashType, ShardAlgorithm(ser.HashType, s.ShardSize))
			}
			return nil, fmt.Errorf("resource %q: algorithm %q is not the serialization's %s", name, r.Algorithm, want)
		}
		d := strings.ToLower(r.Digest)
		if !isHexDigest(d, 32) {
			return nil, fmt.Errorf("resource %q: digest %q is not a hex SHA-256", name, r.Digest)
		}
		if err := checkResourceName(name, s.Method, s.ShardSize, len(p.Resources)); err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("resource %q is listed twice", name)
		}
		seen[name] = true
		s.Resources = append(s.Resources, Resource{Name: name, Algorithm: r.Algorithm, Digest: d})
	}
	if got := rootDigest(s.Resources); got != want {
		return nil, fmt.Errorf("signature is inconsistent: its subject digest is %s but its resources hash to %s", want, got)
	}
	return s, nil
}

// parseV02 reads model_signing v0.2.0 statements: one subject per file,
// no root digest, files serialization with sha256 and no symlinks.
func parseV02(st *stmtJSON) (*Signed, error) {
	if len(st.Subject) == 0 {
		return nil, errors.New("v0.2 statement has no subjects: it covers no file")
	}
	s := &Signed{PredicateType: PredicateTypeV0_2, ModelName: compatModelName, Method: MethodFiles, HashType: "sha256"}
	seen := map[string]bool{}
	for _, sub := range st.Subject {
		d := strings.ToLower(sub.Digest["sha256"])
		if !isHexDigest(d, 32) {
			return nil, fmt.Errorf("subject %q has no valid sha256 digest", sub.Name)
		}
		if err := checkResourceName(sub.Name, MethodFiles, 0, len(st.Subject)); err != nil {
			return nil, err
		}
		if seen[sub.Name] {
			return nil, fmt.Errorf("subject %q is listed twice", sub.Name)
		}
		seen[sub.Name] = true
		s.Resources = append(s.Resources, Resource{Name: sub.Name, Algorithm: "sha256", Digest: d})
	}
	return s, nil
}

// ShardAlgorithm is the algorithm name model_signing gives each shard
// resource ("sha256-sharded-1000000000"): its ShardedFileHasher names its
// digests after the hash and the shard size, while the serialization's
// hash_type stays "sha256". OMS v1.0 (6.3.2) and its schema say the
// algorithm is the hash_type; signatures of the reference library use
// this name, so both are read. "" for the files method (shardSize 0).
func ShardAlgorithm(hashType string, shardSize int64) string {
	if shardSize <= 0 {
		return ""
	}
	return hashType + "-sharded-" + strconv.FormatInt(shardSize, 10)
}

func isHexDigest(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// checkResourceName refuses names that could point outside the model or
// mean different files on different systems: absolute paths, "..",
// empty or "." components, backslashes (a separator on Windows), drive
// letters, NUL, and on Windows reserved device names. "." alone names a
// single-file model and is allowed only as the sole resource.
func checkResourceName(name, method string, shardSize int64, count int) error {
	path := name
	if method == MethodShards {
		// OMS v1.0 6.3.2: the offsets are the last two colon-separated
		// components (a file name may hold colons).
		p, startS, endS, ok := splitShard(name)
		if !ok {
			return fmt.Errorf("shard resource %q is not path:start:end", name)
		}
		start, err1 := strconv.ParseInt(startS, 10, 64)
		end, err2 := strconv.ParseInt(endS, 10, 64)
		if err1 != nil || err2 != nil || start < 0 || end <= start || end-start > shardSize || start%shardSize != 0 {
			return fmt.Errorf("shard resource %q has invalid offsets for shard size %d", name, shardSize)
		}
		if strconv.FormatInt(start, 10) != startS || strconv.FormatInt(end, 10) != endS {
			// "+0" or "007" name the same range to Python's int() but not
			// to a comparison of names: refused rather than guessed.
			return fmt.Errorf("shard resource %q writes its offsets in a non-canonical form (sign, leading zeros)", name)
		}
		path = p
	}
	if len(name) > maxResourceNameLen {
		return fmt.Errorf("resource name of %d bytes is too long", len(name))
	}
	if path == "." {
		if method == MethodFiles && count != 1 {
			return errors.New(`resource "." (a single-file model) is listed with other resources`)
		}
		return nil
	}
	if path == "" {
		return errors.New("resource with an empty name")
	}
	if strings.ContainsAny(path, "\\\x00") {
		return fmt.Errorf("resource name %q contains a backslash or NUL; names are POSIX paths and this one could escape the model on Windows", name)
	}
	if strings.HasPrefix(path, "/") {
		return fmt.Errorf("resource name %q is an absolute path", name)
	}
	if len(path) >= 2 && path[1] == ':' {
		return fmt.Errorf("resource name %q starts with a drive letter", name)
	}
	for _, c := range strings.Split(path, "/") {
		switch c {
		case "", ".", "..":
			return fmt.Errorf("resource name %q has an empty, '.' or '..' component", name)
		}
		if runtime.GOOS == "windows" && isReservedWindowsName(c) {
			return fmt.Errorf("resource name %q uses a reserved Windows device name", name)
		}
	}
	return nil
}

// splitShard cuts "path:start:end" at its last two colons.
func splitShard(name string) (path, start, end string, ok bool) {
	j := strings.LastIndexByte(name, ':')
	if j < 0 {
		return "", "", "", false
	}
	i := strings.LastIndexByte(name[:j], ':')
	if i < 0 {
		return "", "", "", false
	}
	return name[:i], name[i+1 : j], name[j+1:], true
}

func isReservedWindowsName(c string) bool {
	base := strings.ToUpper(strings.TrimRight(c, " ."))
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9' {
		return true
	}
	return false
}
