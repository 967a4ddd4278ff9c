package policy

import (
	"fmt"
	"path"
	"strings"
)

// Pattern is a path glob relative to the model folder, with '/' as the
// separator on every OS: path.Match syntax per segment, "**" for any number
// of segments. A pattern without '/' matches a base name at any depth
// ("*.md"), like .gitignore.
type Pattern struct {
	raw  string
	segs []string
	Line int
	ref  string
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// compilePattern checks a pattern. Backslashes are refused rather than
// guessed at: on Windows they are separators, elsewhere escapes, and a
// policy must mean the same thing on both.
func compilePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, fmt.Errorf("empty pattern")
	}
	if strings.Contains(s, `\`) {
		return Pattern{}, fmt.Errorf("pattern %q contains a backslash; write paths with '/' on every OS", s)
	}
	if strings.HasPrefix(s, "/") {
		return Pattern{}, fmt.Errorf("pattern %q is absolute; patterns are relative to the model folder", s)
	}
	clean := strings.TrimSuffix(s, "/")
	segs := strings.Split(clean, "/")
	if !strings.Contains(clean, "/") {
		segs = []string{"**", clean}
	}
	for _, g := range segs {
		if g == ".." || g == "." || g == "" {
			return Pattern{}, fmt.Errorf("pattern %q has an empty, '.' or '..' segment", s)
		}
		if _, err := path.Match(g, ""); err != nil {
			return Pattern{}, fmt.Errorf("pattern %q: %v", s, err)
		}
	}
	// "dir/" (or "dir") also covers everything under dir.
	if segs[len(segs)-1] != "**" {
		segs = append(segs, "**")
	}
	return Pattern{raw: s, segs: segs}, nil
}

// Match reports whether rel (slash-separated, relative to the model
// folder) is matched.
func (p Pattern) Match(rel string) bool {
	if p.raw == "" {
		return false
	}
	rel = strings.Trim(rel, "/")
	var parts []string
	if rel != "" && rel != "." {
		parts = strings.Split(rel, "/")
	}
	return matchSegs(p.segs, parts, 0)
}

// matchSegs is a backtracking matcher; depth bounds it against patterns
// with many "**" (a policy is trusted input, but a typo must not hang).
func matchSegs(pat, parts []string, depth int) bool {
	if depth > 64 {
		return false
	}
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(parts); i++ {
				if matchSegs(pat[1:], parts[i:], depth+1) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}
