package server

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// unixPerms is whether file modes mean who may read a file.
var unixPerms = runtime.GOOS != "windows"

// uploadPrefix names the folder of one upload under the temporary folder.
const uploadPrefix = "modelvet-upload-"

// StalePrefixes are the names modelvet gives its temporary files and
// folders: an upload's folder, and members the analyzers spool while
// scanning. Whatever carries them in the service's private temporary
// folder at start was left by a run that was killed.
var StalePrefixes = []string{uploadPrefix, "modelvet-member-", "modelvet-inflate-"}

// prepareTemp makes dir the service's private temporary folder: created
// with mode 0700 if missing, refused if it is a link or others may enter
// it (another user could read uploads or swap files under the check), and
// cleared of what an earlier run left.
func prepareTemp(dir string, logger *log.Logger) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("server: temporary folder: %w", err)
	}
	if err := os.Mkdir(abs, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("server: temporary folder: %w", err)
	}
	fi, err := os.Lstat(abs)
	switch {
	case err != nil:
		return "", fmt.Errorf("server: temporary folder: %w", err)
	case !fi.IsDir():
		return "", fmt.Errorf("server: temporary folder %s is not a folder (a link is not accepted either)", dir)
	case unixPerms && fi.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("server: temporary folder %s has mode %v; it must be private to the service (chmod 700), since uploads are written there", dir, fi.Mode().Perm())
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		return "", fmt.Errorf("server: temporary folder: %w", err)
	}
	for _, e := range ents {
		for _, p := range StalePrefixes {
			if strings.HasPrefix(e.Name(), p) {
				if err := os.RemoveAll(filepath.Join(abs, e.Name())); err != nil {
					return "", fmt.Errorf("server: removing %s left by an earlier run: %w", e.Name(), err)
				}
				logger.Printf("removed %s, left in %s by an earlier run", e.Name(), dir)
				break
			}
		}
	}
	return abs, nil
}
