package oci

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/internal/jsonx"
)

// Push is one manifest pushed to a registry, from the distribution
// registry's notification envelope
// (distribution/distribution notifications: {"events": [{"action":
// "push", "target": {"mediaType", "digest", "repository", "tag"}}]}).
type Push struct {
	Repository string
	Digest     string
	Tag        string
	MediaType  string
}

// manifestTypes are the media types of pushes that name a model artifact;
// blob pushes (layers) and other events are not artifacts.
var manifestTypes = map[string]bool{
	"application/vnd.oci.image.manifest.v1+json":           true,
	"application/vnd.docker.distribution.manifest.v2+json": true,
}

// MaxEvents caps the events read from one notification.
const MaxEvents = 1000

// ParseEvents reads a notification envelope strictly (duplicate keys and
// invalid UTF-8 refused) and returns its manifest pushes, each once.
func ParseEvents(b []byte) ([]Push, error) {
	v, dups, err := jsonx.Parse(b, jsonx.Limits{})
	if err != nil {
		return nil, err
	}
	if len(dups) > 0 {
		return nil, fmt.Errorf("the notification repeats the key %q", dups[0].Key)
	}
	evs := v.Get("events")
	if v.Kind != jsonx.Object || evs == nil || evs.Kind != jsonx.Array {
		return nil, fmt.Errorf(`not a registry notification: want {"events": [...]}`)
	}
	if len(evs.Vals) > MaxEvents {
		return nil, fmt.Errorf("the notification has %d events, over the limit of %d", len(evs.Vals), MaxEvents)
	}
	str := func(o *jsonx.Value, k string) string {
		if o == nil {
			return ""
		}
		if x := o.Get(k); x != nil && x.Kind == jsonx.String {
			return x.Str
		}
		return ""
	}
	seen := map[string]bool{}
	var out []Push
	for _, e := range evs.Vals {
		if e.Kind != jsonx.Object || str(e, "action") != "push" {
			continue
		}
		t := e.Get("target")
		p := Push{Repository: str(t, "repository"), Digest: str(t, "digest"), Tag: str(t, "tag"), MediaType: str(t, "mediaType")}
		if !manifestTypes[p.MediaType] || p.Repository == "" || !strings.HasPrefix(p.Digest, "sha256:") || len(p.Digest) != len("sha256:")+64 {
			continue
		}
		k := p.Repository + "@" + p.Digest
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out, nil
}

// IsAttachedTag reports whether a tag is one cosign (and the OCI 1.1
// referrers tag scheme) uses to attach things to another artifact:
// sha256-<hex>.sig, .att, .sbom, or sha256-<hex> alone. What is pushed
// under such a tag is a signature, an attestation or an SBOM about
// another manifest, not a model.
func IsAttachedTag(tag string) bool {
	rest, ok := strings.CutPrefix(tag, "sha256-")
	if !ok || len(rest) < 64 {
		return false
	}
	for _, c := range rest[:64] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return len(rest) == 64 || rest[64] == '.'
}
