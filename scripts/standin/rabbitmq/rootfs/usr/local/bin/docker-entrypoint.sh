#!/bin/bash
# Entrypoint of flowinfra-standin/rabbitmq. On every start it writes the
# default user/password/vhost from RABBITMQ_DEFAULT_USER / _PASS / _VHOST
# (defaults guest/guest and /) to /etc/rabbitmq/conf.d; RabbitMQ creates them
# on its first boot with an empty database, as the official image does.
# The server runs as the rabbitmq user; its start script stops the node
# cleanly on SIGTERM.
set -euo pipefail

die() { echo "docker-entrypoint: error: $*" >&2; exit 1; }

file_env() {  # VAR or VAR_FILE
    local var=$1 def=${2:-} fvar="${1}_FILE"
    if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then die "both $var and $fvar are set (but are exclusive)"; fi
    local val=$def
    if [ -n "${!var:-}" ]; then val="${!var}"; elif [ -n "${!fvar:-}" ]; then val="$(<"${!fvar}")"; fi
    printf -v "$var" '%s' "$val"
}

if [ "${1:0:1}" = '-' ]; then
    set -- rabbitmq-server "$@"
fi

if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
    file_env RABBITMQ_DEFAULT_USER guest
    file_env RABBITMQ_DEFAULT_PASS guest
    file_env RABBITMQ_DEFAULT_VHOST /
    file_env RABBITMQ_ERLANG_COOKIE
    for v in RABBITMQ_DEFAULT_USER RABBITMQ_DEFAULT_PASS RABBITMQ_DEFAULT_VHOST; do
        case "${!v}" in *$'\n'*) die "$v must not contain a newline" ;; esac
    done
    conf=/etc/rabbitmq/conf.d/20-default-user.conf
    {
        echo "# written by docker-entrypoint.sh from RABBITMQ_DEFAULT_* on every start"
        echo "default_user = $RABBITMQ_DEFAULT_USER"
        echo "default_pass = $RABBITMQ_DEFAULT_PASS"
        echo "default_vhost = $RABBITMQ_DEFAULT_VHOST"
        echo "default_user_tags.administrator = true"
        echo "default_permissions.configure = .*"
        echo "default_permissions.read = .*"
        echo "default_permissions.write = .*"
    } >"$conf"
    chown rabbitmq:rabbitmq "$conf"
    chmod 0600 "$conf"

    mkdir -p /var/lib/rabbitmq /var/log/rabbitmq
    chown rabbitmq:rabbitmq /etc/rabbitmq /etc/rabbitmq/conf.d /etc/rabbitmq/enabled_plugins 2>/dev/null || true
    find /var/lib/rabbitmq /var/log/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' + 2>/dev/null || true
    cookie=/var/lib/rabbitmq/.erlang.cookie
    if [ -n "$RABBITMQ_ERLANG_COOKIE" ]; then
        printf '%s' "$RABBITMQ_ERLANG_COOKIE" >"$cookie"
    elif [ ! -s "$cookie" ]; then
        od -An -N20 -tx1 /dev/urandom | tr -d ' \n' | tr '0-9a-f' 'A-P' >"$cookie"
    fi
    chown rabbitmq:rabbitmq "$cookie"
    chmod 0400 "$cookie"

    shift
    cd /var/lib/rabbitmq
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
        env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi

exec "$@"
