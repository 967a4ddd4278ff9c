#!/usr/bin/env python3
"""collect_templates.py fills a cache folder, outside the repository, with
real chat templates (Jinja) that other projects publish, one .jinja file
each, for formats/template's TestRealTemplatesCache (nothing above low on
any of them) and for the real-files test (0 high).

It reads bare mirrors of public GitHub repositories (default /work/.mirror,
as the project's `fetch` tool leaves them: /work/.mirror/<owner>+<name>/repo)
and never runs anything from them: templates embedded in JavaScript test
files are read by a small string-literal reader, not by evaluating the file.
Identical templates (same bytes) are kept once.

    MIRRORS=/work/.mirror MODELVET_TEMPLATES=$HOME/.cache/modelvet-realfiles/templates \\
        /usr/bin/python3 collect_templates.py

Sources (owner+name, what is taken):
  huggingface+huggingface.js  packages/jinja/test/e2e.test.js: every
      chat_template: of the test models (Hub templates of ~80 families);
      packages/ollama-utils/src/chat-template-automap.ts: the gguf:
      template of every Ollama library model mapped (~100 GGUF templates)
  ollama+ollama               template/index.json (the Hub templates Ollama
      maps to its Go templates) and model/renderers/testdata/*.jinja*
  chujiezheng+chat_templates  chat_templates/*.jinja
  contrapuntal+chat-template-patches  every *.jinja (Qwen3.5/3.6 and
      Gemma 4 upstream templates and community forks)
  google+minja                tests_files/*.jinja
  microsoft+onnxruntime-extensions, openvinotoolkit+openvino.genai,
  openvinotoolkit+model_server, abetlen+llama-cpp-python: *.jinja and the
      chat_template of every tokenizer_config.json / chat_template.json
  axolotl-ai-cloud+axolotl, huggingface+trl, ikawrakow+ik_llama.cpp
      (models/templates and the template_str literals of
      tests/test-chat-template.cpp: llama.cpp's test templates), theroyallab+llm-prompt-templates,
      unslothai+unsloth: *.jinja; unsloth/chat_templates.py and
      llama-cpp-python's llama_chat_format.py: string constants that are
      chat templates (read with ast, never run)
  openvinotoolkit+openvino.genai  tests/python_tests/data/tokenizer_configs.py:
      the chat_template of ~150 Hub models (a dict literal read with
      ast.literal_eval); microsoft+onnxruntime-genai: test model folders
  allenai+open-instruct, NousResearch+Hermes-Function-Calling: *.jinja, *.j2;
  mistralai+mistral-common: its chat_templates.py string constants;
  axolotl-ai-cloud+axolotl, huggingface+alignment-handbook: inline
      templates of training recipes (YAML, yaml.safe_load)
  EchoCog+gpt-oss-20b, RkFeeder+LG-AI-Research (EXAONE),
  pgadet-wq+granite-docling-258M, forcepusher+gemma4_jinja,
  shiroko98+RWKV-LM-V7, Vedika-advanced-AI+Vedika-4.1-flash,
  kpratik41+gpt-oss-ckpt, masidyai+model, BigBIueWhale+qwen_38_agent_setup,
  agentica-project+R2E-Gym, ml-jku+EVA: model folders and template fixes
      mirrored on GitHub (chat_template*.jinja, tokenizer_config.json)
  xorbitsai+inference         xinference/model/llm/llm_family.json: the
      chat_template of every model family
  EXTRA: files listed in extra_templates.txt beside this script (path of a
      local file that read_file/find_files copied out of a repository too
      large to mirror, e.g. ggml-org/llama.cpp models/templates/*.jinja,
      vllm-project/vllm examples/*.jinja)
"""
import hashlib
import json
import os
import re
import subprocess
import sys

MIRRORS = os.environ.get("MIRRORS", "/work/.mirror")
OUT = os.environ.get("MODELVET_TEMPLATES", os.path.expanduser("~/.cache/modelvet-realfiles/templates"))

seen = set()
count = {}


def save(source, name, text):
    if not isinstance(text, str) or not text.strip() or ("{{" not in text and "{%" not in text):
        return
    h = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    if h in seen:
        return
    seen.add(h)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:100] or "template"
    d = os.path.join(OUT, source)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"{name}-{h[:8]}.jinja"), "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(text)
    count[source] = count.get(source, 0) + 1


def git(repo, *args):
    r = subprocess.run(["git", "--git-dir", os.path.join(MIRRORS, repo, "repo"), *args], capture_output=True)
    if r.returncode != 0:
        return None
    return r.stdout


def files(repo, pattern):
    out = git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    if out is None:
        print(f"skip {repo}: no mirror", file=sys.stderr)
        return []
    rx = re.compile(pattern)
    return [p for p in out.decode().splitlines() if rx.search(p)]


def blob(repo, path):
    b = git(repo, "show", f"HEAD:{path}")
    return None if b is None else b.decode("utf-8", "replace")


JS_ESC = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def js_string(s, i):
    """Reads the JavaScript string literal at s[i] ('...', "..." or a
    template literal without ${}), returning (value, end) or (None, i)."""
    q = s[i]
    if q not in "'\"`":
        return None, i
    out = []
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == q:
            return "".join(out), j + 1
        if q == "`" and c == "$" and s.startswith("${", j):
            return None, i
        if c == "\\":
            n = s[j + 1]
            if n == "u":
                if s[j + 2] == "{":
                    k = s.index("}", j)
                    out.append(chr(int(s[j + 3:k], 16)))
                    j = k + 1
                else:
                    out.append(chr(int(s[j + 2:j + 6], 16)))
                    j += 6
                continue
            if n == "x":
                out.append(chr(int(s[j + 2:j + 4], 16)))
                j += 4
                continue
            if n == "\n":
                j += 2
                continue
            out.append(JS_ESC.get(n, n))
            j += 2
            continue
        out.append(c)
        j += 1
    return None, i


def js_concat(s, i):
    """Reads 'a' + `b` + "c" starting at s[i] (after whitespace)."""
    parts = []
    while True:
        while i < len(s) and s[i] in " \t\r\n":
            i += 1
        v, j = js_string(s, i)
        if v is None:
            return ("".join(parts) if parts else None), i
        parts.append(v)
        i = j
        k = i
        while k < len(s) and s[k] in " \t\r\n":
            k += 1
        if k < len(s) and s[k] == "+":
            i = k + 1
            continue
        return "".join(parts), i


def js_values(repo, path, key, label):
    s = blob(repo, path)
    if s is None:
        print(f"skip {repo}:{path}: not in the mirror", file=sys.stderr)
        return
    for m in re.finditer(r"\b" + key + r":", s):
        v, _ = js_concat(s, m.end())
        if v is None:
            continue
        # the model name is the nearest quoted key or model: before it
        before = s[max(0, m.start() - 400):m.start()]
        names = re.findall(r"(?:model:\s*|\n\t)\"([^\"]+)\"", before)
        save(label, names[-1] if names else key, v)


C_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "?": "?"}


def c_strings(label, text):
    """The /* .template_str= */ "..." literals of llama.cpp's
    test-chat-template.cpp (C escapes; adjacent literals are joined)."""
    for m in re.finditer(r"/\* \.template_str= \*/\s*", text):
        i = m.end()
        parts = []
        while True:
            while i < len(text) and text[i] in " \t\r\n":
                i += 1
            if text.startswith("u8", i):
                i += 2
            if i >= len(text) or text[i] != '"':
                break
            i += 1
            out = []
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text):
                    n = text[i + 1]
                    if n == "u":
                        out.append(chr(int(text[i + 2:i + 6], 16)))
                        i += 6
                        continue
                    if n == "x":
                        j = i + 2
                        while j < len(text) and text[j] in "0123456789abcdefABCDEF":
                            j += 1
                        out.append(chr(int(text[i + 2:j], 16)))
                        i = j
                        continue
                    out.append(C_ESC.get(n, n))
                    i += 2
                    continue
                out.append(text[i])
                i += 1
            parts.append("".join(out))
            i += 1
        if parts:
            save(label, "test-chat-template", "".join(parts))


def json_templates(label, name, text):
    try:
        d = json.loads(text)
    except ValueError:
        return
    if not isinstance(d, dict):
        return
    for k, v in d.items():
        if "template" not in k.lower():
            continue
        if isinstance(v, str):
            save(label, f"{name}_{k}", v)
        elif isinstance(v, list):
            for e in v:
                if isinstance(e, dict) and isinstance(e.get("template"), str):
                    save(label, f"{name}_{e.get('name', k)}", e["template"])


def walk_json(label, name, v, depth):
    if depth > 32:
        return
    if isinstance(v, dict):
        n = v.get("model_name", name) if isinstance(v.get("model_name"), str) else name
        for k, e in v.items():
            if "template" in k.lower() and isinstance(e, str):
                save(label, f"{n}_{k}", e)
            else:
                walk_json(label, n, e, depth + 1)
    elif isinstance(v, list):
        for e in v:
            walk_json(label, name, e, depth + 1)


def py_strings(label, path, text):
    import ast
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            v = node.value.value
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if names and "{%" in v and ("message" in v):
                save(label, names[0], v)


def py_dicts(label, text):
    import ast
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            try:
                d = ast.literal_eval(node)
            except ValueError:
                continue
            for k, v in d.items():
                if isinstance(k, str) and isinstance(v, dict):
                    walk_json(label, k, v, 0)


def main():
    os.makedirs(OUT, exist_ok=True)
    # start from an empty cache: a template a source no longer holds, or
    # one now credited to another source, must not linger
    for d in os.listdir(OUT):
        if os.path.isdir(os.path.join(OUT, d)):
            for f in os.listdir(os.path.join(OUT, d)):
                if f.endswith(".jinja"):
                    os.remove(os.path.join(OUT, d, f))
    js_values("huggingface+huggingface.js", "packages/jinja/test/e2e.test.js", "chat_template", "huggingface.js-e2e")
    js_values("huggingface+huggingface.js", "packages/ollama-utils/src/chat-template-automap.ts", "gguf", "huggingface.js-ollama-automap")
    idx = blob("ollama+ollama", "template/index.json")
    if idx:
        for e in json.loads(idx):
            save("ollama-index", e.get("name", "t"), e.get("template"))
    for repo, rx in [
        ("ollama+ollama", r"^model/renderers/testdata/.*\.jinja2?$"),
        ("chujiezheng+chat_templates", r"\.jinja$"),
        ("contrapuntal+chat-template-patches", r"\.jinja$"),
        ("google+minja", r"^tests_files/.*\.jinja$"),
        ("microsoft+onnxruntime-extensions", r"\.jinja$"),
        ("openvinotoolkit+openvino.genai", r"\.jinja$"),
        ("openvinotoolkit+model_server", r"\.jinja$"),
        ("abetlen+llama-cpp-python", r"\.jinja$"),
        ("axolotl-ai-cloud+axolotl", r"^src/.*chat_templates/.*\.jinja$"),
        ("huggingface+trl", r"^(trl|tests|examples)/.*\.jinja$"),
        ("ikawrakow+ik_llama.cpp", r"^models/templates/.*\.jinja$"),
        ("theroyallab+llm-prompt-templates", r"\.jinja$"),
        ("unslothai+unsloth", r"chat_templates/.*\.jinja$"),
        ("allenai+open-instruct", r"\.jinja$"),
        ("NousResearch+Hermes-Function-Calling", r"^chat_templates/.*\.j2$"),
    ]:
        for p in files(repo, rx):
            t = blob(repo, p)
            if t is not None:
                save(repo, p, t)
    for repo in ["microsoft+onnxruntime-extensions", "openvinotoolkit+openvino.genai", "openvinotoolkit+model_server",
                 "abetlen+llama-cpp-python", "Evilcarbon+DeepSeek-R1-Distill-Qwen-32B", "HakunaMatata888+gemma2-poem",
                 "HwwwwwwwH+MiniCPM-V-2", "Avent-IQ+pythia-410m", "Decentralised-AI+falcon-40b",
                 "microsoft+onnxruntime-genai", "allenai+open-instruct"]:
        for p in files(repo, r"(tokenizer_config|chat_template)\.json$"):
            t = blob(repo, p)
            if t is not None:
                json_templates(repo, p, t)
    t = blob("ikawrakow+ik_llama.cpp", "tests/test-chat-template.cpp")
    if t:
        c_strings("ikawrakow+ik_llama.cpp-tests", t)
    # Hugging Face model folders and template fixes mirrored on GitHub:
    # their chat_template*.jinja and tokenizer_config.json /
    # chat_template.json, wherever they sit.
    for repo in ["EchoCog+gpt-oss-20b", "RkFeeder+LG-AI-Research", "pgadet-wq+granite-docling-258M",
                 "forcepusher+gemma4_jinja", "shiroko98+RWKV-LM-V7", "Vedika-advanced-AI+Vedika-4.1-flash",
                 "kpratik41+gpt-oss-ckpt", "masidyai+model", "BigBIueWhale+qwen_38_agent_setup",
                 "agentica-project+R2E-Gym", "ml-jku+EVA"]:
        for p in files(repo, r"(^|/)[^/]*chat_template[^/]*\.jinja2?$"):
            t = blob(repo, p)
            if t is not None:
                save(repo, p, t)
        for p in files(repo, r"(^|/)(tokenizer_config|chat_template)\.json$"):
            t = blob(repo, p)
            if t is not None:
                json_templates(repo, p, t)
    # openvino.genai's test tokenizer configs: one Python dict literal of
    # ~150 Hub models' tokenizer_config.json (read with ast.literal_eval).
    t = blob("openvinotoolkit+openvino.genai", "tests/python_tests/data/tokenizer_configs.py")
    if t:
        py_dicts("openvinotoolkit+openvino.genai-configs", t)
    # xinference's model registry: the chat_template of every model family.
    t = blob("xorbitsai+inference", "xinference/model/llm/llm_family.json")
    if t:
        walk_json("xorbitsai+inference", "llm_family", json.loads(t), 0)
    # Python sources that hold templates as string literals: read with ast
    # (parsed, never run).
    for repo, path in [("unslothai+unsloth", "unsloth/chat_templates.py"),
                       ("abetlen+llama-cpp-python", "llama_cpp/llama_chat_format.py"),
                       ("mistralai+mistral-common", "src/mistral_common/integrations/chat_templates/chat_templates.py")]:
        t = blob(repo, path)
        if t:
            py_strings(repo, path, t)
    # Training recipes that carry a chat template inline (axolotl's
    # chat_template_jinja, the alignment handbook's chat_template), read
    # with yaml.safe_load (plain data, no tags run) when PyYAML is there.
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml:
        for repo in ["axolotl-ai-cloud+axolotl", "huggingface+alignment-handbook"]:
            for p in files(repo, r"\.ya?ml$"):
                t = blob(repo, p)
                if not t or "chat_template" not in t:
                    continue
                try:
                    d = yaml.safe_load(t)
                except yaml.YAMLError:
                    continue
                walk_json(repo, p, d, 0)
    extra = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extra_templates.txt")
    if os.path.exists(extra):
        for line in open(extra, encoding="utf-8"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            label, path = line.split(None, 1)
            path = os.path.expandvars(os.path.expanduser(path))
            if os.path.exists(path):
                t = open(path, encoding="utf-8", errors="replace").read()
                if path.endswith(".json"):
                    json_templates(label, os.path.basename(path), t)
                else:
                    save(label, os.path.basename(path), t)
    total = sum(count.values())
    for k in sorted(count):
        print(f"{count[k]:5d} {k}")
    print(f"{total:5d} distinct templates in {OUT}")


if __name__ == "__main__":
    main()
