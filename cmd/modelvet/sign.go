package main

import (
	"fmt"
	"io"
	"os"

	"github.com/modelvet/modelvet/verify"
)

func init() {
	register(&command{name: "sign", summary: "sign a model folder with an OpenSSF model signature (model.sig)", run: runSign})
}

func runSign(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sign", stderr)
	ho := hashFlags(fs)
	ho.addHashType(fs)
	sigPath := fs.String("signature", "", "where to write the signature (default MODEL/model.sig; left out of its own manifest)")
	key := fs.String("key", "", "PEM private key (ECDSA P-256/384/521 or Ed25519; PKCS#8, encrypted or not, or SEC 1), or cosign's encrypted cosign.key")
	pwEnv := keyPasswordFlag(fs)
	cert := fs.String("certificate", "", "sign with this PEM signing certificate (its key is --key): the certificate method")
	var chain listFlag
	fs.Var(&chain, "certificate-chain", "PEM intermediate certificates to include after the signing certificate (repeatable)")
	keyless := fs.Bool("keyless", false, "sign with Sigstore keyless (OIDC token, Fulcio, Rekor): the only sign mode that uses the network")
	kf := keylessFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet sign MODEL --key KEY.pem [--certificate LEAF.pem [--certificate-chain INT.pem ...]] [--signature model.sig] [--hash-type sha256|blake2b|blake3] [--ignore-paths P ...]\n       modelvet sign MODEL --keyless [--identity-token TOKEN] [--trusted-root trusted_root.json] [--fulcio-url URL] [--rekor-url URL]\n\nWrites an OpenSSF model signature (OMS v1.0, as model_signing v1.1 writes it).\n\nflags:")
		fs.PrintDefaults()
	}
	pos, code, ok := parseOneArg(fs, args)
	if !ok {
		return code
	}
	// A model path that cannot be read is a usage error (exit 2), as for
	// every command, not a failed signing.
	if _, err := os.Lstat(pos[0]); err != nil {
		fmt.Fprintln(stderr, "modelvet sign: cannot read the model:", err)
		return exitUsage
	}
	// Signing one file of a signed folder writes model.sig beside it, over
	// the folder's signature: say so rather than replace it silently.
	sigFile := *sigPath
	if sigFile == "" {
		sigFile = verify.DefaultSignaturePath(pos[0])
	}
	_, statErr := os.Lstat(sigFile)
	replacing := statErr == nil
	noteReplaced := func(code int) int {
		if code == exitOK && replacing {
			fmt.Fprintf(stderr, "modelvet sign: note: replaced the signature that was already in %s\n", sigFile)
		}
		return code
	}
	var err error
	o := verify.SignOptions{SignaturePath: *sigPath, Keyless: *keyless}
	if o.Hash, err = ho.options(); err != nil {
		fmt.Fprintln(stderr, "modelvet sign:", err)
		return exitUsage
	}
	if isTerminal(stderr) {
		o.Hash.Progress = stderr
	}
	if *keyless {
		return noteReplaced(runSignKeyless(pos[0], o, kf, *key != "" || *cert != "" || len(chain) > 0, stdout, stderr))
	}
	if f := kf.misused(fs); f != "" {
		fmt.Fprintf(stderr, "modelvet sign: --%s is for keyless signing: add --keyless\n", f)
		return exitUsage
	}
	if *key == "" {
		fmt.Fprintln(stderr, "modelvet sign: --key KEY.pem (or --keyless) is required")
		return exitUsage
	}
	if o.Key, err = loadSigningKey(*key, *pwEnv, stderr); err != nil {
		fmt.Fprintln(stderr, "modelvet sign:", err)
		return exitUsage
	}
	if err := verify.CheckSigningKey(o.Key.Public()); err != nil {
		fmt.Fprintf(stderr, "modelvet sign: %s: %v\n", *key, err)
		return exitUsage
	}
	if *cert != "" {
		ders, err := verify.PEMCertificates(*cert)
		if err != nil {
			fmt.Fprintln(stderr, "modelvet sign: --certificate:", err)
			return exitUsage
		}
		o.Certificate = ders[0]
		o.Chain = append(o.Chain, ders[1:]...)
		for _, c := range chain {
			d, err := verify.PEMCertificates(c)
			if err != nil {
				fmt.Fprintln(stderr, "modelvet sign: --certificate-chain:", err)
				return exitUsage
			}
			o.Chain = append(o.Chain, d...)
		}
	} else if len(chain) > 0 {
		fmt.Fprintln(stderr, "modelvet sign: --certificate-chain needs --certificate")
		return exitUsage
	}
	m, _, err := verify.Sign(pos[0], o)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet sign:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "signed %s: %s%s, root sha256:%s -> %s\n", pos[0], plural(len(m.Resources), "resource"), hashTypeNote(m.HashType), m.RootDigest(), sigFile)
	return noteReplaced(exitOK)
}
