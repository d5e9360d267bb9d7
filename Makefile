# Unpuzzle backend. `make run` starts everything on this machine; `make test` runs the suite.
# Both create the virtualenv, install the pinned dependencies and generate code when needed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-installed
GEN_DIR := gen
GEN_STAMP := $(GEN_DIR)/.generated
PROTO_FILES := $(shell find protos/unpuzzle -name '*.proto' | sort)
THIRD_PARTY := protos/third_party
BUF := node_modules/.bin/buf
# Directories holding our Python code (lint, typecheck, coverage).
CODE := kernel services gateway deploy tests bench
PYTEST_ARGS ?=

.PHONY: run test proto lint breaking fmt typecheck migrate bench lock clean deps tools

run: $(GEN_STAMP)
	$(PY) -m deploy.launcher

test: $(GEN_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

migrate: $(GEN_STAMP)
	$(PY) -m deploy.launcher --migrate-only

bench: $(GEN_STAMP)
	$(PY) -m bench.run

proto: $(GEN_STAMP)

deps: $(DEPS_STAMP)

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)

# The .pth file puts the repository and the generated package on the virtualenv's path,
# so `python -m services.course` works without installing the project.
$(DEPS_STAMP): requirements.lock | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -c 'import os, sysconfig; open(os.path.join(sysconfig.get_paths()["purelib"], "unpuzzle-dev.pth"), "w").write(os.getcwd() + "\n" + os.path.join(os.getcwd(), "$(GEN_DIR)") + "\n")'
	touch $@

# google/api/*.proto come from the installed googleapis-common-protos; copied for buf and protoc.
$(THIRD_PARTY)/.copied: $(DEPS_STAMP)
	rm -rf $(THIRD_PARTY) && mkdir -p $(THIRD_PARTY)/google/api
	$(PY) -c 'import google.api.http_pb2 as h, os, shutil; d = os.path.dirname(h.__file__); [shutil.copy(os.path.join(d, f), "$(THIRD_PARTY)/google/api/") for f in ("annotations.proto", "http.proto", "field_behavior.proto")]'
	touch $@

$(GEN_STAMP): $(PROTO_FILES) $(THIRD_PARTY)/.copied
	rm -rf $(GEN_DIR) && mkdir -p $(GEN_DIR)
	$(PY) -m grpc_tools.protoc -I protos -I $(THIRD_PARTY) \
		-I "$$($(PY) -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')" \
		--plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc \
		--plugin=protoc-gen-mypy=$(VENV)/bin/protoc-gen-mypy \
		--python_out=$(GEN_DIR) --mypy_out=$(GEN_DIR) --grpc_python_out=$(GEN_DIR) \
		--mypy_grpc_out=$(GEN_DIR) \
		--descriptor_set_out=$(GEN_DIR)/descriptors.binpb --include_source_info --include_imports \
		$(PROTO_FILES)
	find $(GEN_DIR)/unpuzzle -type d -exec touch {}/__init__.py \;
	touch $@

$(BUF): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

tools: $(BUF)

lint: $(GEN_STAMP) $(BUF)
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)
	cd protos && ../$(BUF) lint
	$(MAKE) --no-print-directory breaking

# v1 is stable: compare the protos with main's (a no-op on main itself, meaningful on branches).
breaking: $(THIRD_PARTY)/.copied $(BUF)
	@if git rev-parse -q --verify main >/dev/null && git cat-file -e main:protos/buf.yaml 2>/dev/null; then \
		rm -rf .buf-against && mkdir -p .buf-against && git archive main protos | tar -x -C .buf-against && \
		cp -r $(THIRD_PARTY) .buf-against/protos/ && \
		cd protos && ../$(BUF) breaking . --against ../.buf-against/protos; \
	else echo "buf breaking: no protos on main to compare with"; fi

fmt: $(DEPS_STAMP)
	$(PY) -m ruff format $(CODE)
	$(PY) -m ruff check --fix $(CODE)

typecheck: $(GEN_STAMP)
	$(PY) -m mypy

# Re-resolve pyproject.toml's direct dependencies into requirements.lock in a throwaway venv.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > .lock-venv/requirements.txt
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -r .lock-venv/requirements.txt
	.lock-venv/bin/pip freeze --all --exclude pip --exclude setuptools | sort -f > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(GEN_DIR) $(THIRD_PARTY) node_modules .buf-against .pytest_cache .mypy_cache .ruff_cache .coverage
