package verify

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRedTeamKeylessRealBundles edits the reference tool's real keyless
// signatures (public-good Sigstore) and the public-good trusted root, one
// thing at a time, and checks that offline verification notices: the log
// entry, its inclusion proof, the SCT's log, and every validity window of
// the trusted root are really checked, not skipped. The unedited pair
// must verify, so the table cannot pass by refusing everything.
func TestRedTeamKeylessRealBundles(t *testing.T) {
	rootPath := publicGoodRoot(t)
	rootJSON, err := os.ReadFile(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	type edit struct {
		name   string
		root   func(map[string]any) // edits the trusted root
		bundle func(map[string]any) // edits the bundle
		trust  func(*TrustOptions)
		want   string // "" = must verify
	}
	tlog0 := func(b map[string]any) map[string]any {
		return b["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
	}
	list := func(r map[string]any, key string) []any { return r[key].([]any) }
	validFor := func(x map[string]any) map[string]any {
		if pk, ok := x["publicKey"].(map[string]any); ok {
			return pk["validFor"].(map[string]any)
		}
		return x["validFor"].(map[string]any)
	}
	edits := []edit{
		{name: "control/unedited"},
		{name: "control/identity-regexp-anchored", trust: func(o *TrustOptions) { o.Identity, o.IdentityRegexp = "", `^stefanb@us\.ibm\.com$` }},
		{name: "tlog/entry-removed", bundle: func(b map[string]any) { b["verificationMaterial"].(map[string]any)["tlogEntries"] = []any{} }, want: "no transparency-log entry"},
		{name: "tlog/inclusion-proof-root-changed", bundle: func(b map[string]any) {
			p := tlog0(b)["inclusionProof"].(map[string]any)
			h, _ := base64.StdEncoding.DecodeString(p["rootHash"].(string))
			h[0] ^= 1
			p["rootHash"] = base64.StdEncoding.EncodeToString(h)
		}, want: "keyless verification failed"},
		{name: "tlog/integrated-time-moved", bundle: func(b map[string]any) {
			e := tlog0(b)
			e["integratedTime"] = "1760065940" // an hour later: outside the 10-minute certificate
		}, want: "keyless verification failed"},
		{name: "tlog/log-key-not-in-root", root: func(r map[string]any) {
			list(r, "tlogs")[0].(map[string]any)["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(make([]byte, 32))}
		}, want: "keyless verification failed"},
		{name: "tlog/log-key-valid-only-later", root: func(r map[string]any) {
			validFor(list(r, "tlogs")[0].(map[string]any))["start"] = "2030-01-01T00:00:00Z"
		}, want: "keyless verification failed"},
		{name: "fulcio/ca-window-ended-before-signing", root: func(r map[string]any) {
			for _, ca := range list(r, "certificateAuthorities") {
				validFor(ca.(map[string]any))["end"] = "2023-01-01T00:00:00Z"
			}
		}, want: "keyless verification failed"},
		{name: "fulcio/ca-window-starts-after-signing", root: func(r map[string]any) {
			for _, ca := range list(r, "certificateAuthorities") {
				validFor(ca.(map[string]any))["start"] = "2030-01-01T00:00:00Z"
			}
		}, want: "keyless verification failed"},
		{name: "ct/sct-from-unknown-log", root: func(r map[string]any) {
			for _, l := range list(r, "ctlogs") {
				l.(map[string]any)["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(make([]byte, 32))}
			}
		}, want: "keyless verification failed"},
		{name: "identity/prefix-of-real-identity", trust: func(o *TrustOptions) { o.Identity = "stefanb@us.ibm.co" }, want: "keyless verification failed"},
		{name: "identity/real-identity-with-suffix", trust: func(o *TrustOptions) { o.Identity = "stefanb@us.ibm.com.evil.example" }, want: "keyless verification failed"},
		{name: "identity/regexp-anchored-other-domain", trust: func(o *TrustOptions) { o.Identity, o.IdentityRegexp = "", `^stefanb@us\.ibm\.com\.evil$` }, want: "keyless verification failed"},
		{name: "issuer/trailing-slash", trust: func(o *TrustOptions) { o.Issuer = fixtureIssuer + "/" }, want: "keyless verification failed"},
		{name: "issuer/regexp-other-host", trust: func(o *TrustOptions) { o.Issuer, o.IssuerRegexp = "", `^https://accounts\.google\.com$` }, want: "keyless verification failed"},
		{name: "bundle/relabelled-v0.1-without-inclusion-proof", bundle: func(b map[string]any) {
			b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1"
			delete(tlog0(b), "inclusionProof")
			delete(b["verificationMaterial"].(map[string]any), "timestampVerificationData")
		}, want: "media type was changed"},
		{name: "certificate/swapped-for-key-material", bundle: func(b map[string]any) {
			vm := b["verificationMaterial"].(map[string]any)
			delete(vm, "certificate")
			vm["publicKey"] = map[string]any{"hint": "x"}
		}, want: "not a Sigstore certificate"},
	}
	for _, f := range fixtures(t) {
		if !strings.HasSuffix(f.name, "-sigstore") {
			continue
		}
		for _, e := range edits {
			t.Run(f.name+"/"+e.name, func(t *testing.T) {
				dir := copyTree(t, f.model)
				sig := filepath.Join(dir, DefaultSignatureName)
				o := Options{SignaturePath: sig, Trust: f.trust, IgnorePaths: f.ignore}
				if e.bundle != nil {
					data, _ := os.ReadFile(sig)
					writeFile(t, sig, editJSON(t, data, e.bundle))
				}
				if e.root != nil {
					p := filepath.Join(t.TempDir(), "trusted_root.json")
					writeFile(t, p, editJSON(t, rootJSON, e.root))
					o.Trust.TrustedRootPath = p
				}
				if e.trust != nil {
					e.trust(&o.Trust)
				}
				r, err := Verify(dir, o)
				if err != nil {
					t.Fatalf("usage error instead of a verdict: %v", err)
				}
				if e.want == "" {
					if !r.Verified {
						t.Fatalf("control refused: %+v", r.Problems)
					}
					return
				}
				if r.Verified {
					t.Fatalf("VERIFIED; want a refusal mentioning %q", e.want)
				}
				t.Logf("refused: %s", r.Problems[0].Message)
				if len(r.Problems) == 0 || !strings.Contains(r.Problems[0].Message, e.want) {
					t.Errorf("refused, but not for %q: %+v", e.want, r.Problems)
				}
			})
		}
	}
}
