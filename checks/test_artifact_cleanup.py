"""MLP09 artifact-cleanup: What could we delete, and is anything we must keep at risk?

Reclaimable bytes outside protected runs are computed (nothing is deleted); a deleted protected
run fails.

Run alone: `pytest --tracking-uri URI -k artifact-cleanup`. Full documentation: `mltrack explain artifact-cleanup`.
"""


def test_artifact_cleanup(pressure_check):
    pressure_check("artifact-cleanup")
