package formatstest

import "strings"

// BillionLaughsYAML is the alias-expansion bomb in YAML front matter: nine
// levels of nine aliases (9^9 strings if a reader expanded them) with
// `license: *i` on top, then tail (more keys), closing the front matter.
// Model-card readers and the ML-BOM tests both feed it to the card reader.
func BillionLaughsYAML(tail string) string {
	var b strings.Builder
	b.WriteString("---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString(n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",") + "]\n")
		prev = n
	}
	b.WriteString("license: *i\n" + tail + "---\n")
	return b.String()
}
