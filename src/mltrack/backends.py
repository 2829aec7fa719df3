"""Which backend reads a tracking URI: one table from URI scheme to store adapter.

The built-in backends (MLflow, W&B) register here like any other. A third party ships a backend
(TensorBoard, ClearML, Neptune, ...) as a package with an entry point in the `mltrack.stores`
group naming a `Backend` (or a function returning one):

    [project.entry-points."mltrack.stores"]
    tensorboard = "mltrack_tensorboard:BACKEND"

The table is core (uri.parse reads it); a backend names its opener as `"module:function"`, the
form of an entry point, so core never imports the store layer: `mltrack.stores.open_store`
resolves it. The built-in openers are in stores/openers.py.

Entry points are read only when a URI's scheme is not a built-in one, so a broken plug-in never
stands between a user and their sqlite:// store; when it is needed, its failure is one line
naming it (exit 2), never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mltrack.errors import MltrackError, StoreUnreachable
from mltrack.extras import MissingExtra, missing_extra

if TYPE_CHECKING:
    from mltrack.uri import TrackingUri

ENTRY_POINT_GROUP = "mltrack.stores"

# opener(uri: TrackingUri, *, timeout: float, read_deadline_s: float | None) -> StoreAdapter:
# `timeout` for each request, `read_deadline_s` for opening plus the first snapshot read together
# (start that clock only after the SDK is imported). A callable, or its "module:function" name.
Opener = Callable[..., Any] | str
# validate(text, scheme): raise StoreUnreachable for a URI of this scheme that is malformed.
Validator = Callable[[str, str], None]


class BrokenBackend(MltrackError):
    """A backend plug-in could not be loaded or does not follow the contract."""


@dataclass(frozen=True)
class Backend:
    tracker: str  # the snapshot's tracker name: "mlflow", "wandb", ...
    schemes: tuple[str, ...]  # lower-case; `postgresql+psycopg` matches `postgresql`
    open: Opener
    examples: tuple[str, ...] = ()  # URI forms for the "unsupported URI" hint
    validate: Validator | None = None
    requires: tuple[str, ...] = ()  # importable modules the opener needs
    extra: str | None = None  # the pip extra that installs them: mltrack[EXTRA]

    def opener(self) -> Callable[..., Any]:
        """The open function itself; a "module:function" name is imported now."""
        if not isinstance(self.open, str):
            return self.open
        module, _, attr = self.open.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if (missing := missing_extra(exc)) is not None:  # an SDK the opener's module imports
                raise missing from None
            raise BrokenBackend(f"the {self.tracker} backend's opener {self.open!r} failed to load: "
                                f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a plug-in's bug is one line, not a traceback
            raise BrokenBackend(f"the {self.tracker} backend's opener {self.open!r} failed to load: "
                                f"{type(exc).__name__}: {exc}") from None

    def check_installed(self) -> None:
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            install = f"pip install 'mltrack[{self.extra}]'" if self.extra else f"pip install {' '.join(missing)}"
            raise MissingExtra(f"{self.tracker} stores need {', '.join(missing)}, which is not installed",
                               hint=install)


class BackendRegistry:
    """Scheme -> Backend; entry points of `group` are read once, on the first unknown scheme."""

    def __init__(self, group: str = ENTRY_POINT_GROUP) -> None:
        self._group = group
        self._by_scheme: dict[str, Backend] = {}
        self._backends: list[Backend] = []
        self._plugins_read = False
        self._broken: list[str] = []  # one line per entry point that failed to load

    def register(self, backend: Backend) -> Backend:
        if not isinstance(backend, Backend):
            raise BrokenBackend(f"not a mltrack Backend: {backend!r}")
        if not (callable(backend.open) or (isinstance(backend.open, str) and ":" in backend.open)):
            raise BrokenBackend(f"the {backend.tracker} backend's opener {backend.open!r} is neither "
                                "a function nor a 'module:function' name")
        taken = [s for s in backend.schemes if s in self._by_scheme and self._by_scheme[s] is not backend]
        if taken:
            raise BrokenBackend(f"{backend.tracker} backend claims scheme {taken[0]!r}, "
                                f"already read by the {self._by_scheme[taken[0]].tracker} backend")
        for scheme in backend.schemes:
            self._by_scheme[scheme.lower()] = backend
        if backend not in self._backends:
            self._backends.append(backend)
        return backend

    def backends(self) -> list[Backend]:
        return list(self._backends)

    def backend_for(self, scheme: str, text: str) -> Backend:
        """The backend for `scheme` (of the URI `text`); StoreUnreachable (exit 2) when none reads it."""
        found = self._lookup(scheme)
        if found is None and not self._plugins_read:
            self.load_entry_points(entry_points(group=self._group))
            found = self._lookup(scheme)
        if found is not None:
            return found
        if self._broken:  # the backend for this URI may be the plug-in that failed
            raise BrokenBackend(f"no backend reads {_redacted(text)!r}; {'; '.join(self._broken)}")
        raise StoreUnreachable(f"unsupported tracking URI {_redacted(text)!r}", hint=self.hint())

    def hint(self) -> str:
        forms = [form for backend in self._backends for form in backend.examples]
        if not forms:
            return "no store backend is registered"
        return "use " + (", ".join(forms[:-1]) + " or " + forms[-1] if len(forms) > 1 else forms[0])

    def load_entry_points(self, points: Iterable[EntryPoint]) -> None:
        """Register the backend each entry point names; a failure is kept as one line, not raised."""
        self._plugins_read = True
        for point in points:
            try:
                loaded = point.load()
                backend = loaded() if callable(loaded) and not isinstance(loaded, Backend) else loaded
                self.register(backend)
            except Exception as exc:  # noqa: BLE001 - a plug-in's bug is reported, not raised through us
                reason = exc.message if isinstance(exc, MltrackError) else f"{type(exc).__name__}: {exc}"
                self._broken.append(f"store backend entry point {point.name!r} ({point.value}) "
                                    f"failed to load: {' '.join(reason.split())}")

    def _lookup(self, scheme: str) -> Backend | None:
        scheme = scheme.lower()
        return self._by_scheme.get(scheme) or self._by_scheme.get(scheme.split("+")[0])


def _redacted(text: str) -> str:
    from mltrack.uri import redact

    return redact(text)


# ---- the built-in backends -------------------------------------------------------------------


def _validate_mlflow(text: str, scheme: str) -> None:
    if scheme in {"http", "https"} and not urlsplit(text).hostname:
        raise StoreUnreachable(f"malformed tracking URI {_redacted(text)!r}: no host")


def _validate_wandb(text: str, scheme: str) -> None:
    if scheme == "wandb":
        rest = text[len("wandb://"):] if text.startswith("wandb://") else ""
        if len([p for p in rest.split("/") if p]) != 2:
            raise StoreUnreachable(f"malformed W&B URI {_redacted(text)!r}", hint="expected wandb://ENTITY/PROJECT")
    elif not text[len("wandb-offline:"):].strip():
        raise StoreUnreachable(f"malformed W&B URI {_redacted(text)!r}", hint="expected wandb-offline:PATH")


MLFLOW = Backend(
    tracker="mlflow",
    # `file` also stands for a plain local path (a legacy file store).
    schemes=("sqlite", "postgresql", "postgres", "mysql", "mssql", "http", "https", "file",
             "databricks", "databricks-uc", "uc"),
    open="mltrack.stores.openers:open_mlflow",
    examples=("sqlite:///PATH", "postgresql://...", "http(s)://HOST"),
    validate=_validate_mlflow,
    requires=("mlflow",),
    extra="mlflow",
)
WANDB = Backend(
    tracker="wandb",
    schemes=("wandb", "wandb-offline"),
    open="mltrack.stores.openers:open_wandb",
    examples=("wandb://ENTITY/PROJECT", "wandb-offline:PATH"),
    validate=_validate_wandb,
    requires=("wandb",),
    extra="wandb",
)

REGISTRY = BackendRegistry()
REGISTRY.register(MLFLOW)
REGISTRY.register(WANDB)
register = REGISTRY.register
