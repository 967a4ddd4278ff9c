package attest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoExecutingInTotoCalls guards the rule that a verifier never
// executes what it verifies: in in-toto-golang v0.11.0, commands run only
// through RunCommand <- InTotoRun <- RunInspections <- InTotoVerify /
// InTotoVerifyWithDirectory <- VerifySublayouts. None of these may be
// called from this package.
func TestNoExecutingInTotoCalls(t *testing.T) {
	banned := map[string]bool{"RunCommand": true, "InTotoRun": true, "InTotoRecordStart": true, "InTotoRecordStop": true,
		"RunInspections": true, "InTotoVerify": true, "InTotoVerifyWithDirectory": true, "VerifySublayouts": true}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && banned[sel.Sel.Name] {
				t.Errorf("%s: calls %s, which can run layout commands", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			if imp, ok := n.(*ast.ImportSpec); ok && strings.Contains(imp.Path.Value, "os/exec") {
				t.Errorf("%s imports os/exec", name)
			}
			return true
		})
	}
}
