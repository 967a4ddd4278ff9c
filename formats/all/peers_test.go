package all_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/all"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestPeerCorpora scans every file the other scanners' corpora label and
// checks the exit decision modelvet scan would take with its defaults:
// malicious, not-a-model and unscannable files must fail (exit 1), benign
// ones must pass (exit 0). The corpora are read in place from
// ../shared/peers; nothing is copied.
func TestPeerCorpora(t *testing.T) {
	peers := formatstest.Peers(t)
	for _, corpus := range []string{"picklescan", "modelaudit"} {
		rows := readLabels(t, filepath.Join(peers, corpus, "labels.tsv"))
		t.Run(corpus, func(t *testing.T) {
			got := map[string]int{}
			for _, row := range rows {
				path := filepath.Join(peers, corpus, filepath.FromSlash(row[0]))
				want := row[1]
				t.Run(row[0], func(t *testing.T) {
					opts := formats.DefaultOptions()
					opts.Hash = false
					res, err := formats.Scan(context.Background(), []string{path}, opts)
					if err != nil {
						t.Fatalf("scan: %v", err)
					}
					failing := res.Count(formats.High) > 0
					wantFail := want != "benign"
					if failing != wantFail {
						var b strings.Builder
						for _, f := range res.Files {
							b.WriteString("\n" + f.Path + ": " + formatstest.Describe(f))
						}
						t.Errorf("labelled %s, but modelvet would exit %d:%s", want, map[bool]int{false: 0, true: 1}[failing], b.String())
						return
					}
					got[want]++
				})
			}
			t.Logf("%s: correct by label: %v of %d rows", corpus, got, len(rows))
		})
	}
}

func readLabels(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 2 || parts[0] == "path" {
			continue
		}
		rows = append(rows, [2]string{parts[0], parts[1]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no rows", path)
	}
	return rows
}
