// Package openvino reads OpenVINO IR models: an .xml graph (<net>) and the
// .bin of raw weights beside it, which Const layers address by offset and
// size. The IR names operations by type and opset; an operation from an
// opset OpenVINO does not ship is a custom operation, which only runs when
// the application loads the native extension library that implements it
// (core.add_extension): the model then depends on native code that is not
// in the file. GPU custom-layer configs (<CustomLayer>) carry OpenCL kernel
// sources that the plugin compiles and runs: code in the model folder.
package openvino

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/internal/sidecar"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "openvino",
		Extensions: []string{".xml"},
		Priority:   8,
		Sniff:      sniff,
		Analyze:    analyze,
	})
	// openvino/weights-file (info): names the .bin an IR beside it reads,
	// so a folder scan does not call it unrecognized.
	formats.Register(sidecar.Data("openvino-weights", []string{".bin"}, weights.Claims, "openvino/weights-file",
		"the raw weights of the OpenVINO IR .xml beside it (%d bytes); the .xml's analyzer checks that every Const stays inside it"))
}

// weights claims x.bin when x.xml beside it is an IR (OpenVINO's reader
// takes the weights from the .bin with the .xml's stem unless told
// otherwise).
var weights = sidecar.New(
	func(name string) bool { return strings.EqualFold(filepath.Ext(name), ".xml") },
	func(opts *formats.Options, path string, size int64) []string {
		f, err := opts.OpenFile(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		head := make([]byte, formats.HeadSize)
		n, _ := f.ReadAt(head, 0)
		if !isIR(head[:n]) {
			return nil
		}
		return []string{strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ".bin"}
	})

// rootElement returns the document from its first element on, after the
// XML declaration, comments and white space: a file is an IR when its root
// is <net>, not when "<net" appears somewhere (EAGLE schematics have
// <net name=...> elements too).
func rootElement(head []byte) []byte {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	for {
		h = bytes.TrimLeft(h, " \t\r\n")
		switch {
		case bytes.HasPrefix(h, []byte("<?")):
			i := bytes.Index(h, []byte("?>"))
			if i < 0 {
				return nil
			}
			h = h[i+2:]
		case bytes.HasPrefix(h, []byte("<!--")):
			i := bytes.Index(h, []byte("-->"))
			if i < 0 {
				return nil
			}
			h = h[i+3:]
		case bytes.HasPrefix(h, []byte("<!DOCTYPE")):
			// Skipped to find the root; the analyzer reports it.
			end := []byte(">")
			if i, j := bytes.IndexByte(h, '['), bytes.IndexByte(h, '>'); i >= 0 && (j < 0 || i < j) {
				end = []byte("]>")
			}
			i := bytes.Index(h, end)
			if i < 0 {
				return nil
			}
			h = h[i+len(end):]
		default:
			return h
		}
	}
}

func hasRoot(head []byte, name string) bool {
	h := rootElement(head)
	if !bytes.HasPrefix(h, []byte("<"+name)) || len(h) <= len(name)+1 {
		return false
	}
	c := h[len(name)+1]
	return c == ' ' || c == '>' || c == '\t' || c == '\r' || c == '\n'
}

func isIR(head []byte) bool { return hasRoot(head, "net") }

func isCustomLayerConfig(head []byte) bool { return hasRoot(head, "CustomLayer") }

func sniff(p *formats.Probe) bool { return isIR(p.Head) || isCustomLayerConfig(p.Head) }

// Bounds on what one .xml may make the reader do.
const (
	maxXML     = 1 << 30
	maxDepth   = 256
	maxTokens  = 50_000_000
	maxPerRule = 25
)

// standardOpset matches the opsets OpenVINO ships ("opset1" ... "opset16")
// and the internal ones its own transformations write into IR.
var standardOpset = regexp.MustCompile(`^(opset[0-9]{1,3}|experimental|internal|ie_internal_opset|type_relaxed_opset)$`)

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("openvino")
	if size > maxXML {
		// openvino/too-large: an .xml past the read cap is not shown safe.
		s.Reportf("openvino/too-large", formats.Medium, formats.NoOffset, "the .xml is %d bytes, more than the %d modelvet reads; it was not checked", size, maxXML)
		return
	}
	binSize := int64(-1)
	if s.OnDisk() {
		bin := strings.TrimSuffix(s.Path(), filepath.Ext(s.Path())) + ".bin"
		// The size of the file the check hashes (the scan's opener); a
		// .bin linked out of the folder (fs/symlink-escape) is not opened.
		real, err1 := filepath.EvalSymlinks(bin)
		root, err2 := filepath.EvalSymlinks(formats.ContainmentRoot(filepath.Dir(s.Path())))
		if err1 == nil && err2 == nil && formats.Within(root, real) {
			if fi, err := s.Options().StatFile(bin); err == nil {
				binSize = fi.Size()
			}
		}
	}
	dec := xml.NewDecoder(io.NewSectionReader(r, 0, size))
	dec.Strict = true
	depth, tokens, layers, custom := 0, 0, 0, 0
	capped := &formats.PerRule{S: s, Max: maxPerRule}
	report := capped.Reportf
	var layerName, layerType string
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			// openvino/malformed: XML readers disagree on broken documents
			// (pugixml, which OpenVINO uses, recovers from some errors).
			report("openvino/malformed", formats.High, off, "the XML does not parse (%v); what follows was not checked", err)
			break
		}
		if tokens++; tokens > maxTokens {
			report("openvino/malformed", formats.High, off, "more than %d XML tokens", maxTokens)
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxDepth {
				report("openvino/malformed", formats.High, off, "elements nest more than %d deep", maxDepth)
				return
			}
			if a, ok := duplicateAttr(t); ok {
				// Attack class: an XML parser differential. encoding/xml and
				// pugixml (OpenVINO's reader) accept an element naming one
				// attribute twice, and readers differ on which value wins: a
				// layer could be "Const of opset1" here and an extension
				// op there. Well-formed XML forbids it (XML 1.0, 3.1).
				report("openvino/malformed", formats.High, off,
					"element <%s> gives the attribute %q twice; XML forbids it and readers disagree on which value counts", t.Name.Local, a)
			}
			switch t.Name.Local {
			case "layer":
				layers++
				layerName, layerType = attr(t, "name"), attr(t, "type")
				if why := customOp(layerType, attr(t, "version")); why != "" {
					custom++
					// openvino/custom-layer: the operation comes from an
					// extension library (native code) the application must
					// load; the model is not self-contained and names code
					// that is not in the file.
					report("openvino/custom-layer", formats.Medium, off,
						"layer %q has type %q %s: it only runs with a native extension library loaded by the application", layerName, layerType, why)
				}
			case "data":
				if layerType == "Const" && binSize >= 0 {
					o, err1 := strconv.ParseInt(attr(t, "offset"), 10, 64)
					n, err2 := strconv.ParseInt(attr(t, "size"), 10, 64)
					if err1 != nil || err2 != nil || o < 0 || n < 0 || o > binSize || n > binSize-o {
						// openvino/weights-out-of-range: a Const reading past
						// the weights file (or with a size that is no number)
						// is a truncated or forged model.
						report("openvino/weights-out-of-range", formats.High, off,
							"Const layer %q reads offset %q size %q of a %d-byte weights file", layerName, attr(t, "offset"), attr(t, "size"), binSize)
					}
				}
			case "CustomLayer":
				// openvino/custom-kernel: a GPU custom-layer config makes the
				// plugin compile and run the OpenCL source it names.
				report("openvino/custom-kernel", formats.High, off,
					"a GPU custom layer %q: the plugin compiles and runs its OpenCL kernel source on the device", attr(t, "name"))
			case "Source":
				if f := attr(t, "filename"); f != "" {
					report("openvino/custom-kernel", formats.High, off, "kernel source file %q is compiled and run by the GPU plugin", f)
				}
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			// openvino/xml-directive: a DTD can define entities that
			// pugixml and other readers expand differently.
			report("openvino/xml-directive", formats.Medium, off, "the XML has a directive (%.60s); OpenVINO IR has none and readers treat entities differently", string(t))
		}
	}
	capped.Close()
	s.Detail("layers", strconv.Itoa(layers))
	if custom > 0 {
		s.Detail("custom_layers", strconv.Itoa(custom))
	}
	if binSize < 0 {
		s.Detail("weights_unverified", fmt.Sprintf("no .bin beside the .xml%s; Const ranges were not checked", map[bool]string{true: "", false: " (not a file on disk)"}[s.OnDisk()]))
	}
}

// customOp says why a layer's operation is not one OpenVINO ships, or "".
// Versions of OpenVINO's own internal opsets (written by its
// transformations) are trusted by name; a standard opset must define the
// type, which it does from the opset that introduced it on (see ops.go).
func customOp(typ, version string) string {
	intro := introducedIn(typ)
	switch {
	case version == "":
		if intro > 0 {
			return ""
		}
		return "with no opset version, which no standard opset defines"
	case !standardOpset.MatchString(version):
		return fmt.Sprintf("from the opset %q, which OpenVINO does not ship", version)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(version, "opset"))
	switch {
	case err != nil:
		return "" // an internal opset
	case intro > 0 && n >= intro:
		return ""
	case intro > 0:
		return fmt.Sprintf("under the standard opset %q, older than opset%d where %s first appears (an extension re-registering a standard operation under an opset that lacks it)", version, intro, typ)
	case n > lastKnownOpset:
		return "" // newer than the table: may be a standard op it predates
	}
	return fmt.Sprintf("under the standard opset %q, which has no such operation (an extension registered under a standard opset name)", version)
}

// duplicateAttr returns an attribute name e gives twice.
func duplicateAttr(e xml.StartElement) (string, bool) {
	for i := 1; i < len(e.Attr); i++ {
		for j := 0; j < i; j++ {
			if e.Attr[i].Name == e.Attr[j].Name {
				return e.Attr[i].Name.Local, true
			}
		}
	}
	return "", false
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
