#!/usr/bin/env bash
# Benchmarks flowinfra against what users would run instead, side by side in
# one run, and prints medians and ratios (docs/benchmarks.md holds the latest).
#
#   scripts/bench.sh [RUNS]        (default 10 runs per case)
#
# Cases:
#   warm-up   `flowinfra up` on a converged stack vs `docker-compose up -d`
#             on the same (converged) Compose file, each on its own project
#             and ports so both stacks run at once.
#
# Needs the Docker engine, the stand-in images (scripts/build-test-images.sh)
# and hyperfine (installed from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-10}"
if ! command -v hyperfine >/dev/null; then
    apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null
fi
if ! command -v docker-compose >/dev/null; then
    apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null
fi
bash scripts/build-test-images.sh >&2
cargo build --release --quiet
bin="$PWD/target/release/flowinfra"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

files=(-f compose/flowinfra.yaml -f compose/offline.yaml)
# Two stacks at once need two sets of host ports.
ports() {
    local base=$1
    echo "MYSQL_PORT=$((base)) RABBITMQ_PORT=$((base + 1)) RABBITMQ_MANAGEMENT_PORT=$((base + 2)) REDIS_PORT=$((base + 3)) MINIO_PORT=$((base + 4)) MINIO_CONSOLE_PORT=$((base + 5))"
}
fi_env=$(ports 23306)
dc_env=$(ports 33306)

cleanup() {
    env $fi_env "$bin" "${files[@]}" -p bench-flowinfra down -v >/dev/null 2>&1 || true
    env $dc_env docker-compose "${files[@]}" -p benchcompose down -v >/dev/null 2>&1 || true
    rm -rf "$out"
}
trap cleanup EXIT

echo "== converging both stacks" >&2
env $fi_env "$bin" "${files[@]}" -p bench-flowinfra up -q >&2
env $dc_env docker-compose "${files[@]}" -p benchcompose up -d >&2 2>&1

echo "== warm up: $runs runs each" >&2
hyperfine --warmup 2 --runs "$runs" --export-json "$out/warm.json" \
    -n "flowinfra up" "env $fi_env $bin ${files[*]} -p bench-flowinfra up -q" \
    -n "docker-compose up -d" "env $dc_env docker-compose ${files[*]} -p benchcompose up -d" >&2

python3 - "$out/warm.json" <<'PY'
import json, statistics, sys, platform, os
results = json.load(open(sys.argv[1]))["results"]
medians = {r["command"]: statistics.median(r["times"]) for r in results}
ours, theirs = medians["flowinfra up"], medians["docker-compose up -d"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"machine: {os.cpu_count()} cores, {cpu}")
print(f"| case | flowinfra (median) | alternative (median) | ratio |")
print(f"| --- | --- | --- | --- |")
print(f"| warm `up` on a converged stack | {ours*1000:.0f} ms | docker-compose up -d: {theirs*1000:.0f} ms | {theirs/ours:.1f}x faster |")
PY
