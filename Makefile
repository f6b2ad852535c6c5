# The two commands of the README, plus the ones they are made of. Each creates or refreshes the
# project's virtualenv (.venv) first, so a fresh clone needs nothing but Python 3.11+, make and,
# for the Terraform part, the terraform CLI.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
# checkov pins an older boto3 than the SageMaker SDK needs, so it gets a virtualenv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV := .venv-checkov/bin/checkov

.PHONY: demo test lint bench clean

## Train and register a model in the dev account of the embedded AWS, then show the registry.
demo: $(STAMP)
	$(BIN)/python -m training_pipeline run --env dev --embedded

## Lint, then every test: unit, local runner, inference, Terraform, end to end.
test: $(STAMP) $(CHECKOV) lint
	CHECKOV=$(CHECKOV) $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/zizmor --offline --min-severity low .github/

bench: $(STAMP)
	$(BIN)/python benchmarks/runner_overhead.py
	$(BIN)/python benchmarks/scale.py

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)

clean:
	-$(BIN)/python -m training_pipeline embedded down
	rm -rf .work .embedded .pytest_cache
