package formats

import "path/filepath"

// Profile selects how a pickle global that is neither known safe nor known
// dangerous is judged.
type Profile string

const (
	// Strict fails on any unknown global, as torch.load(weights_only=True)
	// would refuse to load it.
	Strict Profile = "strict"
	// Permissive reports unknown globals at medium severity, for models
	// (scikit-learn, custom classes) that legitimately pickle objects.
	Permissive Profile = "permissive"
)

// Options configure a scan. The zero value is not usable; start from
// DefaultOptions.
type Options struct {
	Profile Profile
	// Allow lists extra globals the user trusts: "module.qualname", or
	// "module.*" for every name of a module and its sub-modules.
	Allow []string
	// Hash computes each file's SHA-256 for the report. It costs a read of
	// every byte, which the analyzers themselves avoid for tensor data.
	Hash   bool
	Limits Limits
	// Progress, when set, is told how far the scan is: once when the
	// files are listed and after each file. It is called from one
	// goroutine at a time and must return quickly (the CLI draws a
	// progress line on a terminal from it).
	Progress func(Progress)
	// Open, when set, opens each file the walk scans (nil: OpenRegular).
	// The gate sets it to record what analyzers read, so the hashing pass
	// can prove the signature was checked over the bytes that were scanned.
	Open Opener
	// OpenOther, when set, opens the files an analyzer or folder check
	// reads besides the one it was given (the shards an index names): the
	// gate keeps them open for their own scan, so both are one read.
	OpenOther Opener

	// memo holds what analyzers compute once per scan (Memo); Scan
	// sets it.
	memo *memoTable
	// listing is the walk's listing of the folder being checked, by
	// cleaned folder path (Listed); the walk sets it before its folder
	// checks run.
	listing map[string][]string
}

// Listed returns the names of the regular files (and links to files
// inside the scanned folder) the walk found directly in dir, and whether
// the walk visited dir at all. A folder outside the scanned folder is never
// listed: a folder check that looks at a parent folder (is this Python
// code part of a model?) judges what was scanned, never the file system
// around it, which is neither scanned nor hashed nor signed, and it does so
// without a second look at the disk.
func (o *Options) Listed(dir string) ([]string, bool) {
	if o == nil || o.listing == nil {
		return nil, false
	}
	files, ok := o.listing[filepath.Clean(dir)]
	return files, ok
}

// Progress is how far a scan is.
type Progress struct {
	Files, FilesDone int
	Bytes, BytesDone int64
}

// Limits bound what hostile input can make a scan spend.
type Limits struct {
	// MaxDepth is how deep containers may nest (a zip in a tar in a zip).
	MaxDepth int
	// MaxExpand is the most decompressed bytes one top-level file may
	// produce across all its members.
	MaxExpand int64
	// MaxRatio is the largest compressed:uncompressed ratio accepted for a
	// member before it is treated as a decompression bomb.
	MaxRatio int64
	// MaxMembers is the most members an archive may list.
	MaxMembers int
	// MaxFiles is the most files one folder walk visits.
	MaxFiles int
}

// DefaultOptions returns the strict profile with limits sized for real
// models on a 24 GiB machine.
func DefaultOptions() Options {
	return Options{
		Profile: Strict,
		Hash:    true,
		Limits: Limits{
			MaxDepth:   8,
			MaxExpand:  64 << 30,
			MaxRatio:   200,
			MaxMembers: 200_000,
			MaxFiles:   1_000_000,
		},
	}
}
