// Package fsnames checks the names in a model folder for meanings that
// change on another operating system: a folder that scans clean on Linux
// can load something else on Windows (or macOS), because there
//   - "model.bin" and "Model.bin" are one file (case-insensitive file
//     systems): the scanner read two files, the loader gets one of them;
//   - "NUL.bin", "con.json", "COM1.pt" open a device, not a file;
//   - "weights.bin:payload" names an NTFS alternate data stream;
//   - "model.bin." and "model.bin " are "model.bin" (trailing dots and
//     spaces are stripped);
//   - "..\evil.pkl" is a path that climbs out of the folder.
//
// It registers a folder check (formats.DirCheck); the checks are also
// exported for the service, which refuses such names in uploads.
package fsnames

import (
	"fmt"
	"golang.org/x/text/unicode/norm"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	formats.RegisterDir(&formats.DirCheck{Name: "fsnames", Check: check})
}

// Reserved reports whether a path segment is a Windows device name, with
// or without an extension, trailing dots or spaces ("nul", "NUL.bin",
// "com1 .txt", "LPT¹"). Opening it on Windows opens the device.
func Reserved(seg string) bool {
	base := strings.TrimRight(seg, ". ")
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	for _, dev := range []string{"COM", "LPT"} {
		if rest, ok := strings.CutPrefix(base, dev); ok {
			// COM1-COM9 and the superscript digits Windows also maps.
			switch rest {
			case "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
				return true
			}
		}
	}
	return false
}

// Climbs reports whether a path segment means the parent folder on some
// system: ".." everywhere, and also ".. " or "..." on Windows, which strips
// trailing dots and spaces from each component while other systems see an
// ordinary name. A path that climbs on one reader only is still an escape.
func Climbs(seg string) bool {
	return seg == ".." || (strings.Contains(seg, "..") && strings.TrimRight(seg, ". ") == "")
}

// Fold is the key under which Windows (and default macOS) file systems
// consider two names the same: case-insensitive, trailing dots and spaces
// stripped, and (macOS APFS/HFS+) one Unicode normalization form: "café"
// precomposed (NFC) and decomposed (NFD) name one file there.
func Fold(name string) string {
	return strings.ToUpper(norm.NFC.String(strings.TrimRight(name, ". ")))
}

// Problem describes what is wrong with one name on Windows, or "".
// It returns the rule and severity too.
func Problem(name string) (rule string, sev formats.Severity, msg string) {
	switch {
	case strings.ContainsRune(name, '\\'):
		// A path escape on Windows: "..\x" climbs, "a\b" lands in a folder.
		return "fs/windows-path-in-name", formats.High,
			fmt.Sprintf("the name %q contains a backslash, a path separator on Windows: copied or extracted there it becomes a different path (possibly outside the folder)", name)
	case strings.ContainsRune(name, ':'):
		// "weights.bin:x" is an alternate data stream of weights.bin; "C:x" is a drive-relative path.
		return "fs/windows-stream-name", formats.High,
			fmt.Sprintf("the name %q contains ':', which on Windows names an NTFS alternate data stream or a drive: a loader there reads something else", name)
	case Reserved(name):
		return "fs/windows-reserved-name", formats.High,
			fmt.Sprintf("the name %q is a Windows device name: opening it on Windows opens the device, not this file, so what was scanned is not what loads", name)
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		return "fs/windows-trailing-dot", formats.Medium,
			fmt.Sprintf("the name %q ends in a dot or space, which Windows strips: there it is %q", name, strings.TrimRight(name, ". "))
	case strings.ContainsAny(name, `<>"|?*`) || hasControl(name):
		return "fs/windows-invalid-name", formats.Medium,
			fmt.Sprintf("the name %q has characters Windows does not allow in file names; the model cannot be copied there as scanned", name)
	case !utf8.ValidString(name):
		return "fs/invalid-utf8-name", formats.Medium,
			fmt.Sprintf("the name %q is not valid UTF-8; tools disagree on what it is called", name)
	}
	return "", formats.Info, ""
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// check runs once per folder the walk visits. It reads the folder's
// entries itself so sub-folder names take part too ("Model/" beside
// "model/" collides as much as two files do).
func check(dir string, files []string, _ *formats.Options, report func(string, formats.Finding)) {
	names := files
	if entries, err := os.ReadDir(dir); err == nil {
		names = names[:0:0]
		for _, e := range entries {
			if e.Name() == ".git" {
				continue
			}
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	groups := map[string][]string{}
	for _, n := range names {
		if rule, sev, msg := Problem(n); rule != "" {
			report(n, formats.Finding{Rule: rule, Severity: sev, Offset: formats.NoOffset, Message: msg})
		}
		groups[Fold(n)] = append(groups[Fold(n)], n)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		// Ambiguous: the scan read each file; on a case-insensitive file
		// system only one exists and which one depends on copy order.
		for _, n := range g[1:] {
			report(n, formats.Finding{Rule: "fs/case-collision", Severity: formats.High, Offset: formats.NoOffset,
				Message: fmt.Sprintf("%q and %q are the same name on a case-insensitive file system (Windows, macOS): one shadows the other, so what loads there may not be what was scanned", g[0], n)})
		}
	}
}
