#!/bin/sh
# Entrypoint of flowinfra-standin/minio, after the official minio image:
# arguments that do not start with `minio` get `minio` put in front
# (`server /data --console-address :9001`). MINIO_ROOT_USER_FILE /
# MINIO_ROOT_PASSWORD_FILE name docker secrets (relative names are looked
# up in /run/secrets), as in the official image.
set -e

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
