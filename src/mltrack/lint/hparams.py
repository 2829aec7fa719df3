"""Hyperparameters: where a training file defines them and which of them reach a tracker.

Sources: argparse options, config dicts (`config = {...}`), dataclass configs, module constants
(`LR = 1e-3`), literal arguments of optimizers / data loaders / `fit` / `TrainingArguments` /
estimators, and `for epoch in range(10)`. Coverage: a whole object logged (`vars(args)`,
`config`, `asdict(cfg)`, through a helper too) covers its group; MLflow autologging covers the
arguments of the framework calls it patches (mltrack.lint.autolog); `save_hyperparameters()`
covers the module's init arguments and `TrainingArguments(report_to=...)` everything; otherwise
names count one by one
(logged keys and the names used in logged values: `log_param("learning_rate", args.lr)` logs lr).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from mltrack.lint import autolog
from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite, _children, dotted, is_literal, literal_string, names_in
from mltrack.lint.trackers import lightning_logs

_NOT_HPARAM = re.compile(
    r"(^|_)(dir|path|paths|file|files|root|output|out|device|cuda|gpu|gpus|workers|log|logs|save|"
    r"print|verbose|debug|uri|url|resume|checkpoint|ckpt|dry|wandb|mlflow|project|entity|tag|"
    r"tags|interval|experiment|run|local|rank|world|port|host|no|amp|fp16|bf16|cpu|mps|"
    r"download|eval|export|config|cfg|data|dataset|model_dir|cache|plot|show|quiet|report|"
    r"top|topk)($|_)"  # `--top_n` runs to re-evaluate, sampling's `--top_k`: not training settings
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
    top = _top_level_names(facts)
    for name, value in facts.module_assigns.items():  # `learning_rate = 1e-3`, `num_epochs = 5`
        if name in top and not name.isupper() and _is_number(value) and _HP_CONSTANT.search(name.upper()) \
                and not _NOT_HPARAM.search(name.lower()):
            constants[name] = value
            report.sources.append(HParam(name, value, frozenset(), frozenset({name})))
    _attribute_sources(ctx, report)
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
                (key, e) for e in value.elements
                if isinstance(e, cst.DictElement) and is_literal(e.value) and (key := literal_string(e.key))
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


def _top_level_names(facts) -> set[str]:
    """Names assigned by the module's own statements (not in a class body)."""
    names: set[str] = set()
    for statement in facts.top_statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else (
                    [small.target] if isinstance(small, cst.AnnAssign) else [])
                names |= {t.value for t in targets if isinstance(t, cst.Name)}
    return names


def _is_number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation):
        expr = expr.expression
    return isinstance(expr, (cst.Integer, cst.Float))


# Settings read from a config object or namespace whose definition is elsewhere (a parser built
# in another module, a Hydra/OmegaConf config, a yacs CfgNode, a config dict filled key by key).
_HP_ATTRIBUTE = re.compile(r"(^|_)(lr|learning_rate|batch_size|bs|epochs?|num_epochs|n_epochs|"
                           r"max_epochs|momentum|weight_decay|wd|dropout|hidden(_\w+)?|warmup\w*|"
                           r"gamma|num_layers|n_layers|layers|num_heads|n_heads|heads|embed\w*|"
                           r"depth|max_depth|n_estimators|alpha|beta[12s]?|base_lr|max_iter|"
                           r"iters|iterations|num_steps|max_steps|grad_clip|clip_grad\w*|"
                           r"temperature|label_smoothing|block_size|n_embd|n_head|n_layer)$")
_CONFIG_FACTORIES = re.compile(r"^(get_cfg|get_config|load_config|setup_cfg|setup|get_args|"
                               r"parse_args|parse_opt|parse_opts|get_opts|get_parser_args|"
                               r"get_hparams|get_hyperparameters)$")


def _config_vars(ctx: FileContext, report: HParamReport) -> set[str]:
    """Names that hold settings defined outside this file: a namespace returned by a parser in
    another module (`args = utils.parse_args()`), `cfg = get_cfg()`, `OmegaConf.load(...)`,
    Hydra's `@hydra.main` config parameter, and an imported `cfg`/`config` object."""
    facts = ctx.facts
    found: set[str] = set()
    for name, values in facts.assigns.items():
        for value in values:
            factory = isinstance(value, cst.Call) and (
                _CONFIG_FACTORIES.match(_last(value.func))
                or (dotted(value.func) or "").startswith(("OmegaConf.", "hydra.")))
            if factory and (_CONFIGISH.search(name) or name in report.args_vars):
                found.add(name)
    for function in facts.functions.values():
        for decorator in function.decorators:
            target = decorator.decorator
            target = target.func if isinstance(target, cst.Call) else target
            if _last(target) == "main" and "hydra" in (dotted(target) or "") and function.params.params:
                found.add(function.params.params[0].name.value)
    for name in ("cfg", "config", "_C", "C", "opt", "args", "FLAGS"):
        if facts.imports.resolve(name) is not None and name not in facts.module_assigns:
            found.add(name)  # `from config import cfg`, tf's `FLAGS`
    return found


def _attribute_sources(ctx: FileContext, report: HParamReport) -> None:
    """`cfg.SOLVER.BASE_LR`, `args.lr`, `config["lr"] = 0.1`: settings named by what is read or
    set. Only names that say they are hyperparameters count; the whole object logged covers them.
    Parsers in this file are judged by their `add_argument` calls instead."""
    facts = ctx.facts
    for target, key, value, statement in facts.attr_assigns:  # config["lr"] = 0.1, cfg.lr = 0.1
        base, _, attr = target.rpartition(".")
        name, group = (key, target) if key else (attr, base)
        if name and group and _CONFIGISH.search(group.split(".", 1)[0]) and _is_number(value) \
                and not _NOT_HPARAM.search(name.lower()):
            report.sources.append(HParam(name, statement, frozenset({group.split(".", 1)[0]})))
    if any(site.name == "add_argument" for site in facts.calls):
        return
    holders = _config_vars(ctx, report)
    if not holders:
        return
    groups = frozenset(holders)
    seen: set[str] = set()
    for site in facts.calls:
        for arg in site.node.args:
            for name, node in _reads(arg.value, holders):
                if name.lower() not in seen and _HP_ATTRIBUTE.search(name.lower()):
                    seen.add(name.lower())
                    report.sources.append(HParam(name, node, groups))


def _reads(expr: cst.BaseExpression, holders: set[str]):
    """(attribute, node) for `holder.x` / `holder.a.x` / `holder["x"]` inside an expression."""
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute):
            text = dotted(node)
            if text is not None and text.split(".", 1)[0] in holders and "." in text:
                yield text.rsplit(".", 1)[1], node
                continue
        elif isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) \
                and node.value.value in holders and len(node.slice) == 1:
            index = node.slice[0].slice
            key = literal_string(index.value) if isinstance(index, cst.Index) else None
            if key:
                yield key, node
                continue
        stack.extend(_children(node))


def _is_dataclass_like(klass: cst.ClassDef) -> bool:
    decorated = any("dataclass" in _last(d.decorator.func if isinstance(d.decorator, cst.Call)
                                         else d.decorator) for d in klass.decorators)
    based = any(_last(b.value) in ("BaseModel", "BaseSettings", "NamedTuple") for b in klass.bases)
    return decorated or based


def _argparse_source(site: CallSite, report: HParamReport, groups: frozenset[str]) -> None:
    options = [o for a in site.node.args if a.keyword is None and (o := literal_string(a.value))]
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
    elif name == "train" and site.imported and qual.split(".", 1)[0] in ("xgboost", "lightgbm"):
        # xgb.train(params, dtrain, 100): rounds come third, or by keyword with early stopping
        wanted = {"num_boost_round", "early_stopping_rounds"}
        rounds = site.positional(2)
        if rounds is not None and (_is_number(rounds.value) or (
                isinstance(rounds.value, cst.Name) and rounds.value.value in constants)):
            report.sources.append(HParam("num_boost_round", rounds))
    else:
        return
    if wanted is _OPTIMIZER_KW:
        lr = site.positional(1)  # torch.optim.SGD(params, 0.1): lr is the second argument
        if lr is not None and _is_number(lr.value):
            report.sources.append(HParam("lr", lr))
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
    turned_on = autolog.flavors(ctx)
    if turned_on:
        _autolog_coverage(ctx, report, turned_on)
    for site in facts.calls:
        effects = ctx.effects(site)
        root = site.qual.split(".", 1)[0] if site.imported else ""
        if site.name == "save_hyperparameters" and not site.imported:
            if lightning_logs(site):  # `logger=False` keeps them in the checkpoint only
                _save_hyperparameters(ctx, site, report)
            continue
        if root == "mlflow" and site.name == "autolog":
            continue  # judged above by what its integrations record
        if site.name == "TrainingArguments" and "log:params:all" in effects:
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
        if (target.endswith(".config") or target == "config" and _wandb_config(ctx)) and key:
            report.logged.add(norm(key))
            report.logged |= {norm(n) for n in names_in(value)}
        elif ".config." in f"{target}." and target.startswith(("wandb", "run")):
            report.logged.add(norm(target.rsplit(".", 1)[-1]))
            report.logged |= {norm(n) for n in names_in(value)}


def _autolog_coverage(ctx: FileContext, report: HParamReport, turned_on: frozenset[str]) -> None:
    """MLflow autologging logs the arguments of the framework calls it patches (see
    mltrack.lint.autolog, which cites mlflow's source): the estimator's constructor arguments,
    Keras `fit` keywords and optimizer config, a booster's params and rounds, Lightning's epochs
    and optimizer defaults, `TrainingArguments`. A value that reaches none of those (a
    hand-written PyTorch loop's lr, `train_test_split`'s test size) stays unlogged."""
    if autolog.unmodelled(ctx, turned_on):
        report.all_covered = True  # an integration or a helper's framework not modelled here
        return
    report.logged |= {norm(name) for name in autolog.lightning_names(ctx, turned_on)}
    for site, every_argument in autolog.logged_calls(ctx, turned_on):
        for arg in site.node.args:
            if arg.keyword is not None:
                report.logged.add(norm(arg.keyword.value))
            elif not every_argument:
                continue  # Keras logs `fit`'s keywords only
            _logged_value(ctx, arg.value, report)


def _save_hyperparameters(ctx: FileContext, site, report: HParamReport) -> None:
    """Lightning's `self.save_hyperparameters()` logs the arguments of the `__init__` it is called
    in (lightning/pytorch/utilities/parsing.py collects the caller's init args), the ones it
    names, or a dict/namespace it is handed - not a script's other settings (`--batch_size`)."""
    handed = [a for a in site.node.args if a.keyword is None]
    if handed:
        for arg in handed:
            text = literal_string(arg.value)
            if text:
                report.logged.add(norm(text))
            else:
                _logged_value(ctx, arg.value, report)
        return
    function = ctx.facts.functions.get(site.function or "")
    params = function.params if function is not None and site.function.endswith(".__init__") else None
    if params is None or params.star_kwarg is not None or isinstance(params.star_arg, cst.Param):
        report.all_covered = True  # `**kwargs` or an unknown scope: whatever it was given
        return
    ignore = site.kwarg("ignore")
    ignored = {literal_string(e.value) for e in getattr(ignore.value, "elements", ())} if ignore else set()
    if ignore is not None and literal_string(ignore.value):
        ignored.add(literal_string(ignore.value))
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value not in ("self", *ignored):
            report.logged.add(norm(param.name.value))


def _wandb_config(ctx: FileContext) -> bool:
    """`config = wandb.config`: keys set on it are logged."""
    return any((dotted(v) or "").endswith(".config") for v in ctx.facts.assigns.get("config", ()))


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
