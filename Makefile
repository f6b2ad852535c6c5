# The two commands of the README, plus the ones they are made of. Each creates or refreshes the
# project's virtualenv (.venv) from the hash-locked requirements/dev.txt first, so a fresh clone
# needs nothing but Python 3.11+, make, git and, for the Terraform part, the terraform CLI
# (act, the workflow runner, comes from PyPI with the rest).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements/dev.txt pyproject.toml | cksum | cut -d' ' -f1)
# checkov pins an older boto3 than the SageMaker SDK needs, so it gets a virtualenv of its own.
CHECKOV_VENV  := .venv-checkov
CHECKOV       := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cksum < requirements/checkov.txt | cut -d' ' -f1)
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
           --no-emit-index-url --no-emit-find-links

# A test file per worker: the tests of a file share its module fixtures (an estate, a promoted
# commit), which are set up once per worker that runs the file. At least four workers: the long
# fixtures mostly wait (on Terraform's pollers, act's jobs, the embedded AWS), so on a 2-core
# machine four workers overlap those waits (full suite 7:07 against 8:08 with two).
WORKERS := $(shell n=$$(nproc 2>/dev/null || echo 2); if [ $$n -lt 4 ]; then echo 4; else echo $$n; fi)
PYTEST_PARALLEL := -n $(WORKERS) --dist loadfile

.PHONY: demo demo-dev test test-fast lint bench lock clean

## The whole promotion story on the embedded AWS: Terraform for the four accounts, a throwaway
## GitHub repository whose pushes run the workflow files (act), merge to main, promote staging,
## promote prod, the prod approval, and the three registries side by side.
demo: $(STAMP)
	$(BIN)/python -m training_pipeline story

## Dev only: train and register a model in the dev account of the embedded AWS.
demo-dev: $(STAMP)
	$(BIN)/python -m training_pipeline run --env dev --embedded

## Lint, then every test: unit, local runner, inference, Terraform, workflows, end to end,
## spread over the machine's cores.
test: $(STAMP) $(CHECKOV_STAMP) lint
	CHECKOV=$(CHECKOV) $(BIN)/python -m pytest $(PYTEST_PARALLEL)

## Everything but Terraform, the workflows and the end-to-end runs: for the edit-test loop
## (no tests there build on each other, so they are spread test by test).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not e2e and not terraform"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/zizmor --offline --min-severity low .github/

bench: $(STAMP)
	$(BIN)/python benchmarks/runner_overhead.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/serving.py
	$(BIN)/python benchmarks/story.py

## Regenerate the hash-locked requirements after a change to pyproject.toml or requirements/*.in.
lock: $(STAMP)
	$(COMPILE) --extra dev -o requirements/dev.txt pyproject.toml
	$(COMPILE) --build-deps-for wheel -o requirements/cli.txt pyproject.toml
	$(COMPILE) -o requirements/checkov.txt requirements/checkov.in
	$(COMPILE) -o requirements/training-image.txt requirements/training-image.in
	$(COMPILE) -o requirements/inference-image.txt requirements/inference-image.in

$(STAMP): requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

$(CHECKOV_STAMP): requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements/checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-* && touch $@

clean:
	-$(BIN)/python -m training_pipeline embedded down
	rm -rf .work .embedded .pytest_cache
