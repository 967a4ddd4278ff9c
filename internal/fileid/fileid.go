// Package fileid pins a file's identity at the moment it was looked up.
//
// On Windows, a FileInfo from os.Stat or os.Lstat does not hold the file's
// volume serial and index: os.SameFile opens the path to fetch them the
// first time it is asked, which may be long after the lookup. A check that
// keeps a FileInfo to prove later that "the path still names the same
// file" would then compare the file found now with itself, and a file
// renamed over in between would pass. Pin asks for the identity at once
// (os.SameFile caches it in the FileInfo); on Unix the identity is in the
// stat result already and Pin costs nothing. FileInfos from an open
// file's Stat carry their identity on every OS.
package fileid

import (
	"io/fs"
	"os"
)

// Pin loads fi's file identity now and returns fi.
func Pin(fi fs.FileInfo) fs.FileInfo {
	if fi != nil {
		os.SameFile(fi, fi)
	}
	return fi
}
