// Package hf is being written.
package hf
