"""Hyperparameters: where a training file defines them and which of them reach a tracker.

Sources: argparse options, config dicts (`config = {...}`), dataclass configs, module constants
(`LR = 1e-3`), literal arguments of optimizers / data loaders / `fit` / `TrainingArguments` /
estimators, and `for epoch in range(10)`. Coverage: a whole object logged (`vars(args)`,
`config`, `asdict(cfg)`, through a helper too) covers its group; autolog, `save_hyperparameters()`
and `TrainingArguments(report_to=...)` cover everything; otherwise names count one by one
(logged keys and the names used in logged values: `log_param("learning_rate", args.lr)` logs lr).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite, is_literal, literal_string, names_in

_NOT_HPARAM = re.compile(
    r"(^|_)(dir|path|paths|file|files|root|output|out|device|cuda|gpu|gpus|workers|log|logs|save|"
    r"print|verbose|debug|uri|url|resume|checkpoint|ckpt|dry|wandb|mlflow|project|entity|tag|"
    r"tags|interval|experiment|run|local|rank|world|port|host|no|amp|fp16|bf16|cpu|mps|"
    r"download|eval|export|config|cfg|data|dataset|model_dir|cache|plot|show|quiet|report)($|_)"
)
_NAME_NOT_HPARAM = re.compile(r"^(run|exp|experiment|project|job|wandb|mlflow)_?name$")
_CONFIGISH = re.compile(r"conf|cfg|hparam|hyper|param|setting|args|opts|options", re.I)
_HP_CONSTANT = re.compile(
    r"LR|LEARNING_RATE|BATCH|EPOCH|MOMENTUM|DECAY|HIDDEN|DROPOUT|GAMMA|STEPS|LAYERS|HEADS|EMBED|"
    r"WARMUP|DIM|ESTIMATORS|DEPTH|ALPHA|BETA"
)
_SYNONYMS = [
    {"lr", "learningrate"},
    {"epochs", "numepochs", "nepochs", "maxepochs", "epoch", "numtrainepochs"},
    {"batchsize", "bs", "trainbatchsize", "perdevicetrainbatchsize"},
    {"weightdecay", "wd"},
]
_OPTIMIZER_KW = {"lr", "momentum", "weight_decay", "betas", "eps", "nesterov", "alpha",
                 "learning_rate", "rho", "dampening"}
_CALL_KW = {
    "DataLoader": {"batch_size"},
    "fit": {"epochs", "batch_size"},
    "Trainer": {"max_epochs", "max_steps", "accumulate_grad_batches", "gradient_clip_val"},
    "TrainingArguments": {"learning_rate", "num_train_epochs", "per_device_train_batch_size",
                          "weight_decay", "warmup_steps", "warmup_ratio", "max_steps",
                          "gradient_accumulation_steps"},
}
_SKLEARN_SKIP = {"random_state", "n_jobs", "verbose", "warm_start"}
_LOG_CALLS = {"log_param", "log_params", "log_dict", "add_hparams", "log_hyperparams",
              "init_trackers"}


def norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _variants(name: str) -> set[str]:
    key = norm(name)
    for group in _SYNONYMS:
        if key in group:
            return set(group)
    return {key}


@dataclass
class HParam:
    name: str
    node: cst.CSTNode
    groups: frozenset[str] = frozenset()  # variables whose wholesale logging covers it
    aliases: frozenset[str] = frozenset()


@dataclass
class HParamReport:
    sources: list[HParam] = field(default_factory=list)
    all_covered: bool = False
    covered_vars: set[str] = field(default_factory=set)
    logged: set[str] = field(default_factory=set)  # normalised names
    args_vars: set[str] = field(default_factory=set)

    def is_logged(self, hp: HParam) -> bool:
        if self.all_covered or hp.groups & self.covered_vars:
            return True
        names = _variants(hp.name).union(*(_variants(a) for a in hp.aliases))
        return bool(names & self.logged)

    def missing(self) -> list[HParam]:
        seen: set[str] = set()
        out = []
        for hp in self.sources:
            if norm(hp.name) in seen or self.is_logged(hp):
                continue
            seen.add(norm(hp.name))
            out.append(hp)
        return out


def analyze_hparams(ctx: FileContext) -> HParamReport:
    report = HParamReport()
    facts = ctx.facts
    report.args_vars = {
        name for name, values in facts.assigns.items()
        for value in values
        if isinstance(value, cst.Call) and _last(value.func) in (
            "parse_args", "parse_known_args", "parse_args_into_dataclasses", "get_args")
    } or {"args", "opt", "opts", "flags", "hparams"}
    _sources(ctx, report)
    _coverage(ctx, report)
    return report


def _last(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def _sources(ctx: FileContext, report: HParamReport) -> None:
    facts = ctx.facts
    args_groups = frozenset(report.args_vars)
    constants = {
        name: value for name, value in facts.module_assigns.items()
        if name.isupper() and is_literal(value)
    }
    for name, value in constants.items():
        if _HP_CONSTANT.search(name) and not isinstance(value, cst.SimpleString):
            report.sources.append(HParam(name.lower(), value, frozenset(), frozenset({name})))
    for site in facts.calls:
        if site.name == "add_argument":
            _argparse_source(site, report, args_groups)
        else:
            _call_source(ctx, site, report, constants)
    for name, values in facts.assigns.items():
        value = values[0]
        if isinstance(value, cst.Dict) and _CONFIGISH.search(name):
            # a config holds literal settings; a dict of arrays (JAX params) is not one
            literal = [
                (literal_string(e.key), e) for e in value.elements
                if isinstance(e, cst.DictElement) and is_literal(e.value) and literal_string(e.key)
            ]
            for key, element in literal if len(literal) >= 2 else ():
                if not _NOT_HPARAM.search(key.lower()):
                    report.sources.append(HParam(key, element, frozenset({name})))
    for class_name, klass in facts.classes.items():
        if not _CONFIGISH.search(class_name) or not _is_dataclass_like(klass):
            continue
        groups = {n for n, vs in facts.assigns.items()
                  if any(isinstance(v, cst.Call) and _last(v.func) == class_name for v in vs)}
        groups |= {"cfg", "config", "args", "conf", "hparams", "params"}
        for statement in klass.body.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        field_name = small.target.value
                        if small.value is not None and not _NOT_HPARAM.search(field_name.lower()):
                            report.sources.append(HParam(field_name, small, frozenset(groups)))
    for loop in facts.loops_for:
        target = loop.target
        if isinstance(target, cst.Name) and "epoch" in target.value.lower():
            it = loop.iter
            if (isinstance(it, cst.Call) and _last(it.func) == "range" and it.args
                    and isinstance(it.args[-1].value, cst.Integer)):
                report.sources.append(HParam("epochs", it.args[-1].value))


def _is_dataclass_like(klass: cst.ClassDef) -> bool:
    decorated = any("dataclass" in _last(d.decorator.func if isinstance(d.decorator, cst.Call)
                                         else d.decorator) for d in klass.decorators)
    based = any(_last(b.value) in ("BaseModel", "BaseSettings", "NamedTuple") for b in klass.bases)
    return decorated or based


def _argparse_source(site: CallSite, report: HParamReport, groups: frozenset[str]) -> None:
    options = [literal_string(a.value) for a in site.node.args if a.keyword is None]
    options = [o for o in options if o]
    dest = site.kwarg("dest")
    name = literal_string(dest.value) if dest is not None else None
    if name is None:
        longs = [o for o in options if o.startswith("--")]
        plain = [o for o in options if not o.startswith("-")]
        chosen = (longs or plain or options or [""])[0]
        name = chosen.lstrip("-").replace("-", "_")
    if name and not _NOT_HPARAM.search(name.lower()) and not _NAME_NOT_HPARAM.match(name.lower()):
        report.sources.append(HParam(name, site.node, groups))


def _call_source(ctx: FileContext, site: CallSite, report: HParamReport, constants) -> None:
    qual, name = site.qual, site.name
    if site.imported and (".optim." in qual or ".optimizers." in qual) and "lr_scheduler" not in qual:
        wanted = _OPTIMIZER_KW
    elif name in _CALL_KW:
        wanted = _CALL_KW[name]
    elif site.imported and qual.split(".", 1)[0] in ("sklearn", "xgboost", "lightgbm") and name[:1].isupper():
        wanted = None  # every literal argument of an estimator is a hyperparameter
    else:
        return
    for arg in site.node.args:
        if arg.keyword is None:
            continue
        keyword = arg.keyword.value
        if wanted is None and keyword in _SKLEARN_SKIP or wanted is not None and keyword not in wanted:
            continue
        value = arg.value
        if is_literal(value) and not (isinstance(value, cst.Name) and value.value == "None"):
            report.sources.append(HParam(keyword, arg))
        elif isinstance(value, cst.Name) and value.value in constants:
            if not _HP_CONSTANT.search(value.value):
                report.sources.append(HParam(keyword, arg, frozenset(), frozenset({value.value})))


def _whole_objects(expr: cst.BaseExpression) -> set[str]:
    """Variables logged as a whole: `vars(args)`, `args.__dict__`, `asdict(cfg)`, `cfg`."""
    if isinstance(expr, cst.Name):
        return {expr.value}
    if isinstance(expr, cst.Call):
        found: set[str] = set()
        if isinstance(expr.func, cst.Attribute):  # cfg.to_dict(), OmegaConf.to_container(cfg)
            found |= _whole_objects(expr.func.value) if isinstance(expr.func.value, cst.Name) and \
                expr.func.value.value[:1].islower() else set()
        for arg in expr.args:
            if arg.keyword is None:
                found |= _whole_objects(arg.value)
        return found
    if isinstance(expr, cst.Attribute) and expr.attr.value == "__dict__":
        return _whole_objects(expr.value)
    if isinstance(expr, cst.Dict):
        found = set()
        for element in expr.elements:
            if isinstance(element, cst.StarredDictElement):
                found |= _whole_objects(element.value)
        return found
    return set()


def _coverage(ctx: FileContext, report: HParamReport) -> None:
    facts = ctx.facts
    for site in facts.calls:
        effects = ctx.effects(site)
        root = site.qual.split(".", 1)[0] if site.imported else ""
        if (root == "mlflow" and site.name == "autolog") or site.name == "save_hyperparameters" or (
            site.name == "TrainingArguments" and "log:params:all" in effects
        ):
            report.all_covered = True
            continue
        is_log = (site.name in _LOG_CALLS and (root in ("mlflow", "wandb") or not site.imported)) or (
            site.name == "update" and "config" in (site.raw or "")) or (
            root == "wandb" and site.name == "init")
        if is_log:
            for arg in site.node.args:
                if arg.keyword is not None and arg.keyword.value not in ("config", "params", "hparam_dict"):
                    continue
                _logged_value(ctx, arg.value, report)
        elif "log:params:all" in effects or "log:params" in effects:
            for arg in site.node.args:  # a helper that logs what it is given
                report.covered_vars |= _whole_objects(arg.value)
    for target, key, value, _statement in facts.attr_assigns:
        if target.endswith("config") and key:
            report.logged.add(norm(key))
            report.logged |= {norm(n) for n in names_in(value)}
        elif ".config." in f"{target}." and target.startswith(("wandb", "run")):
            report.logged.add(norm(target.rsplit(".", 1)[-1]))
            report.logged |= {norm(n) for n in names_in(value)}


def _logged_value(
    ctx: FileContext, value: cst.BaseExpression, report: HParamReport, seen: set[str] | None = None
) -> None:
    seen = set() if seen is None else seen
    if isinstance(value, cst.SimpleString):
        text = literal_string(value)
        if text:
            report.logged.add(norm(text))
        return
    if isinstance(value, cst.Dict):
        for element in value.elements:
            if isinstance(element, cst.DictElement):
                key = literal_string(element.key)
                if key:
                    report.logged.add(norm(key))
                report.logged |= {norm(n) for n in names_in(element.value)}
            else:
                report.covered_vars |= _whole_objects(element.value)
        return
    if isinstance(value, cst.Call) and _last(value.func) == "dict":
        for arg in value.args:
            if arg.keyword is not None:
                report.logged.add(norm(arg.keyword.value))
                report.logged |= {norm(n) for n in names_in(arg.value)}
            else:
                report.covered_vars |= _whole_objects(arg.value)
        return
    whole = _whole_objects(value)
    report.covered_vars |= whole
    for name in whole - seen:  # a dict variable built from chosen keys logs those keys
        seen.add(name)
        for assigned in ctx.facts.assigns.get(name, ()):
            if isinstance(assigned, (cst.Dict, cst.Call)):
                _logged_value(ctx, assigned, report, seen)
    report.logged |= {norm(n) for n in names_in(value)}
