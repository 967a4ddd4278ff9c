// Package nemo recognizes NVIDIA NeMo checkpoints (.nemo): a tar, plain or
// gzip-compressed (the gzip layer is inflated by the compressed-stream
// analyzer before the tar is seen), holding model_config.yaml, which NeMo
// restores with OmegaConf and hydra.utils.instantiate, and
// model_weights.ckpt, a torch.save checkpoint, plus the tokenizer and other
// artifacts the config names as "nemo:<file>".
//
// The members are scanned as what they are: the config by the hydra
// package (every _target_ judged), the weights by the PyTorch analyzer.
// This package adds what only the layout says.
package nemo

import (
	"path"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

func init() {
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "nemo",
		Kinds:    []string{"tar"},
		Priority: 30,
		Match:    func(a *archive.Archive) bool { return find(a, "model_config.yaml") != nil },
		Analyze:  analyze,
	})
}

// find returns the member at the archive's root with that name; NeMo
// writes "./model_config.yaml", older versions "model_config.yaml".
func find(a *archive.Archive, name string) *archive.Member {
	for _, m := range a.Members {
		if !m.IsDir && !m.IsLink && path.Clean(strings.TrimPrefix(m.Name, "./")) == name {
			return m
		}
	}
	return nil
}

func analyze(s *formats.Scope, a *archive.Archive) {
	s.SetFormat("nemo")
	if find(a, "model_weights.ckpt") == nil {
		// A config-only archive is legal (NeMo restores weights from a
		// sharded folder or not at all); say so for the report.
		s.Detail("nemo", "no model_weights.ckpt: config and artifacts only")
	}
	// NeMo extracts the whole archive and opens links it finds there;
	// the archive reader has judged link targets. Every file member is
	// scanned: model_config.yaml as a Hydra config, model_weights.ckpt as
	// PyTorch, nested .nemo files of multi-model checkpoints recursively.
	archive.ScanMembers(s, a)
}
