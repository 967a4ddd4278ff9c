package template

import (
	"testing"
	"time"
)

func FuzzTemplate(f *testing.F) {
	for _, src := range realTemplates(f) {
		f.Add(src)
	}
	for _, c := range loadRedTeam2(f) {
		f.Add(c.Src)
	}
	for _, s := range []string{
		`{{ ''.__class__.__mro__[1].__subclasses__() }}`,
		`{{ x|attr('\x5f\x5fclass\x5f\x5f') }}`,
		`{% raw %}{{ a }}{% endraw %}`,
		`{{ {'a': {'b': 1}} }}`,
		`{# c #}{%- set x = '__cla' ~ 'ss__' -%}`,
		`${{ vars.AWS_REGION != '' && contains(github.ref, 'x') }}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		fs := Check(src)
		// the same text as a config string outside a template key
		// (ReportValue) must be judged as boundedly
		bare := checkBare(src)
		if d := time.Since(start); d > 2*time.Second && len(src) < 1<<16 {
			t.Fatalf("Check took %v on %d bytes", d, len(src))
		}
		for _, f := range append(fs, bare...) {
			if f.Offset < 0 || f.Offset > int64(len(src)) {
				t.Fatalf("offset %d outside the %d-byte template", f.Offset, len(src))
			}
		}
	})
}
