"""Which random generators a training file uses and which it seeds (shared by the seed rules)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.effects import GENERATORS
from mltrack.lint.facts import CallSite

LABELS = {
    "torch": "torch",
    "numpy": "NumPy's global generator",
    "random": "Python's `random`",
    "tensorflow": "TensorFlow",
}


@dataclass
class SeedState:
    seeded: set[str]
    first_use: dict[str, CallSite]  # generator -> first call that draws from it

    @property
    def unseeded(self) -> list[str]:
        return [g for g in GENERATORS if g in self.first_use and g not in self.seeded]


def seed_state(ctx: FileContext) -> SeedState:
    cached = getattr(ctx, "_seed_state", None)
    if cached is not None:
        return cached
    seeded = {g for g in GENERATORS if f"seed:{g}" in ctx.file_effects}
    first_use: dict[str, CallSite] = {}
    for site in ctx.calls:
        for effect in ctx.direct(site):
            if effect.startswith("rand:"):
                first_use.setdefault(effect[5:], site)
    for site in ctx.calls:  # a helper of another project module draws (`data_generator(n)`)
        if site.imported:
            for effect in ctx.effects(site) - ctx.direct(site):
                if effect.startswith("rand:"):
                    first_use.setdefault(effect[5:], site)
    state = SeedState(seeded, first_use)
    ctx._seed_state = state  # type: ignore[attr-defined]
    return state


def late_seeds(ctx: FileContext) -> dict[str, tuple[CallSite, CallSite]]:
    """Generators seeded only after they were first drawn from: generator -> (first draw, first
    seed). Judged within one scope (a function, or module level), in source order, and only when
    every call that seeds the generator is in that scope - straight-line code where the draw
    certainly runs first (`model = nn.Linear(...)` then `torch.manual_seed(0)`)."""
    state = seed_state(ctx)
    late: dict[str, tuple[CallSite, CallSite]] = {}
    for generator in state.seeded:
        # seed calls and seeding helpers (`set_seed(0)`); not `main()`, which seeds and trains
        seeds = [s for s in ctx.calls if f"seed:{generator}" in ctx.effects(s)
                 and (f"seed:{generator}" in ctx.direct(s) or "train" not in ctx.effects(s))]
        scopes = {s.function for s in seeds}
        if len(scopes) != 1:
            continue
        scope = scopes.pop()
        first_seed = min(seeds, key=lambda s: s.order)
        draws = [s for s in ctx.calls if s.function == scope and s.order < first_seed.order
                 and f"rand:{generator}" in ctx.direct(s)]
        if draws and first_seed.loops == 0:
            late[generator] = (draws[0], first_seed)
    return late


def reseeds(ctx: FileContext) -> list[tuple[str, CallSite]]:
    """(generator, call) for `np.random.seed(None)` / `random.seed()` in a file that seeds that
    generator and draws from it after the call (later in the same scope, or in a function): the
    call throws the seed away and re-seeds from OS entropy."""
    state = seed_state(ctx)
    found = []
    for site in ctx.calls:
        for effect in ctx.direct(site):
            if not effect.startswith("unseed:") or effect[7:] not in state.seeded:
                continue
            generator = effect[7:]
            if any(f"rand:{generator}" in ctx.direct(d) and (
                    d.function != site.function or d.order > site.order) for d in ctx.calls):
                found.append((generator, site))
    return found


def seed_call(ctx: FileContext, generator: str, argument: str) -> str | None:
    """Source of a call seeding `generator` with the names this file already imports."""
    if generator == "torch":
        alias = ctx.local_name("torch")
        return alias and f"{alias}.manual_seed({argument})"
    if generator == "numpy":
        alias = ctx.local_name("numpy")
        return alias and f"{alias}.random.seed({argument})"
    if generator == "random":
        alias = ctx.local_name("random")
        return alias and f"{alias}.seed({argument})"
    v1 = ctx.local_name("tensorflow.compat.v1")
    if v1:
        return f"{v1}.set_random_seed({argument})"
    alias = ctx.local_name("tensorflow")
    if alias and _tf1(ctx):
        return f"{alias}.set_random_seed({argument})"  # TF1 has no tf.random.set_seed
    return alias and f"{alias}.random.set_seed({argument})"


_TF1_NAMES = frozenset({"Session", "InteractiveSession", "placeholder", "global_variables_initializer",
                        "initialize_all_variables", "get_variable", "set_random_seed"})


def _tf1(ctx: FileContext) -> bool:
    """TensorFlow 1 graph-mode code (`tf.Session`, `tf.placeholder`, `tf.contrib`), where the
    graph-level seed is `tf.set_random_seed` (TF2 moved it to `tf.random.set_seed`)."""
    for site in ctx.calls:
        qual = site.qual if site.imported else ""
        if qual.startswith("tensorflow.") and (
                site.name in _TF1_NAMES or qual.startswith(("tensorflow.contrib.", "tensorflow.compat.v1."))):
            return True
    return False


def last_leading_import(ctx: FileContext) -> cst.CSTNode | None:
    """The last import of the file's leading import block (where seed calls go)."""
    found = None
    for statement in ctx.facts.top_statements:
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
        ):
            found = statement
        elif isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, cst.Expr) and isinstance(s.value, (cst.SimpleString, cst.ConcatenatedString))
            for s in statement.body
        ):
            continue  # the module docstring
        elif found is not None or not isinstance(statement, (cst.If, cst.Try)):
            break
    return found
