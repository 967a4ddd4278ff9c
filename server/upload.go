package server

import (
	"archive/tar"
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats/fsnames"
)

// Limits bound what one upload may make the service write to disk.
type Limits struct {
	// MaxUpload is the most request-body bytes read (a tar or zip as sent).
	MaxUpload int64
	// MaxExtract is the most bytes written out of one upload (a zip bomb
	// stops here, whatever its headers claim).
	MaxExtract int64
	// MaxMembers is the most entries (files and folders) one upload may hold.
	MaxMembers int
}

// memberName checks an archive member's name and returns it as a clean
// relative path. Stops: absolute paths, "..", Windows drive letters and
// UNC paths and backslashes (a Windows loader would write them outside
// the folder), NUL and control bytes, reserved device names
// (CON, NUL...) that open a device instead of a file on Windows.
func memberName(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "\x00\\:") {
		return "", fmt.Errorf("member name %q has a NUL, backslash or colon; it could mean another path on another OS", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("member name %q has a control character", name)
		}
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("member name %q is absolute", name)
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	for _, seg := range strings.Split(clean, "/") {
		if seg == ".." {
			return "", fmt.Errorf("member name %q climbs out of the upload", name)
		}
		if fsnames.Reserved(seg) {
			return "", fmt.Errorf("member name %q uses the reserved Windows device name %q", name, seg)
		}
	}
	return clean, nil
}

// extractor writes members into dir within the limits. Files are created
// with O_EXCL: a second member with the same name is refused instead of
// silently replacing the first (two readers of the archive could see
// different files).
type extractor struct {
	dir     string
	lim     Limits
	members int
	written int64
	lower   map[string]string
}

func (x *extractor) count() error {
	x.members++
	if x.members > x.lim.MaxMembers {
		return errorf(http.StatusRequestEntityTooLarge, "the upload has more than %d members", x.lim.MaxMembers)
	}
	return nil
}

func (x *extractor) target(name string) (string, string, error) {
	rel, err := memberName(name)
	if err != nil {
		return "", "", errorf(http.StatusBadRequest, "%v", err)
	}
	if rel == "" {
		return "", "", nil
	}
	// Names differing only in case land on one file on Windows and macOS.
	if prev, ok := x.lower[strings.ToLower(rel)]; ok && prev != rel {
		return "", "", errorf(http.StatusBadRequest, "members %q and %q differ only in case; on a case-insensitive file system one replaces the other", prev, rel)
	}
	x.lower[strings.ToLower(rel)] = rel
	return rel, filepath.Join(x.dir, filepath.FromSlash(rel)), nil
}

func (x *extractor) mkdir(name string) error {
	_, p, err := x.target(name)
	if err != nil || p == "" {
		return err
	}
	return os.MkdirAll(p, 0o755)
}

func (x *extractor) file(name string, r io.Reader) error {
	rel, p, err := x.target(name)
	if err != nil {
		return err
	}
	if rel == "" {
		return errorf(http.StatusBadRequest, "a file member has an empty name")
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return errorf(http.StatusBadRequest, "member %q: %v", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return errorf(http.StatusBadRequest, "member %q appears twice; which copy a loader sees would be ambiguous", name)
		}
		return errorf(http.StatusBadRequest, "member %q: %v", name, err)
	}
	left := x.lim.MaxExtract - x.written
	n, err := io.Copy(f, io.LimitReader(r, left+1))
	x.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if x.written > x.lim.MaxExtract {
		return errorf(http.StatusRequestEntityTooLarge, "the upload expands past %d bytes (member %q)", x.lim.MaxExtract, name)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "the upload is larger than %d bytes", mbe.Limit)
		}
		return errorf(http.StatusBadRequest, "member %q cannot be read: %v", name, err)
	}
	return nil
}

// extractTar streams a tar into dir: nothing is buffered beyond one
// member's copy buffer.
func extractTar(body io.Reader, dir string, lim Limits) error {
	x := &extractor{dir: dir, lim: lim, lower: map[string]string{}}
	tr := tar.NewReader(body)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errorf(http.StatusRequestEntityTooLarge, "the upload is larger than %d bytes", mbe.Limit)
			}
			return errorf(http.StatusBadRequest, "not a readable tar: %v", err)
		}
		if err := x.count(); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = x.mkdir(h.Name)
		case tar.TypeReg:
			err = x.file(h.Name, tr)
		case tar.TypeSymlink, tar.TypeLink:
			// A link can point anywhere, including at the host's files; an
			// upload is self-contained or it is refused.
			err = errorf(http.StatusBadRequest, "member %q is a link (to %q); links are not accepted in uploads", h.Name, h.Linkname)
		case tar.TypeXGlobalHeader:
			continue
		default:
			err = errorf(http.StatusBadRequest, "member %q is a special file (tar type %q); only files and folders are accepted", h.Name, h.Typeflag)
		}
		if err != nil {
			return err
		}
	}
	if x.members == 0 {
		return errorf(http.StatusBadRequest, "the tar is empty")
	}
	return nil
}

// extractZip spools the body to disk (a zip is read from its end) within
// MaxUpload, then extracts it.
func extractZip(body io.Reader, dir, spool string, lim Limits) error {
	f, err := os.Create(spool)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(f, body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "the upload is larger than %d bytes", mbe.Limit)
		}
		return errorf(http.StatusBadRequest, "reading the upload: %v", err)
	}
	zr, err := zip.NewReader(f, n)
	if err != nil {
		return errorf(http.StatusBadRequest, "not a readable zip: %v", err)
	}
	if len(zr.File) > lim.MaxMembers {
		return errorf(http.StatusRequestEntityTooLarge, "the upload has %d members, more than %d", len(zr.File), lim.MaxMembers)
	}
	x := &extractor{dir: dir, lim: lim, lower: map[string]string{}}
	for _, zf := range zr.File {
		if err := x.count(); err != nil {
			return err
		}
		mode := zf.Mode()
		switch {
		case mode&os.ModeSymlink != 0:
			err = errorf(http.StatusBadRequest, "member %q is a symbolic link; links are not accepted in uploads", zf.Name)
		case mode.IsDir() || strings.HasSuffix(zf.Name, "/"):
			err = x.mkdir(zf.Name)
		case !mode.IsRegular():
			err = errorf(http.StatusBadRequest, "member %q is a special file (%s)", zf.Name, mode.Type())
		default:
			var rc io.ReadCloser
			if rc, err = zf.Open(); err != nil {
				return errorf(http.StatusBadRequest, "member %q: %v", zf.Name, err)
			}
			err = x.file(zf.Name, rc)
			rc.Close()
		}
		if err != nil {
			return err
		}
	}
	if x.members == 0 {
		return errorf(http.StatusBadRequest, "the zip is empty")
	}
	return nil
}
