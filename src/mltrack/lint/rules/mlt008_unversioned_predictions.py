"""## What it does
Flags predictions written to a file (`DataFrame.to_csv/to_parquet/to_json`, `np.save`,
`np.savetxt`, `json.dump`, `joblib.dump`, `torch.save` of something named like predictions or a
submission) when nothing records which model and which inputs produced them: no `model_version`,
`model_uri`, `run_id`, `input_hash`-style column or key, no artifact logged to the run (MLflow
autologging's model counts where its integration logs one - not over a hand-written PyTorch loop),
and no run id or version in the file name.

Inference and evaluation scripts - files whose top-level code loads a trained model or checkpoint
(`torch.load`, `load_state_dict`, `from_pretrained`, `load_model`, `pickle.load`, a
`checkpoint_path=` argument) and trains nothing - are judged on every output they write,
whatever its name: generated text (`open(path, "w")`), images (PIL `Image.save`,
`torchvision.utils.save_image` or a `save_image` helper, `cv2.imwrite`), figures
(`plt.savefig`), arrays (`np.save`, `np.savez`) and tables (`DataFrame.to_csv`), written there or
by a helper of another project module it calls (`detect_video(yolo, src, out)`), unless the file
logs to a tracker run, records a model version or input hash, or writes its parsed options (the
checkpoint path among them) to a file with `yaml.dump(vars(opt), f)` / `json.dump`.

## Why is this bad?
"Which model and which data made prediction 12345?" has no answer once the file leaves the
script: predictions without lineage cannot be audited or reproduced.

## Example
```python
preds = model.predict(X)
pd.DataFrame({"id": ids, "pred": preds}).to_csv("predictions.csv")
```

## Use instead
```python
out = pd.DataFrame({"id": ids, "pred": preds})
out["model_version"] = model_version
out["input_hash"] = input_hash
out.to_csv("predictions.csv")
```

## Options
None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst

from mltrack.lint import autolog
from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite, literal_string
from mltrack.lint.paths import RUN_SPECIFIC, shown
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.lint.saves import forwarders, opened_path, saved_path
from mltrack.model import Finding

_PREDICTIONS = re.compile(r"pred|submission|inference|forecast", re.I)
_LINEAGE = re.compile(r"model_version|model_uri|run_id|model_name|input_hash|data_hash|"
                      r"input_sha|data_sha|model_sha|data_version|model_id", re.I)
_WRITERS = {"to_csv": 0, "to_parquet": 0, "to_json": 0, "to_feather": 0, "to_excel": 0}
# call -> (index of what is written, index of where)
_FUNCTIONS = {"numpy.save": (1, 0), "numpy.savetxt": (1, 0), "json.dump": (0, 1),
              "joblib.dump": (0, 1), "torch.save": (0, 1), "pickle.dump": (0, 1)}


_DETECT = ("import cv2\nfrom keras.models import load_model\n\nclass Detector:\n"
           "    def __init__(self, path):\n        self.model = load_model(path)\n\n"
           "def detect_video(det, src, dst):\n    out = cv2.VideoWriter(dst, fourcc, 30, size)\n"
           "    out.write(det.model.predict(frame))\n")
_SAMPLES = ("from torchvision.utils import save_image\n\ndef save_samples(G, folder):\n"
            "    save_image(G(z), folder + 'grid.png')\n")


class UnversionedPredictions(Rule):
    code = "MLT008"
    name = "unversioned-predictions"
    summary = "Predictions written with no model version or input hash next to them"
    VALID = (
        # sklearn's autologging logs the fitted model as an artifact of the run
        "import mlflow\nimport pandas as pd\nfrom sklearn.linear_model import Ridge\n"
        "mlflow.autolog()\nm = Ridge().fit(X, y)\n"
        "pd.DataFrame({'pred': m.predict(X_test)}).to_csv('predictions.csv')\n",
        "import pandas as pd\nout = pd.DataFrame({'pred': preds})\nout['model_version'] = mv\n"
        "out.to_csv('predictions.csv')\n",
        "import numpy as np, mlflow\nwith mlflow.start_run():\n    np.save('preds.npy', preds)\n"
        "    mlflow.log_artifact('preds.npy')\n",
        "import pandas as pd\nfeatures.to_csv('features.csv')\n",  # not predictions
        "import numpy as np\nnp.save(f'preds_{run_id}.npy', preds)\n",
        # an inference script whose outputs go to a tracked run
        "import torch, wandb\nfrom torchvision.utils import save_image\nrun = wandb.init()\n"
        "net.load_state_dict(torch.load(ckpt))\nsave_image(net(x), 'out.png')\n"
        "wandb.log({'out': wandb.Image('out.png')})\n",
        # the model version is written next to the outputs
        "import json, torch\nmodel.load_state_dict(torch.load(ckpt))\n"
        "json.dump({'model_version': ckpt, 'out': model(x).tolist()}, open('out.json', 'w'))\n",
        # a training script's sample grids are monitoring, not predictions
        "import torch\nfrom torchvision.utils import save_image\nloss.backward()\n"
        "G.load_state_dict(torch.load('g.pt'))\nsave_image(G(z), 'images/grid.png')\n",
        # a conversion script: it loads a model and saves it in another format
        "import json, torch\nmodel.load_state_dict(torch.load('a.ckpt'))\n"
        "torch.save(model.state_dict(), 'export/model.pth')\njson.dump(params, open('export/params.json', 'w'))\n",
        # loads data, not a model
        "import numpy as np\nx = np.load('x.npy')\nnp.save('x2.npy', x * 2)\n",
        # the parsed options, the checkpoint path among them, are written beside the outputs
        "import argparse, torch, yaml\nfrom PIL import Image\nparser = argparse.ArgumentParser()\n"
        "parser.add_argument('--ckpt')\nopt = parser.parse_args()\n"
        "model.load_state_dict(torch.load(opt.ckpt))\nconf = vars(opt)\n"
        "with open('out/sampling_config.yaml', 'w') as f:\n    yaml.dump(conf, f)\n"
        "Image.fromarray(model.sample()).save('out/0.png')\n",
        # a project helper writes the outputs, but the run is tracked
        Valid("import mlflow\nfrom detect import Detector, detect_video\nwith mlflow.start_run():\n"
              "    detect_video(Detector(args.weights), args.input, args.output)\n"
              "    mlflow.log_artifact(args.output)\n", files=(("detect.py", _DETECT),)),
        # a training script's helper saves sample grids: monitoring, not predictions
        Valid("import torch\nfrom viz import save_samples\nloss.backward()\n"
              "G.load_state_dict(torch.load('g.pt'))\nsave_samples(G, 'images/')\n",
              files=(("viz.py", _SAMPLES),)),
    )
    INVALID = (
        # autologging logs nothing for a hand-written PyTorch loop: no artifact ties the file to a run
        Invalid("import mlflow\nimport numpy as np\nimport torch\nmlflow.autolog()\n"
                "for epoch in range(3):\n    loss.backward()\n"
                "np.save('predictions.npy', model(x_test).detach().numpy())\n", line=7),
        # dumping the outputs themselves records nothing about the model
        "import argparse, json, torch\nargs = argparse.ArgumentParser().parse_args()\n"
        "model.load_state_dict(torch.load(args.ckpt))\nout = model(x).tolist()\n"
        "with open('out/preds.json', 'w') as f:\n    json.dump(out, f)\n",
        # an inference script whose project helper writes the annotated video
        Invalid("from detect import Detector, detect_video\n"
                "detect_video(Detector(args.weights), args.input, args.output)\n", line=2,
                files=(("detect.py", _DETECT),)),
        # inference scripts: a loaded checkpoint's outputs, whatever they are called
        # the identifier of a helper model is not a record of the model that made the outputs
        "import torch\nfrom PIL import Image\nchecker_model_id = 'org/safety-checker'\n"
        "model.load_state_dict(torch.load(ckpt))\nImage.fromarray(model.sample()).save('out.png')\n",
        "import torch\nfrom torchvision.utils import save_image\n"
        "net.load_state_dict(torch.load(args.checkpoint))\nsave_image(net(x), 'images/out.png')\n",
        "import torch\nfrom PIL import Image\nmodel.load_state_dict(torch.load('sd.ckpt'))\n"
        "for i, x in enumerate(model.sample()):\n    Image.fromarray(x).save(f'samples/{i:05}.png')\n",
        "import torch\nmodel = torch.load('lm.pt')\ntext = model.generate(prompt)\n"
        "with open(args.outf, 'w') as outf:\n    outf.write(text)\n",
        "import numpy as np\nimport torch\n\ndef main():\n    model.load_state_dict(torch.load(path))\n"
        "    np.savez('samples.npz', model.sample())\n\nif __name__ == '__main__':\n    main()\n",
        "import pickle\nimport pandas as pd\nwith open('model.bin', 'rb') as f:\n    dv, lr = pickle.load(f)\n"
        "df['duration'] = lr.predict(X)\ndf.to_parquet('output/out.parquet')\n",
        "import matplotlib.pyplot as plt\nimport torch\nfrom timm import create_model\n"
        "m = create_model('resnet50', checkpoint_path=args.ckpt)\nplt.plot(m(x))\nplt.savefig('out.png')\n",
        "import pandas as pd\npreds = model.predict(X)\n"
        "pd.DataFrame({'id': ids, 'pred': preds}).to_csv('predictions.csv')\n",
        "import numpy as np\ny_pred = clf.predict(X_test)\nnp.savetxt('out.txt', y_pred)\n",
        "import json\nimport torch\nwith open('out.json', 'w') as f:\n    json.dump(predictions, f)\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if autolog.artifact_logged(ctx):
            return
        if "load:model" in ctx.module_effects and "train" not in ctx.module_effects:
            wrappers = forwarders(ctx.facts)
            if not any(saved_path(ctx, site, wrappers) is not None for site in ctx.calls):
                yield from self._check_inference(ctx)  # (a script saving a model converts it)
            return
        lineage: bool | None = None  # searched only once a prediction write is found
        for site in ctx.calls:
            written = self._written(ctx, site)
            if written is None:
                continue
            what, where = written
            if not _PREDICTIONS.search(ctx.code(what) + " " + (ctx.code(where) if where else "")):
                continue
            if where is not None and RUN_SPECIFIC.search(ctx.code(where)):
                continue
            if lineage is None:
                lineage = bool(_LINEAGE.search(ctx.source))
            if lineage:
                return
            yield self.finding(
                ctx, site.node,
                f"predictions are written with `{site.raw or site.name}` but no model version or "
                "input hash is recorded next to them",
            )

    @staticmethod
    def _written(ctx: FileContext, site: CallSite):
        """(what is written, where) for a writing call, else None."""
        if site.name in _WRITERS and isinstance(site.node.func, cst.Attribute):
            arg = site.positional(0) or site.kwarg("path_or_buf") or site.kwarg("path")
            return site.node.func.value, arg.value if arg else None
        spec = _FUNCTIONS.get(site.qual) if site.imported else None
        if spec is None:
            return None
        what, where = site.positional(spec[0]), site.positional(spec[1])
        if what is None:
            return None
        return what.value, where.value if where else None

    def _check_inference(self, ctx: FileContext) -> Iterable[Finding]:
        """An inference/evaluation script: every output it writes is the loaded model's."""
        if "track" in ctx.file_effects or _recorded_lineage(ctx.source) or _saves_options(ctx):
            return  # logged to a tracker run, a model version/input hash or the options recorded
        loaders = [s for s in ctx.calls if "load:model" in ctx.direct(s)]
        # a checkpoint load names the model better than a tokenizer/feature extractor's
        loader = next((s for s in loaders if s.name != "from_pretrained"), loaders[0] if loaders else None)
        loaded = f" from the model loaded by `{loader.raw or loader.name}`" if loader else ""
        writes = [(site, where) for site in ctx.calls if (where := _output_path(ctx, site)) is not None]
        # `with open(p, "w") as f: json.dump(x, f)` is one output: report the writer, not the open
        written = {ctx.code(where) for site, where in writes if site.raw != "open"}
        for site in ctx.calls:  # a project helper writes them (`detect_video(yolo, src, out)`)
            if site.imported and "write:output" in ctx.effects(site) - ctx.direct(site) and not any(
                    _LINEAGE_NAME.search(ctx.code(a.value)) for a in site.node.args):
                yield self.finding(
                    ctx, site.node,
                    f"`{site.raw or site.name}` writes outputs{loaded}, but nothing records which "
                    "checkpoint, seed or input produced them (no tracker run, model version or "
                    "input hash)",
                )
        for site, where in writes:
            if _LINEAGE_NAME.search(ctx.code(where)) or (site.raw == "open" and ctx.code(where) in written):
                continue
            yield self.finding(
                ctx, site.node,
                f"`{site.raw or site.name}` writes outputs{loaded} to `{shown(ctx.code(where))}`, but nothing records "
                "which checkpoint, seed or input produced them (no tracker run, model version or "
                "input hash)",
            )


_DUMPERS = frozenset({"yaml.dump", "yaml.safe_dump", "json.dump", "omegaconf.OmegaConf.save"})
_PARSERS = frozenset({"parse_args", "parse_known_args"})


def _saves_options(ctx: FileContext) -> bool:
    """`yaml.dump(vars(opt), f)`: the script writes its parsed options - the checkpoint it loads
    among them - to a file beside its outputs, which records which model made them."""
    parsed = {name for name, values in ctx.facts.assigns.items()
              if any(isinstance(v, cst.Call) and _last_name(v.func) in _PARSERS for v in values)}
    parsed = parsed or {"args", "opt", "opts", "flags"}  # `opt, unknown = parser.parse_known_args()`
    for site in ctx.calls:
        if not site.imported or site.qual not in _DUMPERS or not site.node.args:
            continue
        dumped = site.node.args[0].value
        if isinstance(dumped, cst.Name):
            values = ctx.facts.assigns.get(dumped.value, ())
            dumped = values[0] if len(values) == 1 else dumped
        if isinstance(dumped, cst.Call) and _last_name(dumped.func) == "vars" and dumped.args:
            dumped = dumped.args[0].value
        if isinstance(dumped, cst.Name) and dumped.value in parsed:
            return True
    return False


def _last_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


_STRING = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def _recorded_lineage(source: str) -> bool:
    """A lineage key or column written somewhere (`{"model_version": ...}`, `df["run_id"]`):
    searched in string literals only, so `safety_model_id = "..."` (a variable that names another
    model) does not count as a record of which model made the outputs."""
    return any(_LINEAGE.search(match.group()) for match in _STRING.finditer(source))


# A file name that ties the output to a run or a model version (a timestamp does not).
_LINEAGE_NAME = re.compile(r"run_id|run\.info|run\.id|wandb\.run|version|sha|hash|digest", re.I)
_IMAGE_WRITERS = frozenset({"save_image", "save_images", "imsave", "imwrite", "savefig",
                            "VideoWriter"})
_ARRAY_WRITERS = frozenset({"numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt",
                            "json.dump"})
_IMAGE_RECEIVERS = re.compile(r"img|image|im$|pil|sample|frame|grid|fig|canvas|out", re.I)


def _output_path(ctx: FileContext, site: CallSite) -> cst.BaseExpression | None:
    """Where an output-writing call writes (images, figures, arrays, tables, text)."""
    args = site.node.args
    if site.name in _IMAGE_WRITERS:
        arg = site.positional(1 if site.name in ("save_image", "save_images") else 0)
        if site.name in ("save_image", "save_images"):
            arg = arg or site.kwarg("fp") or site.positional(0)
        return arg.value if arg is not None else None
    if site.imported and site.qual in _ARRAY_WRITERS:
        arg = site.positional(1 if site.qual == "json.dump" else 0)
        if arg is None:
            return None
        return arg.value if site.qual != "json.dump" else (opened_path(ctx.facts, arg.value) or arg.value)
    if site.name in _WRITERS and isinstance(site.node.func, cst.Attribute):
        arg = site.positional(0) or site.kwarg("path_or_buf") or site.kwarg("path")
        return arg.value if arg is not None else None
    if site.name == "save" and isinstance(site.node.func, cst.Attribute) and args:
        receiver = site.node.func.value
        if isinstance(receiver, cst.Call):  # Image.fromarray(x).save(path)
            receiver = receiver.func
        text = ctx.code(receiver).rsplit(".", 1)[-1]
        if receiver and (_IMAGE_RECEIVERS.search(text) or "Image" in ctx.code(receiver)):
            return args[0].value
        return None
    if site.raw == "open" and not site.imported:
        mode = site.positional(1) or site.kwarg("mode")
        mode_text = literal_string(mode.value) if mode is not None else None
        target = site.positional(0) or site.kwarg("file")
        if mode_text and "w" in mode_text and target is not None:
            return target.value
    return None
