package archive

import (
	"bytes"
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
)

// Container analyzers outrank every content format: a PyTorch zip is a
// zip first, and its flavor decides what the members are.
const containerPriority = 200

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "zip",
		Extensions: []string{".zip", ".npz", ".pt", ".pth", ".ckpt", ".bin", ".mar", ".keras"},
		Priority:   containerPriority,
		// Only a local header (or an empty archive's end record) at offset
		// 0. A zip glued behind other data is what the data in front says
		// it is: torch.load, for one, then loads the front as a pickle.
		Sniff: func(p *formats.Probe) bool {
			return bytes.HasPrefix(p.Head, []byte("PK\x03\x04")) ||
				(bytes.HasPrefix(p.Head, []byte("PK\x05\x06")) && p.Size >= eocdLen)
		},
		Analyze: analyzeZip,
	})
	formats.Register(&formats.Analyzer{
		Name:       "tar",
		Extensions: []string{".tar", ".pt", ".pth", ".ckpt", ".bin"},
		Priority:   containerPriority,
		Sniff:      func(p *formats.Probe) bool { return isTar(p.Head) },
		Analyze: func(s *formats.Scope, r io.ReaderAt, size int64) {
			a := OpenTar(s, r, size)
			checkPolyglot(s, "tar", r, size, a)
			if a != nil {
				Dispatch(s, a)
			}
		},
	})
	formats.Register(&formats.Analyzer{
		Name:       "7z",
		Extensions: []string{".7z"},
		Priority:   containerPriority,
		Sniff:      func(p *formats.Probe) bool { return bytes.HasPrefix(p.Head, []byte("7z\xBC\xAF\x27\x1C")) },
		Analyze: func(s *formats.Scope, r io.ReaderAt, size int64) {
			a := Open7z(s, r, size)
			if a == nil {
				return
			}
			defer a.Close()
			Dispatch(s, a)
		},
	})
}

// analyzeZip opens a zip (the zip and zip-embedded analyzers), scans the
// data in front of it as its own member and dispatches the archive.
func analyzeZip(s *formats.Scope, r io.ReaderAt, size int64) {
	a := OpenZip(s, r, size)
	checkPolyglot(s, "zip", r, size, a)
	if a == nil {
		return
	}
	defer a.Close()
	if a.Prepended > 0 {
		// What a reader starting at byte 0 sees must be scanned too.
		s.ScanMember("<data before the zip>", io.NewSectionReader(r, 0, a.Prepended), a.Prepended)
	}
	Dispatch(s, a)
}

// Dispatch hands an opened archive to the flavor it matches or, when none
// does, scans every file member on its own.
//
// The archives other zip readers see in the same bytes (views.go) are
// dispatched too, each under a member path naming those readers, so every
// caller of OpenZip scans what every reader would load.
func Dispatch(s *formats.Scope, a *Archive) {
	s.Detail("members", strconv.Itoa(len(a.Members)))
	if f := FlavorOf(a); f != nil {
		s.SetFormat(f.Name)
		f.Analyze(s, a)
	} else {
		ScanMembers(s, a)
	}
	scanViews(s, a)
}

// ScanMembers sniffs and scans every file member in a child scope; nested
// archives recurse through ScanMember within Limits.MaxDepth.
func ScanMembers(s *formats.Scope, a *Archive) {
	for _, m := range a.Members {
		if m.IsDir || m.IsLink {
			continue
		}
		r, n, err := a.Open(m)
		if err != nil {
			continue // reported by the reader
		}
		s.ScanMember(m.Name, r, n)
		Release(r)
	}
}
