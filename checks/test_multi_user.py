"""MLP03 multi-user: Who ran what? Is every run attributable to a person?

At least `min_users` users logged runs; no run is logged as empty, `unknown` or `root`.

Run alone: `pytest --tracking-uri URI -k multi-user`. Full documentation: `mltrack explain multi-user`.
"""


def test_multi_user(pressure_check):
    pressure_check("multi-user")
