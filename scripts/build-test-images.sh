#!/usr/bin/env bash
# Build the offline stand-in images that flowinfra's test suite uses instead
# of the official mysql / postgres / rabbitmq / redis / minio images (see DESIGN.md §10
# and docs/standin-images.md).
#
#   scripts/build-test-images.sh [--force] [--no-cache]
#
#   --force      rebuild every image even when its recipe hash is current
#   --no-cache   ignore (and refresh) the cached rootfs tarball and S3 binary
#
# What it does:
#   1. installs its host tools with apt when missing (debootstrap, ...);
#   2. builds a Debian bookworm minbase rootfs with debootstrap plus the
#      packages in scripts/standin/base/packages.txt (mirror taken from this
#      machine's apt sources at run time) and imports it as
#      flowinfra-standin/base:test;
#   3. builds the S3 server (scripts/standin/minio/server, a Rust crate on
#      s3s/s3s-fs from crates.io) on the host;
#   4. builds flowinfra-standin/{mysql,postgres,rabbitmq,redis,minio}:test FROM the base
#      with the classic builder (no registry, no network inside containers).
#
# Every image carries the label io.flowinfra.recipe-hash; an image whose label
# already equals the current recipe hash is not rebuilt, so a second run takes
# seconds. Caches live in ${XDG_CACHE_HOME:-$HOME/.cache}/flowinfra/standin
# (override with FLOWINFRA_STANDIN_CACHE); removing them only costs time.
# FLOWINFRA_DEBIAN_MIRROR overrides the mirror URI found in the apt sources.

set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(dirname "$SCRIPT_PATH")"
STANDIN_DIR="$SCRIPT_DIR/standin"
SUITE=bookworm
PREFIX=flowinfra-standin
TAG="test"
LABEL=io.flowinfra.recipe-hash
SERVICES=(mysql postgres rabbitmq redis minio)   # minio last: it may wait for cargo
CACHE_DIR="${FLOWINFRA_STANDIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flowinfra/standin}"

FORCE=0
NO_CACHE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --no-cache) NO_CACHE=1 ;;
        -h|--help) sed -n '2,28p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-test-images: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

T0=$SECONDS
log() { printf '[build-test-images %3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { printf 'build-test-images: ERROR: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------------------------
# Preconditions
# --------------------------------------------------------------------------

command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed"
if ! docker_err="$(docker version --format '{{.Server.APIVersion}}' 2>&1 >/dev/null)"; then
    die "cannot reach the Docker engine (DOCKER_HOST=${DOCKER_HOST:-unset}): ${docker_err:-docker info failed}"
fi
export DOCKER_BUILDKIT=0   # classic builder: FROM resolves to the local base image

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "run as root (debootstrap and chroot need it)"
    SUDO=(sudo)
fi

# --------------------------------------------------------------------------
# Recipe hashes
# --------------------------------------------------------------------------

sha256_stdin() { sha256sum | cut -d' ' -f1; }

# Hash of a list of files: their paths (relative to the repo's scripts/) and contents.
hash_files() {
    local f
    for f in "$@"; do
        printf '%s\0' "${f#"$SCRIPT_DIR"/}"
        sha256sum <"$f" | cut -d' ' -f1
    done | sha256_stdin
}

service_files() {  # files of one recipe directory, generated output excluded
    [ -d "$STANDIN_DIR/$1" ] || die "missing recipe directory $STANDIN_DIR/$1"
    find "$STANDIN_DIR/$1" -type f ! -path '*/target/*' -print | LC_ALL=C sort
}

mapfile -t files < <(service_files base)
BASE_HASH="$(hash_files "$SCRIPT_PATH" "${files[@]}")"
declare -A HASH
for svc in "${SERVICES[@]}"; do
    mapfile -t files < <(service_files "$svc")
    HASH[$svc]="$( { echo "$BASE_HASH"; hash_files "${files[@]}"; } | sha256_stdin)"
done
mapfile -t files < <(service_files minio/server)
S3_SRC_HASH="$(hash_files "${files[@]}")"

image_label() {  # prints the recipe-hash label of an image, or nothing
    docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# One run at a time per cache (test runners may start several): the second
# waits, then finds the images current.
mkdir -p "$CACHE_DIR"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE_DIR/.lock"
    if ! flock -n 9; then
        log "waiting for another build-test-images run to finish"
        flock 9
    fi
fi

declare -A NEED
need_any=0
for svc in "${SERVICES[@]}"; do
    if [ "$FORCE" = 1 ] || [ "$(image_label "$PREFIX/$svc:$TAG")" != "${HASH[$svc]}" ]; then
        NEED[$svc]=1; need_any=1
    else
        NEED[$svc]=0
    fi
done
need_base=0
if [ "$need_any" = 1 ] && { [ "$FORCE" = 1 ] || [ "$(image_label "$PREFIX/base:$TAG")" != "$BASE_HASH" ]; }; then
    need_base=1
fi

if [ "$need_any" = 0 ]; then
    log "all stand-in images are up to date (${SERVICES[*]})"
    exit 0
fi
log "to build: $( [ "$need_base" = 1 ] && printf 'base ')$(for s in "${SERVICES[@]}"; do [ "${NEED[$s]}" = 1 ] && printf '%s ' "$s"; done)"

WORK="$(mktemp -d "$CACHE_DIR/work.XXXXXX")"
MOUNTS=()
BG_PIDS=()

forget_pid() {  # a background job that has been waited for
    local p keep=()
    for p in "${BG_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

kill_tree() {  # a background job and everything it started
    local c
    for c in $(awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null); do kill_tree "$c"; done
    kill "$1" 2>/dev/null || true
}

cleanup() {
    local rc=$? m i pid
    for pid in "${BG_PIDS[@]}"; do kill_tree "$pid"; done
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        m="${MOUNTS[$i]}"
        "${SUDO[@]}" umount "$m" 2>/dev/null || "${SUDO[@]}" umount -l "$m" 2>/dev/null || true
    done
    if grep -qF " $WORK/" /proc/self/mounts; then
        log "WARNING: something is still mounted under $WORK; leaving it in place"
    else
        "${SUDO[@]}" rm -rf --one-file-system "$WORK"
    fi
    rm -f "$CACHE_DIR"/rootfs-*.tar.tmp.$$ "$CACHE_DIR"/bin/minio-*.tmp.$$
    [ "$rc" = 0 ] || log "failed (exit $rc)"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------------------------
# Host tools
# --------------------------------------------------------------------------

ensure_host_tools() {
    local missing=()
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
    command -v mount >/dev/null 2>&1 || missing+=(mount)
    if [ "${#missing[@]}" -gt 0 ]; then
        command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install it"
        log "installing host packages: ${missing[*]}"
        "${SUDO[@]}" apt-get update -qq >&2
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}

# --------------------------------------------------------------------------
# Debian mirror, read from this machine's apt sources
# --------------------------------------------------------------------------

# Prints "<uri> <suite>" for every deb entry of the apt sources (deb822 and one-line).
apt_source_entries() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && uris != "")
                    { n = split(uris, u, " "); m = split(suites, s, " ");
                      for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] }
                types = uris = suites = ""; enabled = 1
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "", $0) }
            key == "types" { types = $0 } key == "uris" { uris = $0 } key == "suites" { suites = $0 }
            key == "enabled" && tolower($0) == "no" { types = "" }
            END { flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
    done
}

# Sets MIRROR (the Debian archive) and SECURITY_MIRROR (may be empty).
find_mirror() {
    local entries
    entries="$(apt_source_entries | grep -E '^(https?|file)://' || true)"
    MIRROR="${FLOWINFRA_DEBIAN_MIRROR:-}"
    if [ -z "$MIRROR" ]; then
        MIRROR="$(awk -v s="$SUITE" '$2 == s { print $1; exit }' <<<"$entries")"
    fi
    if [ -z "$MIRROR" ]; then  # a Debian host on another release: any archive URI ending in /debian
        MIRROR="$(awk '$2 !~ /-security$/ && $1 ~ /\/debian\/?$/ { print $1; exit }' <<<"$entries")"
    fi
    [ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*} (set FLOWINFRA_DEBIAN_MIRROR)"
    SECURITY_MIRROR="$(awk -v s="$SUITE-security" '$2 == s { print $1; exit }' <<<"$entries")"
    if [ -z "$SECURITY_MIRROR" ]; then
        SECURITY_MIRROR="$(awk '$2 ~ /-security$/ { print $1; exit }' <<<"$entries")"
    fi
    MIRROR="${MIRROR%/}"; SECURITY_MIRROR="${SECURITY_MIRROR%/}"
}

# --------------------------------------------------------------------------
# Base rootfs (debootstrap minbase + packages), cached as a tarball
# --------------------------------------------------------------------------

read_packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$STANDIN_DIR/base/packages.txt" | grep -v '^$'; }

chroot_mount() {  # /proc and the few device nodes apt and maintainer scripts use
    local root=$1 d
    "${SUDO[@]}" mount -t proc proc "$root/proc"; MOUNTS+=("$root/proc")
    for d in null zero full random urandom tty; do
        [ -c "$root/dev/$d" ] && continue
        "${SUDO[@]}" rm -f "$root/dev/$d"
        "${SUDO[@]}" touch "$root/dev/$d"
        "${SUDO[@]}" mount --bind "/dev/$d" "$root/dev/$d"; MOUNTS+=("$root/dev/$d")
    done
}

chroot_umount() {
    local root=$1 m i keep=()
    # stop anything a maintainer script may have left running in the chroot
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && "${SUDO[@]}" kill -9 "${p#/proc/}" 2>/dev/null || true
    done
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        m="${MOUNTS[$i]}"
        if [[ "$m" == "$root"/* ]]; then
            "${SUDO[@]}" umount "$m" 2>/dev/null || "${SUDO[@]}" umount -l "$m"
        else
            keep+=("$m")
        fi
    done
    MOUNTS=("${keep[@]}")
}

# The rootfs tarball is keyed by what goes into it: this function's code,
# the package list, suite and architecture -- not the whole script, so that
# editing an entrypoint or the image steps never re-runs debootstrap.
build_rootfs() {
    local out=$1 root="$WORK/rootfs" arch pkgs debs="$CACHE_DIR/debs"
    arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
    mapfile -t pkgs < <(read_packages)
    find_mirror
    log "debootstrap $SUITE minbase ($arch) from the mirror in the apt sources"
    mkdir -p "$debs" "$root"
    "${SUDO[@]}" debootstrap --variant=minbase --arch="$arch" --cache-dir="$debs" \
        --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
        "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

    log "installing into the rootfs: ${pkgs[*]}"
    # no docs/man/locales, no recommends, no services started during install
    "${SUDO[@]}" tee "$root/etc/dpkg/dpkg.cfg.d/01-flowinfra-nodoc" >/dev/null <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
EOF
    "${SUDO[@]}" tee "$root/etc/apt/apt.conf.d/01-flowinfra" >/dev/null <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$root/usr/sbin/policy-rc.d" >/dev/null
    "${SUDO[@]}" chmod 755 "$root/usr/sbin/policy-rc.d"
    {
        echo "deb $MIRROR $SUITE main"
        echo "deb $MIRROR $SUITE-updates main"
        [ -z "$SECURITY_MIRROR" ] || echo "deb $SECURITY_MIRROR $SUITE-security main"
    } | "${SUDO[@]}" tee "$root/etc/apt/sources.list" >/dev/null
    "${SUDO[@]}" cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    # reuse .debs from earlier runs (hard links, same file system when possible)
    find "$debs" -maxdepth 1 -name '*.deb' -exec "${SUDO[@]}" cp -l -n -t "$root/var/cache/apt/archives/" {} + 2>/dev/null \
        || find "$debs" -maxdepth 1 -name '*.deb' -exec "${SUDO[@]}" cp -n -t "$root/var/cache/apt/archives/" {} + || true

    chroot_mount "$root"
    if ! "${SUDO[@]}" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
        chroot "$root" sh -ec "
            apt-get update -qq
            apt-get -y -qq -o Dpkg::Use-Pty=0 dist-upgrade
            apt-get -y -qq -o Dpkg::Use-Pty=0 install ${pkgs[*]}
        " >"$WORK/apt.log" 2>&1; then
        tail -n 40 "$WORK/apt.log" >&2
        die "package installation in the rootfs failed (log above)"
    fi
    chroot_umount "$root"
    find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -l -n -t "$debs/" {} + 2>/dev/null \
        || find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "$debs/" {} + || true

    log "trimming the rootfs"
    "${SUDO[@]}" sh -ec "
        cd '$root'
        rm -f etc/apt/sources.list etc/resolv.conf etc/hostname
        rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/debconf/*-old
        rm -rf var/log/* tmp/* var/tmp/* root/.cache
        find usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
        find usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true
        rm -rf usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/lintian
        # data directories start empty: the entrypoints initialise them
        rm -rf var/lib/mysql/* var/lib/mysql/.[!.]* var/lib/rabbitmq/* var/lib/rabbitmq/.[!.]* var/lib/redis/*
        # the cluster Debian's postgresql postinst creates (15/main); the
        # postgres stand-in runs initdb on its own PGDATA instead
        rm -rf var/lib/postgresql/[0-9]* etc/postgresql/[0-9]*
        : > etc/machine-id
    "
    "${SUDO[@]}" tar --numeric-owner --xattrs -C "$root" \
        --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf "$out.tmp.$$" .
    "${SUDO[@]}" chown "$(id -u):$(id -g)" "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
    "${SUDO[@]}" rm -rf --one-file-system "$root"
}

ROOTFS_KEY="$( {
    declare -f build_rootfs chroot_mount chroot_umount read_packages
    read_packages
    echo "$SUITE $(dpkg --print-architecture 2>/dev/null || echo amd64)"
} | sha256_stdin)"

build_base() {
    local tar="$CACHE_DIR/rootfs-${ROOTFS_KEY:0:16}.tar"
    if [ "$NO_CACHE" = 1 ] || [ ! -s "$tar" ]; then
        ensure_host_tools
        build_rootfs "$tar"
        # keep only the current tarball
        find "$CACHE_DIR" -maxdepth 1 -name 'rootfs-*.tar' ! -path "$tar" -delete
    else
        log "using cached rootfs $(basename "$tar")"
    fi
    log "importing $PREFIX/base:$TAG ($(du -h "$tar" | cut -f1))"
    docker import \
        --change "LABEL $LABEL=$BASE_HASH" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        "$tar" "$PREFIX/base:$TAG" >/dev/null
}

# --------------------------------------------------------------------------
# S3 server binary (cargo on the host; copied into the image)
# --------------------------------------------------------------------------

S3_BIN="$CACHE_DIR/bin/minio-${S3_SRC_HASH:0:16}"

start_s3_build() {
    if [ "$NO_CACHE" = 0 ] && [ -x "$S3_BIN" ]; then
        log "using cached S3 server binary $(basename "$S3_BIN")"
        return
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo is needed to build the S3 stand-in (scripts/standin/minio/server)"
    log "building the S3 server with cargo (in the background)"
    mkdir -p "$CACHE_DIR/bin"
    (
        cd "$STANDIN_DIR/minio/server"
        CARGO_TARGET_DIR="$CACHE_DIR/s3-target" cargo build --release --locked --quiet
        cp "$CACHE_DIR/s3-target/release/minio" "$S3_BIN.tmp.$$"
        mv "$S3_BIN.tmp.$$" "$S3_BIN"
        find "$CACHE_DIR/bin" -name 'minio-*' ! -path "$S3_BIN" -delete
    ) >"$WORK/cargo.log" 2>&1 &
    S3_PID=$!
    BG_PIDS+=("$S3_PID")
}

wait_s3_build() {
    [ -n "${S3_PID:-}" ] || return 0
    local rc=0
    wait "$S3_PID" || rc=$?
    forget_pid "$S3_PID"
    if [ "$rc" != 0 ]; then
        tail -n 40 "$WORK/cargo.log" >&2
        die "building the S3 server failed (log above)"
    fi
    S3_PID=
    log "S3 server built"
}

# --------------------------------------------------------------------------
# Service images
# --------------------------------------------------------------------------

OLD_IMAGES=()
declare -A BUILD_PID OLD_ID

# docker build of one service image, run in the background: on this kind of
# engine every Dockerfile step costs a few seconds of container churn, so the
# five builds overlap.
start_service_build() {
    local svc=$1 ctx="$WORK/ctx-$1" image="$PREFIX/$1:$TAG"
    mkdir -p "$ctx"
    (cd "$STANDIN_DIR/$svc" && find . -path ./server -prune -o -type f -exec cp --parents -p {} "$ctx/" \;)
    if [ "$svc" = minio ]; then
        wait_s3_build
        mkdir -p "$ctx/rootfs/usr/bin"
        cp "$S3_BIN" "$ctx/rootfs/usr/bin/minio"
    fi
    # modes in the image must not depend on the checkout's umask
    chmod -R u+rwX,go+rX,go-w "$ctx"
    OLD_ID[$svc]="$(image_id "$image")"
    log "building $image"
    docker build --network none --label "$LABEL=${HASH[$svc]}" -t "$image" "$ctx" >"$WORK/build-$svc.log" 2>&1 &
    BUILD_PID[$svc]=$!
    BG_PIDS+=("$!")
}

finish_service_build() {
    local svc=$1 image="$PREFIX/$1:$TAG"
    local rc=0
    wait "${BUILD_PID[$svc]}" || rc=$?
    forget_pid "${BUILD_PID[$svc]}"
    if [ "$rc" != 0 ]; then
        tail -n 40 "$WORK/build-$svc.log" >&2
        die "docker build of $image failed (log above)"
    fi
    log "built $image"
    [ -z "${OLD_ID[$svc]}" ] || [ "${OLD_ID[$svc]}" = "$(image_id "$image")" ] || OLD_IMAGES+=("${OLD_ID[$svc]}")
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

if [ "$need_base" = 1 ]; then
    # a new base invalidates every service image built on the old one
    for svc in "${SERVICES[@]}"; do NEED[$svc]=1; done
fi
if [ "${NEED[minio]}" = 1 ]; then
    start_s3_build   # cargo runs while debootstrap downloads
fi

if [ "$need_base" = 1 ]; then
    old_base="$(image_id "$PREFIX/base:$TAG")"
    build_base
    [ -z "$old_base" ] || [ "$old_base" = "$(image_id "$PREFIX/base:$TAG")" ] || OLD_IMAGES+=("$old_base")
else
    log "base image is up to date"
fi

for svc in "${SERVICES[@]}"; do   # minio last: it may wait for cargo
    if [ "${NEED[$svc]}" = 1 ]; then
        start_service_build "$svc"
    else
        log "$PREFIX/$svc:$TAG is up to date"
    fi
done
for svc in "${SERVICES[@]}"; do
    if [ "${NEED[$svc]}" = 1 ]; then finish_service_build "$svc"; fi
done

# drop superseded images (ignored when a container still uses one)
for ((i = ${#OLD_IMAGES[@]} - 1; i >= 0; i--)); do
    docker rmi "${OLD_IMAGES[$i]}" >/dev/null 2>&1 || true
done

log "done: $(for s in "${SERVICES[@]}"; do printf '%s ' "$PREFIX/$s:$TAG"; done)"
