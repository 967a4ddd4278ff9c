package template

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/modelvet/modelvet/formats"
)

// Prompt injection carried by the template's own text. A chat template is
// rendered into every prompt, so text in it speaks to the model on every
// request. Nothing here runs in the loader, so these are never High: what
// the model does with the text depends on the deployment (which tools it
// may call, whether they reach the network), and the same words could sit
// in the system prompt a deployer writes.
const (
	// Text a reviewer cannot see: Unicode tag characters (U+E0000..U+E007F,
	// "ASCII smuggling": each one is an invisible copy of an ASCII
	// character that models read), bidirectional overrides and isolates
	// (Trojan Source: the order shown differs from the order read) and
	// zero-width characters. Medium: hidden instructions are the usual way
	// to make a model leak the conversation through a tool call.
	RuleInvisible = "template/invisible-text"
	// A URL in the text the template renders (outside {# #} comments):
	// a place the model may be told to send data. Low: real templates
	// rarely carry one, and a URL alone exfiltrates nothing.
	RuleURL = "template/embedded-url"
)

var (
	commentRe = regexp.MustCompile(`(?s)\{#.*?#\}`)
	urlRe     = regexp.MustCompile(`(?i)\b(?:https?|ftp|wss?)://[^\s'"<>\\{}]+`)
)

func invisible(r rune) bool {
	switch {
	case r >= 0xE0000 && r <= 0xE007F:
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r >= 0x200B && r <= 0x200F, r >= 0x2060 && r <= 0x2064, r == 0xFEFF:
		return true
	}
	return false
}

// promptInjection reports invisible characters anywhere in the template
// and URLs in the text it renders.
func (c *checker) promptInjection(src string) {
	first := -1
	n := 0
	var hidden strings.Builder
	for i, r := range src {
		if r == 0xFEFF && i == 0 {
			continue // a byte-order mark
		}
		if !invisible(r) {
			continue
		}
		if first < 0 {
			first = i
		}
		n++
		if r >= 0xE0020 && r <= 0xE007E && hidden.Len() < 200 {
			hidden.WriteRune(r - 0xE0000)
		}
	}
	if first >= 0 {
		msg := fmt.Sprintf("the template holds %d invisible characters (Unicode tags, bidirectional controls or zero-width); the model reads text a reviewer does not see", n)
		if hidden.Len() > 0 {
			msg += fmt.Sprintf(": the tag characters spell %q", hidden.String())
		}
		c.add(RuleInvisible, formats.Medium, first, "%s", msg)
	}
	if !strings.Contains(src, "://") {
		return
	}
	visible := commentRe.ReplaceAllStringFunc(src, func(s string) string { return strings.Repeat(" ", len(s)) })
	if loc := urlRe.FindStringIndex(visible); loc != nil && utf8.ValidString(src[loc[0]:loc[1]]) {
		c.add(RuleURL, formats.Low, loc[0], "the template renders the URL %q into every prompt; if it tells the model to send data there (a tool call, a link), conversations leak", shorten(src[loc[0]:loc[1]]))
	}
}
