"""The ten pressure checks as pytest tests (a package, so their module names never clash with a
project's own `test_recovery.py`: `mltrack._checks.test_recovery` once installed)."""
