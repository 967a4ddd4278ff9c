//go:build !unix

package formats

import "os"

// openNoBlock: Windows has no FIFOs in the file system namespace, so a
// plain open cannot block on one.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
