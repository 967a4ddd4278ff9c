package keras

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/protowalk"
)

// TensorFlow loads a SavedModel from saved_model.pbtxt (protobuf text
// format) when saved_model.pb is absent (loader_impl.parse_saved_model),
// and frozen graphs are often kept as .pbtxt. Attack class: the same
// PyFunc / file / network ops as in a binary graph, in a file a scanner
// that only reads binary protobuf skips. This reader tokenizes the text
// format (never evaluating anything), follows the message nesting, and
// judges every NodeDef ("node", "node_def") by the same rules as the
// binary reader, and every "metadata" string holding JSON (Keras layer
// metadata of the object graph) as a Keras config.

const (
	maxPbtxt       = 256 << 20
	maxPbtxtTokens = 50_000_000
)

func analyzePbtxt(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("tf-savedmodel")
	if size > maxPbtxt {
		s.Reportf("tf/malformed", formats.Medium, formats.NoOffset, "the text graph is %d bytes, more than the %d modelvet reads; it was not checked", size, maxPbtxt)
		return
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		s.Reportf("formats/read-error", formats.High, 0, "cannot read the file: %v", err)
		return
	}
	w := &tfWalker{s: s, win: protowalk.NewWindow(r, size), hits: map[string]*opHit{}, doc: "saved_model.pbtxt"}
	p := &pbtxt{b: b, w: w}
	if err := p.message(0, "graph", ""); err == nil && p.pos < len(p.b) {
		p.fail("unexpected %q", p.b[p.pos])
	}
	if p.err != nil {
		// Text format readers agree only on well-formed input; a
		// saved_model.pbtxt TensorFlow would load must parse.
		s.Reportf("tf/malformed", formats.High, int64(p.errOff), "the text-format protobuf does not parse (%s); TensorFlow would reject or misread it, and what follows was not checked", p.err)
	}
	w.finish()
	s.Detail("tf_nodes", strconv.Itoa(w.nodes))
}

type pbtxt struct {
	b      []byte
	pos    int
	tokens int
	w      *tfWalker
	err    error
	errOff int
	// asset is the nesting depth inside an asset_file_def (0: outside);
	// fn is the FunctionDef whose nodes are being read ("" outside one).
	asset int
	fn    string
	inSig bool
}

func (p *pbtxt) fail(format string, args ...any) error {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
		p.errOff = p.pos
	}
	return p.err
}

// skip passes whitespace and # comments.
func (p *pbtxt) skip() {
	for p.pos < len(p.b) {
		switch c := p.b[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			p.pos++
		case c == '#':
			for p.pos < len(p.b) && p.b[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func identByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '+' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// word reads a field name or bare scalar ([ext.name] extension names too).
func (p *pbtxt) word() string {
	start := p.pos
	if p.pos < len(p.b) && p.b[p.pos] == '[' {
		for p.pos < len(p.b) && p.b[p.pos] != ']' {
			p.pos++
		}
		if p.pos < len(p.b) {
			p.pos++
		}
		return string(p.b[start:p.pos])
	}
	for p.pos < len(p.b) && identByte(p.b[p.pos]) {
		p.pos++
	}
	return string(p.b[start:p.pos])
}

// str reads one or more adjacent quoted strings, decoding C escapes.
func (p *pbtxt) str() (string, error) {
	var sb strings.Builder
	for {
		q := p.b[p.pos]
		p.pos++
		for {
			if p.pos >= len(p.b) || p.b[p.pos] == '\n' {
				return "", p.fail("unterminated string")
			}
			c := p.b[p.pos]
			p.pos++
			if c == q {
				break
			}
			if c != '\\' {
				sb.WriteByte(c)
				continue
			}
			if p.pos >= len(p.b) {
				return "", p.fail("unterminated string")
			}
			e := p.b[p.pos]
			p.pos++
			switch e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case 'a', 'b', 'f', 'v':
				sb.WriteByte(map[byte]byte{'a': 7, 'b': 8, 'f': 12, 'v': 11}[e])
			case 'x', 'X':
				n, v := 0, 0
				for n < 2 && p.pos < len(p.b) && isHex(p.b[p.pos]) {
					v = v*16 + hexVal(p.b[p.pos])
					p.pos++
					n++
				}
				if n == 0 {
					return "", p.fail("bad \\x escape")
				}
				sb.WriteByte(byte(v))
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v, n := int(e-'0'), 1
				for n < 3 && p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '7' {
					v = v*8 + int(p.b[p.pos]-'0')
					p.pos++
					n++
				}
				sb.WriteByte(byte(v))
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if p.pos+n > len(p.b) {
					return "", p.fail("bad \\%c escape", e)
				}
				v, err := strconv.ParseUint(string(p.b[p.pos:p.pos+n]), 16, 32)
				if err != nil {
					return "", p.fail("bad \\%c escape", e)
				}
				sb.WriteRune(rune(v))
				p.pos += n
			default:
				sb.WriteByte(e) // \\ \' \" \?
			}
		}
		p.skip()
		if p.pos >= len(p.b) || (p.b[p.pos] != '"' && p.b[p.pos] != '\'') {
			return sb.String(), nil
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// node collects what judgeNode needs from one NodeDef message.
type pbNode struct {
	name, op string
	strs     []string
}

// message reads fields until close ("" = end of input, else "}" or ">").
// field is the name of the field holding this message; node is non-nil
// while inside a NodeDef.
func (p *pbtxt) message(depth int, field, close string) error {
	return p.messageIn(depth, field, close, nil)
}

func (p *pbtxt) messageIn(depth int, field, close string, node *pbNode) error {
	if depth > tfMaxDepth {
		return p.fail("messages nest more than %d deep", tfMaxDepth)
	}
	start := p.pos
	var own *pbNode
	if field == "node" || field == "node_def" {
		own = &pbNode{}
		node = own
		p.w.nodes++
	}
	// Context the binary reader has from field numbers: asset file names
	// (asset_file_def.filename, the known gap of the text form) and the
	// function whose nodes follow (signature.name).
	switch field {
	case "asset_file_def":
		p.asset++
		defer func() { p.asset-- }()
	case "signature":
		p.inSig = true
		defer func() { p.inSig = false }()
	case "function":
		defer func() { p.fn = "" }()
	}
	for {
		p.skip()
		if p.pos >= len(p.b) {
			if close != "" {
				return p.fail("missing %q", close)
			}
			break
		}
		if close != "" && string(p.b[p.pos]) == close {
			p.pos++
			break
		}
		if p.tokens++; p.tokens > maxPbtxtTokens {
			return p.fail("more than %d fields", maxPbtxtTokens)
		}
		name := p.word()
		if name == "" {
			return p.fail("expected a field name, found %q", p.b[p.pos])
		}
		p.skip()
		colon := false
		if p.pos < len(p.b) && p.b[p.pos] == ':' {
			colon = true
			p.pos++
			p.skip()
		}
		if p.pos >= len(p.b) {
			return p.fail("field %q has no value", name)
		}
		if err := p.value(depth, name, colon, own, node); err != nil {
			return err
		}
		p.skip()
		if p.pos < len(p.b) && (p.b[p.pos] == ',' || p.b[p.pos] == ';') {
			p.pos++
		}
	}
	if own != nil {
		where := "graph"
		if p.fn != "" {
			where = "function " + p.fn
		}
		p.w.judgeNode(own.name, own.op, own.strs, int64(start), where)
	}
	return nil
}

// value reads one field value: a message, a list, a string or a scalar.
func (p *pbtxt) value(depth int, name string, colon bool, own, node *pbNode) error {
	switch c := p.b[p.pos]; {
	case c == '{' || c == '<':
		p.pos++
		cl := "}"
		if c == '<' {
			cl = ">"
		}
		return p.messageIn(depth+1, name, cl, node)
	case c == '[' && colon:
		p.pos++
		for {
			p.skip()
			if p.pos >= len(p.b) {
				return p.fail("unterminated list")
			}
			if p.b[p.pos] == ']' {
				p.pos++
				return nil
			}
			if err := p.value(depth, name, true, own, node); err != nil {
				return err
			}
			p.skip()
			if p.pos < len(p.b) && p.b[p.pos] == ',' {
				p.pos++
			}
		}
	case c == '"' || c == '\'':
		v, err := p.str()
		if err != nil {
			return err
		}
		p.scalar(name, v, own, node)
		return nil
	default:
		if !colon {
			return p.fail("field %q needs ':' before a scalar", name)
		}
		v := p.word()
		if v == "" {
			return p.fail("field %q has no value", name)
		}
		p.scalar(name, v, own, node)
		return nil
	}
}

func (p *pbtxt) scalar(name, v string, own, node *pbNode) {
	switch {
	case p.asset > 0 && name == "filename":
		p.w.checkAssetName(v, int64(p.pos))
	case p.inSig && own == nil && name == "name":
		p.fn = v
	case own != nil && name == "name":
		own.name = v
	case own != nil && name == "op":
		own.op = v
	case node != nil && name == "s" && len(node.strs) < 64:
		node.strs = append(node.strs, v) // AttrValue.s and list.s
	case name == "metadata" && strings.HasPrefix(strings.TrimSpace(v), "{") && p.w.conf < maxTFConfigs:
		p.w.conf++
		scanConfig(p.w.s, fmt.Sprintf("metadata@%d", p.pos), []byte(v))
	}
}
