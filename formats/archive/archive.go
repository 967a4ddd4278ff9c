// Package archive reads zip, tar and 7z containers for every format that
// ships inside one, bounded and without trusting any single view of the
// container. It knows nothing of what the members hold: formats that live
// in archives (PyTorch checkpoints, .keras files, .npz) register a Flavor.
package archive

import (
	"io"
	"sort"
	"sync"

	"github.com/modelvet/modelvet/formats"
)

// Member is one entry of an archive, as the archive's index declares it.
type Member struct {
	Name           string
	Size           int64 // uncompressed size
	CompressedSize int64
	Method         string // "store", "deflate", "bzip2", ...
	// DataOffset is where the member's bytes start in the archive, or -1
	// when the member is compressed or its position is not known.
	DataOffset int64
	IsDir      bool
	IsLink     bool // a symbolic or hard link (tar)
	LinkTarget string
	// CRC32 is the checksum the index declares (zip, 7z), 0 if none.
	CRC32 uint32
	// Encrypted members cannot be opened; the reader reports them.
	Encrypted bool
	hardLink  bool
}

// Archive is an opened container.
type Archive struct {
	Kind    string // "zip", "tar", "7z"
	Members []*Member
	// open returns the member's content. Stored members are a window on
	// the archive; compressed ones are inflated within the scope's budget.
	open func(m *Member) (io.ReaderAt, int64, error)
	// Prepended is how many bytes precede the archive proper (a zip
	// glued behind other data); the reader has reported them.
	Prepended int64
	closers   *tempFiles
	// views are the archives other zip readers see in the same bytes
	// (views.go); the reader has reported them, Dispatch scans them.
	views []*view
}

// New makes an Archive from its members and a function that opens one.
// Readers of new container kinds use it.
func New(kind string, members []*Member, open func(m *Member) (io.ReaderAt, int64, error)) *Archive {
	return &Archive{Kind: kind, Members: members, open: open}
}

// Open returns a member's content and its size. Readers report why a
// member cannot be opened (encrypted, bomb, corrupt) to the scope they
// were opened with; callers need not report the error again. Pass the
// content to Release when done with it.
func (a *Archive) Open(m *Member) (io.ReaderAt, int64, error) { return a.open(m) }

// Close removes the temporary files holding inflated members.
func (a *Archive) Close() error {
	for _, v := range a.views {
		v.a.Close()
	}
	return a.closers.closeAll()
}

// Find returns the first member named name, or nil.
func (a *Archive) Find(name string) *Member {
	for _, m := range a.Members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Flavor recognizes a format that is an archive with a known layout and
// analyzes it in place of the generic member-by-member scan.
type Flavor struct {
	Name     string   // format name for the report ("pytorch", "keras", "npz")
	Kinds    []string // archive kinds it can be ("zip", "tar")
	Priority int
	Match    func(a *Archive) bool
	Analyze  func(s *formats.Scope, a *Archive)
}

var (
	flavorMu sync.RWMutex
	flavors  []*Flavor
)

// RegisterFlavor adds a flavor. Format packages call it from init.
func RegisterFlavor(f *Flavor) {
	flavorMu.Lock()
	defer flavorMu.Unlock()
	flavors = append(flavors, f)
	sort.SliceStable(flavors, func(i, j int) bool { return flavors[i].Priority > flavors[j].Priority })
}

// FlavorOf returns the flavor the archive matches, or nil.
func FlavorOf(a *Archive) *Flavor {
	flavorMu.RLock()
	defer flavorMu.RUnlock()
	for _, f := range flavors {
		for _, k := range f.Kinds {
			if k == a.Kind && f.Match(a) {
				return f
			}
		}
	}
	return nil
}
