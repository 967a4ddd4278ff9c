package mlflow

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modelvet/modelvet/formats"
)

// The environment files MLflow writes beside MLmodel (requirements.txt,
// python_env.yaml, conda.yaml) are installed by `mlflow models serve`,
// `build-docker`, spark_udf and pyfunc.load_model(env_manager=...) with pip
// or conda. Attack class: a dependency that pip fetches from somewhere
// other than the package index by name (a git or https URL, a local path
// or archive, an editable install, another index or an included file)
// runs that source's build code (setup.py) at install time, and nothing
// pins what it is. MLflow writes only "name==version" lines; anything else
// was put there by hand.

const maxEnvFile = 1 << 20

func checkEnv(s *formats.Scope) {
	if !s.OnDisk() {
		return
	}
	dir := filepath.Dir(s.Path())
	e := &envCheck{s: s, dir: dir, seen: map[string]bool{}}
	e.file("requirements.txt")
	for _, name := range []string{"python_env.yaml", "conda.yaml"} {
		b := readBeside(s.Options(), dir, name)
		if b == nil {
			continue
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			s.Report(formats.Finding{Rule: "mlflow/unreadable", Severity: formats.Medium, Member: name, Offset: formats.NoOffset,
				Message: fmt.Sprintf("%s is not valid YAML (%v); the dependencies it installs were not checked", name, err)})
			continue
		}
		var walk func(v any, where string, depth int)
		walk = func(v any, where string, depth int) {
			if depth > 8 {
				return
			}
			switch x := v.(type) {
			case string:
				e.requirement(where, x)
			case []any:
				for i, e := range x {
					walk(e, fmt.Sprintf("%s/%d", where, i), depth+1)
				}
			case map[string]any:
				for k, e := range x {
					if k == "pip" || k == "build_dependencies" || k == "dependencies" {
						walk(e, where+"/"+k, depth+1)
					}
				}
			}
		}
		for _, k := range []string{"dependencies", "build_dependencies"} {
			walk(doc[k], name+"/"+k, 0)
		}
	}
}

// readBeside reads a file beside MLmodel through the scan's opener (the
// check's one pass), so the requirements judged are the bytes hashed.
func readBeside(o *formats.Options, dir, name string) []byte {
	b, err := o.ReadSmallFile(filepath.Join(dir, name), maxEnvFile)
	if err != nil {
		return nil
	}
	return b
}

type envCheck struct {
	s    *formats.Scope
	dir  string
	seen map[string]bool
}

// file judges a requirements file beside MLmodel, each at most once.
func (e *envCheck) file(name string) {
	if e.seen[name] || len(e.seen) > 8 {
		return
	}
	e.seen[name] = true
	if b := readBeside(e.s.Options(), e.dir, name); b != nil {
		for i, line := range strings.Split(string(b), "\n") {
			e.requirement(fmt.Sprintf("%s:%d", name, i+1), line)
		}
	}
}

// requirement reports a requirement pip would not fetch by name from the
// default index. Plain names with version specifiers and markers pass, and
// so do "-r requirements.txt" / "-c constraints.txt" naming a file beside
// MLmodel (what MLflow writes in python_env.yaml), which is judged too.
func (e *envCheck) requirement(where, line string) {
	s := e.s
	l := strings.TrimSpace(line)
	if f := strings.Fields(l); len(f) == 2 && (f[0] == "-r" || f[0] == "-c" || f[0] == "--requirement" || f[0] == "--constraint") &&
		!strings.ContainsAny(f[1], `/\:`) && !strings.HasPrefix(f[1], ".") {
		e.file(f[1])
		return
	}
	if i := strings.Index(l, " #"); i >= 0 {
		l = strings.TrimSpace(l[:i])
	}
	if l == "" || strings.HasPrefix(l, "#") {
		return
	}
	why := ""
	lower := strings.ToLower(l)
	switch {
	case strings.HasPrefix(l, "-"):
		why = "a pip option (" + strings.Fields(l)[0] + ") that installs from another source, another index or another file"
	case strings.Contains(lower, "://") || strings.Contains(lower, "git+") || strings.Contains(lower, "hg+") ||
		strings.Contains(lower, "svn+") || strings.Contains(lower, "bzr+"):
		why = "a URL or version-control source"
	case strings.Contains(l, " @ ") || strings.Contains(l, "@ ") || strings.Contains(l, " @"):
		why = "a direct reference (name @ location)"
	case strings.ContainsAny(l, `/\`) || strings.HasPrefix(l, ".") || strings.HasSuffix(lower, ".whl") ||
		strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".zip") || strings.HasSuffix(lower, ".egg"):
		why = "a local path or archive"
	}
	if why == "" {
		return
	}
	if len(l) > 160 {
		l = l[:160] + "..."
	}
	s.Report(formats.Finding{Rule: "mlflow/dependency-source", Severity: formats.High, Member: where, Offset: formats.NoOffset,
		Message: fmt.Sprintf("the model's environment installs %q, %s: pip runs that source's build code when the environment is created (mlflow models serve, build-docker, env_manager), and nothing pins what it is", l, why)})
}
