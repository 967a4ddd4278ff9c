package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/modelvet/modelvet/attest"
	"github.com/modelvet/modelvet/oci"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

func init() {
	register(&command{name: "verify", summary: "verify a model's OpenSSF model signature (model.sig) offline", run: runVerify})
}

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", stderr)
	var trust trustFlags
	trust.register(fs)
	sig := fs.String("signature", "", "signature file (default MODEL/model.sig, or model.sig beside a single-file model)")
	var ignore listFlag
	fs.Var(&ignore, "ignore-paths", "leave this path (relative to the model) out of the check (repeatable)")
	ignoreUnsigned := fs.Bool("ignore-unsigned-files", false, "let files that the signature does not list pass (only signed files are checked)")
	allowSymlinks := fs.Bool("allow-symlinks", false, "follow symbolic links inside the model (links out of it are always refused)")
	format := fs.String("format", "text", "output format: text or json")
	insecureReg := fs.Bool("insecure-registry", false, "allow plain HTTP or unverified TLS for an oci:// model")
	attestation := fs.String("attestation", "", "also verify this provenance file (Sigstore bundle or DSSE, JSON or JSON Lines) against the model, with the same trust flags")
	var prov provenanceFlags
	prov.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: modelvet verify MODEL [--signature FILE] (--key PUB.pem | --certificate-chain CA.pem ... | --certificate-identity ID --certificate-oidc-issuer URL --trusted-root trusted_root.json) [flags]

Verifies that MODEL (a folder or one file) is exactly what a trusted signer signed with the
OpenSSF model signing format (the reference model_signing tool, v0.2 to v1.1). Offline: trust
material is read from the files given, never fetched.
Exit 0: verified; 1: not verified (the output says why); 2: usage error or unreadable input.

flags:`)
		fs.PrintDefaults()
	}
	pos, code, ok := parseOneArg(fs, args)
	if !ok {
		return code
	}
	if !textOrJSON(stderr, "modelvet verify", *format) {
		return exitUsage
	}
	if oci.IsRef(pos[0]) {
		return runVerifyOCI(pos[0], &trust, ociVerifyFlags{sig: *sig, ignore: ignore, ignoreUnsigned: *ignoreUnsigned, format: *format, insecure: *insecureReg}, stdout, stderr)
	}
	to, err := trust.options()
	if err != nil {
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	trust.warnUnanchored(stderr, "modelvet verify")
	req, err := prov.requirements()
	if err != nil {
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	if *attestation == "" && (req.BuilderID != "" || req.SourceURI != "" || req.SourceRevision != "" || len(req.DependencyDigests) > 0) {
		fmt.Fprintln(stderr, "modelvet verify: --builder-id, --source-uri, --source-revision and --dependency-digest need --attestation FILE")
		return exitUsage
	}
	if *attestation != "" {
		// An attestation stored inside the model is not part of what the
		// signature covers.
		ignore = append(ignore, attest.IgnoresInside(pos[0], *attestation)...)
	}
	opts := verify.Options{
		SignaturePath:       *sig,
		Trust:               to,
		IgnorePaths:         ignore,
		IgnoreUnsignedFiles: *ignoreUnsigned,
		AllowSymlinks:       *allowSymlinks,
	}
	if isTerminal(stderr) {
		opts.Progress = stderr
	}
	res, err := verify.Verify(pos[0], opts)
	if err != nil {
		var ue *verify.UsageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "modelvet verify:", err)
			return exitUsage
		}
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	rep := signatureReport(res)
	if *attestation != "" {
		mo := attest.ModelOptions{Trust: to, Require: req, SignaturePath: res.Signature,
			Hash: verify.HashOptions{IgnorePaths: ignore, AllowSymlinks: *allowSymlinks}}
		// Reuse the signature's manifest unless it is partial.
		if res.Verified && !*ignoreUnsigned {
			mo.Manifest = res.Manifest
		}
		ar, err := attest.VerifyForModel(pos[0], *attestation, mo)
		if err != nil {
			fmt.Fprintln(stderr, "modelvet verify:", err)
			return exitUsage
		}
		rep.Sections = append(rep.Sections, ar.Section())
		if !ar.OK {
			rep.Verdict = "fail"
			rep.Reasons = append(rep.Reasons, ar.Reasons()...)
		}
	}
	if err := report.Write(stdout, rep, *format, useColor(stdout)); err != nil {
		fmt.Fprintln(stderr, "modelvet verify:", err)
		return exitUsage
	}
	if !rep.Passed() {
		return exitFail
	}
	return exitOK
}

// signatureReport puts a verification result in the shared report: one
// "signature" section with plain-words lines, verdict pass or fail.
func signatureReport(res *verify.Result) *report.Report {
	rep := &report.Report{Tool: "modelvet", Version: report.Version, Verdict: "fail", Summary: report.Summary{BySeverity: map[string]int{}}}
	rep.Sections = []report.Section{SignatureSection(res)}
	if res.Verified {
		rep.Verdict = "pass"
	} else {
		for _, p := range res.Problems {
			rep.Reasons = append(rep.Reasons, report.Reason{Rule: "signature/" + p.Kind, Policy: "signature must verify", Detail: p.Message})
		}
	}
	return rep
}

// SignatureSection renders a result as the report's "signature" section.
// check (H7) can reuse it to show the same words.
func SignatureSection(res *verify.Result) report.Section {
	s := report.Section{Name: "signature", OK: res.Verified}
	add := func(f string, a ...any) { s.Lines = append(s.Lines, fmt.Sprintf(f, a...)) }
	add("model %s, signature %s", res.Model, res.Signature)
	if sg := res.Signer; sg != nil {
		switch sg.Method {
		case verify.MethodKey:
			add("signed with public key %s", sg.KeyID)
		case verify.MethodCertificate:
			add("signed by certificate %s, issued by %s", sg.Identity, sg.Issuer)
		case verify.MethodKeyless:
			add("signed by %s (OIDC issuer %s) via Sigstore", sg.Identity, sg.Issuer)
		}
		for _, n := range sg.Notes {
			add("%s", n)
		}
	}
	if sd := res.Signed; sd != nil {
		if sd.RootDigest != "" {
			add("model %q, root digest sha256:%s", sd.ModelName, sd.RootDigest)
		}
		method := sd.Method
		if sd.Method == verify.MethodShards {
			method = fmt.Sprintf("shards of %d bytes", sd.ShardSize)
		}
		add("%s (%s, %s)", plural(len(sd.Resources), "signed resource"), method, sd.HashType)
		if len(sd.IgnorePaths) > 0 {
			add("paths the signer left out: %s", strings.Join(sd.IgnorePaths, ", "))
		}
	}
	if res.FormatNote != "" {
		add("%s", res.FormatNote)
	}
	if res.Verified {
		if res.Resources == 1 {
			add("verified: the 1 resource matches (%d bytes hashed)", res.Bytes)
		} else {
			add("verified: all %d resources match (%d bytes hashed)", res.Resources, res.Bytes)
		}
	}
	if n := len(res.NotCovered); n > 0 {
		add("WARNING: %d present but NOT covered by the signature (the signer's ignore_paths left them out; nothing vouches for them): %s", n, verify.ListSome(res.NotCovered, 10))
	}
	const maxLines = 50
	listed := res.Problems
	if res.OmittedProblems > 0 && len(listed) > 0 {
		listed = listed[:len(listed)-1] // the "omitted" entry: counted below
	}
	for i, p := range listed {
		if i == maxLines {
			break
		}
		add("FAILED: %s", p.Message)
	}
	if more := len(listed) - maxLines + res.OmittedProblems; len(listed) > maxLines || res.OmittedProblems > 0 {
		if len(listed) <= maxLines {
			more = res.OmittedProblems
		}
		add("... and %d more problems", more)
	}
	return s
}
