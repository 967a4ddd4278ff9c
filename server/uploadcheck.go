package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
)

// uploadDisplay is the name an upload's files are shown under.
const uploadDisplay = "upload"

// checkUpload receives an archive into the private temporary folder,
// checks it as an archive, extracts it within the caps and checks the
// folder. Only the last step takes a check slot: receiving is paced by the
// client, and a slow one must not hold what others need.
func (s *Server) checkUpload(ctx context.Context, w http.ResponseWriter, r *http.Request, ct string, tm *timing) (*report.Report, error) {
	if s.tmp == "" {
		return nil, errorf(http.StatusForbidden, "this service was started without --tmp, so it accepts no uploads; name a model under its root instead")
	}
	select {
	case s.uploads <- struct{}{}:
	default:
		return nil, errorf(http.StatusTooManyRequests, "the service is receiving %d uploads already; retry later", s.cfg.MaxUploads)
	}
	s.m.uploading.Add(1)
	tmp, err := os.MkdirTemp(s.tmp, uploadPrefix) // mode 0700
	if err != nil {
		<-s.uploads
		s.m.uploading.Add(-1)
		return nil, fmt.Errorf("creating the upload folder: %w", err)
	}
	done := func() { s.removeAll(tmp); <-s.uploads; s.m.uploading.Add(-1) }
	handedOff := false
	defer func() {
		if !handedOff {
			done()
		}
	}()
	kind := "tar"
	if ct == "application/zip" {
		kind = "zip"
	}
	spool := filepath.Join(tmp, "upload."+kind)
	size, sum, err := s.receive(w, r, spool)
	if err != nil {
		return nil, err
	}
	// The verdict is about these bytes: a registry stores the archive
	// whose digest matches, not whatever it holds under the same name.
	w.Header().Set("X-Modelvet-Upload-SHA256", sum)
	if rep, err := s.checkArchive(spool, kind, size, sum); rep != nil || err != nil {
		return rep, err
	}
	modelDir := filepath.Join(tmp, "model")
	if err := os.Mkdir(modelDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.Open(spool)
	if err != nil {
		return nil, err
	}
	if kind == "zip" {
		err = extractZip(f, size, modelDir, s.cfg.Limits)
	} else {
		err = extractTar(f, size, modelDir, s.cfg.Limits)
	}
	f.Close()
	os.Remove(spool) // extracted: its disk space is given back before the check
	if err != nil {
		return nil, err
	}
	release, err := s.acquire(ctx, tm)
	if err != nil {
		return nil, err
	}
	handedOff = true
	return s.runCheck(ctx, modelDir, uploadDisplay, tm, nil, func() { release(); done() })
}

// receive writes the body to spool, paced, within MaxUpload, and returns
// its size and SHA-256 (the digest a registry can match the stored
// archive against).
func (s *Server) receive(w http.ResponseWriter, r *http.Request, spool string) (int64, string, error) {
	f, err := os.OpenFile(spool, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	p := s.paced(w, r, s.cfg.Limits.MaxUpload)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), p)
	if err != nil {
		return 0, "", p.bodyError(err)
	}
	p.done()
	if err := f.Close(); err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// builtinArchiveRef is cited for an upload refused as an archive: the
// policy cannot allow it, since what would be checked after extraction is
// not what every reader of the archive sees.
const builtinArchiveRef = "(built-in: an uploaded archive that readers can see differently, or that cannot be read in full, is never extracted)"

// checkArchive reads the spooled archive's structure with formats/archive,
// the reader `modelvet scan` uses: central directory against local
// headers, data between or after members (a member only streaming readers
// see), data after a tar's end blocks, names, sparse and special members.
// Any such finding at high or above rejects the upload as it stands,
// before extraction, with a report on the archive. An archive with no
// readable member at all is a bad request.
func (s *Server) checkArchive(spool, kind string, size int64, sum string) (*report.Report, error) {
	f, err := os.Open(spool)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opts := s.cfg.Gate.Policy.ScanOptions()
	res := &formats.FileResult{Path: uploadDisplay, Format: kind, Size: size, SHA256: sum}
	sc := formats.NewScope(spool, &opts, res)
	var a *archive.Archive
	if kind == "zip" {
		a = archive.OpenZip(sc, f, size)
	} else {
		a = archive.OpenTar(sc, f, size)
	}
	if a != nil {
		defer a.Close()
	}
	if a == nil || len(a.Members) == 0 {
		why := "it holds no member"
		if len(res.Findings) > 0 {
			why = res.Findings[0].Message
		}
		return nil, errorf(http.StatusBadRequest, "not a readable %s: %s", kind, why)
	}
	var reasons []report.Reason
	for _, x := range res.Findings {
		if x.Severity >= formats.High {
			reasons = append(reasons, report.Reason{Rule: x.Rule, Policy: builtinArchiveRef, Detail: fmt.Sprintf("%s at %s: %s", x.Severity, x.Where(), x.Message)})
		}
	}
	if len(reasons) == 0 {
		return nil, nil
	}
	d := policy.Decision{Verdict: policy.Rejected, Reasons: reasons, Failing: len(reasons),
		Notes: []string{"the upload was judged as an archive and not extracted: its members, signature and provenance were not checked"}}
	return policy.Build(s.cfg.Gate.Policy, policy.Input{Scan: &formats.Result{Files: []*formats.FileResult{res}}}, d), nil
}
