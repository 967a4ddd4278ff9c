package onepass

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/modelvet/modelvet/verify"
)

// Lookup returns what the session read of path: by its absolute name, or
// else by identity (an in-folder symbolic link is opened by the link's
// name and listed by its target's). ok is false for a file the session
// never read.
func (s *Session) Lookup(path string) (*File, bool) {
	key := abs(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.done[key]; ok {
		return f, true
	}
	if f, ok := s.bySnap[key]; ok {
		return f, true
	}
	// By the real path (links resolved), then by identity; the index of
	// real paths is built once, on the first miss.
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, false
	}
	if s.byReal == nil {
		s.byReal = map[string]*File{}
		for _, f := range s.done {
			if r, err := filepath.EvalSymlinks(f.Path); err == nil {
				s.byReal[r] = f
			}
		}
	}
	f, ok := s.byReal[abs(real)]
	if !ok {
		return nil, false
	}
	// The path must still name the file that was read.
	if fi, err := os.Stat(path); err != nil || !os.SameFile(fi, f.info) {
		return nil, false
	}
	return f, true
}

// Files returns every file read, by path.
func (s *Session) Files() []*File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*File, 0, len(s.done))
	for _, f := range s.done {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// OpenErrors returns the files that could not be opened.
func (s *Session) OpenErrors() map[string]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]error, len(s.openErrs))
	for k, v := range s.openErrs {
		out[k] = v
	}
	return out
}

// FileDigests implements verify.Digests: the manifest a signature is
// checked against comes from the session's reads, never from a new one.
// Digests of another hash type or shard size than the pass computed are
// refused, not computed by a second read.
func (s *Session) FileDigests(path, hashType string, shardSize int64) (int64, string, []string, error) {
	f, ok := s.Lookup(path)
	if !ok {
		return 0, "", nil, fmt.Errorf("%s was not read by the check (it appeared while the model was being checked, or could not be opened); check the model again when nothing writes to it", path)
	}
	if hashType == "" {
		hashType = verify.HashSHA256
	}
	switch {
	case f.Changed != nil:
		return 0, "", nil, fmt.Errorf("%s changed during the check: %v", path, f.Changed)
	case f.Err != nil:
		return 0, "", nil, f.Err
	case shardSize == 0 && hashType == verify.HashSHA256 && f.SHA256 != "":
		return f.Size, f.SHA256, nil, nil
	case shardSize == 0 && (f.HashType != hashType || f.Digest == ""):
		return 0, "", nil, fmt.Errorf("%s: the whole-file %s digest was not computed (the check prepared for %s)", path, hashType, f.prepared())
	case shardSize > 0 && (shardSize != f.ShardSize || f.HashType != hashType):
		return 0, "", nil, fmt.Errorf("%s: %s shard digests of %d bytes were not computed (the check prepared for %s)", path, hashType, shardSize, f.prepared())
	case shardSize == 0:
		return f.Size, f.Digest, nil, nil
	}
	return f.Size, f.SHA256, f.Shards, nil
}

// prepared says which signature digests the pass computed.
func (f *File) prepared() string {
	if f.ShardSize > 0 {
		return fmt.Sprintf("%s shards of %d bytes", f.HashType, f.ShardSize)
	}
	return "whole-file " + f.HashType + " digests"
}
