package pytorch

import (
	"strings"
)

// elementSizes maps the storage classes a checkpoint names (torch.save
// writes the typed storage class, or UntypedStorage counted in bytes) to
// their element size in bytes.
var elementSizes = map[string]int64{
	"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
	"LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
	"ByteStorage": 1, "BoolStorage": 1, "ComplexDoubleStorage": 16,
	"ComplexFloatStorage": 8, "QInt8Storage": 1, "QUInt8Storage": 1,
	"QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
	"UntypedStorage": 1, "ByteStorageUntyped": 1,
	"Float8_e4m3fnStorage": 1, "Float8_e5m2Storage": 1,
	"Float8_e4m3fnuzStorage": 1, "Float8_e5m2fnuzStorage": 1,
	"UInt16Storage": 2, "UInt32Storage": 4, "UInt64Storage": 8,
	"ComplexHalfStorage": 4, "BitsStorage": 1,
	"Bits1x8Storage": 1, "Bits2x4Storage": 1, "Bits4x2Storage": 1,
	"Bits8Storage": 1, "Bits16Storage": 2,
}

// storageElementSize returns the element size of a storage class named
// "module.Name"; ok is false for anything that is not a torch storage.
func storageElementSize(global string) (int64, bool) {
	mod, name, found := strings.Cut(global, ".")
	for found && strings.Contains(name, ".") { // torch.cuda.FloatStorage
		var m2 string
		m2, name, _ = strings.Cut(name, ".")
		mod += "." + m2
	}
	if mod != "torch" && mod != "torch.cuda" {
		return 0, false
	}
	n, ok := elementSizes[name]
	return n, ok
}
