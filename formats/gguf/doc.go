// Package gguf is being written.
package gguf
