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
                     cst.EmptyLine, cst.TrailingWhitespace, cst.SimpleWhitespace, cst.Dot,
                     cst.FormattedStringText})
# Nodes whose one code field that may hold a call is this one (the others are names or
# None): the walk goes straight to it instead of visiting them - nearly half of all nodes.
_PASS_THROUGH: dict[type, str] = {
    cst.Attribute: "value", cst.Arg: "value", cst.Expr: "value", cst.AssignTarget: "target",
    cst.Element: "value", cst.StarredElement: "value", cst.Return: "value",
    cst.SubscriptElement: "slice", cst.Index: "value", cst.Param: "default",
    cst.Decorator: "decorator", cst.Await: "expression", cst.UnaryOperation: "expression",
}
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


# libcst's node classes are ABCs: `isinstance` against one runs the slow ABC check whenever the
# node is of another type. They have no subclasses, so the hot helpers compare types exactly.
_Attribute, _Name, _Call, _SimpleString = cst.Attribute, cst.Name, cst.Call, cst.SimpleString


def dotted(expr: cst.BaseExpression | None) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while type(expr) is _Attribute:
        parts.append(expr.attr.value)  # type: ignore[union-attr]
        expr = expr.value  # type: ignore[union-attr]
    if type(expr) is _Name:
        parts.append(expr.value)  # type: ignore[union-attr]
        return ".".join(reversed(parts))
    return None


def last_name(expr: cst.BaseExpression) -> str:
    expr_type = type(expr)
    if expr_type is _Attribute:
        return expr.attr.value  # type: ignore[attr-defined]
    if expr_type is _Name:
        return expr.value  # type: ignore[attr-defined]
    return ""


def receiver_text(func: cst.BaseExpression) -> str:
    """The dotted receiver of a method call (`self.opt` for `self.opt.step()`), lowercased."""
    if type(func) is _Attribute:
        value = func.value  # type: ignore[attr-defined]
        while type(value) is _Call:
            value = value.func
        return (dotted(value) or last_name(value)).lower()
    return ""


# Expressions `plain_code` writes itself.
_PLAIN_TYPES = frozenset({cst.Name, cst.Attribute, cst.Call, cst.SimpleString, cst.Integer,
                          cst.Float, cst.ConcatenatedString})


def plain_code(node: cst.CSTNode) -> str | None:
    """The code of a one-line expression of names, attributes, calls and literals, put together
    from its fields exactly as libcst's codegen writes it (`Module.code_for_node`); None for
    anything else (a line break, a comprehension, an operator, ...). The rules quote such
    expressions again and again, and libcst's codegen costs far more than joining strings."""
    out: list[str] = []
    return "".join(out) if _plain(node, out) else None


def cached_code(module: cst.Module, codes: dict[int, tuple[cst.CSTNode, str]],
                node: cst.CSTNode) -> str:
    """A node's code, remembered in `codes` (node id -> (node, code); the node is kept so its
    id cannot be reused by another node): rules quote the same nodes again and again."""
    cached = codes.get(id(node))
    if cached is None or cached[0] is not node:
        code = plain_code(node)
        cached = codes[id(node)] = (node, code if code is not None else module.code_for_node(node))
    return cached[1]


def _plain(node: cst.CSTNode, out: list[str]) -> bool:
    node_type = type(node)
    if node_type not in _PLAIN_TYPES:
        return False
    for paren in node.lpar:  # type: ignore[attr-defined]
        out.append("(")
        if not _space(paren.whitespace_after, out):
            return False
    if node_type is cst.Attribute:
        dot = node.dot  # type: ignore[attr-defined]
        if not (_plain(node.value, out) and _space(dot.whitespace_before, out)):  # type: ignore[attr-defined]
            return False
        out.append(".")
        if not (_space(dot.whitespace_after, out) and _plain(node.attr, out)):  # type: ignore[attr-defined]
            return False
    elif node_type is cst.Call:
        if not (_plain(node.func, out) and _space(node.whitespace_after_func, out)):  # type: ignore[attr-defined]
            return False
        out.append("(")
        if not _space(node.whitespace_before_args, out):  # type: ignore[attr-defined]
            return False
        args = node.args  # type: ignore[attr-defined]
        last = len(args) - 1
        for index, arg in enumerate(args):
            if not _plain_arg(arg, index != last, out):
                return False
        out.append(")")
    elif node_type is cst.ConcatenatedString:
        if not (_plain(node.left, out) and _space(node.whitespace_between, out)  # type: ignore[attr-defined]
                and _plain(node.right, out)):  # type: ignore[attr-defined]
            return False
    else:  # a name or a literal
        out.append(node.value)  # type: ignore[attr-defined]
    for paren in node.rpar:  # type: ignore[attr-defined]
        if not _space(paren.whitespace_before, out):
            return False
        out.append(")")
    return True


def _plain_arg(arg: cst.Arg, default_comma: bool, out: list[str]) -> bool:
    """`Arg._codegen_impl`, field by field."""
    out.append(arg.star)
    if not _space(arg.whitespace_after_star, out):
        return False
    if arg.keyword is not None and not _plain(arg.keyword, out):
        return False
    equal = arg.equal
    if isinstance(equal, cst.AssignEqual):
        if not _space(equal.whitespace_before, out):
            return False
        out.append("=")
        if not _space(equal.whitespace_after, out):
            return False
    elif arg.keyword is not None:  # MaybeSentinel.DEFAULT
        out.append(" = ")
    if not _plain(arg.value, out):
        return False
    comma = arg.comma
    if isinstance(comma, cst.Comma):
        if not _space(comma.whitespace_before, out):
            return False
        out.append(",")
        if not _space(comma.whitespace_after, out):
            return False
    elif default_comma:  # MaybeSentinel.DEFAULT
        out.append(", ")
    return _space(arg.whitespace_after_arg, out)


def _space(whitespace: cst.CSTNode, out: list[str]) -> bool:
    """Whitespace on one line (inside brackets, a line break is a ParenthesizedWhitespace: the
    expression is not one line, and libcst writes it)."""
    if type(whitespace) is not cst.SimpleWhitespace:
        return False
    out.append(whitespace.value)  # type: ignore[attr-defined]
    return True


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
    # Computed once, on first use (effects.direct_effects, effects._reads_data,
    # effects.local_target): the project index and the rules judge the same sites of the same
    # facts.
    direct: frozenset[str] | None = field(default=None, compare=False, repr=False)
    reads_data: bool | None = field(default=None, compare=False, repr=False)
    target: tuple[str | None] | None = field(default=None, compare=False, repr=False)
    # The statement line holding the call (None in a compound statement's header or a
    # decorator): where its position is looked for when its text is not unique.
    line: cst.SimpleStatementLine | None = field(default=None, compare=False, repr=False)

    def kwarg(self, name: str) -> cst.Arg | None:
        for arg in self.node.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg
        return None

    def kwarg_is(self, name: str, literal: str) -> bool:
        """The keyword is given as this literal name (`disable=True`: "True"); a variable's
        value is unknown, so never."""
        arg = self.kwarg(name)
        return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == literal

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


# Node kinds the walk treats specially; every other node only has its children walked.
_CALL, _IMPORT, _FUNCTION, _CLASS, _LOOP, _FINALLY, _TRY, _WITH, _BLOCK, _LINE, _CONTEXT, _LINE_END = range(12)
_KINDS: dict[type, int] = {
    cst.Call: _CALL, cst.Import: _IMPORT, cst.ImportFrom: _IMPORT, cst.FunctionDef: _FUNCTION,
    cst.ClassDef: _CLASS, cst.For: _LOOP, cst.While: _LOOP, cst.Finally: _FINALLY, cst.Try: _TRY,
    cst.With: _WITH, cst.Module: _BLOCK, cst.IndentedBlock: _BLOCK,
    cst.SimpleStatementLine: _LINE,
    tuple: _CONTEXT,  # not a node: the walk's context to return to (see `_walk`)
    type(None): _LINE_END,  # not a node: a statement line's nodes are done
}
# Per node type: its code fields, last first (the order the walk pushes them in).
_FIELDS_BACKWARDS: dict[type, tuple[str, ...]] = {}
# Per value type: whether the walk visits it (a node holding code, not a leaf).
_WALKED: dict[type, bool] = {}


def _walked(value_type: type) -> bool:
    walked = _WALKED[value_type] = value_type not in _LEAVES and _is_node(value_type)
    return walked


def _fields_backwards(node_type: type) -> tuple[str, ...]:
    names = _FIELDS_BACKWARDS[node_type] = tuple(reversed(_code_fields(node_type)))
    return names


def collect(module: cst.Module, module_name: str = "") -> Facts:
    facts = Facts(ImportMap(module_name))
    facts.top_statements = tuple(module.body)
    _walk(module, facts)
    _resolve_calls(facts)
    return facts


def _walk(module: cst.Module, facts: Facts) -> None:
    """Every node once, depth first in source order, with the context of the calls it holds
    (enclosing function, loop depth, inside `finally`, enclosing class). The stack holds nodes
    and, where the context changes, the context to return to (a tuple) once the nodes above it
    are done: no per-node bookkeeping."""
    calls = facts.calls
    with_items: set[int] = set()
    statement_of: dict[int, cst.SimpleStatementLine] = {}
    function: str | None = None
    loops = 0
    in_finally = False
    klass: str | None = None
    line: cst.SimpleStatementLine | None = None  # statement lines hold no statements
    stack: list = [module]
    pop, push = stack.pop, stack.append
    kinds, fields_of, walked, through = _KINDS, _FIELDS_BACKWARDS, _WALKED, _PASS_THROUGH
    while stack:
        node = pop()
        node_type = type(node)
        kind = kinds.get(node_type)
        if kind is not None:
            if kind == _CONTEXT:
                function, loops, in_finally, klass = node
                continue
            if kind == _LINE_END:
                line = None
                continue
            if kind == _CALL:
                raw = dotted(node.func)
                name = last_name(node.func)
                calls.append(CallSite(node, raw, raw or name, name, False, function, loops,
                                      in_finally, id(node) in with_items,
                                      statement_of.get(id(node)), len(calls), line=line))
            elif kind == _IMPORT:
                facts.imports.add(node)
                continue
            elif kind == _LOOP:
                _push_loop(node, facts, push, (function, loops, in_finally, klass))
                continue
            elif kind == _FUNCTION:
                push((function, loops, in_finally, klass))
                function = _enter_function(node, facts, function, klass)
            elif kind == _CLASS:
                push((function, loops, in_finally, klass))
                klass = node.name.value
                facts.classes.setdefault(klass, node)
            elif kind == _FINALLY:
                push((function, loops, in_finally, klass))
                in_finally = True
            elif kind == _TRY:
                facts.tries.append(node)
            elif kind == _WITH:
                _note_with(node, facts, with_items)
            elif kind == _BLOCK:
                _note_block(node, facts)
            else:
                _note_line(node, facts, function, statement_of)
                push(None)  # once the line's nodes are done: out of it again
                line = node
        names = fields_of.get(node_type)
        if names is None:
            names = _fields_backwards(node_type)
        for name in names:
            value = getattr(node, name)
            value_type = type(value)
            if value_type is tuple or value_type is list:
                for child in reversed(value):
                    child_type = type(child)
                    field_name = through.get(child_type)
                    while field_name is not None:
                        child = getattr(child, field_name)
                        child_type = type(child)
                        field_name = through.get(child_type)
                    child_walked = walked.get(child_type)
                    if child_walked is None:
                        child_walked = _walked(child_type)
                    if child_walked:
                        push(child)
            else:
                field_name = through.get(value_type)
                while field_name is not None:
                    value = getattr(value, field_name)
                    value_type = type(value)
                    field_name = through.get(value_type)
                value_walked = walked.get(value_type)
                if value_walked is None:
                    value_walked = _walked(value_type)
                if value_walked:
                    push(value)


def _enter_function(node: cst.FunctionDef, facts: Facts, function: str | None,
                    klass: str | None) -> str:
    """The name calls inside this def are attributed to (`Class.method`; a nested def keeps its
    outer function's name), recorded in `facts.functions`."""
    name = node.name.value
    function = f"{klass}.{name}" if klass and function is None else (function or name)
    facts.functions.setdefault(function, node)
    return function


def _push_loop(node: cst.For | cst.While, facts: Facts, push, outer: tuple) -> None:
    """A loop's header runs once; only its body repeats: the body is walked one loop deeper."""
    if type(node) is cst.For:
        facts.loops_for.append(node)
    function, loops, in_finally, klass = outer
    inner = (function, loops + 1, in_finally, klass)
    body = node.body
    for child in reversed(_children(node)):
        if child is body:
            push(outer)  # after the body: back to the header's context
            push(child)
            push(inner)
        elif _WALKED.get(type(child)) is not False:
            push(child)


def _note_with(node: cst.With, facts: Facts, with_items: set[int]) -> None:
    for item in node.items:
        if isinstance(item.item, cst.Call):
            with_items.add(id(item.item))
            facts.with_of[id(item.item)] = node
        elif isinstance(item.item, cst.Name):
            facts.with_names.add(item.item.value)


def _note_block(node: cst.Module | cst.IndentedBlock, facts: Facts) -> None:
    body = tuple(node.body)
    blocks = facts.blocks
    for index, statement in enumerate(body):
        blocks[id(statement)] = (body, index, node)


def _note_line(node: cst.SimpleStatementLine, facts: Facts, function: str | None,
               statement_of: dict[int, cst.SimpleStatementLine]) -> None:
    """A statement line's assignments, and the calls that are a whole statement's value."""
    for small in node.body:
        small_type = type(small)
        if small_type is cst.Expr or small_type is cst.Assign:
            if type(small.value) is _Call:  # type: ignore[attr-defined]
                statement_of[id(small.value)] = node  # type: ignore[attr-defined]
            if small_type is cst.Assign:
                _record_assign(facts, small, node, function)  # type: ignore[arg-type]
        elif small_type is cst.AnnAssign and small.value is not None:  # type: ignore[attr-defined]
            _record_target(facts, small.target, small.value, node, function)  # type: ignore[attr-defined]


def _resolve_calls(facts: Facts) -> None:
    """Each call's name through the file's imports (`np.random.seed` -> `numpy.random.seed`)."""
    resolve = facts.imports.resolve
    for site in facts.calls:
        if site.raw is not None:
            resolved = resolve(site.raw)
            if resolved is not None:
                site.qual, site.imported = resolved, True


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
    expr_type = type(expr)
    if expr_type is _SimpleString:
        return _string_value(expr)  # type: ignore[arg-type]
    if expr_type is cst.ConcatenatedString:
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
