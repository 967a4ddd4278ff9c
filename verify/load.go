package verify

import (
	"crypto"
	"crypto/x509"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// The loaders below read trust material the same way verification of
// model signatures does (bounded, regular files only, the same key
// types), for other signature formats: package oci verifies cosign
// signatures in registries with them.

// LoadPublicKey reads a PEM public key file.
func LoadPublicKey(path string) (crypto.PublicKey, error) { return loadPublicKey(path) }

// LoadCAs reads PEM CA certificate files: self-signed certificates become
// roots, the others intermediates.
func LoadCAs(paths []string) (roots, intermediates *x509.CertPool, err error) {
	roots, intermediates, _, err = loadCAs(paths)
	return roots, intermediates, err
}

// LoadTrustedRoot reads a Sigstore trusted_root.json; it is never fetched.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	data, err := readSmall(path, "trusted root")
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %v", path, err)
	}
	return tr, nil
}
