package tfjs

import "github.com/modelvet/modelvet/internal/jsonx"

// graphOps are the TensorFlow op names TF.js's graph executor implements:
// every tfOpName of tfjs-converter/python/tensorflowjs/op_list/*.json
// (tensorflow/tfjs, 2025-06). A graph model node whose op is not one of
// them runs only if the application registers it with tf.registerOp, that
// is JavaScript code from outside the model.
var graphOps = setOf(
	"Abs", "Acos", "Acosh", "Add", "AddN", "AddV2", "All", "Any", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan",
	"Atan2", "Atanh", "AvgPool", "AvgPool3D", "BatchMatMul", "BatchMatMulV2", "BatchToSpaceND", "BiasAdd",
	"Bincount", "BitwiseAnd", "BroadcastArgs", "BroadcastTo", "Cast", "Ceil", "ClipByValue", "Complex",
	"ComplexAbs", "Concat", "ConcatV2", "Const", "Conv1D", "Conv2D", "Conv2DBackpropInput", "Conv3D", "Cos",
	"Cosh", "CropAndResize", "Cumprod", "Cumsum", "DenseBincount", "DepthToSpace", "DepthwiseConv2d",
	"DepthwiseConv2dNative", "Dilation2D", "Div", "DivNoNan", "Einsum", "Elu", "EmptyTensorList", "EnsureShape",
	"Enter", "Equal", "Erf", "EuclideanNorm", "Exit", "Exp", "ExpandDims", "Expm1", "FFT",
	"FakeQuantWithMinMaxVars", "Fill", "Floor", "FloorDiv", "FloorMod", "FusedBatchNorm", "FusedBatchNormV2",
	"FusedBatchNormV3", "FusedDepthwiseConv2dNative", "Gather", "GatherNd", "GatherV2", "Greater",
	"GreaterEqual", "HashTable", "HashTableV2", "IFFT", "IRFFT", "Identity", "IdentityN", "If", "Imag",
	"ImageProjectiveTransformV3", "InitializeTable", "InitializeTableV2", "IsFinite", "IsInf", "IsNan", "LRN",
	"LeakyRelu", "Less", "LessEqual", "LinSpace", "ListDiff", "Log", "Log1p", "LogSoftmax", "LogicalAnd",
	"LogicalNot", "LogicalOr", "LookupTableFind", "LookupTableFindV2", "LookupTableImport",
	"LookupTableImportV2", "LookupTableSize", "LookupTableSizeV2", "LoopCond", "LowerBound", "MatMul",
	"MatrixBandPart", "Max", "MaxPool", "MaxPool3D", "MaxPoolWithArgmax", "Maximum", "Mean", "Merge", "Min",
	"Minimum", "MirrorPad", "Mod", "Mul", "Multinomial", "Neg", "NextIteration", "NoOp", "NonMaxSuppressionV2",
	"NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5", "NotEqual", "OneHot", "Ones",
	"OnesLike", "Pack", "Pad", "PadV2", "Placeholder", "PlaceholderWithDefault", "Pow", "Prelu", "Print",
	"Prod", "RFFT", "RaggedGather", "RaggedRange", "RaggedTensorToTensor", "RandomStandardNormal",
	"RandomUniform", "RandomUniformInt", "Range", "Rank", "Real", "RealDiv", "Reciprocal", "Relu", "Relu6",
	"Reshape", "ResizeBilinear", "ResizeNearestNeighbor", "Reverse", "ReverseV2", "Round", "Rsqrt", "ScatterNd",
	"Select", "SelectV2", "Selu", "Shape", "ShapeN", "Sigmoid", "Sign", "SimpleMLCreateModelResource",
	"SimpleMLInferenceOpWithHandle", "SimpleMLLoadModelFromPathWithHandle", "Sin", "Sinh", "Size", "Slice",
	"Snapshot", "Softmax", "Softplus", "SpaceToBatchND", "SparseFillEmptyRows", "SparseReshape",
	"SparseSegmentMean", "SparseSegmentSum", "SparseToDense", "Split", "SplitV", "Sqrt", "Square",
	"SquaredDifference", "Squeeze", "StatelessIf", "StatelessWhile", "StaticRegexReplace", "StopGradient",
	"StridedSlice", "StringNGrams", "StringSplit", "StringToHashBucketFast", "Sub", "Sum", "Switch", "Tan",
	"Tanh", "TensorArrayCloseV3", "TensorArrayConcatV3", "TensorArrayGatherV3", "TensorArrayReadV3",
	"TensorArrayScatterV3", "TensorArraySizeV3", "TensorArraySplitV3", "TensorArrayV3", "TensorArrayWriteV3",
	"TensorListConcat", "TensorListConcatV2", "TensorListFromTensor", "TensorListGather", "TensorListGetItem",
	"TensorListLength", "TensorListPopBack", "TensorListPushBack", "TensorListReserve", "TensorListResize",
	"TensorListScatter", "TensorListScatterV2", "TensorListSetItem", "TensorListSplit", "TensorListStack",
	"TensorScatterUpdate", "Tile", "TopKV2", "Transpose", "TruncatedNormal", "Unique", "UniqueV2", "Unpack",
	"UpperBound", "Where", "While", "Zeros", "ZerosLike", "_FusedConv2D", "_FusedMatMul",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// customOps returns the ops of a graph model (modelTopology.node and the
// nodeDefs of its library functions) that TF.js does not implement, with
// the offset of the first node using each. A call of a function the
// library defines is not one.
func customOps(doc *jsonx.Value) (names []string, offs map[string]int) {
	topo := doc.Get("modelTopology")
	if topo == nil || topo.Kind != jsonx.Object {
		return nil, nil
	}
	funcs := map[string]bool{}
	var nodes []*jsonx.Value
	nodes = append(nodes, arr(topo.Get("node"))...)
	if lib := topo.Get("library"); lib != nil {
		for _, f := range arr(lib.Get("function")) {
			if sig := f.Get("signature"); sig != nil {
				if n := sig.Get("name"); n != nil && n.Kind == jsonx.String {
					funcs[n.Str] = true
				}
			}
			nodes = append(nodes, arr(f.Get("nodeDef"))...)
		}
	}
	offs = map[string]int{}
	for _, n := range nodes {
		op := n.Get("op")
		if op == nil || op.Kind != jsonx.String || graphOps[op.Str] || funcs[op.Str] {
			continue
		}
		if _, seen := offs[op.Str]; !seen && len(offs) < 256 {
			offs[op.Str] = op.Off
			names = append(names, op.Str)
		}
	}
	return names, offs
}

func arr(v *jsonx.Value) []*jsonx.Value {
	if v == nil || v.Kind != jsonx.Array {
		return nil
	}
	return v.Vals
}
