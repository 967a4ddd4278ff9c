package checks

import (
	"context"
	"fmt"
	"os"

	"github.com/modelvet/modelvet/attest"
	"github.com/modelvet/modelvet/internal/onepass"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

// maxDigestLines caps the per-file lines of the digests section.
const maxDigestLines = 1000

// OnePass implements policy.OnePass with package verify.
type OnePass struct{}

// Prepare reads the signature and the attestation through the session
// before the scan (so the scan shares their open and the pass proves
// they are the bytes checked), and asks the pass for the digests the
// signature's method and hash type need (the pass hashes with that type,
// so a blake2b or blake3 signature is checked from the same one read).
func (OnePass) Prepare(ctx context.Context, model string, p *policy.Policy, s *onepass.Session) {
	if p.Signature.Checked() {
		path := sidecar(model, p.Signature.File)
		if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
			if data, err := s.ReadFile(path, maxSidecar); err == nil {
				// A failure here surfaces when the signature is checked.
				ht, shard := verify.PeekHashing(data)
				_ = s.SetHashType(ht)
				_ = s.SetShardSize(shard)
			}
		}
	}
	if p.Provenance.Checked() {
		path := sidecar(model, p.Provenance.Attestation)
		if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
			_, _ = s.ReadFile(path, maxSidecar)
		}
	}
}

// Digests lists what a loader must see: the OMS root digest (files
// method, the signature and attestation left out) of the model as read,
// next to the per-file SHA-256 in the report's files.
func (OnePass) Digests(model string, p *policy.Policy, s *onepass.Session, perFile bool) report.Section {
	sec := report.Section{Name: "digests", OK: true}
	ignore := attest.IgnoresInside(model, sidecar(model, p.Signature.File), sidecar(model, p.Provenance.Attestation))
	m, err := verify.HashModel(model, verify.HashOptions{IgnorePaths: ignore, Digests: s})
	if err != nil {
		sec.OK = false
		sec.Lines = []string{"no root digest: " + err.Error()}
		return sec
	}
	sec.Lines = []string{fmt.Sprintf("OMS root digest (files method, sha256): %s over %d files, %d bytes", m.RootDigest(), len(m.Resources), m.Bytes)}
	if perFile {
		for i, r := range m.Resources {
			if i == maxDigestLines {
				sec.Lines = append(sec.Lines, fmt.Sprintf("... and %d more (every file's sha256 is in --format json)", len(m.Resources)-i))
				break
			}
			sec.Lines = append(sec.Lines, fmt.Sprintf("sha256 %s  %s", r.Digest, r.Name))
		}
	}
	return sec
}
