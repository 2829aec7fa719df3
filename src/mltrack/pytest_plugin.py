"""pytest plugin: `pytest --tracking-uri URI` runs the ten pressure checks.

Without a URI the plugin adds nothing. (Filled in by the pressure-suite work.)
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mltrack", "mltrack pressure suite")
    group.addoption(
        "--tracking-uri",
        dest="mltrack_tracking_uri",
        default=None,
        help="Tracking store to put under pressure (env MLTRACK_TRACKING_URI, ini mltrack_tracking_uri).",
    )
    parser.addini("mltrack_tracking_uri", "Tracking store for the mltrack pressure suite.", default="")
