package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// shardHeader renders a header holding the named tensors, each nbytes U8.
func shardHeader(names []string, nbytes uint64) []byte {
	var b strings.Builder
	b.WriteString(`{"__metadata__":{"format":"pt"}`)
	for i, n := range names {
		fmt.Fprintf(&b, `,%q:{"dtype":"U8","shape":[%d],"data_offsets":[%d,%d]}`, n, nbytes, uint64(i)*nbytes, uint64(i+1)*nbytes)
	}
	b.WriteString("}")
	h := []byte(b.String())
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	return append(out, h...)
}

// writeShard writes a shard whose data region is a hole (sparse file).
func writeShard(t testing.TB, path string, names []string, nbytes uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := shardHeader(names, nbytes)
	if _, err := f.Write(h); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(h)) + int64(uint64(len(names))*nbytes)); err != nil {
		t.Fatal(err)
	}
}

func writeIndex(t testing.TB, path string, wm map[string]string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": wm})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// shardedModel lays out n shards of tensors layers.<i>.<j>.weight.
func shardedModel(t testing.TB, dir string, shards, perShard int, nbytes uint64) {
	wm := map[string]string{}
	for s := 1; s <= shards; s++ {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s, shards)
		var ts []string
		for j := 0; j < perShard; j++ {
			tn := fmt.Sprintf("model.layers.%d.%d.weight", s, j)
			ts = append(ts, tn)
			wm[tn] = name
		}
		writeShard(t, filepath.Join(dir, name), ts, nbytes)
	}
	writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), wm)
}

func TestShardedRealLayout(t *testing.T) {
	dir := t.TempDir()
	shardedModel(t, dir, 3, 4, 64)
	res := formatstest.ScanDir(t, false, dir)
	if r := formatstest.ResultRules(res, formats.Low); len(r) > 0 {
		t.Errorf("real sharded layout flagged: %s", formatstest.DescribeResult(res))
	}
}

func TestShardIndexAttacks(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		rule  string
	}{
		{"shard named with ../", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors", "y": "../outside.safetensors"})
		}, "shard-index/path-escape"},
		{"shard named with a drive letter", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors", "y": `C:\Windows\evil.safetensors`})
		}, "shard-index/path-escape"},
		{"shard named with a UNC path", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors", "y": `\\server\share\w.safetensors`})
		}, "shard-index/path-escape"},
		{"absolute shard path", func(t *testing.T, dir string) {
			writeIndex(t, filepath.Join(dir, "pytorch_model.bin.index.json"), map[string]string{"y": "/etc/passwd"})
		}, "shard-index/path-escape"},
		{"reserved device name", func(t *testing.T, dir string) {
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"y": "CON.safetensors"})
		}, "shard-index/path-escape"},
		{"missing shard", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors", "y": "b.safetensors"})
		}, "shard-index/missing-shard"},
		{"tensor in two shards", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x", "y"}, 4)
			writeShard(t, filepath.Join(dir, "b.safetensors"), []string{"y"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors", "y": "b.safetensors"})
		}, "shard-index/tensor-in-two-shards"},
		{"shard holding an extra tensor", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x", "backdoor"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors"})
		}, "shard-index/unindexed-tensor"},
		{"shard lacking a mapped tensor", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors", "z": "a.safetensors"})
		}, "shard-index/tensor-missing-from-shard"},
		{"duplicate tensor in weight_map", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "a.safetensors"), []string{"x"}, 4)
			os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map":{"x":"a.safetensors","x":"b.safetensors"}}`), 0o644)
		}, "shard-index/duplicate-key"},
		{"unreferenced shard", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), []string{"x"}, 4)
			writeShard(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), []string{"y"}, 4)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "model-00001-of-00002.safetensors"})
		}, "shard-index/unreferenced-shard"},
		{"pickle weights beside safetensors", func(t *testing.T, dir string) {
			writeShard(t, filepath.Join(dir, "model.safetensors"), []string{"x"}, 4)
			os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("PK"), 0o644)
		}, "safetensors/pickle-beside-safetensors"},
		{"shard is a folder", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "a.safetensors"), 0o755)
			writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors"})
		}, "shard-index/not-regular"},
		{"index not JSON", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map":`), 0o644)
		}, "shard-index/invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.setup(t, dir)
			res := formatstest.ScanDir(t, false, dir)
			if !slices.Contains(formatstest.ResultRules(res, formats.Medium), c.rule) {
				t.Errorf("want %s:%s", c.rule, formatstest.DescribeResult(res))
			}
		})
	}
}

func TestShardLinkOutside(t *testing.T) {
	outside := t.TempDir()
	writeShard(t, filepath.Join(outside, "a.safetensors"), []string{"x"}, 4)
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "a.safetensors"), filepath.Join(dir, "a.safetensors")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	writeIndex(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]string{"x": "a.safetensors"})
	res := formatstest.ScanDir(t, false, dir)
	if !slices.Contains(formatstest.ResultRules(res, formats.High), "shard-index/not-regular") {
		t.Errorf("link leaving the folder not reported by the index check:%s", formatstest.DescribeResult(res))
	}
}

// BenchmarkShardedScan: a 2 GB model in 4 sparse 512 MB shards with real
// headers; the scan reads headers only, so it must take milliseconds.
func BenchmarkShardedScan(b *testing.B) {
	dir := b.TempDir()
	const perShard = 64
	const nbytes = (512 << 20) / perShard
	shardedModel(b, dir, 4, perShard, nbytes)
	for _, hash := range []bool{false, true} {
		b.Run(fmt.Sprintf("hash=%v", hash), func(b *testing.B) {
			b.SetBytes(4 * 512 << 20)
			for range b.N {
				res := formatstest.ScanDir(b, hash, dir)
				if n := res.Count(formats.Low); n != 0 {
					b.Fatalf("findings: %s", formatstest.DescribeResult(res))
				}
			}
		})
	}
}

// TestShardedScanTime asserts the header-only promise without -bench.
func TestShardedScanTime(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 2 GB of sparse files")
	}
	dir := t.TempDir()
	shardedModel(t, dir, 4, 64, (512<<20)/64)
	start := time.Now()
	res := formatstest.ScanDir(t, false, dir)
	el := time.Since(start)
	if res.Count(formats.Low) != 0 {
		t.Fatalf("findings: %s", formatstest.DescribeResult(res))
	}
	t.Logf("2 GB sharded model (4 x 512 MB sparse shards + index), Hash=false: %v", el)
	if el > time.Second {
		t.Errorf("scan took %v; headers only should take well under a second", el)
	}
}
