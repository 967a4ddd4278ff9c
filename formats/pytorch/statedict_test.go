package pytorch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// The state dict summary is decoded by gopickle from real torch.save
// output; the expected values were printed by torch.load on the fixtures.
func TestStateDictDetails(t *testing.T) {
	cases := []struct {
		name, file string
		want       map[string]string
	}{
		{"state dict of eleven dtypes with a view", "state_dict_dtypes.pt", map[string]string{
			"state_dict_tensors": "12",
			"parameters":         "43",
			"dtypes":             "bfloat16:1,bool:1,complex64:1,float16:1,float32:2,float64:1,int16:1,int32:1,int64:1,int8:1,uint8:1",
			"tensor_sample":      "t_float32[4], t_float16[4], t_float64[4], t_bfloat16[4], t_int8[4]",
		}},
		{"deflated copy of the same state dict", "deflated.pt", map[string]string{
			"state_dict_tensors": "12", "parameters": "43",
		}},
		{"checkpoint with model and Adam optimizer state", "checkpoint_adam.pt", map[string]string{
			"state_dict_tensors": "16",
			"parameters":         "73",
			"dtypes":             "float32:16",
			"tensor_sample":      "model.0.weight[3 4], model.0.bias[3], model.2.weight[2 3], model.2.bias[2], optimizer.state.0.step[]",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			decodeHook = func() { calls++ }
			defer func() { decodeHook = nil }()
			res := formatstest.ScanBytes(t, c.file, b, nil)
			if calls != 1 {
				t.Fatalf("gopickle ran %d times, want 1\n%s", calls, formatstest.Describe(res))
			}
			for k, v := range c.want {
				if got := res.Details[k]; got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if res.Details["tensors"] != res.Details["state_dict_tensors"] && c.file != "checkpoint_adam.pt" {
				t.Errorf("persistent ids count %s tensors, gopickle %s", res.Details["tensors"], res.Details["state_dict_tensors"])
			}
		})
	}
}

// A data.pkl modelvet's reader flags is never handed to gopickle, and the
// report gets no structure from it.
func TestStateDictNotDecodedWhenFlagged(t *testing.T) {
	for _, file := range []string{"malicious_data_pkl.pt"} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		decodeHook = func() { calls++ }
		res := formatstest.ScanBytes(t, file, b, nil)
		decodeHook = nil
		if len(formatstest.Rules(res, formats.Medium)) == 0 {
			t.Fatalf("%s: no finding at Medium or above; the fixture no longer tests the gate", file)
		}
		if calls != 0 {
			t.Errorf("%s: gopickle saw a data.pkl modelvet flagged", file)
		}
		for _, k := range []string{"state_dict_tensors", "parameters", "dtypes", "tensor_sample"} {
			if v, ok := res.Details[k]; ok {
				t.Errorf("%s: detail %s=%q recorded from a flagged pickle", file, k, v)
			}
		}
	}
}

// decodeStateDict itself survives inputs gopickle panics on, and what is
// not a dict of tensors yields nothing. (gopickle's 4 GiB BINUNICODE
// allocation cannot be stopped at this layer; the gate test below shows
// such bytes never get here.)
func TestDecodeStateDictRefuses(t *testing.T) {
	cases := []struct{ name, data string }{
		{"odd SETITEMS (gopickle index panic)", "}(K\x01u."},
		{"opcode 0xFF", "\xff."},
		{"zero-length LONG1", "\x8a\x00."},
		{"a list", "]."},
		{"a dict with no tensors", "}X\x01\x00\x00\x00aK\x01s."},
		{"a tensor outside any dict", tensorOp + "."},
		{"a tensor nested past the walk depth", nest(maxWalkDepth+2, tensorOp) + "."},
		{"a storage class that is not torch's", strings.Replace(tensorOp, "torch\nFloatStorage", "os\nFloatStorage", 1) + "."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if sum, ok := decodeStateDict(bytes.NewReader([]byte(c.data)), int64(len(c.data)), 10); ok {
				t.Fatalf("decoded %+v", sum)
			}
		})
	}
	calls := 0
	decodeHook = func() { calls++ }
	defer func() { decodeHook = nil }()
	if _, ok := decodeStateDict(bytes.NewReader(nil), maxDecodeBytes+1, 1); ok || calls != 0 {
		t.Fatal("a pickle past the size cap reached gopickle")
	}
	if _, ok := decodeStateDict(bytes.NewReader(nil), 10, maxDecodeOps+1); ok || calls != 0 {
		t.Fatal("a pickle past the opcode cap reached gopickle")
	}
}

// tensorOp is the opcodes torch.save writes for one float32 tensor of
// shape [4]: _rebuild_tensor_v2(storage pid, 0, (4,), (1,), False, OrderedDict()).
const tensorOp = "ctorch._utils\n_rebuild_tensor_v2\n(" +
	"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ" +
	"K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR"

// nest wraps value in depth dicts, each under key "a".
func nest(depth int, value string) string {
	return strings.Repeat("}X\x01\x00\x00\x00a", depth) + value + strings.Repeat("s", depth)
}

func TestDecodeStateDictNested(t *testing.T) {
	data := nest(3, tensorOp) + "."
	sum, ok := decodeStateDict(bytes.NewReader([]byte(data)), int64(len(data)), 100)
	if !ok {
		t.Fatal("a tensor three dicts deep was not found")
	}
	d := sum.details()
	if d["tensor_sample"] != "a.a.a[4]" || d["dtypes"] != "float32:1" || d["parameters"] != "4" {
		t.Fatalf("got %v", d)
	}
}

// Bytes gopickle is known to mishandle, placed as data.pkl of a real
// checkpoint: modelvet's reader flags the malformed ones, so gopickle never
// sees them; a zero-length LONG1 is valid pickle (Python reads 0), so it
// does reach gopickle, whose panic on it must be contained: no crash
// finding, no detail.
func TestGopickleHazardsStopAtGate(t *testing.T) {
	base, err := os.ReadFile("testdata/state_dict_dtypes.pt")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, data string
		valid      bool
	}{
		{"BINUNICODE declaring 4 GiB in five bytes", "\x80\x02X\xff\xff\xff\xff", false},
		{"odd SETITEMS", "\x80\x02}(K\x01u.", false},
		{"opcode 0xFF", "\x80\x02\xff.", false},
		{"zero-length LONG1 (valid; gopickle panics)", "\x80\x02}X\x01\x00\x00\x00a\x8a\x00s.", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := replaceDataPkl(t, base, []byte(c.data))
			calls := 0
			decodeHook = func() { calls++ }
			defer func() { decodeHook = nil }()
			res := formatstest.ScanBytes(t, "model.pt", b, nil)
			if want := map[bool]int{false: 0, true: 1}[c.valid]; calls != want {
				t.Fatalf("gopickle was handed the bytes %d times, want %d\n%s", calls, want, formatstest.Describe(res))
			}
			for _, f := range res.Findings {
				if f.Rule == "formats/analyzer-failure" {
					t.Fatalf("gopickle's failure escaped: %s", f.Message)
				}
			}
			if _, ok := res.Details["tensor_sample"]; ok {
				t.Fatal("structure recorded from a rejected pickle")
			}
		})
	}
}

func replaceDataPkl(t *testing.T, b, data []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(rc)
		rc.Close()
		if strings.HasSuffix(f.Name, "/data.pkl") {
			d = data
		}
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(d)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The opcode pre-filter keeps from gopickle what would make it spin inside
// one opcode (where no deadline can stop it), and lets real layouts through.
func TestDecodeStateDictFilter(t *testing.T) {
	long4 := "\x8b\x00\x00\x04\x00" + strings.Repeat("\x01", 1<<18) // 256 KiB integer
	cases := []struct {
		name, data string
		handed     bool
	}{
		{"LONG4 integer of 256 KiB (quadratic in gopickle)", "}X\x01\x00\x00\x00a" + long4 + "s.", false},
		{"LONG text integer of 10000 digits", "}X\x01\x00\x00\x00aL" + strings.Repeat("9", 10000) + "L\ns.", false},
		{"length past the end", "X\x00\x00\x00\x01ab.", false},
		{"no STOP", "}", false},
		// gopickle allocates a FRAME's declared length up front (found by
		// FuzzDecodeStateDict: out of memory).
		{"frame declaring a terabyte", "\x95A000\x00\x01\x00\x00.", false},
		{"frame one byte longer than what follows", "\x80\x04\x95" + string(binary.LittleEndian.AppendUint64(nil, uint64(len(nest(1, tensorOp))+2))) + nest(1, tensorOp) + ".", false},
		{"protocol 4 frame around a state dict", "\x80\x04\x95" + string(binary.LittleEndian.AppendUint64(nil, uint64(len(nest(1, tensorOp))+1))) + nest(1, tensorOp) + ".", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			decodeHook = func() { calls++ }
			defer func() { decodeHook = nil }()
			_, ok := decodeStateDict(bytes.NewReader([]byte(c.data)), int64(len(c.data)), 10)
			if (calls == 1) != c.handed || ok != c.handed {
				t.Fatalf("handed to gopickle %d times, decoded %v; want handed=%v", calls, ok, c.handed)
			}
		})
	}
}

// FuzzDecodeStateDict feeds the pre-filter and the gopickle decode raw
// pickles (seeded with real data.pkl records). The filter runs outside the
// recover, so it must never panic; the whole must stay fast.
func FuzzDecodeStateDict(f *testing.F) {
	for _, file := range []string{"state_dict_dtypes.pt", "checkpoint_adam.pt"} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		for _, zf := range zr.File {
			if strings.HasSuffix(zf.Name, "/data.pkl") {
				rc, _ := zf.Open()
				d, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(d)
			}
		}
	}
	f.Add([]byte(nest(3, tensorOp) + "."))
	f.Add([]byte("}(K\x01u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		sum, ok := decodeStateDict(bytes.NewReader(data), int64(len(data)), int64(len(data)))
		if ok {
			_ = sum.details()
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("decoding %d bytes took %v", len(data), d)
		}
	})
}
