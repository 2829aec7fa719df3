"""MLP01 recovery: Which run was our best, and can we rebuild it?

The best run by the configured metric has every reproduction field (learning rate, batch size,
optimizer, seed, git commit, data hash) and its model downloads.

Run alone: `pytest --tracking-uri URI -k recovery`. Full documentation: `mltrack explain recovery`.
"""


def test_recovery(pressure_check):
    pressure_check("recovery")
