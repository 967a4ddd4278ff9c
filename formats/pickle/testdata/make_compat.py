# Regenerates ../compat.go from the running CPython's _compat_pickle tables:
#   /usr/bin/python3 testdata/make_compat.py > compat.go && gofmt -w compat.go
import _compat_pickle as c, sys
print("// Code generated from CPython %s Lib/_compat_pickle.py; DO NOT EDIT." % sys.version.split()[0])
print("// Regenerate: see testdata/make_compat.py.\n\npackage pickle\n")
print("// importMapping is _compat_pickle.IMPORT_MAPPING: the Python 2 module names")
print("// an unpickler rewrites when the stream's protocol is below 3 (fix_imports).")
print("var importMapping = map[string]string{")
for k in sorted(c.IMPORT_MAPPING):
    print('\t"%s": "%s",' % (k, c.IMPORT_MAPPING[k]))
print("}\n")
print("// nameMapping is _compat_pickle.NAME_MAPPING: (module, name) pairs rewritten")
print("// before importMapping is consulted.")
print("var nameMapping = map[[2]string][2]string{")
for k in sorted(c.NAME_MAPPING):
    v = c.NAME_MAPPING[k]
    print('\t{"%s", "%s"}: {"%s", "%s"},' % (k[0], k[1], v[0], v[1]))
print("}")
