"""MLP06 prediction-audit: Which model and which data made this prediction?

Every inference run traces to a registered version, its training run, data hash and git commit.

Run alone: `pytest --tracking-uri URI -k prediction-audit`. Full documentation: `mltrack explain prediction-audit`.
"""


def test_prediction_audit(pressure_check):
    pressure_check("prediction-audit")
