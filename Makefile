# The two commands a newcomer needs: `make run` and `make test`. Everything else is a detail of those.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint check install install-dev clean-db screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: install, migrate, seed the demo once, then start web + worker + simulators (Ctrl-C stops all).
run: export DJANGO_DEBUG ?= 1
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input -v0
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Dashboard: http://127.0.0.1:8000   (sign in with the demo login above)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## make test: install the test requirements and run the whole suite (DATABASE_URL picks the database).
test: $(VENV)/.installed-dev
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: $(VENV)/.installed-dev
	DJANGO_DEBUG=1 $(BIN)/python manage.py check
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

clean-db:
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm

SCREENS := home orders order-form order-detail review tracking outbox customers

## make screenshots: run the browser tests and refresh docs/screenshots (one picture per screen, shown in README).
screenshots: $(VENV)/.installed-dev
	REQUIRE_BROWSER=1 $(BIN)/pytest tests/browser -q
	mkdir -p docs/screenshots
	for screen in $(SCREENS); do cp test-artifacts/$$screen.png docs/screenshots/$$screen.png; done
