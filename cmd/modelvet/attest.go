package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/modelvet/modelvet/attest"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/verify"
)

func init() {
	register(&command{name: "attest", summary: "sign an in-toto statement (e.g. SLSA provenance) about a model folder", run: runAttest})
	register(&command{name: "attestation", summary: "verify attestations (provenance) and in-toto layouts", run: runAttestation})
}

// provenanceFlags are the requirements on SLSA provenance; verify uses
// them too.
type provenanceFlags struct {
	builderID, sourceURI, sourceRevision string
	dependencies                         listFlag
}

func (p *provenanceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.builderID, "builder-id", "", "the provenance must name this builder (exact; without @version, any version of it)")
	fs.StringVar(&p.sourceURI, "source-uri", "", "the provenance must name this source repository (e.g. https://github.com/org/model; add @refs/heads/main to pin the ref)")
	fs.StringVar(&p.sourceRevision, "source-revision", "", "the provenance must name this source revision (commit hex, or ALG:HEX)")
	fs.Var(&p.dependencies, "dependency-digest", "a build input (material or resolved dependency, e.g. the base model) must have this digest, ALG:HEX (repeatable)")
}

func (p *provenanceFlags) requirements() (attest.Requirements, error) {
	r := attest.Requirements{BuilderID: p.builderID, SourceURI: p.sourceURI, SourceRevision: p.sourceRevision}
	for _, d := range p.dependencies {
		dg, err := attest.ParseDigest(d)
		if err != nil {
			return r, fmt.Errorf("--dependency-digest: %v", err)
		}
		r.DependencyDigests = append(r.DependencyDigests, dg)
	}
	return r, nil
}

func runAttest(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("attest", stderr)
	ptype := fs.String("type", "", "predicate type URI (required), e.g. https://slsa.dev/provenance/v1, or slsa-v1 / slsa-v0.2")
	predicate := fs.String("predicate", "", "file holding the predicate JSON object (required)")
	key := fs.String("key", "", "PEM private key to sign with (required; ECDSA P-256/384/521, Ed25519 or RSA; PKCS#8, encrypted or not), or cosign's encrypted cosign.key")
	pwEnv := keyPasswordFlag(fs)
	output := fs.String("output", "", "write the attestation here (default: standard output)")
	envelope := fs.String("envelope", attest.FormatBundle, "bundle (Sigstore bundle naming the key by its hint) or dsse (bare DSSE envelope)")
	signature := fs.String("signature", "", "the model's signature file, left out of the digest (default MODEL/model.sig)")
	ho := hashFlags(fs) // the same hashing flags as sign, so the digests agree
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet attest MODEL --type URI --predicate FILE --key KEY [--output FILE]\n\n"+
			"Signs an in-toto Statement v1 whose subject is the model's root digest (the one model.sig signs), so a\n"+
			"pipeline can publish provenance beside model.sig. The output and model.sig are left out of the digest.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, code, ok := parseOneArg(fs, args)
	if !ok {
		return code
	}
	// Say which required flag is missing rather than only reprinting the
	// usage, where the reader has to work it out.
	var missing []string
	for _, f := range []struct{ name, val string }{{"--type", *ptype}, {"--predicate", *predicate}, {"--key", *key}} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "modelvet attest: missing %s (run 'modelvet attest -h' for what each means)\n", strings.Join(missing, ", "))
		return exitUsage
	}
	model := pos[0]
	fail := func(err error) int {
		fmt.Fprintln(stderr, "modelvet attest:", err)
		return exitUsage
	}
	pred, err := readSmallFile(*predicate, "predicate")
	if err != nil {
		return fail(err)
	}
	signer, err := loadSigningKey(*key, *pwEnv, stderr)
	if err != nil {
		return fail(fmt.Errorf("--key: %v", err))
	}
	h, err := ho.options()
	if err != nil {
		return fail(err)
	}
	sig := *signature
	if sig == "" {
		sig = verify.DefaultSignaturePath(model)
	}
	h.IgnorePaths = append(append([]string{}, h.IgnorePaths...), attest.IgnoresInside(model, *output, sig)...)
	m, err := verify.HashModel(model, h)
	if err != nil {
		return fail(err)
	}
	out, err := attest.Create(attest.CreateOptions{
		PredicateType: *ptype, Predicate: pred, SubjectName: m.ModelName,
		Subject: attest.Digest{Alg: "sha256", Hex: m.RootDigest()}, Signer: signer, Format: *envelope,
	})
	if err != nil {
		return fail(err)
	}
	if *output == "" {
		if _, err := stdout.Write(out); err != nil {
			return fail(err)
		}
		return exitOK
	}
	if err := os.WriteFile(*output, out, 0o644); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stderr, "attested %s (sha256:%s, %s) in %s\n", model, m.RootDigest(), plural(len(m.Resources), "file"), *output)
	return exitOK
}

func readSmallFile(path, what string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if fi.Size() > attest.MaxFileSize {
		return nil, fmt.Errorf("%s %s is %d bytes, more than %d", what, path, fi.Size(), attest.MaxFileSize)
	}
	return os.ReadFile(path)
}

func runAttestation(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: modelvet attestation verify FILE [flags]\n       modelvet attestation verify-layout LAYOUT --layout-key KEY --links DIR\n\nRun 'modelvet attestation verify -h' for flags.")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "verify":
		return runAttestationVerify(args[1:], stdout, stderr)
	case "verify-layout":
		return runVerifyLayout(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "modelvet attestation: unknown subcommand %q (want verify or verify-layout)\n", args[0])
	return exitUsage
}

func runAttestationVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("attestation verify", stderr)
	var trust trustFlags
	trust.register(fs)
	var prov provenanceFlags
	prov.register(fs)
	subject := fs.String("subject-digest", "", "every statement must be about an artifact with this digest, ALG:HEX (e.g. the model's sha256 root digest)")
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet attestation verify FILE [--subject-digest ALG:HEX] [signature flags] [--builder-id ID] [--source-uri URI]\n\n"+
			"Verifies every attestation in FILE (a Sigstore bundle or DSSE envelope; JSON or JSON Lines) offline and prints\n"+
			"what it claims. Exit 0: verified; 1: not verified (the reason is printed); 2: usage error or unreadable file.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, code, ok := parseOneArg(fs, args)
	if !ok {
		return code
	}
	if !textOrJSON(stderr, "modelvet attestation verify", *format) {
		return exitUsage
	}
	var err error
	o := attest.Options{}
	if o.Trust, err = trust.options(); err != nil {
		fmt.Fprintln(stderr, "modelvet attestation verify:", err)
		return exitUsage
	}
	trust.warnUnanchored(stderr, "modelvet attestation verify")
	if err := o.Trust.CheckMaterial(); err != nil {
		fmt.Fprintln(stderr, "modelvet attestation verify:", err)
		return exitUsage
	}
	if o.Require, err = prov.requirements(); err != nil {
		fmt.Fprintln(stderr, "modelvet attestation verify:", err)
		return exitUsage
	}
	if *subject != "" {
		if o.SubjectDigest, err = attest.ParseDigest(*subject); err != nil {
			fmt.Fprintln(stderr, "modelvet attestation verify: --subject-digest:", err)
			return exitUsage
		}
	}
	res, err := attest.VerifyFile(pos[0], o)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet attestation verify:", err)
		return exitUsage
	}
	return writeSection(stdout, stderr, res.Section(), *format, "attestation verify")
}

func runVerifyLayout(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("attestation verify-layout", stderr)
	var keys listFlag
	fs.Var(&keys, "layout-key", "PEM public key of the layout owner; the layout must be signed by each (repeatable, required)")
	links := fs.String("links", "", "folder holding the step links, named STEP.KEYID8.link (required)")
	model := fs.String("model", "", "also require every file of this model folder to be a final product of the layout, with the same sha256")
	var strip listFlag
	fs.Var(&strip, "strip-prefix", "with --model: remove this prefix from product paths before comparing, as in-toto's --lstrip-paths does (e.g. model/ when the functionary recorded the folder; repeatable, first match wins)")
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet attestation verify-layout LAYOUT --layout-key KEY --links DIR [--model DIR [--strip-prefix P]]\n\n"+
			"Verifies an in-toto layout and its links: layout signature and expiry, functionary signatures and\n"+
			"thresholds, artifact rules. Layouts with inspections are refused: modelvet never runs commands.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseErrExit(err)
	}
	if len(pos) != 1 || len(keys) == 0 || *links == "" {
		fs.Usage()
		return exitUsage
	}
	if !textOrJSON(stderr, "modelvet attestation verify-layout", *format) {
		return exitUsage
	}
	if len(strip) > 0 && *model == "" {
		fmt.Fprintln(stderr, "modelvet attestation verify-layout: --strip-prefix applies to the comparison with --model DIR")
		return exitUsage
	}
	for _, p := range append([]string{pos[0], *links}, keys...) {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintln(stderr, "modelvet attestation verify-layout:", err)
			return exitUsage
		}
	}
	sec := report.Section{Name: "in-toto layout"}
	res, err := attest.VerifyLayout(pos[0], keys, *links)
	if err != nil {
		sec.Lines = []string{"REFUSED: " + err.Error()}
	} else {
		sec.OK = true
		sec.Lines = res.Lines()
		if *model != "" {
			m, err := verify.HashModel(*model, verify.HashOptions{IgnorePaths: attest.IgnoresInside(*model, pos[0], *links, verify.DefaultSignaturePath(*model))})
			if err != nil {
				fmt.Fprintln(stderr, "modelvet attestation verify-layout:", err)
				return exitUsage
			}
			err = res.StripPrefixes(strip)
			if err == nil {
				err = res.CoversModel(attest.ModelFromManifest(m))
			}
			if err != nil {
				sec.OK = false
				sec.Lines = append(sec.Lines, "REFUSED: "+err.Error())
			} else {
				sec.Lines = append(sec.Lines, fmt.Sprintf("every file of the model (%s) is a final product of the pipeline", plural(len(m.Resources), "file")))
			}
		}
	}
	return writeSection(stdout, stderr, sec, *format, "attestation verify-layout")
}

// writeSection prints one check's outcome and returns its exit status.
func writeSection(stdout, stderr io.Writer, sec report.Section, format, cmd string) int {
	verdict := "fail"
	if sec.OK {
		verdict = "pass"
	}
	if format == "json" {
		rep := &report.Report{Tool: "modelvet", Version: report.Version, Verdict: verdict, Sections: []report.Section{sec}}
		rep.Summary = report.Summarize(nil, 0)
		if err := report.WriteJSON(stdout, rep); err != nil {
			fmt.Fprintf(stderr, "modelvet %s: %v\n", cmd, err)
			return exitUsage
		}
	} else {
		for _, l := range sec.Lines {
			fmt.Fprintln(stdout, l)
		}
		if sec.OK {
			fmt.Fprintln(stdout, "VERIFIED")
		} else {
			fmt.Fprintln(stdout, "NOT VERIFIED")
		}
	}
	if !sec.OK {
		return exitFail
	}
	return exitOK
}
