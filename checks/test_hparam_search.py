"""MLP07 hparam-search: Did we actually tune this, and which configuration won?

At least `min_search_runs` runs hold the metric, a hyperparameter varied, the leaderboard is extracted.

Run alone: `pytest --tracking-uri URI -k hparam-search`. Full documentation: `mltrack explain hparam-search`.
"""


def test_hparam_search(pressure_check):
    pressure_check("hparam-search")
