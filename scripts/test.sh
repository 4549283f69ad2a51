#!/usr/bin/env bash
# The project's test command (the README's and CI's): checks the Docker
# engine is reachable, builds the offline stand-in images, then runs every
# test — unit, spec, CLI and end-to-end against the real engine.
#
#   scripts/test.sh [extra cargo test arguments]
#
# It fails, never skips, when the engine is missing: the end-to-end tests
# are the point.
set -euo pipefail
cd "$(dirname "$0")/.."

socket="${DOCKER_HOST:-unix:///var/run/docker.sock}"
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "test.sh: the Docker engine at $socket is not reachable." >&2
    echo "test.sh: start it (e.g. 'service docker start') or point DOCKER_HOST at one; the tests need it." >&2
    exit 1
fi

if ! command -v cc >/dev/null 2>&1; then
    echo "test.sh: a C compiler is needed to build some dependencies (apt-get install build-essential)" >&2
    exit 1
fi

# The engine tests run a tiny image made from Debian's static busybox.
if [ ! -x /bin/busybox ]; then
    echo "test.sh: installing busybox-static for the engine tests" >&2
    apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null
fi

# Tests that check with Python libraries (bcrypt, psycopg, kubernetes-validate)
# install them from PyPI into venvs of their own.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "test.sh: installing python3-venv for the tests' Python checks" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi

bash scripts/build-test-images.sh

cargo test --all-targets "$@" -- --test-threads="${FLOWINFRA_TEST_THREADS:-2}"
