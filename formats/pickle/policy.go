package pickle

import (
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// The import policy as data. A pickle can only do harm through the
// callables and classes it imports (GLOBAL, STACK_GLOBAL, INST): every
// other opcode builds plain containers. So the policy is a judgement of
// "module.qualname" strings, in this order:
//
//  1. an exact entry of safeGlobals is Safe (it names exactly one object
//     whose construction or call cannot reach code, files or the network);
//  2. anything that reaches a dangerous module or attribute is Dangerous,
//     including through a dotted qualname or a module re-export;
//  3. an entry of the user's allow list is Safe;
//  4. everything else is Unknown.

// safeGlobals are the globals real model files use and that cannot run
// code. Sources:
//   - torch/_weights_only_unpickler.py _get_allowed_globals() (torch 1.13
//     to 2.x): the rebuild functions, storages, tensor classes, dtypes,
//     torch.Size, torch.device, layouts, memory formats, qschemes,
//     collections.OrderedDict/Counter, _codecs.encode, builtins
//     set/frozenset/bytearray/complex/slice;
//   - numpy's ndarray.__reduce__ / dtype.__reduce__ / scalar reduce and
//     pickle-5 buffer path (_frombuffer), numpy.random state constructors;
//   - joblib's NumpyPickler wrappers;
//   - copyreg's reconstructors, whose class argument is itself a global
//     judged on its own.
var safeGlobals = map[string]bool{}

func init() {
	for _, g := range []string{
		// PyTorch weights_only allowlist.
		"collections.OrderedDict", "collections.Counter",
		// The factory of a defaultdict is itself a global judged on its own.
		"collections.defaultdict",
		"torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer",
		"torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
		"torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
		"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
		"torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_sparse_csr_tensor",
		"torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_device_tensor_from_numpy",
		"torch._utils._rebuild_device_tensor_from_cpu_tensor",
		"torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_qtensor",
		"torch._utils._rebuild_wrapper_subclass",
		// _rebuild_from_type_v2(func, new_type, args, state): func and
		// new_type are globals of their own, judged separately.
		"torch._tensor._rebuild_from_type_v2",
		"torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.storage._StorageBase",
		"_codecs.encode", // Python 2-compatible bytes: _codecs.encode(str, 'latin1')
		"builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.complex", "builtins.slice",
		"builtins.range", "builtins.bytes", "builtins.str", "builtins.int", "builtins.float",
		"builtins.bool", "builtins.tuple", "builtins.list", "builtins.dict", "builtins.object",
		// NumPy array, dtype and scalar reconstruction.
		"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
		"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
		"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
		"numpy.ndarray", "numpy.dtype", "numpy.ma.core._mareconstruct",
		// ndarray subclasses numpy ships: reconstructed through
		// _reconstruct/_mareconstruct and ndarray.__setstate__ (or
		// MaskedArray's, which only sets data and mask); no code runs.
		"numpy.matrix", "numpy.matrixlib.defmatrix.matrix", "numpy.recarray", "numpy.record",
		"numpy.core.records.recarray", "numpy.core.records.record",
		"numpy._core.records.recarray", "numpy._core.records.record", "numpy.ma.core.MaskedArray",
		// import gadgets whose calls are judged by what they import (importGadgets)
		"numpy.core._ufunc_reconstruct", "numpy._core._ufunc_reconstruct", "numpy.core.umath._ufunc_reconstruct",
		"numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__generator_ctor",
		"numpy.random._pickle.__bit_generator_ctor", "numpy.random.__RandomState_ctor",
		"numpy.random.mtrand.RandomState",
		// joblib's array wrappers (the array bytes follow inline; see joblib.go).
		"joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
		"joblib.numpy_pickle.NDArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
		// copyreg reconstructors: the class they instantiate is a global of
		// its own on the stack and is judged where it is imported.
		"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
		// Plain value types seen in checkpoints' metadata.
		"datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
		"decimal.Decimal", "fractions.Fraction", "uuid.UUID",
		// Path objects are inert values (Lightning hparams); pathlib as a
		// module stays denied, so PosixPath.write_text and the like are not.
		"pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "pathlib.Path",
	} {
		safeGlobals[g] = true
	}
	for _, d := range []string{
		"float16", "float32", "float64", "bfloat16", "half", "float", "double",
		"complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf",
		"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "short", "int", "long",
		"quint8", "qint8", "qint32", "quint4x2", "quint2x4",
		"float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
		"bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
		// sub-byte and packed dtypes of torch 2.3+ (torch.storage._new_dtypes)
		"uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
		"int1", "int2", "int3", "int4", "int5", "int6", "int7", "float4_e2m1fn_x2",
		// layouts, memory formats, quantization schemes
		"strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "jagged",
		"contiguous_format", "channels_last", "channels_last_3d", "preserve_format",
		"per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
		"per_channel_affine_float_qparams",
	} {
		safeGlobals["torch."+d] = true
	}
	// Storage and legacy tensor classes, CPU and CUDA.
	for _, t := range []string{"Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte",
		"Bool", "ComplexFloat", "ComplexDouble", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4"} {
		safeGlobals["torch."+t+"Storage"] = true
		safeGlobals["torch.cuda."+t+"Storage"] = true
		safeGlobals["torch."+t+"Tensor"] = true
		safeGlobals["torch.cuda."+t+"Tensor"] = true
	}
	safeGlobals["torch.storage._LegacyStorage"] = true
}

// dangerousModules are modules every attribute of which is denied, with
// their sub-modules. Sources: the union of picklescan's _unsafe_globals,
// modelscan's unsafe_globals (settings.py) and fickling's UNSAFE_IMPORTS,
// plus the published picklescan bypasses (GHSA advisories: profilers,
// debuggers, idlelib, lib2to3, doctest, trace, ensurepip, venv...) and
// modules that run processes, open files or sockets, load code or
// deserialize further data. Each line says the class of attack.
var dangerousModules = map[string]bool{}

func init() {
	for _, m := range []string{
		// process execution and the interpreter itself
		"os", "posix", "nt", "_posixsubprocess", "subprocess", "commands", "popen2", "pty", "sys",
		"platform", "_winapi", "msvcrt", "_aix_support", "_osx_support", "_pyrepl", "pydoc", "webbrowser",
		"signal", "resource", "faulthandler",
		// running code from strings or files
		"runpy", "code", "codeop", "pdb", "bdb", "timeit", "cProfile", "profile", "_lsprof", "trace",
		"doctest", "idlelib", "lib2to3", "test", "importlib", "imp", "zipimport", "pkgutil", "types",
		"ctypes", "_ctypes", "cffi", "sitecustomize", "site", "inspect", "dis", "ast", "compileall",
		"py_compile", "IPython", "jinja2", "mako",
		// deserializers of further data (code objects, pickles)
		"pickle", "_pickle", "cPickle", "pickletools", "marshal", "shelve", "dill", "cloudpickle", "joblib.load",
		"yaml", "jsonpickle", "dbm",
		// files and folders
		"shutil", "tempfile", "glob", "pathlib", "io", "_io", "fileinput", "filecmp", "zipfile", "tarfile",
		"linecache", "mmap", "sqlite3", "_sqlite3",
		// network
		"socket", "_socket", "ssl", "_ssl", "http", "httplib", "urllib", "urllib2", "urllib3", "requests",
		"aiohttp", "httpx", "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "nntplib", "xmlrpc",
		"xmlrpclib", "socketserver", "SocketServer", "asyncio", "asyncore", "asynchat", "selectors",
		"select", "smtpd", "mailbox", "paramiko",
		// concurrency: start processes or threads running a target
		"multiprocessing", "threading", "_thread", "thread", "concurrent", "sched",
		// packaging: installs and runs code
		"venv", "ensurepip", "pip", "setuptools", "distutils", "pkg_resources",
		// ML frameworks' own loaders and code runners (published bypasses)
		"torch._inductor", "torch._dynamo", "torch.hub", "torch.jit", "torch.fx", "torch.package",
		"torch.utils.collect_env", "torch.utils.bottleneck", "torch.utils._config_module",
		"torch.utils.data.datapipes", "torch.utils.cpp_extension", "torch.distributed", "torch._export",
		"torch.testing", "torch.onnx", "torch.compiler", "torch._functorch",
		"numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "numpy.lib.npyio",
		"numpy.lib._npyio_impl", "numpy.lib.format",
		"keras.utils", "tensorflow", "pandas.io", "sklearn.utils._testing",
		"logging.config", "logging.handlers",
		// more code runners: Tcl eval, completer eval, marshal'd profiles,
		// mailcap's shell commands, exit hooks, GC callbacks, shells
		"tkinter", "_tkinter", "Tkinter", "turtle", "rlcompleter", "pstats", "modulefinder", "mailcap",
		"antigravity", "atexit", "unittest", "zipapp", "wsgiref", "getpass", "fcntl", "winreg", "_winreg",
		"transformers.dynamic_module_utils", "huggingface_hub", "boto3", "botocore", "invoke", "fabric",
		"sh", "plumbum", "pexpect", "psutil", "docker", "git", "numexpr", "sympy.parsing",
		// site's help() and license() objects (help pages through $PAGER,
		// a shell command), CGI helpers that dump the environment or write
		// tracebacks to files, the pure-Python io module (opens files)
		"_sitebuiltins", "cgi", "cgitb", "_pyio",
	} {
		dangerousModules[m] = true
	}
}

// dangerousGlobals are single attributes of otherwise-unlisted modules
// (with everything reached through them).
var dangerousGlobals = map[string]bool{}

func init() {
	for _, g := range []string{
		// builtins that run code, import, reach attributes or open files
		"builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile", "builtins.open",
		"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.__import__",
		"builtins.apply", "builtins.breakpoint", "builtins.input", "builtins.raw_input", "builtins.file",
		"builtins.reload", "builtins.globals", "builtins.locals", "builtins.vars", "builtins.help",
		"builtins.exit", "builtins.quit", "builtins.__loader__", "builtins.__build_class__",
		"builtins.memoryview", "builtins.type", "builtins.super", "builtins.classmethod",
		"builtins.staticmethod", "builtins.property", "builtins.dir", "builtins.map", "builtins.filter",
		"builtins.sorted", "builtins.min", "builtins.max", "builtins.iter", "builtins.next",
		"builtins.print", "builtins.hasattr", "builtins.callable", "builtins.enumerate", "builtins.zip",
		// gadgets: call or reach arbitrary attributes of what they are given
		"operator.attrgetter", "operator.methodcaller", "operator.itemgetter", "operator.call",
		"_operator.attrgetter", "_operator.methodcaller", "_operator.itemgetter", "_operator.call",
		"functools.reduce", "functools.partialmethod", "functools.singledispatch",
		"copyreg.add_extension", "copyreg.remove_extension", "copyreg.pickle", "copyreg.constructor",
		"codecs.open", "codecs.EncodedFile", "codecs.StreamReaderWriter", "codecs.getreader",
		// loaders of pickles or code in ML libraries
		"torch.load", "torch.serialization.load", "torch.serialization._load",
		"torch.serialization._legacy_load", "torch._load_global_deps",
		"torch.classes", "torch.ops", "torch._C._jit_set_profiling_executor", "torch._C.import_ir_module",
		"torch._C.import_ir_module_from_buffer", "torch.library",
		"numpy.load", "numpy.loads", "numpy.fromfile", "numpy.tofile", "numpy.save", "numpy.savez",
		"numpy.savetxt", "numpy.loadtxt", "numpy.genfromtxt", "numpy.memmap", "numpy.core.memmap",
		"numpy._core.memmap", "numpy.DataSource", "numpy.lib._datasource",
		"joblib.load", "joblib.numpy_pickle.load", "joblib.dump", "joblib.numpy_pickle.dump",
		"joblib.numpy_pickle_utils", "joblib._memmapping_reducer", "joblib.parallel", "joblib.Parallel",
		"sklearn.externals.joblib.load", "sklearn.externals.joblib.numpy_pickle.load",
		"pandas.read_pickle", "pandas.read_csv", "pandas.eval", "pandas.core.computation",
		"keras.models.load_model", "keras.saving", "uuid._get_command_stdout", "uuid._popen",
		"uuid._ifconfig_getnode", "uuid._ip_getnode", "uuid._arp_getnode", "uuid._lanscan_getnode",
		"uuid._netstat_getnode", "uuid._ipconfig_getnode", "uuid._netbios_getnode",
		"logging.FileHandler", "logging.basicConfig", "logging.config",
		"zipimport.zipimporter", "gc.get_objects", "gc.get_referrers", "weakref.finalize",
		"sympy.sympify", "sympy.core.sympify.sympify",
		// typing evaluates string annotations with eval(): a ForwardRef
		// holding source code is run by _eval_type / get_type_hints
		"typing._eval_type", "typing.get_type_hints", "typing.ForwardRef", "typing._type_check",
		// TorchScript/mobile loaders in torch._C: they load and run
		// serialized programs from a path or buffer
		"torch._C._load_for_lite_interpreter", "torch._C._load_for_lite_interpreter_from_buffer",
		"torch._C._load_jit_module_from_bytes", "torch._C._load_jit_module_from_file",
		"torch._C._import_ir_module_from_package", "torch._C.CompilationUnit",
		"torch._C._jit_script_compile", "torch._C._jit_script_class_compile",
		"torch.utils.model_zoo", "torch.utils.checkpoint",
	} {
		dangerousGlobals[g] = true
	}
}

// dangerousComponents are names that, met anywhere in a dotted path after
// the first component, mean the path reaches something dangerous: a module
// re-exported as an attribute (torch.serialization.os is os) or an
// attribute that escapes to code (__globals__, __subclasses__).
var dangerousComponents = map[string]bool{
	"os": true, "posix": true, "nt": true, "sys": true, "subprocess": true, "builtins": true,
	"__builtin__": true, "__builtins__": true, "pty": true, "socket": true, "shutil": true,
	"pickle": true, "_pickle": true, "cPickle": true, "marshal": true, "importlib": true,
	"ctypes": true, "runpy": true, "commands": true, "_posixsubprocess": true, "io": true, "_io": true,
	"eval": true, "exec": true, "execfile": true, "compile": true, "__import__": true,
	"getattr": true, "setattr": true, "delattr": true, "globals": true, "locals": true, "vars": true,
	"system": true, "popen": true, "Popen": true, "spawn": true, "check_output": true, "check_call": true,
	"__globals__": true, "__code__": true, "__subclasses__": true, "__bases__": true, "__base__": true,
	"__mro__": true, "__class__": true, "__dict__": true, "__getattribute__": true, "__getattr__": true,
	"__setattr__": true, "__reduce__": true, "__reduce_ex__": true, "__init_subclass__": true,
	"__loader__": true, "__spec__": true, "__func__": true, "__self__": true, "__closure__": true,
	"__call__": true, "__new__": true, "__init__": true, "__setstate__": true, "__module__": true,
	"load": true, "loads": true, "_loads": true, "load_model": true,
	"run": true, "runcode": true, "runctx": true, "runeval": true, "runsource": true, "runcall": true,
	"run_path": true, "run_module": true, "_run_code": true, "import_module": true, "open": true,
	"FileIO": true, "breakpoint": true, "urlopen": true, "execWrapper": true, "locate": true,
	"resolve_name": true, "__import_module__": true, "pipepager": true, "pipe_pager": true,
	// methods that write, delete or run files when reached as an unbound
	// attribute (numpy.ndarray.tofile(arr, path), ndarray.dump pickles to
	// a path, PurePath-style writers, process spawners of any module)
	"tofile": true, "dump": true, "write_text": true, "write_bytes": true, "rmtree": true,
	"unlink": true, "symlink_to": true, "fork_exec": true, "spawnv": true, "spawnve": true,
	"spawnl": true, "spawnlp": true, "spawnvp": true, "execv": true, "execve": true, "execvp": true,
	"startfile": true, "getoutput": true, "getstatusoutput": true, "call_tracing": true,
	"posix_spawn": true, "posix_spawnp": true, "spawnle": true, "spawnlpe": true, "spawnvpe": true,
	"execl": true, "execle": true, "execlp": true, "execlpe": true, "execvpe": true, "forkpty": true,
	"rename": true, "renames": true, "rmdir": true, "removedirs": true, "truncate": true, "chmod": true,
	"chown": true, "kill": true, "killpg": true, "putenv": true,
}

// reexported are module names that, reached as an attribute of another
// module (x.y.webbrowser), are that module: components are checked against
// them in qualnames. Names that are also common method names (run, test,
// select, signal) are left to dangerousComponents or not checked.
var reexported = map[string]bool{
	"pty": true, "shutil": true, "runpy": true, "webbrowser": true, "multiprocessing": true,
	"asyncio": true, "tempfile": true, "urllib": true, "urllib2": true, "requests": true, "pdb": true,
	"bdb": true, "timeit": true, "cProfile": true, "venv": true, "pip": true, "dill": true,
	"cloudpickle": true, "pydoc": true, "threading": true, "_thread": true, "httplib": true,
	"ensurepip": true, "setuptools": true, "distutils": true, "pkgutil": true, "zipimport": true,
	"_ctypes": true, "ssl": true, "_socket": true, "platform": true, "codeop": true, "imp": true,
}

// nestedLoaders are callables whose bytes argument is itself unpickled:
// the argument is scanned as a nested pickle so its content is reported.
// torch.storage._load_from_bytes is how pickle.dump of a tensor (not
// torch.save) stores it: a torch.save stream inside the pickle. It is not
// on the dangerous list because what it loads is scanned in full; as an
// unknown import it still fails the strict profile, like every other
// non-weights_only pickle.
var nestedLoaders = map[string]bool{
	"pickle.loads": true, "pickle._loads": true, "_pickle.loads": true, "cPickle.loads": true,
	"dill.loads": true, "dill._dill.loads": true, "cloudpickle.loads": true,
	"torch.storage._load_from_bytes": true, "torch.load": true, "torch.serialization.load": true,
	"numpy.loads": true, "joblib.load": true, "pickle.Unpickler": true, "_pickle.Unpickler": true,
}

// importGadgets are allowed-looking callables that import a module and
// fetch an attribute named by their (module, name) arguments: the call is
// judged as an import of what the arguments name. numpy pickles ufuncs
// (np.log) this way.
var importGadgets = map[string]bool{
	"numpy.core._ufunc_reconstruct": true, "numpy._core._ufunc_reconstruct": true,
	"numpy.core.umath._ufunc_reconstruct": true,
}

// applyGlobals are allowed functions that call their first argument with
// the items of their third: torch._tensor._rebuild_from_type_v2(func,
// new_type, args, state) returns func(*args). The inner call is judged as
// a call the pickle makes itself.
var applyGlobals = map[string]bool{"torch._tensor._rebuild_from_type_v2": true}

// bytesMakers turn their first argument into bytes a loader may be given;
// the scanner follows them to find nested pickles.
var bytesMakers = map[string]string{
	"_codecs.encode": "latin1", "codecs.encode": "latin1", "builtins.bytes": "latin1", "builtins.bytearray": "latin1",
	"base64.b64decode": "base64", "base64.standard_b64decode": "base64", "base64.urlsafe_b64decode": "base64url",
	"base64.decodebytes": "base64", "base64.decodestring": "base64", "binascii.a2b_base64": "base64",
	"binascii.unhexlify": "hex", "binascii.a2b_hex": "hex", "bytes.fromhex": "hex", "builtins.bytes.fromhex": "hex",
	"codecs.decode": "codec",
}

// classify judges one global.
func classify(module, name string, opts *formats.Options) Verdict {
	full := module + "." + name
	if safeGlobals[full] {
		return Safe
	}
	if isDangerous(module, name) {
		return Dangerous
	}
	// Python 2 names are judged as CPython's unpickler maps them (and, by
	// isDangerous above, as written too).
	if m, n := mapPy2(module, name); m != module || n != name {
		if safeGlobals[m+"."+n] {
			return Safe
		}
		if isDangerous(m, n) {
			return Dangerous
		}
	}
	if opts != nil && userAllowed(module, name, opts.Allow) {
		return Safe
	}
	return Unknown
}

// mapPy2 applies _compat_pickle as Unpickler.find_class does for protocols
// below 3.
func mapPy2(module, name string) (string, string) {
	if v, ok := nameMapping[[2]string{module, name}]; ok {
		return v[0], v[1]
	}
	if m, ok := importMapping[module]; ok {
		return m, name
	}
	return module, name
}

// isDangerous reports whether module.name reaches a dangerous module or
// attribute: through its module path, a listed global, or any dotted
// component (protocol 4+ resolves "a.b.c" names by getattr chains, so
// whatever a component reaches is what the pickle gets).
func isDangerous(module, name string) bool {
	// Both spellings of the builtins module are judged alike.
	if module == "__builtin__" || module == "exceptions" {
		module = "builtins"
	}
	mparts := strings.Split(module, ".")
	for i := range mparts {
		p := strings.Join(mparts[:i+1], ".")
		if dangerousModules[p] || dangerousGlobals[p] {
			return true
		}
		if mparts[i] == "" {
			continue
		}
		// A module path component that is itself a dangerous module
		// (torch.serialization.os is no real module, but a custom
		// finder or sys.modules entry could make it one).
		if i > 0 && (isModuleName(mparts[i]) || isModuleName(strings.TrimLeft(mparts[i], "_"))) {
			return true
		}
	}
	nparts := strings.Split(name, ".")
	path := module
	for _, n := range nparts {
		path += "." + n
		if dangerousGlobals[path] || dangerousModules[path] {
			return true
		}
		if dangerousComponents[n] {
			return true
		}
		// Modules keep private aliases of the modules they use
		// ("import os as _os": tempfile._os, random._os, typing._sys),
		// so a dangerous module is reachable under a leading underscore.
		if bare := strings.TrimLeft(n, "_"); bare != n && (isModuleName(bare) || reexported[bare]) {
			return true
		}
		if mapped, ok := importMapping[n]; ok && dangerousModules[mapped] {
			return true // a Python 2 module name reached as an attribute
		}
		if reexported[n] {
			return true // a re-exported dangerous module (numpy...utils.subprocess)
		}
	}
	return false
}

// isModuleName reports whether a dangerous component is one of the core
// dangerous module names (os, sys, subprocess...), as opposed to an
// attribute name like "load" or a common package word like "types" or
// "io" that real packages use for their own sub-modules.
func isModuleName(c string) bool {
	switch c {
	case "os", "posix", "nt", "sys", "subprocess", "builtins", "__builtin__", "__builtins__", "pty",
		"socket", "shutil", "pickle", "_pickle", "cPickle", "marshal", "importlib", "ctypes", "runpy",
		"commands", "_posixsubprocess":
		return true
	}
	return false
}

// userAllowed applies Options.Allow: "module.qualname" exactly, or
// "pkg.*" for the plain (undotted) names of pkg and of its sub-modules
// ("sklearn.*" trusts sklearn.linear_model._logistic.LogisticRegression,
// as the README documents: class-pickling libraries keep their classes in
// private sub-modules). The denylist is applied before the allow list, so
// an entry never admits a dangerous import.
func userAllowed(module, name string, allow []string) bool {
	full := module + "." + name
	for _, a := range allow {
		if a == full {
			return true
		}
		pkg, ok := strings.CutSuffix(a, ".*")
		if !ok || pkg == "" || strings.Contains(name, ".") {
			continue
		}
		if module == pkg || strings.HasPrefix(module, pkg+".") {
			return true
		}
	}
	return false
}
