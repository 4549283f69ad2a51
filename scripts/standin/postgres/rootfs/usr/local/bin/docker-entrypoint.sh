#!/bin/bash
# Entrypoint of flowinfra-standin/postgres (Debian's PostgreSQL 15), after the
# official postgres image's contract:
#
#   POSTGRES_PASSWORD      superuser password; required on an empty PGDATA
#                          unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER          superuser name (default postgres)
#   POSTGRES_DB            database created on first start (default: the user)
#   POSTGRES_INITDB_ARGS   extra initdb arguments, shell-quoted ("-E UTF8")
#   POSTGRES_INITDB_WALDIR initdb --waldir
#   POSTGRES_HOST_AUTH_METHOD  pg_hba method for TCP clients (default: the
#                          server's password_encryption, scram-sha-256)
#   *_FILE                 the first four read from a file (docker secrets)
#   PGDATA                 data directory (default /var/lib/postgresql/data)
#
# On an empty PGDATA: initdb, then a TEMPORARY server on the unix socket only
# (listen_addresses='', so no TCP client can log in before the database
# exists and the init scripts ran), CREATE DATABASE, the files of
# /docker-entrypoint-initdb.d (*.sh run or sourced, *.sql / .sql.gz /
# .sql.xz / .sql.zst through psql into POSTGRES_DB as POSTGRES_USER), stop,
# then exec the real server (listen_addresses='*', port 5432). With data
# present, initialisation is skipped. Started as root, it drops to the
# postgres user with gosu, as the official image does.
set -Eeo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

log() { printf '%s\n' "$*"; }

# file_env VAR [DEFAULT]: VAR, or the content of the file named by VAR_FILE.
file_env() {
    local var=$1 def=${2:-} file_var="${1}_FILE" val
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$file_var"
        exit 1
    fi
    val=$def
    if [ -n "${!var:-}" ]; then
        val=${!var}
    elif [ -n "${!file_var:-}" ]; then
        val="$(<"${!file_var}")"
    fi
    export "$var=$val"
    unset "$file_var"
}

# Options that only print something and exit never touch PGDATA.
wants_help() {
    local arg
    for arg; do
        case "$arg" in
            -'?'|--help|--describe-config|-V|--version) return 0 ;;
        esac
    done
    return 1
}

read_env() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=}"
    # PG_VERSION is the file initdb writes last-but-not-least; its presence is
    # what the official image takes as "a database exists here".
    DATABASE_ALREADY_EXISTS=
    if [ -s "$PGDATA/PG_VERSION" ]; then
        DATABASE_ALREADY_EXISTS=true
    fi
}

# As root: the directories the server needs, owned by postgres.
prepare_directories() {
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d || :
    chmod 03775 /var/run/postgresql || :
    if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
        mkdir -p "$POSTGRES_INITDB_WALDIR"
        [ "$(id -u)" != 0 ] || find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
        chmod 700 "$POSTGRES_INITDB_WALDIR"
    fi
    if [ "$(id -u)" = 0 ]; then
        find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
        find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    fi
}

check_minimum_env() {
    if [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
        cat >&2 <<'EOF'

WARNING: The supplied POSTGRES_PASSWORD is 100+ characters.

  This will not work if used via PGPASSWORD with "psql".

EOF
    fi
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        # The official image's message, word for word: tools and people grep for it.
        cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.

       See PostgreSQL documentation about "trust":
       https://www.postgresql.org/docs/current/auth-trust.html
EOF
        exit 1
    fi
    if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
        cat >&2 <<'EOF'
********************************************************************************
WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
         anyone with access to the Postgres port to access your database without
         a password, even if POSTGRES_PASSWORD is set.
********************************************************************************
EOF
    fi
}

run_initdb() {
    local -a args=()
    [ -z "${POSTGRES_INITDB_WALDIR:-}" ] || args+=(--waldir "$POSTGRES_INITDB_WALDIR")
    # POSTGRES_INITDB_ARGS is shell words, as in the official image ("-E UTF8",
    # "--locale=C --data-checksums", quoted values).
    local -a extra=()
    eval "extra=( $POSTGRES_INITDB_ARGS )"
    # initdb's --pwfile refuses an empty file, hence the newline.
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        "${extra[@]}" "${args[@]}" "$@"
    # The official image's postgresql.conf listens on every interface; the
    # Debian sample says localhost. Later starts read it from the volume.
    sed -ri "s!^#?(listen_addresses)[[:space:]]*=[[:space:]]*[^[:space:]#]+!\\1 = '*'!" "$PGDATA/postgresql.conf"
    grep -q "^listen_addresses = '\\*'" "$PGDATA/postgresql.conf" \
        || printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
}

# TCP clients authenticate with POSTGRES_HOST_AUTH_METHOD, by default the
# method matching password_encryption (scram-sha-256 on PostgreSQL 15). The
# lines initdb wrote (local and 127.0.0.1 trust) come first and stay.
setup_hba() {
    [ "${1:-}" != postgres ] || shift
    local method
    method="$(postgres -C password_encryption "$@")"
    : "${POSTGRES_HOST_AUTH_METHOD:=$method}"
    {
        printf '\n'
        [ "$POSTGRES_HOST_AUTH_METHOD" != trust ] || printf '# warning: trust is enabled for all connections\n'
        printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
    } >>"$PGDATA/pg_hba.conf"
}

# The temporary server: the user's server arguments, but no TCP listener.
temp_server_start() {
    [ "${1:-}" != postgres ] || shift
    set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
    PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
    PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# psql on the socket as POSTGRES_USER into POSTGRES_DB; init scripts that are
# sourced may call it (the official image's name, so their scripts work).
docker_process_sql() {
    local -a runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    [ -z "$POSTGRES_DB" ] || runner+=(--dbname "$POSTGRES_DB")
    PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

create_database() {
    local exists
    exists="$(POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
        <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [ -z "$exists" ]; then
        POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$POSTGRES_DB" \
            <<<'CREATE DATABASE :"db";'
        printf '\n'
    fi
}

run_init_files() {
    # shellcheck disable=SC2034  # for sourced scripts, as in the official image
    psql=(docker_process_sql)
    printf '\n'
    local f
    for f; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then
                    printf '%s: running %s\n' "$0" "$f"; "$f"
                else
                    printf '%s: sourcing %s\n' "$0" "$f"
                    # shellcheck disable=SC1090
                    . "$f"
                fi ;;
            *.sql)     printf '%s: running %s\n' "$0" "$f"; docker_process_sql -f "$f"; printf '\n' ;;
            *.sql.gz)  printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | docker_process_sql; printf '\n' ;;
            *.sql.xz)  printf '%s: running %s\n' "$0" "$f"; xzcat "$f" | docker_process_sql; printf '\n' ;;
            *.sql.zst) printf '%s: running %s\n' "$0" "$f"; zstd -dc "$f" | docker_process_sql; printf '\n' ;;
            *)         printf '%s: ignoring %s\n' "$0" "$f" ;;
        esac
        printf '\n'
    done
}

main() {
    if [ "${1:0:1}" = - ]; then
        set -- postgres "$@"
    fi
    if [ "$1" = postgres ] && ! wants_help "$@"; then
        read_env
        prepare_directories
        if [ "$(id -u)" = 0 ]; then
            exec gosu postgres "${BASH_SOURCE[0]}" "$@"
        fi

        if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
            check_minimum_env
            # fail before initdb when the init directory is unreadable
            ls /docker-entrypoint-initdb.d/ >/dev/null
            run_initdb
            setup_hba "$@"
            # psql may need it when POSTGRES_INITDB_ARGS asks for local password auth
            export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
            temp_server_start "$@"
            create_database
            run_init_files /docker-entrypoint-initdb.d/*
            temp_server_stop
            unset PGPASSWORD
            log ''
            log 'PostgreSQL init process complete; ready for start up.'
            log ''
        else
            log ''
            log 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
            log ''
        fi
    fi
    exec "$@"
}

main "$@"
