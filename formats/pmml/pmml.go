// Package pmml reads PMML models (Predictive Model Markup Language, the
// XML that sklearn2pmml, R and Spark export and JPMML, PyPMML and Nyoka
// load). PMML runs no code; its risk is the XML reader: a DOCTYPE can
// declare external entities that Java XML parsers with default settings
// (older JPMML releases, PMML tools built on plain JAXB/DOM) resolve,
// reading local files or fetching URLs into the model (XXE), or expand
// without bound (billion laughs). PMML itself never needs a DOCTYPE.
package pmml

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"unicode"

	"github.com/modelvet/modelvet/formats"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "pmml",
		Extensions: []string{".pmml"},
		Priority:   9, // above the OpenVINO .xml sniffer (8): a PMML document is never IR
		Sniff:      sniff,
		Analyze:    analyze,
	})
}

const (
	maxJavaFuncs = 25        // pmml/java-function findings listed per file
	maxPMML      = 256 << 20 // large tree ensembles run to a few hundred MB
	maxTokens    = 50_000_000
	maxDepth     = 512
)

// sniff: a .pmml name, or an XML document whose root element is PMML.
func sniff(p *formats.Probe) bool {
	if p.Ext() == ".pmml" {
		return true
	}
	head := p.Head
	if !bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"), []byte("<")) {
		return false
	}
	return bytes.Contains(head, []byte("<PMML"))
}

func analyze(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("pmml")
	if size > maxPMML {
		s.Reportf("pmml/too-large", formats.Medium, formats.NoOffset, "the PMML file is %d bytes, more than the %d modelvet reads; it was not checked", size, maxPMML)
		return
	}
	dec := xml.NewDecoder(io.NewSectionReader(r, 0, size))
	dec.Strict = true
	// Entities stay unexpanded: an undefined one is a parse error, which
	// is reported, never resolved.
	depth, tokens, root := 0, 0, ""
	javaFuncs := 0
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			// pmml/malformed: XML readers disagree on broken documents,
			// and what follows the error was not checked.
			s.Reportf("pmml/malformed", formats.High, off, "the XML does not parse (%v); what follows was not checked", err)
			return
		}
		if tokens++; tokens > maxTokens {
			s.Reportf("pmml/malformed", formats.High, off, "more than %d XML tokens", maxTokens)
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = t.Name.Local
			}
			if depth++; depth > maxDepth {
				s.Reportf("pmml/malformed", formats.High, off, "elements nest more than %d deep", maxDepth)
				return
			}
			if t.Name.Local == "Apply" {
				if fn := attr(t, "function"); javaClassName(fn) && !jpmmlFunction(fn) && javaFuncs < maxJavaFuncs {
					javaFuncs++
					// pmml/java-function. Attack class: code named by the
					// model. JPMML-Evaluator resolves an Apply function that
					// is not built in by loading the class of that name from
					// the application's classpath and instantiating it
					// (FunctionRegistry.getFunction -> loadClass ->
					// newInstance): the file picks which Java code runs. It
					// cannot ship the class, hence Medium; PMML's built-in
					// functions never contain a dot.
					s.Reportf("pmml/java-function", formats.Medium, off,
						"Apply calls %q, a Java class name: JPMML loads and instantiates that class from the classpath to evaluate it (a user-defined function); the model depends on code outside it", fn)
				}
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			// pmml/xml-entity: a DOCTYPE or ENTITY declaration. Attack
			// class: XXE (SYSTEM/PUBLIC entities read files or URLs when a
			// Java loader resolves them) and entity expansion bombs.
			d := string(t)
			sev := formats.Medium
			if strings.Contains(d, "ENTITY") {
				sev = formats.High
			}
			s.Reportf("pmml/xml-entity", sev, off, "the PMML document has a DTD directive (%.80s); PMML needs none, and XML readers that resolve its entities read files or URLs (XXE) or expand without bound", d)
		}
	}
	if root != "PMML" {
		s.Reportf("pmml/malformed", formats.Medium, formats.NoOffset, "the root element is %q, not PMML; PMML loaders refuse it", root)
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// javaClassName reports whether name reads as a qualified Java class name
// (dot-separated identifiers), which is how JPMML names user functions.
func javaClassName(name string) bool {
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i, r := range p {
			if !(r == '_' || r == '$' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
				return false
			}
		}
	}
	return true
}

// jpmmlFunction reports a function of JPMML-Evaluator's own UDF package
// (org.jpmml.evaluator.functions: MeanFunction, StandardDeviationFunction,
// SplitFunction...), which ships with the evaluator and which JPMML's
// documentation has models call; it is code of the loader, not of the model.
func jpmmlFunction(name string) bool {
	rest, ok := strings.CutPrefix(name, "org.jpmml.evaluator.functions.")
	return ok && !strings.Contains(rest, ".")
}
