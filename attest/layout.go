package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/modelvet/modelvet/internal/jsonx"
)

// MaxLinks caps the link files read for one layout.
const MaxLinks = 4096

// LayoutResult is what a verified layout and its links establish.
type LayoutResult struct {
	Expires  string
	Steps    []StepResult
	Products map[string]map[string]string // the last step's products: path -> digests
	Warnings []string                     // command misalignments (in-toto treats them as warnings)
}

// StepResult says who performed a step.
type StepResult struct {
	Name      string
	Threshold int
	Signers   []string // key IDs whose links verified
	Command   string
}

// Lines renders the result in plain words.
func (r *LayoutResult) Lines() []string {
	lines := []string{"layout signature verified; expires " + r.Expires}
	for _, s := range r.Steps {
		lines = append(lines, fmt.Sprintf("step %q: %d of %d required functionaries signed (%s); command: %s",
			s.Name, len(s.Signers), s.Threshold, strings.Join(shortIDs(s.Signers), ", "), s.Command))
	}
	names := make([]string, 0, len(r.Products))
	for n := range r.Products {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		lines = append(lines, "final product: "+n+" ("+formatDigestSet(r.Products[n])+")")
	}
	for _, w := range r.Warnings {
		lines = append(lines, "warning: "+w)
	}
	return lines
}

func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if len(id) > 16 {
			id = id[:16] + "…"
		}
		out[i] = id
	}
	return out
}

// VerifyLayout verifies an in-toto layout signed by every key in
// layoutKeyPaths, and the links in linkDir that its steps require:
// functionary signatures and thresholds, artifact rules (MATCH, ALLOW,
// DISALLOW, CREATE, DELETE, MODIFY, REQUIRE), expiry.
//
// It refuses, BEFORE checking anything else, a layout with inspections:
// an in-toto inspection is a command the verifier runs, and a verifier
// must not execute what it verifies (a layout, even a signed one, is
// input; a stolen layout key must not become code execution on every
// machine that admits models). For the same reason it refuses
// sublayouts (in-toto-golang verifies them through InTotoVerify, which
// runs inspections) and never calls InTotoVerify, RunInspections or
// VerifySublayouts: it calls the signature, threshold and artifact-rule
// checks one by one.
func VerifyLayout(layoutPath string, layoutKeyPaths []string, linkDir string) (*LayoutResult, error) {
	if len(layoutKeyPaths) == 0 {
		return nil, errors.New("a layout is verified against its owner's public key: pass --layout-key (repeatable)")
	}
	layoutEnv, err := loadMetadata(layoutPath)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", layoutPath, err)
	}
	layout, ok := layoutEnv.GetPayload().(intoto.Layout)
	if !ok {
		return nil, fmt.Errorf("%s is an in-toto link, not a layout", layoutPath)
	}
	if err := refuseInspections(layout); err != nil {
		return nil, err
	}
	keys := map[string]intoto.Key{}
	for _, p := range layoutKeyPaths {
		k, err := loadPublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("layout key %s: %w", p, err)
		}
		keys[k.KeyID] = k
	}
	if err := intoto.VerifyLayoutSignatures(layoutEnv, keys); err != nil {
		return nil, fmt.Errorf("layout %s is not signed by the given layout key(s): %v", layoutPath, err)
	}
	if err := intoto.VerifyLayoutExpiration(layout); err != nil {
		return nil, fmt.Errorf("layout %s: %v", layoutPath, err)
	}
	if len(layout.Steps) == 0 {
		return nil, fmt.Errorf("layout %s has no steps: it would vouch for nothing", layoutPath)
	}
	for _, s := range layout.Steps {
		if s.Threshold < 1 {
			// A threshold of 0 lets a step pass with no signed link at all.
			return nil, fmt.Errorf("layout step %q has threshold %d: at least one functionary must sign each step", s.Name, s.Threshold)
		}
	}
	rootPool, interPool, err := intoto.LoadLayoutCertificates(layout, nil)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %v", layoutPath, err)
	}
	stepsMetadata, err := loadLinks(layout, linkDir)
	if err != nil {
		return nil, err
	}
	verified, err := intoto.VerifyLinkSignatureThesholds(layout, stepsMetadata, rootPool, interPool)
	if err != nil {
		return nil, fmt.Errorf("links: %v", err)
	}
	res := &LayoutResult{Expires: layout.Expires}
	for _, step := range layout.Steps {
		sr := StepResult{Name: step.Name, Threshold: step.Threshold, Command: strings.Join(step.ExpectedCommand, " ")}
		for id, env := range verified[step.Name] {
			sr.Signers = append(sr.Signers, id)
			if link, ok := env.GetPayload().(intoto.Link); ok {
				if got := strings.Join(link.Command, " "); got != sr.Command {
					// The in-toto spec makes this a warning only
					// (VerifyStepCommandAlignment prints it to stdout;
					// we report it instead).
					res.Warnings = append(res.Warnings, fmt.Sprintf("step %q: the layout expects command %q, functionary %s ran %q", step.Name, sr.Command, shortIDs([]string{id})[0], got))
				}
			}
		}
		sort.Strings(sr.Signers)
		res.Steps = append(res.Steps, sr)
	}
	reduced, err := intoto.ReduceStepsMetadata(layout, verified)
	if err != nil {
		return nil, fmt.Errorf("links: %v", err)
	}
	items := make([]interface{}, len(layout.Steps))
	for i, s := range layout.Steps {
		items[i] = s
	}
	if err := intoto.VerifyArtifacts(items, reduced); err != nil {
		return nil, fmt.Errorf("artifact rules: %v", err)
	}
	if last, ok := reduced[layout.Steps[len(layout.Steps)-1].Name].GetPayload().(intoto.Link); ok {
		res.Products = map[string]map[string]string{}
		for p, h := range last.Products {
			res.Products[p] = h
		}
	}
	return res, nil
}

// refuseInspections stops a layout that asks the verifier to run
// commands, naming them so the user sees what would have run.
func refuseInspections(l intoto.Layout) error {
	if len(l.Inspect) == 0 {
		return nil
	}
	var cmds []string
	for _, in := range l.Inspect {
		cmds = append(cmds, fmt.Sprintf("%q runs %q", in.Name, strings.Join(in.Run, " ")))
	}
	return fmt.Errorf("the layout has %d inspection(s) (%s): inspections are commands run by the verifier, and modelvet never executes what it verifies; "+
		"verify this layout in a sandbox with the in-toto tools, or drop the inspections and record those checks as signed steps", len(l.Inspect), joinSome(cmds, "; ", maxListed))
}

// validStepName refuses step names that would make link file names
// escape the link folder or mean different files on Windows.
func validStepName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\\:\x00*?[") && len(n) <= 255
}

// loadLinks finds, for each step, the files "<step>.<keyid prefix>.link"
// in dir and keeps each under the full key ID of the signature whose ID
// starts with that prefix (as in-toto's LoadLinksForLayout does). It also
// refuses:
//   - a link whose name is not its step's (a functionary allowed on two
//     steps could otherwise rename its "test" link to stand for "train");
//   - a sublayout (verifying it would go through InTotoVerify);
//   - oversized files and more than MaxLinks of them.
func loadLinks(layout intoto.Layout, dir string) (map[string]map[string]intoto.Metadata, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("links folder: %v", err)
	}
	out := map[string]map[string]intoto.Metadata{}
	read := 0
	for _, step := range layout.Steps {
		if !validStepName(step.Name) {
			return nil, fmt.Errorf("layout step name %q cannot name a link file safely", step.Name)
		}
		per := map[string]intoto.Metadata{}
		for _, e := range ents {
			name := e.Name()
			if !strings.HasPrefix(name, step.Name+".") || !strings.HasSuffix(name, ".link") || !e.Type().IsRegular() {
				continue
			}
			short := strings.TrimSuffix(strings.TrimPrefix(name, step.Name+"."), ".link")
			if len(short) != 8 || strings.Contains(short, ".") {
				continue // not "<step>.<8 hex>.link": belongs to another step name with a dot
			}
			read++
			if read > MaxLinks {
				return nil, fmt.Errorf("links folder %s holds more than %d links", dir, MaxLinks)
			}
			md, err := loadMetadata(filepath.Join(dir, name))
			if err != nil {
				return nil, fmt.Errorf("link %s: %w", name, err)
			}
			switch p := md.GetPayload().(type) {
			case intoto.Layout:
				return nil, fmt.Errorf("link %s is a sublayout: sublayouts are not supported (in-toto verifies them by running their inspections)", name)
			case intoto.Link:
				if p.Name != step.Name {
					return nil, fmt.Errorf("link %s records step %q, not %q: a link stands only for the step it names", name, p.Name, step.Name)
				}
			}
			for _, sig := range md.Sigs() {
				if strings.HasPrefix(sig.KeyID, short) {
					per[sig.KeyID] = md
					break
				}
			}
		}
		if len(per) < step.Threshold {
			return nil, fmt.Errorf("step %q requires %d link(s) signed by its functionaries; %d found in %s", step.Name, step.Threshold, len(per), dir)
		}
		out[step.Name] = per
	}
	return out, nil
}

// loadMetadata reads in-toto metadata (Metablock or DSSE) after checking
// the file's size and strict JSON (also of a DSSE payload), then hands the
// very bytes checked to in-toto-golang through a private temporary copy,
// since its loader only takes a path and the original could change
// between our check and its read.
func loadMetadata(path string) (intoto.Metadata, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	// The outer shape of both forms (Metablock: signed, signatures;
	// DSSE: payloadType, payload, signatures), with the signatures typed
	// so that their keyids are read exactly too.
	var env struct {
		PayloadType *string            `json:"payloadType"`
		Payload     string             `json:"payload"`
		Signed      json.RawMessage    `json:"signed"`
		Signatures  []intoto.Signature `json:"signatures"`
	}
	if err := decodeStrict(data, &env); err != nil {
		return nil, err
	}
	signed := env.Signed
	if env.PayloadType != nil {
		p, err := decodeB64(env.Payload)
		if err != nil {
			return nil, fmt.Errorf("DSSE payload: %v", err)
		}
		signed = p
	}
	if err := checkInToto(signed); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "modelvet-intoto-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return intoto.LoadMetadata(tmp.Name())
}

// checkInToto reads the signed part of a layout or link with the strict
// reader against in-toto-golang's own type for it, so the fields it
// decides on (steps, artifact rules, keys, products) are exactly what
// another in-toto implementation reads from the same bytes.
func checkInToto(signed []byte) error {
	var head struct {
		Type string `json:"_type"`
	}
	if err := decodeStrict(signed, &head); err != nil {
		return err
	}
	var t reflect.Type
	switch head.Type {
	case "layout":
		t = reflect.TypeFor[intoto.Layout]()
	case "link":
		t = reflect.TypeFor[intoto.Link]()
	default:
		return fmt.Errorf("in-toto metadata of _type %q: want a layout or a link", head.Type)
	}
	if err := jsonx.Check(signed, t); err != nil {
		return fmt.Errorf("%s: %w", head.Type, err)
	}
	return nil
}

// ReadError is a file that could not be read at all (missing, a folder
// or a FIFO, no permission): the caller's mistake, exit 2. Everything
// wrong with what a file holds is reported otherwise: a hostile file is
// a refusal, exit 1, like a hostile signature.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// readBounded reads a regular file of at most MaxFileSize bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ReadError{err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &ReadError{err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &ReadError{fmt.Errorf("%s is not a regular file", path)}
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d an attestation, layout or link file may be", path, fi.Size(), MaxFileSize)
	}
	// Read at most one byte more than the cap, in case the file grew
	// since Stat.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &ReadError{err}
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is more than the %d bytes an attestation, layout or link file may be", path, MaxFileSize)
	}
	return data, nil
}

// loadPublicKey reads a layout owner's key. A private key file is
// refused: the verifier needs only the public half, and accepting a
// private key invites keeping it on verification machines.
func loadPublicKey(path string) (intoto.Key, error) {
	data, err := readBounded(path)
	if err != nil {
		return intoto.Key{}, err
	}
	var k intoto.Key
	if err := k.LoadKeyReaderDefaults(strings.NewReader(string(data))); err != nil {
		return intoto.Key{}, err
	}
	if k.KeyVal.Private != "" {
		return intoto.Key{}, errors.New("this is a private key; give the layout owner's PUBLIC key")
	}
	return k, nil
}

// StripPrefixes applies in-toto's lstrip to the final products: from each
// product path the first of prefixes it starts with is removed (a link
// recorded as "model/weights.bin" by a functionary that ran in the parent
// folder then names "weights.bin"). Two products that strip to the same
// name are refused, as in-toto refuses them when recording.
func (r *LayoutResult) StripPrefixes(prefixes []string) error {
	if len(prefixes) == 0 {
		return nil
	}
	out := make(map[string]map[string]string, len(r.Products))
	for p, h := range r.Products {
		q := p
		for _, pre := range prefixes {
			if pre != "" && strings.HasPrefix(p, pre) {
				q = strings.TrimPrefix(p, pre)
				break
			}
		}
		if _, dup := out[q]; dup {
			return fmt.Errorf("stripping %s from the products makes two of them name %q", strings.Join(prefixes, ", "), q)
		}
		out[q] = h
	}
	r.Products = out
	return nil
}

// prefixHint finds the folder prefix that the products put before the
// model's missing files, when one prefix explains all of them.
func (r *LayoutResult) prefixHint(missing []string) string {
	hint := ""
	for _, name := range missing {
		found := ""
		for p := range r.Products {
			c := cleanSubjectName(p)
			if c != "" && strings.HasSuffix(c, "/"+name) {
				pre := c[:len(c)-len(name)]
				if found != "" && found != pre {
					return "" // two candidates: no single suggestion
				}
				found = pre
			}
		}
		if found == "" || (hint != "" && hint != found) {
			return ""
		}
		hint = found
	}
	return hint
}

// CoversModel checks that the layout's final products are the model: each
// file of the model must be a product of the last step with the same
// sha256. Without this, a valid pipeline run could vouch for a folder
// whose weights were swapped after the last step.
func (r *LayoutResult) CoversModel(m Model) error {
	if len(m.Files) == 0 {
		return errors.New("the model has no per-file digests to compare with the layout's products (hash it with the files method)")
	}
	var missing, changed []string
	for name, want := range m.Files {
		// Every product that names this file must carry its digest: a
		// link listing both "model.bin" and "x/../model.bin" (or
		// "./model.bin") with different digests is ambiguous, and taking
		// whichever the map yields first would make the verdict random.
		found := false
		var bad []string
		for p, h := range r.Products {
			if cleanSubjectName(p) != name {
				continue
			}
			found = true
			if !digestSetHas(h, want) {
				bad = append(bad, formatDigestSet(h))
			}
		}
		switch {
		case !found:
			missing = append(missing, name)
		case len(bad) > 0:
			sort.Strings(bad)
			changed = append(changed, fmt.Sprintf("%s is %s, the pipeline produced %s", name, want, strings.Join(bad, " and ")))
		}
	}
	sort.Strings(missing)
	sort.Strings(changed)
	var parts []string
	if len(changed) > 0 {
		parts = append(parts, "changed since the pipeline: "+joinSome(changed, "; ", maxListed))
	}
	if len(missing) > 0 {
		msg := "not produced by the pipeline's last step: " + joinSome(missing, ", ", maxListed)
		if pre := r.prefixHint(missing); pre != "" {
			msg += fmt.Sprintf(" (the products name them under the folder %q: if that folder is the model, verify with --strip-prefix %s)", pre, pre)
		}
		parts = append(parts, msg)
	}
	if len(parts) > 0 {
		return &ErrNotAboutModel{Msg: "the layout's final products are not this model: " + strings.Join(parts, "; ")}
	}
	return nil
}
