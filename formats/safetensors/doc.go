// Package safetensors is being written.
package safetensors
