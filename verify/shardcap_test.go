package verify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShardCountCapped: a signature naming a 1-byte shard size must not
// make a work item per byte of the model (memory exhaustion).
func TestShardCountCapped(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, MaxShards+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := HashModel(dir, HashOptions{Method: MethodShards, ShardSize: 1})
	if err == nil || !strings.Contains(err.Error(), "shards") {
		t.Fatalf("err %v, want the shard cap", err)
	}
	if _, err := HashModel(dir, HashOptions{Method: MethodShards, ShardSize: 4096}); err != nil {
		t.Fatal(err)
	}
}
