package checks

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/verify"
)

// TestPolicyIgnoreReachesTheSignature: a file the policy's ignore: covers
// is ignored by the signature check too (the scan already ignores it), but
// only files: a changed file that is not ignored still fails, and the
// failure names the policy's ignore: rather than verify's flags, which
// check does not take.
func TestPolicyIgnoreReachesTheSignature(t *testing.T) {
	cases := []struct {
		name   string
		ignore string
		change func(model string)
		ok     bool
		want   string
	}{
		{"an unsigned notes file the policy ignores", "notes/**", func(m string) {
			os.MkdirAll(filepath.Join(m, "notes"), 0o755)
			os.WriteFile(filepath.Join(m, "notes", "readme.txt"), []byte("x"), 0o644)
		}, true, "which the policy ignores"},
		{"a changed signed file the policy ignores", "config.json", func(m string) {
			os.WriteFile(filepath.Join(m, "config.json"), []byte(`{"b":2}`), 0o644)
		}, true, "config.json, which the policy ignores"},
		{"an unsigned file the policy does not ignore", "notes/**", func(m string) {
			os.WriteFile(filepath.Join(m, "extra.bin"), []byte("x"), 0o644)
		}, false, "list it under the policy's ignore:"},
		// The name looks like a shard resource ("path:start:end") of an
		// ignored file, but the signature uses the files method: it is a
		// file of its own, which the policy does not ignore.
		{"an unsigned file named like a shard of an ignored file", `"*.md"`, func(m string) {
			os.WriteFile(filepath.Join(m, "README.md:0:5"), []byte("x"), 0o644)
		}, false, "README.md:0:5 is in the model"},
		{"a changed weights file next to an ignored one", "config.json", func(m string) {
			os.WriteFile(filepath.Join(m, "config.json"), []byte(`{"b":2}`), 0o644)
			os.WriteFile(filepath.Join(m, "model.safetensors"), []byte("W"), 0o644)
		}, false, "model.safetensors changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.Contains(c.name, "shard") {
				t.Skip("Windows file names cannot hold ':'")
			}
			dir := t.TempDir()
			model := filepath.Join(dir, "model")
			os.MkdirAll(model, 0o755)
			os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("w"), 0o644)
			os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"a":1}`), 0o644)
			k, pub := keyPair(t)
			os.WriteFile(filepath.Join(dir, "k.pub"), pub, 0o644)
			if _, _, err := verify.Sign(model, verify.SignOptions{Key: k}); err != nil {
				t.Fatal(err)
			}
			c.change(model)
			p := parse(t, dir, "signature:\n  required: true\n  keys: [k.pub]\nignore: ["+c.ignore+"]\n")
			o, err := Signature(context.Background(), model, p)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(o.Section.Lines, "\n")
			if o.OK != c.ok || !strings.Contains(text, c.want) {
				t.Errorf("ok=%v, want %v; lines:\n%s\nwant %q", o.OK, c.ok, text, c.want)
			}
			if strings.Contains(text, "--ignore") {
				t.Errorf("names a verify flag check does not take:\n%s", text)
			}
		})
	}
}
