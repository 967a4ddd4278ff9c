#!/usr/bin/env python3
"""Renders every attack of redteam2.json with real Jinja2, twice: in a plain
Environment (what tools that forget the sandbox and llama-cpp-python before
CVE-2024-34359 use) and in ImmutableSandboxedEnvironment (transformers,
vLLM), each in a child process with a 5 s / 1 GiB limit, and prints what
happened: "RAN" (the marker file was touched or the secret environment
variable leaked into the output; a case's "context" holds the render
variables a publisher sets, such as the tokenizer's special tokens), "INTERNAL" (a Python internal was
reached and printed), "SecurityError", "DOS" (killed by the time or memory
limit), "included" (a loader read another file), or the error.
Run with Debian's python3-jinja2: /usr/bin/python3 testdata/prove_live2.py
(prove_live2.out holds its output with Jinja2 3.1.2)."""
import json
import os
import resource
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "s3cr3t-from-the-environment"


def child(kind, src, context):
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    loader = jinja2.DictLoader({"x.j2": "INCLUDED", "/etc/passwd": "INCLUDED"})
    env = jinja2.Environment(loader=loader) if kind == "plain" else ImmutableSandboxedEnvironment(loader=loader)
    try:
        out = env.from_string(src).render(**{"messages": [{"role": "user", "content": "hi"}], "bos_token": "<s>", **context})
    except jinja2.exceptions.SecurityError as e:
        print("SecurityError", str(e)[:60])
        return
    except MemoryError:
        print("DOS (MemoryError)")
        return
    except Exception as e:  # noqa: BLE001
        print("error", type(e).__name__, str(e)[:60])
        return
    if SECRET in out:
        print("RAN (secret leaked)")
    elif "INCLUDED" in out:
        print("included another template")
    elif "<class" in out or "<function" in out or "<built-in" in out:
        print("INTERNAL", out[:60].replace("\n", " "))
    else:
        print("rendered", repr(out[:40])[:60])


def main():
    if len(sys.argv) == 4:
        child(sys.argv[1], open(sys.argv[2], encoding="utf-8").read(), json.loads(sys.argv[3]))
        return
    cases = json.load(open(os.path.join(HERE, "redteam2.json"), encoding="utf-8"))
    tmp = tempfile.mkdtemp()
    for c in cases:
        for kind in ("plain", "sandbox"):
            marker = os.path.join(tmp, f"{c['name']}-{kind}")
            src = c["src"].replace("CMD", repr("touch " + marker))
            p = os.path.join(tmp, "t.j2")
            with open(p, "w", encoding="utf-8") as f:
                f.write(src)
            try:
                r = subprocess.run([sys.executable, __file__, kind, p, json.dumps(c.get("context", {}))], capture_output=True, text=True, timeout=5,
                                   env={**os.environ, "MVPROOF_SECRET": SECRET})
                res = (r.stdout.strip() or r.stderr.strip().splitlines()[-1:] or ["killed"])
                res = res if isinstance(res, str) else "DOS (" + res[0][:50] + ")"
                if r.returncode < 0:
                    res = f"DOS (killed by signal {-r.returncode})"
            except subprocess.TimeoutExpired:
                res = "DOS (still running after 5 s)"
            if os.path.exists(marker):
                res = "RAN (marker touched) " + res
            print(f"{c['class']:18} {c['name']:30} {kind:8} {res}")


if __name__ == "__main__":
    main()
