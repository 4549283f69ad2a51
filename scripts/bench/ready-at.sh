#!/usr/bin/env bash
# When a container started, and when its service said it was ready in its own
# log (the last such line: MySQL images restart once after initialising).
# Prints `SERVICE STARTED_EPOCH READY_EPOCH` (seconds, engine clock), so a
# benchmark can tell a service's own start time from the tool's overhead.
# Waits (up to 3 minutes) for a service that is not ready yet: a tool may
# declare the stack up before it is.
#
#   scripts/bench/ready-at.sh CONTAINER SERVICE
#
# The lines are the ones testcontainers waits on, as the stand-in images
# (and the official ones) print them.
set -euo pipefail

container="$1"
service="$2"
case "$service" in
    mysql) marker='ready for connections' ;;
    rabbitmq) marker='Server startup complete' ;;
    redis) marker='Ready to accept connections' ;;
    minio) marker='API: ' ;;
    *) echo "ready-at: no readiness line known for $service" >&2; exit 2 ;;
esac
epoch() { date -d "$1" +%s.%N; }
started="$(docker inspect -f '{{.State.StartedAt}}' "$container")"
deadline=$((SECONDS + 180))
while :; do
    line="$(docker logs -t "$container" 2>&1 | grep -F -- "$marker" | tail -n 1 || true)"
    [ -z "$line" ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "ready-at: $container never logged \"$marker\"" >&2
        exit 1
    fi
    sleep 0.2
done
echo "$service $(epoch "$started") $(epoch "${line%% *}")"
