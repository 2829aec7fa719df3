"""MLP04 data-change: The metric moved: was it the data or the code?

Every training run carries a data hash; the metric shift per data version is reported.

Run alone: `pytest --tracking-uri URI -k data-change`. Full documentation: `mltrack explain data-change`.
"""


def test_data_change(pressure_check):
    pressure_check("data-change")
