// Package refpath judges file paths that a model file names for its loader
// to open beside it: ONNX external data and EPContext caches, TF.js weight
// shards, OpenVINO weights. It is shared so that every format applies the
// same rules to the same class of attack.
package refpath

import (
	"fmt"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/fsnames"
)

// Problem judges a path a model names for a loader to open
// (external data location, EPContext cache file). It returns the severity
// and a reason, or "" when the path stays inside the model's folder.
//
// Attack class: a model that makes the runtime read a file the publisher
// did not ship (/etc/shadow, SSH keys, the SAM hive) into tensor values,
// from which the model's outputs can leak it; or, with onnxruntime's
// _ORT_MEM_ADDR_ tag, read raw process memory at an address the file names.
func Problem(loc string) (formats.Severity, string) {
	switch {
	case loc == "":
		return formats.High, "the location is empty"
	case strings.ContainsRune(loc, 0):
		return formats.Critical, "the location contains a NUL byte; the C++ loader would stop there and open a different path than the one shown"
	case strings.Contains(loc, "_ORT_MEM_ADDR_"):
		// onnxruntime treats this tag as "the data is already in memory at
		// the address in offset": a model naming it reads arbitrary memory.
		return formats.Critical, "the location is onnxruntime's in-memory address tag _ORT_MEM_ADDR_: loading it reads process memory at an address the file chooses"
	case strings.HasPrefix(loc, `\\`) || strings.HasPrefix(loc, "//"):
		return formats.Critical, "the location is a UNC / network path; Windows would open it on a remote server (and send credentials)"
	case strings.HasPrefix(loc, "/"):
		return formats.Critical, "the location is an absolute path; a loader would read a file outside the model's folder"
	case len(loc) >= 2 && loc[1] == ':' && (loc[0]|0x20) >= 'a' && (loc[0]|0x20) <= 'z':
		return formats.Critical, "the location starts with a Windows drive letter; on Windows it is an absolute path outside the model's folder"
	case strings.ContainsRune(loc, '\\'):
		// On Windows a backslash separates components, so "..\x" climbs
		// out; on Linux it would be a strange file name. Either way no
		// exporter writes one, and the two systems would read different files.
		for _, c := range strings.Split(loc, `\`) {
			if fsnames.Climbs(c) {
				return formats.Critical, "the location climbs out of the model's folder with Windows separators (..\\)"
			}
		}
		return formats.High, "the location contains a backslash; Windows and Linux loaders would open different files"
	}
	if r, ok := bestFitSeparator(loc); ok {
		return formats.High, fmt.Sprintf("the location contains %U, which Windows' best-fit conversion to the ANSI code page turns into %q: a loader using the ANSI file functions opens a different path (possibly outside the folder) than the one shown", r, bestFit[r])
	}
	for _, c := range strings.Split(loc, "/") {
		if climbsDecoded(c) {
			// Attack class: percent-encoded dot segments. URL-based loaders
			// (TF.js through fetch, WHATWG URL parsing) read "%2e%2e" as ".."
			// while a file-system check sees an odd folder name.
			return formats.Critical, fmt.Sprintf("the location climbs out of the model's folder with %q, which URL parsers decode to \"..\"", c)
		}
		if vcsFolder(c) {
			// Attack class: reading version-control metadata into the
			// weights. A clone's .git/config holds the remote URL, often with
			// an access token; the folder walk skips .git, so the file was
			// never scanned and the publisher never shipped it.
			return formats.High, fmt.Sprintf("the location reads from the version-control folder %q, which the publisher did not ship (a clone's .git/config can hold an access token)", c)
		}
		if fsnames.Climbs(c) {
			// ".. " and "..." are ".." once Windows strips trailing dots
			// and spaces, while Linux sees an ordinary folder name.
			return formats.Critical, fmt.Sprintf("the location climbs out of the model's folder with %q", c)
		}
		if fsnames.Reserved(c) {
			return formats.High, fmt.Sprintf("the location names the Windows device %q; on Windows the loader would open a device, not a file", c)
		}
	}
	if strings.ContainsRune(loc, ':') {
		// An NTFS alternate data stream ("w.bin:hidden") or a URL scheme:
		// neither is a plain file beside the model.
		return formats.High, "the location contains a colon (an NTFS alternate data stream or a URL), not a plain file beside the model"
	}
	return formats.Info, ""
}

// bestFit maps characters that Windows' "best fit" conversion from UTF-16
// to ANSI code pages (the -A file functions, and C runtimes built on them)
// turns into path punctuation (the WorstFit class: fullwidth and
// lookalike dots and slashes, the yen and won signs that code pages 932
// and 949 use for the backslash).
var bestFit = map[rune]string{
	'\uff0e': ".", '\u2024': ".", '\ufe52': ".",
	'\uff0f': "/", '\u2215': "/", '\u2044': "/",
	'\uff3c': "\\", '\u2216': "\\", '\ufe68': "\\", '\u00a5': "\\", '\u20a9': "\\",
}

func bestFitSeparator(loc string) (rune, bool) {
	for _, r := range loc {
		if _, ok := bestFit[r]; ok {
			return r, true
		}
	}
	return 0, false
}

// climbsDecoded reports a segment that is ".." only after URL decoding of
// %2e ("%2e%2e", ".%2E"); plain ".." is judged by fsnames.Climbs.
func climbsDecoded(seg string) bool {
	if !strings.Contains(seg, "%") {
		return false
	}
	d := strings.NewReplacer("%2e", ".", "%2E", ".").Replace(seg)
	return d != seg && fsnames.Climbs(d)
}

// vcsFolder reports a version-control metadata folder, in any case (the
// Windows and macOS file systems fold it).
func vcsFolder(seg string) bool {
	switch strings.ToLower(strings.TrimRight(seg, ". ")) {
	case ".git", ".hg", ".svn":
		return true
	}
	return false
}
