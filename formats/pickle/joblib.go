package pickle

// joblib's NumpyPickler (joblib >= 0.10) pickles a NumpyArrayWrapper in
// place of each array and writes the array's bytes right after the
// wrapper's BUILD, inline in the stream; its NumpyUnpickler reads them
// after that BUILD (numpy_pickle.py read_array). Those bytes are data, not
// opcodes, so the machine skips them exactly as joblib reads them:
//
//	[1 padding-length byte, then that many pad bytes, when the wrapper
//	 has numpy_array_alignment_bytes (joblib >= 1.2)]
//	prod(shape) * dtype.itemsize bytes
//
// For an object dtype the "array" is itself a complete pickle
// (pickle.load of the file handle), which is scanned like any other.
//
// Skipping is what joblib does, but pickle.load on the same file would
// execute those bytes as opcodes: after the scan, the stream is read a
// second time without the skip (readers.go), and what only that view runs
// is reported (pickle/joblib-ambiguous). Sizes follow numpy's rules, not
// the file's claims (joblibsize.go).

var wrapperClasses = map[string]bool{
	"joblib.numpy_pickle.NumpyArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper": true,
}

// legacyWrapperClasses: joblib < 0.10 wrote NDArrayWrapper (arrays in
// side files loaded by numpy.load) and ZNDArrayWrapper (zlib side files);
// NumpyUnpickler.load_build hooks any instance of NDArrayWrapper and its
// subclass, which now live in numpy_pickle_compat.
var legacyWrapperClasses = map[string]bool{
	"joblib.numpy_pickle.NDArrayWrapper":                           true,
	"sklearn.externals.joblib.numpy_pickle.NDArrayWrapper":         true,
	"joblib.numpy_pickle_compat.NDArrayWrapper":                    true,
	"joblib.numpy_pickle.ZNDArrayWrapper":                          true,
	"joblib.numpy_pickle_compat.ZNDArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper":        true,
	"sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper":  true,
	"sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper": true,
}

// zWrapperClasses are the legacy wrappers whose side file is a zlib "zfile"
// of raw array bytes: ZNDArrayWrapper.read (joblib/numpy_pickle_compat.py)
// decompresses it with read_zfile and hands the bytes to
// ndarray.__setstate__, never to numpy.load or pickle.
var zWrapperClasses = map[string]bool{
	"joblib.numpy_pickle.ZNDArrayWrapper":                          true,
	"joblib.numpy_pickle_compat.ZNDArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper":        true,
	"sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper": true,
}

// hookable reports whether BUILD on an instance of cls is joblib's array
// hook.
func hookable(cls string) bool {
	return wrapperClasses[cls] || legacyWrapperClasses[cls]
}
