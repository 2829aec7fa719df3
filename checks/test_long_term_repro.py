"""MLP08 long-term-repro: Can we still rebuild what we trained months ago?

Runs older than `old_run_days` keep every required field, their environment and their artifacts.

Run alone: `pytest --tracking-uri URI -k long-term-repro`. Full documentation: `mltrack explain long-term-repro`.
"""


def test_long_term_repro(pressure_check):
    pressure_check("long-term-repro")
