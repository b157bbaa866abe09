"""Writes cases.json: what Hugging Face transformers renders for each chat template here, and for small snippets.

Run from the repository root with the bench virtual environment (transformers, tokenizers, jinja2, gguf):

    bench/.venv/bin/python Tests/Fixtures/chat-templates/make_expected.py

Tests/FXCoreTests/CausalLM/ChatTemplateTests.swift renders the same cases with fx's ChatTemplate and expects the
same bytes (or, where transformers raises, an error carrying the template's message).

The templates (each file's text exactly as published; none is written by hand):
- HuggingFaceTB-SmolLM2-135M-Instruct.jinja: `tokenizer.chat_template` of models/SmolLM2-135M-Instruct.Q4_1.gguf,
  read with gguf.GGUFReader (this script rewrites the file from the GGUF when the model is present).
- From llama.cpp (github.com/ggml-org/llama.cpp, formerly ggerganov/llama.cpp), which keeps models' own templates:
  meta-llama-Llama-3.2-3B-Instruct.jinja and mistralai-Mistral-Nemo-Instruct-2407.jinja (models/templates/),
  meta-llama-Llama-3.3-70B-Instruct.jinja (the Llama 3.1 template with built-in tools),
  Qwen-Qwen2.5-7B-Instruct.jinja and mistralai-Mixtral-8x7B-Instruct-v0.1.jinja (tests/chat/templates/),
  google-gemma-2-2b-it.jinja (models/templates/; SHA-256 ecd6ae51...15cfd6, as llama.cpp's Git LFS pointer records).

Rendering goes through transformers' own path: a PreTrainedTokenizerFast (over a one-word tokenizer, since only the
template matters) with the family's bos/eos tokens and `chat_template` set, then
`apply_chat_template(messages, tokenize=False, add_generation_prompt=...)` (with `tools=` for the tool cases). The snippets (small templates testing
the interpreter itself) are rendered with transformers' compiled Jinja environment (`_compile_jinja_template`,
the environment apply_chat_template uses) and the context given.
"""

import json
import os
import sys

import jinja2
import transformers
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast
from transformers.utils.chat_template_utils import _compile_jinja_template

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

# Per template: the file, the model family's special tokens, extra template variables.
TEMPLATES = [
    ("HuggingFaceTB-SmolLM2-135M-Instruct.jinja", "<|im_start|>", "<|im_end|>", {}),
    ("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", {"date_string": "26 Jul 2024"}),
    ("meta-llama-Llama-3.3-70B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", {"date_string": "26 Jul 2024"}),
    ("Qwen-Qwen2.5-7B-Instruct.jinja", None, "<|im_end|>", {}),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>", {}),
    ("mistralai-Mixtral-8x7B-Instruct-v0.1.jinja", "<s>", "</s>", {}),
    ("google-gemma-2-2b-it.jinja", "<bos>", "<eos>", {}),
]

S = lambda content: {"role": "system", "content": content}
U = lambda content: {"role": "user", "content": content}
A = lambda content: {"role": "assistant", "content": content}

# Conversations every template renders, each with add_generation_prompt true and false.
CONVERSATIONS = [
    ("one user turn", [U("Hello!")]),
    ("system and user", [S("You are a helpful assistant."), U("What is 2+2?")]),
    ("several turns", [U("Hi"), A("Hello! How can I help?"), U("Tell me a joke.")]),
    ("system and several turns", [S("Be brief."), U("Name a colour."), A("Blue."), U("Another?")]),
    ("ends with the assistant", [U("Say yes."), A("Yes.")]),
    ("quotes, newlines, unicode, spaces", [
        S("  System says \"hi\" & 'bye'\n\twith a tab  "),
        U("  Leading and trailing spaces  \nSecond line \"quoted\" and 'single'\n\n"),
        A("Ünïcödé — 日本語 🙂 <b>tags</b> {{ not jinja }} {% neither %}"),
        U("\n\nbackslash \\ and \\n literal\r\nCRLF line "),
    ]),
    ("empty content", [U("")]),
    ("wrong alternation", [U("first"), U("second")]),
    ("assistant first", [A("I speak first."), U("ok")]),
    ("other role", [U("question"), {"role": "tool", "content": "result 42"}]),
]

# Tool use, through apply_chat_template(messages, tools=TOOLS, ...): the Swift tests pass the same variables
# (messages, tools, documents, add_generation_prompt, bos/eos, extra) to ChatTemplate.render(context:).
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city, e.g. Zürich"},
        "days": {"type": "integer", "description": "How many days"}},
        "required": ["city"]}}}]
CALL = {"name": "get_weather", "arguments": {"city": "Zürich", "days": 2}}
TOOL_CASES = [
    ("Qwen-Qwen2.5-7B-Instruct.jinja", "tool call and result", [
        U("Weather in Zürich?"),
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": CALL}]},
        {"role": "tool", "content": "{\"temperature\": 21.5}"}, {"role": "tool", "content": "second result"},
        U("Thanks!")]),
    ("Qwen-Qwen2.5-7B-Instruct.jinja", "tools and a system message", [S("Be terse."), U("Weather?")]),
    ("meta-llama-Llama-3.3-70B-Instruct.jinja", "tool call and result", [
        S("You can call tools."), U("Weather in Zürich?"),
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": CALL}]},
        {"role": "tool", "content": "sunny"}]),
    ("meta-llama-Llama-3.2-3B-Instruct.jinja", "tool call and result", [
        U("Weather in Zürich?"),
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": CALL}]},
        {"role": "ipython", "content": "sunny"}]),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "tool call and result", [
        U("Weather in Zürich?"),
        {"role": "assistant", "tool_calls": [{"id": "abc123def", "type": "function", "function": CALL}]},
        {"role": "tool", "tool_call_id": "abc123def", "content": "sunny"},
        A("It is sunny."), U("And tomorrow?")]),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "bad tool call id", [
        U("Weather?"), {"role": "assistant", "tool_calls": [{"id": "short", "type": "function", "function": CALL}]}]),
]

SNIPPETS = [
    # (name, template, context)
    ("text only", "Hello, world!", {}),
    ("trailing newline dropped", "line\n", {}),
    ("two trailing newlines", "line\n\n", {}),
    ("crlf normalised", "a\r\nb\rc{{ 'x' }}\r\n", {}),
    ("print", "{{ greeting }}, {{ name }}!", {"greeting": "Hi", "name": "Ada"}),
    ("undefined prints empty", "[{{ nothing }}][{{ nothing is defined }}][{{ nothing | length }}][{% for x in nothing %}{{ x }}{% endfor %}][{{ nothing | trim }}]", {}),
    ("whitespace control", "a  {{- ' b ' -}}  c\n  {%- if true -%}  d  {%- endif -%}  e", {}),
    ("trim and lstrip blocks", "<ul>\n  {% for x in xs %}\n    <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n", {"xs": [1, 2]}),
    ("plus disables lstrip and trim", "a\n  {%+ if true +%}\nb\n  {% endif %}\nc", {}),
    ("comments", "a {# comment #} b\n  {# own line #}\nc {#- strip -#} d", {}),
    ("raw", "{% raw %}{{ not evaluated }} {% if %}{% endraw %}!", {}),
    ("loop variables",
     "{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}|{% endfor %}",
     {"xs": ["a", "b", "c"]}),
    ("loop prev next cycle",
     "{% for x in xs %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }} {{ loop.cycle('odd', 'even') }};{% endfor %}",
     {"xs": [1, 2, 3]}),
    ("loop else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("loop filter", "{% for x in range(10) if x is odd %}{{ x }}{{ ',' if not loop.last }}{% endfor %}", {}),
    ("loop over dict and items", "{% for k in d %}{{ k }};{% endfor %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
     {"d": {"b": 1, "a": 2}}),
    ("loop unpack", "{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }} {% endfor %}", {}),
    ("break continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("nested loops", "{% for a in 'xy' %}{% for b in [1, 2] %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }} {% endfor %}", {}),
    ("set scoping", "{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(total=0, seen=[]) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}", {}),
    ("set block", "{% set x %}inner {{ 1 + 1 }}{% endset %}[{{ x }}]{% set y | upper %}shout{% endset %}{{ y }}", {}),
    ("if elif else", "{% for n in [1, 5, 10] %}{% if n < 3 %}small{% elif n < 7 %}medium{% else %}large{% endif %} {% endfor %}", {}),
    ("inline if", "{{ 'yes' if flag else 'no' }} [{{ 'only' if not flag }}]", {"flag": True}),
    ("literals", "{{ none }} {{ None }} {{ true }} {{ False }} {{ 42 }} {{ -7 }} {{ 3.5 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1_000 }} {{ 0x1f }} {{ 1e-7 }} {{ 123456789012345678.0 }}", {}),
    ("list dict tuple literals", "{{ [1, 'a', none, true] }} {{ {'k': 'v', 'n': [1.5]} }} {{ (1,) }} {{ (1, 2) }} {{ () }}", {}),
    ("string escapes", "{{ 'tab\\there' }}|{{ \"quote\\\"s\" }}|{{ 'a\\nb' }}|{{ '\\x41\\u00e9\\U0001F600' }}|{{ 'back\\\\slash' }}|{{ 'keep\\d' }}", {}),
    ("string repr", "{{ ['it\\'s', \"say \\\"hi\\\"\", 'both \\' and \"', 'tab\\t', 'é', '\\x7f', '\\u200b'] }}", {}),
    ("arithmetic",
     "{{ 7 + 3 }} {{ 7 - 10 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + true }} {{ 10 / 4 * 2 }}",
     {}),
    ("string operators", "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 'x' ~ 1 ~ none ~ true }} {{ [1] + [2] }} {{ 'b' in 'abc' }} {{ 'z' not in 'abc' }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ 1 != '1' }} {{ none == none }} {{ 2 >= 2 }}", {}),
    ("and or not", "{{ 0 or 'fallback' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ not [] }} {{ none or 0 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 'a' ~ (1 + 2) }} {{ (1 + 2) ~ 'a' }} {{ not 1 == 2 }} {{ 'x' ~ 'ab' | upper }}", {}),
    ("subscripts and attributes",
     "{{ m['role'] }} {{ m.role }} {{ xs[0] }} {{ xs[-1] }} {{ xs.1 }} {{ 'abc'[1] }} {{ m['missing'] is defined }} {{ xs[10] is defined }}",
     {"m": {"role": "user"}, "xs": [10, 20, 30]}),
    ("slicing", "{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[1:3] }} {{ 'hello'[1:4] }} {{ 'hello'[::-1] }} {{ xs[5:] }} {{ xs[-100:2] }}",
     {"xs": [1, 2, 3, 4, 5]}),
    ("string methods",
     "{{ '  pad  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'MiXed'.upper() }}{{ 'MiXed'.lower() }}|{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'abcabc'.find('c') }}|{{ 'abcabc'.rfind('c') }}|{{ 'abcabc'.count('bc') }}|{{ '-'.join(['a', 'b']) }}|{{ 'l1\\nl2\\r\\nl3'.splitlines() }}",
     {}),
    ("dict methods", "{{ d.items() | list }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') }}",
     {"d": {"a": 1, "b": [2]}}),
    ("filters on strings",
     "{{ '  x  ' | trim }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello WORLD' | capitalize }}|{{ 'hello-world (x) y' | title }}|{{ 'abc' | length }}|{{ 'abc' | count }}|{{ 'abc' | first }}{{ 'abc' | last }}|{{ 'abc' | reverse }}|{{ 'a.b.c' | replace('.', '/') }}|{{ 'abc' | list }}|{{ '<a & \"b\">' | escape }}|{{ 'x' | center(5) }}|{{ 'two words' | wordcount }}",
     {}),
    ("filters on lists",
     "{{ xs | length }} {{ xs | first }} {{ xs | last }} {{ xs | join(', ') }} {{ xs | join }} {{ xs | reverse | list }} {{ xs | sort }} {{ xs | sort(reverse=true) }} {{ xs | sum }} {{ xs | min }} {{ xs | max }} {{ xs | unique | list }} {{ xs | select('odd') | list }} {{ xs | reject('odd') | list }} {{ xs | map('string') | join('-') }}",
     {"xs": [3, 1, 2, 3]}),
    ("filters with attributes",
     "{{ ms | selectattr('role', 'equalto', 'user') | list | length }} {{ ms | rejectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ ms | map(attribute='missing', default='?') | list }} {{ ms | sort(attribute='content') | map(attribute='content') | list }} {{ ms | selectattr('content') | list | length }}",
     {"ms": [{"role": "user", "content": "b"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": ""}]}),
    ("default", "{{ missing | default('dflt') }} {{ '' | default('empty') }} {{ '' | default('empty', true) }} {{ none | d('n') }} {{ missing | d }}", {}),
    ("numbers filters", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 'x' | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.1 | round(0, 'ceil') }} {{ 42 | string }} {{ 1.0 | string }}", {}),
    ("tojson", "{{ v | tojson }}\n{{ v | tojson(indent=2) }}\n{{ v | tojson(sort_keys=true) }}\n{{ v | tojson(separators=(',', ':')) }}\n{{ 'é \"q\" \\n <b>' | tojson }}\n{{ 'é😀' | tojson(ensure_ascii=true) }}\n{{ [] | tojson(indent=2) }}{{ {} | tojson }}",
     {"v": {"b": [1, 2.5, None, True], "a": {"nested": "ü\t"}, "n": 1e20}}),
    ("items and dictsort", "{% for k, v in d | items %}{{ k }}:{{ v }} {% endfor %}{{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }}", {"d": {"b": 2, "A": 3, "c": 1}}),
    ("indent", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}", {}),
    ("tests",
     "{{ 1 is odd }} {{ 2 is even }} {{ 9 is divisibleby 3 }} {{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} {{ d is mapping }} {{ xs is iterable }} {{ 's' is iterable }} {{ 1 is iterable }} {{ xs is sequence }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ 1 is in [1, 2] }} {{ 2 is gt 1 }} {{ 'a' is eq 'a' }} {{ range is callable }} {{ x is sameas 1 }} {{ true is true }} {{ 0 is false }}",
     {"x": 1, "d": {}, "xs": [1]}),
    ("is not", "{{ 1 is not none }} {{ none is not none }} {{ not x is defined }}", {}),
    ("macro", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ada') }} {{ greet('Bob', greeting='Hi') }} {{ greet('C', 'Yo') }}", {}),
    ("recursive macro", "{% macro count(n) %}{{ n }}{% if n > 0 %},{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(5) }}", {}),
    ("with", "{% set a = 1 %}{% with a = 2, b = a %}{{ a }}{{ b }}{% endwith %}{{ a }}", {}),
    ("filter block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}", {}),
    ("range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("dict global", "{{ dict(a=1, b='x') }}", {}),
    ("print tag", "{% print 'printed' %}", {}),
    ("generation block", "{% generation %}{% set x = 1 %}gen{{ x }}{% endgeneration %}{{ x }}", {}),
    ("unicode case and length", "{{ 'straße' | upper }} {{ 'ΣΑΣ' | lower }} {{ 'ǆemal' | title }} {{ '日本語🙂' | length }} {{ 'e\u0301' | length }} {{ 'e\u0301' == '\u00e9' }}", {}),
    ("float repr", "{{ 1e15 }} {{ 1e16 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1/3 }} {{ 2.0 * 3 }} {{ -0.0 }} {{ 1e22 }} {{ 5e-324 }} {{ 3.0 | string }} {{ [1.5, 2.0] }}", {}),
    ("not defined variables of the messages", "{% for m in messages %}{{ m.role }}:{{ m.content }}{{ m.tool_calls is defined }}{% endfor %}",
     {"messages": [{"role": "user", "content": "hi"}]}),
    ("scoping: a name set later in the frame starts undefined",
     "{% for x in [1] %}[{{ n }}]{% endfor %}{% set n = 5 %}|{% macro f() %}[{{ m }}]{% endmacro %}{{ f() }}{% set m = 6 %}{{ f() }}",
     {"n": 3, "m": 4}),
    ("scoping: a loop reads the outer value until it sets its own",
     "{% for x in [1, 2] %}[{{ n }}]{% set n = x %}{% endfor %}{{ n }}|{% if false %}{% set n = 9 %}{% endif %}{{ n }}", {"n": 3}),
    ("backslash before non-ASCII and octal escapes", "{{ '\\é|\\😀|a\\8b\\400' }}", {}),
    ("comment left open at the very end", "a{#", {}),
    ("namespace holding itself", "{% set ns = namespace() %}{% set ns.me = ns %}{% set ns.l = [ns, 1] %}{{ ns }}", {}),
    ("center", "{{ 'ab' | center(5) }}|{{ 'abc' | center(6) }}|{{ 'a'.center(4, '*') }}|{{ 'x'.ljust(3, '.') }}{{ 'x'.rjust(3) }}", {}),
    # Errors: transformers raises; fx must raise too.
    ("error: float overflow", "{{ 10.0 ** 400 }}", {}),
    ("error: raise_exception", "{{ raise_exception('Custom failure message') }}", {}),
    ("error: undefined attribute of undefined", "{{ missing.attr }}", {}),
    ("error: unclosed block", "{% if true %}never closed", {}),
    ("error: unclosed tag", "{{ 'open'", {}),
    ("error: unknown filter", "{{ 'x' | nosuchfilter }}", {}),
    ("error: unknown test", "{{ 'x' is nosuchtest }}", {}),
    ("error: unknown tag", "{% nosuchtag %}", {}),
    ("error: add str and int", "{{ 'a' + 1 }}", {}),
    ("error: division by zero", "{{ 1 / 0 }}", {}),
    ("error: tojson of undefined", "{{ missing | tojson }}", {}),
    ("error: namespace attribute on non-namespace", "{% set x = 1 %}{% set x.a = 2 %}", {}),
    ("error: unexpected end tag", "{% endif %}", {}),
    ("error: call of undefined", "{{ nothing() }}", {}),
    ("error: concat binds tighter than plus", "{{ 'a' ~ 1 + 2 }}", {}),
    ("error: item of an empty list's missing element", "{{ messages[0]['role'] }}", {"messages": []}),
    ("error: unpack mismatch", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("error: break outside loop", "{% break %}", {}),
    ("error: unsupported include", "{% include 'other.jinja' %}", {}),
    ("error: range too big", "{{ range(1000000) | length }}", {}),
]


def tokenizer(bos, eos, template):
    tok = Tokenizer(WordLevel(vocab={"<unk>": 0}, unk_token="<unk>"))
    kwargs = {"tokenizer_object": tok, "unk_token": "<unk>"}
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    t = PreTrainedTokenizerFast(**kwargs)
    t.chat_template = template
    return t


def refresh_smollm2():
    path = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(path):
        return
    import gguf

    reader = gguf.GGUFReader(path)
    field = reader.fields["tokenizer.chat_template"]
    text = bytes(field.parts[field.data[0]]).decode("utf-8")
    with open(os.path.join(HERE, "HuggingFaceTB-SmolLM2-135M-Instruct.jinja"), "w", newline="") as f:
        f.write(text)


def main():
    refresh_smollm2()
    out = {
        "generator": f"transformers {transformers.__version__}, jinja2 {jinja2.__version__}",
        "templates": [],
        "snippets": [],
    }
    for file, bos, eos, extra in TEMPLATES:
        with open(os.path.join(HERE, file), newline="") as f:
            source = f.read()
        tok = tokenizer(bos, eos, source)
        cases = []
        for name, messages in CONVERSATIONS:
            for gen in (False, True):
                case = {"name": name, "messages": messages, "add_generation_prompt": gen}
                try:
                    case["expected"] = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen, **extra)
                except Exception as e:  # the template's raise_exception, or a failure while rendering
                    case["error"] = f"{type(e).__name__}: {e}"
                cases.append(case)
        out["templates"].append({"file": file, "bos_token": bos or "", "eos_token": eos or "", "extra": extra, "cases": cases})
    out["tool_cases"] = []
    tokens = {file: (bos, eos, extra) for file, bos, eos, extra in TEMPLATES}
    for file, name, messages in TOOL_CASES:
        bos, eos, extra = tokens[file]
        with open(os.path.join(HERE, file), newline="") as f:
            tok = tokenizer(bos, eos, f.read())
        for gen in (False, True):
            context = {"messages": messages, "tools": TOOLS, "documents": None, "add_generation_prompt": gen,
                       "bos_token": bos or "", "eos_token": eos or "", **extra}
            case = {"file": file, "name": name, "context": context}
            try:
                case["expected"] = tok.apply_chat_template(messages, tools=TOOLS, tokenize=False, add_generation_prompt=gen, **extra)
            except Exception as e:
                case["error"] = f"{type(e).__name__}: {e}"
            out["tool_cases"].append(case)
    for name, source, context in SNIPPETS:
        case = {"name": name, "template": source, "context": context}
        try:
            case["expected"] = _compile_jinja_template(source).render(**context)
        except Exception as e:
            case["error"] = f"{type(e).__name__}: {e}"
        out["snippets"].append(case)
    with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("error" in c for t in out["templates"] for c in t["cases"]) + sum("error" in c for c in out["snippets"] + out["tool_cases"])
    print(f"wrote cases.json: {len(out['templates'])} templates, {len(out['tool_cases'])} tool cases, {len(out['snippets'])} snippets, "
          f"{errors} expected errors", file=sys.stderr)


if __name__ == "__main__":
    main()
