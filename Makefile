# liftoff: build, run the example app, test, package.
#
# `make run`   creates .venv with the example app's pinned requirements, builds liftoff,
#              and serves docker/app with `liftoff dev` on 127.0.0.1:8080.
# `make test`  runs everything CI runs, after `make preflight`, the fast checks first.
# `make dist`  builds into dist/ the static (musl) wheels for x86_64 and aarch64, each
#              tagged for glibc and musl Pythons, and the sdist.

VENV := .venv
# The example app's pins, and the other servers and apps the tests run (uvicorn, Django,
# granian, FastAPI: tests/fixtures).
PY_REQS := docker/app/requirements.txt
TEST_REQS := tests/fixtures/requirements.txt
CARGO ?= cargo
PYTHON ?= python3

.PHONY: run test venv unit fmt clippy check-mac tools preflight

run: venv
	$(CARGO) build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./target/debug/liftoff dev

venv: $(VENV)/.installed

$(VENV)/.installed: $(PY_REQS) $(TEST_REQS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(PY_REQS) -r $(TEST_REQS)
	touch $@

# The build and check tools (maturin, twine, kubernetes-validate, botocore), pinned in
# requirements-tools.txt, in a venv of their own; made again when the pins change.
TOOLS := .cache/tools
TOOLS_STAMP := $(TOOLS)/.installed

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $@

# What `make test` needs from the machine, checked in a second instead of found missing
# minutes in: prints the exact command that installs what is missing, and stops.
preflight:
	@tests/preflight.sh

fmt:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets --locked -- -D warnings

# liftoff also builds on developers' Macs; this keeps that build from breaking unnoticed.
check-mac:
	rustup target add aarch64-apple-darwin >/dev/null
	$(CARGO) clippy --locked --target aarch64-apple-darwin -- -D warnings

unit: venv
	$(CARGO) test --locked

# `make fuzz`: the fuzz targets `cargo test` runs for 20 s each (src/fuzz.rs), for
# FUZZ_SECS each, side by side, in the release build, with a new seed each time
# (LIFTOFF_FUZZ_SEED=N repeats a run). Prints executions per target; a failing input is
# saved under target/fuzz-failures/ and runs first the next time.
FUZZ_SECS ?= 300

.PHONY: fuzz
fuzz:
	LIFTOFF_FUZZ_SECS=$(FUZZ_SECS) LIFTOFF_FUZZ_SEED=$${LIFTOFF_FUZZ_SEED:-$$(date +%s)} \
	    $(CARGO) test --release --locked --bin liftoff fuzz::fuzz_ -- --nocapture --test-threads 4

# Fast checks first: a missing tool or a broken example fails in seconds, before the builds.
test: preflight fmt docs-check deploy-check clippy check-mac unit wheel-test container-test

# The files README.md and docs/ show are the repository's own (tests/docs/snippets.py).
.PHONY: docs-check
docs-check:
	$(PYTHON) tests/docs/snippets.py

# The ECS and Kubernetes examples in docs/examples (and compose/), against the platforms'
# own schemas and against liftoff's stop timeout, profiles and health probe, with
# deliberately broken copies as controls (tests/deploy/check.py).
.PHONY: deploy-check
deploy-check: tools
	$(TOOLS)/bin/python tests/deploy/check.py

# End-to-end tests in a real container engine: builds docker/Dockerfile with podman from an
# offline base image, installing liftoff from the x86_64 wheel in dist/ (no Rust in the
# image), builds the image that holds only the static binary, and checks the containers
# (tests/container/run.py says what). Needs root and podman, runc, mmdebstrap,
# podman-compose (.ci/run installs them).
.PHONY: container-test
container-test: dist
	$(PYTHON) tests/container/run.py

# `make static`: a fully static liftoff (musl) that one `COPY` puts into any image
# (Debian, Alpine, distroless): target/x86_64-unknown-linux-musl/release/liftoff.
# `make image-bin`: an image that holds only that binary, as /liftoff (FROM scratch,
# docker/Dockerfile.bin), for `COPY --from=localhost/liftoff-bin:VERSION /liftoff ...`.
# `make bench`: liftoff against tini, dumb-init and catatonit (needs root); writes
# docs/benchmarks.md and docs/img/benchmarks.png, raw output under bench/out.
# `make bench-stops`: 100 loaded stops of gunicorn per scenario (plain, drain delay, slow
# teardown) under the static build as PID 1; every one must exit 0 (about 8 minutes).
STATIC_TARGET := x86_64-unknown-linux-musl
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
IMAGE_BIN := localhost/liftoff-bin:$(VERSION)

.PHONY: static image-bin bench bench-stops

static:
	rustup target list --installed | grep -qx $(STATIC_TARGET) || rustup target add $(STATIC_TARGET)
	$(CARGO) build --release --locked --target $(STATIC_TARGET)

# The build context is a folder holding the binary alone, so nothing else can slip in.
image-bin: static
	rm -rf .cache/image-bin && mkdir -p .cache/image-bin
	cp target/$(STATIC_TARGET)/release/liftoff .cache/image-bin/liftoff
	podman build --format docker -f docker/Dockerfile.bin -t $(IMAGE_BIN) .cache/image-bin
	@echo "built $(IMAGE_BIN): COPY --from=$(IMAGE_BIN) /liftoff /usr/local/bin/liftoff"

bench:
	bench/bench.sh

bench-stops: static venv
	$(PYTHON) bench/stops.py target/$(STATIC_TARGET)/release/liftoff --count 100 --jobs 3 --json bench/out/stops.json

# Wheels with the static build inside, one per architecture, each tagged manylinux2014
# (glibc 2.17+, python:3.x-slim) and musllinux_1_2 (Alpine): a static binary needs nothing
# from either C library. aarch64 is cross-compiled here and linked with rust-lld, which
# rustup ships (the musl targets bring their own C runtime, so no C cross-compiler).
DIST_TARGETS := x86_64-unknown-linux-musl aarch64-unknown-linux-musl
MATURIN := $(TOOLS)/bin/maturin
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER = rust-lld

.PHONY: dist wheel-test

dist: tools
	for target in $(DIST_TARGETS); do \
	    rustup target list --installed | grep -qx $$target || rustup target add $$target || exit 1; \
	done
	rm -f dist/liftoff-*
	$(MATURIN) sdist --out dist
	for target in $(DIST_TARGETS); do \
	    $(MATURIN) build --release --locked --target $$target \
	        --compatibility manylinux2014 musllinux_1_2 --out dist || exit 1; \
	done

# The wheels as users get them: pip installs, the binary serves the example app, and the
# aarch64 one runs under qemu as PID 1 (tests/wheel/run.py says what). Needs root.
wheel-test: dist
	$(PYTHON) tests/wheel/run.py
