package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/internal/fileid"

	"github.com/modelvet/modelvet/formats"
)

// httpError is an error with the status the client gets.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// within reports whether target lies inside root (both absolute, clean).
func within(root, target string) bool {
	rel, err := filepath.Rel(root, target)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// modelRoot is the folder models are named under. Names are resolved from
// it one component at a time, never following a link, and (on Linux) the
// model folder is held open by descriptor for the whole check, so a
// folder swapped for a link after the name was resolved changes nothing.
type modelRoot struct {
	real string
	pin  *rootPin // nil where descriptors cannot stand for paths
}

// pinnedModel is a resolved model folder for the duration of one check.
type pinnedModel struct {
	// path is what the gate reads: /proc/self/fd/N on Linux (the folder
	// that was opened, whatever now sits at its name), else the path.
	path  string
	close func()
	// unchanged reports, after the check, whether the name still leads
	// to the folder that was checked (the fallback's race detection).
	unchanged func(name string) error
}

func openModelRoot(root string) (*modelRoot, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("server: models root: %w", err)
	}
	// The operator's own links in the root's path are followed once, now.
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("server: models root: %w", err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("server: models root %s is not a folder", root)
	}
	mr := &modelRoot{real: real}
	mr.pin, err = newRootPin(real)
	if err != nil {
		return nil, fmt.Errorf("server: models root: %w", err)
	}
	return mr, nil
}

// components turns the name a client gave into path components under the
// root, or refuses it. Stops: "../" climbing out (the name is cleaned
// lexically, as a path, before anything is opened), an absolute path
// elsewhere, the root itself, and Windows spellings that mean something
// else on the server's OS (backslashes, drive letters, UNC, NUL bytes),
// which are refused rather than interpreted so the same request means the
// same thing everywhere.
func (mr *modelRoot) components(name string) ([]string, error) {
	switch {
	case name == "":
		return nil, errorf(http.StatusBadRequest, `the request names no model: send {"model": "folder/under/the/root"}`)
	case strings.ContainsRune(name, 0):
		return nil, errorf(http.StatusBadRequest, "the model name contains a NUL byte")
	case strings.Contains(name, `\`):
		return nil, errorf(http.StatusBadRequest, "the model name %q contains a backslash; use '/' separators", name)
	case len(name) >= 2 && name[1] == ':':
		return nil, errorf(http.StatusBadRequest, "the model name %q has a drive letter; name a folder under the service's root", name)
	}
	var rel string
	if strings.HasPrefix(name, "/") || filepath.IsAbs(filepath.FromSlash(name)) {
		cand := filepath.Clean(filepath.FromSlash(name))
		if cand == mr.real {
			return nil, errorf(http.StatusBadRequest, "name one model folder under the root, not the root itself")
		}
		if !within(mr.real, cand) {
			return nil, errorf(http.StatusForbidden, "%q is outside the models root; only models under it can be checked", name)
		}
		r, err := filepath.Rel(mr.real, cand)
		if err != nil {
			return nil, errorf(http.StatusForbidden, "%q is outside the models root", name)
		}
		rel = filepath.ToSlash(r)
	} else {
		rel = path.Clean(name)
	}
	switch {
	case rel == ".":
		return nil, errorf(http.StatusBadRequest, "name one model folder under the root, not the root itself")
	case rel == ".." || strings.HasPrefix(rel, "../"):
		return nil, errorf(http.StatusForbidden, "%q is outside the models root; only models under it can be checked", name)
	}
	return strings.Split(rel, "/"), nil
}

// open resolves name to a model folder under the root.
func (mr *modelRoot) open(name string, anyFolder bool) (*pinnedModel, error) {
	comps, err := mr.components(name)
	if err != nil {
		return nil, err
	}
	if mr.pin != nil {
		return mr.pin.open(mr, name, comps, anyFolder)
	}
	return mr.openByPath(name, comps, anyFolder)
}

// refusal explains why component i of name could not be opened as a
// folder without following links. It looks at the path only to choose
// the words: what was opened, or not, was decided by the no-follow open.
func (mr *modelRoot) refusal(name string, comps []string, i int, err error) error {
	p := filepath.Join(append([]string{mr.real}, comps[:i+1]...)...)
	fi, lerr := os.Lstat(p)
	last := i == len(comps)-1
	switch {
	case lerr == nil && fi.Mode()&fs.ModeSymlink != 0:
		return errorf(http.StatusForbidden, "%q passes through a symbolic link (%s); names are resolved under the root without following links: name the folder itself", name, strings.Join(comps[:i+1], "/"))
	case lerr == nil && last && !fi.IsDir():
		return errorf(http.StatusBadRequest, "%q is a file, not a model folder; name the folder that holds the model", name)
	case errors.Is(err, fs.ErrNotExist), errors.Is(lerr, fs.ErrNotExist), lerr == nil && !fi.IsDir():
		return errorf(http.StatusNotFound, "no model %q under the models root", name)
	case errors.Is(err, fs.ErrPermission):
		return errorf(http.StatusForbidden, "%q cannot be opened: permission denied", name)
	}
	return errorf(http.StatusForbidden, "%q cannot be opened: %v", name, err)
}

// checkModelFolder refuses a folder that holds no model file and no JSON
// config at its top level: the root's children are organizations and
// their children models, and a request for a parent would scan and hash
// every model below it in one check and list their files to the caller.
// dir is read in batches: a huge folder is not listed in full to answer.
func checkModelFolder(dir *os.File, name string) error {
	for {
		ents, err := dir.ReadDir(256)
		for _, e := range ents {
			if e.Type().IsRegular() && (formats.IsModelName(e.Name()) || strings.EqualFold(path.Ext(e.Name()), ".json")) {
				return nil
			}
		}
		if err == io.EOF || len(ents) == 0 {
			return errorf(http.StatusBadRequest, "%q holds no model file or JSON config at its top level (is it a parent of several models?); name one model's folder", name)
		}
		if err != nil {
			return errorf(http.StatusForbidden, "%q cannot be listed: %v", name, err)
		}
	}
}

// vanished reports whether a failed check of a pinned folder failed
// because something under it stopped existing while it was read: the
// scanner resolves links and its containment root through the folder's
// current name, which a writer can move away and back, and files inside
// can be deleted mid-check. Either way the model changed under the check
// (409), which is not the service's failure. A missing trust file (key,
// certificate chain, trusted root) keeps its 500.
func vanished(err error, trust []string) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	p := filepath.Clean(pe.Path)
	for _, t := range trust {
		if filepath.Clean(t) == p {
			return false
		}
	}
	return true
}

// errChanged refuses an answer about a folder whose name was moved or
// replaced while it was checked.
func errChanged(name string) error {
	return errorf(http.StatusConflict, "%q changed (a folder was moved or replaced) while it was checked; the verdict could be about something else, so there is none: retry", name)
}

// openByPath is the resolution where a descriptor cannot stand for a
// path (Windows, no /proc): each component is checked not to be a link,
// and after the check every component must still be the same file, or
// the answer is refused (409): a swap during the check is detected rather
// than prevented.
func (mr *modelRoot) openByPath(name string, comps []string, anyFolder bool) (*pinnedModel, error) {
	cur := mr.real
	infos := make([]os.FileInfo, len(comps))
	for i, c := range comps {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if err != nil || !fi.IsDir() {
			if err == nil {
				err = errors.New("not a folder")
			}
			return nil, mr.refusal(name, comps, i, err)
		}
		infos[i] = fileid.Pin(fi) // its identity now, not when compared (Windows)
	}
	if !anyFolder {
		d, err := os.Open(cur)
		if err != nil {
			return nil, mr.refusal(name, comps, len(comps)-1, err)
		}
		err = checkModelFolder(d, name)
		d.Close()
		if err != nil {
			return nil, err
		}
	}
	unchanged := func(name string) error {
		p := mr.real
		for i, c := range comps {
			p = filepath.Join(p, c)
			fi, err := os.Lstat(p)
			if err != nil || !os.SameFile(fi, infos[i]) {
				return errChanged(name)
			}
		}
		return nil
	}
	return &pinnedModel{path: cur, close: func() {}, unchanged: unchanged}, nil
}
