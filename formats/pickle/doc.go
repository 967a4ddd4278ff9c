// Package pickle reads Python pickle streams (protocols 0 to 5) as opcodes
// with a symbolic stack machine, and judges every import the stream makes.
// Nothing is ever imported, called or deserialized into live objects.
//
// Files:
//   - reader.go:  bounded forward reader over an io.ReaderAt, with FRAME
//     tracking as pickle.py's _Unframer sees frames;
//   - machine.go, ops.go: the opcode machine (stack, marks, memo) and the
//     protocol 0 text decodings (string-escape, raw-unicode-escape);
//   - value.go:   compact symbolic values (scalars allocate nothing);
//   - scanner.go: findings, nested pickles, multi-pickle streams;
//   - calls.go:   every call judged (callee, apply, pass-through, import
//     gadgets, class arguments, taint through unkept values);
//   - policy.go:  the import policy as data (safe, re-exports, loaders);
//   - denylist.go: the denylist by capability, with sources;
//   - compat.go:  CPython's _compat_pickle tables (generated);
//   - dtypeflags.go, dtypelayout.go: numpy dtype states whose flags deny
//     the objects they hold, or whose fields lie outside their item;
//   - rawbuffer.go: array constructors given raw bytes for object items;
//   - rngstate.go: numpy random generator states indexing outside their buffers;
//   - objlist.go: object array states with fewer items than their shape;
//   - joblib.go:  joblib's inline array data after NumpyArrayWrapper;
//   - joblibsize.go: array sizes as numpy computes them (not as the file claims);
//   - sidefile.go: legacy joblib NDArrayWrapper side files, opened and scanned;
//   - readers.go: one view per plausible loader (plain pickle vs joblib.load),
//     Loaders/ScanWith for containers that know who reads a stream, and the
//     opcodes every unpickler refuses before running anything (a call of a
//     literal, STACK_GLOBAL of a non-str), checked before each step;
//   - analyzer.go: registration and the content sniff.
//
// Rules (all findings carry an offset):
//
//	pickle/dangerous-import   critical  an import that reaches code, files, network, loaders
//	pickle/unknown-import     high (strict) / medium (permissive); high in both when an import gadget makes it
//	pickle/opaque-call        high      a call whose callee is not an imported name, or whose arguments were not kept
//	pickle/mutate-global      high      APPEND/SETITEM on an imported object
//	pickle/tensor-hooks       high      a tensor given backward hooks (torch.save writes none)
//	pickle/build-on-global    critical  BUILD sets attributes of a class or module
//	pickle/nonliteral-global  high      STACK_GLOBAL of values computed at load time
//	pickle/setstate-override  high      BUILD state defining __setstate__/__reduce__...
//	pickle/forged-dtype-flags high      a numpy dtype state holding objects without NPY_ITEM_HASOBJECT|NPY_LIST_PICKLE
//	pickle/forged-dtype-layout high     a numpy dtype state with a field or subarray outside its item
//	pickle/raw-object-buffer  high      numpy.ndarray/recarray given a raw buffer for a dtype that may hold objects
//	pickle/rng-state-bounds   high      a numpy random generator state with pos/buffer_pos outside its buffers
//	pickle/object-array-short-list high an object array state with fewer list items than its shape
//	pickle/ext-code           high      EXT1/2/4 (the extension registry is empty by default)
//	pickle/nested-pickle      medium (content scanned as a member); high when a loader gets data built at load time
//	pickle/nested-limit       high      nested pickles too deep or too many
//	pickle/malformed          high      CPython's unpickler stops here
//	pickle/truncated          high      data ends inside an opcode, or no STOP
//	pickle/frame-mismatch     high      _pickle.c and pickle.py read the frames differently
//	pickle/junk-after-stop    medium    bytes after the last STOP that are no pickle
//	pickle/limit-exceeded     high      stack, marks, memo or findings past their caps
//	pickle/out-of-band-buffer medium    NEXT_BUFFER data that lives outside the file
//	pickle/joblib-ambiguous   critical/high  what pickle.load/torch.load/numpy.load run and joblib.load skips, anywhere in the stream
//	joblib/bad-wrapper        high      a joblib array wrapper whose data size is unknowable
//	joblib/size-ambiguous     high      the file's size claim (dtype state, shape) differs from numpy's computation
//	joblib/side-file          medium (scanned) / high (cannot be checked here) / info (a ZNDArrayWrapper zlib file of raw bytes)  old joblib arrays in side files
//	joblib/side-file-missing  high      the side file is not there: whatever appears later is unpickled
//	joblib/side-file-escape   high / critical (network path)  a side file outside the model's folder
//
// Every finding ends with the loaders that read the stream that way
// ("[read by torch.load]", "[read by joblib.load]").
package pickle
