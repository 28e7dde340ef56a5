# Kontor — the two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
DEMO   ?= schmidt
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-pg test-browser serve migrate demo translations lint bench bench-smoke screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d crm/translations 2>&1 | tail -n 2

migrate: $(VENV)/.installed translations
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load $(DEMO) --if-empty

## make run: fresh machine -> venv, install, migrate, demo data if empty, serve on 127.0.0.1:5000
## together with the job queue's worker (imports, large assignments, the daily purge; Ctrl+C stops both)
## (HOST=0.0.0.0 for the office network, PORT=5001 when 5000 is taken). scripts/serve.py refuses a
## busy port in one line and announces the URL only once the server answers.
run: demo
	@$(BIN)/python scripts/serve.py $(HOST) $(PORT) --worker '$(FLASK) worker' -- \
		$(BIN)/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) 'app:app'

## make test: the whole suite (browser tests skip themselves when Chromium is missing)
test: $(VENV)/.installed-dev translations
	@test -x /usr/bin/chromium || echo "No /usr/bin/chromium: the browser tests (tests/browser) are skipped. apt-get install chromium to run them."
	$(BIN)/pytest -n auto -q

test-browser: $(VENV)/.installed-dev translations
	$(BIN)/pytest -q tests/browser

## make lint: ruff, then the layering contracts of .importlinter (docs/ARCHITECTURE.md)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(VENV)/.installed-dev translations
	$(BIN)/python bench/run.py

bench-smoke: $(VENV)/.installed-dev translations
	$(BIN)/python bench/run.py --smoke

screenshots: $(VENV)/.installed-dev translations
	$(BIN)/python docs/make_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
