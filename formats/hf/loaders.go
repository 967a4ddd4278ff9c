package hf

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/internal/jsonx"
)

// Loader configs that name a Python module for the library to import
// (besides auto_map, custom_pipelines and modules.json): diffusers'
// model_index.json, PEFT's adapter_config.json and sentence-transformers'
// router_config.json. Attack class: a config that makes the loader import
// and call a module of the attacker's choosing (code in the repository, or
// any importable module whose from_pretrained/load does something else).
// Each is judged the same way: a module of the library that owns the file
// is proven safe; any other module is a finding.

// checkLoaderConfig runs the check for the loader config name names, if
// it is one.
func checkLoaderConfig(s *formats.Scope, name string, b []byte) {
	var check func(*formats.Scope, *jsonx.Value)
	switch strings.ToLower(filepath.Base(name)) {
	case "model_index.json":
		check = checkModelIndex
	case "adapter_config.json":
		check = checkAdapterConfig
	case "router_config.json":
		check = checkRouterConfig
	default:
		return
	}
	v, _, err := jsonx.ParsePython(b, jsonx.Limits{MaxDepth: 64, MaxNodes: 1 << 16})
	if err != nil || v.Kind != jsonx.Object {
		return // the caller reports invalid JSON
	}
	check(s, v)
}

func remoteCode(s *formats.Scope, member string, v *jsonx.Value, format string, args ...any) {
	s.Report(formats.Finding{Rule: "hf/remote-code", Severity: formats.High, Member: member, Offset: int64(v.Off),
		Message: fmt.Sprintf(format, args...) + ". Review it, or do not load the model."})
}

// checkModelIndex: diffusers' DiffusionPipeline.from_pretrained reads each
// component as [library, class]. A library that is diffusers,
// transformers, onnxruntime.training or a diffusers pipeline module is
// diffusers' own; anything else is either a .py file in the component's
// folder (custom code, run with trust_remote_code) or a module diffusers
// imports with importlib.import_module and whose class it calls
// (pipeline_loading_utils.get_class_obj_and_candidates). A _class_name
// given as [module, class] is a custom pipeline loaded from the repository.
func checkModelIndex(s *formats.Scope, v *jsonx.Value) {
	for i, k := range v.Keys {
		c := v.Vals[i]
		if k == "_class_name" {
			if c.Kind == jsonx.Array {
				remoteCode(s, "_class_name", c, "model_index.json names a custom pipeline class %s: diffusers loads it from Python code in the repository", describeList(c))
			}
			continue
		}
		if strings.HasPrefix(k, "_") || c.Kind != jsonx.Array || len(c.Vals) != 2 || c.Vals[0].Kind != jsonx.String {
			continue
		}
		lib := c.Vals[0].Str
		if diffusersLibraries[lib] || diffusersPipelineModules[lib] {
			continue
		}
		remoteCode(s, k, c.Vals[0], "model_index.json component %q names the library %q, which is not diffusers, transformers or a diffusers pipeline module: diffusers runs %s.py from the component's folder, or imports %q and calls its class", k, truncate(lib), truncate(lib), truncate(lib))
	}
}

func describeList(v *jsonx.Value) string {
	var parts []string
	for _, e := range v.Vals {
		if e.Kind == jsonx.String {
			parts = append(parts, truncate(e.Str))
		}
	}
	return fmt.Sprintf("%q", strings.Join(parts, "."))
}

// diffusersLibraries are the libraries of diffusers' LOADABLE_CLASSES
// (src/diffusers/pipelines/pipeline_loading_utils.py).
var diffusersLibraries = map[string]bool{"diffusers": true, "transformers": true, "onnxruntime.training": true}

// diffusersPipelineModules are the submodules of diffusers.pipelines (and
// of diffusers.pipelines.deprecated, which older releases exposed at the
// top level) that a component may name, e.g. ["stable_diffusion",
// "StableDiffusionSafetyChecker"]; from the folders of
// src/diffusers/pipelines in huggingface/diffusers.
var diffusersPipelineModules = setOf(`ace_step allegro animatediff anyflow audioldm2 aura_flow bria bria_fibo chroma chronoedit
cogvideo cogview3 cogview4 consisid consistency_models controlnet controlnet_hunyuandit controlnet_sd3 cosmos ddim ddpm
deepfloyd_if deprecated diffusion_gemma dit dreamlite easyanimate ernie_image flux flux2 glm_image helios hidream_image
hunyuan_image hunyuan_video hunyuan_video1_5 hunyuandit ideogram4 joyimage kandinsky kandinsky2_2 kandinsky3 kandinsky5
kolors krea2 latent_consistency_models latent_diffusion latte ledits_pp llada2 longcat_audio_dit longcat_image ltx ltx2
lucy lumina lumina2 marigold mochi motif_video nucleusmoe_image omnigen ovis_image pag pixart_alpha prx qwenimage sana
sana_video shap_e skyreels_v2 stable_audio stable_audio_3 stable_cascade stable_diffusion stable_diffusion_3
stable_diffusion_xl stable_video_diffusion t2i_adapter visualcloze wan z_image
alt_diffusion amused audio_diffusion audioldm blip_diffusion controlnet_xs dance_diffusion i2vgen_xl
latent_diffusion_uncond musicldm paint_by_example pia pndm repaint score_sde_ve semantic_stable_diffusion
spectrogram_diffusion stable_diffusion_attend_and_excite stable_diffusion_diffedit stable_diffusion_gligen
stable_diffusion_ldm3d stable_diffusion_panorama stable_diffusion_safe stable_diffusion_sag stable_diffusion_variants
stochastic_karras_ve text_to_video_synthesis unclip unidiffuser versatile_diffusion vq_diffusion wuerstchen`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// checkAdapterConfig: PEFT's AutoPeftModel.from_pretrained, for an adapter
// without a task type, imports auto_mapping.parent_library with
// importlib.import_module and calls base_model_class.from_pretrained from
// it (peft/auto.py). PEFT writes the base model class's module there:
// transformers' own model modules are safe; a trust_remote_code module
// (transformers_modules.*) or any other module is code named by the file.
func checkAdapterConfig(s *formats.Scope, v *jsonx.Value) {
	am := v.Get("auto_mapping")
	if am == nil || am.Kind != jsonx.Object {
		return
	}
	lib := am.Get("parent_library")
	if lib == nil || lib.Kind != jsonx.String {
		return
	}
	if lib.Str == "transformers" || strings.HasPrefix(lib.Str, "transformers.") {
		return
	}
	remoteCode(s, "auto_mapping/parent_library", lib, "adapter_config.json makes PEFT import the module %q and call its %s.from_pretrained: that is not transformers, so loading runs code the adapter names",
		truncate(lib.Str), truncate(strOf(am.Get("base_model_class"))))
}

// checkRouterConfig: sentence-transformers' Router imports every module
// type listed in router_config.json ("types") with import_from_string
// and calls its load(), like modules.json.
func checkRouterConfig(s *formats.Scope, v *jsonx.Value) {
	t := v.Get("types")
	if t == nil || t.Kind != jsonx.Object {
		return
	}
	for i, k := range t.Keys {
		e := t.Vals[i]
		if e.Kind != jsonx.String || strings.HasPrefix(e.Str, "sentence_transformers.") {
			continue
		}
		remoteCode(s, "types/"+k, e, "router_config.json makes sentence-transformers import %q for the route %q and call its load(); it is not a sentence_transformers module", truncate(e.Str), truncate(k))
	}
}

func strOf(v *jsonx.Value) string {
	if v == nil || v.Kind != jsonx.String {
		return "?"
	}
	return v.Str
}
