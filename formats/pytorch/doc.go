// Package pytorch is being written.
package pytorch
