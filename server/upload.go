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
	// MaxRatio is the most a zip member may expand (uncompressed over
	// compressed size, beyond ratioSlack). A tar cannot expand at all: it
	// extracts to at most its own size, whatever a sparse map claims.
	MaxRatio int64
}

// ratioSlack lets tiny members (a 2 KB config of repeated keys compresses
// past any ratio) through the ratio cap: it bounds amplification, not size.
const ratioSlack = 1 << 20

func (l *Limits) defaults() {
	if l.MaxUpload <= 0 {
		l.MaxUpload = 8 << 30
	}
	if l.MaxExtract <= 0 {
		l.MaxExtract = 16 << 30
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = 100_000
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = 200
	}
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
	// budget is the most bytes this archive may extract to: MaxExtract,
	// and for a tar its own size.
	budget int64
	lower  map[string]string
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
	return os.MkdirAll(p, 0o700)
}

func (x *extractor) file(name string, r io.Reader) error {
	rel, p, err := x.target(name)
	if err != nil {
		return err
	}
	if rel == "" {
		return errorf(http.StatusBadRequest, "a file member has an empty name")
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return errorf(http.StatusBadRequest, "member %q: %v", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return errorf(http.StatusBadRequest, "member %q appears twice; which copy a loader sees would be ambiguous", name)
		}
		return errorf(http.StatusBadRequest, "member %q: %v", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, x.budget-x.written))
	x.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && x.written == x.budget {
		// At the cap: one more byte means the member goes past it. The
		// probe is read, never written.
		var probe [1]byte
		if m, _ := io.ReadFull(r, probe[:]); m > 0 {
			return errorf(http.StatusRequestEntityTooLarge, "the upload expands past %d bytes (member %q)", x.budget, name)
		}
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "member %q cannot be read: %v", name, err)
	}
	return nil
}

// isSparse reports a sparse tar member: old GNU ('S') or PAX GNU.sparse.*
// records. Its map can claim gigabytes of zeros from a few bytes; no model
// ships as one, so it is refused rather than expanded.
func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// extractTar extracts a spooled tar into dir. It writes at most the tar's
// own size: a tar stores every byte it extracts.
func extractTar(r io.Reader, size int64, dir string, lim Limits) error {
	x := &extractor{dir: dir, lim: lim, lower: map[string]string{}, budget: min(lim.MaxExtract, size)}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errorf(http.StatusBadRequest, "not a readable tar: %v", err)
		}
		if err := x.count(); err != nil {
			return err
		}
		switch {
		case isSparse(h):
			err = errorf(http.StatusBadRequest, "member %q is a sparse file; sparse members are not accepted (they can claim any size from a few bytes)", h.Name)
		case h.Typeflag == tar.TypeDir:
			err = x.mkdir(h.Name)
		case h.Typeflag == tar.TypeReg:
			err = x.file(h.Name, tr)
		case h.Typeflag == tar.TypeSymlink, h.Typeflag == tar.TypeLink:
			// A link can point anywhere, including at the host's files; an
			// upload is self-contained or it is refused.
			err = errorf(http.StatusBadRequest, "member %q is a link (to %q); links are not accepted in uploads", h.Name, h.Linkname)
		case h.Typeflag == tar.TypeXGlobalHeader:
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

// extractZip extracts a spooled zip. Each compressed member may expand at
// most MaxRatio times (plus ratioSlack) as its header declares, and
// archive/zip holds the member to the size it declared.
func extractZip(r io.ReaderAt, size int64, dir string, lim Limits) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return errorf(http.StatusBadRequest, "not a readable zip: %v", err)
	}
	if len(zr.File) > lim.MaxMembers {
		return errorf(http.StatusRequestEntityTooLarge, "the upload has %d members, more than %d", len(zr.File), lim.MaxMembers)
	}
	x := &extractor{dir: dir, lim: lim, lower: map[string]string{}, budget: lim.MaxExtract}
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
		case zf.CompressedSize64 > uint64(size):
			err = errorf(http.StatusBadRequest, "member %q declares %d compressed bytes, more than the %d-byte upload", zf.Name, zf.CompressedSize64, size)
		case zf.Method != zip.Store && zf.UncompressedSize64 > uint64(lim.MaxRatio)*zf.CompressedSize64+ratioSlack:
			err = errorf(http.StatusRequestEntityTooLarge, "member %q expands from %d to %d bytes, more than %d times: a decompression bomb", zf.Name, zf.CompressedSize64, zf.UncompressedSize64, lim.MaxRatio)
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
