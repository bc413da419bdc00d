# liftoff: build, run the example app, test.
#
# `make run`  creates .venv with the example app's pinned requirements, builds liftoff,
#             and serves docker/app with `liftoff dev` on 127.0.0.1:8080.
# `make test` runs everything CI runs.

VENV := .venv
PY_REQS := docker/app/requirements.txt
CARGO ?= cargo

.PHONY: run test venv unit fmt clippy check-mac

run: venv
	$(CARGO) build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./target/debug/liftoff dev

venv: $(VENV)/.installed

$(VENV)/.installed: $(PY_REQS)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(PY_REQS)
	touch $@

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

test: fmt clippy check-mac unit container-test

# End-to-end tests in a real container engine: builds docker/Dockerfile with podman from an
# offline base image and checks the container (tests/container/run.py says what). Needs
# root and podman, runc, mmdebstrap, podman-compose (.ci/run installs them).
.PHONY: container-test
container-test:
	$(CARGO) build --locked
	python3 tests/container/run.py

# `make static`: a fully static liftoff (musl) that one `COPY` puts into any image
# (Debian, Alpine, distroless): target/x86_64-unknown-linux-musl/release/liftoff.
# `make bench`: liftoff against tini, dumb-init and catatonit (needs root); writes
# docs/benchmarks.md and docs/img/benchmarks.png, raw output under bench/out.
STATIC_TARGET := x86_64-unknown-linux-musl

.PHONY: static bench

static:
	rustup target list --installed | grep -qx $(STATIC_TARGET) || rustup target add $(STATIC_TARGET)
	$(CARGO) build --release --locked --target $(STATIC_TARGET)

bench:
	bench/bench.sh
