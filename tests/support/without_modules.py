"""Run an entry point as if some packages were not installed.

    python tests/support/without_modules.py mlflow,numpy mltrack.cli:main audit ...

Each blocked name (a top-level package, or a dotted module such as a renamed command module
`mltrack.cli.report_cmd`) is set to None in sys.modules: `import` then raises
ModuleNotFoundError and `importlib.util.find_spec` answers None, exactly as in an environment
without it. The project's venv holds every extra, so this is how a test sees a lint-only install.
"""

from __future__ import annotations

import importlib
import sys


def main() -> int:
    blocked, target, *args = sys.argv[1:]
    for name in filter(None, blocked.split(",")):
        sys.modules[name] = None  # type: ignore[assignment]
    module, _, func = target.partition(":")
    sys.argv = [func, *args]
    return getattr(importlib.import_module(module), func)()


if __name__ == "__main__":
    sys.exit(main())
