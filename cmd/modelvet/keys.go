package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/youmark/pkcs8"
	"golang.org/x/term"

	"github.com/modelvet/modelvet/verify"
)

// keyPasswordFlag registers --key-password-env for the commands that sign.
func keyPasswordFlag(fs *flag.FlagSet) *string {
	return fs.String("key-password-env", "", "name of the environment variable holding the password of an encrypted --key (default for cosign keys: COSIGN_PASSWORD; on a terminal, asked when not given)")
}

// loadSigningKey reads a private key: plain PEM (PKCS#8, SEC 1), an
// encrypted PKCS#8 "ENCRYPTED PRIVATE KEY" (openssl genpkey -aes256,
// Python cryptography's BestAvailableEncryption), or cosign's encrypted
// cosign.key. The cosign key is decrypted exactly as cosign.LoadPrivateKey
// does (securesystemslib "encrypted" envelope around PKCS#8) without
// linking cosign's pkg/cosign, which pulls registry, Rekor, TUF and OIDC
// clients into the binary. The password comes from the variable named by
// pwEnv, else (cosign keys) COSIGN_PASSWORD, else a prompt when stdin is
// a terminal; a password is never taken from a flag value, where it
// would show in the process list and shell history.
func loadSigningKey(path, pwEnv string, stderr io.Writer) (crypto.Signer, error) {
	data, err := readSmallFile(path, "key")
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, fmt.Errorf("%s is not a PEM private key", path)
	}
	switch blk.Type {
	case "ENCRYPTED PRIVATE KEY":
		pw, from, err := keyPassword(path, pwEnv, "", stderr)
		if err != nil {
			return nil, err
		}
		k, err := pkcs8.ParsePKCS8PrivateKey(blk.Bytes, pw)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot decrypt the key (is the password %s right? or the encryption is not PBES2/scrypt): %v", path, from, err)
		}
		return asSigner(path, k)
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		pw, from, err := keyPassword(path, pwEnv, "COSIGN_PASSWORD", stderr)
		if err != nil {
			return nil, err
		}
		der, err := encrypted.Decrypt(blk.Bytes, pw)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot decrypt the cosign key (is the password %s right?): %v", path, from, err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("%s: decrypted cosign key: %v", path, err)
		}
		return asSigner(path, k)
	}
	if blk.Headers["Proc-Type"] != "" {
		// Legacy OpenSSL PEM encryption (DEK-Info): weak, and Go rightly no
		// longer decrypts it.
		return nil, fmt.Errorf("%s uses legacy OpenSSL PEM encryption; convert it to encrypted PKCS#8: openssl pkcs8 -topk8 -in %s -out key.p8.pem", path, path)
	}
	if blk.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		return asSigner(path, k)
	}
	k, err := verify.LoadPrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return k, nil
}

func asSigner(path string, k any) (crypto.Signer, error) {
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s holds a %s key, which cannot sign", path, verify.KeyTypeName(k))
	}
	return s, nil
}

// keyPassword finds the password of an encrypted key (see
// loadSigningKey) and says where it came from, for messages.
func keyPassword(path, pwEnv, defaultEnv string, stderr io.Writer) ([]byte, string, error) {
	if pwEnv != "" {
		pw, ok := os.LookupEnv(pwEnv)
		if !ok {
			return nil, "", fmt.Errorf("--key-password-env %s: the environment variable %s is not set", pwEnv, pwEnv)
		}
		return []byte(pw), "in " + pwEnv, nil
	}
	if defaultEnv != "" {
		if pw, ok := os.LookupEnv(defaultEnv); ok {
			return []byte(pw), "in " + defaultEnv, nil
		}
	}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		fmt.Fprintf(stderr, "Password for %s: ", path)
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, "", fmt.Errorf("reading the password: %v", err)
		}
		return pw, "typed", nil
	}
	hint := "--key-password-env NAME (NAME: an environment variable holding the password)"
	if defaultEnv != "" {
		hint = defaultEnv + " or " + hint
	}
	return nil, "", errors.New(path + " is encrypted: give its password with " + hint + ", or run on a terminal to be asked")
}
