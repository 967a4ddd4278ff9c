package pytorch

import (
	"fmt"
	"sort"
	"strings"
)

// The TorchScript code judgement, on tokens (tstoken.go).
//
// What runs while loading: torch.jit.load (and torch.load, which hands
// archives with a constants.pkl record to it; before torch 2.6 even with
// weights_only=True) calls a class's __setstate__ for every object of
// that class its pickles hold (torch/csrc/jit/serialization/import.cpp);
// objects are otherwise made without running code. Other dunder methods
// run implicitly from there (operators, len, str, iteration), a module
// call runs forward, a constructor runs the class's methods. So the code
// that may run on load is taken as: __setstate__ and top-level
// statements, every dunder method when there is a __setstate__, and every
// function they may call,
// resolved by name across all code members (an over-approximation: a call
// to x.foo reaches every def named foo; a call nothing resolves may be a
// submodule call and reaches every forward). File, process, network or
// native access there is critical; elsewhere it runs when the model is
// called, and is high.

type tsFunc struct {
	member, class, name string
	off                 int
	calls               []string // last component of each called/used name
	unresolvedCall      bool     // calls something that may be a module (forward)
	uses                []tsUse
}

type tsUse struct {
	text   string // the dotted name as written
	off    int
	what   string // file, process, network, interpreter, native, custom-op, dynamic-attribute
	reason string
	// userName: a common method name (save, load) not rooted at torch;
	// it stands for the code's own def of that name when there is one,
	// which is judged itself.
	userName string
}

// tsProgram is all code members of one archive.
type tsProgram struct {
	funcs   []*tsFunc
	byName  map[string][]int // def name -> funcs
	byClass map[string][]int // class name -> its methods
}

func newTSProgram() *tsProgram {
	return &tsProgram{byName: map[string][]int{}, byClass: map[string][]int{}}
}

type tsScope struct {
	kind   string // "class" or "def"
	name   string
	indent int
	fn     int // index of the def's tsFunc
}

// add parses one member's tokens into functions.
func (p *tsProgram) add(member string, toks []token) {
	top := p.newFunc(&tsFunc{member: member, name: "<top level>"})
	var stack []tsScope
	cur := top
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i == 0 || toks[i-1].kind == tNewline {
			// A logical line: leave the scopes it is not indented under.
			for len(stack) > 0 && t.indent <= stack[len(stack)-1].indent {
				stack = stack[:len(stack)-1]
			}
			cur = top
			for j := len(stack) - 1; j >= 0; j-- {
				if stack[j].kind == "def" {
					cur = stack[j].fn
					break
				}
			}
			if t.kind == tName && (t.text == "class" || t.text == "def") && i+1 < len(toks) && toks[i+1].kind == tName {
				sc := tsScope{kind: t.text, name: toks[i+1].text, indent: t.indent}
				if t.text == "def" {
					class := ""
					for j := len(stack) - 1; j >= 0; j-- {
						if stack[j].kind == "class" {
							class = stack[j].name
							break
						}
					}
					sc.fn = p.newFunc(&tsFunc{member: member, class: class, name: sc.name, off: t.off})
					cur = sc.fn
				}
				stack = append(stack, sc)
				i++
				continue
			}
		}
		if t.kind != tName {
			continue
		}
		afterExpr := false
		if i > 0 && toks[i-1].kind == tOp && toks[i-1].text == "." {
			// Part of a chain already read, unless the chain hangs off
			// an expression: (self).touch(), x[0].save(...).
			if i < 2 || toks[i-2].kind != tOp || (toks[i-2].text != ")" && toks[i-2].text != "]") {
				continue
			}
			afterExpr = true
		}
		parts := []string{t.text}
		j := i + 1
		for j+1 < len(toks) && toks[j].kind == tOp && toks[j].text == "." && toks[j+1].kind == tName {
			parts = append(parts, toks[j+1].text)
			j += 2
		}
		called := j < len(toks) && toks[j].kind == tOp && toks[j].text == "("
		p.judge(cur, parts, afterExpr, called, toks, i, j)
		i = j - 1
	}
}

func (p *tsProgram) newFunc(f *tsFunc) int {
	p.funcs = append(p.funcs, f)
	i := len(p.funcs) - 1
	p.byName[f.name] = append(p.byName[f.name], i)
	if f.class != "" {
		p.byClass[f.class] = append(p.byClass[f.class], i)
	}
	return i
}

// pyKeywords are not names of anything.
var pyKeywords = map[string]bool{
	"def": true, "class": true, "return": true, "if": true, "else": true, "elif": true, "for": true, "while": true,
	"in": true, "is": true, "not": true, "and": true, "or": true, "None": true, "True": true, "False": true,
	"pass": true, "break": true, "continue": true, "raise": true, "assert": true, "with": true, "as": true,
	"import": true, "from": true, "lambda": true, "del": true, "global": true, "nonlocal": true, "try": true,
	"except": true, "finally": true, "yield": true,
}

// calleesNotModules are the callables TorchScript code calls that are
// never a module (no forward behind them): builtins the compiler knows and
// the roots of its qualified names.
var calleesNotModules = map[string]bool{
	"torch": true, "ops": true, "__torch__": true, "math": true, "annotate": true, "unchecked_cast": true,
	"uninitialized": true, "isinstance": true, "len": true, "int": true, "float": true, "bool": true, "str": true,
	"complex": true, "range": true, "enumerate": true, "zip": true, "min": true, "max": true, "abs": true, "list": true,
	"dict": true, "tuple": true, "print": true, "getattr": true, "hasattr": true, "round": true, "divmod": true,
	"sorted": true, "hash": true, "ord": true, "chr": true, "any": true, "all": true, "sum": true, "id": true,
	"Tensor": true, "Optional": true, "List": true, "Dict": true, "Tuple": true, "NoneType": true, "Device": true,
	"Future": true, "fork": true, "wait": true, "CONSTANTS": true, "warnings": true, "typing": true, "NamedTuple": true,
	"Module": true, "Enum": true, "Any": true, "Union": true, "Final": true,
}

// judge records what one dotted name (parts, tokens i..j) means.
func (p *tsProgram) judge(fi int, parts []string, afterExpr, called bool, toks []token, i, j int) {
	f := p.funcs[fi]
	first, last := parts[0], parts[len(parts)-1]
	if afterExpr {
		first = "?"
	}
	if len(parts) == 1 && first == "import" && !afterExpr {
		// Serialized TorchScript never imports (names are qualified:
		// torch.x, ops.ns.x, __torch__.x); an import statement can only
		// bring in an alias the dotted-name checks would not recognise.
		f.uses = append(f.uses, tsUse{text: "import", off: toks[i].off, what: "interpreter", reason: "an import statement, which serialized TorchScript never contains; it can alias a system module under another name"})
		return
	}
	if len(parts) == 1 && pyKeywords[first] {
		return
	}
	text := strings.Join(parts, ".")
	if afterExpr {
		text = "(…)." + text
	}
	if called {
		f.calls = append(f.calls, last)
		if len(p.byName[last]) == 0 && !calleesNotModules[first] {
			f.unresolvedCall = true
		}
	}
	use := func(what, reason string) {
		f.uses = append(f.uses, tsUse{text: text, off: toks[i].off, what: what, reason: reason})
	}
	if what, reason := capability(first, parts, afterExpr, called); what != "" {
		use(what, reason)
		if (last == "save" || last == "load") && first != "torch" && first != "ops" {
			f.uses[len(f.uses)-1].userName = last
		}
		return
	}
	if called && len(parts) == 1 && (first == "getattr" || first == "setattr" || first == "delattr" || first == "hasattr") {
		name, ok := literalArg(toks, j, 1)
		switch {
		case !ok || strings.HasPrefix(name, "__") || !plainAttr(name):
			use("dynamic-attribute", fmt.Sprintf("%s with an attribute name that is not a plain literal (TorchScript itself writes getattr(self, \"0\") for submodules); it can reach dunder attributes or names chosen at run time", first))
		case moduleArg(toks, j):
			use("dynamic-attribute", fmt.Sprintf("%s on a module object (torch, ops, a Python module): the attribute %q is reached by name, past any check of dotted names", first, name))
		default:
			// getattr(x, "from_file") is x.from_file.
			if what, reason := capability("?", []string{"?", name}, true, true); what != "" {
				use(what, reason)
			}
		}
	}
}

// capability classifies a dotted name by what it can reach beyond tensors.
// Each entry says why it is there.
//
// Python module roots and builtins count only when called (os.system(...),
// open(...)): as bare names they are ordinary variables (input, code, io).
func capability(first string, parts []string, afterExpr, called bool) (string, string) {
	last := parts[len(parts)-1]
	if !afterExpr && called && len(parts) > 1 {
		switch first {
		case "os", "posix", "nt", "subprocess", "pty", "multiprocessing", "signal", "shlex":
			return "process", "a Python module that runs programs or controls processes"
		case "sys", "builtins", "__builtin__", "importlib", "runpy", "code", "ctypes", "cffi", "pickle", "marshal", "_pickle", "dill":
			return "interpreter", "a Python module that reaches the interpreter, imports or native code"
		case "socket", "urllib", "http", "requests", "ftplib", "smtplib", "telnetlib", "ssl":
			return "network", "a Python module that opens network connections"
		case "io", "pathlib", "shutil", "tempfile", "glob", "zipfile", "tarfile", "gzip", "bz2", "lzma", "mmap", "fcntl":
			return "file", "a Python module that reads or writes files"
		}
	}
	if !afterExpr && called {
		if len(parts) == 1 {
			switch first { // builtins
			case "eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint", "input", "exit", "quit":
				return "interpreter", "a Python builtin that evaluates code or reaches the interpreter"
			case "open":
				return "file", "Python's open reads or writes any file"
			}
		}
	}
	switch last {
	case "from_file":
		// aten::from_file / Storage.from_file: maps a path into a tensor;
		// with shared=True (MAP_SHARED, O_CREAT) writes to it reach disk.
		return "file", "from_file maps an arbitrary file into a tensor and, with shared=True, creates and writes it"
	case "save", "_save_for_mobile", "_save_to_buffer", "_save_parameters", "save_to_file":
		return "file", "writes data to a file (aten::save is TorchScript's torch.save)"
	case "load", "_load_for_mobile", "_load_parameters", "load_file":
		return "file", "reads and deserializes a file"
	case "load_library", "dlopen", "LoadLibrary":
		return "native", "loads a native shared library: arbitrary code"
	case "system", "popen", "spawnv", "spawnl", "execv", "execve", "execl", "fork", "forkpty", "Popen", "check_output", "check_call", "getoutput":
		if first != "torch" && first != "ops" {
			return "process", "runs a program"
		}
	}
	root := first
	rest := parts[1:]
	if !afterExpr {
		// torch.classes.NS.X, also as __torch__.torch.classes.NS.X in
		// annotations: a C++ class; torch's own namespaces are built in.
		for k := 0; k+2 < len(parts); k++ {
			if parts[k] == "torch" && parts[k+1] == "classes" && (k == 0 || k == 1 && first == "__torch__") && !standardClassNamespaces[parts[k+2]] {
				return "custom-op", fmt.Sprintf("a C++ class of the %q namespace, implemented by a library loaded outside the file", parts[k+2])
			}
		}
	}
	if !afterExpr && first == "torch" && len(parts) > 1 {
		switch parts[1] {
		case "ops":
			root, rest = "ops", parts[2:]
		case "distributed":
			return "network", "torch.distributed opens connections to other processes"
		}
	}
	if !afterExpr && root == "ops" && len(rest) >= 1 && !standardOpNamespaces[rest[0]] {
		if rest[0] == "load_library" {
			return "native", "loads a native shared library: arbitrary code"
		}
		return "custom-op", fmt.Sprintf("an operator of the %q namespace, implemented by native code loaded outside the file", rest[0])
	}
	return "", ""
}

// standardOpNamespaces are operator namespaces built into torch itself
// (the serialized code writes ops.prim.RaiseException, ops.aten.*...).
// standardClassNamespaces are torch.classes namespaces torch registers
// itself (quantized packed params, RNN cell params, XNNPACK, NNAPI).
var standardClassNamespaces = map[string]bool{"quantized": true, "rnn": true, "xnnpack": true, "_nnapi": true, "sparse": true, "quantized_dynamic": true}

var standardOpNamespaces = map[string]bool{"aten": true, "prim": true, "quantized": true, "_quantized": true, "profiler": true, "_caffe2": true}

// literalArg returns argument n (0-based) of the call whose '(' is at
// toks[open] when it is exactly one string literal.
func literalArg(toks []token, open, n int) (string, bool) {
	depth, arg, start := 0, 0, open+1
	for k := open; k < len(toks); k++ {
		t := toks[k]
		if t.kind != tOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				if arg == n {
					return oneString(toks[start:k])
				}
				return "", false
			}
		case ",":
			if depth == 1 {
				if arg == n {
					return oneString(toks[start:k])
				}
				arg++
				start = k + 1
			}
		}
	}
	return "", false
}

// moduleArg reports whether the first argument of the call whose '(' is
// at toks[open] starts with a module name rather than an object.
func moduleArg(toks []token, open int) bool {
	if open+1 >= len(toks) || toks[open+1].kind != tName {
		return false
	}
	switch n := toks[open+1].text; n {
	case "torch", "ops", "__torch__":
		return true
	default:
		what, _ := capability(n, []string{n, "x"}, false, true)
		return what != "" && what != "custom-op"
	}
}

func oneString(ts []token) (string, bool) {
	if len(ts) != 1 || ts[0].kind != tString {
		return "", false
	}
	return ts[0].text, true
}

// plainAttr: an identifier or a submodule index ("0").
func plainAttr(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}

// onLoad marks the functions that may run while the archive loads.
func (p *tsProgram) onLoad() []bool {
	mark := make([]bool, len(p.funcs))
	var queue []int
	push := func(i int) {
		if !mark[i] {
			mark[i] = true
			queue = append(queue, i)
		}
	}
	setstate := false
	for i, f := range p.funcs {
		if f.name == "<top level>" || f.name == "__setstate__" {
			push(i)
			setstate = setstate || f.name == "__setstate__"
		}
	}
	if setstate {
		// Code run from __setstate__ calls dunder methods without naming
		// them (state[0] is __getitem__, a + b is __add__, len(x) is
		// __len__): all of them may run too.
		for i, f := range p.funcs {
			if strings.HasPrefix(f.name, "__") && strings.HasSuffix(f.name, "__") {
				push(i)
			}
		}
	}
	for len(queue) > 0 {
		f := p.funcs[queue[0]]
		queue = queue[1:]
		for _, c := range f.calls {
			for _, k := range p.byName[c] {
				push(k)
			}
			for _, k := range p.byClass[c] { // a constructor
				push(k)
			}
		}
		if f.unresolvedCall {
			for _, k := range p.byName["forward"] {
				push(k)
			}
		}
	}
	return mark
}

// tsFinding is one judged use, ready to report.
type tsFinding struct {
	member string
	off    int
	onLoad bool
	fn     string
	use    tsUse
}

func (p *tsProgram) findings() []tsFinding {
	mark := p.onLoad()
	var out []tsFinding
	for i, f := range p.funcs {
		fn := f.name
		if f.class != "" {
			fn = f.class + "." + f.name
		}
		for _, u := range f.uses {
			if u.userName != "" && len(p.byName[u.userName]) > 0 {
				continue
			}
			out = append(out, tsFinding{member: f.member, off: u.off, onLoad: mark[i], fn: fn, use: u})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].member != out[b].member {
			return out[a].member < out[b].member
		}
		return out[a].off < out[b].off
	})
	return out
}
