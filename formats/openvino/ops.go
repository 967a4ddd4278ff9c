package openvino

// knownOps are the operation types of OpenVINO's standard opsets
// (opset1 ... opset17: src/core/include/openvino/opsets/opset*_tbl.hpp),
// plus the names the IR serializer writes for some of them (Const,
// PReLU, ReLU, SoftMax: translate_type_name in pass/serialize.cpp).
//
// Attack class: a custom operation registered under a standard opset's
// name. OpenVINO looks a layer's (type, version) up in the loaded
// extensions as well as in its opsets, so an extension library can
// declare version "opset8" for its own type; checking the version alone
// would call such a layer standard. A type no standard opset defines is
// native code from outside the model whatever version it claims.
//
// Names only, not (name, opset) pairs: an extension re-registering a
// standard type under an older opset than the one that introduced it
// (a custom "Gelu" in opset1) is not told apart; the tables' per-opset
// history is not reliable enough to refuse real models on.
var knownOps = setOf(
	// opset1
	"Abs", "Acos", "Add", "Asin", "Atan", "AvgPool", "BatchNormInference", "BinaryConvolution", "Broadcast",
	"CTCGreedyDecoder", "Ceiling", "Clamp", "Concat", "Constant", "Convert", "ConvertLike", "Convolution",
	"ConvolutionBackpropData", "Cos", "Cosh", "DeformableConvolution", "DeformablePSROIPooling", "DepthToSpace",
	"DetectionOutput", "Divide", "Elu", "Erf", "Equal", "Exp", "FakeQuantize", "Floor", "FloorMod", "Gather",
	"GatherTree", "Greater", "GreaterEqual", "GroupConvolution", "GroupConvolutionBackpropData", "GRN",
	"HardSigmoid", "Interpolate", "Less", "LessEqual", "Log", "LogicalAnd", "LogicalNot", "LogicalOr",
	"LogicalXor", "LRN", "LSTMCell", "LSTMSequence", "MatMul", "MaxPool", "Maximum", "Minimum", "Mod",
	"Multiply", "Negative", "NonMaxSuppression", "NormalizeL2", "NotEqual", "OneHot", "PRelu", "PSROIPooling",
	"Pad", "Parameter", "Power", "PriorBox", "PriorBoxClustered", "Proposal", "Range", "Relu", "ReduceMax",
	"ReduceLogicalAnd", "ReduceLogicalOr", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "RegionYolo",
	"Reshape", "Result", "Reverse", "ReverseSequence", "RNNCell", "Select", "Selu", "ShapeOf", "ShuffleChannels",
	"Sign", "Sigmoid", "Sin", "Sinh", "Softmax", "Sqrt", "SpaceToDepth", "SparseConv", "Split",
	"SquaredDifference", "Squeeze", "StridedSlice", "Subtract", "Tan", "Tanh", "TensorIterator", "Tile", "TopK",
	"Transpose", "Unsqueeze", "VariadicSplit", "Xor",
	// opset2 and opset3
	"BatchToSpace", "SpaceToBatch", "Gelu", "MVN", "ReorgYolo", "ROIPooling", "Bucketize", "CumSum",
	"EmbeddingBagPackedSum", "EmbeddingSegmentsSum", "EmbeddingBagOffsetsSum", "ExtractImagePatches", "GRUCell",
	"NonZero", "ROIAlign", "ScatterElementsUpdate", "ScatterUpdate", "ScatterNDUpdate", "Assign", "ReadValue",
	// opset4 and opset5
	"Acosh", "Asinh", "Atanh", "CTCLoss", "HSwish", "Mish", "ReduceL1", "ReduceL2", "SoftPlus", "Swish",
	"GatherND", "GRUSequence", "HSigmoid", "LogSoftmax", "Loop", "RNNSequence", "Round",
	// opset6 and opset7
	"CTCGreedyDecoderSeqLen", "ExperimentalDetectronDetectionOutput",
	"ExperimentalDetectronGenerateProposalsSingleImage", "ExperimentalDetectronPriorGridGenerator",
	"ExperimentalDetectronROIFeatureExtractor", "ExperimentalDetectronTopKROIs", "GatherElements",
	"DFT", "Einsum", "IDFT", "Roll",
	// opset8 to opset10
	"AdaptiveAvgPool", "AdaptiveMaxPool", "I420toBGR", "I420toRGB", "MatrixNms", "NV12toBGR", "NV12toRGB",
	"RandomUniform", "Slice", "If", "IRDFT", "RDFT", "Eye", "SoftSign", "GenerateProposals", "MulticlassNms",
	"GridSample", "IsFinite", "IsInf", "IsNaN", "Unique",
	// opset12 to opset14 (opset11 only renewed Interpolate and TopK)
	"GroupNormalization", "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor", "NMSRotated", "Multinomial",
	"ScaledDotProductAttention", "FakeConvert", "ConvertPromoteTypes", "Inverse",
	// opset15 to opset17
	"ROIAlignRotated", "EmbeddingBagPacked", "EmbeddingBagOffsets", "Col2Im", "STFT", "StringTensorUnpack",
	"StringTensorPack", "BitwiseLeftShift", "BitwiseRightShift", "SliceScatter", "SearchSorted",
	"Identity", "ISTFT", "MOE", "SegmentMax", "SparseFillEmptyRows", "ErfInv", "RGBtoNV12", "BGRtoNV12",
	// IR spellings of opset ops
	"Const", "PReLU", "ReLU", "SoftMax",
)

// lastKnownOpset is the newest opset knownOps covers; a layer of a newer
// opset with an unknown type may be a standard op this table predates.
const lastKnownOpset = 17

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
