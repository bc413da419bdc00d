#!/usr/bin/env bash
# `make bench`: install what the benchmarks need, build the helpers and both liftoff builds,
# measure everything in one run (bench/measure.py), then write docs/benchmarks.md and
# docs/img/benchmarks.png (bench/report.py). Needs root: PID namespaces and cgroups.
#
# BENCH_ARGS passes flags to measure.py, e.g. a quick look while iterating:
#   make bench BENCH_ARGS="--runs 60 --rounds 2 --signals 300 --repeat 2 --idle 3"
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=bench/out
VENV=.cache/bench-venv
CARGO=${CARGO:-cargo}
STATIC_TARGET=x86_64-unknown-linux-musl

if [ "$(id -u)" != 0 ]; then
    echo "bench: needs root (unshare --pid, cgroups)" >&2
    exit 1
fi

# Debian packages: the inits under test, hyperfine, musl-gcc for the helpers, and the tools
# measure.py calls (unshare, file, strip, ldd).
need=()
for pkg in tini dumb-init catatonit hyperfine musl-tools util-linux file binutils libc-bin; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    echo "bench: installing ${need[*]}" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
fi

# The helpers are static musl binaries so their own start-up is small and the same for all.
mkdir -p "$OUT/bin"
for helper in siglat orphans; do
    musl-gcc -static -O2 -Wall -Wextra -Werror -o "$OUT/bin/$helper" "bench/helpers/$helper.c"
done

# Both liftoff builds: glibc (dynamic) and static musl.
$CARGO build --release --locked
make --no-print-directory static CARGO="$CARGO"

# The repo's venv has the real gunicorn that `liftoff plan prod` resolves (worker sizing).
[ -x .venv/bin/gunicorn ] || make --no-print-directory venv

# matplotlib for the chart lives in a venv under .cache (gitignored), created once.
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    if ! python3 -m venv "$VENV"; then
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-venv
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check matplotlib
fi

# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags on purpose.
"$VENV/bin/python" bench/measure.py \
    --liftoff target/release/liftoff \
    --liftoff-static "target/$STATIC_TARGET/release/liftoff" \
    --config "$PWD/liftoff.toml" \
    --venv "$PWD/.venv" \
    --helpers "$OUT/bin" \
    --out "$OUT" \
    ${BENCH_ARGS:-}
"$VENV/bin/python" bench/report.py "$OUT/results.json" \
    --doc docs/benchmarks.md --chart docs/img/benchmarks.png --notes bench/notes.md
