package keras

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/fsnames"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
	"github.com/modelvet/modelvet/formats/internal/tfops"
)

// TensorFlow SavedModel (saved_model.pb), frozen GraphDef (.pb) and Keras'
// keras_metadata.pb, walked with the bounded protobuf walker. Field numbers
// are those of tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
// saved_object_graph.proto and core/framework/graph.proto, node_def.proto,
// function.proto, attr_value.proto.

// opRule says why a TensorFlow op matters and how much.
type opRule = tfops.Rule

// riskyOps: the shared table (formats/internal/tfops).
var riskyOps = tfops.Risky

// debugOps take debug_urls (file:// or grpc://): a graph that dumps its
// tensors to a file or a remote server.
var debugOps = map[string]bool{
	"DebugIdentity": true, "DebugIdentityV2": true, "DebugIdentityV3": true, "DebugNanCount": true,
	"DebugNumericSummary": true, "DebugNumericSummaryV2": true, "Copy": true, "CopyHost": true,
}

func sniffSavedModel(p *formats.Probe) bool {
	base := strings.ToLower(path.Base(p.Name))
	if base == "saved_model.pb" || base == "keras_metadata.pb" || base == "fingerprint.pb" {
		return true
	}
	if p.Ext() != ".pb" || len(p.Head) < 2 {
		return false
	}
	// SavedModel: field 1 varint (schema version) or field 2 (meta graph);
	// frozen GraphDef: field 1 (a NodeDef). Only claimed for .pb names:
	// protobuf has no magic, and guessing on any file would mislabel.
	num, typ, n := protowire.ConsumeTag(p.Head)
	if n < 0 {
		return false
	}
	return (num == 1 && (typ == protowire.VarintType || typ == protowire.BytesType)) || (num == 2 && typ == protowire.BytesType)
}

type tfWalker struct {
	s     *formats.Scope
	win   *protowalk.Window
	doc   string
	nodes int
	funcs int
	hits  map[string]*opHit
	other []string // deduplicated extra findings keys
	conf  int      // configs scanned
}

type opHit struct {
	op    string
	count int
	off   int64
	where string
	extra string // a path or URL an attribute names
	sev   formats.Severity
	rule  string
	why   string
}

const (
	tfMaxDepth   = 64
	maxOpHits    = 512
	maxTFConfigs = 10_000
)

func analyzeSavedModel(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("tf-savedmodel")
	w := &tfWalker{s: s, win: protowalk.NewWindow(r, size), hits: map[string]*opHit{}}
	base := "saved_model.pb"
	if s.Member() == "" {
		base = path.Base(strings.ReplaceAll(s.Path(), `\`, "/"))
	} else {
		base = path.Base(s.Member())
	}
	w.doc = base
	head, _ := w.win.At(0, 1)
	var err error
	switch {
	case strings.EqualFold(base, "fingerprint.pb"):
		// SavedModels since TF 2.12 carry a FingerprintDef: hashes (varints)
		// and a VersionDef. Nothing in it is loaded as code; it is only
		// checked to be well-formed protobuf.
		err = w.win.Fields(0, size, func(f protowalk.Field) error { return nil })
	case strings.EqualFold(base, "keras_metadata.pb"):
		err = w.kerasMetadata(0, size)
	case len(head) > 0 && head[0] == 0x0a && !strings.EqualFold(base, "saved_model.pb"):
		err = w.graphDef(0, size, 1, "graph")
	default:
		err = w.savedModel(0, size)
	}
	if err != nil {
		off, msg := int64(formats.NoOffset), err.Error()
		if m, ok := err.(*protowalk.Malformed); ok {
			off, msg = m.Off, m.Msg
		}
		s.Reportf("tf/malformed", formats.High, off,
			"the protobuf encoding is broken (%s); TensorFlow would reject or misread it, and what follows was not checked", msg)
	}
	w.finish()
	s.Detail("tf_nodes", strconv.Itoa(w.nodes))
	if w.funcs > 0 {
		s.Detail("tf_functions", strconv.Itoa(w.funcs))
	}
}

func (w *tfWalker) finish() {
	var hs []*opHit
	for _, h := range w.hits {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].off < hs[j].off })
	for _, h := range hs {
		msg := fmt.Sprintf("op %s %s (%d node(s), first: %s)", h.op, h.why, h.count, h.where)
		if h.extra != "" {
			msg += fmt.Sprintf("; it names %q", h.extra)
		}
		w.s.Reportf(h.rule, h.sev, h.off, "%s", msg)
	}
}

func (w *tfWalker) hit(op string, r opRule, off int64, where, extra string) {
	key := op + "\x00" + r.Rule + "\x00" + strconv.Itoa(int(r.Sev))
	h := w.hits[key]
	if h == nil {
		if len(w.hits) >= maxOpHits {
			return
		}
		h = &opHit{op: op, off: off, where: where, extra: extra, sev: r.Sev, rule: r.Rule, why: r.Why}
		w.hits[key] = h
	}
	h.count++
}

func (w *tfWalker) str(f protowalk.Field, max int) (string, error) {
	if !f.IsLen() {
		return "", protowalk.Bad(f.Off, "field %d is not a string", f.Num)
	}
	v, _, err := w.win.Str(f, max)
	return v, err
}

func (w *tfWalker) savedModel(start, end int64) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1:
			return protowalk.Want(f, protowire.VarintType, false)
		case 2:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.metaGraph(f.Start, f.End)
		}
		return nil
	})
}

func (w *tfWalker) metaGraph(start, end int64) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1, 3, 4, 5:
			return protowalk.Want(f, protowire.BytesType, false)
		case 2:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.graphDef(f.Start, f.End, 1, "graph")
		case 6:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.assetFile(f)
		case 7:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.objectGraph(f.Start, f.End)
		}
		return nil
	})
}

// assetFile checks an AssetFileDef filename: assets are read from the
// SavedModel's assets/ folder by this name, so it must be a plain name.
// Attack class: a vocabulary "asset" that is really /etc/shadow.
func (w *tfWalker) assetFile(f protowalk.Field) error {
	return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		if g.Num != 2 {
			return nil
		}
		name, err := w.str(g, 4096)
		if err != nil {
			return err
		}
		w.checkAssetName(name, g.Off)
		return nil
	})
}

// checkAssetName judges an asset file name of the binary or the text
// SavedModel. Besides separators and "..", names that only Windows reads
// differently are refused: a device name ("CON", "nul.txt") opens the
// device, and a name of dots and spaces ("...") is stripped to nothing,
// so the assets folder itself or its parent is opened.
func (w *tfWalker) checkAssetName(name string, off int64) {
	if name == "" || strings.ContainsAny(name, "/\\:\x00") || strings.TrimRight(name, ". ") == "" || fsnames.Reserved(name) {
		w.s.Reportf("tf/asset-path", formats.High, off,
			"asset file name %q is not a plain file name; TensorFlow joins it to the assets folder and could read a file outside the model (or, on Windows, a device)", name)
	}
}

func (w *tfWalker) graphDef(start, end int64, depth int, where string) error {
	if depth > tfMaxDepth {
		return protowalk.Bad(start, "messages nest more than %d deep", tfMaxDepth)
	}
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.nodeDef(f.Start, f.End, where)
		case 2:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.library(f.Start, f.End, depth+1)
		case 3:
			return protowalk.Want(f, protowire.VarintType, false)
		case 4, 5:
			return protowalk.Want(f, protowire.BytesType, false)
		}
		return nil
	})
}

func (w *tfWalker) library(start, end int64, depth int) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			w.funcs++
			return w.function(f.Start, f.End)
		case 2, 3:
			return protowalk.Want(f, protowire.BytesType, false)
		}
		return nil
	})
}

func (w *tfWalker) function(start, end int64) error {
	name := "?"
	type pending struct{ start, end int64 }
	var nodes []pending
	err := w.win.Fields(start, end, func(f protowalk.Field) error {
		switch f.Num {
		case 1: // OpDef signature: its name field 1
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
				if g.Num == 1 {
					v, err := w.str(g, 256)
					name = v
					return err
				}
				return nil
			})
		case 3:
			if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
				return err
			}
			nodes = append(nodes, pending{f.Start, f.End})
			if len(nodes) > 1<<20 {
				return protowalk.Bad(f.Off, "function has more than %d nodes", 1<<20)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := w.nodeDef(n.start, n.end, "function "+name); err != nil {
			return err
		}
	}
	return nil
}

// checkpointWriters are the ops that write checkpoint files; tfops.Risky
// leaves them out because every saver graph has them.
var checkpointWriters = map[string]bool{"Save": true, "SaveV2": true, "SaveSlices": true, "MergeV2Checkpoints": true}

// saverNode reports whether a node belongs to the SavedModel's own saver:
// a function traced from the checkpoint's save method
// ("__inference__traced_save_123") or the TF1 Saver's "save", "save_1"...
// name scope in the main graph.
func saverNode(name, where string) bool {
	if fn, ok := strings.CutPrefix(where, "function "); ok {
		return strings.Contains(fn, "traced_save")
	}
	scope, _, _ := strings.Cut(name, "/")
	rest, ok := strings.CutPrefix(scope, "save")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "_")
	_, err := strconv.Atoi(rest)
	return rest == "" || err == nil
}

// attrsOfInterest are NodeDef attributes that name files or URLs.
var attrsOfInterest = map[string]bool{
	"output_stream": true, "debug_urls": true, "memory_region_name": true, "filename": true,
}

func (w *tfWalker) nodeDef(start, end int64, where string) error {
	w.nodes++
	var name, op string
	var strs []string
	err := w.win.Fields(start, end, func(f protowalk.Field) error {
		var err error
		switch f.Num {
		case 1:
			name, err = w.str(f, 256)
		case 2:
			op, err = w.str(f, 256)
		case 3, 4, 6, 7:
			err = protowalk.Want(f, protowire.BytesType, false)
		case 5:
			if err = protowalk.Want(f, protowire.BytesType, false); err == nil {
				strs, err = w.attrEntry(f, strs)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	w.judgeNode(name, op, strs, start, where)
	return nil
}

// judgeNode reports what one NodeDef's op does outside the graph, with the
// strings its attributes hold (paths, URLs); shared by the binary and the
// text (saved_model.pbtxt) readers.
func (w *tfWalker) judgeNode(name, op string, strs []string, start int64, where string) {
	here := fmt.Sprintf("%s node %q", where, name)
	extra := ""
	if len(strs) > 0 {
		extra = strs[0]
	}
	if r, ok := riskyOps[op]; ok {
		w.hit(op, r, start, here, extra)
	}
	if checkpointWriters[op] && !saverNode(name, where) {
		// tf/file-write. Attack class: a checkpoint writer outside the
		// saver. SaveV2 and MergeV2Checkpoints are allowed in the traced
		// save function and the TF1 saver's "save" scope, where the loader
		// feeds the path; anywhere else (a serving signature) they write
		// files at a path the graph chooses, e.g. over ~/.bashrc.
		w.hit(op, opRule{Rule: "tf/file-write", Sev: formats.Medium, Why: "writes checkpoint files outside the model's own save function"}, start, here, extra)
	}
	switch {
	case op == "PrintV2":
		for _, s := range strs {
			if strings.HasPrefix(s, "file://") {
				w.hit(op, opRule{Rule: "tf/file-write", Sev: formats.High, Why: "prints tensors into a file"}, start, here, s)
			}
		}
	case debugOps[op]:
		for _, s := range strs {
			if strings.Contains(s, "://") {
				w.hit(op, opRule{Rule: "tf/file-write", Sev: formats.High, Why: "dumps tensors to a debug URL (file or network)"}, start, here, s)
			}
		}
	}
}

// attrEntry reads one map<string, AttrValue> entry and returns the string
// values of interesting attributes (AttrValue.s = 2, list.s = 1/2).
func (w *tfWalker) attrEntry(f protowalk.Field, strs []string) ([]string, error) {
	var key string
	var val protowalk.Field
	var haveVal bool
	err := w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
		switch g.Num {
		case 1:
			v, err := w.str(g, 128)
			key = v
			return err
		case 2:
			if err := protowalk.Want(g, protowire.BytesType, false); err != nil {
				return err
			}
			val, haveVal = g, true
		}
		return nil
	})
	if err != nil || !haveVal || !attrsOfInterest[key] {
		return strs, err
	}
	err = w.win.Fields(val.Start, val.End, func(g protowalk.Field) error {
		switch {
		case g.Num == 2 && g.IsLen() && len(strs) < 16:
			v, err := w.str(g, 1024)
			strs = append(strs, v)
			return err
		case g.Num == 1 && g.IsLen(): // ListValue
			return w.win.Fields(g.Start, g.End, func(h protowalk.Field) error {
				if h.Num == 2 && h.IsLen() && len(strs) < 16 {
					v, err := w.str(h, 1024)
					strs = append(strs, v)
					return err
				}
				return nil
			})
		}
		return nil
	})
	return strs, err
}

// objectGraph visits SavedObjectGraph nodes: Keras stores each layer's
// config as JSON in SavedUserObject.metadata, Lambda code included.
func (w *tfWalker) objectGraph(start, end int64) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		if f.Num != 1 || !f.IsLen() {
			return nil
		}
		return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
			if g.Num != 4 || !g.IsLen() { // user_object
				return nil
			}
			return w.win.Fields(g.Start, g.End, func(h protowalk.Field) error {
				if h.Num == 3 && h.IsLen() {
					return w.jsonField(h, "object metadata")
				}
				return nil
			})
		})
	})
}

// kerasMetadata visits keras_metadata.pb: SavedMetadata.nodes (1), each a
// message whose string fields include the layer's JSON metadata.
func (w *tfWalker) kerasMetadata(start, end int64) error {
	return w.win.Fields(start, end, func(f protowalk.Field) error {
		if f.Num != 1 {
			return nil
		}
		if err := protowalk.Want(f, protowire.BytesType, false); err != nil {
			return err
		}
		return w.win.Fields(f.Start, f.End, func(g protowalk.Field) error {
			if g.IsLen() {
				return w.jsonField(g, "keras metadata")
			}
			return nil
		})
	})
}

// jsonField scans a string field that holds a JSON object as a Keras config.
func (w *tfWalker) jsonField(f protowalk.Field, what string) error {
	n := f.End - f.Start
	if n < 2 {
		return nil
	}
	b, err := w.win.At(f.Start, 1)
	if err != nil {
		return protowalk.Bad(f.Start, "%v", err)
	}
	if b[0] != '{' {
		return nil
	}
	if n > maxConfigSize {
		w.s.Reportf("keras/config-unreadable", formats.High, f.Start, "%s JSON of %d bytes is over the limit; not checked", what, n)
		return nil
	}
	w.conf++
	if w.conf > maxTFConfigs {
		return nil
	}
	data, err := w.win.CopyAt(f.Start, int(n))
	if err != nil {
		return protowalk.Bad(f.Start, "%v", err)
	}
	if bytes.IndexByte(data, '"') < 0 {
		return nil
	}
	scanConfig(w.s, fmt.Sprintf("%s@%d", what, f.Start), data)
	return nil
}
