package pickle

import (
	"bytes"
	"io"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name: "pickle",
		// Raw pickles. .pt/.pth/.bin/.ckpt belong to PyTorch (zip or legacy
		// layouts); a raw pickle under those names is still found by sniffing.
		Extensions: []string{".pkl", ".pickle", ".dill", ".sav", ".p", ".pck", ".pcl"},
		Priority:   10,
		Sniff:      Sniff,
		Analyze: func(s *formats.Scope, r io.ReaderAt, size int64) {
			res := Scan(s, r, size)
			if s.TopLevel() && res != nil {
				s.Detail("pickle.protocol", itoa(res.Protocol))
				s.Detail("pickle.count", itoa(res.Pickles))
				if len(res.PersistentIDs) > 0 {
					s.Detail("pickle.persistent_ids", itoa(len(res.PersistentIDs)))
				}
			}
		},
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Sniff reports whether content is a pickle. Protocol 2+ pickles start
// with PROTO; protocol 0/1 ones are recognized by a bounded trial run of
// the opcode machine over the head: it must reach STOP, import something,
// or run through the whole head without an error. Text and images fail
// within a few bytes (a PNG's 0x89 'P' is NEWFALSE, PERSID, then an
// unknown opcode).
func Sniff(p *formats.Probe) bool {
	h := p.Head
	if len(h) < 2 {
		return false
	}
	if h[0] == 0x80 {
		if h[1] < 2 || h[1] > highestProto {
			return false
		}
		return trial(h) >= 1
	}
	return trial(h) >= 2
}

// trial runs the machine quietly over head and scores it: 0 not a pickle,
// 1 plausible, 2 convincing.
func trial(head []byte) int {
	sc := newScanner(nil, bytes.NewReader(head), int64(len(head)), 0, &shared{nested: maxNestedScans})
	sc.quiet = true
	r := newReader(sc.ra, 0, int64(len(head)))
	m := newMachine(sc, r)
	m.quiet = true
	err := m.run()
	switch {
	case err == nil:
		return 2
	case m.ops >= 2 && m.imports > 0:
		return 2
	}
	pe, ok := err.(*pickleError)
	if ok && pe.rule == "pickle/truncated" && m.ops >= 3 {
		return 2 // ran to the end of the head
	}
	if ok && pe.rule == "pickle/truncated" && m.ops >= 1 && head[0] == 0x80 {
		return 1
	}
	return 0
}
