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
//   - joblib.go:  joblib's inline array data after NumpyArrayWrapper;
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
//	pickle/ext-code           high      EXT1/2/4 (the extension registry is empty by default)
//	pickle/nested-pickle      medium (content scanned as a member); high when a loader gets data built at load time
//	pickle/nested-limit       high      nested pickles too deep or too many
//	pickle/malformed          high      CPython's unpickler stops here
//	pickle/truncated          high      data ends inside an opcode, or no STOP
//	pickle/frame-mismatch     high      _pickle.c and pickle.py read the frames differently
//	pickle/junk-after-stop    medium    bytes after the last STOP that are no pickle
//	pickle/limit-exceeded     high      stack, marks, memo or findings past their caps
//	pickle/out-of-band-buffer medium    NEXT_BUFFER data that lives outside the file
//	pickle/joblib-ambiguous   critical/high  joblib array bytes that pickle.load would execute
//	joblib/bad-wrapper        high      a joblib array wrapper whose data size is unknowable
//	joblib/side-file(-escape) medium/high  old joblib arrays in side files
package pickle
