// Package pytorch reads PyTorch checkpoints: the zip layout torch.save has
// written since 1.6 (and TorchScript archives), the legacy stream of
// pickles and raw storages, and the old tar layout. Pickles go to the
// pickle scanner; tensor storages are checked against what the pickle
// says of them but never read.
package pytorch

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
	"github.com/modelvet/modelvet/formats/pickle"
)

func init() {
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "pytorch",
		Kinds:    []string{"zip"},
		Priority: 100,
		Match:    func(a *archive.Archive) bool { return zipRoot(a) != "" },
		Analyze:  analyzeZip,
	})
}

// zipRoot returns the folder torch reads records from. PyTorch's reader
// takes it from the first member's name, whatever it is ("archive",
// "mymodel", the file's stem), and looks every record up under it. The
// archive is PyTorch's when a pickle torch would load sits there.
func zipRoot(a *archive.Archive) string {
	if len(a.Members) == 0 {
		return ""
	}
	root, _, ok := strings.Cut(a.Members[0].Name, "/")
	if !ok || root == "" {
		return ""
	}
	for _, m := range a.Members {
		// torch looks records up case-insensitively (miniz's
		// mz_zip_reader_locate_file without MZ_ZIP_FLAG_CASE_SENSITIVE).
		if rel, ok := cutFold(m.Name, root+"/"); ok && (strings.EqualFold(rel, "data.pkl") || strings.EqualFold(rel, "constants.pkl")) {
			return root
		}
	}
	return ""
}

// cutFold is strings.CutPrefix with ASCII case folding, as torch's record
// lookup compares names.
func cutFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// pickleStorageDir is the folder holding the storages a pickle's
// persistent ids name: TorchScript keeps constants' tensors apart.
func pickleStorageDir(rel string) string {
	if rel == "constants.pkl" {
		return "constants/"
	}
	return "data/"
}

func analyzeZip(s *formats.Scope, a *archive.Archive) {
	root := zipRoot(a)
	prefix := root + "/"
	// torch.load hands an archive with a constants.pkl record to
	// torch.jit.load (serialization.py _is_torchscript_zip): its pickles
	// are then read by TorchScript's unpickler, which imports no Python.
	// The test is Python's `"constants.pkl" in get_all_records()`: exact
	// case. torch.jit.load itself reads CONSTANTS.PKL too, so a case
	// variant makes torch.load read data.pkl with Python's pickle (the
	// stricter view, which judges __torch__ names as imports) while
	// torch.jit.load compiles the code: both are checked.
	torchScript, jit := false, false
	folded := map[string]string{}
	for _, m := range a.Members {
		if m.Name == prefix+"constants.pkl" {
			torchScript = true
		}
		if rel, ok := cutFold(m.Name, prefix); ok && strings.EqualFold(rel, "constants.pkl") {
			jit = true
		}
		if m.IsDir {
			continue
		}
		low := strings.ToLower(m.Name)
		if prev, dup := folded[low]; dup && prev != m.Name {
			// pytorch/case-ambiguous-record: two records torch's
			// case-insensitive lookup cannot tell apart; which one it
			// loads is up to the zip library, not to the scanner.
			s.Report(formats.Finding{Rule: "pytorch/case-ambiguous-record", Severity: formats.High, Member: m.Name, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the records %q and %q differ only in case; torch looks records up case-insensitively, so which one it loads is not defined", prev, m.Name)})
		} else if !dup {
			folded[low] = m.Name
		}
	}
	s.Detail("pytorch_root", root)
	type want struct {
		ref   storageRef
		where string
	}
	var (
		wants     []want
		storages  = map[string]*archive.Member{} // "data/0" -> member
		torchCode []*archive.Member
		foreign   int
		protocol  = -1
		pickles   int
		summary   *stateDictSummary // data.pkl's tensors, when decoded
	)
	for _, m := range a.Members {
		rel, ok := cutFold(m.Name, prefix)
		// Records are classified by their case-folded names, as torch
		// finds them (DATA.PKL, CODE/x.PY).
		lrel := strings.ToLower(rel)
		if !ok {
			// torch never reads it, but another tool might: scan it.
			foreign++
			if foreign <= 5 {
				s.Report(formats.Finding{Rule: "pytorch/foreign-member", Severity: formats.Medium, Member: m.Name, Offset: formats.NoOffset,
					Message: fmt.Sprintf("the member is outside the checkpoint's root folder %q; torch.load ignores it, so it is content the model does not account for", root)})
			}
			if !m.IsDir && !m.IsLink {
				scanGeneric(s, a, m)
			}
			continue
		}
		if m.IsDir {
			continue
		}
		switch {
		case strings.HasPrefix(lrel, "data/") || strings.HasPrefix(lrel, "constants/"):
			// Tensor bytes: checked by size against the pickle, never read.
			storages[lrel] = m
		case strings.HasSuffix(lrel, ".pkl") || strings.HasSuffix(lrel, ".debug_pkl"):
			r, n, err := a.Open(m)
			if err != nil {
				continue
			}
			c := s.Child(m.Name)
			if c == nil {
				archive.Release(r)
				continue
			}
			c.SetFormat("pickle")
			var res *pickle.Result
			mark := c.Mark()
			loaders := recordLoaders(root, lrel, torchScript, jit) // records.go
			if torchScript || strings.HasPrefix(lrel, "code/") {
				// Read by TorchScript's C++ unpickler, not Python's.
				res = pickle.ScanTorchScript(c, r, n, loaders)
			} else {
				// torch.load reads data.pkl with Python's pickle (its
				// restricted unpickler with weights_only=True); joblib.load
				// cannot open a zip, so its inline-array skip does not
				// apply. _load calls Unpickler.load() once: what follows the
				// first STOP runs under no loader (FirstOnly caps it at
				// High, still flagged), and so does a record no loader
				// opens (Unread). The Python view is the stricter one for
				// the records the C++ unpickler reads outside TorchScript
				// archives (mobile bytecode).
				res = pickle.ScanWith(c, r, n, loaders)
				// Structure for the report, decoded by gopickle only from
				// a data.pkl modelvet's reader accepted whole: gopickle is
				// not safe on hostile bytes (see statedict.go).
				if worst, found := c.MaxSince(mark); lrel == "data.pkl" && res != nil && res.Pickles == 1 && (!found || worst < formats.Medium) {
					if sum, ok := decodeStateDict(r, res.End, res.Ops); ok {
						summary = sum
					}
				}
			}
			archive.Release(r)
			if lrel == "bytecode.pkl" {
				checkBytecode(s, a, m) // mobile TorchScript's operators (tsbytecode.go)
			}
			if res == nil {
				continue
			}
			pickles++
			if lrel == "data.pkl" {
				protocol = res.Protocol
			}
			if res.Pickles > 1 {
				// Unpickler.load() stops at the first STOP: the pickles
				// after it are scanned above but read by no loader.
				c.Reportf("pytorch/trailing-data", formats.Medium, res.FirstEnd,
					"%d more pickle(s) follow the first STOP (offset %d); %s reads only the first, so they are content the checkpoint does not account for", res.Pickles-1, res.FirstEnd, loaders.Plain)
			}
			if strings.HasSuffix(lrel, ".debug_pkl") {
				continue // debug info names no storages
			}
			for _, p := range res.PersistentIDs {
				ref, err := parseStorageRef(p)
				if err != nil {
					// torch.load's persistent_load fails on it; fail closed.
					c.Reportf("pytorch/bad-persistent-id", formats.High, p.Offset, "%v; torch.load would not load this checkpoint as written, and its tensors cannot be checked", err)
					continue
				}
				wants = append(wants, want{ref, pickleStorageDir(lrel)})
			}
		case strings.HasPrefix(lrel, "code/"):
			torchCode = append(torchCode, m)
		case lrel == "byteorder":
			if v := smallText(a, m); v != "little" && v != "big" {
				s.Report(formats.Finding{Rule: "pytorch/bad-record", Severity: formats.Medium, Member: m.Name, Offset: 0,
					Message: fmt.Sprintf("byteorder is %q, neither \"little\" nor \"big\"", v)})
			} else {
				s.Detail("byteorder", v)
			}
		case lrel == "version" || lrel == ".data/version":
			v := smallText(a, m)
			if _, err := strconv.Atoi(v); err != nil {
				s.Report(formats.Finding{Rule: "pytorch/bad-record", Severity: formats.Medium, Member: m.Name, Offset: 0,
					Message: fmt.Sprintf("the format version is %q, not a number", v)})
			} else {
				s.Detail("pytorch_version_record", v)
			}
		case lrel == ".data/serialization_id":
			s.Detail("serialization_id", smallText(a, m))
		default:
			// extra/ files of TorchScript and anything else: sniff them.
			scanGeneric(s, a, m)
		}
	}
	if foreign > 5 {
		s.Reportf("pytorch/foreign-member", formats.Medium, formats.NoOffset, "%d members in all lie outside the root folder %q", foreign, root)
	}
	if len(torchCode) > 0 {
		checkTorchScript(s, a, torchCode)
	}
	// Storages against references.
	used := map[string]bool{}
	for _, w := range wants {
		key := w.where + strings.ToLower(w.ref.Key) // looked up case-insensitively
		used[key] = true
		m := storages[key]
		where := fmt.Sprintf("%s (referenced at offset %d)", prefix+key, w.ref.Offset)
		if m == nil {
			s.Reportf("pytorch/missing-storage", formats.High, formats.NoOffset,
				"the pickle references storage %q of type %s but the archive has no member %s; torch.load would fail or read another record", w.ref.Key, w.ref.Type, where)
			continue
		}
		if w.ref.ElemSize == 0 {
			s.Reportf("pytorch/unknown-storage-type", formats.Medium, formats.NoOffset,
				"storage %q has type %s, which is not a known torch storage class; its size cannot be checked", w.ref.Key, w.ref.Type)
			continue
		}
		need, ok := mul(w.ref.Numel, w.ref.ElemSize)
		if !ok || m.Size < need {
			s.Report(formats.Finding{Rule: "pytorch/storage-too-small", Severity: formats.High, Member: m.Name, Offset: formats.NoOffset,
				Message: fmt.Sprintf("the pickle declares %d elements of %s (%d bytes each) but the member holds %d bytes; loading reads past the storage", w.ref.Numel, w.ref.Type, w.ref.ElemSize, m.Size)})
		}
	}
	var unused []string
	for k := range storages {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 && pickles > 0 {
		sort.Strings(unused)
		s.Reportf("pytorch/unreferenced-storage", formats.Low, formats.NoOffset,
			"%d storage members are referenced by no pickle (first: %s); they are dead weight or data hidden from review", len(unused), prefix+unused[0])
	}
	s.Detail("tensors", strconv.Itoa(len(wants)))
	s.Detail("storages", strconv.Itoa(len(storages)))
	if protocol >= 0 {
		s.Detail("pickle_protocol", strconv.Itoa(protocol))
	}
	if summary != nil {
		for k, v := range summary.details() {
			s.Detail(k, v)
		}
	}
}

func mul(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a != 0 && b > (1<<62)/a {
		return 0, false
	}
	return a * b, true
}

// smallText reads a short record (version, byteorder).
func smallText(a *archive.Archive, m *archive.Member) string {
	r, n, err := a.Open(m)
	if err != nil {
		return ""
	}
	defer archive.Release(r)
	if n > 64 {
		n = 64
	}
	b := make([]byte, n)
	k, _ := r.ReadAt(b, 0)
	return strings.TrimSpace(string(b[:k]))
}

func scanGeneric(s *formats.Scope, a *archive.Archive, m *archive.Member) {
	r, n, err := a.Open(m)
	if err != nil {
		return
	}
	s.ScanMember(m.Name, r, n)
	archive.Release(r)
}
