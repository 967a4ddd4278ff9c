package pickle_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	gopickle "github.com/nlpodyssey/gopickle/pickle"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/pickle"
)

func seeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/benign/*.pkl")
	attacks, _ := filepath.Glob("testdata/attacks/*.pkl")
	for _, p := range append(files, attacks...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(call("os", "system", "id").bytesOf())
	// Gadget chains of safe-listed names (sound_test.go).
	for _, c := range soundCases() {
		if len(c.attack) < 64<<10 {
			f.Add(c.attack)
		}
	}
	f.Add([]byte("cos\nsystem\n(S'id'\ntR."))
	f.Add([]byte{0x80, 4, 0x95, 3, 0, 0, 0, 0, 0, 0, 0, ']', 'K', 1, 'a', '.'})
	f.Add([]byte{0x80, 2, 'X', 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte("(lp0\nI1\naL12L\naF1.5\naVx\\u1234\na."))
	// The peers' raw pickles, read in place when present (never copied).
	peers := filepath.Join(formatstest.RepoRoot(f), "..", "shared", "peers")
	for _, glob := range []string{"picklescan/data*/*.pkl", "modelaudit/*/*.pkl", "modelaudit/samples/pickles/*.pkl"} {
		files, _ := filepath.Glob(filepath.Join(peers, glob))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
				f.Add(b)
			}
		}
	}
}

// scanRaw runs pickle.Scan directly (not through sniffing) and returns the
// findings and the result.
func scanRaw(data []byte) (*formats.FileResult, *pickle.Result) {
	res := &formats.FileResult{}
	o := formats.DefaultOptions()
	s := formats.NewScope("fuzz", &o, res)
	pr := pickle.Scan(s, bytes.NewReader(data), int64(len(data)))
	return res, pr
}

// FuzzScan: no panic, and work bounded by the input (time per byte).
func FuzzScan(f *testing.F) {
	seeds(f)
	// The red-team fixtures seed the scan only: gopickle, the
	// differential's reference, does not decode protocol-0 escapes as
	// CPython does (string_escape_names.pkl, proven under CPython).
	redteam, _ := filepath.Glob("testdata/attacks/redteam/*.pkl")
	round2, _ := filepath.Glob("testdata/attacks/redteam2/*.pkl")
	for _, p := range append(redteam, round2...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		res, pr := scanRaw(data)
		// Work is bounded by the input: every opcode consumes a byte. (The
		// wall-clock bound only catches real hangs; CPUs here are shared.)
		if pr.Ops > int64(len(data)) {
			t.Fatalf("%d opcodes executed from %d bytes", pr.Ops, len(data))
		}
		if el := time.Since(start); el > 20*time.Second {
			t.Fatalf("scan of %d bytes took %v", len(data), el)
		}
		if pr.End > int64(len(data)) {
			t.Fatalf("End %d past size %d", pr.End, len(data))
		}
		for _, fd := range res.Findings {
			if fd.Rule == "formats/analyzer-failure" {
				t.Fatalf("analyzer failure: %s", fd.Message)
			}
		}
		p := &formats.Probe{Name: "x", Head: data[:min(len(data), formats.HeadSize)], Size: int64(len(data)), R: bytes.NewReader(data)}
		pickle.Sniff(p)
	})
}

// placeholder stands for every class or callable in the differential run:
// it accepts every call, instantiation and state, like an ideal object.
type placeholder struct{ name string }

func (p *placeholder) Call(args ...interface{}) (interface{}, error) {
	return &placeholder{p.name + "()"}, nil
}
func (p *placeholder) PyNew(args ...interface{}) (interface{}, error) {
	return &placeholder{p.name + "()"}, nil
}
func (p *placeholder) PySetState(state interface{}) error { return nil }
func (p *placeholder) Append(v interface{})               {}
func (p *placeholder) Set(k, v interface{})               {}
func (p *placeholder) Add(v interface{})                  {}

// semantic errors are gopickle refusing a type combination (REDUCE on a
// non-tuple...) that CPython would also only see at run time, not a
// disagreement about the bytes.
var semantic = []string{"must be *Tuple", "requires a Callable", "requires ListAppender", "requires List",
	"requires DictSetter", "requires SetAdder", "requires a PyDictSettable", "requires a PyAttrSettable",
	"requires string slot", "STACK_GLOBAL requires str", "cannot instantiate", "requires a PyNewable",
	"unhashable", "invalid key", "not hashable"}

// FuzzDifferential: what modelvet reads as one complete, well-formed
// pickle (imports aside), gopickle must parse too, and every import
// gopickle resolves must be one modelvet saw and judged: no reader sees an
// import the scanner missed. gopickle is only given bytes modelvet
// accepted structurally: it is not safe on hostile input (its panics are
// recovered).
func FuzzDifferential(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, pr := scanRaw(data)
		if pr.Pickles != 1 || pr.End != int64(len(data)) {
			return
		}
		clean := true
		for _, f := range res.Findings {
			switch f.Rule {
			case "pickle/malformed", "pickle/truncated", "pickle/limit-exceeded", "pickle/read-error", "pickle/junk-after-stop":
				return // structurally refused: gopickle is not given it
			case "pickle/dangerous-import", "pickle/unknown-import":
			default:
				clean = false
			}
		}
		err := func() (err error) {
			defer func() {
				if v := recover(); v != nil {
					buf := make([]byte, 2048)
					buf = buf[:runtime.Stack(buf, false)]
					err = fmt.Errorf("gopickle panicked: %v", v)
				}
			}()
			u := gopickle.NewUnpickler(bytes.NewReader(data))
			u.FindClass = func(m, n string) (interface{}, error) {
				// Every import gopickle resolves, modelvet must have seen
				// and judged.
				seen := false
				for _, g := range pr.Globals {
					seen = seen || (g.Module == m && g.Name == n)
				}
				if !seen {
					return nil, fmt.Errorf("import %s.%s not seen by modelvet", m, n)
				}
				return &placeholder{m + "." + n}, nil
			}
			u.PersistentLoad = func(interface{}) (interface{}, error) { return &placeholder{"pid"}, nil }
			_, err = u.Load()
			return err
		}()
		if err == nil {
			return
		}
		if strings.Contains(err.Error(), "not seen by modelvet") {
			t.Fatalf("gopickle resolved an import modelvet did not report: %v\n% x", err, data[:min(len(data), 256)])
		}
		if !clean || strings.Contains(err.Error(), "gopickle panicked") {
			return // frame, EXT or buffer findings: modelvet already fails it; gopickle's own panics are its bugs
		}
		for _, s := range semantic {
			if strings.Contains(err.Error(), s) {
				return
			}
		}
		t.Fatalf("modelvet accepts this pickle cleanly, gopickle refuses it: %v\n% x", err, data[:min(len(data), 256)])
	})
}
