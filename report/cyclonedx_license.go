package report

import (
	"net/url"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Licences in the ML-BOM come from the details the analyzers record under
// license, license_name and license_link: a model card's front matter
// (formats/modelcard), a JSON config's top-level keys, GGUF's
// general.license*. An id the SPDX list knows (matched without case, as
// SPDX ids are: the Hub writes "apache-2.0") becomes license.id in its
// canonical spelling; anything else ("llama3", "other" with a
// license_name) is a named licence. All are "declared": the model's
// authors say so, nobody concluded it.

var spdxByLower = func() map[string]string {
	m := make(map[string]string, len(spdxIDs))
	for _, id := range spdxIDs {
		m[strings.ToLower(id)] = id
	}
	return m
}()

// SPDXID returns the canonical SPDX identifier for s, or "".
func SPDXID(s string) string { return spdxByLower[strings.ToLower(strings.TrimSpace(s))] }

// licensesOf reads one file's licence details.
func licensesOf(d map[string]string) []cdx.LicenseChoice {
	var out []cdx.LicenseChoice
	add := func(l cdx.License) {
		l.Acknowledgement = cdx.LicenseAcknowledgementDeclared
		out = append(out, cdx.LicenseChoice{License: &l})
	}
	name, link := d["license_name"], d["license_link"]
	other := false
	for _, v := range strings.Split(d["license"], ", ") {
		v = strings.TrimSpace(v)
		switch lv := strings.ToLower(v); {
		case v == "":
		case lv == "other":
			other = true
		case lv == "unknown":
			// Says nothing; the detail stays a property.
		case SPDXID(v) != "":
			add(cdx.License{ID: SPDXID(v)})
		default:
			add(cdx.License{Name: v})
		}
	}
	if name != "" {
		if id := SPDXID(name); id != "" {
			add(cdx.License{ID: id})
		} else {
			add(cdx.License{Name: name})
		}
	} else if other {
		add(cdx.License{Name: "other (see the model card)"})
	}
	if link = iriOrEmpty(link); link != "" && len(out) > 0 {
		// The link belongs to the licence the card names itself (the
		// last added), or to its only one.
		out[len(out)-1].License.URL = link
	}
	return out
}

// iriOrEmpty keeps a link the schema's iri-reference format accepts:
// parseable, with no spaces, controls or characters URLs must escape.
func iriOrEmpty(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\\<>\"{}|^`") {
		return ""
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	if _, err := url.Parse(s); err != nil {
		return ""
	}
	return s
}

// mergeLicenses adds ls to into, once each.
func mergeLicenses(into []cdx.LicenseChoice, ls []cdx.LicenseChoice) []cdx.LicenseChoice {
	for _, l := range ls {
		dup := false
		for _, x := range into {
			if x.License.ID == l.License.ID && x.License.Name == l.License.Name {
				dup = true
				break
			}
		}
		if !dup {
			into = append(into, l)
		}
	}
	return into
}
