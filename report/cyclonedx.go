package report

import (
	"crypto/rand"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/modelvet/modelvet/formats"
)

// The ML-BOM: a CycloneDX 1.6 document of what was scanned. Each file is a
// component (machine-learning-model for weight and graph formats, data for
// configs, templates and other files) with its SHA-256 and the facts the
// analyzers recorded as properties; every finding is a vulnerability entry
// pointing at its component; the verdict and the policy outcome are
// properties of the BOM's metadata; licences the model card, configs and
// GGUF metadata declare are the components' and the model's
// (cyclonedx_license.go). Property names are modelvet:*, the
// namespace CycloneDX reserves for a tool's own taxonomy.

func init() {
	extraEncoders["cyclonedx"] = WriteCycloneDX
}

// modelFormats are the analyzer formats that hold a model (weights or a
// graph) rather than configuration or data around one.
var modelFormats = map[string]bool{
	"pytorch": true, "pytorch-legacy": true, "pytorch-tar": true, "torchscript": true, "pickle": true,
	"joblib": true, "numpy": true, "npz": true, "safetensors": true, "onnx": true, "gguf": true,
	"ggml": true, "keras": true, "keras-h5": true, "tf-savedmodel": true, "tflite": true, "tensorrt": true,
	"paddle": true, "flax-msgpack": true, "executorch": true, "ort": true, "xgboost": true, "lightgbm": true,
	"coreml": true, "skops": true, "openvino": true, "tfjs": true, "torchserve-mar": true, "nemo": true,
	"sharded-weights": true,
}

// WriteCycloneDX encodes the report as a CycloneDX 1.6 JSON ML-BOM.
func WriteCycloneDX(w io.Writer, r *Report) error {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.SerialNumber = "urn:uuid:" + uuid4()
	props := []cdx.Property{
		{Name: "modelvet:verdict", Value: r.Verdict},
		{Name: "modelvet:fail-on", Value: r.FailOn.String()},
		{Name: "modelvet:files", Value: strconv.Itoa(r.Summary.Files)},
		{Name: "modelvet:findings", Value: strconv.Itoa(r.Summary.Findings)},
	}
	for _, s := range r.Sections {
		props = append(props, cdx.Property{Name: "modelvet:check:" + s.Name, Value: okWord(s.OK)})
	}
	for _, re := range r.Reasons {
		props = append(props, cdx.Property{Name: "modelvet:reason", Value: re.Rule + ": " + re.Detail})
	}
	root := rootName(r)
	bom.Metadata = &cdx.Metadata{
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "modelvet", Version: r.Version,
		}}},
		Component: &cdx.Component{
			BOMRef: "model", Type: cdx.ComponentTypeMachineLearningModel, Name: root,
		},
		Properties: &props,
	}
	if purl := ociPURL(r); purl != "" {
		bom.Metadata.Component.PackageURL = purl
	}
	var comps []cdx.Component
	var vulns []cdx.Vulnerability
	var modelLicenses []cdx.LicenseChoice // every file's, for the model as a whole
	for i, f := range r.Files {
		ref := "file-" + strconv.Itoa(i)
		c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeData, Name: f.Path}
		if modelFormats[f.Format] {
			c.Type = cdx.ComponentTypeMachineLearningModel
			c.ModelCard = modelCard(f)
		} else if f.Format == "oci-manifest" {
			c.Type = cdx.ComponentTypeFile
		}
		if f.SHA256 != "" {
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}}
		}
		cp := []cdx.Property{{Name: "modelvet:format", Value: f.Format}, {Name: "modelvet:size", Value: strconv.FormatInt(f.Size, 10)}}
		if m, ok := f.Max(); ok {
			cp = append(cp, cdx.Property{Name: "modelvet:max-severity", Value: m.String()})
		}
		keys := make([]string, 0, len(f.Details))
		for k := range f.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cp = append(cp, cdx.Property{Name: "modelvet:detail:" + k, Value: f.Details[k]})
		}
		c.Properties = &cp
		if ls := licensesOf(f.Details); len(ls) > 0 {
			c.Licenses = (*cdx.Licenses)(&ls)
			modelLicenses = mergeLicenses(modelLicenses, ls)
		}
		comps = append(comps, c)
		for j, x := range f.Findings {
			v := cdx.Vulnerability{
				BOMRef:      fmt.Sprintf("finding-%d-%d", i, j),
				ID:          x.Rule,
				Source:      &cdx.Source{Name: "modelvet"},
				Description: x.Message,
				Ratings:     &[]cdx.VulnerabilityRating{{Source: &cdx.Source{Name: "modelvet"}, Severity: cdxSeverity(x.Severity), Method: cdx.ScoringMethodOther}},
				Affects:     &[]cdx.Affects{{Ref: ref}},
			}
			if where := x.Where(); where != "" {
				v.Detail = "at " + where
			}
			vulns = append(vulns, v)
		}
	}
	bom.Components = &comps
	if len(modelLicenses) > 0 {
		bom.Metadata.Component.Licenses = (*cdx.Licenses)(&modelLicenses)
	}
	deps := []string{}
	for i := range r.Files {
		deps = append(deps, "file-"+strconv.Itoa(i))
	}
	bom.Dependencies = &[]cdx.Dependency{{Ref: "model", Dependencies: &deps}}
	if len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	return enc.EncodeVersion(bom, cdx.SpecVersion1_6)
}

func okWord(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

func cdxSeverity(s formats.Severity) cdx.Severity {
	switch s {
	case formats.Critical:
		return cdx.SeverityCritical
	case formats.High:
		return cdx.SeverityHigh
	case formats.Medium:
		return cdx.SeverityMedium
	case formats.Low:
		return cdx.SeverityLow
	}
	return cdx.SeverityInfo
}

// modelCard carries the architecture facts the analyzers found.
func modelCard(f *formats.FileResult) *cdx.MLModelCard {
	mp := &cdx.MLModelParameters{}
	for _, k := range []string{"architecture", "general.architecture", "producer"} {
		if v := f.Details[k]; v != "" {
			mp.ModelArchitecture = v
			break
		}
	}
	if mp.ModelArchitecture == "" {
		return nil
	}
	return &cdx.MLModelCard{ModelParameters: mp}
}

// rootName names the model the BOM describes: the common folder of the
// files, or the artifact reference for a registry scan.
func rootName(r *Report) string {
	if len(r.Files) == 0 {
		return "model"
	}
	for _, f := range r.Files {
		if f.Format == "oci-manifest" {
			return f.Path
		}
	}
	p := r.Files[0].Path
	dir := path.Dir(strings.ReplaceAll(p, `\`, "/"))
	for _, f := range r.Files[1:] {
		q := strings.ReplaceAll(f.Path, `\`, "/")
		for dir != "." && dir != "/" && !strings.HasPrefix(q, dir+"/") {
			dir = path.Dir(dir)
		}
	}
	if dir == "." || dir == "/" {
		return "model"
	}
	return dir
}

// ociPURL is the package URL of a scanned registry artifact
// (pkg:oci/NAME@DIGEST?repository_url=REGISTRY/REPO, the purl spec's oci type).
func ociPURL(r *Report) string {
	for _, f := range r.Files {
		if f.Format != "oci-manifest" {
			continue
		}
		ref := strings.TrimPrefix(f.Path, "oci://")
		repo, digest, ok := strings.Cut(ref, "@")
		if !ok {
			return ""
		}
		nm := path.Base(repo)
		return "pkg:oci/" + nm + "@" + strings.ReplaceAll(digest, ":", "%3A") + "?repository_url=" + repo
	}
	return ""
}

func uuid4() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
