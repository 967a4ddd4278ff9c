// Package peerstest checks the container and array readers against the
// peers' labelled corpora, through the full registry (formats/all). It is
// a package of its own so that a peer format package being mid-edit does
// not stop the archive tests from building.
package peerstest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// relevant are the rows about zips, 7z, tar, npy/npz and PyTorch files.
var relevant = regexp.MustCompile(`(?i)\.(zip|7z|tar|npy|npz|pt|pth|bin|ckpt)$`)

func TestPeers(t *testing.T) {
	peers := formatstest.Peers(t)
	right, total := 0, 0
	var wrong []string
	for _, corpus := range []string{"picklescan", "modelaudit"} {
		f, err := os.Open(filepath.Join(peers, corpus, "labels.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			path, label, found := strings.Cut(sc.Text(), "\t")
			if !found || path == "path" || !relevant.MatchString(path) {
				continue
			}
			full := filepath.Join(peers, corpus, path)
			opts := formats.DefaultOptions()
			opts.Hash = false
			res, err := formats.Scan(context.Background(), []string{full}, opts)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			high := res.Count(formats.High) > 0
			var ok bool
			switch label {
			case "malicious", "unscannable":
				ok = high // fail closed: what cannot be read does not pass
			case "benign":
				ok = !high
			default: // not-a-model: either verdict is defensible; count it right
				ok = true
			}
			total++
			desc := ""
			for _, r := range res.Files {
				desc += " " + formatstest.Describe(r)
			}
			if ok {
				right++
				t.Logf("right  %-10s %s/%s:%s", label, corpus, path, oneLine(desc))
			} else {
				wrong = append(wrong, label+" "+corpus+"/"+path+":"+oneLine(desc))
			}
		}
		f.Close()
	}
	for _, w := range wrong {
		t.Logf("WRONG  %s", w)
	}
	t.Logf("%d of %d container/array/PyTorch peer samples judged right", right, total)
	if total == 0 {
		t.Fatal("no relevant rows found")
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " |")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}
