package hydra

import (
	"fmt"

	"github.com/modelvet/modelvet/formats"
)

// ReportTarget judges the value of one target key and reports it. member
// locates the key ("encoder/_target_"); key is "_target_" or "class_path".
// It returns the verdict so callers can count what they saw.
func ReportTarget(s *formats.Scope, member, key, value string, offset int64) Verdict {
	return reportTarget(s, member, key, value, offset, false)
}

// reportTarget is ReportTarget; ref says the target is only located, not
// called (a sibling "_call_: false").
func reportTarget(s *formats.Scope, member, key, value string, offset int64, ref bool) Verdict {
	v := Judge(value, s.Options())
	switch {
	case ref:
		v = JudgeReference(value, s.Options())
	case key == "!new:":
		v = JudgeClass(value, s.Options())
	}
	shown := value
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	f := formats.Finding{Member: member, Offset: offset}
	switch v {
	case Dangerous:
		// Attack class: instantiation of a callable that runs commands,
		// evaluates code, imports, or touches files or the network
		// (os.system, subprocess.*, builtins.eval, timeit.timeit, and
		// every alias that reaches them: os.path.os.system...).
		f.Rule, f.Severity = "hydra/dangerous-target", formats.Critical
		f.Message = fmt.Sprintf("%s %q resolves to a callable that runs commands, evaluates code, imports modules or touches files or the network; hydra.utils.instantiate (NeMo restore, LightningCLI, HyperPyYAML) calls it while the model loads", key, shown)
	case Computed:
		// Attack class: a target computed at load time (OmegaConf
		// interpolation or resolver) cannot be judged from the file.
		f.Rule, f.Severity = "hydra/computed-target", formats.High
		f.Message = fmt.Sprintf("%s %q is an interpolation or resolver; what the loader would import is decided at load time and cannot be shown safe", key, shown)
	case Invalid, Bare:
		// Not an attack by itself: an unresolvable name makes the
		// loader fail before importing anything, and a single name only
		// imports an installed top-level module (denied ones are
		// critical above). Reported so a reviewer sees it.
		f.Rule, f.Severity = "hydra/unresolved-target", formats.Medium
		f.Message = fmt.Sprintf("%s %q is not a dotted path to a class; Hydra cannot instantiate it (at most it imports an installed module of that name), but a custom loader may read it differently", key, shown)
	case Unknown:
		// Attack class: instantiation of code outside the known model
		// libraries: whatever that callable does runs at load time.
		f.Rule, f.Severity = "hydra/unknown-target", formats.High
		if s.Options().Profile == formats.Permissive {
			f.Severity = formats.Medium
		}
		f.Message = fmt.Sprintf("%s %q is not a known model class (torch.nn, NeMo, transformers...); the loader imports and calls it, so loading runs that code. Review it before loading", key, shown)
	default:
		return v
	}
	s.Report(f)
	return v
}
