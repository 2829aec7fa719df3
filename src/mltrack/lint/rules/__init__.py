"""Lint rules, one module a rule."""
