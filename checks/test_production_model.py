"""MLP02 production-model: Which model is in production, and can we load it right now?

Each registered model has exactly one production version; its weights download and load in time.

Run alone: `pytest --tracking-uri URI -k production-model`. Full documentation: `mltrack explain production-model`.
"""


def test_production_model(pressure_check):
    pressure_check("production-model")
