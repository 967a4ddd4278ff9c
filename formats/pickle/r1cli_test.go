package pickle_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	_ "github.com/modelvet/modelvet/formats/archive"
	_ "github.com/modelvet/modelvet/formats/joblib"
	_ "github.com/modelvet/modelvet/formats/numpy"
	_ "github.com/modelvet/modelvet/formats/pytorch"
)

func TestR1CLI(t *testing.T) {
	paths := strings.Fields(os.Getenv("R1_PATHS"))
	if len(paths) == 0 {
		t.Skip()
	}
	o := formats.DefaultOptions()
	if os.Getenv("R1_PERM") != "" {
		o.Profile = formats.Permissive
	}
	if a := os.Getenv("R1_ALLOW"); a != "" {
		o.Allow = strings.Split(a, ",")
	}
	for _, p := range paths {
		fr := formats.ScanFile(context.Background(), p, p, &o)
		var fs []string
		for _, f := range fr.Findings {
			if f.Severity >= formats.Medium || os.Getenv("R1_ALL") != "" {
				fs = append(fs, fmt.Sprintf("%s %s [%s] %s", f.Severity, f.Rule, f.Member, f.Import))
			}
		}
		sort.Strings(fs)
		fmt.Printf("%s: %v\n", p, fs)
	}
}
