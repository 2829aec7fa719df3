# `make demo` and `make test` work on a fresh clone: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo
DEMO_URI := sqlite:///$(DEMO_DIR)/mlflow.db

.PHONY: demo test test-slow install bench clean-demo lint

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU wheel (an unpinned torch pulls a multi-GB CUDA build).
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@mkdir -p $(DEMO_DIR)
	$(BIN)/mltrack seed --tracking-uri $(DEMO_URI) --force
	@echo
	@echo "Made: $(DEMO_DIR)/mlflow.db (runs, registry) and $(DEMO_DIR)/mlflow-artifacts/ (checkpoints, models, predictions)."
	@echo "Next:"
	@echo "  $(BIN)/mltrack audit --tracking-uri $(DEMO_URI) --out $(DEMO_DIR)/audit   # the ten pressure checks"
	@echo "  $(BIN)/mltrack report --tracking-uri $(DEMO_URI) --out $(DEMO_DIR)/report.html   # onboarding report"
	@echo "  $(BIN)/mltrack seed --tracking-uri sqlite:///$(DEMO_DIR)/broken.db --break rollback --runs 24   # a store that fails one check"
	@echo "  $(BIN)/python fixtures/reference/infer.py --tracking-uri $(DEMO_URI)   # predict with the production model, with lineage"
	@echo "  $(BIN)/mltrack-lint fixtures/reference        # lint the reference training code"
	@echo "  $(BIN)/mlflow ui --backend-store-uri $(DEMO_URI)   # browse the runs"
	@echo
	@echo "Auditing the demo store and writing the onboarding report ..."
	$(BIN)/mltrack audit --tracking-uri $(DEMO_URI) --out $(DEMO_DIR)/audit || test $$? -eq 1  # 1: a check failed (see the report)
	$(BIN)/mltrack report --tracking-uri $(DEMO_URI) --out $(DEMO_DIR)/onboarding.html
	@echo "Open in a browser:"
	@echo "  file://$(CURDIR)/$(DEMO_DIR)/audit/report.html   # the audit (also report.md, junit.xml, report.json)"
	@echo "  file://$(CURDIR)/$(DEMO_DIR)/onboarding.html   # the onboarding report"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/mltrack-lint src fixtures/reference

clean-demo:
	rm -rf $(DEMO_DIR)
