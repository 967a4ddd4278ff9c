package all_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestRedTeam scans the red-team attacks of testdata/redteam (made by
// make_redteam.py there, one per attack class, named by it) and checks
// each raises the rule labels.tsv names at or above its severity. Files
// the loader itself refuses are labelled "safe" and must stay below high:
// a scanner that cries wolf on them teaches people to ignore it.
func TestRedTeam(t *testing.T) {
	runLabels(t, filepath.Join(formatstest.RepoRoot(t), "testdata", "redteam"), 40)
}

// TestRedTeam2 scans the second wave (testdata/redteam2/formats, made by
// make_redteam2.py there): parser differentials and loader paths of the
// non-pickle formats, each labelled with its live proof.
func TestRedTeam2(t *testing.T) {
	runLabels(t, filepath.Join(formatstest.RepoRoot(t), "testdata", "redteam2", "formats"), 40)
}

// TestRedTeamContainers is the same check over the container attacks
// (testdata/redteam2/containers, made and shown to the real readers by
// make_containers.py there): two readers seeing two archives, header
// disagreements, duplicate names, tar PAX/GNU tricks, HDF5 dense links,
// bombs in every codec.
func TestRedTeamContainers(t *testing.T) {
	runLabels(t, filepath.Join(formatstest.RepoRoot(t), "testdata", "redteam2", "containers"), 35)
}

// runLabels checks every attack labels.tsv in root lists, and that it
// lists at least atLeast of them.
func runLabels(t *testing.T, root string, atLeast int) {
	f, err := os.Open(filepath.Join(root, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) < 3 {
			t.Fatalf("labels.tsv: bad line %q", line)
		}
		path, rule, sevName := col[0], col[1], col[2]
		n++
		t.Run(path, func(t *testing.T) {
			res := formatstest.ScanDir(t, false, filepath.Join(root, filepath.FromSlash(path)))
			if rule == "safe" {
				if r := formatstest.ResultRules(res, formats.High); len(r) > 0 {
					t.Errorf("the loader refuses this file, yet it got %v:\n%s", r, formatstest.DescribeResult(res))
				}
				return
			}
			min, err := formats.ParseSeverity(sevName)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range formatstest.ResultRules(res, min) {
				if r == rule {
					return
				}
			}
			t.Errorf("want %s at or above %s:\n%s", rule, min, formatstest.DescribeResult(res))
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < atLeast {
		t.Fatalf("labels.tsv lists %d attacks; the corpus has at least %d", n, atLeast)
	}
}
