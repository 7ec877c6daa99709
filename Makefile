# The commands README and CI use. Everything installs itself into .venv and .local-gcp/.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo demo-cloud bundle-check test test-deps test-bundle test-pytest test-unit coverage \
	check lint types bench local-gcp venv clean checkov-venv provider-schema infra-bundle

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[gcp,dev,report]'
	touch $(STAMP)

local-gcp: $(STAMP)
	$(PY) scripts/local_gcp.py install

## make demo: the embedded default end to end (sandbox Strava -> main.ingest -> DuckDB)
demo: $(STAMP)
	$(PY) scripts/demo.py

## make demo-cloud: the production topology on one machine, on the local GCP stand-ins
demo-cloud: local-gcp
	$(PY) scripts/demo_cloud.py

## make demo-import: generate a Strava bulk export and import it (no API, no credentials)
demo-import: $(STAMP)
	$(PY) scripts/demo_import.py

## make bundle-check: the Cloud Function bundle as it deploys (.gcloudignore, only
## requirements.txt, Python 3.12): import everything it reaches, run both targets
bundle-check: local-gcp
	$(PY) scripts/bundle.py check

## make test: install what the tests need (side by side), then run the bundle check and
## every test side by side (pytest on PYTEST_WORKERS processes, in random order, each
## with its own sandbox and stand-ins). Stand-ins are required: a missing one fails; the
## deploy checks need gcloud and the google provider's schema (provider-schema).
PYTEST_WORKERS ?= 4
test:
	@$(MAKE) --no-print-directory -j4 test-deps
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-bundle test-pytest

test-deps: local-gcp checkov-venv browser provider-schema

test-bundle:
	$(PY) scripts/bundle.py check

test-pytest:
	NUNIS_REQUIRE_GCP=1 $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist worksteal \
	  --durations=15 --durations-min=1 $(PYTEST_ARGS)

## make test-unit: the tests that need no sandbox, no stand-in and no subprocess (seconds)
test-unit: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not integration" $(PYTEST_ARGS)

## make coverage: every test under coverage.py; prints what no test reaches
coverage: test-deps
	NUNIS_REQUIRE_GCP=1 $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist worksteal \
	  --cov=nunis_ingest --cov=main --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

## make provider-schema: the Terraform google provider's schema (a wheel's jsii assembly),
## into .local-gcp/provider-schema/, for tests/deploy/test_provider_schema.py
provider-schema: $(STAMP)
	$(PY) -m tests.deploy.provider_schema

## make infra-bundle: the zip Terraform deploys (infra/.build/bundle.zip), made only once the
## checks Cloud Build runs before a deploy have passed
infra-bundle: bundle-check check
	$(PY) scripts/bundle.py zip infra/.build/bundle.zip

browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)
	@chromium --version && chromedriver --version

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

types: $(STAMP)
	$(VENV)/bin/mypy nunis_ingest strava_sandbox main.py bench scripts

## make check: format, lint, types, then the tests
check: lint types test

## make bench: request, time and memory figures (not part of make test)
bench: local-gcp
	$(PY) -m bench

## make simulate: a simulated day on one Strava app (not part of make test)
simulate: $(STAMP)
	$(PY) -m bench.simulate

clean:
	rm -rf demo-data .pytest_cache .mypy_cache .ruff_cache .hypothesis

## make checkov: static security checks of infra/ (checkov in its own venv under .local-gcp/)
## (tests/deploy/test_infra.py runs the same scan inside make test)
CHECKOV_VENV := .local-gcp/venv-checkov
checkov-venv:
	@$(CHECKOV_VENV)/bin/checkov --version >/dev/null 2>&1 || { rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV) && $(CHECKOV_VENV)/bin/pip install --quiet checkov==3.3.30; }

checkov: checkov-venv
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_VENV)/bin/checkov -d infra --framework terraform --quiet --compact --skip-download

.PHONY: checkov

## make browser: headless Chromium and its driver for the onboarding browser test
.PHONY: browser
