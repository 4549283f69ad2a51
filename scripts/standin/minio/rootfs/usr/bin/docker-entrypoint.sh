#!/bin/sh
# Entrypoint of flowinfra-standin/minio, after the official minio image:
# arguments that do not start with `minio` get `minio` put in front
# (`server /data --console-address :9001`). MINIO_ROOT_USER_FILE /
# MINIO_ROOT_PASSWORD_FILE name docker secrets (relative names are looked
# up in /run/secrets), as in the official image.
set -e

# Started as `rustfs` (the command of the stand-in for rustfs/rustfs; the
# real image runs `rustfs` with no arguments): RustFS's contract instead of
# MinIO's. Root keys from RUSTFS_ACCESS_KEY / RUSTFS_SECRET_KEY; MINIO_ROOT_USER
# / MINIO_ROOT_PASSWORD are legacy aliases used only when the canonical
# variable is absent (with a warning); neither set: rustfsadmin/rustfsadmin
# with a warning. Data in RUSTFS_VOLUMES (default /data), S3 on
# RUSTFS_ADDRESS (:9000), console on RUSTFS_CONSOLE_ADDRESS (:9001), health
# on /health and /health/ready (and MinIO's routes, as RustFS keeps them).
if [ "${1:-}" = rustfs ]; then
    access=${RUSTFS_ACCESS_KEY:-}
    secret=${RUSTFS_SECRET_KEY:-}
    if [ -z "$access" ] && [ -n "${MINIO_ROOT_USER:-}" ]; then
        echo "WARNING: MINIO_ROOT_USER is a legacy alias; set RUSTFS_ACCESS_KEY" >&2
        access=$MINIO_ROOT_USER
    fi
    if [ -z "$secret" ] && [ -n "${MINIO_ROOT_PASSWORD:-}" ]; then
        echo "WARNING: MINIO_ROOT_PASSWORD is a legacy alias; set RUSTFS_SECRET_KEY" >&2
        secret=$MINIO_ROOT_PASSWORD
    fi
    if [ -z "$access" ] || [ -z "$secret" ]; then
        echo "WARNING: default credentials in use; set RUSTFS_ACCESS_KEY and RUSTFS_SECRET_KEY" >&2
        access=${access:-rustfsadmin} secret=${secret:-rustfsadmin}
    fi
    unset MINIO_ACCESS_KEY MINIO_SECRET_KEY MINIO_ROOT_USER_FILE MINIO_ROOT_PASSWORD_FILE MINIO_ACCESS_KEY_FILE MINIO_SECRET_KEY_FILE
    export MINIO_ROOT_USER="$access" MINIO_ROOT_PASSWORD="$secret" STANDIN_S3_CONTRACT=rustfs
    exec minio server "${RUSTFS_VOLUMES:-/data}" --address "${RUSTFS_ADDRESS:-:9000}" \
        --console-address "${RUSTFS_CONSOLE_ADDRESS:-:9001}"
fi

read_secret() {  # VAR FILE: set VAR from FILE when VAR is unset and FILE exists
    var=$1 file=$2
    [ -n "$file" ] || return 0
    case "$file" in /*) ;; *) file="/run/secrets/$file" ;; esac
    eval "cur=\${$var:-}"
    if [ -z "$cur" ] && [ -f "$file" ]; then
        export "$var=$(cat "$file")"
    fi
}
read_secret MINIO_ROOT_USER "${MINIO_ROOT_USER_FILE:-}"
read_secret MINIO_ROOT_PASSWORD "${MINIO_ROOT_PASSWORD_FILE:-}"
read_secret MINIO_ACCESS_KEY "${MINIO_ACCESS_KEY_FILE:-}"
read_secret MINIO_SECRET_KEY "${MINIO_SECRET_KEY_FILE:-}"

if [ "${1:-}" != minio ] && [ -n "${1:-}" ]; then
    set -- minio "$@"
fi
exec "$@"
