package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/modelvet/modelvet/verify"
)

// trustFlags are the flags that say whose signatures are accepted. They
// are shared by verify, attestation verify and check, so that the same
// words mean the same trust everywhere.
type trustFlags struct {
	key         string
	chain       listFlag
	identity    string
	identityRe  string
	issuer      string
	issuerRe    string
	trustedRoot string
}

func (t *trustFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.key, "key", "", "trust signatures made with this PEM public key (ECDSA P-256/384/521, ed25519, RSA; cosign public keys too)")
	fs.Var(&t.chain, "certificate-chain", "trust certificate signatures chaining to these PEM CA certificates (root and intermediates; repeatable)")
	fs.StringVar(&t.identity, "certificate-identity", "", "keyless: the signer's identity (certificate SAN, e.g. an e-mail) must equal this")
	fs.StringVar(&t.identityRe, "certificate-identity-regexp", "", "keyless: the signer's identity must match this regular expression")
	fs.StringVar(&t.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer that vouched for the identity must equal this URL")
	fs.StringVar(&t.issuerRe, "certificate-oidc-issuer-regexp", "", "keyless: the OIDC issuer must match this regular expression")
	fs.StringVar(&t.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted_root.json (CAs, transparency logs, timestamp authorities); never fetched")
}

// options turns the flags into trust options, refusing mixtures and
// incomplete keyless settings with a message that names the flags.
func (t *trustFlags) options() (verify.TrustOptions, error) {
	o := verify.TrustOptions{
		KeyPath:         t.key,
		CAChainPaths:    append([]string(nil), t.chain...),
		Identity:        t.identity,
		IdentityRegexp:  t.identityRe,
		Issuer:          t.issuer,
		IssuerRegexp:    t.issuerRe,
		TrustedRootPath: t.trustedRoot,
	}
	// Name the flags, not the library's method names, when several trust
	// methods are mixed: the user typed flags.
	var given []string
	if t.key != "" {
		given = append(given, "--key")
	}
	if len(t.chain) > 0 {
		given = append(given, "--certificate-chain")
	}
	if t.identity != "" || t.identityRe != "" || t.issuer != "" || t.issuerRe != "" || t.trustedRoot != "" {
		given = append(given, "--certificate-identity/--certificate-oidc-issuer/--trusted-root (keyless)")
	}
	if len(given) > 1 {
		return o, fmt.Errorf("several trust methods given (%s): a signature must satisfy the one method you choose, so pass exactly one", strings.Join(given, " and "))
	}
	if _, err := o.Method(); err != nil {
		return o, err
	}
	return o, nil
}

// warnUnanchored prints, on stderr, a warning for each identity or issuer
// pattern that is not anchored: it keeps cosign's matching (anywhere in
// the value), so "ibm" also accepts "x@ibm.evil.example".
func (t *trustFlags) warnUnanchored(stderr io.Writer, cmd string) {
	for _, re := range []struct{ flag, v string }{{"--certificate-identity-regexp", t.identityRe}, {"--certificate-oidc-issuer-regexp", t.issuerRe}} {
		if w := verify.UnanchoredRegexp(re.flag, re.v); w != "" {
			fmt.Fprintf(stderr, "%s: warning: %s\n", cmd, w)
		}
	}
}
