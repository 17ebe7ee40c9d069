"""Renders a Helm chart without helm, for the template subset deploy/helm/kaigo-bridge uses.

`helm` is not installed where the tests run, so tests/helm_chart_test.py renders the chart with this
module. It implements Go text/template as Helm uses it, but only:

  actions      {{ pipeline }}, {{- / -}} whitespace trimming, {{/* comments */}}
  control      if / else / end, with / else / end, range (over a list or a map, with or without
               `$i, $x :=`), define (in _*.tpl files), variables `$x := pipeline`
  operands     .Values… .Release… .Chart… .Template.BasePath, $ and $x with fields, "strings",
               integers, (sub pipelines), .Files.Get "path"
  functions    include, print, printf (%s %d %v), quote, default, trunc, trimSuffix, toYaml,
               indent, nindent, sha256sum

Anything else raises TemplateError naming the file, so a chart change that leaves the subset fails
the test instead of rendering wrongly. Stricter than helm in one way: a missing key under .Values is
an error (helm would print an empty string). Differs from helm in formatting only: toYaml writes
through PyYAML, not sigs.k8s.io/yaml (same data, possibly other quoting or order).

Usage: python3 tests/support/helm_template.py CHART_DIR [RELEASE_NAME]   (prints the manifests)
Not thread-safe; a Chart object renders one release at a time.
"""

import hashlib
import os
import re
import sys

import yaml


class TemplateError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Lexing: text and {{ actions }}, with Go's trim markers applied.

_ACTION = re.compile(r"\{\{(-[ \t\r\n])?(.*?)([ \t\r\n]-)?\}\}", re.S)


def _lex(source, name):
    """Returns a list of ('text', str) and ('action', str, line) items."""
    items = []
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(source):
        text = source[pos:m.start()]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        items.append(("text", text))
        body = m.group(2).strip()
        line = source.count("\n", 0, m.start()) + 1
        if not (body.startswith("/*") and body.endswith("*/")):
            items.append(("action", body, line))
        trim_next = bool(m.group(3))
        pos = m.end()
    text = source[pos:]
    if trim_next:
        text = text.lstrip(" \t\r\n")
    items.append(("text", text))
    if "{{" in "".join(i[1] for i in items if i[0] == "text"):
        raise TemplateError(f"{name}: unterminated or malformed action")
    return items


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.X)


def _tokens(text, where):
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise TemplateError(f"{where}: cannot read {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        value = m.group(kind)
        if kind == "string":
            value = yaml.safe_load(value)  # a double-quoted YAML scalar unescapes like Go here
        elif kind == "raw":
            kind, value = "string", value[1:-1]
        elif kind == "number":
            value = int(value)
        out.append((kind, value))
    return out


# ---------------------------------------------------------------------------------------------
# Parsing: pipelines and the control tree.

class _Pipeline:
    def __init__(self, decl, assign, commands):
        self.decl = decl          # variable names declared (:=) or assigned (=)
        self.assign = assign
        self.commands = commands  # list of lists of operands


def _parse_pipeline(tokens, where):
    pos = 0
    decl, assign = [], False
    # $a := …, $a, $b := …, $a = …
    if tokens and tokens[0][0] == "var":
        names = []
        i = 0
        while i < len(tokens) and tokens[i][0] == "var":
            names.append(tokens[i][1])
            if i + 1 < len(tokens) and tokens[i + 1][0] == "comma":
                i += 2
                continue
            i += 1
            break
        if i < len(tokens) and tokens[i][0] in ("declare", "assign"):
            decl, assign, pos = names, tokens[i][0] == "assign", i + 1

    def operand(i):
        kind, value = tokens[i]
        if kind == "lparen":
            depth, j = 1, i + 1
            while j < len(tokens) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(tokens[j][0], 0)
                j += 1
            if depth:
                raise TemplateError(f"{where}: unbalanced parenthesis")
            return ("pipeline", _parse_pipeline(tokens[i + 1:j - 1], where)), j
        if kind in ("string", "number", "var", "field", "ident"):
            return (kind, value), i + 1
        raise TemplateError(f"{where}: unexpected {value!r}")

    commands, current = [], []
    while pos < len(tokens):
        if tokens[pos][0] == "pipe":
            if not current:
                raise TemplateError(f"{where}: empty command in pipeline")
            commands.append(current)
            current = []
            pos += 1
            continue
        op, pos = operand(pos)
        current.append(op)
    if current:
        commands.append(current)
    if not commands:
        raise TemplateError(f"{where}: empty pipeline")
    return _Pipeline(decl, assign, commands)


def _parse(items, name, defines):
    """Builds the node tree; `define` blocks go into `defines`. Returns the top-level nodes."""
    pos = 0

    def block(stop):
        nonlocal pos
        nodes = []
        while pos < len(items):
            item = items[pos]
            pos += 1
            if item[0] == "text":
                if item[1]:
                    nodes.append(("text", item[1]))
                continue
            body, line = item[1], item[2]
            where = f"{name}:{line}"
            word = body.split(None, 1)[0] if body else ""
            rest = body[len(word):].strip()
            if word in ("end", "else"):
                if word not in stop:
                    raise TemplateError(f"{where}: unexpected {{{{ {word} }}}}")
                if word == "else" and rest:
                    raise TemplateError(f"{where}: `else {rest}` is outside the supported subset")
                return nodes, word
            if word in ("if", "with", "range"):
                pipe = _parse_pipeline(_tokens(rest, where), where)
                then, ended = block(("else", "end"))
                other = []
                if ended == "else":
                    other, _ = block(("end",))
                nodes.append((word, pipe, then, other, where))
            elif word == "define":
                tokens = _tokens(rest, where)
                if len(tokens) != 1 or tokens[0][0] != "string":
                    raise TemplateError(f"{where}: define needs one quoted name")
                body_nodes, _ = block(("end",))
                defines[tokens[0][1]] = body_nodes
            elif word in ("template", "block", "break", "continue", "tpl"):
                raise TemplateError(f"{where}: `{word}` is outside the supported subset")
            else:
                nodes.append(("action", _parse_pipeline(_tokens(body, where), where), where))
        if stop:
            raise TemplateError(f"{name}: missing {{{{ end }}}}")
        return nodes, None

    nodes, _ = block(())
    return nodes


# ---------------------------------------------------------------------------------------------
# Evaluation.

def _truth(value):
    return value not in (None, False, 0, "") and not (isinstance(value, (list, dict)) and not value)


def _format(value):
    """How Go's fmt prints a value in a template action."""
    if value is None:
        return ""  # helm replaces "<no value>" with ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        raise TemplateError("printing a map or list needs toYaml")
    return str(value)


def _printf(fmt, *args):
    args = list(args)

    def one(m):
        if m.group(0) == "%%":
            return "%"
        if not args:
            raise TemplateError(f"printf {fmt!r}: missing argument")
        return _format(args.pop(0))

    out = re.sub(r"%%|%[sdv]", one, fmt)
    if re.search(r"%[^sdv%]", fmt):
        raise TemplateError(f"printf {fmt!r}: only %s %d %v are supported")
    return out


def _print(*args):
    # Go's fmt.Sprint: a space between two operands when neither is a string.
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += _format(a)
    return out


def _indent(n, text):
    pad = " " * n
    return pad + _format(text).replace("\n", "\n" + pad)


def _to_yaml(value):
    if value is None:
        return "null"
    return yaml.safe_dump(value, default_flow_style=False, allow_unicode=True,
                          sort_keys=True).rstrip("\n")


def _quote(*args):
    return " ".join('"' + _format(a).replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for a in args if a is not None)


class Chart:
    """A chart directory: Chart.yaml, values.yaml, templates/, files."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        with open(os.path.join(self.path, "Chart.yaml"), encoding="utf-8") as f:
            self.meta = yaml.safe_load(f)
        with open(os.path.join(self.path, "values.yaml"), encoding="utf-8") as f:
            self.values = yaml.safe_load(f) or {}
        self.name = self.meta["name"]
        self.base_path = f"{self.name}/templates"
        self.defines = {}
        self.templates = {}  # template name -> nodes, for every file under templates/
        tdir = os.path.join(self.path, "templates")
        for file in sorted(os.listdir(tdir)):
            if not (file.endswith(".yaml") or file.endswith(".tpl") or file == "NOTES.txt"):
                continue
            tname = f"{self.base_path}/{file}"
            with open(os.path.join(tdir, file), encoding="utf-8") as f:
                source = f.read()
            self.templates[tname] = _parse(_lex(source, tname), tname, self.defines)

    def files_get(self, relative):
        """Helm's .Files.Get: a chart file's content (symlinks followed), "" when absent."""
        try:
            with open(os.path.join(self.path, relative), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def render(self, release="release-name", namespace="default", values=None, notes=False):
        """Returns {template name: rendered text} for every templates/*.yaml (not _*.tpl), or with
        notes=True only templates/NOTES.txt's text, as helm prints it after an install."""
        root = {
            "Values": self.values if values is None else values,
            "Release": {"Name": release, "Namespace": namespace, "Service": "Helm",
                        "IsInstall": True, "IsUpgrade": False, "Revision": 1},
            "Chart": {"Name": self.name, "Version": self.meta["version"],
                      "AppVersion": self.meta.get("appVersion", "")},
            "Files": {"Get": self.files_get},
            "Template": {"BasePath": self.base_path},
        }
        out = {}
        for tname, nodes in self.templates.items():
            base = os.path.basename(tname)
            if base.startswith("_") or (base == "NOTES.txt") != notes:
                continue
            root["Template"]["Name"] = tname
            out[tname] = self._exec(nodes, root, root, [{}])
        return out

    # -- the interpreter --

    def _exec(self, nodes, dot, root, scopes):
        out = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "action":
                value = self._pipeline(node[1], dot, root, scopes, node[2])
                if not node[1].decl:
                    out.append(_format(value))
            elif kind in ("if", "with"):
                _, pipe, then, other, where = node
                value = self._pipeline(pipe, dot, root, scopes, where)
                inner = [{}]
                if _truth(value):
                    out.append(self._exec(then, value if kind == "with" else dot, root,
                                          scopes + inner))
                elif other:
                    out.append(self._exec(other, dot, root, scopes + inner))
            elif kind == "range":
                _, pipe, body, other, where = node
                names = pipe.decl
                pipe_value = self._pipeline(_Pipeline([], False, pipe.commands), dot, root,
                                            scopes, where)
                if isinstance(pipe_value, dict):
                    pairs = sorted(pipe_value.items())
                elif isinstance(pipe_value, list):
                    pairs = list(enumerate(pipe_value))
                elif pipe_value is None:
                    pairs = []
                else:
                    raise TemplateError(f"{where}: range over {type(pipe_value).__name__}")
                if not pairs and other:
                    out.append(self._exec(other, dot, root, scopes + [{}]))
                for key, element in pairs:
                    scope = {}
                    if len(names) == 1:
                        scope[names[0]] = element
                    elif len(names) == 2:
                        scope[names[0]], scope[names[1]] = key, element
                    out.append(self._exec(body, element, root, scopes + [scope]))
            else:
                raise TemplateError(f"unknown node {kind}")
        return "".join(out)

    def _lookup(self, value, fields, path, where):
        for f in fields:
            if isinstance(value, dict):
                if f not in value:
                    raise TemplateError(f"{where}: {path}: no key {f!r}")
                value = value[f]
            else:
                raise TemplateError(f"{where}: {path}: {f!r} of a {type(value).__name__}")
        return value

    def _operand(self, op, dot, root, scopes, where):
        kind, value = op
        if kind in ("string", "number"):
            return value
        if kind == "pipeline":
            return self._pipeline(value, dot, root, scopes, where)
        if kind == "field":
            fields = [f for f in value.split(".") if f]
            return self._lookup(dot, fields, value, where)
        if kind == "var":
            name, *fields = value.split(".")
            if name == "$":
                base = root
            else:
                for scope in reversed(scopes):
                    if name in scope:
                        base = scope[name]
                        break
                else:
                    raise TemplateError(f"{where}: undefined variable {name}")
            return self._lookup(base, fields, value, where)
        raise TemplateError(f"{where}: {value!r} is not a value")

    def _call(self, name, args, dot, root, scopes, where):
        def include(tname, data):
            if tname in self.defines:
                nodes = self.defines[tname]
            elif tname in self.templates:
                nodes = self.templates[tname]
            else:
                raise TemplateError(f"{where}: include of unknown template {tname!r}")
            return self._exec(nodes, data, data, [{}])  # in Go, $ is the data passed

        functions = {
            "include": include,
            "print": _print,
            "printf": _printf,
            "quote": _quote,
            "default": lambda d, v=None: v if _truth(v) else d,
            "trunc": lambda n, s: _format(s)[:n],
            "trimSuffix": lambda suffix, s: s[:-len(suffix)] if suffix and s.endswith(suffix) else s,
            "toYaml": _to_yaml,
            "indent": _indent,
            "nindent": lambda n, s: "\n" + _indent(n, s),
            "sha256sum": lambda s: hashlib.sha256(_format(s).encode("utf-8")).hexdigest(),
        }
        if name not in functions:
            raise TemplateError(f"{where}: function {name!r} is outside the supported subset")
        try:
            return functions[name](*args)
        except TypeError as e:
            raise TemplateError(f"{where}: {name}: {e}") from None

    def _pipeline(self, pipe, dot, root, scopes, where):
        value, piped = None, False
        for command in pipe.commands:
            head, rest = command[0], command[1:]
            args = [self._operand(op, dot, root, scopes, where) for op in rest]
            if piped:
                args.append(value)
            if head[0] == "ident":
                value = self._call(head[1], args, dot, root, scopes, where)
            else:
                target = self._operand(head, dot, root, scopes, where)
                if callable(target):          # a method such as .Files.Get
                    value = target(*args)
                elif args:
                    raise TemplateError(f"{where}: {head[1]!r} is not a function")
                else:
                    value = target
            piped = True
        if pipe.decl:
            if pipe.assign:
                for scope in reversed(scopes):
                    if pipe.decl[0] in scope:
                        scope[pipe.decl[0]] = value
                        break
                else:
                    raise TemplateError(f"{where}: assignment to undeclared {pipe.decl[0]}")
            else:
                scopes[-1][pipe.decl[0]] = value
        return value


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.split("\n\n")[-2], file=sys.stderr)
        return 2
    chart = Chart(argv[1])
    for tname, text in chart.render(*(argv[2:3] or [])).items():
        if text.strip():
            print(f"---\n# Source: {tname}\n{text.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
