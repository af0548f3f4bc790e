# liveops - every target installs what it needs; `make dev` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup chromium dev test test-unit test-integration test-e2e lint format bench loadtest validate package openapi clean

setup: $(STAMP) chromium

# the dashboard's headless-browser tests drive Debian's chromium through Playwright (which never
# downloads a browser of its own); installed once, as root, with apt-get
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# reinstall only when the project's dependencies change
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

dev: setup
	$(BIN)/liveops dev

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(BIN)/python -m pytest -q tests/integration $(PYTEST_ARGS)

test-e2e: setup
	$(BIN)/python -m pytest -q tests/e2e $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check layers functions tests
	$(BIN)/ruff format --check layers functions tests
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format layers functions tests
	$(BIN)/ruff check --fix layers functions tests

bench: setup
	$(BIN)/python tests/bench/run.py

# concurrent clients against a fresh local stack, then an exact reconciliation (CLIENTS, DURATION;
# FAULTS=0.1 fails that share of the functions' AWS calls)
CLIENTS ?= 32
DURATION ?= 60
FAULTS ?= 0
loadtest: setup
	$(BIN)/python -m liveops.local.loadtest --clients $(CLIENTS) --duration $(DURATION) --faults $(FAULTS)

# generated into the package (the admin function serves it); docs/openapi.json links to it
openapi: setup
	$(BIN)/liveops openapi -o layers/liveops/api/openapi.json

# aws-sam-cli pins old boto3/pydantic: it gets its own virtual environment
$(SAM_VENV)/.installed:
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli
	@touch $@

validate: setup $(SAM_VENV)/.installed
	$(BIN)/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template template.yaml

# deployable artifacts in .aws-sam/build (`sam deploy` uploads them): no container; sam's pip
# workflow fetches manylinux aarch64 wheels for the layer's light dependencies (layers/requirements.txt).
# pyarrow, pandas and awswrangler come from the AWS-managed SDK-for-pandas layer, never from ours.
LAYER_HEAVY := pyarrow pandas awswrangler numpy boto3 botocore
package: $(SAM_VENV)/.installed
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template template.yaml --build-dir .aws-sam/build
	@for heavy in $(LAYER_HEAVY); do test ! -e .aws-sam/build/LiveopsLayer/python/$$heavy \
		|| { echo "package: $$heavy must not be in the liveops layer"; exit 1; }; done
	@$(SAM_VENV)/bin/python -c "import pathlib, sys; \
		bad = [str(p) for p in pathlib.Path('.aws-sam/build/LiveopsLayer').rglob('*.so') \
		       if p.read_bytes()[18:20] != (183).to_bytes(2, 'little')]; \
		sys.exit('package: native code that is not arm64 (ELF machine 183): ' + ', '.join(bad) if bad else 0)"

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
