package pickle

import "strings"

// The denylist, organised by capability: what a denied name lets a pickle
// do when it is called (or, for a module, when anything in it is). The
// strict profile does not need it to be complete (anything not known-safe
// is already a finding); the permissive profile does, so every entry is a
// class of attack, and names are matched through every dotted component
// and re-export (isDangerous).
//
// Sources, cited per group as [tag]:
//
//	[picklescan] mmaitre314/picklescan scanner.py _unsafe_globals, and its
//	             GHSA advisories (bypasses through profilers, debuggers,
//	             idlelib, lib2to3, doctest, trace, ensurepip, venv...);
//	[modelscan]  protectai/modelscan settings.py unsafe_globals;
//	[fickling]   trailofbits/fickling fickle.py UNSAFE_IMPORTS;
//	[modelaudit] promptfoo/modelaudit suspicious_symbols.py
//	             SUSPICIOUS_GLOBALS / DANGEROUS_MODULES;
//	[issue9]     this project's issue 9 (gadgets that passed all four);
//	[code]       the named function's own source: it does what the
//	             capability says with its arguments (read for this list).
const (
	capProcess = "runs processes, native code or signals"
	capEval    = "evaluates, compiles or executes code"
	capImport  = "imports code by name"
	capFile    = "opens, writes, maps or deletes files"
	capNetwork = "opens network connections"
	capLoader  = "deserializes further data into live objects"
	capAttr    = "returns arbitrary attributes or calls arbitrary callables"
)

// denyGroup is one capability's entries from one set of sources.
type denyGroup struct {
	cap     string
	modules []string // every attribute denied, with sub-modules
	globals []string // single attributes (and what is reached through them)
}

var denyGroups = []denyGroup{
	// [picklescan][modelscan][fickling][modelaudit]; [code] for the
	// platform helpers and the Windows API modules.
	{capProcess, []string{
		"os", "posix", "nt", "_posixsubprocess", "subprocess", "commands", "popen2", "pty", "sys",
		"platform", "_winapi", "msvcrt", "_aix_support", "_osx_support", "webbrowser", "signal",
		"resource", "faulthandler", "multiprocessing", "threading", "_thread", "thread", "concurrent",
		"sched", "ctypes", "_ctypes", "cffi", "numpy.ctypeslib", "win32api", "win32process", "win32com",
		"pywintypes", "winreg", "_winreg", "fcntl", "getpass", "atexit", "psutil", "sh", "plumbum",
		"pexpect", "ptyprocess", "invoke", "fabric", "docker", "git", "antigravity", "mailcap",
	}, []string{
		"uuid._get_command_stdout", "uuid._popen", "uuid._ifconfig_getnode", "uuid._ip_getnode",
		"uuid._arp_getnode", "uuid._lanscan_getnode", "uuid._netstat_getnode", "uuid._ipconfig_getnode",
		"uuid._netbios_getnode", "gc.get_objects", "gc.get_referrers", "weakref.finalize",
		// [issue9] loads shared libraries into the process
		"torch.ops.load_library", "torch.classes.load_library", "torch._C._jit_set_profiling_executor",
	}},
	// [picklescan][fickling][modelaudit]; [issue9] dataclasses._create_fn
	// (exec), torch.utils.benchmark.Timer (timeit), sympy (sympify of a
	// string is eval: sympy.S, sympify, parse_expr, and every Function
	// that sympifies its arguments); [code] numexpr/pandas.eval (eval of
	// expression strings), typing (ForwardRef source run by _eval_type),
	// logging.config.listen (exec of a received config), Tcl eval.
	{capEval, []string{
		"runpy", "code", "codeop", "pdb", "bdb", "timeit", "cProfile", "profile", "_lsprof", "trace",
		"doctest", "idlelib", "lib2to3", "test", "types", "sitecustomize", "site", "inspect", "dis", "ast",
		"compileall", "py_compile", "IPython", "jinja2", "mako", "dataclasses", "torch.utils.benchmark",
		"sympy", "numexpr", "pandas.core.computation", "logging.config", "tkinter", "_tkinter", "Tkinter",
		"turtle", "rlcompleter", "pstats", "modulefinder", "unittest", "zipapp", "_sitebuiltins", "cgi",
		"cgitb", "_pyrepl", "torch._inductor", "torch._dynamo", "torch.jit", "torch.fx", "torch.package",
		"torch._export", "torch.export", "torch.compiler", "torch._functorch", "torch.testing",
		"torch.utils._config_module", "torch.utils.collect_env", "torch.utils.bottleneck",
		"torch.utils.cpp_extension", "torch.utils.data.datapipes", "numpy.testing", "numpy.f2py",
		"numpy.distutils", "sklearn.utils._testing", "keras.utils", "tensorflow",
		"transformers.dynamic_module_utils", "hydra.utils", "hydra._internal", "omegaconf.grammar",
		"asteval", "simpleeval", "RestrictedPython", "js2py", "execnet",
	}, []string{
		"builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile", "builtins.breakpoint",
		"builtins.input", "builtins.raw_input", "builtins.help", "builtins.exit", "builtins.quit",
		"builtins.__build_class__", "builtins.print",
		"typing._eval_type", "typing.get_type_hints", "typing.ForwardRef", "typing._type_check",
		"pandas.eval", "pandas.DataFrame.eval", "pandas.DataFrame.query", "pandas.core.frame.DataFrame.eval",
		"pandas.core.frame.DataFrame.query", "numpy.lib.utils.safe_eval",
		"torch._C._jit_script_compile", "torch._C._jit_script_class_compile", "torch._C.CompilationUnit",
		"torch.library", "torch._ops",
	}},
	// [picklescan][fickling][modelaudit]; [issue9]
	// torch._utils._import_dotted_name; [code] hydra's instantiate and
	// get_method, pkgutil.resolve_name, pydoc.locate, importlib_metadata's
	// entry points, numpy's lookfor (imports every module).
	{capImport, []string{
		"importlib", "imp", "zipimport", "pkgutil", "pydoc", "importlib_metadata", "importlib_resources",
		"pkg_resources", "setuptools", "distutils", "pip", "ensurepip", "venv", "torch.hub",
		"torch.utils.model_zoo", "torch.utils._import_utils", "huggingface_hub", "numpy.lib.utils",
		"numpy.lib._utils_impl",
	}, []string{
		"builtins.__import__", "builtins.__loader__", "builtins.reload",
		"torch._utils._import_dotted_name", "torch.serialization._import_dotted_name",
		"torch._load_global_deps", "torch.classes", "torch.ops",
	}},
	// [picklescan][modelscan][modelaudit]; [issue9] torch.from_file,
	// UntypedStorage.from_file (a shared file map written by item
	// assignment), numpy.memmap/fromfile, torch.save, gzip.GzipFile and
	// numpy.save*; [code] the other compressors' openers, h5py/scipy.io
	// writers, pandas' to_* and read_*, logging file handlers.
	{capFile, []string{
		"shutil", "tempfile", "glob", "pathlib", "io", "_io", "_pyio", "fileinput", "filecmp", "zipfile",
		"tarfile", "linecache", "mmap", "sqlite3", "_sqlite3", "shelve", "dbm", "logging.handlers", "h5py",
		"scipy.io", "numpy.lib.npyio", "numpy.lib._npyio_impl", "numpy.lib.format", "numpy.lib._datasource",
		"pandas.io", "fsspec", "s3fs", "gcsfs", "boto3", "botocore", "joblib.numpy_pickle_utils",
		"joblib._memmapping_reducer",
	}, []string{
		"builtins.open", "builtins.file", "codecs.open", "codecs.EncodedFile", "codecs.StreamReaderWriter",
		"codecs.getreader", "codecs.getwriter", "gzip.open", "gzip.GzipFile", "bz2.open", "bz2.BZ2File",
		"lzma.open", "lzma.LZMAFile",
		"torch.save", "torch.serialization.save", "torch.serialization._save", "torch.serialization._legacy_save",
		"torch.from_file", "torch.utils.checkpoint",
		"numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.fromfile",
		"numpy.tofile", "numpy.memmap", "numpy.core.memmap", "numpy._core.memmap", "numpy.DataSource",
		"numpy.loadtxt", "numpy.genfromtxt", "joblib.dump", "joblib.numpy_pickle.dump",
		"pandas.read_csv", "pandas.read_json", "pandas.read_parquet", "pandas.read_hdf", "pandas.read_excel",
		"pandas.read_sql", "pandas.read_table", "pandas.read_feather", "pandas.read_html",
		"logging.FileHandler", "logging.basicConfig",
	}},
	// [picklescan][modelscan][modelaudit]; [code] the clients of other
	// protocols and RPC libraries.
	{capNetwork, []string{
		"socket", "_socket", "ssl", "_ssl", "http", "httplib", "urllib", "urllib2", "urllib3", "requests",
		"aiohttp", "httpx", "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "nntplib", "xmlrpc",
		"xmlrpclib", "socketserver", "SocketServer", "asyncio", "asyncore", "asynchat", "selectors",
		"select", "smtpd", "mailbox", "paramiko", "wsgiref", "websocket", "websockets", "grpc", "zmq",
		"pycurl", "tornado", "twisted", "torch.distributed", "torch.onnx",
	}, nil},
	// [picklescan][fickling][modelaudit]; [code] torch's and numpy's own
	// loaders; keras' model loaders.
	{capLoader, []string{
		"pickle", "_pickle", "cPickle", "pickletools", "marshal", "dill", "cloudpickle", "yaml",
		"jsonpickle", "keras.saving",
	}, []string{
		"torch.load", "torch.serialization.load", "torch.serialization._load", "torch.serialization._legacy_load",
		"torch._C.import_ir_module", "torch._C.import_ir_module_from_buffer",
		"torch._C._load_for_lite_interpreter", "torch._C._load_for_lite_interpreter_from_buffer",
		"torch._C._load_jit_module_from_bytes", "torch._C._load_jit_module_from_file",
		"torch._C._import_ir_module_from_package",
		"numpy.load", "numpy.loads", "joblib.load", "joblib.numpy_pickle.load", "sklearn.externals.joblib.load",
		"sklearn.externals.joblib.numpy_pickle.load", "pandas.read_pickle", "keras.models.load_model",
		"zipimport.zipimporter",
	}},
	// [picklescan][fickling][modelaudit]; [code]: each returns an
	// attribute named by data, calls what it is given, or rewrites the
	// unpickler's own registries.
	{capAttr, nil, []string{
		"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.apply", "builtins.globals",
		"builtins.locals", "builtins.vars", "builtins.memoryview", "builtins.type", "builtins.super",
		"builtins.classmethod", "builtins.staticmethod", "builtins.property", "builtins.dir", "builtins.map",
		"builtins.filter", "builtins.sorted", "builtins.min", "builtins.max", "builtins.iter", "builtins.next",
		"builtins.hasattr", "builtins.callable", "builtins.enumerate", "builtins.zip",
		"operator.attrgetter", "operator.methodcaller", "operator.itemgetter", "operator.call",
		"_operator.attrgetter", "_operator.methodcaller", "_operator.itemgetter", "_operator.call",
		"functools.reduce", "functools.partialmethod", "functools.singledispatch",
		// [picklescan][modelscan]: partial(os.system, "cmd") is a callable
		// whose target only a later call reveals.
		"functools.partial", "_functools.partial",
		"copyreg.add_extension", "copyreg.remove_extension", "copyreg.pickle", "copyreg.constructor",
		"joblib.parallel", "joblib.Parallel",
	}},
}

// dangerousModules and dangerousGlobals map a denied name to its capability.
var dangerousModules, dangerousGlobals = map[string]string{}, map[string]string{}

func init() {
	for _, g := range denyGroups {
		for _, m := range g.modules {
			dangerousModules[m] = g.cap
		}
		for _, n := range g.globals {
			dangerousGlobals[n] = g.cap
		}
	}
}

// dangerousComponents are names that, met anywhere in a dotted path after
// the first component, mean the path reaches something dangerous: a module
// re-exported as an attribute (torch.serialization.os is os), an
// attribute that escapes to code (__globals__, __subclasses__), or a
// method that runs, imports, loads or writes whatever class it is reached
// through (numpy.ndarray.tofile, UntypedStorage.from_file,
// DataFrame.to_pickle). Sources: [picklescan] advisories for the dunder
// escapes; [issue9] and [code] for the method names.
var dangerousComponents = map[string]string{}

func init() {
	for c, names := range map[string][]string{
		capProcess: {"os", "posix", "nt", "sys", "subprocess", "pty", "ctypes", "commands", "_posixsubprocess",
			"system", "popen", "Popen", "spawn", "check_output", "check_call", "fork_exec", "spawnv", "spawnve",
			"spawnl", "spawnlp", "spawnvp", "execv", "execve", "execvp", "startfile", "getoutput",
			"getstatusoutput", "call_tracing", "posix_spawn", "posix_spawnp", "spawnle", "spawnlpe",
			"spawnvpe", "execl", "execle", "execlp", "execlpe", "execvpe", "forkpty", "kill", "killpg",
			"putenv", "pipepager", "pipe_pager", "load_library"},
		capEval: {"eval", "exec", "execfile", "compile", "breakpoint", "run", "runcode", "runctx", "runeval",
			"runsource", "runcall", "run_path", "run_module", "_run_code", "execWrapper", "_create_fn",
			"sympify", "parse_expr", "timeit", "__code__", "__globals__"},
		capImport: {"builtins", "__builtin__", "__builtins__", "importlib", "runpy", "__import__",
			"import_module", "locate", "resolve_name", "__import_module__", "_import_dotted_name", "__loader__",
			"__spec__"},
		capFile: {"io", "_io", "shutil", "open", "FileIO", "tofile", "dump", "write_text", "write_bytes",
			"rmtree", "unlink", "symlink_to", "rename", "renames", "rmdir", "removedirs", "truncate", "chmod",
			"chown", "from_file", "fromfile", "memmap", "open_memmap", "save", "savez", "savez_compressed",
			"savetxt", "save_file", "to_pickle", "to_csv", "to_parquet", "to_hdf", "to_feather", "to_excel",
			"to_sql", "to_json", "savefig", "write", "writelines", "mkdir", "makedirs", "touch", "remove"},
		capNetwork: {"socket", "urlopen"},
		capLoader:  {"pickle", "_pickle", "cPickle", "marshal", "load", "loads", "_loads", "load_model"},
		capAttr: {"getattr", "setattr", "delattr", "globals", "locals", "vars", "__subclasses__", "__bases__",
			"__base__", "__mro__", "__class__", "__dict__", "__getattribute__", "__getattr__", "__setattr__",
			"__reduce__", "__reduce_ex__", "__init_subclass__", "__func__", "__self__", "__closure__",
			"__call__", "__new__", "__init__", "__setstate__", "__module__"},
	} {
		for _, n := range names {
			dangerousComponents[n] = c
		}
	}
}

// isDangerous reports whether module.name reaches a dangerous module or
// attribute: through its module path, a listed global, or any dotted
// component (protocol 4+ resolves "a.b.c" names by getattr chains, so
// whatever a component reaches is what the pickle gets).
func isDangerous(module, name string) bool { return dangerCap(module, name) != "" }

// dangerCap is isDangerous returning the capability ("" when none).
func dangerCap(module, name string) string {
	// Both spellings of the builtins module are judged alike.
	if module == "__builtin__" || module == "exceptions" {
		module = "builtins"
	}
	mparts := strings.Split(module, ".")
	for i := range mparts {
		p := strings.Join(mparts[:i+1], ".")
		if c := dangerousModules[p] + dangerousGlobals[p]; c != "" {
			return c
		}
		if mparts[i] == "" {
			continue
		}
		// A module path component that is itself a dangerous module
		// (torch.serialization.os is no real module, but a custom
		// finder or sys.modules entry could make it one).
		if i > 0 {
			if isModuleName(mparts[i]) {
				return dangerousComponents[mparts[i]]
			}
			if b := strings.TrimLeft(mparts[i], "_"); isModuleName(b) {
				return dangerousComponents[b]
			}
		}
	}
	path := module
	for _, n := range strings.Split(name, ".") {
		path += "." + n
		if c := dangerousGlobals[path] + dangerousModules[path]; c != "" {
			return c
		}
		if c := dangerousComponents[n]; c != "" {
			return c
		}
		// Modules keep private aliases of the modules they use
		// ("import os as _os": tempfile._os, random._os, typing._sys),
		// so a dangerous module is reachable under a leading underscore.
		if bare := strings.TrimLeft(n, "_"); bare != n && (isModuleName(bare) || reexported[bare]) {
			return "reaches the module " + bare
		}
		if mapped, ok := importMapping[n]; ok && dangerousModules[mapped] != "" {
			return dangerousModules[mapped] // a Python 2 module name reached as an attribute
		}
		if reexported[n] {
			return "reaches the module " + n // a re-exported dangerous module (numpy...utils.subprocess)
		}
	}
	return ""
}
