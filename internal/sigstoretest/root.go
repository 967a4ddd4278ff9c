// Package sigstoretest holds test support shared by the packages that
// verify keyless signatures (verify, oci): trust material for sigstore-go's
// virtual Sigstore, written as the trusted_root.json users keep on disk.
package sigstoretest

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// WriteTrustedRoot writes dir/trusted_root.json holding cas and the
// virtual Sigstore's Rekor logs (no CT logs: its certificates carry no
// SCT) and returns its path. The virtual log is keyed by its key ID as hex
// text, while a trusted root carries the raw key ID (which the verifier
// hex-encodes again), so the IDs are converted.
func WriteTrustedRoot(t testing.TB, dir string, cas []root.CertificateAuthority, vs *ca.VirtualSigstore) string {
	t.Helper()
	logs := map[string]*root.TransparencyLog{}
	for id, l := range vs.RekorLogs() {
		c := *l
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c.ID = raw
		logs[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, nil, logs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
