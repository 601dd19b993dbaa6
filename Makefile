# Two commands: `make grade` sets everything up and grades the bundled example class;
# `make test` runs the project's own tests (real containers, real servers).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BASE   := grader-base:bookworm
ASSIGNMENTS = $(shell $(BIN)/python -c 'import yaml; print(*yaml.safe_load(open("grading.yml"))["assignments"])')

.PHONY: setup images grade test lint bench mutants clean

setup: $(BIN)/grader

$(BIN)/grader: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The base image is made with debootstrap when it is missing (there is no registry to pull from).
images: setup
	@docker image inspect $(BASE) >/dev/null 2>&1 || command -v debootstrap >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
	$(BIN)/grader images

grade: images
	@for a in $(ASSIGNMENTS); do \
	  $(BIN)/grader grade $$a --submissions examples/$$a --out out/$$a || exit $$?; \
	done
	@echo "reports in out/<assignment>/<student>/feedback.html, gradebooks in out/<assignment>/grades.csv"

lint: setup
	$(BIN)/ruff check grader tests bench
	$(BIN)/mypy

test: images lint
	$(BIN)/pytest

# How much each suite catches: mutants of every reference, graded in containers (resumable;
# MAX mutants per assignment). Reports in out/mutants/<assignment>/mutants.html.
MAX ?= 40
mutants: images
	@for a in $(ASSIGNMENTS); do \
	  $(BIN)/grader mutants $$a --backend docker --max $(MAX) --out out/mutants/$$a || exit $$?; \
	done

bench: images
	$(BIN)/python bench/overhead.py

clean:
	-$(BIN)/grader clean
	rm -rf out
