package safetensors

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// The sharded-checkpoint check: a model too large for one file ships an
// index (model.safetensors.index.json, pytorch_model.bin.index.json) whose
// weight_map says which shard file holds each tensor. A loader opens
// exactly the files the index names, so the index is a list of paths
// chosen by the publisher: it must not point outside the folder, must not
// name what is not there, and must agree with what the shards hold.
func init() {
	formats.RegisterDir(&formats.DirCheck{Name: "sharded-weights", Check: checkDir})
}

// maxIndex caps how much of an index file is read. Real indexes of the
// largest public models are a few MB.
const maxIndex = 64 << 20

// maxShards caps how many shard headers are read for one index.
const maxShards = 10_000

func checkDir(dir string, files []string, opts *formats.Options, report func(rel string, f formats.Finding)) {
	present := map[string]bool{}
	for _, f := range files {
		present[f] = true
	}
	referenced := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(strings.ToLower(f), ".index.json") {
			for shard := range checkIndex(dir, f, present, opts, report) {
				referenced[shard] = true
			}
		}
	}
	for _, f := range files {
		if strings.HasSuffix(strings.ToLower(f), ".index.json") {
			reportUnreferenced(f, files, referenced, report)
		}
	}
	checkPickleBeside(dir, files, opts, report)
}

func fnd(rule string, sev formats.Severity, member string, off int64, format string, args ...any) formats.Finding {
	return formats.Finding{Rule: rule, Severity: sev, Member: member, Offset: off, Message: fmt.Sprintf(format, args...)}
}

// weightExt is the extension of the shards an index of that name maps to:
// "model.safetensors.index.json" -> ".safetensors".
func weightExt(index string) string {
	base := strings.TrimSuffix(strings.ToLower(index), ".index.json")
	return strings.ToLower(filepath.Ext(base))
}

func checkIndex(dir, index string, present map[string]bool, opts *formats.Options, report func(string, formats.Finding)) map[string]bool {
	refs := map[string]bool{}
	rep := func(f formats.Finding) { report(index, f) }
	f, err := opts.OpenFile(filepath.Join(dir, index))
	if err != nil {
		rep(fnd("shard-index/unreadable", formats.High, "", formats.NoOffset, "the shard index cannot be read (%v); which files a loader opens cannot be checked", err))
		return refs
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() > maxIndex {
		rep(fnd("shard-index/too-large", formats.High, "", formats.NoOffset, "the shard index is larger than %d bytes (or cannot be measured); it was not checked", maxIndex))
		return refs
	}
	b, err := io.ReadAll(io.NewSectionReader(f, 0, min(fi.Size(), maxIndex)))
	if err != nil {
		rep(fnd("shard-index/unreadable", formats.High, "", formats.NoOffset, "the shard index cannot be read: %v", err))
		return refs
	}
	mapping, meta := ParseIndex(b, rep)
	_ = meta
	if mapping == nil {
		return refs
	}
	ext := weightExt(index)
	// Group tensors by shard, validating each shard name once.
	byShard := map[string][]string{}
	var shardOrder []string
	bad := map[string]bool{}
	for _, e := range mapping {
		if bad[e.Shard] {
			continue
		}
		if _, seen := byShard[e.Shard]; !seen {
			if why := unsafeName(e.Shard); why != "" {
				rep(fnd("shard-index/path-escape", formats.High, "weight_map/"+e.Tensor, e.Off,
					"tensor %q is mapped to shard %q, which %s; a loader would open a file outside the model folder (or not the one shown). Shards must be plain file names beside the index", e.Tensor, e.Shard, why))
				bad[e.Shard] = true
				continue
			}
			shardOrder = append(shardOrder, e.Shard)
		}
		byShard[e.Shard] = append(byShard[e.Shard], e.Tensor)
	}
	if len(shardOrder) > maxShards {
		rep(fnd("shard-index/too-many-shards", formats.High, "", formats.NoOffset, "the index names %d shards, more than %d; they were not checked", len(shardOrder), maxShards))
		return refs
	}
	holder := map[string]string{} // tensor -> first shard whose header holds it
	for _, shard := range shardOrder {
		refs[shard] = true
		if !present[shard] {
			why := "is not in the folder"
			if fi, err := os.Lstat(filepath.Join(dir, shard)); err == nil {
				why = fmt.Sprintf("is not a regular file inside the folder (%s)", fi.Mode().Type())
				if fi.Mode()&os.ModeSymlink != 0 {
					why = "is a link that leaves the folder or cannot be resolved"
				}
				rep(fnd("shard-index/not-regular", formats.High, shard, formats.NoOffset, "the shard %s; a loader following the index would read it anyway", why))
			} else {
				rep(fnd("shard-index/missing-shard", formats.High, shard, formats.NoOffset,
					"the index maps %d tensors to %q, which %s; the model cannot load as published", len(byShard[shard]), shard, why))
			}
			continue
		}
		if ext != ".safetensors" || !strings.HasSuffix(strings.ToLower(shard), ".safetensors") {
			continue
		}
		checkShard(dir, shard, byShard[shard], holder, opts, rep)
	}
	return refs
}

// checkShard compares what the index maps to a shard with what the shard's
// header holds. A shard holding an extra tensor carries weights no index
// reader expects (the loader may still pick it up, or overwrite a tensor
// from another shard); a missing one means the index lies.
func checkShard(dir, shard string, want []string, holder map[string]string, opts *formats.Options, rep func(formats.Finding)) {
	f, err := opts.OpenFile(filepath.Join(dir, shard))
	if err != nil {
		rep(fnd("shard-index/unreadable", formats.High, shard, formats.NoOffset, "the shard cannot be opened (%v)", err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		rep(fnd("shard-index/unreadable", formats.High, shard, formats.NoOffset, "the shard cannot be read (%v)", err))
		return
	}
	// The shard's own problems are reported when the shard file is scanned.
	h := Read(f, fi.Size(), func(string, formats.Severity, string, int64, string, ...any) {})
	if h.N == 0 || len(h.Tensors) == 0 && !h.Valid {
		rep(fnd("shard-index/unreadable-shard", formats.High, shard, formats.NoOffset, "the shard's safetensors header cannot be read, so the index cannot be checked against it"))
		return
	}
	has := map[string]bool{}
	for _, t := range h.Tensors {
		has[t.Name] = true
	}
	wanted := map[string]bool{}
	for _, t := range want {
		wanted[t] = true
	}
	var missing, extra, twice []string
	for _, t := range want {
		if !has[t] {
			missing = append(missing, t)
		}
	}
	for _, t := range h.Tensors {
		if !wanted[t.Name] {
			extra = append(extra, t.Name)
		}
		if other, ok := holder[t.Name]; ok && other != shard {
			twice = append(twice, t.Name+" (also in "+other+")")
		} else if !ok {
			holder[t.Name] = shard
		}
	}
	if len(missing) > 0 {
		rep(fnd("shard-index/tensor-missing-from-shard", formats.High, shard, formats.NoOffset,
			"the index maps %d tensors to this shard that its header does not hold: %s", len(missing), list(missing)))
	}
	if len(extra) > 0 {
		rep(fnd("shard-index/unindexed-tensor", formats.High, shard, formats.NoOffset,
			"the shard holds %d tensors the index does not map to it: %s; a loader reading the whole shard would load weights the index does not declare", len(extra), list(extra)))
	}
	if len(twice) > 0 {
		rep(fnd("shard-index/tensor-in-two-shards", formats.High, shard, formats.NoOffset,
			"%d tensors are stored in more than one shard: %s; which copy a loader keeps depends on the order it reads shards", len(twice), list(twice)))
	}
}

func list(names []string) string {
	sort.Strings(names)
	const max = 10
	if len(names) > max {
		return strings.Join(names[:max], ", ") + fmt.Sprintf(" and %d more", len(names)-max)
	}
	return strings.Join(names, ", ")
}

// Entry is one weight_map line.
type Entry struct {
	Tensor, Shard string
	Off           int64
}

// ParseIndex reads a shard index, reporting malformed content, and returns
// the weight_map in file order (nil when unusable) and the metadata object.
func ParseIndex(b []byte, rep func(formats.Finding)) ([]Entry, *jsonx.Value) {
	root, dups, err := jsonx.Parse(b, jsonx.Limits{MaxDepth: 16})
	for _, d := range dups {
		rep(fnd("shard-index/duplicate-key", formats.High, strings.TrimPrefix(d.Path+"/"+d.Key, "/"), int64(d.Off),
			"the key %q appears twice in %s; Python keeps the last value, other readers the first, so loaders disagree on which shard holds it", d.Key, where(d.Path)))
	}
	if err != nil {
		off := int64(formats.NoOffset)
		if e, ok := err.(*jsonx.Error); ok {
			off = int64(e.Off)
		}
		rep(fnd("shard-index/invalid", formats.High, "", off, "the shard index is not valid JSON: %v", err))
		return nil, nil
	}
	if root.Kind != jsonx.Object {
		rep(fnd("shard-index/invalid", formats.High, "", 0, "the shard index is a JSON %s, not an object", root.Kind))
		return nil, nil
	}
	wm := root.Get("weight_map")
	if wm == nil || wm.Kind != jsonx.Object {
		rep(fnd("shard-index/invalid", formats.High, "weight_map", 0, "the shard index has no weight_map object; a loader cannot tell which shard holds which tensor"))
		return nil, nil
	}
	out := make([]Entry, 0, len(wm.Keys))
	for i, k := range wm.Keys {
		v := wm.Vals[i]
		if v.Kind != jsonx.String {
			rep(fnd("shard-index/invalid", formats.High, "weight_map/"+k, int64(v.Off), "weight_map[%q] is a JSON %s, not a shard file name", k, v.Kind))
			continue
		}
		out = append(out, Entry{Tensor: k, Shard: v.Str, Off: int64(v.Off)})
	}
	return out, root.Get("metadata")
}

// reservedWindows are device names Windows opens instead of a file, with or
// without an extension.
var reservedWindows = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// unsafeName says why a shard name is not a plain file name in the folder,
// or "" when it is one. It is judged for every OS the loader may run on.
func unsafeName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case strings.ContainsRune(name, 0):
		return "contains a NUL byte (C-based readers cut the name there)"
	case name == "." || name == "..":
		return "names a folder"
	case strings.Contains(name, ".."):
		if strings.ContainsAny(name, `/\`) {
			return "climbs out of the folder with '..'"
		}
	}
	if strings.HasPrefix(name, `\\`) || strings.HasPrefix(name, "//") {
		return "is a UNC network path"
	}
	if len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z') {
		return "starts with a Windows drive letter"
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) {
		return "is an absolute path"
	}
	if strings.ContainsAny(name, `/\`) {
		return "contains a path separator"
	}
	if strings.ContainsRune(name, ':') {
		return "contains ':' (an NTFS alternate data stream or drive reference)"
	}
	for _, r := range name {
		if r < 0x20 {
			return "contains a control character"
		}
	}
	stem := strings.ToUpper(name)
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	if reservedWindows[strings.TrimRight(stem, " ")] {
		return "is a reserved Windows device name"
	}
	if strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
		return "ends in a dot or space, which Windows strips (so it names a different file there)"
	}
	return ""
}

// reportUnreferenced reports weight files of the index's kind that the
// index does not name: a loader given the folder may pick them up (a
// model.safetensors beside an index is preferred by transformers), yet they
// are outside what the index declares.
func reportUnreferenced(index string, files []string, referenced map[string]bool, report func(string, formats.Finding)) {
	ext := weightExt(index)
	if ext == "" {
		return
	}
	prefix := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(index), ".index.json"), ext))
	for _, f := range files {
		lf := strings.ToLower(f)
		if referenced[f] || !strings.HasSuffix(lf, ext) || strings.HasSuffix(lf, ".index.json") {
			continue
		}
		sev := formats.Low
		switch {
		case strings.HasPrefix(lf, prefix):
			sev = formats.Medium
		case ext == ".bin":
			// .bin is generic (training_args.bin, ONNX external data):
			// only names of the index's own family are shards.
			continue
		}
		report(f, fnd("shard-index/unreferenced-shard", sev, "", formats.NoOffset,
			"this weight file is not named by %s; a loader given the folder may still read it, so its weights are outside what the index declares", index))
	}
}

// isPickleWeights says whether a name is a pickle-based weights file a
// loader may prefer over (or fall back to beside) safetensors.
func isPickleWeights(name string) bool {
	l := strings.ToLower(name)
	switch filepath.Ext(l) {
	case ".pt", ".pth", ".ckpt":
		return true
	case ".bin":
		return strings.HasPrefix(l, "pytorch_model") || strings.HasPrefix(l, "diffusion_pytorch_model")
	}
	return false
}

// checkPickleBeside reports pickle weights next to safetensors weights:
// which one a loader opens depends on its version and flags
// (use_safetensors, from_pt), so the safe file being present does not mean
// the safe file is what gets loaded. It is one finding per folder (a
// 5,000-file model is one decision, not one alert per shard), on the
// folder, naming the pickle files to remove. Its severity is low when
// every pickle file is itself shown clean (a loader choosing it runs no
// code), medium otherwise: that pickle's own findings say what it runs.
func checkPickleBeside(dir string, files []string, opts *formats.Options, report func(string, formats.Finding)) {
	var st, pk []string
	for _, f := range files {
		switch {
		case strings.HasSuffix(strings.ToLower(f), ".safetensors"):
			st = append(st, f)
		case isPickleWeights(f):
			pk = append(pk, f)
		}
	}
	if len(st) == 0 || len(pk) == 0 {
		return
	}
	sev, state := formats.Low, "each was scanned and shows no finding, so a loader that picks one still runs no code"
	if !picklesClean(dir, pk, opts) {
		sev, state = formats.Medium, "not every one is shown clean: see its own findings"
	}
	report(".", fnd("safetensors/pickle-beside-safetensors", sev, "", formats.NoOffset,
		"%s beside %s; depending on version and flags a loader may open the pickle instead, which can run code; %s. Remove the pickle files or load with use_safetensors=True",
		countList(pk, "pickle weights file"), countList(st, "safetensors file"), state))
}

// maxBesideScans bounds how many pickle files the check re-reads to prove
// them clean; more than that stays medium (unproven).
const maxBesideScans = 8

// picklesClean scans each pickle weights file (headers and pickles only,
// no hashing) and reports whether none has a finding above info.
func picklesClean(dir string, pk []string, opts *formats.Options) bool {
	if opts == nil || len(pk) > maxBesideScans {
		return false
	}
	o := *opts
	o.Hash, o.Progress = false, nil
	for _, f := range pk {
		p := filepath.Join(dir, f)
		r := formats.ScanFile(context.Background(), p, p, &o)
		if m, ok := r.Max(); ok && m > formats.Info {
			return false
		}
	}
	return true
}

// countList says "2 pickle weights files (a.bin, b.bin)", naming at most
// five.
func countList(names []string, noun string) string {
	n := fmt.Sprintf("%d %ss", len(names), noun)
	if len(names) == 1 {
		n = "1 " + noun
	}
	shown := names
	more := ""
	if len(shown) > 5 {
		shown, more = shown[:5], fmt.Sprintf(" and %d more", len(names)-5)
	}
	return n + " (" + strings.Join(shown, ", ") + more + ")"
}
