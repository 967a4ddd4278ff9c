package joblib_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
	_ "github.com/modelvet/modelvet/formats/joblib"
	_ "github.com/modelvet/modelvet/formats/pickle"
)

func scan(t testing.TB, name string, data []byte, profile formats.Profile) *formats.FileResult {
	o := formats.DefaultOptions()
	o.Profile = profile
	return formatstest.ScanBytes(t, name, data, &o)
}

func has(res *formats.FileResult, rule string, sev formats.Severity, memberPart string) bool {
	for _, f := range res.Findings {
		if f.Rule == rule && f.Severity >= sev && strings.Contains(f.Member, memberPart) {
			return true
		}
	}
	return false
}

// TestBenign: real joblib.dump output (arrays of many dtypes, object
// arrays of plain values, a LogisticRegression, every compression) has no
// finding at High or above; plain-data files have none at Medium either.
func TestBenign(t *testing.T) {
	for _, c := range []struct {
		file    string
		format  string
		profile formats.Profile
	}{
		{"arrays.joblib", "joblib", formats.Strict},
		{"array_p2.joblib", "joblib", formats.Strict},
		{"object_array.joblib", "joblib", formats.Strict},
		{"logreg.joblib", "joblib", formats.Permissive}, // sklearn classes are unknown to the strict profile
		{"arrays.joblib.zlib", "zlib", formats.Strict},
		{"arrays.joblib.gzip", "gzip", formats.Strict},
		{"arrays.joblib.bz2", "bz2", formats.Strict},
		{"arrays.joblib.xz", "xz", formats.Strict},
		{"arrays.joblib.lzma", "lzma", formats.Strict},
		{"arrays.joblib.lz4", "lz4", formats.Strict},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			res := scan(t, c.file, data, c.profile)
			min := formats.Medium
			if c.profile == formats.Permissive {
				min = formats.High
			}
			if r := formatstest.Rules(res, min); len(r) > 0 || res.Format != c.format {
				t.Errorf("want format %s and no finding >= %s:\n%s", c.format, min, formatstest.Describe(res))
			}
			if c.format != "joblib" && res.Details["format:arrays.joblib"] != "joblib" {
				t.Errorf("inflated content not scanned as joblib: %v", res.Details)
			}
		})
	}
	// The sklearn model is an unknown import in strict mode: High, not Critical.
	data, _ := os.ReadFile("testdata/logreg.joblib")
	res := scan(t, "logreg.joblib", data, formats.Strict)
	if !has(res, "pickle/unknown-import", formats.High, "") || has(res, "pickle/dangerous-import", formats.Info, "") {
		t.Errorf("strict sklearn: %s", formatstest.Describe(res))
	}
}

func zfile(payload []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(payload)
	w.Close()
	return append([]byte("ZF"+fmt.Sprintf("%-19s", fmt.Sprintf("0x%x", len(payload)))), z.Bytes()...)
}

func TestMalicious(t *testing.T) {
	evil := []byte("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.")
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	arrays := read("arrays.joblib.zlib")
	for _, c := range []struct {
		name, file string
		data       []byte
		rule       string
		sev        formats.Severity
	}{
		{"object array whose nested pickle calls os.system", "evil_object_array.joblib", read("evil_object_array.joblib"), "pickle/dangerous-import", formats.Critical},
		{"zlib-compressed REDUCE os.system", "evil.joblib.z", read("evil.joblib.z"), "pickle/dangerous-import", formats.Critical},
		{"array bytes that pickle.load would execute", "hidden.joblib", hiddenInArray(), "pickle/joblib-ambiguous", formats.Critical},
		{"old ZF zlib file", "old.pkl", zfile(evil), "pickle/dangerous-import", formats.Critical},
		{"truncated zlib stream", "x.joblib", arrays[:len(arrays)/2], "compressed/truncated", formats.High},
		{"lzma header asking for a 2 GiB dictionary", "x.joblib", append([]byte{0x5d, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 32)...), "compressed/corrupt", formats.High},
		{"corrupt zlib stream", "x.joblib", append(append([]byte(nil), arrays[:40]...), bytes.Repeat([]byte{0xff}, 60)...), "compressed/corrupt", formats.High},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, c.file, c.data, formats.Strict)
			if !has(res, c.rule, c.sev, "") {
				t.Errorf("want %s %s:\n%s", c.sev, c.rule, formatstest.Describe(res))
			}
		})
	}
}

// hiddenInArray is a joblib 0.12-1.1 style stream (no alignment padding)
// whose int8 "array data" is a pickle calling os.system: joblib.load reads
// it as data, pickle.load executes it right after the wrapper's BUILD.
func hiddenInArray() []byte {
	hidden := "cos\nsystem\n(S'id'\ntR."
	var b bytes.Buffer
	b.WriteString("\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(")
	b.WriteString("U\x08subclasscnumpy\nndarray\n")
	b.WriteString(fmt.Sprintf("U\x05shapeK%c\x85", len(hidden)))
	b.WriteString("U\x05orderU\x01C")
	b.WriteString("U\x05dtypecnumpy\ndtype\nU\x02i1\x89\x88\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
	b.WriteString("U\x0aallow_mmap\x89ub")
	b.WriteString(hidden)
	b.WriteString(".")
	return b.Bytes()
}

// TestBomb: a stream inflating far past the ratio cap is stopped.
func TestBomb(t *testing.T) {
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, 9)
	w.Write([]byte{0x80, 2, '('})
	w.Write(make([]byte, 64<<20))
	w.Close()
	o := formats.DefaultOptions()
	o.Limits.MaxRatio = 10
	res := formatstest.ScanBytes(t, "bomb.joblib", z.Bytes(), &o)
	if !has(res, "compressed/ratio-exceeded", formats.High, "") {
		t.Errorf("%s", formatstest.Describe(res))
	}
}

// TestLegacySideFiles: joblib < 0.10 wrote arrays to side files named in
// the pickle; the name is reported, and a path leaving the folder is High.
func TestLegacySideFiles(t *testing.T) {
	mk := func(name string) []byte {
		return []byte(fmt.Sprintf("\x80\x02cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81}(U\x08filenameU%c%sU\x08subclasscnumpy\nndarray\nub.", len(name), name))
	}
	res := scan(t, "old.pkl", mk("old.pkl_01.npy"), formats.Strict)
	if !has(res, "joblib/side-file", formats.Medium, "") || has(res, "joblib/side-file-escape", formats.Info, "") || res.Format != "joblib" {
		t.Errorf("side file: %s", formatstest.Describe(res))
	}
	for _, bad := range []string{"../../etc/x.npy", "C:\\x.npy", "/abs/x.npy"} {
		if res := scan(t, "old.pkl", mk(bad), formats.Strict); !has(res, "joblib/side-file-escape", formats.High, "") {
			t.Errorf("%s: %s", bad, formatstest.Describe(res))
		}
	}
}

// TestOldJoblibNames: the names joblib's own test data gives old files.
// joblib picks a decompressor by magic, never by name, and a reader that
// picks by name (gzip.open) refuses content without its magic: a ".gz"
// holding zlib or "ZF" content is no ambiguity. A ZNDArrayWrapper's
// "_01.npy.z" holds raw array bytes, which no unpickler gets past the
// first byte of. A zfile that does hold a pickle is still scanned as one.
func TestOldJoblibNames(t *testing.T) {
	evil := []byte("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.")
	benign := []byte("\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.")
	var zl bytes.Buffer
	w := zlib.NewWriter(&zl)
	w.Write(benign)
	w.Close()
	for _, c := range []struct {
		name, file string
		data       []byte
		want       string // "" = nothing at Low or above
	}{
		{"joblib_0.9.4.dev0_compressed_cache_size_pickle_py35_np19.gz_01.npy.z: raw zeros", "x.gz_01.npy.z", zfile(make([]byte, 800)), ""},
		{"joblib_0.9.2_compressed_pickle_py27_np17.gz: a ZF file named .gz", "x.gz", zfile(benign), ""},
		{"joblib_0.10.0_compressed_pickle_py27_np17.gz: zlib named .gz", "x.gz", zl.Bytes(), ""},
		// Attack: a pickle behind the same names is scanned all the same.
		{"ZF file of a pickle named like a side file", "x.gz_01.npy.z", zfile(evil), "pickle/dangerous-import"},
		{"ZF file of a pickle named .gz", "x.gz", zfile(evil), "pickle/dangerous-import"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, c.file, c.data, formats.Strict)
			got := formatstest.Rules(res, formats.Low)
			if c.want == "" && len(got) > 0 {
				t.Fatalf("real-shaped file flagged: %s", formatstest.Describe(res))
			}
			if c.want != "" && !has(res, c.want, formats.Critical, "") {
				t.Fatalf("want %s: %s", c.want, formatstest.Describe(res))
			}
		})
	}
}
