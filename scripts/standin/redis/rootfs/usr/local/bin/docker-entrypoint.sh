#!/bin/sh
# Entrypoint of flowinfra-standin/redis, after the official redis image:
# `redis-server ...`, `--option ...` or `file.conf ...` run redis-server as
# the redis user in /data. The official image compiles protected mode off;
# Debian's build has it on, so without a config file the stand-in passes
# `--protected-mode no` (unless a given config file sets it; later
# arguments still override it). Redis
# binds all interfaces when no config file says otherwise.
set -e

# first arg is `-f` or `--some-option`, or `something.conf`
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
    shift
    case "${1:-}" in
        *.conf)  # a config file comes first; it may set protected-mode itself
            if ! grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$1" 2>/dev/null; then
                conf=$1; shift; set -- "$conf" --protected-mode no "$@"
            fi ;;
        -) ;;    # config from stdin
        -v|--version|-h|--help|--test-memory|--check-system) ;;
        *) set -- --protected-mode no "$@" ;;
    esac
    set -- redis-server "$@"
    if [ "$(id -u)" = 0 ]; then
        find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
        um="$(umask)"
        [ "$um" != 0022 ] || umask 0077
        exec setpriv --reuid=redis --regid=redis --init-groups "$@"
    fi
fi

um="$(umask)"
[ "$um" != 0022 ] || umask 0077
exec "$@"
