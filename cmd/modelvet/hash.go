package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/modelvet/modelvet/verify"
)

func init() {
	register(&command{name: "hash", summary: "print a model's OpenSSF model-signing manifest and root digest", run: runHash})
}

func runHash(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("hash", stderr)
	ho := hashFlags(fs)
	ho.addHashType(fs)
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet hash MODEL [--method files|shards] [--shard-size N] [--hash-type sha256|blake2b|blake3] [--ignore-paths P ...]\n\nPrints each file's (or shard's) digest (SHA-256 by default) and the root digest, exactly as OpenSSF model signing computes them.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, code, ok := parseOneArg(fs, args)
	if !ok {
		return code
	}
	o, err := ho.options()
	if err != nil {
		fmt.Fprintln(stderr, "modelvet hash:", err)
		return exitUsage
	}
	if isTerminal(stderr) {
		o.Progress = stderr
	}
	// A signature in the folder is never part of the model, so the root
	// digest printed here is the one a signature of this folder carries.
	o.IgnorePaths = append(o.IgnorePaths, verify.DefaultSignatureName)
	m, err := verify.HashModel(pos[0], o)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet hash:", err)
		return exitUsage
	}
	switch *format {
	case "json":
		out := struct {
			*verify.Manifest
			RootDigest string `json:"root_digest"`
		}{m, "sha256:" + m.RootDigest()}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return exitUsage
		}
	case "text":
		for _, r := range m.Resources {
			fmt.Fprintf(stdout, "%s  %s\n", r.Digest, r.Name)
		}
		fmt.Fprintf(stdout, "root sha256:%s  %s (%s%s, %s, %d bytes)\n", m.RootDigest(), m.ModelName, m.Method, hashTypeNote(m.HashType), plural(len(m.Resources), "resource"), m.Bytes)
	default:
		fmt.Fprintf(stderr, "modelvet hash: --format %q: want text or json\n", *format)
		return exitUsage
	}
	return exitOK
}

// hashSettings are the flags that decide how a model is hashed, shared
// by hash and sign.
type hashSettings struct {
	method        *string
	shardSize     *int64
	ignore        listFlag
	allowSymlinks *bool
	hashType      *string // nil where the command always hashes with sha256 (attest)
}

// addHashType adds --hash-type (hash and sign; an attestation's subject
// and its verifier use sha256 throughout).
func (h *hashSettings) addHashType(fs *flag.FlagSet) {
	h.hashType = fs.String("hash-type", verify.HashSHA256, "hash each file or shard with: "+strings.Join(verify.HashTypes(), ", ")+" (as model_signing writes them; the root digest is sha256 in every case)")
}

func hashFlags(fs *flag.FlagSet) *hashSettings {
	h := &hashSettings{}
	h.method = fs.String("method", "files", "serialization: files (one digest per file) or shards (one per shard)")
	h.shardSize = fs.Int64("shard-size", verify.DefaultShardSize, "shard size in bytes for --method shards")
	fs.Var(&h.ignore, "ignore-paths", "leave this path (relative to the model) out (repeatable); .git, .gitattributes, .github, .gitignore always are")
	h.allowSymlinks = fs.Bool("allow-symlinks", false, "follow symbolic links inside the model (links out of it are always refused)")
	return h
}

func (h *hashSettings) options() (verify.HashOptions, error) {
	o := verify.HashOptions{Method: *h.method, IgnorePaths: h.ignore, AllowSymlinks: *h.allowSymlinks}
	if h.hashType != nil {
		o.HashType = *h.hashType
		if err := verify.CheckHashType(o.HashType, o.Method); err != nil {
			return o, fmt.Errorf("--hash-type: %v", err)
		}
	}
	switch *h.method {
	case verify.MethodFiles:
	case verify.MethodShards:
		if *h.shardSize <= 0 {
			return o, fmt.Errorf("--shard-size %d: must be positive", *h.shardSize)
		}
		o.ShardSize = *h.shardSize
	default:
		return o, fmt.Errorf("--method %q: want files or shards", *h.method)
	}
	return o, nil
}

// hashTypeNote names a hash type other than the default in a summary
// line (", blake2b"), so a digest is never read as the wrong algorithm's.
func hashTypeNote(t string) string {
	if t == "" || t == verify.HashSHA256 {
		return ""
	}
	return ", " + t
}
