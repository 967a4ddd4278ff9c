// Package oci reads model artifacts from OCI registries: it resolves a
// reference to a manifest digest, pulls the manifest and the layers a scan
// needs into a private folder (bounded, each blob checked against its
// digest while it is read), names each layer the way the artifact's tooling
// would unpack it, and verifies cosign signatures attached to the artifact.
//
// The kinds of model artifact it knows, and where each convention comes
// from, are data in this file.
package oci

import (
	"path"
	"strings"
)

// Flavor names the convention an artifact follows.
type Flavor string

const (
	// CNCF ModelPack model-spec (github.com/modelpack/model-spec,
	// docs/spec.md): artifactType / config application/vnd.cncf.model.*.
	ModelPack Flavor = "modelpack"
	// KitOps ModelKits (github.com/kitops-ml/kitops, pkg/artifact/constants.go):
	// config application/vnd.kitops.modelkit.config.v1+json.
	KitOps Flavor = "kitops"
	// Docker Model Runner (github.com/docker/model-distribution,
	// types/config.go): config application/vnd.docker.ai.model.config.*.
	DockerModel Flavor = "docker-model"
	// Ollama (github.com/ollama/ollama, server/images.go and
	// types/model): layers application/vnd.ollama.image.*.
	Ollama Flavor = "ollama"
	// Anything else pushed with ORAS or similar: layers named by the
	// org.opencontainers.image.title annotation.
	ORAS Flavor = "oras"
	// A container image (docker/OCI image config): layers are root
	// file-system tarballs.
	Image Flavor = "image"
)

// Annotation keys that name a layer's file.
const (
	annTitle = "org.opencontainers.image.title"
	// ModelPack: the file path of the layer inside the model.
	annModelPackPath = "org.cncf.model.filepath"
)

// flavorOf decides the convention from the manifest's artifactType, its
// config media type and its layers' media types.
func flavorOf(artifactType, configType string, layerTypes []string) Flavor {
	all := append([]string{artifactType, configType}, layerTypes...)
	has := func(prefix string) bool {
		for _, t := range all {
			if strings.HasPrefix(t, prefix) {
				return true
			}
		}
		return false
	}
	switch {
	case has("application/vnd.cncf.model."):
		return ModelPack
	case has("application/vnd.kitops.modelkit."):
		return KitOps
	case has("application/vnd.docker.ai."):
		return DockerModel
	case has("application/vnd.ollama.image."):
		return Ollama
	case configType == "application/vnd.docker.container.image.v1+json" || configType == "application/vnd.oci.image.config.v1+json":
		return Image
	}
	return ORAS
}

// layerKind says how a layer's bytes are laid out.
type layerKind string

const (
	kindRaw    layerKind = "raw"
	kindTar    layerKind = "tar"
	kindTarGz  layerKind = "tar+gzip"
	kindTarZst layerKind = "tar+zstd"
)

func kindOf(mediaType string) layerKind {
	mt := strings.ToLower(mediaType)
	switch {
	case strings.HasSuffix(mt, ".tar+gzip"), strings.HasSuffix(mt, ".tar.gzip"), strings.HasSuffix(mt, "tar+gzip"),
		mt == "application/vnd.docker.image.rootfs.diff.tar.gzip":
		return kindTarGz
	case strings.HasSuffix(mt, ".tar+zstd"), strings.HasSuffix(mt, "tar+zstd"):
		return kindTarZst
	case strings.HasSuffix(mt, ".tar"), mt == "application/vnd.oci.image.layer.v1.tar":
		return kindTar
	}
	return kindRaw
}

// ollamaNames and dockerNames give the file each layer becomes when the
// runtime unpacks it (Ollama keeps blobs by digest and reads them by media
// type; Docker Model Runner likewise), so content sniffing and the
// chat-template checks see the names those runtimes use.
var ollamaNames = map[string]string{
	"application/vnd.ollama.image.model":     "model.gguf",
	"application/vnd.ollama.image.adapter":   "adapter.gguf",
	"application/vnd.ollama.image.projector": "projector.gguf",
	"application/vnd.ollama.image.template":  "template.jinja",
	"application/vnd.ollama.image.system":    "system.txt",
	"application/vnd.ollama.image.params":    "params.json",
	"application/vnd.ollama.image.messages":  "messages.json",
	"application/vnd.ollama.image.license":   "LICENSE",
}

var dockerNames = map[string]string{
	"application/vnd.docker.ai.gguf.v3":                "model.gguf",
	"application/vnd.docker.ai.safetensors":            "model.safetensors",
	"application/vnd.docker.ai.license":                "LICENSE",
	"application/vnd.docker.ai.mmproj":                 "mmproj.gguf",
	"application/vnd.docker.ai.chat.template.jinja":    "template.jinja",
	"application/vnd.docker.ai.vllm.config.tar":        "vllm-config.tar",
	"application/vnd.docker.ai.dir.tar":                "dir.tar",
	"application/vnd.docker.ai.model.config.v0.1+json": "config.json",
}

// layerName is the file name a layer gets: its title annotation, the
// runtime's name for its media type, or a generic name.
func layerName(fl Flavor, mediaType string, ann map[string]string, i int, hex string) string {
	if t := ann[annModelPackPath]; t != "" {
		return t
	}
	if t := ann[annTitle]; t != "" {
		return t
	}
	switch fl {
	case Ollama:
		if n, ok := ollamaNames[mediaType]; ok {
			return n
		}
	case DockerModel:
		if n, ok := dockerNames[mediaType]; ok {
			return n
		}
	}
	n := "layer-" + itoa(i) + "-" + hex[:min(12, len(hex))]
	switch kindOf(mediaType) {
	case kindTar:
		n += ".tar"
	case kindTarGz:
		n += ".tar.gz"
	case kindTarZst:
		n += ".tar.zst"
	}
	return n
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}

// cleanName makes a layer name a relative path inside the artifact
// folder, or says why it cannot be one: a title that climbs out (../x),
// is absolute (/etc/x, C:\x, \\host\x) or holds a NUL would make a naive
// unpacker write outside its folder.
func cleanName(n string) (string, string) {
	switch {
	case n == "":
		return "", "is empty"
	case strings.ContainsRune(n, 0):
		return "", "contains a NUL byte"
	case strings.Contains(n, `\`):
		return "", "contains a backslash (a path separator on Windows)"
	case strings.HasPrefix(n, "/"):
		return "", "is an absolute path"
	case len(n) >= 2 && n[1] == ':':
		return "", "starts with a drive letter"
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", "climbs out of the artifact's folder"
	}
	if c == "." {
		return "", "names the artifact's folder itself"
	}
	return c, ""
}
