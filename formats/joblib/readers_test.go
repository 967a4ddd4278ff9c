package joblib_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/numpy" // side files are .npy
)

// wrapper builds a protocol-2 NumpyArrayWrapper (as joblib >= 1.2 writes
// it: NEWOBJ, then BUILD with a state dict) whose state is the pickled
// items between MARK and SETITEMS.
func wrapper(state string) string {
	return "cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(" + state + "ub"
}

func u(s string) string { // BINUNICODE
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	return "X" + string(n[:]) + s
}

func binint(v int32) string {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(v))
	return "J" + string(n[:])
}

// dtype pickles numpy.dtype(spec, False, True) with numpy's state tuple
// (version 3, byteorder, subarray, names, fields, elsize, alignment, flags).
func dtype(spec string, elsize, flags string) string {
	return "cnumpy\ndtype\n" + u(spec) + "\x89\x88\x87R(K\x03" + u("<") + "NNN" + elsize + binint(-1) + flags + "tb"
}

const payload = "cos\nsystem\n" + "X\x02\x00\x00\x00id\x85R0" // os.system('id'), result popped

// TestReaderViews: one case per reader differential around joblib's
// inline arrays, each with the loader that runs the payload; benign twins
// raise nothing at High.
func TestReaderViews(t *testing.T) {
	hdr := "\x80\x02"
	u1 := func(n int) string {
		return u("dtype") + dtype("u1", binint(-1), "K\x00") + u("shape") + "K" + string(rune(n)) + "\x85" + u("order") + u("C")
	}
	for _, c := range []struct {
		name string
		data string
		want string // rule; "" = nothing at High or above
		min  formats.Severity
		by   string // substring of the finding's message naming the loader
	}{
		{"benign: u1 array of plain bytes", hdr + wrapper(u1(4)) + "\x01\x02\x03\x04" + ".", "", 0, ""},
		{"payload in array bytes: pickle.load/torch.load/numpy.load run it, joblib.load skips it",
			hdr + wrapper(u1(len(payload))) + payload + ".", "pickle/joblib-ambiguous", formats.Critical, "pickle.load, torch.load and numpy.load"},
		{"skipped bytes set a memo entry used outside them (finding outside the skipped range)",
			hdr + u("collections") + "q\x010" + wrapper(u1(len(u("os")+"q\x010"))) + u("os") + "q\x010" + "h\x01" + u("getcwd") + "\x93)R0.",
			"pickle/joblib-ambiguous", formats.Critical, "not joblib.load"},
		{"object array: MEMOIZE numbers differ (fresh memo for joblib, the outer one for pickle.load), so one BINGET names two modules",
			"\x80\x04" + u("posix") + "\x940" + wrapper(u("dtype")+dtype("O8", binint(-1), "K\x3f")+u("shape")+"K\x01\x85") +
				"\x80\x04" + u("collections") + "\x940h\x00" + u("system") + "\x93)R0N." + ".",
			"pickle/joblib-ambiguous", formats.Critical, "not joblib.load"},
		{"array bytes that push the plain view past modelvet's MARK limit before a payload: reported, not silently cut",
			hdr + wrapper(u("dtype")+dtype("u1", binint(-1), "K\x00")+u("shape")+binint(70000+int32(len(payload)))+"\x85") + strings.Repeat("(", 70000) + payload + ".",
			"pickle/joblib-ambiguous", formats.High, "not joblib.load"},
		{"a wrapper modelvet cannot size (High) must not hide a payload pickle.load runs after it (Critical)",
			hdr + wrapper(u("dtype")+dtype("l8", binint(-1), "K\x00")+u("shape")+"K\x01\x85") + payload + ".",
			"pickle/joblib-ambiguous", formats.Critical, "not joblib.load"},
		{"payload after a first real array (uint8 [78 48 78], harmless opcodes to pickle.load), in a second array's bytes",
			hdr + "(" + wrapper(u1(3)) + "N0N" + wrapper(u1(len(payload))) + payload + "l.", "pickle/joblib-ambiguous", formats.Critical, ""},
		{"fixed dtype whose state claims a 1-byte item: numpy reads 8 bytes per item",
			hdr + wrapper(u("dtype")+dtype("f8", "K\x01", "K\x00")+u("shape")+"K\x02\x85") + strings.Repeat("\x00", 16) + payload + ".",
			"joblib/size-ambiguous", formats.High, ""},
		{"fixed-dtype elsize lie hides a payload joblib.load runs",
			hdr + wrapper(u("dtype")+dtype("f8", "K\x01", "K\x00")+u("shape")+"K\x02\x85") + strings.Repeat("\x00", 16) + payload + ".",
			"pickle/dangerous-import", formats.Critical, "joblib.load"},
		{"flags True make an f8 dtype hold objects: joblib.load unpickles the data",
			hdr + wrapper(u("dtype")+dtype("f8", binint(-1), "\x88")+u("shape")+"K\x01\x85") + "\x80\x02" + payload + "N." + ".",
			"pickle/dangerous-import", formats.Critical, "joblib.load"},
		{"flags -127 (a signed char) normalize to the object bit",
			hdr + wrapper(u("dtype")+dtype("f8", binint(-1), binint(-127))+u("shape")+"K\x01\x85") + "\x80\x02" + payload + "N." + ".",
			"pickle/dangerous-import", formats.Critical, "joblib.load"},
		{"numpy_array_alignment_bytes None means no padding byte",
			hdr + wrapper(u1(2)+u("numpy_array_alignment_bytes")+"N") + "\x00\x00" + payload + ".",
			"pickle/dangerous-import", formats.Critical, "joblib.load"},
		// Real joblib <= 1.1 files (no padding byte) whose array bytes
		// start with opcodes pickle.load refuses: nothing runs there.
		{"benign: array bytes starting with STACK_GLOBAL on the wrapper (CPython wants two str)", hdr + u("a") + wrapper(u1(4)) + "\x93\x01\x02\x03" + ".", "", 0, ""},
		{"benign: array bytes starting with EXT1 (empty extension registry)", hdr + wrapper(u1(4)) + "\x82\x11\x02\x03" + ".", "", 0, ""},
		{"benign: array bytes starting with NEXT_BUFFER (no buffers given)", hdr + wrapper(u1(4)) + "\x97\x01\x02\x03" + ".", "", 0, ""},
		{"STACK_GLOBAL on two computed strs in array bytes is still judged",
			hdr + "cbuiltins\nstr\nq\x010" + wrapper(u1(len("h\x01"+u("os")+"\x85Rh\x01"+u("system")+"\x85R\x93"))) + "h\x01" + u("os") + "\x85Rh\x01" + u("system") + "\x85R\x93" + "0.",
			"pickle/joblib-ambiguous", formats.High, "not joblib.load"},
		{"benign: alignment 16 with its padding", hdr + wrapper(u1(2)+u("numpy_array_alignment_bytes")+"K\x10") + "\x03\xff\xff\xff" + "\x00\x00" + ".", "", 0, ""},
		{"shape whose product wraps int64 to 0: numpy reads no bytes",
			hdr + wrapper(u("dtype")+dtype("u1", binint(-1), "K\x00")+u("shape")+"\x8a\x05\x00\x00\x00\x00\x01\x8a\x05\x00\x00\x00\x00\x01\x86") + payload + ".",
			"joblib/size-ambiguous", formats.High, ""},
		{"duplicate dtype key: Python keeps the last one",
			hdr + wrapper(u("dtype")+dtype("f8", binint(-1), "K\x00")+u("shape")+"K\x01\x85"+u("dtype")+dtype("u1", binint(-1), "K\x00")) + "\x00" + payload + ".",
			"pickle/dangerous-import", formats.Critical, "joblib.load"},
	} {
		// Caught in both profiles: a reader differential is not a matter
		// of which imports one trusts.
		for _, prof := range []formats.Profile{formats.Strict, formats.Permissive} {
			t.Run(c.name+"/"+string(prof), func(t *testing.T) {
				res := scan(t, "model.joblib", []byte(c.data), prof)
				if c.want == "" {
					if got := formatstest.Rules(res, formats.High); len(got) > 0 {
						t.Fatalf("want nothing at high or above:\n%s", formatstest.Describe(res))
					}
					return
				}
				for _, f := range res.Findings {
					if f.Rule == c.want && f.Severity >= c.min && strings.Contains(f.Message, c.by) {
						return
					}
				}
				t.Fatalf("want %s at %s or above naming %q:\n%s", c.want, c.min, c.by, formatstest.Describe(res))
			})
		}
	}
}

// TestSideFilesOnDisk: joblib < 0.10 side files are opened beside the
// pickle and scanned as numpy.load(allow_pickle=True) reads them.
func TestSideFilesOnDisk(t *testing.T) {
	mk := func(name string) []byte {
		return []byte("\x80\x02cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81}(" + u("filename") + u(name) + u("subclass") + "cnumpy\nndarray\nub.")
	}
	// joblib 0.9.x compress=True: a ZNDArrayWrapper whose side file is a
	// "ZF" zlib file of the array's raw buffer (numpy_pickle_compat.py:
	// read_zfile, then ndarray.__setstate__).
	mkZ := func(name string) []byte {
		return []byte("\x80\x02cjoblib.numpy_pickle\nZNDArrayWrapper\n)\x81}(" + u("filename") + u(name) + u("init_args") + "(cnumpy\nndarray\nK\x00\x85U\x01bt" + u("state") + ")ub.")
	}
	npy := func(descr, data string) []byte {
		h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }"
		h += strings.Repeat(" ", 63-len(h)) + "\n"
		return []byte("\x93NUMPY\x01\x00" + string(rune(len(h))) + "\x00" + h + data)
	}
	for _, c := range []struct {
		name  string
		side  string // side file name in the pickle
		files map[string][]byte
		want  string
		min   formats.Severity
		zf    bool // the pickle itself is an old "ZF" zlib file (joblib < 0.9.3 compress=)
		z     bool // a ZNDArrayWrapper, not an NDArrayWrapper
	}{
		{"benign: ZNDArrayWrapper zlib side file of raw float zeros (joblib 0.9.4 compressed_cache_size test data)", "m.pkl_01.npy.z",
			map[string][]byte{"m.pkl_01.npy.z": zfile(make([]byte, 80))}, "", 0, true, true},
		{"benign: f8 side file", "m.pkl_01.npy", map[string][]byte{"m.pkl_01.npy": npy("<f8", "\x00\x00\x00\x00\x00\x00\xf0\x3f")}, "", 0, false, false},
		{"object-array side file unpickled by numpy.load(allow_pickle=True)", "m.pkl_01.npy",
			map[string][]byte{"m.pkl_01.npy": npy("|O", "\x80\x02"+payload+"N.")}, "pickle/dangerous-import", formats.Critical, false, false},
		{"side file that is a plain pickle: numpy.load falls back to pickle.load", "m.pkl_01.npy",
			map[string][]byte{"m.pkl_01.npy": []byte("\x80\x02" + payload + "N.")}, "pickle/dangerous-import", formats.Critical, false, false},
		{"missing side file", "m.pkl_02.npy", nil, "joblib/side-file-missing", formats.High, false, false},
		{"compressed legacy pickle: side file looked up beside the compressed file", "m.pkl_01.npy",
			map[string][]byte{"m.pkl_01.npy": []byte("\x80\x02" + payload + "N.")}, "pickle/dangerous-import", formats.Critical, true, false},
		{"benign: compressed legacy pickle with its f8 side file", "m.pkl_01.npy", map[string][]byte{"m.pkl_01.npy": npy("<f8", "\x00\x00\x00\x00\x00\x00\xf0\x3f")}, "", 0, true, false},
		{"network path: numpy.load unpickles remote content", `\\evil\share\x.npy`, nil, "joblib/side-file-escape", formats.Critical, false, false},
		{"path climbing out of the folder", "../x.npy", nil, "joblib/side-file-escape", formats.High, false, false},
		{"path climbing out on Windows (trailing dots)", ".../x.npy", nil, "joblib/side-file-escape", formats.High, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pk := mk(c.side)
			if c.z {
				pk = mkZ(c.side)
			}
			if c.zf {
				pk = zfile(pk)
			}
			if err := os.WriteFile(filepath.Join(dir, "m.pkl"), pk, 0o644); err != nil {
				t.Fatal(err)
			}
			for n, b := range c.files {
				if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// The pickle alone, as a user scanning one file would.
			res := formatstest.ScanDir(t, false, filepath.Join(dir, "m.pkl"))
			got := formatstest.ResultRules(res, formats.High)
			if c.want == "" {
				if len(got) > 0 || !bytes.Contains([]byte(formatstest.DescribeResult(res)), []byte("joblib/side-file")) {
					t.Fatalf("want the side file reported and nothing at high:\n%s", formatstest.DescribeResult(res))
				}
				return
			}
			for _, r := range formatstest.ResultRules(res, c.min) {
				if r == c.want {
					return
				}
			}
			t.Fatalf("want %s at %s:\n%s", c.want, c.min, formatstest.DescribeResult(res))
		})
	}
}

// TestRealDtypes: joblib.dump of every numpy dtype kind (testdata/dtypes,
// made by make.py with Debian's joblib 1.2.0), protocols 2-5 and gzip,
// scans clean in the strict profile: numpy's size rules match real files.
func TestRealDtypes(t *testing.T) {
	files, _ := filepath.Glob("testdata/dtypes/*joblib*")
	if len(files) < 5 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := scan(t, filepath.Base(f), data, formats.Strict)
			if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
				t.Fatalf("false alarm on real joblib output:\n%s", formatstest.Describe(res))
			}
		})
	}
}

// TestProvenDifferential: testdata/readers/differential.joblib, proved by
// make.py: joblib.load 1.2.0 runs nothing, pickle.load, numpy 1.24
// numpy.load(allow_pickle=True) and torch 1.13 torch.load(weights_only=False)
// run posix.system. The finding names those loaders, not joblib.load.
func TestProvenDifferential(t *testing.T) {
	data, err := os.ReadFile("testdata/readers/differential.joblib")
	if err != nil {
		t.Fatal(err)
	}
	res := scan(t, "differential.joblib", data, formats.Permissive)
	for _, f := range res.Findings {
		if f.Rule == "pickle/joblib-ambiguous" && f.Severity == formats.Critical && f.Import == "posix.system" &&
			strings.Contains(f.Message, "pickle.load, torch.load and numpy.load(allow_pickle=True), not by joblib.load") {
			return
		}
	}
	t.Fatalf("want pickle/joblib-ambiguous critical posix.system naming its loaders (permissive profile too):\n%s", formatstest.Describe(res))
}

// TestRandomArrayBytes: joblib <= 1.1 files (no padding byte, so the plain
// view reads array data as opcodes right after the wrapper) with random
// array contents: the plain view must only report what pickle.load would
// really run, so none of them raises anything at Medium or above. Seeded,
// so a failure names a reproducible case.
func TestRandomArrayBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		n := 1 + rng.IntN(600)
		data := make([]byte, n)
		for k := range data {
			data[k] = byte(rng.IntN(256))
		}
		arr := func(n int) string {
			shape := "M" + string([]byte{byte(n), byte(n >> 8)}) + "\x85"
			return wrapper(u("dtype") + dtype("u1", binint(-1), "K\x00") + u("shape") + shape + u("order") + u("C") + u("numpy_array_alignment_bytes") + "N")
		}
		stream := "\x80\x02}(" + u("a") + arr(n) + string(data) + u("b") + arr(n/2) + string(data[:n/2]) + "u."
		res := scan(t, "r.joblib", []byte(stream), formats.Strict)
		if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
			t.Fatalf("case %d (n=%d, data % x...): false alarm:\n%s", i, n, data[:min(16, n)], formatstest.Describe(res))
		}
	}
}

// TestProvenNumpyRules: testdata/readers/size_lie.joblib and
// flags_true.joblib, proved by make.py with joblib 1.2.0 and numpy 1.24:
// joblib.load runs posix.system in both, because numpy sizes an f8 item
// at 8 bytes whatever the state claims, and reads flags True as the
// object bit (the flags_true payload also runs under pickle.load, which
// reads the same bytes as opcodes; the finding names every loader). Both
// profiles.
func TestProvenNumpyRules(t *testing.T) {
	for _, c := range []struct {
		file  string
		rules []string
	}{
		{"size_lie.joblib", []string{"joblib/size-ambiguous", "pickle/dangerous-import"}},
		{"flags_true.joblib", []string{"joblib/size-ambiguous", "pickle/dangerous-import"}},
	} {
		for _, prof := range []formats.Profile{formats.Strict, formats.Permissive} {
			t.Run(c.file+"/"+string(prof), func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join("testdata/readers", c.file))
				if err != nil {
					t.Fatal(err)
				}
				res := scan(t, c.file, data, prof)
				for _, rule := range c.rules {
					found := false
					for _, f := range res.Findings {
						if f.Rule == rule && f.Severity >= formats.High && (rule != "pickle/dangerous-import" ||
							f.Severity == formats.Critical && f.Import == "posix.system" && strings.HasSuffix(f.Message, "joblib.load]")) {
							found = true
						}
					}
					if !found {
						t.Errorf("want %s:\n%s", rule, formatstest.Describe(res))
					}
				}
			})
		}
	}
}
