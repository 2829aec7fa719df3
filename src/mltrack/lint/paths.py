"""Is a path expression the same on every run? (model-overwrite, unversioned-predictions)

Fixed: literals, f-strings and joins of fixed parts, argparse/config values (their defaults are
literals), loop counters such as the epoch number. Per run: anything naming a run id, a
timestamp, a uuid, a temporary or run-specific directory. Unknown (a function parameter): not
judged, so the rules stay quiet.
"""

from __future__ import annotations

import re

import libcst as cst

from mltrack.lint.context import FileContext

RUN_SPECIFIC = re.compile(
    r"run_id|run\.info|run\.id|run\.name|run_name|wandb\.run|uuid|time|datetime|strftime|now\(|"
    r"timestamp|mkdtemp|tempfile|TemporaryDirectory|artifact_uri|log_dir|logdir|version|hydra|"
    r"getpid|tmp|output_dir_for_run|run_dir|\brun\b",
    re.I,
)
_CONFIG_ROOTS = ("args", "opt", "opts", "cfg", "config", "conf", "hparams", "params", "flags",
                 "settings", "training_args", "FLAGS")


def shown(code: str, width: int = 60) -> str:
    """Source text short enough to quote in a finding's message."""
    return code if len(code) <= width else code[:width - 3] + "..."


def is_fixed_path(ctx: FileContext, expr: cst.BaseExpression, depth: int = 0) -> bool | None:
    """True: same path every run; False: varies per run; None: cannot tell."""
    if depth > 4:
        return None
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.Integer)):
        return True  # a literal is the same every run, even "/tmp/model.ckpt"
    # composites are judged by their parts (`log_dir + "w.h5"` where `log_dir = "logs/000/"`)
    composite = isinstance(expr, (cst.BinaryOperation, cst.FormattedString)) or (
        isinstance(expr, cst.Name) and expr.value in ctx.facts.assigns)
    if not composite and RUN_SPECIFIC.search(ctx.code(expr)):
        return False
    if isinstance(expr, cst.FormattedString):
        parts = [p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression)]
        return _all_fixed(ctx, parts, depth, loop_vars_ok=True)
    if isinstance(expr, cst.Name):
        values = ctx.facts.assigns.get(expr.value)
        if not values:
            values = _loop_values(ctx, expr.value)
        if not values:
            return None  # a parameter: the caller decides
        verdicts = [is_fixed_path(ctx, v, depth + 1) for v in values]
        if any(v is False for v in verdicts):
            return False
        return True if all(verdicts) else None
    if isinstance(expr, cst.Attribute):
        root: cst.BaseExpression = expr
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name) and root.value in _CONFIG_ROOTS:
            return True
        return None
    if isinstance(expr, cst.Subscript):
        return True if isinstance(expr.value, cst.Name) and expr.value.value in _CONFIG_ROOTS else None
    if isinstance(expr, cst.BinaryOperation):
        if isinstance(expr.operator, cst.Modulo):  # "G_%d.pth" % epoch: an epoch number
            right = expr.right
            parts = [e.value for e in right.elements] if isinstance(right, cst.Tuple) else [right]
            return _all_fixed(ctx, [expr.left, *parts], depth, loop_vars_ok=True)
        pending: list[cst.BaseExpression] = [expr]  # a chain of `+`: one level, however long
        parts = []
        while pending:
            node = pending.pop()
            if isinstance(node, cst.BinaryOperation) and not isinstance(node.operator, cst.Modulo):
                pending += [node.right, node.left]
            else:
                parts.append(node)
        return _all_fixed(ctx, parts, depth)
    if isinstance(expr, cst.Call):
        name = expr.func.attr.value if isinstance(expr.func, cst.Attribute) else (
            expr.func.value if isinstance(expr.func, cst.Name) else "")
        if name in ("join", "Path", "str", "format", "joinpath", "PurePath", "open", "with_suffix"):
            parts = [a.value for a in expr.args]
            if isinstance(expr.func, cst.Attribute) and name != "join":
                parts.append(expr.func.value)
            # `"ckpt_{}.pt".format(epoch)`, `"ckpt_" + str(epoch)`: an epoch number
            return _all_fixed(ctx, parts, depth, loop_vars_ok=name in ("format", "str"))
    return None


def _all_fixed(ctx: FileContext, parts, depth: int, loop_vars_ok: bool = False) -> bool | None:
    verdicts: list[bool | None] = []
    for part in parts:
        if loop_vars_ok and isinstance(part, cst.Name) and _is_counter(ctx, part.value):
            verdicts.append(True)  # an epoch number: the same names come back next run
            continue
        verdicts.append(is_fixed_path(ctx, part, depth + 1))
    if any(v is False for v in verdicts):
        return False
    return True if verdicts and all(verdicts) else None


def _is_counter(ctx: FileContext, name: str) -> bool:
    return any(
        isinstance(loop.target, cst.Name) and loop.target.value == name for loop in ctx.facts.loops_for
    ) or name in ("epoch", "step", "i", "global_step", "fold")


def _loop_values(ctx: FileContext, name: str) -> list[cst.BaseExpression]:
    """`for path in [a, b]:` (or over a name bound to such a list): the values `path` takes."""
    for loop in ctx.facts.loops_for:
        if isinstance(loop.target, cst.Name) and loop.target.value == name:
            source = loop.iter
            if isinstance(source, cst.Name) and len(ctx.facts.assigns.get(source.value, ())) == 1:
                source = ctx.facts.assigns[source.value][0]
            if isinstance(source, (cst.List, cst.Tuple)) and source.elements:
                return [element.value for element in source.elements]
            return []
    return []
