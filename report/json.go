package report

import (
	"encoding/json"
	"io"

	"github.com/modelvet/modelvet/formats"
)

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if r.Files == nil {
		// verify and attestation reports scan no files: "files": [] keeps
		// the field an array for consumers that iterate it, never null.
		c := *r
		c.Files = []*formats.FileResult{}
		r = &c
	}
	return enc.Encode(r)
}
