package report

import (
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/modelvet/modelvet/formats"
)

func init() { extraEncoders["html"] = WriteHTML }

// WriteHTML writes the report as one self-contained page: inline CSS, no
// script, no external resource (it is opened on air-gapped machines and
// attached to tickets). html/template escapes every value, and file names,
// messages and signer identities come from the model, i.e. from the
// attacker: a crafted tensor name must not become markup. The Content
// Security Policy forbids scripts and remote loads even if escaping failed.
func WriteHTML(w io.Writer, r *Report) error {
	return htmlPage.Execute(w, newHTMLView(r))
}

// htmlView is what the page shows, in the order people act on it: why,
// the findings, the other checks, then the files that were clean.
type htmlView struct {
	*Report
	Summary string
	Flagged []*htmlFile
	Clean   []*formats.FileResult
}

type htmlFile struct {
	*formats.FileResult
	Max      string
	Ignored  *Mark
	Findings []htmlFinding
}

type htmlFinding struct {
	formats.Finding
	Failing bool
	Mark    *Mark
}

func newHTMLView(r *Report) *htmlView {
	v := &htmlView{Report: r, Summary: r.SummaryLine()}
	for _, f := range r.Files {
		if len(f.Findings) == 0 {
			v.Clean = append(v.Clean, f)
			continue
		}
		hf := &htmlFile{FileResult: f}
		if m, ok := f.Max(); ok {
			hf.Max = m.String()
		}
		if m := r.markFor(f.Path, -1); m != nil && m.Index == -1 {
			hf.Ignored = m
		}
		for i, x := range f.Findings {
			m := r.markFor(f.Path, i)
			hf.Findings = append(hf.Findings, htmlFinding{Finding: x, Failing: x.Severity >= r.FailOn && m == nil, Mark: m})
		}
		sort.SliceStable(hf.Findings, func(i, j int) bool { return hf.Findings[i].Severity > hf.Findings[j].Severity })
		v.Flagged = append(v.Flagged, hf)
	}
	// The worst file first: a reader stops at the first screen.
	sort.SliceStable(v.Flagged, func(i, j int) bool {
		a, _ := v.Flagged[i].FileResult.Max()
		b, _ := v.Flagged[j].FileResult.Max()
		return a > b
	})
	return v
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelvet: {{.Verdict}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:78em;padding:0 1em;color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin:0 0 .3em}
h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1.2em 0 .3em}
.verdict{display:inline-block;padding:.2em .7em;border-radius:.3em;font-weight:700;letter-spacing:.05em}
.ok{background:#d6f5dd;color:#0b5d1e}.bad{background:#fbd9d9;color:#8a1010}
table{border-collapse:collapse;width:100%;margin:.4em 0;table-layout:auto}
th,td{text-align:left;vertical-align:top;padding:.3em .5em;border-bottom:1px solid #eee}
th{background:#f6f6f6}
code,.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.path,.msg{overflow-wrap:anywhere}
.where{overflow-wrap:break-word;max-width:22em}
code.rule{white-space:nowrap}
.sev{font-weight:600;text-transform:uppercase;font-size:.85em;white-space:nowrap}
.critical{color:#fff;background:#a00;padding:0 .3em;border-radius:.2em}.high{color:#b00}.medium{color:#a60}.low{color:#067}.info{color:#666}
.fail{background:#fff4f4}
.set{color:#666;text-decoration:line-through}
.muted{color:#666}
ul{margin:.2em 0 .2em 1.2em;padding:0}
summary{cursor:pointer}
</style>
</head>
<body>
<h1>modelvet report</h1>
<p>Verdict: <span id="verdict" class="verdict {{if .Passed}}ok{{else}}bad{{end}}">{{upper .Verdict}}</span></p>
<p id="summary" class="muted">{{.Summary}} &middot; {{.Tool}} {{.Version}}</p>
{{with .Reasons}}
<h2>Why</h2>
<table><tr><th>rule</th><th>policy entry</th><th>detail</th></tr>
{{range .}}<tr><td><code class="rule">{{.Rule}}</code></td><td><code>{{.Policy}}</code></td><td class="msg">{{.Detail}}</td></tr>
{{end}}</table>
{{end}}
<h2>Findings</h2>
{{range .Flagged}}
<h3 class="path">{{.Path}} <span class="muted">[{{.Format}}, {{.Max}}{{with .Ignored}}, {{.Kind}} by {{.Policy}}{{end}}]</span></h3>
{{if .SHA256}}<p class="muted">sha256 <code>{{.SHA256}}</code>, {{.Size}} bytes</p>{{end}}
<table><tr><th>severity</th><th>rule</th><th>where</th><th>message</th></tr>
{{range .Findings}}<tr{{if .Failing}} class="fail"{{end}}><td class="sev"><span class="{{.Severity}}">{{.Severity}}</span></td><td><code class="rule">{{.Rule}}</code></td><td class="where"><code>{{.Where}}</code></td><td class="msg{{if .Mark}} set{{end}}">{{.Message}}{{if .Import}} <code>{{.Import}}</code>{{end}}{{with .Mark}} <span class="muted">({{.Kind}} by {{.Policy}}{{with .Reason}}: {{.}}{{end}})</span>{{end}}</td></tr>
{{end}}</table>
{{else}}<p class="muted">no findings</p>
{{end}}
{{with .Sections}}
<h2>Checks</h2>
{{range .}}<p><b>{{.Name}}</b>: <span class="verdict {{if .OK}}ok{{else}}bad{{end}}">{{if .OK}}ok{{else}}failed{{end}}</span></p>
{{with .Lines}}<ul>{{range .}}<li class="msg">{{.}}</li>{{end}}</ul>{{end}}
{{end}}
{{end}}
{{with .Clean}}
<h2>Files with no findings</h2>
<details><summary>{{len .}} files</summary><ul>{{range .}}<li class="path">{{.Path}} <span class="muted">[{{.Format}}{{if .SHA256}}, sha256 {{.SHA256}}{{end}}]</span></li>{{end}}</ul></details>
{{else}}{{if not .Files}}<p class="muted">no files were scanned</p>{{end}}
{{end}}
</body>
</html>
`))
