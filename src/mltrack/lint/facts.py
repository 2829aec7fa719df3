"""One cheap pass over a parsed module: imports, call sites, assignments, functions.

libcst's visitor and metadata providers rebuild or annotate every node, which costs as much
as parsing. The rules need far less: every call with its resolved dotted name and a little
context (enclosing function, loop depth, inside `finally`, used as a `with` item, its
statement and block), the import aliases, simple assignments and the string literals. One
explicit stack walk over the dataclass fields collects all of it at a fraction of parse time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import libcst as cst

from mltrack.lint.imports import ImportMap

# Fields that never hold code (whitespace, punctuation): skipping them keeps the walk cheap.
_SKIP_PREFIXES = (
    "whitespace", "lpar", "rpar", "comma", "semicolon", "colon", "leading_lines", "header",
    "footer", "lines_after", "dot", "equal", "operator", "star", "lbracket", "rbracket",
    "lbrace", "rbrace", "newline", "indent", "trailing", "asynchronous", "type_parameters",
    "annotation", "returns",  # annotations hold no calls worth judging
)
# Leaves the walk never needs to visit (they hold no calls): not even pushed on the stack.
_LEAVES = frozenset({cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString,
                     cst.Pass, cst.Break, cst.Continue, cst.Ellipsis, cst.Comment, cst.Newline,
                     cst.EmptyLine, cst.TrailingWhitespace, cst.SimpleWhitespace, cst.Dot})
_FIELDS: dict[type, tuple[str, ...]] = {}


_NODE_TYPES: dict[type, bool] = {}


def _is_node(value_type: type) -> bool:
    """issubclass(value_type, CSTNode), cached: CSTNode is an ABC and its checks are slow."""
    known = _NODE_TYPES.get(value_type)
    if known is None:
        known = _NODE_TYPES[value_type] = issubclass(value_type, cst.CSTNode)
    return known


def _code_fields(node_type: type) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(node_type) if not f.name.startswith(_SKIP_PREFIXES)
        )
        _FIELDS[node_type] = names
    return names


def dotted(expr: cst.BaseExpression | None) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if isinstance(expr, cst.Name):
        parts.append(expr.value)
        return ".".join(reversed(parts))
    return None


def last_name(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Name):
        return expr.value
    return ""


def receiver_text(func: cst.BaseExpression) -> str:
    """The dotted receiver of a method call (`self.opt` for `self.opt.step()`), lowercased."""
    if isinstance(func, cst.Attribute):
        value = func.value
        while isinstance(value, cst.Call):
            value = value.func
        return (dotted(value) or last_name(value)).lower()
    return ""


@dataclass
class CallSite:
    node: cst.Call
    raw: str | None  # dotted name as written (`np.random.seed`), None for `f()()` etc.
    qual: str  # resolved through imports (`numpy.random.seed`); raw (or last name) otherwise
    name: str  # last component (`seed`)
    imported: bool  # the root name came from an import
    function: str | None  # enclosing function (`main`, `Model.forward`), None at module level
    loops: int  # number of enclosing for/while loops
    in_finally: bool
    with_item: bool  # the call is a `with` item
    statement: cst.SimpleStatementLine | None = None  # when the call is the whole statement value
    order: int = 0

    def kwarg(self, name: str) -> cst.Arg | None:
        for arg in self.node.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg
        return None

    def positional(self, index: int) -> cst.Arg | None:
        plain = [a for a in self.node.args if a.keyword is None and not a.star]
        return plain[index] if index < len(plain) else None


@dataclass
class Facts:
    imports: ImportMap
    calls: list[CallSite] = field(default_factory=list)
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)
    # `x = value` for simple names, in source order (all scopes merged: a cheap approximation).
    assigns: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    module_assigns: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # `a.b.c = value` / `a[b] = value`: (dotted target or base, key or None, value, statement node)
    attr_assigns: list[tuple[str, str | None, cst.BaseExpression, cst.CSTNode]] = field(
        default_factory=list
    )
    # Statement -> (the block's statements, index in it): where fixes insert or wrap code.
    blocks: dict[int, tuple[tuple[cst.BaseStatement, ...], int, cst.CSTNode]] = field(
        default_factory=dict
    )
    tries: list[cst.Try] = field(default_factory=list)
    loops_for: list[cst.For] = field(default_factory=list)
    top_statements: tuple[cst.BaseStatement, ...] = ()
    with_of: dict[int, cst.With] = field(default_factory=dict)  # with-item call -> its With
    with_names: set[str] = field(default_factory=set)  # `with run:` - names used as with items


def _string_value(node: cst.SimpleString) -> str | None:
    """The text of a string literal. Most literals need no escape processing, so strip the
    quotes directly; libcst's `evaluated_value` (ast.literal_eval) is slow."""
    raw = node.value
    if "\\" not in raw:
        prefix = len(raw) - len(raw.lstrip("rRuUbBfF"))
        if "b" in raw[:prefix].lower():
            return None
        quote = 3 if raw[prefix : prefix + 3] in ('"""', "'''") else 1
        return raw[prefix + quote : len(raw) - quote]
    if len(raw) > 500:
        return None
    try:
        value = node.evaluated_value
    except Exception:  # odd escapes: not worth a crash
        return None
    return value if isinstance(value, str) else None


def collect(module: cst.Module, module_name: str = "") -> Facts:
    facts = Facts(ImportMap(module_name))
    facts.top_statements = tuple(module.body)
    calls = facts.calls
    with_items: set[int] = set()
    statement_of: dict[int, cst.SimpleStatementLine] = {}
    # (node, function, loops, in_finally, class)
    stack: list[tuple[cst.CSTNode, str | None, int, bool, str | None]] = [
        (module, None, 0, False, None)
    ]
    leaves = _LEAVES
    while stack:
        node, function, loops, in_finally, klass = stack.pop()
        node_type = type(node)
        if node_type is cst.Call:
            raw = dotted(node.func)
            calls.append(
                CallSite(
                    node, raw, raw or last_name(node.func), last_name(node.func), False,
                    function, loops, in_finally, id(node) in with_items,
                    statement_of.get(id(node)), len(calls),
                )
            )
        elif node_type is cst.Import or node_type is cst.ImportFrom:
            facts.imports.add(node)
            continue
        elif node_type is cst.FunctionDef:
            name = node.name.value
            function = f"{klass}.{name}" if klass and function is None else (function or name)
            facts.functions.setdefault(function, node)
        elif node_type is cst.ClassDef:
            klass = node.name.value
            facts.classes.setdefault(klass, node)
        elif node_type is cst.For or node_type is cst.While:
            if node_type is cst.For:
                facts.loops_for.append(node)
            # the loop's header runs once; only its body repeats
            children = [(c, function, loops, in_finally, klass) for c in _children(node)]
            for index, (child, *_rest) in enumerate(children):
                if child is node.body:
                    children[index] = (child, function, loops + 1, in_finally, klass)
            stack.extend(reversed(children))
            continue
        elif node_type is cst.Finally:
            in_finally = True
        elif node_type is cst.Try:
            facts.tries.append(node)
        elif node_type is cst.With:
            for item in node.items:
                if isinstance(item.item, cst.Call):
                    with_items.add(id(item.item))
                    facts.with_of[id(item.item)] = node
                elif isinstance(item.item, cst.Name):
                    facts.with_names.add(item.item.value)
        elif node_type is cst.Module or node_type is cst.IndentedBlock:
            body = tuple(node.body)
            for index, statement in enumerate(body):
                facts.blocks[id(statement)] = (body, index, node)
        elif node_type is cst.SimpleStatementLine:
            for small in node.body:
                value = getattr(small, "value", None)
                if isinstance(value, cst.Call) and isinstance(small, (cst.Expr, cst.Assign)):
                    statement_of[id(value)] = node
                if isinstance(small, cst.Assign):
                    _record_assign(facts, small, node, function)
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    _record_target(facts, small.target, small.value, node, function)
        for name in reversed(_code_fields(node_type)):
            value = getattr(node, name)
            value_type = type(value)
            if value_type is tuple or value_type is list:
                for child in reversed(value):
                    child_type = type(child)
                    if child_type not in leaves and _is_node(child_type):
                        stack.append((child, function, loops, in_finally, klass))
            elif value_type not in leaves and _is_node(value_type):
                stack.append((value, function, loops, in_finally, klass))
    for site in calls:
        if site.raw is not None:
            resolved = facts.imports.resolve(site.raw)
            if resolved is not None:
                site.qual, site.imported = resolved, True
    return facts


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    for name in _code_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            out.append(value)
        elif type(value) is tuple or type(value) is list:
            out.extend(c for c in value if isinstance(c, cst.CSTNode))
    return out


def _record_assign(
    facts: Facts, assign: cst.Assign, statement: cst.CSTNode, function: str | None
) -> None:
    for target in assign.targets:
        _record_target(facts, target.target, assign.value, statement, function)


def _record_target(
    facts: Facts,
    target: cst.BaseExpression,
    value: cst.BaseExpression,
    statement: cst.CSTNode,
    function: str | None,
) -> None:
    if isinstance(target, cst.Name):
        facts.assigns.setdefault(target.value, []).append(value)
        if function is None:
            facts.module_assigns.setdefault(target.value, value)
    elif isinstance(target, cst.Tuple):
        for element in target.elements:
            if isinstance(element.value, cst.Name):
                facts.assigns.setdefault(element.value.value, []).append(value)
    elif isinstance(target, cst.Attribute):
        name = dotted(target)
        if name is not None:
            facts.attr_assigns.append((name, None, value, statement))
    elif isinstance(target, cst.Subscript):
        base = dotted(target.value)
        key = None
        if len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                key = _string_value(index.value)
        if base is not None:
            facts.attr_assigns.append((base, key, value, statement))


def names_in(expr: cst.CSTNode) -> set[str]:
    """Identifiers, attribute names and string subscript keys inside an expression
    (`args.lr` -> {args, lr}; `cfg["bs"]` -> {cfg, bs})."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        node_type = type(node)
        if node_type is cst.Name:
            found.add(node.value)
            continue
        if node_type is cst.Attribute:
            found.add(node.attr.value)
            stack.append(node.value)
            continue
        if node_type is cst.SimpleString:
            value = _string_value(node)
            if value is not None and value.isidentifier():
                found.add(value)
            continue
        stack.extend(_children(node))
    return found


def literal_string(expr: cst.BaseExpression | None) -> str | None:
    if isinstance(expr, cst.SimpleString):
        return _string_value(expr)
    if isinstance(expr, cst.ConcatenatedString):
        left, right = literal_string(expr.left), literal_string(expr.right)
        return None if left is None or right is None else left + right
    return None


def is_literal(expr: cst.BaseExpression | None) -> bool:
    """A number, string, bool or None, possibly negated."""
    if isinstance(expr, cst.UnaryOperation):
        expr = expr.expression
    return isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString, cst.Imaginary)) or (
        isinstance(expr, cst.Name) and expr.value in ("True", "False", "None")
    )
