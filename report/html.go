package report

import (
	"html/template"
	"io"
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
	return htmlPage.Execute(w, r)
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"max": func(f *formats.FileResult) string {
		if m, ok := f.Max(); ok {
			return m.String()
		}
		return "ok"
	},
	"failing": func(r *Report, s formats.Severity) bool { return s >= r.FailOn },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelvet: {{.Verdict}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin:0 0 .3em}
h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:.2em .7em;border-radius:.3em;font-weight:700;letter-spacing:.05em}
.ok{background:#d6f5dd;color:#0b5d1e}.bad{background:#fbd9d9;color:#8a1010}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;vertical-align:top;padding:.3em .5em;border-bottom:1px solid #eee}
th{background:#f6f6f6}
code,.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}
.sev{font-weight:600;text-transform:uppercase;font-size:.85em}
.critical{color:#fff;background:#a00;padding:0 .3em;border-radius:.2em}.high{color:#b00}.medium{color:#a60}.low{color:#067}.info{color:#666}
.fail{background:#fff4f4}
.muted{color:#666}
ul{margin:.2em 0 .2em 1.2em;padding:0}
</style>
</head>
<body>
<h1>modelvet report</h1>
<p>Verdict: <span id="verdict" class="verdict {{if .Passed}}ok{{else}}bad{{end}}">{{upper .Verdict}}</span>
<span class="muted">&nbsp;{{.Summary.Files}} files, {{.Summary.Findings}} findings, {{.Summary.Failing}} at or above {{.FailOn}} &middot; {{.Tool}} {{.Version}}</span></p>
{{with .Reasons}}
<h2>Why</h2>
<table><tr><th>rule</th><th>policy entry</th><th>detail</th></tr>
{{range .}}<tr><td><code>{{.Rule}}</code></td><td><code>{{.Policy}}</code></td><td>{{.Detail}}</td></tr>
{{end}}</table>
{{end}}
{{with .Sections}}
<h2>Checks</h2>
{{range .}}<p><b>{{.Name}}</b>: <span class="verdict {{if .OK}}ok{{else}}bad{{end}}">{{if .OK}}ok{{else}}failed{{end}}</span></p>
{{with .Lines}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
{{end}}
<h2>Files</h2>
{{$r := .}}
{{range .Files}}
<h3 class="path">{{.Path}} <span class="muted">[{{.Format}}, {{max .}}]</span></h3>
{{if .SHA256}}<p class="muted">sha256 <code>{{.SHA256}}</code>, {{.Size}} bytes</p>{{end}}
{{if .Findings}}<table><tr><th>severity</th><th>rule</th><th>where</th><th>message</th></tr>
{{range .Findings}}<tr{{if failing $r .Severity}} class="fail"{{end}}><td class="sev {{.Severity}}">{{.Severity}}</td><td><code>{{.Rule}}</code></td><td><code>{{.Where}}</code></td><td>{{.Message}}{{if .Import}} <code>{{.Import}}</code>{{end}}</td></tr>
{{end}}</table>{{else}}<p class="muted">no findings</p>{{end}}
{{else}}<p class="muted">no files were scanned</p>
{{end}}
</body>
</html>
`))
