package pytorch_test

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/formatstest"
	"github.com/modelvet/modelvet/formats/pickle"
	_ "github.com/modelvet/modelvet/formats/pytorch"
)

// needPickle skips a test whose verdict depends on the pickle opcode
// reader (persistent ids, dangerous imports) while only its stub exists.
func needPickle(t testing.TB) {
	t.Helper()
	res := &formats.FileResult{}
	o := formats.DefaultOptions()
	r := pickle.Scan(formats.NewScope("probe", &o, res), bytes.NewReader([]byte("\x80\x02K\x01.")), 6)
	if r == nil || r.Pickles == 0 {
		t.Skip("the pickle opcode reader (formats/pickle) has not landed: its stub reports nothing")
	}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rezip rewrites a zip member by member (stored, no data descriptors).
// edit returns the new name and content, or keep=false to drop the member.
func rezip(t testing.TB, b []byte, edit func(name string, data []byte) (string, []byte, bool), extra ...[2]string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	put := func(name string, data []byte) {
		fw, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		name, data, keep := edit(f.Name, data)
		if keep {
			put(name, data)
		}
	}
	for _, e := range extra {
		put(e[0], []byte(e[1]))
	}
	w.Close()
	return buf.Bytes()
}

type tcase struct {
	name   string
	file   string // fixture, or
	data   []byte // built bytes
	pickle bool   // verdict needs the pickle reader
	want   string // rule at min or above; "" = nothing at Medium or above
	min    formats.Severity
	format string
}

func run(t *testing.T, cases []tcase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.pickle {
				needPickle(t)
			}
			data, name := c.data, c.file
			if data == nil {
				data = fixture(t, c.file)
			} else if name == "" {
				name = "model.pt"
			}
			res := formatstest.ScanBytes(t, name, data, nil)
			if c.format != "" && res.Format != c.format {
				t.Fatalf("format %s, want %s: %s", res.Format, c.format, formatstest.Describe(res))
			}
			switch {
			case c.want == "":
				if got := formatstest.Rules(res, formats.Medium); len(got) > 0 {
					t.Fatalf("want no finding at medium or above, got %s", formatstest.Describe(res))
				}
			case c.want == "*":
				if len(formatstest.Rules(res, c.min)) == 0 {
					t.Fatalf("want a finding at %s or above, got %s", c.min, formatstest.Describe(res))
				}
			default:
				min := c.min
				if min == 0 {
					min = formats.High
				}
				found := false
				for _, r := range formatstest.Rules(res, min) {
					found = found || r == c.want
				}
				if !found {
					t.Fatalf("want %s at %s or above, got %s", c.want, min, formatstest.Describe(res))
				}
			}
		})
	}
}

func TestPyTorch(t *testing.T) {
	sd := fixture(t, "state_dict_dtypes.pt")
	root := "state_dict_dtypes/"
	ts := fixture(t, "torchscript_tiny.pt")
	run(t, []tcase{
		// Real layouts: no finding at Medium or above.
		{name: "state dict with every common dtype", file: "state_dict_dtypes.pt", pickle: true, format: "pytorch"},
		{name: "checkpoint with Adam optimizer state and epoch", file: "checkpoint_adam.pt", pickle: true, format: "pytorch"},
		{name: "pytorch zip, root folder renamed", file: "renamed_root.pt", pickle: true, format: "pytorch"},
		{name: "pytorch zip rewritten with deflate", file: "deflated.pt", pickle: true, format: "pytorch"},
		{name: "legacy torch.save state dict", file: "legacy_state_dict.pt", pickle: true, format: "pytorch-legacy"},
		{name: "legacy torch.save with optimizer", file: "legacy_checkpoint_adam.pt", pickle: true, format: "pytorch-legacy"},
		{name: "legacy tar layout", file: "legacy_tar.pt", format: "pytorch-tar"},
		{name: "TorchScript module is reported as code", file: "torchscript_tiny.pt", want: "pytorch/torchscript", min: formats.Medium, format: "pytorch"},
		// Attacks.
		{name: "data.pkl replaced by os.system payload", file: "malicious_data_pkl.pt", pickle: true, want: "*", min: formats.Critical},
		{name: "extra pickle member with payload (no loader reads it: High, see TestRecordLoaders)", file: "extra_evil_pkl.pt", pickle: true, want: "pickle/dangerous-import", min: formats.High},
		{name: "legacy torch.save with payload as main pickle", file: "legacy_evil_main.pt", pickle: true, want: "*", min: formats.Critical},
		{name: "legacy tar with payload pickle", file: "legacy_tar_evil.pt", pickle: true, want: "*", min: formats.Critical},
		{name: "storage member removed", file: "missing_storage.pt", pickle: true, want: "pytorch/missing-storage"},
		{name: "storage shorter than the pickle declares", pickle: true, want: "pytorch/storage-too-small", data: rezip(t, sd, func(n string, d []byte) (string, []byte, bool) {
			if n == root+"data/0" {
				d = d[:len(d)-1]
			}
			return n, d, true
		})},
		{name: "members outside the root folder", want: "pytorch/foreign-member", min: formats.Medium, data: rezip(t, sd, func(n string, d []byte) (string, []byte, bool) { return n, d, true }, [2]string{"other/notes.txt", "hi"})},
		{name: "payload pickle outside the root folder", pickle: true, want: "*", min: formats.Critical, data: rezip(t, sd, func(n string, d []byte) (string, []byte, bool) { return n, d, true },
			[2]string{"other/data.pkl", "\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."})},
		{name: "TorchScript code reading files with from_file", want: "pytorch/torchscript-system-call", data: rezip(t, ts, func(n string, d []byte) (string, []byte, bool) {
			if strings.HasSuffix(n, "code/__torch__.py") {
				d = bytes.Replace(d, []byte("return _0"), []byte("_1 = torch.from_file(\"/etc/shadow\", True, 10)\n    return _0"), 1)
			}
			return n, d, true
		})},
		{name: "data.pkl altered after writing (CRC)", want: "archive/crc-mismatch", data: replaceFirst(sd, "OrderedDict", "OrderedDicu")},
		{name: "data descriptor of data.pkl tampered", want: "archive/inconsistent-header", data: func() []byte {
			b := bytes.Clone(sd)
			i := bytes.Index(b, []byte("PK\x07\x08"))
			b[i+8]++ // compressed size
			return b
		}()},
		{name: "zip with local header name differing from central directory", want: "archive/inconsistent-header", data: replaceFirst(sd, root+"data.pkl", root+"data.pk1")},
		{name: "duplicate data.pkl", want: "archive/duplicate-name", data: rezip(t, sd, func(n string, d []byte) (string, []byte, bool) { return n, d, true }, [2]string{root + "data.pkl", "\x80\x02}q\x00."})},
		{name: "legacy stream truncated inside a storage", want: "pytorch/truncated", pickle: true, data: func() []byte {
			b := fixture(t, "legacy_state_dict.pt")
			return b[:len(b)-5]
		}()},
		{name: "legacy stream truncated inside the main pickle", want: "pytorch/malformed", data: fixture(t, "legacy_state_dict.pt")[:200]},
	})
}

func replaceFirst(b []byte, old, new string) []byte {
	out := bytes.Clone(b)
	i := bytes.Index(out, []byte(old))
	if i < 0 || len(old) != len(new) {
		panic("bad replacement " + old)
	}
	copy(out[i:], new)
	return out
}
