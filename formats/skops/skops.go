// Package skops reads skops model files (.skops): a zip whose schema.json
// describes every object as a node with a loader (__loader__) and a type
// (__module__, __class__), plus .npy members for arrays. skops.io.load
// refuses a file whose tree holds a type outside the loader's trusted
// list unless the caller trusts it; this package applies exactly those
// lists (skops/io/_audit.py, _general.py, _numpy.py, _scipy.py,
// _sklearn.py), so what it reports is what skops' get_untrusted_types
// would return, and each type is also judged by the pickle import policy:
// a type that runs commands or code is critical, not only untrusted.
package skops

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/pickle"
	"github.com/modelvet/modelvet/internal/jsonx"
)

func init() {
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "skops",
		Kinds:    []string{"zip"},
		Priority: 30,
		Match:    match,
		Analyze:  analyze,
	})
}

const maxSchema = 256 << 20

// match: a root schema.json. Whether it is a skops schema is decided by
// parsing all of it (a marker searched for in a prefix could be pushed
// past the prefix, or spelled with JSON escapes): see analyze.
func match(a *archive.Archive) bool { return a.Find("schema.json") != nil }

func set(lists ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			m[s] = true
		}
	}
	return m
}

// loaders maps each node loader of skops protocol 2 to the types it trusts
// by default (the default argument of its _get_trusted call). A nil set
// trusts nothing: the node's type is always reported untrusted.
var loaders = map[string]map[string]bool{
	"DictNode":                    set([]string{"builtins.dict", "collections.OrderedDict"}),
	"DefaultDictNode":             set([]string{"collections.defaultdict"}),
	"ListNode":                    set([]string{"builtins.list"}),
	"SetNode":                     set([]string{"builtins.set"}),
	"TupleNode":                   set([]string{"builtins.tuple"}),
	"BytesNode":                   set([]string{"builtins.bytes"}),
	"BytearrayNode":               set([]string{"builtins.bytearray"}),
	"FunctionNode":                set(numpyUfuncs, scipyUfuncs),
	"MethodNode":                  nil,
	"PartialNode":                 nil,
	"TypeNode":                    set(primitiveTypes, containerTypes, numpyDtypes),
	"ConstructorFromReduceNode":   nil,
	"ObjectNode":                  set(sklearnEstimators, sklearnInternal),
	"OperatorFuncNode":            nil,
	"NdArrayNode":                 set(numpyNdarray, numpyDtypes),
	"MaskedArrayNode":             set(numpyMasked),
	"RandomStateNode":             set(numpyRandomState),
	"RandomGeneratorNode":         set(numpyGenerator),
	"DTypeNode":                   nil,
	"SparseMatrixNode":            set(spmatrix),
	"TreeNode":                    set(sklearnTree),
	"LossNode":                    set(allowedLosses),
	"QuantileForestNode":          nil,
	"_DictWithDeprecatedKeysNode": set([]string{"sklearn.covariance._graph_lasso._DictWithDeprecatedKeys"}),
}

// alwaysSafe are loaders whose get_unsafe_set is empty whatever the type.
var alwaysSafe = map[string]bool{"JsonNode": true, "SliceNode": true}

type walker struct {
	s         *formats.Scope
	untrusted map[string]string // type -> first member path where it occurs
	dangerous map[string]string
	ids       map[string]bool
	cached    []cachedRef
	malformed []string
	nodes     int
}

type cachedRef struct{ id, path string }

func analyze(s *formats.Scope, a *archive.Archive) {
	s.SetFormat("skops")
	m := a.Find("schema.json")
	r, n, err := a.Open(m)
	if err != nil {
		return // reported by the archive reader
	}
	defer archive.Release(r)
	bad := func(rule string, format string, args ...any) {
		s.Report(formats.Finding{Rule: rule, Severity: formats.High, Member: "schema.json", Offset: formats.NoOffset, Message: fmt.Sprintf(format, args...)})
	}
	if n > maxSchema {
		bad("skops/malformed", "schema.json is %d bytes, over the %d-byte limit; the object tree was not checked", n, maxSchema)
		return
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		bad("skops/malformed", "schema.json cannot be read: %v", err)
		return
	}
	root, dups, err := jsonx.ParsePython(b, jsonx.Limits{MaxDepth: 900, MaxNodes: 8 << 20})
	if err != nil {
		if !bytes.Contains(b, []byte("__loader__")) && !strings.HasSuffix(strings.ToLower(s.Member()), ".skops") && !strings.HasSuffix(strings.ToLower(s.Path()), ".skops") {
			notSkops(s, a) // some other zip with a schema.json
			return
		}
		// Attack class: a schema skops and this scanner read differently.
		bad("skops/malformed", "schema.json is not valid JSON (%v); the object tree cannot be checked", err)
		return
	}
	if root.Get("__loader__") == nil {
		// skops.io.load starts from the top-level node's __loader__:
		// without one it is not a skops file, whatever its name.
		notSkops(s, a)
		return
	}
	for i, d := range dups {
		if i == 5 {
			break
		}
		// Attack class: Python keeps the last duplicate, other readers
		// the first: a benign __class__ shown to one, a hostile to the other.
		bad("skops/ambiguous", "the key %q appears twice in one object at %s; readers disagree on which value counts", d.Key, d.Path)
	}
	if p := root.Get("protocol"); p != nil {
		s.Detail("skops_protocol", p.Str)
	}
	w := &walker{s: s, untrusted: map[string]string{}, dangerous: map[string]string{}, ids: map[string]bool{}}
	w.walk(root, "", 0)
	for _, c := range w.cached {
		if !w.ids[c.id] {
			w.malformed = append(w.malformed, fmt.Sprintf("%s: CachedNode refers to object id %s, which no node defines", c.path, c.id))
		}
	}
	w.report()
	// Arrays (.npy, loaded with allow_pickle=False), bytes and sparse
	// matrices (.npz) are members of their own.
	for _, m := range a.Members {
		if m.IsDir || m.IsLink || m.Name == "schema.json" {
			continue
		}
		r, size, err := a.Open(m)
		if err != nil {
			continue
		}
		s.ScanMember(m.Name, r, size)
		archive.Release(r)
	}
}

// notSkops scans a zip that only looked like skops member by member.
func notSkops(s *formats.Scope, a *archive.Archive) {
	s.SetFormat("zip")
	archive.ScanMembers(s, a)
}

func str(v *jsonx.Value, k string) (string, bool) {
	x := v.Get(k)
	if x == nil || x.Kind != jsonx.String {
		return "", false
	}
	return x.Str, true
}

func (w *walker) walk(v *jsonx.Value, path string, depth int) {
	if v == nil {
		return
	}
	w.nodes++
	switch v.Kind {
	case jsonx.Array:
		for i, c := range v.Vals {
			w.walk(c, fmt.Sprintf("%s/%d", path, i), depth+1)
		}
	case jsonx.Object:
		if v.Get("__loader__") != nil {
			w.node(v, path)
		}
		for i, k := range v.Keys {
			w.walk(v.Vals[i], path+"/"+k, depth+1)
		}
	}
}

// node judges one node as skops' get_unsafe_set would.
func (w *walker) node(v *jsonx.Value, path string) {
	loader, ok := str(v, "__loader__")
	cls, ok2 := str(v, "__class__")
	mod, ok3 := str(v, "__module__")
	if !ok || !ok2 || !ok3 {
		w.malformed = append(w.malformed, fmt.Sprintf("%s: a node without string __loader__, __class__ and __module__", orRoot(path)))
		return
	}
	if id := v.Get("__id__"); id != nil && loader != "CachedNode" {
		w.ids[id.Str] = true
	}
	typ := mod + "." + cls
	switch {
	case alwaysSafe[loader]:
		return
	case loader == "CachedNode":
		// get_tree returns the memoized node for a known __id__; only an
		// unknown one builds a CachedNode (which then fails to load).
		if id := v.Get("__id__"); id != nil {
			w.cached = append(w.cached, cachedRef{id.Str, orRoot(path)})
		} else {
			w.malformed = append(w.malformed, orRoot(path)+": CachedNode without __id__")
		}
		return
	case loader == "OperatorFuncNode" && mod != "operator":
		w.malformed = append(w.malformed, fmt.Sprintf("%s: OperatorFuncNode of module %q (skops requires operator)", orRoot(path), mod))
	}
	trusted, known := loaders[loader]
	if !known {
		w.malformed = append(w.malformed, fmt.Sprintf("%s: unknown loader %q (for %s); skops cannot load it with this protocol", orRoot(path), loader, typ))
		return
	}
	if !trusted[typ] {
		w.flag(typ, orRoot(path))
	}
	// With duplicate keys Python keeps the last, other readers the
	// first: every spelling of the type is judged (skops/ambiguous is
	// reported for the duplicate itself).
	for _, m := range all(v, "__module__") {
		for _, c := range all(v, "__class__") {
			if t := m + "." + c; t != typ && !trusted[t] {
				w.flag(t, orRoot(path))
			}
		}
	}
	if loader == "MethodNode" {
		// get_unsafe_set adds the bound method itself: obj type + name.
		if obj := v.Get("content").Get("obj"); obj != nil {
			om, _ := str(obj, "__module__")
			oc, _ := str(obj, "__class__")
			fn, _ := str(v.Get("content"), "func")
			w.flag(om+"."+oc+"."+fn, orRoot(path))
		}
	}
}

func (w *walker) flag(typ, path string) {
	// Every split is a way Python may resolve the dotted path.
	danger := false
	for i := 0; i < len(typ); i++ {
		if typ[i] == '.' && pickle.Classify(typ[:i], typ[i+1:], w.s.Options()) == pickle.Dangerous {
			danger = true
			break
		}
	}
	target := w.untrusted
	if danger {
		target = w.dangerous
	}
	if _, seen := target[typ]; !seen {
		target[typ] = path
	}
}

// all returns every string stored under key, duplicates included.
func all(v *jsonx.Value, key string) []string {
	var out []string
	for i, k := range v.Keys {
		if k == key && v.Vals[i].Kind == jsonx.String {
			out = append(out, v.Vals[i].Str)
		}
	}
	return out
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func (w *walker) report() {
	emit := func(m map[string]string, rule string, sev formats.Severity, msg string) {
		types := make([]string, 0, len(m))
		for t := range m {
			types = append(types, t)
		}
		sort.Strings(types)
		for i, t := range types {
			if i == 50 {
				w.s.Reportf(rule, sev, formats.NoOffset, "%d more types were not listed", len(types)-50)
				break
			}
			w.s.Report(formats.Finding{Rule: rule, Severity: sev, Member: "schema.json#" + m[t], Offset: formats.NoOffset, Import: t,
				Message: fmt.Sprintf(msg, t)})
		}
	}
	// Attack class: a type whose import, construction or call runs
	// commands or code (builtins.eval as a FunctionNode, os.system through
	// ConstructorFromReduceNode, operator.methodcaller gadgets).
	emit(w.dangerous, "skops/dangerous-type", formats.Critical,
		"the model names %s, which runs commands, evaluates code or touches files; skops.io.load with it trusted runs that while loading")
	// Attack class: types outside skops' default trusted lists, which
	// skops.io.load refuses unless the caller trusts them; trusting them
	// constructs or calls arbitrary classes.
	sev := formats.High
	if w.s.Options().Profile == formats.Permissive {
		sev = formats.Medium
	}
	emit(w.untrusted, "skops/untrusted-type", sev,
		"the model needs %s, which skops does not trust by default (skops.io.load refuses it unless passed in trusted=); loading with it trusted imports and constructs that type")
	for i, m := range w.malformed {
		if i == 20 {
			break
		}
		w.s.Report(formats.Finding{Rule: "skops/malformed", Severity: formats.High, Member: "schema.json", Offset: formats.NoOffset,
			Message: m + "; the object tree cannot be shown safe"})
	}
}
