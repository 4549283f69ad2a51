#!/usr/bin/env bash
# A second, newer Docker Engine on this machine, so the end-to-end suite can
# run against it as well as against the system's engine (issue 14; see
# docs/engines.md).
#
#   scripts/second-engine.sh build        # only build (or check) the cached root filesystem
#   scripts/second-engine.sh start        # build (first time) and start it; load the stand-in images
#   scripts/second-engine.sh exec CMD...  # run CMD against it (DOCKER_HOST set, in its network namespace)
#   scripts/second-engine.sh env          # print its DOCKER_HOST and network namespace
#   scripts/second-engine.sh status       # running? which version?
#   scripts/second-engine.sh stop         # stop it; nothing stays mounted
#
# e.g.  scripts/second-engine.sh start
#       scripts/second-engine.sh exec cargo test --test e2e_up -- --test-threads=1
#       scripts/second-engine.sh stop
#
# How: a Debian root (debootstrap minbase, FLOWINFRA_ENGINE2_SUITE, default
# trixie) with Debian's docker.io, containerd, runc and iptables, cached in
# ${XDG_CACHE_HOME:-$HOME/.cache}/flowinfra/engine2/<suite>/rootfs. Its dockerd
# (with the containerd it starts itself) runs in private mount and network
# namespaces, pivot_root'ed into that root:
#   - its API socket is /run/flowinfra-engine2/docker.sock (a bind of that host
#     directory), its data in .../engine2/<suite>/data, its containers in the
#     cgroup /flowinfra-engine2;
#   - its bridges, iptables rules and published ports live in its own network
#     namespace, so the system engine's bridges and rules are never touched.
#     A published 127.0.0.1 port is reachable from inside that namespace only:
#     `exec` runs the command there (unix sockets work across namespaces, so
#     the system engine's socket still answers there too);
#   - every mount is made in the private mount namespace, so none outlives it.
# Needs root, debootstrap, util-linux (unshare, nsenter, pivot_root), the
# docker CLI, and the Debian mirror of this machine's apt sources
# (FLOWINFRA_DEBIAN_MIRROR overrides it). No image registry is used: the
# stand-in images are copied from the system engine with docker save | load.
set -Eeuo pipefail   # -E: the ERR trap of `start` also covers the functions it calls
SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"

SUITE="${FLOWINFRA_ENGINE2_SUITE:-trixie}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/flowinfra/engine2/$SUITE"
ROOTFS="$CACHE/rootfs"
DATA="$CACHE/data"
LOG="$CACHE/dockerd.log"
RUN_DIR=/run/flowinfra-engine2
SOCKET="$RUN_DIR/docker.sock"
DOCKER_PID="$RUN_DIR/docker.pid"
NS_PID="$RUN_DIR/namespace.pid"    # the process whose namespaces the engine lives in
HOST="unix://$SOCKET"
PACKAGES=(docker.io containerd runc iptables tini)

log() { printf '[second-engine %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'second-engine: ERROR: %s\n' "$*" >&2; exit 1; }
e2() { docker -H "$HOST" "$@"; }

# --------------------------------------------------------------------------
# The Debian mirror, from this machine's apt sources (never written anywhere)
# --------------------------------------------------------------------------
find_mirror() {
    local uris
    uris="$( {
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] && sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" { print $2 }'
        done
    } 2>/dev/null | grep -E '^(https?|file)://' || true)"
    MIRROR="${FLOWINFRA_DEBIAN_MIRROR:-$(grep -E '/debian/?$' <<<"$uris" | head -n1 || true)}"
    [ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*} (set FLOWINFRA_DEBIAN_MIRROR)"
    MIRROR="${MIRROR%/}"
}

# --------------------------------------------------------------------------
# The root filesystem: built once, then cached
# --------------------------------------------------------------------------
build_rootfs() {
    [ -x "$ROOTFS/usr/sbin/dockerd" ] && return 0
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    find_mirror
    local tmp="$ROOTFS.tmp"
    rm -rf "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$CACHE"
    log "debootstrap $SUITE minbase into $tmp (log: $CACHE/debootstrap.log)"
    # An older debootstrap lacks scripts for newer suites; sid's script fits them all.
    local script=()
    [ -e "/usr/share/debootstrap/scripts/$SUITE" ] || script=(/usr/share/debootstrap/scripts/sid)
    debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" "${script[@]}" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap $SUITE failed"; }
    # Suites past the stable one can carry a Release file the mirror has let expire.
    echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/90flowinfra-engine2"
    # Packages' maintainer scripts must not start services in the root.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod +x "$tmp/usr/sbin/policy-rc.d"
    log "installing ${PACKAGES[*]} from $SUITE (log: $CACHE/apt.log)"
    { chroot "$tmp" apt-get -q update \
        && DEBIAN_FRONTEND=noninteractive chroot "$tmp" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" \
        && chroot "$tmp" apt-get clean; } >"$CACHE/apt.log" 2>&1 \
        || { tail -n 20 "$CACHE/apt.log" >&2; die "installing the engine in the $SUITE root failed"; }
    chroot "$tmp" dpkg-query -W "${PACKAGES[@]}" >"$tmp/flowinfra-engine2.versions"
    mv "$tmp" "$ROOTFS"
    trap - EXIT
}

# --------------------------------------------------------------------------
# Running state
# --------------------------------------------------------------------------
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running() { pid_alive "$NS_PID" && e2 version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# What runs inside the new namespaces (as root of them): mounts, then dockerd.
INNER='
set -eu
R=$1 DATA=$2 RUN_DIR=$3 SOCKET=$4 DOCKER_PID=$5
ip link set lo up
# pivot_root, not chroot: runc exec (docker exec, healthchecks) enters a
# container by its mount namespace root, which a chroot would leave at the host root.
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"               # this network namespace s view of /sys/class/net
mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
mkdir -p "$R$RUN_DIR" "$R/var/lib/docker" "$R/.oldroot"
mount --bind "$RUN_DIR" "$R$RUN_DIR"
mount --bind "$DATA" "$R/var/lib/docker"
cd "$R"
pivot_root . .oldroot
exec /usr/sbin/chroot . /bin/sh -c "umount -l /.oldroot && exec /usr/sbin/dockerd \
    -H unix://$SOCKET --pidfile $DOCKER_PID \
    --data-root /var/lib/docker --exec-root /run/docker \
    --cgroup-parent /flowinfra-engine2 --storage-driver overlay2 --log-driver json-file"
'

start() {
    if running; then
        log "already running: $(e2 version --format 'Docker Engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
        load_images
        return 0
    fi
    stop_quietly
    for tool in unshare nsenter pivot_root docker ip; do
        command -v "$tool" >/dev/null || die "$tool is not installed"
    done
    build_rootfs
    mkdir -p "$DATA" "$RUN_DIR"
    trap 'stop_quietly; die "the engine did not start; its log: $LOG"' ERR
    log "starting $SUITE's dockerd ($(awk '$1 == "docker.io" { print $2 }' "$ROOTFS/flowinfra-engine2.versions"))"
    setsid unshare --mount --net --propagation private --fork \
        bash -c "$INNER" inner "$ROOTFS" "$DATA" "$RUN_DIR" "$SOCKET" "$DOCKER_PID" \
        </dev/null >"$LOG" 2>&1 &
    echo $! >"$NS_PID"
    local waited=0
    until e2 version >/dev/null 2>&1; do
        pid_alive "$NS_PID" || { tail -n 20 "$LOG" >&2; false; }
        [ "$waited" -lt 60 ] || { tail -n 20 "$LOG" >&2; false; }
        sleep 1; waited=$((waited + 1))
    done
    log "up on $HOST: $(e2 version --format 'Docker Engine {{.Server.Version}}, API {{.Server.APIVersion}} (minimum {{.Server.MinAPIVersion}})')"
    load_images
    trap - ERR
}

# The stand-in images the suite runs (tests import their busybox image themselves).
load_images() {
    local missing=() ref
    while read -r ref id; do
        [ "$(e2 image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)" = "$id" ] || missing+=("$ref")
    done < <(docker -H unix:///var/run/docker.sock images --format '{{.Repository}}:{{.Tag}} {{.ID}}' --no-trunc \
        | grep '^flowinfra-standin/' || true)
    [ "${#missing[@]}" -gt 0 ] || return 0
    log "loading ${missing[*]} from the system engine"
    docker -H unix:///var/run/docker.sock save "${missing[@]}" | e2 load -q >/dev/null
}

stop_quietly() {
    if pid_alive "$DOCKER_PID"; then
        kill -TERM "$(cat "$DOCKER_PID")"
        for _ in $(seq 40); do pid_alive "$DOCKER_PID" || break; sleep 0.5; done
    fi
    if pid_alive "$NS_PID"; then
        # dockerd gone or stuck: end the namespace's process tree (its shims too).
        pkill -KILL -s "$(cat "$NS_PID")" 2>/dev/null || true
        for _ in $(seq 20); do pid_alive "$NS_PID" || break; sleep 0.5; done
    fi
    rm -f "$SOCKET" "$DOCKER_PID" "$NS_PID"
    # Empty cgroups the engine's containers left (cgroup v1 has one tree per controller).
    find /sys/fs/cgroup -depth -type d -path '*/flowinfra-engine2*' -exec rmdir {} + 2>/dev/null || true
    rmdir "$RUN_DIR" 2>/dev/null || true
}

stop() {
    pid_alive "$NS_PID" || pid_alive "$DOCKER_PID" || { log "not running"; stop_quietly; return 0; }
    stop_quietly
    log "stopped"
}

need_running() { running || die "the second engine is not running (scripts/second-engine.sh start)"; }

case "${1:-}" in
    build) [ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"; build_rootfs
        sed 's/^/  /' "$ROOTFS/flowinfra-engine2.versions" ;;
    start) [ "$(id -u)" = 0 ] || die "needs root (namespaces, mounts)"; start ;;
    stop) stop ;;
    status)
        if running; then e2 version --format 'running: Docker Engine {{.Server.Version}}, API {{.Server.APIVersion}}'
        else echo "not running"; exit 1; fi ;;
    env)
        need_running
        echo "export DOCKER_HOST=$HOST"
        echo "# published ports are reachable inside its network namespace: nsenter --net=/proc/$(cat "$NS_PID")/ns/net CMD" ;;
    exec)
        shift; [ $# -gt 0 ] || die "exec needs a command"
        need_running
        exec nsenter --net="/proc/$(cat "$NS_PID")/ns/net" -- env DOCKER_HOST="$HOST" "$@" ;;
    -h|--help|help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$SCRIPT_PATH" ;;
    *) echo "usage: $0 build|start|exec CMD...|env|status|stop" >&2; exit 2 ;;
esac
