package pickle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats/fsnames"
)

// Legacy joblib side files. joblib < 0.10 pickled an NDArrayWrapper (or
// ZNDArrayWrapper) per array and wrote the array to a file beside the
// pickle; joblib.load still reads them (numpy_pickle_compat.py):
//
//	filename = os.path.join(unpickler._dirname, self.filename)
//	array = unpickler.np.load(filename, mmap_mode=..., allow_pickle=True)
//
// numpy.load(allow_pickle=True) unpickles an .npy object array, and falls
// back to pickle.load for a file that is neither .npy nor zip: the side
// file is code when it holds a pickle. It is opened (never following a
// link, never a device or FIFO) and scanned for what numpy.load does with
// it; a name that leaves the folder is a path escape, and a network path
// (\\host\share, //host/share) makes numpy.load unpickle remote content.

const maxSideFiles = 256

// A ZNDArrayWrapper's side file is different: read_zfile decompresses it and
// the raw bytes become the array's buffer through ndarray.__setstate__ (an
// object dtype there demands a list, so bytes cannot rebuild objects). Its
// content runs nothing and is not scanned as a model; where it is and
// whether it is there are judged as for any side file.
func (m *machine) sideFile(state *value, zfile bool) error {
	sc := m.sc
	fn, ok, sure := wrapperField(state, "filename")
	if !sure || !ok {
		return m.fail("joblib/bad-wrapper", "the old joblib array wrapper at offset %d names no side file modelvet can read; what joblib.load loads cannot be known", m.opStart)
	}
	name, ok := fn.str()
	if !ok {
		return m.fail("joblib/bad-wrapper", "the old joblib array wrapper at offset %d names its side file with %s, not a literal string", m.opStart, describe(&fn))
	}
	if m.quiet || sc.quiet {
		return nil
	}
	const how = "joblib.load reads it with numpy.load(allow_pickle=True), which unpickles object arrays and any file that is not .npy or zip"
	switch {
	case strings.HasPrefix(name, `\\`) || strings.HasPrefix(name, "//"):
		// joblib/side-file-escape (critical): a network path; numpy.load
		// fetches and unpickles content from another machine.
		sc.add("joblib/side-file-escape", Critical, m.opStart, "",
			fmt.Sprintf("the array at offset %d is loaded from the network path %q; %s, so loading runs whatever that server sends", m.opStart, name, how))
		return nil
	case escapes(name):
		// joblib/side-file-escape: a path outside the model's folder.
		sc.add("joblib/side-file-escape", High, m.opStart, "",
			fmt.Sprintf("the array at offset %d is loaded from %q, a path outside the model's folder; %s, and that file is not part of what was scanned", m.opStart, name, how))
		return nil
	}
	if sc.s == nil || !sc.s.RootOnDisk() {
		// joblib/side-file: the side file cannot be reached from here (the
		// pickle is a member or an upload): it is content no one vouched for.
		sc.add("joblib/side-file", High, m.opStart, "",
			fmt.Sprintf("the array at offset %d is loaded from the side file %q (old joblib format), which cannot be checked here; %s", m.opStart, name, how))
		return nil
	}
	if sc.sideSeen == nil {
		sc.sideSeen = map[string]bool{}
	}
	if sc.sideSeen[name] {
		return nil
	}
	if len(sc.sideSeen) >= maxSideFiles {
		sc.add("joblib/side-file", High, m.opStart, "", fmt.Sprintf("more than %d side files; %q and the rest are not checked", maxSideFiles, name))
		return nil
	}
	sc.sideSeen[name] = true
	path := filepath.Join(filepath.Dir(sc.s.Path()), filepath.FromSlash(name))
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		sc.add("joblib/side-file-missing", High, m.opStart, "",
			fmt.Sprintf("the array at offset %d is loaded from the side file %q, which is not there (%v); whatever is put there later is loaded with numpy.load(allow_pickle=True)", m.opStart, name, err))
		return nil
	case !fi.Mode().IsRegular():
		sc.add("joblib/side-file-escape", High, m.opStart, "",
			fmt.Sprintf("the side file %q of the array at offset %d is a %s, not a regular file; it is not opened", name, m.opStart, fi.Mode().Type()))
		return nil
	}
	// Through the scan's opener: under a check the side file's bytes are
	// those the one pass hashes, and a FIFO swapped in is never waited on.
	f, err := sc.s.Options().OpenFile(path)
	if err != nil {
		sc.add("joblib/side-file-missing", High, m.opStart, "", fmt.Sprintf("the side file %q cannot be opened: %v", name, err))
		return nil
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		sc.add("joblib/side-file-missing", High, m.opStart, "", fmt.Sprintf("the side file %q cannot be examined: %v", name, err))
		return nil
	}
	if zfile {
		// joblib/side-file (info): raw zlib-compressed array bytes.
		sc.add("joblib/side-file", Info, m.opStart, "",
			fmt.Sprintf("the array at offset %d is read from the zlib side file %q (old joblib ZNDArrayWrapper): joblib.load decompresses it into the array's raw buffer, which runs nothing", m.opStart, name))
		return nil
	}
	sc.add("joblib/side-file", Medium, m.opStart, "",
		fmt.Sprintf("the array at offset %d is loaded from the side file %q (old joblib format); %s. Its content is scanned as member %q", m.opStart, name, how, "side file "+name))
	sc.s.ScanMember("side file "+name, f, ofi.Size())
	return nil
}

// escapes reports whether a side-file name leaves the pickle's folder on
// any platform joblib runs on.
func escapes(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\:") || strings.HasPrefix(name, "/") || filepath.IsAbs(name) {
		return true
	}
	for _, seg := range strings.Split(name, "/") {
		if fsnames.Climbs(seg) { // also ".. " and "...", which Windows reads as ".."
			return true
		}
	}
	return false
}
