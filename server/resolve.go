package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// resolveModel turns the name a client gave into a path inside the
// configured root, or refuses it. Stops: "../" climbing out (lexical
// check), an absolute path elsewhere, a symbolic link (anywhere on the
// path) whose target is outside the root (checked on the resolved path),
// and Windows spellings that mean something else on the server's OS
// (backslashes, drive letters, UNC, NUL bytes), which are refused rather
// than interpreted so the same request means the same thing everywhere.
func resolveModel(realRoot, name string) (string, error) {
	switch {
	case name == "":
		return "", errorf(http.StatusBadRequest, `the request names no model: send {"model": "folder/under/the/root"}`)
	case strings.ContainsRune(name, 0):
		return "", errorf(http.StatusBadRequest, "the model name contains a NUL byte")
	case strings.Contains(name, `\`):
		return "", errorf(http.StatusBadRequest, "the model name %q contains a backslash; use '/' separators", name)
	case len(name) >= 2 && name[1] == ':':
		return "", errorf(http.StatusBadRequest, "the model name %q has a drive letter; name a folder under the service's root", name)
	}
	var cand string
	if filepath.IsAbs(filepath.FromSlash(name)) || strings.HasPrefix(name, "/") {
		cand = filepath.Clean(filepath.FromSlash(name))
	} else {
		cand = filepath.Join(realRoot, filepath.FromSlash(name))
	}
	if !within(realRoot, cand) && cand != realRoot {
		return "", errorf(http.StatusForbidden, "%q is outside the models root; only models under it can be checked", name)
	}
	real, err := filepath.EvalSymlinks(cand)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errorf(http.StatusNotFound, "no model %q under the models root", name)
		}
		return "", errorf(http.StatusForbidden, "%q cannot be resolved: %v", name, err)
	}
	if !within(realRoot, real) {
		return "", errorf(http.StatusForbidden, "%q leads (through a symbolic link) outside the models root", name)
	}
	if real == realRoot {
		return "", errorf(http.StatusBadRequest, "name one model folder under the root, not the root itself")
	}
	return real, nil
}
