#!/usr/bin/env bash
# What a docker-compose user runs after `docker-compose up -d` (Compose 1.29
# has no `--wait`): polls `docker inspect` every 100 ms until every container
# of the Compose project that has a healthcheck is healthy and every other
# one is running. Fails at once on an exited or unhealthy container.
#
#   scripts/bench/wait-healthy.sh PROJECT [TIMEOUT_SECONDS]     (default 300)
set -euo pipefail

project="$1"
deadline=$((SECONDS + ${2:-300}))
while :; do
    mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$project")
    pending=${#ids[@]}
    if [ "$pending" -gt 0 ]; then
        pending=0
        while read -r name state; do
            case "$state" in
                running/healthy | running/none) ;;
                exited/* | dead/* | */unhealthy)
                    echo "wait-healthy: $name is $state" >&2
                    exit 1
                    ;;
                *) pending=1 ;;
            esac
        done < <(docker inspect -f '{{.Name}} {{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "${ids[@]}")
        [ "$pending" -eq 0 ] && exit 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "wait-healthy: project $project not healthy in time" >&2
        exit 1
    fi
    sleep 0.1
done
