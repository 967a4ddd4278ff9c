// Package all registers every analyzer and folder check. Import it for its
// side effect wherever a full scan is wanted.
package all

import (
	_ "github.com/modelvet/modelvet/formats/archive"
	_ "github.com/modelvet/modelvet/formats/coreml"
	_ "github.com/modelvet/modelvet/formats/executorch"
	_ "github.com/modelvet/modelvet/formats/flax"
	_ "github.com/modelvet/modelvet/formats/fsnames"
	_ "github.com/modelvet/modelvet/formats/gguf"
	_ "github.com/modelvet/modelvet/formats/hf"
	_ "github.com/modelvet/modelvet/formats/hydra"
	_ "github.com/modelvet/modelvet/formats/joblib"
	_ "github.com/modelvet/modelvet/formats/keras"
	_ "github.com/modelvet/modelvet/formats/lightgbm"
	_ "github.com/modelvet/modelvet/formats/mlflow"
	_ "github.com/modelvet/modelvet/formats/nemo"
	_ "github.com/modelvet/modelvet/formats/numpy"
	_ "github.com/modelvet/modelvet/formats/onnx"
	_ "github.com/modelvet/modelvet/formats/openvino"
	_ "github.com/modelvet/modelvet/formats/paddle"
	_ "github.com/modelvet/modelvet/formats/pickle"
	_ "github.com/modelvet/modelvet/formats/pmml"
	_ "github.com/modelvet/modelvet/formats/pytorch"
	_ "github.com/modelvet/modelvet/formats/safetensors"
	_ "github.com/modelvet/modelvet/formats/skops"
	_ "github.com/modelvet/modelvet/formats/template"
	_ "github.com/modelvet/modelvet/formats/tensorrt"
	_ "github.com/modelvet/modelvet/formats/tfjs"
	_ "github.com/modelvet/modelvet/formats/tflite"
	_ "github.com/modelvet/modelvet/formats/torchserve"
	_ "github.com/modelvet/modelvet/formats/xgboost"
)
