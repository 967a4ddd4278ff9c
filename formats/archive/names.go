package archive

import (
	"path"
	"strings"

	"github.com/modelvet/modelvet/formats/fsnames"
)

// nameProblem says why a member name could write or read outside the
// folder an archive is extracted into, or "" when it is clean. Loaders
// extract (or look members up) by name; a name a tool resolves outside the
// root is a path-traversal write ("zip slip"), and a name two tools
// resolve differently (a backslash is a separator on Windows only) lets
// one archive show one file to the scanner and another to the loader.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case strings.IndexByte(name, 0) >= 0:
		// C loaders stop at the NUL and see a different name than Go/Python.
		return "the name contains a NUL byte"
	case strings.HasPrefix(name, "/"):
		return "the name is an absolute path"
	case strings.HasPrefix(name, `\\`) || strings.HasPrefix(name, "//"):
		return "the name is a UNC network path"
	case strings.IndexByte(name, '\\') >= 0:
		// A separator on Windows: "a\..\..\x" escapes there only.
		return "the name contains a backslash, a path separator on Windows"
	case len(name) >= 2 && name[1] == ':' && isLetter(name[0]):
		return "the name starts with a drive letter"
	case strings.IndexByte(name, ':') >= 0:
		// "weights.bin:x" is an NTFS alternate data stream on Windows.
		return "the name contains ':', a drive or alternate data stream on Windows"
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return climbProblem
		}
		if fsnames.Climbs(seg) {
			// Windows strips trailing dots and spaces from each path
			// component: ".. " and "..." are ".." (or the folder itself)
			// there, while other systems see an ordinary name.
			return "the name contains the segment " + quote(seg) + ", which Windows reads as '..' once it strips trailing dots and spaces"
		}
		if reservedWindowsName(seg) {
			// CON, NUL, COM1... open a device on Windows instead of a file.
			return "the name contains " + seg + ", a reserved device name on Windows"
		}
	}
	return ""
}

// climbProblem is nameProblem's answer for a plain ".." segment, which a
// symbolic link target may hold as long as it stays inside the root.
const climbProblem = "the name contains a '..' segment that climbs out of the extraction folder"

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// reservedWindowsName reports whether seg is a DOS device name ("nul.txt"
// is the NUL device too); the project's one definition is in fsnames.
func reservedWindowsName(seg string) bool { return fsnames.Reserved(seg) }

// linkEscapes reports whether a link member named name pointing at target
// resolves outside the archive root. Symbolic link targets are relative to
// the link's folder; hard link targets are archive paths.
func linkEscapes(name, target string, symbolic bool) string {
	t := target
	if symbolic {
		// Windows strips trailing dots and spaces, so ".. " and "..." climb
		// there: resolve them as ".." before the lexical check. (Matching
		// "'..'" in the problem text used to let them through unresolved:
		// ".. /.. /secret" passed as a name inside the root.)
		segs := strings.Split(target, "/")
		for i, seg := range segs {
			if fsnames.Climbs(seg) {
				segs[i] = ".."
			}
		}
		t = strings.Join(segs, "/")
	}
	if p := nameProblem(t); p != "" && !(symbolic && p == climbProblem) {
		return "its target " + quote(target) + ": " + p
	}
	if symbolic {
		t = path.Join(path.Dir(name), t)
	}
	t = path.Clean(t)
	if t == ".." || strings.HasPrefix(t, "../") || strings.HasPrefix(t, "/") {
		return "its target " + quote(target) + " resolves outside the archive root"
	}
	return ""
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}

// normName is the name two readers would both look a member up by: tar
// writers often prefix "./", and directories end in "/".
func normName(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	return name
}
