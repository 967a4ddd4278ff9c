package formats

import (
	"fmt"
	"io"
	"slices"
	"sync"
)

// Scope is an analyzer's view of the file being scanned: where to report,
// which options apply, how deep in containers it is and how much
// decompression budget is left. A container hands a member to the analyzer
// of its format with ScanMember; findings from the member come out under
// the member's name.
type Scope struct {
	opts   *Options
	file   *FileResult
	path   string // OS path of the top-level file
	member string // member path within the file, "" at top level
	depth  int
	onDisk bool // the top-level content is the file at path
	shared *scopeShared
}

type scopeShared struct {
	mu       sync.Mutex
	expanded int64
}

// NewScope starts the scope of a top-level file. Callers other than the
// walker use it to analyze bytes that are not on disk (tests, the service).
func NewScope(path string, opts *Options, res *FileResult) *Scope {
	return &Scope{opts: opts, file: res, path: path, shared: &scopeShared{}}
}

// Options returns the scan options.
func (s *Scope) Options() *Options { return s.opts }

// Path returns the OS path of the top-level file being scanned.
func (s *Scope) Path() string { return s.path }

// Member returns the member path this scope is inside, "" at top level.
func (s *Scope) Member() string { return s.member }

// Depth is 0 for a file on disk, 1 for a member of it, and so on.
func (s *Scope) Depth() int { return s.depth }

// TopLevel reports whether the scope is the scanned content itself rather
// than a member of it.
func (s *Scope) TopLevel() bool { return s.depth == 0 }

// OnDisk reports whether the scope is a file on disk (not a member, not an
// upload or test vector), i.e. whether files beside Path are real files.
func (s *Scope) OnDisk() bool { return s.depth == 0 && s.onDisk }

// RootOnDisk reports whether the top-level file is on disk, at any depth:
// a loader that opens files beside the one it was given (joblib's legacy
// side files, read from the compressed file's folder) looks beside Path.
func (s *Scope) RootOnDisk() bool { return s.onDisk }

// Report records a finding, placing it under this scope's member.
func (s *Scope) Report(f Finding) {
	switch {
	case s.member != "" && f.Member != "":
		f.Member = s.member + "!" + f.Member
	case s.member != "":
		f.Member = s.member
	}
	s.shared.mu.Lock()
	s.file.Findings = append(s.file.Findings, f)
	s.shared.mu.Unlock()
}

// Reportf is Report for the common case.
func (s *Scope) Reportf(rule string, sev Severity, offset int64, format string, args ...any) {
	s.Report(Finding{Rule: rule, Severity: sev, Offset: offset, Message: fmt.Sprintf(format, args...)})
}

// SetFormat names the format of the top-level file. From a member scope it
// records the member's format as a detail instead.
func (s *Scope) SetFormat(name string) {
	if s.depth == 0 {
		s.shared.mu.Lock()
		s.file.Format = name
		s.shared.mu.Unlock()
		return
	}
	s.Detail("format:"+s.member, name)
}

// Detail records a fact for the report.
func (s *Scope) Detail(key, value string) {
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	if s.file.Details == nil {
		s.file.Details = map[string]string{}
	}
	s.file.Details[key] = value
}

// Mark returns a position in the file's findings; MaxSince(mark) then
// tells what was reported after it. An analyzer uses the pair to act only
// on content a scan it just ran accepted (e.g. decoding a pickle with a
// third-party reader only when modelvet's own reader found nothing wrong).
func (s *Scope) Mark() int {
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	return len(s.file.Findings)
}

// MaxSince returns the highest severity reported for the file after mark,
// and false when nothing was.
func (s *Scope) MaxSince(mark int) (Severity, bool) {
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	if mark < 0 || mark >= len(s.file.Findings) {
		return Info, false
	}
	m := s.file.Findings[mark].Severity
	for _, f := range s.file.Findings[mark+1:] {
		m = max(m, f.Severity)
	}
	return m, true
}

// Expand reserves n bytes of decompression budget. It returns false, after
// reporting, when the file would expand past Limits.MaxExpand: a
// decompression bomb is stopped before it is inflated.
func (s *Scope) Expand(n int64, offset int64) bool {
	s.shared.mu.Lock()
	ok := n >= 0 && s.shared.expanded+n <= s.opts.Limits.MaxExpand && s.shared.expanded+n >= 0
	if ok {
		s.shared.expanded += n
	}
	s.shared.mu.Unlock()
	if !ok {
		s.Reportf("archive/expansion-limit", High, offset,
			"decompressing %d more bytes would pass the limit of %d bytes for one file; the rest is not scanned (possible decompression bomb)", n, s.opts.Limits.MaxExpand)
	}
	return ok
}

// Child returns the scope of a member named name. It returns nil, after
// reporting, when containers nest deeper than Limits.MaxDepth.
func (s *Scope) Child(name string) *Scope {
	if s.depth+1 > s.opts.Limits.MaxDepth {
		s.Reportf("archive/nesting-limit", High, NoOffset,
			"member %q is nested %d containers deep, past the limit of %d; it is not scanned", name, s.depth+1, s.opts.Limits.MaxDepth)
		return nil
	}
	c := *s
	c.depth++
	if s.member == "" {
		c.member = name
	} else {
		c.member = s.member + "!" + name
	}
	return &c
}

// ScanMember sniffs a member's content and runs the analyzer of its format
// in a child scope. A member whose name promises a model but whose content
// no analyzer recognizes is reported. It returns the analyzer used, or nil.
func (s *Scope) ScanMember(name string, r io.ReaderAt, size int64) *Analyzer {
	c := s.Child(name)
	if c == nil {
		return nil
	}
	return c.analyze(name, r, size)
}

// analyze sniffs and runs the matching analyzer in this scope.
func (s *Scope) analyze(name string, r io.ReaderAt, size int64) *Analyzer {
	if size < 0 {
		// make() below would panic outside run's recover and take the
		// whole scan down; a container that computed a negative length
		// has misread its index, so the content cannot be shown safe.
		s.Reportf("formats/read-error", High, 0, "the content's size is %d, which no container can hold; it was not scanned", size)
		return nil
	}
	head := make([]byte, min(size, HeadSize))
	if n, err := r.ReadAt(head, 0); err != nil && !(err == io.EOF && int64(n) == int64(len(head))) {
		s.Reportf("formats/read-error", High, 0, "cannot read the start of the content: %v", err)
		return nil
	}
	p := &Probe{Name: name, Head: head, Size: size, R: r}
	if s.depth == 0 && s.onDisk {
		p.Path = s.path
		p.Opts = s.opts
	}
	a, failed := sniff(p)
	for _, c := range failed {
		s.reportCaught(c)
	}
	if a == nil {
		if IsModelName(name) {
			s.Reportf("formats/unrecognized", High, 0,
				"the name promises a model (%s) but the content is no format modelvet can read (starts with % x); it cannot be shown safe", p.Ext(), head[:min(len(head), 8)])
		}
		return nil
	}
	if owner := extensionOwner(p.Ext()); owner != nil && owner != a && !claims(a, p.Ext()) && !slices.Contains(owner.Strict, p.Ext()) {
		s.Reportf("formats/extension-mismatch", Medium, 0,
			"the content is %s but the name %q suggests %s; a loader choosing by name would read it differently", a.Name, name, owner.Name)
	}
	s.SetFormat(a.Name)
	s.run(a, r, size)
	return a
}

func claims(a *Analyzer, ext string) bool {
	for _, e := range a.Extensions {
		if e == ext {
			return true
		}
	}
	return false
}

// run calls the analyzer, turning a panic into a finding: a crash must not
// turn into a pass, and must not take the other files down with it.
func (s *Scope) run(a *Analyzer, r io.ReaderAt, size int64) {
	if c := guard("analyzer", a.Name, func() { a.Analyze(s, r, size) }); c != nil {
		s.reportCaught(c)
	}
}

// reportCaught reports a caught panic on this scope's file or member.
func (s *Scope) reportCaught(c *caught) {
	where := s.path
	if s.member != "" {
		where += "!" + s.member
	}
	s.Report(c.finding(where))
	s.Detail(c.detailKey(), c.stack)
}
