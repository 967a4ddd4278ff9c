package archive_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

// zipAt writes a zip whose offsets count from base (Go's Writer.SetOffset):
// the bytes are meant to sit base bytes into a file.
func zipAt(t testing.TB, base int64, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.SetOffset(base)
	for _, f := range files {
		fw, err := w.CreateRaw(&zip.FileHeader{Name: f.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(f.data),
			CompressedSize64: uint64(len(f.data)), UncompressedSize64: uint64(len(f.data))})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hiddenInComment puts a second archive in the real end record's comment,
// behind an end record whose comment length (claim) runs past the file:
// Python and miniz open the hidden one, Go the real one.
func hiddenInComment(t testing.TB, visible, hidden []file, claim uint16) []byte {
	good := zipAt(t, 0, visible...)
	hid := zipAt(t, int64(len(good)), hidden...)
	fake := append(bytes.Clone(hid[:len(hid)-2]), byte(claim), byte(claim>>8))
	out := append(bytes.Clone(good[:len(good)-2]), 0, 0)
	binary.LittleEndian.PutUint16(out[len(out)-2:], uint16(len(fake)))
	return append(out, fake...)
}

// secondDirectory builds the prepended-bytes attack: the front holds
// members and a central directory exactly where the real archive's
// unshifted directory offset points, so miniz (and Go, which checks for a
// header there) open the front while Python shifts into the real archive.
func secondDirectory(t testing.TB, front, real []file) ([]byte, bool) {
	inner := zipAt(t, 0, real...)
	e := inner[len(inner)-22:]
	cdSize, cdOff := int(binary.LittleEndian.Uint32(e[12:])), int(binary.LittleEndian.Uint32(e[16:]))
	ev := zipAt(t, 0, front...)
	ee := ev[len(ev)-22:]
	eOff := int(binary.LittleEndian.Uint32(ee[16:]))
	locals, cd := ev[:eOff], ev[eOff:len(ev)-22]
	if len(locals) > cdOff || len(cd) > cdSize {
		return nil, false
	}
	prefix := append(bytes.Clone(locals), make([]byte, cdOff-len(locals))...)
	prefix = append(prefix, cd...)
	prefix = append(prefix, make([]byte, cdSize-len(cd))...)
	return append(prefix, inner...), true
}

var evilPickle = []byte("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.")

func TestZipReaderViews(t *testing.T) {
	benign := []file{{name: "archive/data.pkl", data: []byte("\x80\x02}q\x00.")}, {name: "archive/version", data: []byte("3\n")}}
	evil := []file{{name: "archive/data.pkl", data: evilPickle}, {name: "archive/version", data: []byte("3\n")}}
	bigBenign := []file{{name: "archive/data.pkl", data: append([]byte("\x80\x02X\xc8\x00\x00\x00"), append(bytes.Repeat([]byte("a"), 200), []byte("q\x00.")...)...)}, {name: "archive/version", data: []byte("3\n")}}
	second, ok := secondDirectory(t, evil, bigBenign)
	if !ok {
		t.Fatal("the front archive does not fit before the real directory offset")
	}
	commentOnly := append(zipAt(t, 0, benign...), []byte("built by a tool, no signature here")...)
	binary.LittleEndian.PutUint16(commentOnly[len(commentOnly)-36:], 34)
	overlong := zipAt(t, 0, evil...)
	binary.LittleEndian.PutUint16(overlong[len(overlong)-2:], 0xffff)
	// A member only local headers show: spliced in before the directory,
	// which keeps its own offsets (the visible members come first).
	vis := zipAt(t, 0, benign...)
	ve := vis[len(vis)-22:]
	cdOff := int(binary.LittleEndian.Uint32(ve[16:]))
	hidden := zipAt(t, 0, evil[:1]...)
	hidden = hidden[:binary.LittleEndian.Uint32(hidden[len(hidden)-6:])] // its local header and data only
	stream := append(append(bytes.Clone(vis[:cdOff]), hidden...), vis[cdOff:]...)
	binary.LittleEndian.PutUint32(stream[len(stream)-6:], uint32(cdOff+len(hidden)))
	cases := []struct {
		name      string
		data      []byte
		ambiguous bool
		evil      bool // the other view's pickle must be found
	}{
		{name: "hidden archive behind an end record whose comment overruns the file (Python and miniz view)", data: hiddenInComment(t, benign, evil, 0xffff), ambiguous: true, evil: true},
		{name: "hidden archive behind an end record whose comment overruns by a little", data: hiddenInComment(t, benign, evil, 0x200), ambiguous: true, evil: true},
		{name: "second central directory at the unshifted offset (miniz and Go view)", data: second, ambiguous: true, evil: true},
		{name: "only end record's comment overruns the file: Go refuses, Python opens it", data: overlong, ambiguous: true, evil: true},
		{name: "member only streaming readers see (a local header no directory entry names)", data: stream, evil: true},
		{name: "honest archive with a comment", data: commentOnly},
		{name: "honest archive", data: zipAt(t, 0, benign...)},
		{name: "honest archive behind a stub (no second directory)", data: append(bytes.Repeat([]byte{'#'}, 100), zipAt(t, 100, benign...)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, "m.pt", c.data, nil)
			got := has(res, "archive/ambiguous-archive", formats.High)
			if got != c.ambiguous {
				t.Fatalf("ambiguous-archive %v, want %v:\n%v", got, c.ambiguous, res.Findings)
			}
			if !c.evil {
				return
			}
			// This package registers no pickle analyzer: the view's
			// pickle is reached when its member is handed on for a scan
			// (formats/all TestRedTeamContainers checks the verdict).
			for _, f := range res.Findings {
				if strings.HasPrefix(f.Member, "<archive seen by") && strings.HasSuffix(f.Member, "data.pkl") && strings.Contains(f.Message, "63 70 6f 73 69 78") {
					return
				}
			}
			t.Fatalf("the other view's pickle was not scanned:\n%v", res.Findings)
		})
	}
}

// BenchmarkOpenZip: the zip reader with every reader's view modelled, over
// the container red-team zips (small, many views) and real PyTorch zips.
func BenchmarkOpenZip(b *testing.B) {
	var data [][]byte
	var total int64
	for _, g := range []string{"../../testdata/redteam2/containers/zip/*", "../pytorch/testdata/*.pt"} {
		files, _ := filepath.Glob(g)
		for _, p := range files {
			d, err := os.ReadFile(p)
			if err != nil || !bytes.HasPrefix(d, []byte("PK")) && !bytes.Contains(d[max(0, len(d)-1024):], []byte("PK\x05\x06")) {
				continue
			}
			data = append(data, d)
			total += int64(len(d))
		}
	}
	o := formats.DefaultOptions()
	b.SetBytes(total)
	b.ReportAllocs()
	for range b.N {
		for _, d := range data {
			s := formats.NewScope("b.zip", &o, &formats.FileResult{})
			if a := archive.OpenZip(s, bytes.NewReader(d), int64(len(d))); a != nil {
				a.Close()
			}
		}
	}
}

// TestTarHeaderOverrides: honest long and non-ASCII names (Go's PAX and
// GNU writers) are not taken for a PAX record renaming a member.
func TestTarHeaderOverrides(t *testing.T) {
	write := func(format tar.Format, name string, pax map[string]string, data []byte) []byte {
		var buf bytes.Buffer
		w := tar.NewWriter(&buf)
		if err := w.WriteHeader(&tar.Header{Name: name, Size: int64(len(data)), Mode: 0o644, Typeflag: tar.TypeReg, Format: format, PAXRecords: pax}); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		return buf.Bytes()
	}
	long := strings.Repeat("d", 120) + "/pytorch_model.bin"
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{name: "honest PAX long name", data: write(tar.FormatPAX, long, nil, []byte("x"))},
		{name: "honest GNU long name", data: write(tar.FormatGNU, long, nil, []byte("x"))},
		{name: "honest non-ASCII PAX name", data: write(tar.FormatPAX, "modèle/poids.bin", nil, []byte("x"))},
		// The attacks themselves (renamed, resized, sparse) need bytes Go's
		// writer refuses to produce: they are the tar/ fixtures of
		// testdata/redteam2/containers (TestRedTeamContainers).
		{name: "PAX size record equal to the block's", data: write(tar.FormatPAX, "w.bin", map[string]string{"size": "1"}, []byte("x"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scan(t, "m.tar", c.data, nil)
			if c.want == "" {
				if hi := formatsRules(res); len(hi) > 0 {
					t.Fatalf("false alarm %v:\n%v", hi, res.Findings)
				}
				return
			}
			if !has(res, c.want, formats.High) {
				t.Fatalf("want %s:\n%v", c.want, res.Findings)
			}
		})
	}
}

func formatsRules(r *formats.FileResult) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity >= formats.High && f.Rule != "formats/unrecognized" {
			out = append(out, f.Rule)
		}
	}
	return out
}
