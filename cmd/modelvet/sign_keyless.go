package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/modelvet/modelvet/verify"
)

// keylessSignFlags are the `modelvet sign --keyless` options. They are
// refused without --keyless so nobody believes a keyless signature was
// made when a key signed.
type keylessSignFlags struct {
	token, fulcio, rekor, trustedRoot *string
}

func keylessFlags(fs *flag.FlagSet) *keylessSignFlags {
	return &keylessSignFlags{
		token:       fs.String("identity-token", "", "OIDC identity token for --keyless (default $SIGSTORE_ID_TOKEN; never printed)"),
		fulcio:      fs.String("fulcio-url", verify.DefaultFulcioURL, "Fulcio for --keyless"),
		rekor:       fs.String("rekor-url", verify.DefaultRekorURL, "Rekor for --keyless"),
		trustedRoot: fs.String("trusted-root", "", "with --keyless: verify the new signature against this trusted_root.json before writing it"),
	}
}

// misused names a keyless-only flag given without --keyless, or "".
func (k *keylessSignFlags) misused(fs *flag.FlagSet) string {
	name := ""
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "identity-token", "fulcio-url", "rekor-url", "trusted-root":
			name = f.Name
		}
	})
	return name
}

// runSignKeyless signs with Sigstore keyless; the only sign path that
// uses the network. withKey is set when --key/--certificate were given too.
func runSignKeyless(model string, o verify.SignOptions, k *keylessSignFlags, withKey bool, stdout, stderr io.Writer) int {
	if withKey {
		fmt.Fprintln(stderr, "modelvet sign: --keyless signs with an ephemeral key and a Fulcio certificate: drop --key, --certificate and --certificate-chain")
		return exitUsage
	}
	tok := *k.token
	if tok == "" {
		tok = os.Getenv("SIGSTORE_ID_TOKEN")
	}
	o.KeylessOpts = verify.KeylessOptions{IDToken: tok, FulcioURL: *k.fulcio, RekorURL: *k.rekor, TrustedRootPath: *k.trustedRoot}
	m, out, err := verify.Sign(model, o)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet sign:", err)
		var ue *verify.UsageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFail
	}
	where := o.SignaturePath
	if where == "" {
		where = verify.DefaultSignaturePath(model)
	}
	id, iss, _ := verify.KeylessSigner(out)
	fmt.Fprintf(stdout, "signed %s keyless as %s (issuer %s): %s, root sha256:%s -> %s\n", model, id, iss, plural(len(m.Resources), "resource"), m.RootDigest(), where)
	if *k.trustedRoot == "" {
		fmt.Fprintln(stderr, "modelvet sign: note: not verified after signing (pass --trusted-root trusted_root.json to check it before writing)")
	}
	return exitOK
}
