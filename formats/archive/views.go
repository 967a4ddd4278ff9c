package archive

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

// Attack class: one file, two archives. Zip readers disagree on where the
// archive is, so an attacker can show the scanner one archive and the
// loader another:
//
//   - the end record: Python's zipfile (numpy.load, Keras, joblib) and
//     miniz (torch.load) take the LAST end-record signature with 22 bytes
//     after it, even when its comment length runs past the file; Go's
//     archive/zip (and this reader) the last one whose comment fits. A
//     second end record in the real one's comment, claiming a long
//     comment, opens a hidden archive for Python and torch only;
//   - prepended bytes: Python shifts every offset by the bytes before the
//     archive; miniz never does; Go does unless a central header sits at
//     the unshifted offset. A second central directory placed there is
//     the archive torch and Go load, the shifted one is Python's.
//
// Each reader's choice is modelled; every view that opens to different
// content than the primary (Go's end record, shifted offsets) is a high
// finding naming which member each reader would load, and its members are
// scanned too.

// view is the archive some readers see where this reader sees another.
type view struct {
	readers string
	a       *Archive
	z       *zipReader
}

// otherViews opens the archives other readers see in the bytes. primary is
// this reader's (nil when it found no usable end record).
func otherViews(s *formats.Scope, r io.ReaderAt, size int64, z *zipReader, primary *Archive) []*view {
	type choice struct {
		end   int64
		base0 bool
	}
	goEnd := z.eocdOff
	if primary == nil {
		goEnd = -1
	}
	readers := map[choice][]string{}
	var order []choice
	add := func(c choice, who string) {
		if _, ok := readers[c]; !ok {
			order = append(order, c)
		}
		readers[c] = append(readers[c], who)
	}
	primaryChoice := choice{goEnd, false}
	if z.lastSig >= 0 {
		add(choice{z.lastSig, false}, "Python's zipfile (numpy.load, Keras, joblib)")
		add(choice{z.lastSig, true}, "torch.load (miniz)")
	}
	if goEnd >= 0 && primary.Prepended > 0 && z.centralAt(z.cdStart-z.base) {
		add(choice{goEnd, true}, "Go's archive/zip")
	} else if goEnd >= 0 {
		add(primaryChoice, "Go's archive/zip")
	}
	// Open each choice; choices that land on the same bytes (miniz's
	// unshifted offsets when nothing is prepended) are one view.
	type opened struct {
		who  []string
		end  int64
		z    *zipReader
		a    *Archive
		base int64
	}
	var open []*opened
	for _, c := range order {
		if c == primaryChoice || len(open) >= 3 {
			continue
		}
		if primary != nil && c.end == goEnd && primary.Prepended == 0 {
			continue // nothing prepended: unshifted offsets are the primary's
		}
		quiet := formats.NewScope(s.Path(), s.Options(), &formats.FileResult{})
		vz := newZipReader(quiet, r, size)
		vz.endAt, vz.base0 = c.end, c.base0
		va := vz.archive()
		if va == nil || len(va.Members) == 0 {
			continue // that reader refuses the file: it loads nothing
		}
		merged := false
		for _, o := range open {
			if o.end == c.end && o.base == vz.base {
				o.who, merged = append(o.who, readers[c]...), true
			}
		}
		if merged || (primary != nil && c.end == goEnd && vz.base == z.base) {
			va.Close()
			continue
		}
		vz.s = s
		open = append(open, &opened{who: readers[c], end: c.end, z: vz, a: va, base: vz.base})
	}
	var views []*view
	for _, o := range open {
		diff := viewDiff(z, primary, o.z, o.a)
		if diff == "" {
			o.a.Close()
			continue
		}
		who := strings.Join(o.who, " and ")
		how := ""
		switch {
		case o.base == 0 && z.base > 0:
			how = fmt.Sprintf(" without correcting offsets for the %d prepended bytes", z.base)
		case o.base != z.base:
			how = fmt.Sprintf(" with offsets shifted by %d (prepended bytes)", o.base)
		}
		s.Reportf("archive/ambiguous-archive", formats.High, o.end,
			"zip readers see different archives in this file: %s read the end record at %d%s and %s; modelvet reads %s. The other view's members are scanned too",
			who, o.end, how, diff, describeView(primary))
		views = append(views, &view{readers: who, a: o.a, z: o.z})
	}
	return views
}

// centralAt reports whether a central directory header starts at off.
func (z *zipReader) centralAt(off int64) bool {
	b, ok := z.readAt(4, off)
	return ok && le32(b) == sigCentral
}

// viewDiff says how the view's members differ from the primary's ("" when
// the same members come from the same bytes).
func viewDiff(pz *zipReader, pa *Archive, vz *zipReader, va *Archive) string {
	key := func(z *zipReader, m *Member) string {
		e := z.byM[m]
		return fmt.Sprintf("%d/%d/%d/%08x", e.dataOff, e.csize, e.method, e.crc)
	}
	prim := map[string]string{}
	if pa != nil {
		for _, m := range pa.Members {
			prim[m.Name] = key(pz, m)
		}
	}
	var differ []string
	for _, m := range va.Members {
		if k, ok := prim[m.Name]; !ok || k != key(vz, m) {
			differ = append(differ, quote(m.Name))
		}
	}
	if len(differ) == 0 && (pa == nil || len(pa.Members) == len(va.Members)) {
		return ""
	}
	sort.Strings(differ)
	if len(differ) > 8 {
		differ = append(differ[:8], fmt.Sprintf("and %d more", len(differ)-8))
	}
	if len(differ) == 0 {
		return fmt.Sprintf("load %d members where modelvet sees %d", len(va.Members), len(pa.Members))
	}
	return "load " + strings.Join(differ, ", ") + " from other bytes"
}

func describeView(a *Archive) string {
	if a == nil {
		return "no archive at all (no end record whose comment fits the file)"
	}
	names := make([]string, 0, 8)
	for i, m := range a.Members {
		if i == 8 {
			names = append(names, fmt.Sprintf("and %d more", len(a.Members)-8))
			break
		}
		names = append(names, quote(m.Name))
	}
	return fmt.Sprintf("%d members (%s)", len(a.Members), strings.Join(names, ", "))
}

// scanViews scans the archives other readers see, each under a member
// path naming those readers.
func scanViews(s *formats.Scope, a *Archive) {
	for _, v := range a.views {
		c := s.Child("<archive seen by " + v.readers + ">")
		if c == nil {
			continue
		}
		v.z.s = c
		Dispatch(c, v.a)
	}
}
