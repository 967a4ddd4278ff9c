package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/template"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "safetensors",
		Extensions: []string{".safetensors"},
		Priority:   40,
		Sniff:      sniff,
		Analyze:    analyze,
	})
}

// otherMagic are starts of files that are clearly another format: a file
// named .safetensors holding one of these goes to that format's analyzer
// (and the walker reports the name/content mismatch), so that a pickle
// disguised as safetensors is judged as the pickle it is.
var otherMagic = [][]byte{
	{0x80, 0x02}, {0x80, 0x03}, {0x80, 0x04}, {0x80, 0x05}, // pickle protocols 2-5
	[]byte("PK\x03\x04"), []byte("GGUF"), []byte("\x89HDF\r\n"), []byte("\x93NUMPY"),
	[]byte("7z\xbc\xaf\x27\x1c"), {0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0},
}

// sniff accepts a plausible header length followed by '{'. A file named
// .safetensors is taken even when the length is implausible, so that a
// forged length is reported by this analyzer with its reason rather than as
// an unknown format, unless the content is clearly another format.
func sniff(p *formats.Probe) bool {
	if p.Ext() == ".safetensors" && !plausible(p) {
		for _, m := range otherMagic {
			if bytes.HasPrefix(p.Head, m) {
				return false
			}
		}
		return true
	}
	return plausible(p)
}

func plausible(p *formats.Probe) bool {
	if len(p.Head) < 10 || p.Size < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(p.Head)
	if n < 2 || n > MaxHeader || n > uint64(p.Size-8) {
		return false
	}
	// JSON whitespace before the object is valid to serde_json (see Read).
	i := 8
	for i < len(p.Head) && i < 8+int(min(n, 64)) && isJSONSpace(p.Head[i]) {
		i++
	}
	if i+1 >= len(p.Head) || p.Head[i] != '{' {
		return false
	}
	switch p.Head[i+1] {
	case '"', '}', ' ', '\n', '\r', '\t':
		return true
	}
	return false
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	h := Read(r, size, func(rule string, sev formats.Severity, member string, off int64, format string, args ...any) {
		s.Report(formats.Finding{Rule: rule, Severity: sev, Member: member, Offset: off, Message: fmt.Sprintf(format, args...)})
	})
	s.Detail("header_bytes", strconv.FormatUint(h.N, 10))
	s.Detail("tensors", strconv.Itoa(len(h.Tensors)))
	dtypes := map[string]int{}
	var params uint64
	overflow := false
	for _, t := range h.Tensors {
		dtypes[t.Dtype]++
		if p := params + t.Elements; p < params {
			overflow = true
		} else {
			params = p
		}
	}
	if len(dtypes) > 0 {
		names := make([]string, 0, len(dtypes))
		for d, n := range dtypes {
			names = append(names, fmt.Sprintf("%s:%d", d, n))
		}
		sort.Strings(names)
		s.Detail("dtypes", strings.Join(names, ","))
	}
	if overflow {
		s.Detail("parameters", "overflow")
	} else {
		s.Detail("parameters", strconv.FormatUint(params, 10))
	}
	if f := h.Metadata["format"]; f != "" {
		s.Detail("metadata_format", truncate(f))
	}
	// __metadata__ is free text that tools read back (trainers' settings,
	// modelspec.*, a chat template some runtimes take from it). A value
	// under a template key is checked as a template; any other value only
	// when it carries Jinja markers, keeping High and Critical findings
	// (an escape payload is an attack wherever it sits).
	keys := make([]string, 0, len(h.Metadata))
	for k := range h.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		template.ReportValue(s, "__metadata__/"+k, k, h.Metadata[k])
	}
}
