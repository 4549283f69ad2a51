#!/bin/bash
# Entrypoint of flowinfra-standin/mysql (MariaDB from Debian), following the
# official mysql/mariadb images: on an empty datadir it initialises the
# server with networking OFF (a TCP client cannot get in before the database,
# the app user and the root password exist), runs
# /docker-entrypoint-initdb.d, stops that temporary server and then execs the
# real server as PID 1.
set -Eeuo pipefail

log()  { printf '%s [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
warn() { printf '%s [Warn] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; }
die()  { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; exit 1; }

# file_env VAR: VAR or VAR_FILE (docker secrets), MARIADB_* before MYSQL_*.
file_env() {
    local name=$1 def=${2:-} val='' n
    for n in "MARIADB_${name}" "MYSQL_${name}"; do
        local fv="${n}_FILE"
        if [ -n "${!n:-}" ] && [ -n "${!fv:-}" ]; then die "both $n and $fv are set (but are exclusive)"; fi
        if [ -n "${!n:-}" ]; then val="${!n}"; break; fi
        if [ -n "${!fv:-}" ]; then val="$(<"${!fv}")"; break; fi
    done
    printf -v "$name" '%s' "${val:-$def}"
}

sql_string() {  # escape for a '...' SQL literal
    local s=${1//\\/\\\\}
    s=${s//\'/\\\'}
    printf '%s' "$s"
}
sql_ident() { printf '%s' "${1//\`/\`\`}"; }

if [ "${1:0:1}" = '-' ]; then
    set -- mariadbd "$@"
fi
case "$1" in
    mysqld|mariadbd) shift; set -- mariadbd "$@" ;;
    *) exec "$@" ;;
esac
# options that only print something never touch the datadir
for arg; do
    case "$arg" in
        --help|--print-defaults|-V|--version) exec "$@" ;;
    esac
done

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$DATADIR" /run/mysqld
    chown mysql:mysql /run/mysqld
    find "$DATADIR" \! -user mysql -exec chown mysql: '{}' + 2>/dev/null || true
fi

if [ ! -d "$DATADIR/mysql" ]; then
    file_env ROOT_PASSWORD
    file_env ALLOW_EMPTY_PASSWORD
    file_env RANDOM_ROOT_PASSWORD
    file_env ALLOW_EMPTY_ROOT_PASSWORD
    file_env ROOT_HOST '%'
    file_env DATABASE
    file_env USER
    file_env PASSWORD
    [ -n "$ALLOW_EMPTY_PASSWORD" ] || ALLOW_EMPTY_PASSWORD="$ALLOW_EMPTY_ROOT_PASSWORD"

    if [ -z "$ROOT_PASSWORD" ] && [ -z "$ALLOW_EMPTY_PASSWORD" ] && [ -z "$RANDOM_ROOT_PASSWORD" ]; then
        die "Database is uninitialized and password option is not specified
    You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD
    (or the MARIADB_* equivalents)"
    fi
    if [ "$USER" = root ]; then
        die "MYSQL_USER=\"root\": MYSQL_USER and MYSQL_PASSWORD are for configuring a regular user and cannot be used for the root user
    Remove MYSQL_USER=\"root\" and use MYSQL_ROOT_PASSWORD to set the root password"
    fi
    if [ -n "$RANDOM_ROOT_PASSWORD" ]; then
        ROOT_PASSWORD="$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)"
        log "GENERATED ROOT PASSWORD: $ROOT_PASSWORD"
    fi

    log "Initializing database files"
    mariadb-install-db --datadir="$DATADIR" --user=mysql --rpm \
        --auth-root-authentication-method=normal --skip-test-db \
        --skip-log-bin --expire-logs-days=0 \
        --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 \
        >/dev/null
    log "Database files initialized"

    log "Starting temporary server"
    "$@" --skip-networking --socket="$SOCKET" --skip-log-bin \
        --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
    tmp_pid=$!
    client=(mariadb --protocol=socket --socket="$SOCKET" -uroot --batch --skip-column-names)
    for _ in $(seq 1 120); do
        if "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
        kill -0 "$tmp_pid" 2>/dev/null || die "temporary server failed to start"
        sleep 0.5
    done
    "${client[@]}" -e 'SELECT 1' >/dev/null || die "temporary server did not answer in 60 s"
    log "Temporary server started."

    root_pw="$(sql_string "$ROOT_PASSWORD")"
    root_host="$(sql_string "$ROOT_HOST")"
    sql="SET @@SESSION.SQL_LOG_BIN=0;
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname, '\'');
DROP USER IF EXISTS ''@'localhost';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS \'\'@\'', @@hostname, '\'');
DELETE FROM mysql.proxies_priv WHERE Host = @@hostname;
SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root_pw');"
    if [ -n "$ROOT_HOST" ] && [ "$ROOT_HOST" != localhost ]; then
        sql+="
CREATE USER 'root'@'$root_host' IDENTIFIED BY '$root_pw';
GRANT ALL ON *.* TO 'root'@'$root_host' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'$root_host' WITH GRANT OPTION;"
    fi
    if [ -n "$DATABASE" ]; then
        log "Creating database $DATABASE"
        sql+="
CREATE DATABASE IF NOT EXISTS \`$(sql_ident "$DATABASE")\`;"
    fi
    if [ -n "$USER" ] && [ -n "$PASSWORD" ]; then
        log "Creating user $USER"
        sql+="
CREATE USER '$(sql_string "$USER")'@'%' IDENTIFIED BY '$(sql_string "$PASSWORD")';"
        if [ -n "$DATABASE" ]; then
            log "Giving user $USER access to schema $DATABASE"
            sql+="
GRANT ALL ON \`$(sql_ident "$DATABASE")\`.* TO '$(sql_string "$USER")'@'%';"
        fi
    elif [ -n "$USER" ] || [ -n "$PASSWORD" ]; then
        warn "MYSQL_USER and MYSQL_PASSWORD must both be set for the user to be created"
    fi
    sql+="
FLUSH PRIVILEGES;"
    "${client[@]}" <<<"$sql"

    # from here on root needs its password
    defaults="$(mktemp)"
    trap 'rm -f "$defaults"' EXIT
    printf '[client]\nuser=root\npassword="%s"\nsocket=%s\n' "$(sql_string "$ROOT_PASSWORD")" "$SOCKET" >"$defaults"
    client=(mariadb --defaults-extra-file="$defaults" --protocol=socket)
    [ -z "$DATABASE" ] || client+=("--database=$DATABASE")

    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then
                    log "$0: running $f"; "$f"
                else
                    log "$0: sourcing $f"
                    # shellcheck disable=SC1090
                    . "$f"
                fi ;;
            *.sql)    log "$0: running $f"; "${client[@]}" <"$f" ;;
            *.sql.gz) log "$0: running $f"; gunzip -c "$f" | "${client[@]}" ;;
            *.sql.xz) log "$0: running $f"; xz -dc "$f" | "${client[@]}" ;;
            *)        log "$0: ignoring $f" ;;
        esac
    done

    log "Stopping temporary server"
    kill -TERM "$tmp_pid"
    wait "$tmp_pid" || die "temporary server did not stop cleanly"
    rm -f "$defaults"
    trap - EXIT
    log "Temporary server stopped"
    echo
    log "MariaDB init process done. Ready for start up."
    echo
fi

exec "$@"
