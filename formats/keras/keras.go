// Package keras reads Keras models without building them: Keras 3 .keras
// archives (a zip flavor), Keras 2 HDF5 files (.h5/.hdf5, with a small
// bounded HDF5 reader of its own) and TensorFlow SavedModels
// (saved_model.pb, keras_metadata.pb). The model configs are walked for
// Lambda code, modules Keras would import, and hidden payloads; SavedModel
// graphs for operations that run Python or touch files.
package keras

import (
	"bytes"
	"fmt"
	"io"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/archive"
)

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "keras-h5",
		Extensions: []string{".h5", ".hdf5"},
		Priority:   30,
		Sniff:      sniffH5,
		Analyze:    analyzeH5,
	})
	archive.RegisterFlavor(&archive.Flavor{
		Name:     "keras",
		Kinds:    []string{"zip"},
		Priority: 20,
		Match:    matchKeras,
		Analyze:  analyzeKeras,
	})
	formats.Register(&formats.Analyzer{
		Name:       "tf-savedmodel",
		Extensions: []string{".pb"},
		// Above onnx (20): a SavedModel starts with field 1 varint and
		// field 2 bytes, which a loose ONNX sniff could take for
		// ir_version and producer_name. This sniff only claims .pb names.
		Priority: 25,
		Sniff:    sniffSavedModel,
		Analyze:  analyzeSavedModel,
	})
	// saved_model.pbtxt and text GraphDefs (formats/keras/pbtxt.go).
	formats.Register(&formats.Analyzer{
		Name:       "tf-pbtxt",
		Extensions: []string{".pbtxt"},
		Priority:   25,
		Sniff:      func(p *formats.Probe) bool { return p.Ext() == ".pbtxt" },
		Analyze:    analyzePbtxt,
	})
}

// sniffH5 finds the HDF5 signature at 0 or at a user-block offset inside
// the probe's head (the library looks at 0, 512, 1024, 2048...).
func sniffH5(p *formats.Probe) bool {
	for _, at := range []int{0, 512, 1024, 2048} {
		if len(p.Head) >= at+8 && bytes.Equal(p.Head[at:at+8], hdf5Magic) {
			return true
		}
	}
	return false
}

// analyzeH5 reads the root group's attributes of an HDF5 file. Keras 2
// keeps the model architecture in model_config (and the compile settings
// in training_config), both JSON strings that Keras deserializes on load.
func analyzeH5(s *formats.Scope, r io.ReaderAt, size int64) {
	s.SetFormat("keras-h5")
	unreadable := func(why string) {
		s.Reportf("keras/h5-unreadable", formats.Medium, formats.NoOffset,
			"could not read the model config (%s); Lambda layers and custom objects cannot be ruled out", why)
	}
	h, root, err := openHDF5(r, size)
	if err != nil {
		unreadable(err.Error())
		return
	}
	res, err := h.rootAttributes(root)
	if err != nil {
		unreadable(err.Error())
		return
	}
	refs, problems := h.walkRefs(root)
	for _, ref := range refs {
		// Attack class: weights read from a file outside the model (see
		// hdf5refs.go): a local secret, another model, or an SMB share.
		s.Reportf("keras/h5-external-reference", formats.High, ref.off,
			"the HDF5 file has %s %s: h5py reads its data from another file when Keras loads the weights; Keras never writes one", ref.kind, ref.what)
	}
	if len(problems) > 0 {
		s.Reportf("keras/h5-unreadable", formats.Medium, formats.NoOffset,
			"could not visit every group of the HDF5 file (%s); a link or dataset reading another file cannot be ruled out", problems[0])
	}
	seen := map[string]int{}
	for _, a := range res.attrs {
		switch a.name {
		case "model_config", "training_config":
			seen[a.name]++
			if seen[a.name] == 2 {
				// Attack class: two readers picking different copies.
				s.Reportf("keras/ambiguous", formats.High, a.off,
					"the root group has more than one %s attribute; HDF5 readers may pick different ones", a.name)
			}
			if a.err != nil {
				unreadable(a.err.Error())
				continue
			}
			if !a.str {
				unreadable(fmt.Sprintf("%s is not a string", a.name))
				continue
			}
			scanConfig(s, a.name, a.value)
		case "keras_version", "backend":
			if a.err == nil && a.str && len(a.value) < 64 {
				s.Detail(a.name, string(a.value))
			}
		}
	}
	if seen["model_config"] == 0 {
		if len(res.problems) > 0 {
			unreadable(res.problems[0])
			return
		}
		if s.TopLevel() {
			s.Reportf("keras/h5-data", formats.Info, formats.NoOffset,
				"HDF5 file without a model_config attribute: arrays only, nothing Keras would build from it")
		}
	}
}

// matchKeras recognizes a Keras 3 archive by its fixed members.
// Without metadata.json or weights, a root config.json whose top level is
// a Keras object ({"class_name": ..., "config": {...}}) still makes it one:
// Keras loads such an archive, so it must be read as Keras.
func matchKeras(a *archive.Archive) bool {
	cfg := a.Find("config.json")
	if cfg == nil {
		return false
	}
	if a.Find("metadata.json") != nil || a.Find("model.weights.h5") != nil {
		return true
	}
	if cfg.Size > 1<<20 {
		return false
	}
	r, size, err := a.Open(cfg)
	if err != nil || size > 1<<20 {
		return false
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && err != io.EOF {
		return false
	}
	v, err := parseJSON(data)
	if err != nil {
		return false
	}
	o, ok := v.(jsonObject)
	if !ok || o.str("class_name") == "" {
		return false
	}
	_, hasConfig := o.get("config")
	return hasConfig
}

const maxConfigSize = 64 << 20

// analyzeKeras checks a .keras zip: config.json is walked, the weights
// file and every other member are sniffed and scanned as what they are.
func analyzeKeras(s *formats.Scope, a *archive.Archive) {
	s.SetFormat("keras")
	count := map[string]int{}
	for _, m := range a.Members {
		count[m.Name]++
	}
	for _, name := range []string{"config.json", "metadata.json", "model.weights.h5"} {
		if count[name] > 1 {
			// Attack class: zip readers disagree on which duplicate wins.
			s.Reportf("keras/ambiguous", formats.High, formats.NoOffset,
				"the archive holds %d members named %s; Keras and this scanner could read different ones", count[name], name)
		}
	}
	for _, m := range a.Members {
		if m.IsDir {
			continue
		}
		r, size, err := a.Open(m)
		if err != nil {
			s.Reportf("keras/member-unreadable", formats.High, formats.NoOffset,
				"member %s cannot be read (%v); it cannot be shown safe", m.Name, err)
			continue
		}
		switch m.Name {
		case "config.json":
			if size > maxConfigSize {
				s.Reportf("keras/config-unreadable", formats.High, formats.NoOffset,
					"config.json is %d bytes, over the %d-byte limit; it was not checked", size, maxConfigSize)
				continue
			}
			data := make([]byte, size)
			if _, err := r.ReadAt(data, 0); err != nil && !(err == io.EOF) {
				s.Reportf("keras/member-unreadable", formats.High, formats.NoOffset, "config.json cannot be read: %v", err)
				continue
			}
			scanConfig(s, "config.json", data)
		case "metadata.json":
			if size <= 1<<20 {
				data := make([]byte, size)
				if _, err := r.ReadAt(data, 0); err == nil || err == io.EOF {
					if v, err := parseJSON(data); err == nil {
						if o, ok := v.(jsonObject); ok {
							if kv := o.str("keras_version"); kv != "" && len(kv) < 64 {
								s.Detail("keras_version", kv)
							}
						}
					}
				}
			}
		default:
			s.ScanMember(m.Name, r, size)
		}
	}
}
