#!/bin/sh
# What `make test` needs from the machine, checked before anything builds: root, Rust
# (rustup), python3 with venv, and the Debian packages the end-to-end tests run. Prints
# the exact command that installs what is missing and exits 1; prints one line and exits 0
# when everything is there. .ci/run installs the packages before it calls `make test`.

missing_packages=""
problems=""

need() {
    # need COMMAND PACKAGE: the Debian package that provides COMMAND.
    command -v "$1" >/dev/null 2>&1 || missing_packages="$missing_packages $2"
}

need cc gcc
need unshare util-linux
need nsenter util-linux
need setpriv util-linux
need ip iproute2
need curl curl
need readelf binutils
need qemu-aarch64-static qemu-user-static
need podman podman
need runc runc
need mmdebstrap mmdebstrap
need podman-compose podman-compose
if command -v python3 >/dev/null 2>&1; then
    # Debian's python3 has no venv module (ensurepip) without python3-venv.
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing_packages="$missing_packages python3-venv"
else
    missing_packages="$missing_packages python3 python3-venv"
fi

if ! command -v cargo >/dev/null 2>&1 || ! command -v rustup >/dev/null 2>&1; then
    problems="$problems
  Rust with rustup (make adds the musl and macOS targets itself): see https://rustup.rs,
  then open a new shell so ~/.cargo/bin is on PATH"
fi
if [ "$(id -u)" != 0 ]; then
    problems="$problems
  root: the tests make PID namespaces and run podman with cgroup limits; run \`sudo make test\`
  (\`make unit\` runs cargo test alone, without root)"
fi
if [ -n "$missing_packages" ]; then
    problems="$problems
  Debian packages:$missing_packages
  install them with: apt-get install -y$missing_packages"
fi

if [ -n "$problems" ]; then
    echo "make test cannot run on this machine yet; it needs:$problems" >&2
    exit 1
fi
echo "preflight: root, rustup, python3 venv, podman, runc, mmdebstrap, podman-compose, qemu-user-static, binutils, iproute2, curl: ok"
