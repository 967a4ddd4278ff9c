package torchserve

import (
	"bytes"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

func init() {
	// torch-model-archiver --archive-format no-archive writes the same
	// layout as a folder; TorchServe loads it the same way.
	formats.RegisterDir(&formats.DirCheck{Name: "torchserve-folder", Check: checkFolder})
}

const maxFolderFiles = 10_000

func checkFolder(dir string, files []string, opts *formats.Options, report func(rel string, f formats.Finding)) {
	if filepath.Base(dir) != "MAR-INF" {
		return
	}
	found := false
	for _, f := range files {
		found = found || f == "MANIFEST.json"
	}
	if !found {
		return
	}
	root := filepath.Dir(dir)
	var members []*archive.Member
	paths := map[*archive.Member]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || len(members) >= maxFolderFiles {
			return fs.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			m := &archive.Member{Name: filepath.ToSlash(rel), DataOffset: -1}
			members = append(members, m)
			paths[m] = p
		}
		return nil
	})
	// Only the manifest is ever opened (the members are not scanned
	// here): it is read whole, within the manifest limit.
	a := archive.New("folder", members, func(m *archive.Member) (io.ReaderAt, int64, error) {
		// Through the scan's opener: under a check, the bytes the one
		// pass hashes (the manifest's own scan shares the open).
		fi, err := opts.StatFile(paths[m])
		if err != nil {
			return nil, 0, err
		}
		if fi.Size() > maxManifest {
			return bytes.NewReader(nil), fi.Size(), nil // reported as too large
		}
		b, err := opts.ReadSmallFile(paths[m], maxManifest)
		if err != nil {
			return nil, 0, err
		}
		return bytes.NewReader(b), int64(len(b)), nil
	})
	res := &formats.FileResult{}
	judge(formats.NewScope(filepath.Join(dir, "MANIFEST.json"), opts, res), a, false)
	for _, f := range res.Findings {
		report("MANIFEST.json", f)
	}
}
