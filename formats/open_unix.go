//go:build unix

package formats

import (
	"os"
	"syscall"
)

// openNoBlock opens without waiting for a FIFO's writer; O_NONBLOCK has no
// effect on reads of regular files.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
