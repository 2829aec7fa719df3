"""MLP05 rollback: Production is broken: what do we roll back to, and how long will it take?

The previous production version is identifiable, loads, and the rollback is planned and timed
(read-only; `--mltrack-rollback-drill` rehearses it in a sandbox model).

Run alone: `pytest --tracking-uri URI -k rollback`. Full documentation: `mltrack explain rollback`.
"""


def test_rollback(pressure_check):
    pressure_check("rollback")
