package hydra

import (
	"io"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	// YAML configs beside a model and inside .nemo archives. Text has no
	// magic number, so the name decides. Just above the chat-template YAML
	// analyzer (12), which this one hands the same bytes to afterwards, so
	// a YAML file gets both checks.
	formats.Register(&formats.Analyzer{
		Name:       "yaml",
		Extensions: []string{".yaml", ".yml"},
		Priority:   13,
		Sniff: func(p *formats.Probe) bool {
			e := p.Ext()
			return e == ".yaml" || e == ".yml"
		},
		Analyze: analyzeYAML,
	})
}

func analyzeYAML(s *formats.Scope, r io.ReaderAt, size int64) {
	if size <= MaxYAML {
		b := make([]byte, size)
		if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
			s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
			return
		}
		CheckYAML(s, b)
	} else if mentionsTargetAt(r, size) {
		s.Reportf("hydra/config-too-large", formats.High, formats.NoOffset,
			"the YAML config is %d bytes, over the %d-byte limit, and may name instantiation targets; they were not checked", size, MaxYAML)
	}
	if next := formats.Lookup("yaml-config"); next != nil && next.Analyze != nil {
		s.SetFormat(next.Name)
		next.Analyze(s, r, size)
	}
}

// mentionsTargetAt streams a file too large to hold for target keys.
func mentionsTargetAt(r io.ReaderAt, size int64) bool {
	buf := make([]byte, 1<<20+64)
	for off := int64(0); off < size; off += 1 << 20 {
		n, err := r.ReadAt(buf, off)
		if n > 0 && mentionsTarget(buf[:n]) {
			return true
		}
		if err != nil {
			return err != io.EOF // unreadable: assume it may
		}
	}
	return false
}
