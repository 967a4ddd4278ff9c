package formats

import (
	"bytes"
	"fmt"
	"runtime/debug"
)

// caught is a panic stopped at an analyzer entry point.
type caught struct {
	entry    string // "sniffer", "analyzer", "folder check"
	analyzer string
	value    any
	stack    string
}

// maxStack bounds the stack kept in a report's details.
const maxStack = 4096

// guard runs fn and returns the panic it raised, or nil. Every entry point
// into a format package (Sniff, Analyze, DirCheck.Check, and what they call,
// such as the ONNX companion lookups run from a sniffer) goes through it, so
// that one bug on one hostile file becomes a finding on that file instead
// of ending the scan, or the admission service, for every file.
func guard(entry, analyzer string, fn func()) (c *caught) {
	defer func() {
		if v := recover(); v != nil {
			stack := debug.Stack()
			// Start at the panic, not at this deferred function.
			if i := bytes.Index(stack, []byte("panic(")); i > 0 {
				stack = stack[i:]
			}
			c = &caught{entry: entry, analyzer: analyzer, value: v, stack: string(stack[:min(len(stack), maxStack)])}
		}
	}()
	fn()
	return nil
}

// finding is the report of a caught panic; its stack goes in the details
// under detailKey so the message stays readable.
func (c *caught) finding(file string) Finding {
	return Finding{Rule: "formats/analyzer-failure", Severity: High, Offset: NoOffset,
		Message: fmt.Sprintf("the %s %s failed on %s (%v); the content cannot be shown safe. Please report this with the file (the stack is in the details under %q)",
			c.analyzer, c.entry, file, c.value, c.detailKey())}
}

func (c *caught) detailKey() string { return "panic:" + c.entry + ":" + c.analyzer }
