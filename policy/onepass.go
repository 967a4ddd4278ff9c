package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/onepass"
)

// RuleFileChanged is reported on a file whose identity (device, inode,
// size, modification time, the file its path names) or content changed
// between the scan's reads and the hashing pass. Attack class: time of
// check vs time of use, a writer swapping a scanned clean file for a
// signed malicious one so that the verdict covers bytes never scanned.
const RuleFileChanged = "check/file-changed"

// attachPass puts the pass's results on the scan: each file's SHA-256
// (of the bytes that were scanned), and a high finding on each file that
// changed during the check. A model file the check may not read stops
// the check (ErrUnreadable): an unreadable path is exit 2.
func attachPass(res *formats.Result, s *onepass.Session) error {
	var denied []string
	for p, err := range s.OpenErrors() {
		if errors.Is(err, fs.ErrPermission) {
			denied = append(denied, p)
		}
	}
	if len(denied) > 0 {
		sort.Strings(denied)
		return fmt.Errorf("%w: %s: permission denied; give the checker read access to every file of the model", ErrUnreadable, denied[0])
	}
	seen := map[*onepass.File]bool{}
	for _, fr := range res.Files {
		f, ok := s.Lookup(fr.Path)
		if !ok || fr.Format == "folder-check" && f.Path != abs(fr.Path) {
			continue
		}
		seen[f] = true
		switch {
		case f.Changed != nil:
			fr.SHA256 = ""
			fr.Findings = append(fr.Findings, changedFinding(f))
		case f.Err != nil:
			// A read error while hashing (or writing the snapshot): no
			// digest, possibly a partial copy. No verdict either: exit 2,
			// as for any path that cannot be read.
			return fmt.Errorf("%w: %v", ErrUnreadable, f.Err)
		default:
			fr.SHA256 = f.SHA256
		}
	}
	// A file read only by the checks (or twice) that changed is reported
	// too, on its own line.
	for _, f := range s.Files() {
		if !seen[f] && f.Err != nil && f.Changed == nil {
			return fmt.Errorf("%w: %v", ErrUnreadable, f.Err)
		}
		if seen[f] || f.Changed == nil {
			continue
		}
		res.Files = append(res.Files, &formats.FileResult{Path: f.Path, Format: "folder-check", Findings: []formats.Finding{changedFinding(f)}})
	}
	return nil
}

func changedFinding(f *onepass.File) formats.Finding {
	return formats.Finding{Rule: RuleFileChanged, Severity: formats.High, Offset: formats.NoOffset,
		Message: fmt.Sprintf("the file changed while it was being checked (%v); the verdict cannot be about the bytes a loader will read. Check it again when nothing writes to the folder, or use check --snapshot", f.Changed)}
}

func abs(p string) string { return onepass.Abs(p) }

// moveTo renames the scan's paths from the model to its snapshot copy:
// the report is about the copy.
func moveTo(res *formats.Result, root, snapModel string, isDir bool) {
	for _, fr := range res.Files {
		if !isDir {
			if abs(fr.Path) == abs(filepath.Join(root, filepath.Base(snapModel))) {
				fr.Path = snapModel
			}
			continue
		}
		if rel, err := filepath.Rel(abs(root), abs(fr.Path)); err == nil && filepath.IsLocal(rel) {
			fr.Path = filepath.Join(snapModel, rel)
		} else if err == nil && rel == "." {
			fr.Path = snapModel
		}
	}
}

// makePrivateDir creates the snapshot folder: new (an existing folder
// could hold files or links someone else placed), readable by the
// checker alone, whatever the umask.
func makePrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("snapshot folder: %w (give a path that does not exist yet; it is created private)", err)
	}
	return os.Chmod(dir, 0o700)
}
