package policy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"go.yaml.in/yaml/v3"
)

// maxPolicySize bounds the policy file: a policy is a page, not a data set.
const maxPolicySize = 1 << 20

// KnownFormats are the format names the analyzers report for top-level
// files, which formats.allow may name. A name outside this list is a typo
// that would silently reject (or, in a deny list, admit) everything.
var KnownFormats = []string{
	"pickle", "pytorch", "pytorch-legacy", "pytorch-tar", "safetensors", "onnx", "gguf",
	"keras", "keras-h5", "numpy", "npz", "joblib", "tf-savedmodel", "zip", "tar", "7z",
}

// SupportFormats are what the walk reports for files that are not model
// weights (README, configs, folder-level checks, chat templates). The
// allowed-formats rule does not apply to them; their findings still count.
var SupportFormats = []string{
	"model-card", // README.md read for its licence (formats/modelcard)
	"other", "unknown", "folder-check", "json-config", "yaml-config", "jinja",
	"oci-manifest", // a registry artifact's manifest (package oci)
}

// Load reads and validates a policy file.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the policy %s: %w", path, err)
	}
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("%s: the policy is larger than %d bytes; is it the right file?", path, maxPolicySize)
	}
	return Parse(path, data)
}

// Parse validates a policy given as bytes; name is the file it came from
// (for messages, and relative paths resolve against its folder). Unknown
// keys, duplicate keys, wrong types and contradictions are errors naming
// the line; all of them are reported at once.
func Parse(name string, data []byte) (*Policy, error) {
	p := Default()
	p.Path = name
	if name != "" {
		if abs, err := filepath.Abs(filepath.Dir(name)); err == nil {
			p.Dir = abs
		}
	}
	ps := &parser{file: filepath.Base(name), p: p}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the policy is empty", ps.file)
		}
		if strings.Contains(err.Error(), "unknown escape character") {
			return nil, fmt.Errorf("%s: not valid YAML: %v; inside double quotes a backslash starts an escape: write a Windows path with forward slashes (\"C:/models/x\") or in single quotes ('C:\\models\\x')", ps.file, err)
		}
		return nil, fmt.Errorf("%s: not valid YAML: %v", ps.file, err)
	}
	ps.lintEscapes(&doc)
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: a second YAML document; a policy is one document", ps.file, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	ps.top(root)
	ps.validate()
	if len(ps.errs) > 0 {
		return nil, errors.New(strings.Join(ps.errs, "\n"))
	}
	return p, nil
}

type parser struct {
	file string
	p    *Policy
	errs []string
}

func (ps *parser) errf(line int, format string, args ...any) {
	ps.errs = append(ps.errs, fmt.Sprintf("%s:%d: %s", ps.file, line, fmt.Sprintf(format, args...)))
}

func (ps *parser) set(key, text string, line int) {
	ps.p.entries[key] = entry{text: text, line: line}
}

// mapping walks a mapping node, calling the handler of each known key and
// reporting unknown and repeated keys by line. Aliases are refused
// everywhere: a policy is read by people, and "*x" hides what it says.
func (ps *parser) mapping(n *yaml.Node, where string, handlers map[string]func(v *yaml.Node)) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		ps.errf(n.Line, "%s: YAML anchors and aliases are not allowed in a policy; write the value out", where)
		return
	}
	if n.Kind != yaml.MappingNode {
		ps.errf(n.Line, "%s must be a mapping (key: value lines), not %s", where, kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.errf(k.Line, "%s: keys must be plain words", where)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			ps.errf(k.Line, "%s: %q is given twice (first on line %d); which one applies would be ambiguous", where, k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		h, ok := handlers[k.Value]
		if !ok {
			names := make([]string, 0, len(handlers))
			for name := range handlers {
				names = append(names, name)
			}
			sort.Strings(names)
			ps.errf(k.Line, "unknown key %q in %s (known: %s)", k.Value, where, strings.Join(names, ", "))
			continue
		}
		if v.Kind == yaml.AliasNode || v.Anchor != "" {
			ps.errf(v.Line, "%s.%s: YAML anchors and aliases are not allowed in a policy; write the value out", where, k.Value)
			continue
		}
		h(v)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "an alias"
}

func (ps *parser) str(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		ps.errf(n.Line, "%s must be a single value, not %s", key, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (ps *parser) boolean(n *yaml.Node, key string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		ps.errf(n.Line, "%s must be true or false, not %s", key, kindName(n))
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

// list reads a list of strings; a single string is accepted as a list of
// one, the way people write it.
func (ps *parser) list(n *yaml.Node, key string) ([]string, []int) {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, []int{n.Line}
	}
	if n.Kind != yaml.SequenceNode {
		ps.errf(n.Line, "%s must be a list, not %s", key, kindName(n))
		return nil, nil
	}
	var out []string
	var lines []int
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" || c.Value == "" {
			ps.errf(c.Line, "%s: each item must be a non-empty value, not %s", key, kindName(c))
			continue
		}
		out = append(out, c.Value)
		lines = append(lines, c.Line)
	}
	return out, lines
}

func (ps *parser) top(n *yaml.Node) {
	p := ps.p
	ps.mapping(n, "the policy", map[string]func(*yaml.Node){
		"version": func(v *yaml.Node) {
			if s, ok := ps.str(v, "version"); ok && s != "1" {
				ps.errf(v.Line, "version %q is not supported by this modelvet (it reads version 1)", s)
			}
		},
		"fail_on": func(v *yaml.Node) {
			s, ok := ps.str(v, "fail_on")
			if !ok {
				return
			}
			sev, err := formats.ParseSeverity(s)
			if err != nil {
				ps.errf(v.Line, "fail_on: %v", err)
				return
			}
			p.FailOn = sev
			ps.set("fail_on", "fail_on: "+sev.String(), v.Line)
		},
		"scan": func(v *yaml.Node) {
			ps.mapping(v, "scan", map[string]func(*yaml.Node){
				"profile": func(v *yaml.Node) {
					s, ok := ps.str(v, "scan.profile")
					if !ok {
						return
					}
					switch formats.Profile(s) {
					case formats.Strict, formats.Permissive:
						p.Profile = formats.Profile(s)
						ps.set("scan.profile", "scan.profile: "+s, v.Line)
					default:
						ps.errf(v.Line, "scan.profile %q: want strict or permissive", s)
					}
				},
				"allow_imports": func(v *yaml.Node) {
					items, lines := ps.list(v, "scan.allow_imports")
					for i, it := range items {
						// module.name or module.*; a bare "*" would trust every global.
						if !strings.Contains(it, ".") || strings.HasPrefix(it, ".") || strings.HasSuffix(it, ".") || it == "*" || strings.ContainsAny(it, " \t/") {
							ps.errf(lines[i], "scan.allow_imports: %q is not module.name or module.*", it)
							continue
						}
						p.AllowImports = append(p.AllowImports, it)
					}
					ps.set("scan.allow_imports", "scan.allow_imports", v.Line)
				},
			})
		},
		"formats": func(v *yaml.Node) {
			ps.mapping(v, "formats", map[string]func(*yaml.Node){
				"allow": func(v *yaml.Node) {
					items, lines := ps.list(v, "formats.allow")
					p.Formats = []string{}
					for i, it := range items {
						if !contains(KnownFormats, it) {
							ps.errf(lines[i], "formats.allow: unknown format %q (known: %s)", it, strings.Join(KnownFormats, ", "))
							continue
						}
						p.Formats = append(p.Formats, it)
					}
					ps.set("formats.allow", "formats.allow: ["+strings.Join(items, ", ")+"]", v.Line)
				},
			})
		},
		"signature": func(v *yaml.Node) { ps.signature(v, "signature", &p.Signature) },
		"oci": func(v *yaml.Node) {
			ps.mapping(v, "oci", map[string]func(*yaml.Node){
				// Registry signatures share the signature section's keys
				// and rules; only file is meaningless there.
				"signature": func(v *yaml.Node) { ps.signature(v, "oci.signature", &p.OCI.Signature) },
				"promote":   func(v *yaml.Node) { ps.promote(v) },
			})
		},
		"provenance": func(v *yaml.Node) { ps.provenance(v) },
		"ignore": func(v *yaml.Node) {
			items, lines := ps.list(v, "ignore")
			for i, it := range items {
				pat, err := compilePattern(it)
				if err != nil {
					ps.errf(lines[i], "ignore: %v", err)
					continue
				}
				pat.Line = lines[i]
				pat.ref = fmt.Sprintf("ignore: %s (%s:%d)", it, ps.file, lines[i])
				p.Ignore = append(p.Ignore, pat)
			}
		},
		"suppress": func(v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				ps.errf(v.Line, "suppress must be a list of {rule, paths, reason}, not %s", kindName(v))
				return
			}
			for _, it := range v.Content {
				ps.suppression(it)
			}
		},
	})
}

// ruleName is a rule ("pickle/dangerous-import") or a family ("pickle/*").
var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*/([a-z0-9][a-z0-9-]*|\*)$`)

func (ps *parser) suppression(n *yaml.Node) {
	s := Suppression{Line: n.Line}
	ps.mapping(n, "suppress item", map[string]func(*yaml.Node){
		"rule": func(v *yaml.Node) {
			if r, ok := ps.str(v, "suppress.rule"); ok {
				if !ruleName.MatchString(r) {
					ps.errf(v.Line, "suppress.rule %q is not a rule name like pickle/unknown-import or a family like pickle/*", r)
					return
				}
				s.Rule = r
			}
		},
		"paths": func(v *yaml.Node) {
			if r, ok := ps.str(v, "suppress.paths"); ok {
				pat, err := compilePattern(r)
				if err != nil {
					ps.errf(v.Line, "suppress.paths: %v", err)
					return
				}
				s.Paths = pat
			}
		},
		"reason": func(v *yaml.Node) {
			if r, ok := ps.str(v, "suppress.reason"); ok {
				s.Reason = r
			}
		},
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	if s.Rule == "" {
		ps.errf(n.Line, "suppress item: rule is required (the rule name a finding carries)")
		return
	}
	if s.Reason == "" {
		ps.errf(n.Line, "suppress item for %s: reason is required; a silenced rule must say why", s.Rule)
		return
	}
	s.ref = fmt.Sprintf("suppress: %s (%s:%d)", s.Rule, ps.file, n.Line)
	ps.p.Suppress = append(ps.p.Suppress, s)
}

// signature reads a signature section (the model's own, "signature", or
// the registry's, "oci.signature") into sig; where prefixes every key in
// messages and in the entries reasons cite.
func (ps *parser) signature(n *yaml.Node, where string, sig *Signature) {
	listKey := func(key string, dst *[]string, isPath, isRegexp bool) func(*yaml.Node) {
		return func(v *yaml.Node) {
			items, lines := ps.list(v, where+"."+key)
			for i, it := range items {
				if isRegexp {
					if _, err := regexp.Compile(it); err != nil {
						ps.errf(lines[i], "%s.%s: %q is not a valid regular expression: %v", where, key, it, err)
						continue
					}
				}
				if isPath {
					it = ps.resolve(it)
				}
				*dst = append(*dst, it)
			}
			ps.set(where+"."+key, where+"."+key, v.Line)
		}
	}
	keys := map[string]func(*yaml.Node){
		"required": func(v *yaml.Node) {
			if b, ok := ps.boolean(v, where+".required"); ok {
				sig.Required = b
				ps.set(where+".required", fmt.Sprintf("%s.required: %v", where, b), v.Line)
			}
		},
		"identities":       listKey("identities", &sig.Identities, false, false),
		"identity_regexps": listKey("identity_regexps", &sig.IdentityRegexps, false, true),
		"issuers":          listKey("issuers", &sig.Issuers, false, false),
		"issuer_regexps":   listKey("issuer_regexps", &sig.IssuerRegexps, false, true),
		"keys":             listKey("keys", &sig.Keys, true, false),
		"ca_chains":        listKey("ca_chains", &sig.CAChains, true, false),
		"trusted_root": func(v *yaml.Node) {
			if s, ok := ps.str(v, where+".trusted_root"); ok && s != "" {
				sig.TrustedRoot = ps.resolve(s)
				ps.set(where+".trusted_root", where+".trusted_root: "+s, v.Line)
			}
		},
	}
	if where == "signature" {
		// The model's own signature is a file in the model folder; a
		// registry signature is not a file.
		keys["file"] = func(v *yaml.Node) {
			if s, ok := ps.str(v, "signature.file"); ok {
				if err := plainName(s); err != nil {
					ps.errf(v.Line, "signature.file: %v", err)
					return
				}
				sig.File = s
				ps.set("signature.file", "signature.file: "+s, v.Line)
			}
		}
	}
	ps.mapping(n, where, keys)
}

func (ps *parser) provenance(n *yaml.Node) {
	prov := &ps.p.Provenance
	ps.mapping(n, "provenance", map[string]func(*yaml.Node){
		"required": func(v *yaml.Node) {
			if b, ok := ps.boolean(v, "provenance.required"); ok {
				prov.Required = b
				ps.set("provenance.required", fmt.Sprintf("provenance.required: %v", b), v.Line)
			}
		},
		"attestation": func(v *yaml.Node) {
			if s, ok := ps.str(v, "provenance.attestation"); ok {
				if err := plainName(s); err != nil {
					ps.errf(v.Line, "provenance.attestation: %v", err)
					return
				}
				prov.Attestation = s
				ps.set("provenance.attestation", "provenance.attestation: "+s, v.Line)
			}
		},
		"builder_ids": func(v *yaml.Node) {
			prov.BuilderIDs, _ = ps.list(v, "provenance.builder_ids")
			ps.set("provenance.builder_ids", "provenance.builder_ids", v.Line)
		},
		"source_uris": func(v *yaml.Node) {
			prov.SourceURIs, _ = ps.list(v, "provenance.source_uris")
			ps.set("provenance.source_uris", "provenance.source_uris", v.Line)
		},
	})
}

// plainName accepts a file name inside the model folder: no separators of
// any OS, no "..", no drive letter, so the policy cannot point the check
// at a file outside what was shipped.
func plainName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\:`) {
		return fmt.Errorf("%q must be a plain file name inside the model folder", s)
	}
	return nil
}

// resolve makes a policy path absolute against the policy's folder.
func (ps *parser) resolve(s string) string {
	if filepath.IsAbs(s) || ps.p.Dir == "" {
		return s
	}
	return filepath.Join(ps.p.Dir, filepath.FromSlash(s))
}

// validate reports contradictions: settings that each parse but together
// cannot be what the author meant.
func (ps *parser) validate() {
	p := ps.p
	line := func(keys ...string) int {
		for _, k := range keys {
			if l := p.Line(k); l > 0 {
				return l
			}
		}
		return 1
	}
	methods := ps.validateSignature("signature", p.Signature)
	ps.validateSignature("oci.signature", p.OCI.Signature)
	prov := p.Provenance
	if prov.Checked() && len(methods) == 0 {
		ps.errf(line("provenance.required", "provenance.builder_ids", "provenance.source_uris"),
			"provenance is checked but signature gives no trust: an attestation is only as good as its signature; add keys, ca_chains or keyless trust under signature")
	}
	if prov.Required && len(prov.BuilderIDs)+len(prov.SourceURIs) == 0 {
		ps.errf(p.Line("provenance.required"), "provenance.required is true but neither builder_ids nor source_uris is given; say which builder or source is accepted")
	}
	if p.Formats != nil && len(p.Formats) == 0 && p.Line("formats.allow") > 0 {
		ps.errf(p.Line("formats.allow"), "formats.allow is empty: no model could ever be admitted; remove the key to allow any format")
	}
}

// validateSignature applies the one-trust-method rule to a signature
// section (where is "signature" or "oci.signature") and returns the trust
// methods it gives.
func (ps *parser) validateSignature(where string, sig Signature) []string {
	p := ps.p
	line := func(keys ...string) int {
		for _, k := range keys {
			if l := p.Line(where + "." + k); l > 0 {
				return l
			}
		}
		return 1
	}
	var methods []string
	var methodLines []string
	if len(sig.Keys) > 0 {
		methods = append(methods, "keys")
		methodLines = append(methodLines, fmt.Sprintf("keys on line %d", line("keys")))
	}
	if len(sig.CAChains) > 0 {
		methods = append(methods, "ca_chains")
		methodLines = append(methodLines, fmt.Sprintf("ca_chains on line %d", line("ca_chains")))
	}
	keylessKeys := []string{"identities", "identity_regexps", "issuers", "issuer_regexps", "trusted_root"}
	// A registry signature by a private CA's certificate may be narrowed
	// to identities and issuers (cosign verify --certificate-chain
	// --certificate-identity); with a trusted_root they are keyless trust.
	narrowsCA := where == "oci.signature" && len(sig.CAChains) > 0 && sig.TrustedRoot == ""
	if sig.keyless() && !narrowsCA {
		methods = append(methods, "keyless")
		methodLines = append(methodLines, fmt.Sprintf("keyless identity/issuer/trusted_root on line %d", line(keylessKeys...)))
	}
	if len(methods) > 1 {
		ps.errf(line("keys", "ca_chains"), "%s: several trust methods given (%s); choose exactly one, or a signature would be accepted under the weakest", where, strings.Join(methodLines, ", "))
	}
	if sig.Required && len(methods) == 0 {
		ps.errf(line("required"), "%s.required is true but no trust is given: add keys, ca_chains, or keyless identities + issuers + trusted_root", where)
	}
	if len(methods) == 1 && methods[0] == "keyless" {
		l := line(keylessKeys...)
		if len(sig.Identities)+len(sig.IdentityRegexps) == 0 {
			ps.errf(l, "%s: keyless trust without identities or identity_regexps would accept anyone holding a certificate; name the signer", where)
		}
		if len(sig.Issuers)+len(sig.IssuerRegexps) == 0 {
			ps.errf(l, "%s: keyless trust without issuers or issuer_regexps; name the OIDC issuer", where)
		}
		if sig.TrustedRoot == "" {
			ps.errf(l, "%s: keyless trust needs trusted_root (a trusted_root.json file); modelvet never fetches trust material", where)
		}
		// Identities and issuers are two independent lists: with several
		// of each, any listed identity is accepted from any listed issuer.
		// An issuer that lets its users claim identities of another
		// issuer's kind (a self-hosted OIDC provider issuing any e-mail)
		// could then stand in for the other's signers.
		if ni, ns := len(sig.Identities)+len(sig.IdentityRegexps), len(sig.Issuers)+len(sig.IssuerRegexps); ni > 1 && ns > 1 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: %s lists %d identities and %d issuers, matched independently: a certificate for any of the identities from any of the issuers is accepted; if an identity belongs to one issuer only, check such models with a policy per issuer", ps.file, l, where, ni, ns))
		}
	}
	return methods
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lintEscapes warns about double-quoted strings whose backslash escapes
// made control characters: "C:\temp\new" is valid YAML for "C:", a tab,
// "emp", a newline and "ew", so a Windows path silently names another file.
// The policy stays usable (the value may be meant), but the warning names
// the line and the fix.
func (ps *parser) lintEscapes(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Style&yaml.DoubleQuotedStyle != 0 {
		for _, r := range n.Value {
			if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
				ps.p.Warnings = append(ps.p.Warnings, fmt.Sprintf("%s:%d: the double-quoted string %q holds a control character made by a backslash escape (\\t, \\n...); for a Windows path write forward slashes (\"C:/models/x\") or use single quotes ('C:\\models\\x')", ps.file, n.Line, n.Value))
				break
			}
		}
	}
	for _, c := range n.Content {
		ps.lintEscapes(c)
	}
}
