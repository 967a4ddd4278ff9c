// Package ocimanifest holds the one manifest value modelvet pushes as
// given: package oci (promotion) and its test registry helpers
// (oci/ocitest) both put hand-written manifests, and ocitest cannot import
// oci (oci's tests import ocitest), so the type lives here.
package ocimanifest

import "github.com/google/go-containerregistry/pkg/v1/types"

// Raw is a manifest pushed byte for byte (remote.Put's Taggable): the
// registry stores exactly these bytes, so their digest is the one signed
// or checked, with no re-encoding by the client.
type Raw struct {
	Bytes []byte
	Type  types.MediaType
}

// RawManifest returns the bytes as given.
func (r Raw) RawManifest() ([]byte, error) { return r.Bytes, nil }

// MediaType returns the manifest's media type as given.
func (r Raw) MediaType() (types.MediaType, error) { return r.Type, nil }
