package hydra

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modelvet/modelvet/formats"
)

// Caps on what a YAML config may make the walk do. The parser itself stops
// at a nesting of 10,000 and at excessive alias expansion; the walk never
// follows aliases (an anchor is judged where it is defined), so an alias
// bomb costs one visit per node written in the file.
const (
	MaxYAML     = 16 << 20
	maxNodes    = 1 << 20
	maxDepth    = 1000
	maxFindings = 50
)

// CheckYAML parses data as the YAML config a Hydra-style loader reads and
// reports every target it would instantiate, duplicate keys (PyYAML keeps
// the last, OmegaConf refuses: readers disagree) and content that cannot be
// judged. It reports nothing for a YAML file without targets.
func CheckYAML(s *formats.Scope, data []byte) {
	mentions := mentionsTarget(data)
	if len(data) > MaxYAML {
		if mentions {
			s.Reportf("hydra/config-too-large", formats.High, formats.NoOffset,
				"the YAML config is %d bytes, over the %d-byte limit, and names instantiation targets; they were not checked", len(data), MaxYAML)
		}
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	w := &walker{s: s, dupes: mentions}
	for n := 0; ; n++ {
		var doc yaml.Node
		err := func() (err error) {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("the YAML parser failed: %v", v)
				}
			}()
			return dec.Decode(&doc)
		}()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if mentions {
				// Attack class: a config another parser reads
				// differently (or a parser bomb) hiding its targets.
				s.Reportf("hydra/unparsable-config", formats.High, formats.NoOffset,
					"the YAML config names instantiation targets but does not parse (%v); what a loader would instantiate cannot be checked", err)
			}
			return
		}
		if n == 1 && mentions {
			s.Reportf("hydra/ambiguous-config", formats.High, formats.NoOffset,
				"the YAML file holds more than one document; OmegaConf refuses it while other loaders read the first or the last, so the config cannot be shown safe")
		}
		w.walk(&doc, "", 0)
		if w.stopped {
			break
		}
	}
	w.finish()
}

// mentionsTarget is a cheap test for whether a file could name a target;
// a key spelled with escapes ("\x5ftarget_", "\u005f...") needs a
// double-quoted scalar with \x, \u or \U in it.
func mentionsTarget(data []byte) bool {
	for k := range TargetKeys {
		if bytes.Contains(data, []byte(k)) {
			return true
		}
	}
	for k := range hyperTags {
		if bytes.Contains(data, []byte(k+":")) {
			return true
		}
	}
	// ... or an escaped line break, which joins the lines of a
	// double-quoted key ("_tar\<newline>get_").
	return bytes.Contains(data, []byte(`\x`)) || bytes.Contains(data, []byte(`\u`)) || bytes.Contains(data, []byte(`\U`)) ||
		bytes.Contains(data, []byte("\\\n")) || bytes.Contains(data, []byte("\\\r"))
}

type walker struct {
	s *formats.Scope
	// dupes: report duplicate keys (only in a config that names targets:
	// a plain YAML data file with a repeated key is not this package's).
	dupes    bool
	nodes    int
	stopped  bool
	reported map[string]int
	nemo     int // 0 not yet known, 1 a NeMo model config, 2 not
}

func (w *walker) report(f formats.Finding) {
	if w.reported == nil {
		w.reported = map[string]int{}
	}
	w.reported[f.Rule]++
	if w.reported[f.Rule] <= maxFindings {
		w.s.Report(f)
	}
}

// nemoConfig reports whether the file is a NeMo model_config.yaml. Attack
// class: NeMo follows two more keys than Hydra's _target_ there, both the
// same import-a-name-from-the-config class, under names other configs use
// for plain values; so they are judged only in NeMo model configs, at every
// depth (nemoKey).
func (w *walker) nemoConfig() bool {
	if w.nemo == 0 {
		w.nemo = 2
		name := w.s.Member()
		if name == "" {
			name = w.s.Path()
		}
		if strings.EqualFold(path.Base(filepath.ToSlash(name)), "model_config.yaml") {
			w.nemo = 1
		}
	}
	return w.nemo == 1
}

// nemoKey reports whether NeMo imports the class a key of a mapping names:
//   - "target": Serialization.from_config_dict (nemo/core/classes/common.py)
//     calls import_class_by_path(config["target"]) and constructs it, for
//     the model and for every sub-config a module builds with
//     from_config_dict (preprocessor, encoder, decoder, loss...), and hands
//     a "target" with "params" to Hydra (the 0.x API);
//   - "cls": maybe_update_config_version (nemo/utils/model_utils.py,
//     _convert_config) renames cls to _target_ in every mapping without a
//     _target_, recursively, before Hydra instantiates it. A cls beside a
//     _target_ stays a plain value there, but is judged all the same: no
//     real NeMo config has one, and which of the two a loader takes is a
//     matter of key order and version.
func (w *walker) nemoKey(key string) bool {
	return (key == "target" || key == "cls") && w.nemoConfig()
}

func (w *walker) finish() {
	for r, n := range w.reported {
		if n > maxFindings {
			w.s.Reportf(r, formats.High, formats.NoOffset, "%d more findings of this rule were not listed", n-maxFindings)
		}
	}
}

func (w *walker) walk(n *yaml.Node, path string, depth int) {
	if n == nil || w.stopped {
		return
	}
	w.nodes++
	w.tag(n, path)
	if w.nodes > maxNodes || depth > maxDepth {
		w.stopped = true
		w.s.Reportf("hydra/config-too-large", formats.High, formats.NoOffset,
			"the YAML config has more than %d nodes or is nested more than %d deep; the rest was not checked", maxNodes, maxDepth)
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = path + "/" + strconv.Itoa(i)
			}
			w.walk(c, p, depth+1)
		}
	case yaml.MappingNode:
		ref := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := resolve(n.Content[i]), resolve(n.Content[i+1]); k.Value == "_call_" && v.Kind == yaml.ScalarNode && (v.Value == "false" || v.Value == "False") {
				ref = true
			}
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := resolve(n.Content[i]), n.Content[i+1]
			key := ""
			if k.Kind == yaml.ScalarNode {
				key = k.Value
				if prev, dup := seen[key]; dup && w.dupes {
					// Attack class: two values under one key; PyYAML
					// keeps the last, OmegaConf refuses the file, a
					// scanner reading the first would judge the wrong one.
					sev := formats.Medium
					if TargetKeys[key] {
						sev = formats.High
					}
					w.report(formats.Finding{Rule: "hydra/duplicate-key", Severity: sev, Member: strings.TrimPrefix(path+"/"+key, "/"), Offset: formats.NoOffset,
						Message: fmt.Sprintf("the key %q appears twice in one mapping (lines %d and %d); YAML readers disagree on which value counts", key, prev, k.Line)})
				}
				seen[key] = k.Line
			}
			member := strings.TrimPrefix(path+"/"+key, "/")
			if TargetKeys[key] || w.nemoKey(key) {
				if t := resolve(v); t.Kind == yaml.ScalarNode && (t.Tag == "!!str" || t.Tag == "") {
					reportTarget(w.s, member, key, t.Value, formats.NoOffset, ref && key == "_target_")
				}
			}
			w.walk(k, member, depth+1) // complex keys can hold mappings too
			w.walk(v, member, depth+1)
		}
	case yaml.ScalarNode:
		CheckValue(w.s, strings.TrimPrefix(path, "/"), n.Value)
	case yaml.AliasNode:
		// Aliases are judged where their anchor is defined.
	}
}

// hyperTags are HyperPyYAML's object tags (SpeechBrain's hyperparams.yaml,
// which from_hparams loads from a model repository): !new: constructs
// the class, !apply: calls the function, !name: makes a partial of it and
// !module: imports the module. The tag names what is run.
var hyperTags = map[string]bool{"!new": false, "!apply": false, "!name": true, "!module": true}

// tag judges a HyperPyYAML object tag on any node.
func (w *walker) tag(n *yaml.Node, path string) {
	kind, target, ok := strings.Cut(n.Tag, ":")
	if !ok {
		return
	}
	ref, known := hyperTags[kind]
	if !known {
		return
	}
	reportTarget(w.s, strings.TrimPrefix(path, "/"), kind+":", target, formats.NoOffset, ref)
}

// resolve follows an alias to the node it names, a bounded number of hops.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n != nil && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}
