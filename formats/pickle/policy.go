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
//
// Audit rule (issue 9): an entry either returns data (never a callable or
// a module) whatever its arguments, or every callable, class or value it
// passes on is judged where it goes (callSpecs in calls.go: the apply
// _rebuild_from_type_v2, the pass-through scalar, the class arguments of
// copyreg, _reconstruct, _rebuild_wrapper_subclass and defaultdict, the
// import gadgets of importGadgets). Methods a data constructor calls on
// its arguments (__iter__, __index__, __fspath__...) belong to classes
// that were themselves imported, so judged.
var safeGlobals = map[string]bool{}

func init() {
	for _, g := range []string{
		// PyTorch weights_only allowlist.
		"collections.OrderedDict", "collections.Counter",
		// The factory of a defaultdict is itself a global judged on its own.
		"collections.defaultdict",
		"torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer",
		// Lazy modules' placeholders: reduced as cls(requires_grad), an
		// empty tensor; nothing callable comes out.
		"torch.nn.parameter.UninitializedParameter", "torch.nn.parameter.UninitializedBuffer",
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
		// The name ndarrays pickled before NumPy 1.0 carry (numpy/core/
		// _internal.py keeps it for them): ndarray.__new__(subtype, shape,
		// dtype), the same call as multiarray._reconstruct.
		"numpy.core._internal._reconstruct",
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
		// joblib < 0.10 compressed arrays: the bytes come from a zlib side
		// file (sidefile.go); the wrapper itself only holds their names.
		"joblib.numpy_pickle.ZNDArrayWrapper", "sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper",
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
	// numpy's ufuncs (pure element-wise math, no callable or module
	// returned), as _ufunc_reconstruct names them in sklearn
	// FunctionTransformer(np.log1p) and the like. List from numpy 1.24:
	// [n for n in dir(np) if isinstance(getattr(np, n), np.ufunc)].
	for _, mod := range []string{"numpy", "numpy.core.umath", "numpy._core.umath",
		"numpy.core._multiarray_umath", "numpy._core._multiarray_umath"} {
		for _, u := range strings.Fields(numpyUfuncs) {
			safeGlobals[mod+"."+u] = true
		}
	}
}

const numpyUfuncs = `abs absolute add arccos arccosh arcsin arcsinh arctan arctan2 arctanh bitwise_and
bitwise_not bitwise_or bitwise_xor cbrt ceil conj conjugate copysign cos cosh deg2rad degrees divide
divmod equal exp exp2 expm1 fabs float_power floor floor_divide fmax fmin fmod frexp gcd greater
greater_equal heaviside hypot invert isfinite isinf isnan isnat lcm ldexp left_shift less less_equal
log log10 log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or logical_xor matmul
maximum minimum mod modf multiply negative nextafter not_equal positive power rad2deg radians
reciprocal remainder right_shift rint sign signbit sin sinh spacing sqrt square subtract tan tanh
true_divide trunc vecdot`

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
// The value says how the arguments name the import: "module,name"
// (__import__(module) then getattr) or "dotted" (one "a.b.c" string).
var importGadgets = map[string]string{
	"numpy.core._ufunc_reconstruct": "module,name", "numpy._core._ufunc_reconstruct": "module,name",
	"numpy.core.umath._ufunc_reconstruct": "module,name",
	// Dangerous themselves; their calls also say what they would import.
	"torch._utils._import_dotted_name": "dotted", "importlib.import_module": "dotted",
	"pydoc.locate": "dotted", "pkgutil.resolve_name": "dotted", "builtins.__import__": "dotted",
	"torch.serialization._import_dotted_name": "dotted",
}

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
