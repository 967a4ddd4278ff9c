package openvino

import "strings"

//go:generate sh -c "python3 gen_opsets.py $OPENVINO/src/core/include/openvino/opsets | gofmt > opsets_table.go"

// Attack class: a custom operation registered under a standard opset's
// name. OpenVINO looks a layer's (type, version) up in the loaded
// extensions before its own opsets, so an extension library can declare
// version "opset8" for its own type, or re-register a standard type under
// an opset that does not have it (a custom "Gelu" declared "opset1"; Gelu
// first appears in opset2). Checking the version alone, or the type
// against the union of all opsets, would call such a layer standard. A
// standard opset defines a type only from the opset that introduced it
// (opsetIntroduced, generated from OpenVINO's opset tables), so a pair
// older than that is native code from outside the model.

// irType is the name the opset tables use for a layer type: the IR reader
// renames "Const" to "Constant" and then looks the type up case-
// insensitively (OpSet::create_insensitive), which also covers the
// serializer's spellings PReLU, ReLU and SoftMax.
func irType(typ string) string {
	if typ == "Const" {
		typ = "Constant"
	}
	return strings.ToUpper(typ)
}

// introducedIn returns the first standard opset defining typ, or 0.
func introducedIn(typ string) int { return opsetIntroduced[irType(typ)] }
