package hydra

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// evalResolvers are resolver names that programs commonly register as
// Python's eval (OmegaConf.register_new_resolver("eval", eval) is a
// widespread idiom in research code built on Hydra): resolving
// "${eval:...}" runs its argument as Python.
var evalResolvers = []string{"eval", "exec", "python", "py_eval", "pyeval"}

// CheckValue judges one config string for resolvers that evaluate Python.
// An argument that is only arithmetic over numbers and interpolations
// ("${eval:'${a} * 2'}") is safe; anything with a name in it can call
// code once such a resolver is registered.
func CheckValue(s *formats.Scope, member, value string) {
	if !strings.Contains(value, "${") {
		return
	}
	for i := 0; i < len(value); {
		j := strings.Index(value[i:], "${")
		if j < 0 {
			return
		}
		start := i + j + 2
		name, arg, end := resolverCall(value, start)
		i = end
		for _, r := range evalResolvers {
			if name != r {
				continue
			}
			if arithmetic(arg) {
				break
			}
			sev := formats.High
			if strings.Contains(arg, "__") || strings.Contains(arg, "import") {
				sev = formats.Critical
			}
			shown := arg
			if len(shown) > 120 {
				shown = shown[:120] + "…"
			}
			// Attack class: Python hidden in an interpolation that an
			// eval-registered resolver runs when the config is read.
			s.Report(formats.Finding{Rule: "hydra/eval-resolver", Severity: sev, Member: member, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the value calls the %q resolver with %q, which is not plain arithmetic; programs that register an eval resolver (a common Hydra idiom) run it as Python when the config is resolved", name, shown)})
			return
		}
	}
}

// resolverCall reads "name:arg}" from start (just after "${"), with
// nested interpolations inside arg; it returns where reading stopped.
func resolverCall(v string, start int) (name, arg string, end int) {
	k := start
	for k < len(v) && v[k] != ':' && v[k] != '}' && v[k] != '$' {
		k++
	}
	if k >= len(v) || v[k] != ':' {
		return "", "", max(k, start)
	}
	name = strings.TrimSpace(v[start:k])
	depth := 1
	for e := k + 1; e < len(v); e++ {
		switch {
		case v[e] == '$' && e+1 < len(v) && v[e+1] == '{':
			depth++
			e++
		case v[e] == '}':
			depth--
			if depth == 0 {
				return name, v[k+1 : e], e + 1
			}
		}
	}
	return name, v[k+1:], len(v) // unterminated: judge what is there
}

// arithmetic reports whether an eval argument is numbers, operators and
// interpolations only.
func arithmetic(arg string) bool {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(arg); i++ {
		switch {
		case arg[i] == '$' && i+1 < len(arg) && arg[i+1] == '{':
			depth++
			i++
			if depth == 1 {
				b.WriteByte('0')
			}
		case arg[i] == '}' && depth > 0:
			depth--
		case depth > 0:
		default:
			b.WriteByte(arg[i])
		}
	}
	for _, c := range b.String() {
		if !strings.ContainsRune("0123456789 \t+-*/%().,<>=!'\"eE", c) {
			return false
		}
	}
	return true
}
