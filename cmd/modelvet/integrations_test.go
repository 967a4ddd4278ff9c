package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// modelvetCalls finds each "modelvet COMMAND ..." (or "$RUNNER_TEMP/modelvet
// COMMAND ...") invocation in a script and returns the command and the
// flags it passes.
var modelvetCall = regexp.MustCompile(`(?m)(?:^|[\s"/])modelvet"?\s+([a-z]+)([^\n]*)`)

// checkCall fails the test unless cmd is a modelvet command and every
// flag is one its help lists.
func checkCall(t *testing.T, where, cmd, rest string) {
	t.Helper()
	if commands[cmd] == nil {
		t.Errorf("%s runs `modelvet %s`, which is not a command", where, cmd)
		return
	}
	flags := helpFlags(t, cmd)
	for _, tok := range flagToken.FindAllStringSubmatch(rest, -1) {
		if !flags[tok[1]] {
			t.Errorf("%s passes --%s to `modelvet %s`, which does not take it", where, tok[1], cmd)
		}
	}
}

// TestGitHubAction: action.yml is a composite action whose scripts run
// modelvet commands with flags those commands take, that writes SARIF,
// uploads it with the code-scanning action, passes inputs through the
// environment (never pasted into a script), and fails the job when
// modelvet did.
func TestGitHubAction(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs map[string]struct{ Default string }
		Runs   struct {
			Using string
			Steps []struct {
				ID, Name, Uses, Run, Shell, If string
				With                           map[string]string
				Env                            map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using %q, want composite", a.Runs.Using)
	}
	calls, uploads, fails := 0, 0, 0
	for _, s := range a.Runs.Steps {
		if s.Run != "" && s.Shell == "" {
			t.Errorf("step %q has no shell (composite actions require one)", s.Name)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q pastes an expression into its script; pass it through env", s.Name)
		}
		for _, m := range modelvetCall.FindAllStringSubmatch(s.Run, -1) {
			calls++
			checkCall(t, "action.yml step "+s.Name, m[1], m[2])
		}
		if strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@") && s.With["sarif_file"] == "${{ inputs.sarif-file }}" {
			uploads++
		}
		if strings.Contains(s.Run, `exit "$CODE"`) && strings.Contains(s.If, "steps.run.outputs.exit-code") {
			fails++
		}
	}
	for _, in := range regexp.MustCompile(`inputs\.([a-z-]+)`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := a.Inputs[in[1]]; !ok {
			t.Errorf("action.yml uses inputs.%s, which it does not declare", in[1])
		}
	}
	if calls < 2 || uploads != 1 || fails != 1 {
		t.Errorf("modelvet calls %d (want scan and check), SARIF uploads %d, failing steps %d", calls, uploads, fails)
	}
	if !strings.Contains(string(b), "--format sarif --output") {
		t.Error("the action does not write SARIF to a file")
	}
}

// TestPreCommitHooks: each hook runs a modelvet command with flags it
// takes, builds with language golang (this module), and selects model
// files by a pattern that matches real model names and not source files.
func TestPreCommitHooks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID, Entry, Language, Files string
		Args                       []string
	}
	if err := yaml.Unmarshal(b, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) == 0 {
		t.Fatal("no hooks")
	}
	for _, h := range hooks {
		f := strings.Fields(h.Entry)
		if len(f) < 2 || f[0] != "modelvet" || h.Language != "golang" {
			t.Errorf("hook %s: entry %q, language %q", h.ID, h.Entry, h.Language)
			continue
		}
		checkCall(t, "hook "+h.ID, f[1], strings.Join(append(f[2:], h.Args...), " "))
		re, err := regexp.Compile(h.Files)
		if err != nil {
			t.Errorf("hook %s: files: %v", h.ID, err)
			continue
		}
		for _, name := range []string{"pytorch_model.bin", "model.safetensors", "weights/model.ONNX", "llama.Q4_K_M.gguf", "clf.joblib", "model.keras"} {
			if !re.MatchString(name) {
				t.Errorf("hook %s does not run on %s", h.ID, name)
			}
		}
		for _, name := range []string{"main.go", "README.md", "binder.txt"} {
			if re.MatchString(name) {
				t.Errorf("hook %s runs on %s", h.ID, name)
			}
		}
	}
}

// TestDockerfile lints the container build (Docker cannot run on the
// machines that test this project): a Go build stage matching go.mod, a
// static binary (no cgo), a distroless static base, a non-root user, and
// an exec-form entrypoint.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	var froms []string
	var user, entry string
	static := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = strings.TrimSpace(strings.TrimPrefix(l, f[0]))
		case "RUN":
			if strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, "./cmd/modelvet") {
				static = true
			}
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:"+string(goVer[1])) {
		t.Errorf("stages %v: want a golang:%s build stage and a runtime stage", froms, goVer[1])
	}
	if len(froms) == 2 && !strings.HasPrefix(froms[1], "gcr.io/distroless/static") {
		t.Errorf("runtime base %s is not distroless static", froms[1])
	}
	if !static {
		t.Error("the binary is not built with CGO_ENABLED=0 (a distroless static image has no libc)")
	}
	if user == "" || strings.HasPrefix(user, "root") || user == "0" {
		t.Errorf("USER %q: run as non-root", user)
	}
	if !strings.HasPrefix(entry, `["/usr/local/bin/modelvet"`) {
		t.Errorf("ENTRYPOINT %s: want exec form running the binary", entry)
	}
	if ig, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore")); err != nil || !strings.Contains(string(ig), ".git") {
		t.Error(".dockerignore missing or does not leave out .git")
	}
}
