package verify

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"

	"golang.org/x/crypto/blake2b"
	"lukechampine.com/blake3"
)

// Hash types of OMS v1.0 resources, spelled as model_signing writes them
// in serialization.hash_type and in each resource's algorithm (the
// digest_name of its hash engine, model_signing/_hashing/memory.py).
// Whatever the hash type, the subject (root) digest stays SHA-256 over
// the raw resource digests (_signing/signing.py).
const (
	HashSHA256  = "sha256"
	HashBLAKE2b = "blake2b" // hashlib.blake2b(): unkeyed, 64-byte digest
	HashBLAKE3  = "blake3"  // blake3.blake3(): unkeyed, 32-byte digest (model_signing >= 1.1.0)
)

type hashType struct {
	size int
	new  func() hash.Hash
}

// hashTypes is the one list of hash types modelvet reads and writes; a
// signature naming any other is refused (a verifier that guessed at an
// unknown algorithm could compare nothing and pass).
var hashTypes = map[string]hashType{
	HashSHA256:  {sha256.Size, sha256.New},
	HashBLAKE2b: {blake2b.Size, newBLAKE2b},
	HashBLAKE3:  {32, func() hash.Hash { return blake3.New(32, nil) }},
}

func newBLAKE2b() hash.Hash {
	h, _ := blake2b.New512(nil) // fails only for a key over 64 bytes
	return h
}

// HashTypes lists the supported hash types, sorted.
func HashTypes() []string {
	out := make([]string, 0, len(hashTypes))
	for k := range hashTypes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookupHashType returns the hash type named t ("" is sha256) or an error
// that names the supported ones.
func lookupHashType(t string) (string, hashType, error) {
	if t == "" {
		t = HashSHA256
	}
	ht, ok := hashTypes[t]
	if !ok {
		hint := ""
		if t == "blake2" {
			// model_signing's hashing_algorithm option says "blake2"; the
			// signature it writes says "blake2b".
			hint = ` (model_signing's option "blake2" writes "blake2b")`
		}
		return t, hashType{}, fmt.Errorf("hash type %q is not supported%s; modelvet supports %s", t, hint, strings.Join(HashTypes(), ", "))
	}
	return t, ht, nil
}

// HashFactory is the one mapping from a hash_type to its hash: it returns
// the canonical name (sha256 for "") and a constructor, or the error
// lookupHashType gives for a type modelvet does not read. Both verify's
// own hashing and the gate's one pass (internal/onepass) build their
// hashes here, so they cannot disagree on what a name means.
func HashFactory(t string) (string, func() hash.Hash, error) {
	name, ht, err := lookupHashType(t)
	if err != nil {
		return name, nil, err
	}
	return name, ht.new, nil
}

// CheckHashType refuses what a signer must not write: an unknown hash
// type, and blake3 with the shards method, which model_signing never
// writes (its use_shard_serialization hashes whole files for blake3), so
// its verifier would rebuild a files manifest and reject the signature.
func CheckHashType(t, method string) error {
	name, _, err := lookupHashType(t)
	if err != nil {
		return err
	}
	if name == HashBLAKE3 && method == MethodShards {
		return errors.New("blake3 with --method shards: the reference tool hashes whole files with blake3 and could not verify such a signature; use --method files")
	}
	return nil
}
