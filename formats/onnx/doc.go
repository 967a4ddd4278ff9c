// Package onnx is being written.
package onnx
