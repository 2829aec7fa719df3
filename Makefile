# `make demo` and `make test` work on a fresh clone: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo
DEMO_URI := sqlite:///$(DEMO_DIR)/mlflow.db

.PHONY: demo test test-slow install bench clean-demo lint typecheck

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU wheel (an unpinned torch pulls a multi-GB CUDA build).
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@# The demo store is rebuilt from scratch each time (no --force: nothing piles up).
	rm -rf $(DEMO_DIR)/mlflow.db $(DEMO_DIR)/mlflow-artifacts $(DEMO_DIR)/audit $(DEMO_DIR)/onboarding.html
	@mkdir -p $(DEMO_DIR)
	$(BIN)/mltrack seed --tracking-uri $(DEMO_URI)
	@echo
	@echo "== Lint the reference training code (it is instrumented the way mltrack asks for)"
	$(BIN)/mltrack-lint fixtures/reference
	@echo
	@echo "== The ten pressure checks as a pytest run against the demo store"
	cd $(DEMO_DIR) && ../$(BIN)/python -m pytest --tracking-uri sqlite:///mlflow.db -q -p no:cacheprovider
	@echo
	@echo "== The audit (report.json/.md/.html, junit.xml) and the onboarding report"
	$(BIN)/mltrack audit --tracking-uri $(DEMO_URI) --out $(DEMO_DIR)/audit --no-progress || test $$? -eq 1  # 1: a check failed (see the report)
	$(BIN)/mltrack report --tracking-uri $(DEMO_URI) --out $(DEMO_DIR)/onboarding.html
	@echo
	@echo "Made: $(DEMO_DIR)/mlflow.db (runs, registry) and $(DEMO_DIR)/mlflow-artifacts/ (checkpoints, models, predictions)."
	@echo "Open in a browser:"
	@echo "  file://$(CURDIR)/$(DEMO_DIR)/onboarding.html   # the onboarding report"
	@echo "  file://$(CURDIR)/$(DEMO_DIR)/audit/report.html   # the audit (also report.md, junit.xml, report.json)"
	@echo "Next:"
	@echo "  $(BIN)/mltrack seed --tracking-uri sqlite:///$(DEMO_DIR)/broken.db --break rollback --runs 24   # a store that fails one check"
	@echo "  $(BIN)/mltrack audit --tracking-uri sqlite:///$(DEMO_DIR)/broken.db --out $(DEMO_DIR)/broken-audit   # ...and see it fail"
	@echo "  $(BIN)/mltrack rollback --tracking-uri $(DEMO_URI) --model mltrack-reference-classifier   # roll production back (asks first)"
	@echo "  $(BIN)/mltrack cleanup --tracking-uri $(DEMO_URI)   # what a cleanup would free (dry run)"
	@echo "  $(BIN)/python fixtures/reference/infer.py --tracking-uri $(DEMO_URI)   # predict with the production model, with lineage"
	@echo "  $(BIN)/mlflow ui --backend-store-uri $(DEMO_URI)   # browse the runs"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/mltrack-lint src fixtures/reference

# mypy over src/ ([tool.mypy] in pyproject.toml; cache in .mypy_cache). `make test` runs it too
# (tests/test_typecheck.py).
typecheck: $(STAMP)
	$(BIN)/python -m mypy src/mltrack

clean-demo:
	rm -rf $(DEMO_DIR)
