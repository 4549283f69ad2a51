#!/usr/bin/env bash
# Benchmarks flowinfra against what users would run instead, side by side in
# one run, and prints the Markdown of docs/benchmarks.md: medians of RUNS runs,
# ratios computed pair by pair (flowinfra's run i against the alternative's
# run i, back to back, their order alternating), the machine, and whether
# each target is met.
#
#   scripts/bench.sh [RUNS] [CASE...]      (default: 5 runs, every case)
#
# Cases:
#   cold    `flowinfra up` from nothing (images present; no containers, no
#           volumes) to every service ready, migrated and seeded, against
#           `docker-compose up -d` on the same files, then waiting for health
#           (scripts/bench/wait-healthy.sh), `sqlx migrate run` (sqlx-cli)
#           and the `mysql` client importing the seed as SQL. Also how long
#           after the slowest service's own "ready" log line each finished
#           (scripts/bench/ready-at.sh).
#   warm    `flowinfra up` on a converged stack against `docker-compose up -d`
#           on its converged stack.
#   check   `flowinfra check` on a healthy stack.
#   seed    `flowinfra seed --clean` loading the seed with 100,000 generated
#           transactions (BENCH_SEED_ROWS to change) against `mysql`
#           importing the same rows as a multi-row INSERT dump
#           (examples/seed_sql.rs), same database.
#   pgseed  PostgreSQL: `flowinfra seed --clean` (COPY FROM STDIN) loading
#           the traffic-system example's seed with its infractions replaced
#           by 100,000 generated ones (BENCH_SEED_ROWS) against `psql`
#           `\copy`ing the same rows from CSV files (examples/seed_csv.rs),
#           same database; flowinfra's peak memory also at BENCH_PG_SMALL_ROWS
#           (10,000) generated rows, to show it does not grow with the count.
#   rebuild a two-context stack modelled on MISW4202 (two `build:` Flask-like
#           services and Redis; scripts/bench/rebuild/): one file of one
#           context edited before each pair, then `flowinfra up` against
#           `docker-compose up -d --build`; flowinfra must rebuild only the
#           edited service.
#   memory  every other flowinfra command once (config, plan, ps, env,
#           migrate info, logs, down); peak memory of all comes from
#           /usr/bin/time on every flowinfra run of every case.
#   remote  warm `up` and `check` from a laptop of the remote-engine lab
#           (scripts/remote-test-env.sh; root) through each path: ssh://,
#           tcp:// with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, and a TLS Docker
#           context chosen by --context; against the local socket. Needs
#           busybox:1.37 (the forward helper of TLS engines).
#
# BENCH_BIN=PATH uses that flowinfra binary instead of a release build (the
# cold, seed and pgseed cases still need the release seed_sql and seed_csv
# examples).
#
# The two stacks run as two projects on free loopback ports. Needs the Docker
# engine, the stand-in images (built here), docker-compose, the mariadb
# client, psql (pgseed) and sqlx-cli; the first three are installed from
# Debian's packages and
# sqlx-cli with cargo (once, cached in ~/.cargo/bin) when missing. The
# benchmark harness may use the docker CLI; flowinfra itself never does.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

runs=5
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    runs="$1"
    shift
fi
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(cold warm check seed pgseed rebuild memory remote)
wants() { [[ " ${cases[*]} " == *" $1 "* ]]; }
log() { echo "bench: $*" >&2; }

# --- tools ------------------------------------------------------------------
apt_install() {
    log "installing $* from Debian's packages"
    apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}
command -v docker-compose >/dev/null || apt_install docker-compose
command -v mysql >/dev/null || apt_install mariadb-client
[ -x /usr/bin/time ] || apt_install time
if wants pgseed && ! command -v psql >/dev/null; then apt_install postgresql-client; fi
sqlx="${CARGO_HOME:-$HOME/.cargo}/bin/sqlx"
if wants cold && [ ! -x "$sqlx" ]; then
    # The lightest sqlx-cli that migrates MariaDB: MySQL driver only, no TLS
    # (local plain TCP), no other drivers. About 1.5 minutes on 2 cores, once.
    log "installing sqlx-cli (mysql only) into ~/.cargo/bin"
    cargo install sqlx-cli --version 0.9.0 --locked --no-default-features --features mysql >&2
fi
bash scripts/build-test-images.sh >&2
if [ -n "${BENCH_BIN:-}" ]; then
    # A quick run with an existing binary (e.g. the debug build, for the
    # remote case, whose time is the network's): say so next to the numbers.
    bin="$(realpath "$BENCH_BIN")"
    log "using $bin instead of a release build"
else
    cargo build --release --quiet --bin flowinfra --example seed_sql --example seed_csv
    bin="$PWD/target/release/flowinfra"
fi

# --- the two stacks ---------------------------------------------------------
work="$(mktemp -d)"
results="$work/results.tsv"
: >"$results"
files=(-f compose/flowinfra.yaml -f compose/offline.yaml)
fi_project=bench-flowinfra
dc_project=benchcompose
free_ports() {
    python3 -c 'import socket
sockets = [socket.socket() for _ in range(6)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))'
}
port_env() {
    read -r mysql amqp management redis minio console <<<"$1"
    echo "MYSQL_PORT=$mysql RABBITMQ_PORT=$amqp RABBITMQ_MANAGEMENT_PORT=$management REDIS_PORT=$redis MINIO_PORT=$minio MINIO_CONSOLE_PORT=$console"
}
fi_env="$(port_env "$(free_ports)")"
dc_env="$(port_env "$(free_ports)")"
dc_mysql_port="$(env $dc_env sh -c 'echo $MYSQL_PORT')"
fi_mysql_port="$(env $fi_env sh -c 'echo $MYSQL_PORT')"

flowinfra() { env $fi_env "$bin" "${files[@]}" -p "$fi_project" "$@"; }
compose() { env $dc_env docker-compose "${files[@]}" -p "$dc_project" "$@"; }
cleanup() {
    flowinfra -q down -v >/dev/null 2>&1 || true
    compose down -v >/dev/null 2>&1 || true
    if [ -d "$work/rebuild" ]; then rb_down; fi
    if [ -n "${pg_project:-}" ]; then "$bin" -f "$pg/spec-$rows.yaml" -p "$pg_project" -q down -v >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
# record CASE TOOL RUN SECONDS RSS_KIB
record() { printf 'time\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

# timed_flowinfra CASE TOOL RUN ARGS...: one flowinfra run, its wall time and
# peak RSS recorded; its stderr kept in $work/last.err.
timed_flowinfra() {
    local case="$1" tool="$2" run="$3" start end
    shift 3
    start="$(now)"
    if ! env $fi_env /usr/bin/time -f '%M' -o "$work/rss" "$bin" "${files[@]}" -p "$fi_project" "$@" \
        >/dev/null 2>"$work/last.err"; then
        cat "$work/last.err" >&2
        log "flowinfra $* failed"
        exit 1
    fi
    end="$(now)"
    record "$case" "$tool" "$run" "$(elapsed "$start" "$end")" "$(tail -n 1 "$work/rss")"
}

# timed CASE TOOL RUN COMMAND...: any other command, wall time only.
timed() {
    local case="$1" tool="$2" run="$3" start end
    shift 3
    start="$(now)"
    if ! "$@" >/dev/null 2>"$work/last.err"; then
        cat "$work/last.err" >&2
        log "$* failed"
        exit 1
    fi
    end="$(now)"
    record "$case" "$tool" "$run" "$(elapsed "$start" "$end")" -
}

# record_readiness RUN TOOL T0 CONTAINER_PREFIX SEPARATOR
record_readiness() {
    local run="$1" tool="$2" t0="$3" prefix="$4" sep="$5" service line name started ready
    for service in mysql rabbitmq redis minio; do
        line="$(scripts/bench/ready-at.sh "$prefix$sep$service${sep}1" "$service")"
        read -r name started ready <<<"$line"
        printf 'ready\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$tool" "$name" "$started" "$ready" "$t0" >>"$results"
    done
}

# --- cold -------------------------------------------------------------------
# The alternative a docker-compose user runs: containers, health, schema, data.
if wants cold; then target/release/examples/seed_sql seeds >"$work/seed.sql"; fi
compose_cold() {
    local start step
    start="$(now)"
    step="$start"
    split() {
        record cold "$1" "$run" "$(elapsed "$step" "$(now)")" -
        step="$(now)"
    }
    compose up -d >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
    split "compose up -d"
    scripts/bench/wait-healthy.sh "$dc_project"
    split "compose wait"
    "$sqlx" migrate run --source migrations \
        --database-url "mysql://flowlite_user:flowlite_password@127.0.0.1:$dc_mysql_port/flowlite_db?ssl-mode=disabled" \
        >/dev/null
    split "compose migrate"
    mysql -h 127.0.0.1 -P "$dc_mysql_port" -u flowlite_user -pflowlite_password flowlite_db <"$work/seed.sql"
    split "compose seed"
    record cold compose "$run" "$(elapsed "$start" "$(now)")" -
    echo "$start"
}
flowinfra_cold() {
    local start mysql_at
    start="$(now)"
    timed_flowinfra cold "flowinfra up" "$run" up
    # MySQL migrated and seeded: its `ready in` progress line, stamped with the time since the start.
    mysql_at="$(sed -n 's/^\[ *\([0-9.]*\)s\] mysql: ready in .*/\1/p' "$work/last.err" | head -n 1)"
    record cold "flowinfra mysql ready" "$run" "$mysql_at" -
    echo "$start"
}

if wants cold; then
    log "cold up: $runs runs each, pair by pair"
    for run in $(seq 1 "$runs"); do
        flowinfra -q down -v >/dev/null 2>&1
        compose down -v >/dev/null 2>&1
        # Alternate who goes first, so neither always meets a warmer cache.
        if ((run % 2)); then
            fi_t0="$(flowinfra_cold)"
            dc_t0="$(compose_cold)"
        else
            dc_t0="$(compose_cold)"
            fi_t0="$(flowinfra_cold)"
        fi
        record_readiness "$run" "flowinfra up" "$fi_t0" "$fi_project" -
        record_readiness "$run" compose "$dc_t0" "$dc_project" _
        log "  run $run done"
    done
fi

# --- warm and check ---------------------------------------------------------
if wants warm || wants check || wants seed || wants memory || wants remote; then
    log "converging the stacks"
    flowinfra -q up >&2
    if wants warm || wants check || wants seed || wants memory; then
        compose up -d >/dev/null 2>&1
        scripts/bench/wait-healthy.sh "$dc_project"
    fi
fi
if wants warm; then
    log "warm up: $runs runs each after 2 warm-ups, pair by pair"
    for run in 0 0; do
        flowinfra -q up >/dev/null 2>&1
        compose up -d >/dev/null 2>&1
    done
    for run in $(seq 1 "$runs"); do
        if ((run % 2)); then
            timed_flowinfra warm "flowinfra up (warm)" "$run" up
            timed warm "docker-compose up -d" "$run" compose up -d
        else
            timed warm "docker-compose up -d" "$run" compose up -d
            timed_flowinfra warm "flowinfra up (warm)" "$run" up
        fi
    done
fi
if wants check; then
    log "check: $runs runs after 1 warm-up"
    flowinfra check >/dev/null 2>&1
    for run in $(seq 1 "$runs"); do
        timed_flowinfra check "flowinfra check" "$run" check
    done
fi

# --- remote engines ---------------------------------------------------------
# Warm `up` and `check` of the converged stack from a "laptop" of the
# remote-engine lab (scripts/remote-test-env.sh, needs root): through ssh,
# through TCP+TLS and through a TLS context to this machine's engine, against
# the local socket. Each run of each path pays its engine connection and,
# remotely, the engine lock (`up`) and the forwards (probes, `check`).
if wants remote; then
    lab_n=$(( $$ % 240 + 10 ))
    lab="$(bash scripts/remote-test-env.sh up "$lab_n")"
    trap 'bash scripts/remote-test-env.sh down "$lab_n" >/dev/null 2>&1 || true; cleanup' EXIT
    lab_host="10.250.$lab_n.1"
    # A TLS context "lab" in a Docker config store of the lab's own.
    context_dir="$(python3 -c 'import hashlib; print(hashlib.sha256(b"lab").hexdigest())')"
    mkdir -p "$lab/docker-config/contexts/meta/$context_dir" "$lab/docker-config/contexts/tls/$context_dir/docker"
    printf '{"Name":"lab","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://%s:2376","SkipTLSVerify":false}}}' \
        "$lab_host" >"$lab/docker-config/contexts/meta/$context_dir/meta.json"
    cp "$lab"/tls/{ca,cert,key}.pem "$lab/docker-config/contexts/tls/$context_dir/docker/"
    echo '{}' >"$lab/docker-config/config.json"
    # remote_fi ssh|tls|context ARGS...: flowinfra inside laptop a of the lab.
    remote_fi() {
        local engine_env context=()
        case "$1" in
        ssh) engine_env="DOCKER_HOST=ssh://root@$lab_host" ;;
        tls) engine_env="DOCKER_HOST=tcp://$lab_host:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$lab/tls" ;;
        context) engine_env="DOCKER_CONFIG=$lab/docker-config" context=(--context lab) ;;
        esac
        shift
        bash scripts/remote-test-env.sh run "$lab_n" a a -- env -i PATH="$PATH" HOME=/root TMPDIR="$lab" \
            $fi_env $engine_env "$bin" "${context[@]}" "${files[@]}" -p "$fi_project" "$@"
    }
    log "remote: warm up and check through ssh, TLS and a TLS context vs the local socket, $runs runs each"
    if ! docker image inspect busybox:1.37 >/dev/null 2>&1; then
        log "the forward helper image busybox:1.37 is missing and no registry may be reachable: load it first"
        exit 1
    fi
    for path in ssh tls context; do remote_fi "$path" -q up >/dev/null 2>&1; done
    for run in $(seq 1 "$runs"); do
        timed remote "up, local socket" "$run" flowinfra -q up
        timed remote "up, TLS" "$run" remote_fi tls -q up
        timed remote "up, TLS context" "$run" remote_fi context -q up
        timed remote "up, ssh" "$run" remote_fi ssh -q up
        timed remote "check, local socket" "$run" flowinfra check
        timed remote "check, TLS" "$run" remote_fi tls check
        timed remote "check, TLS context" "$run" remote_fi context check
        timed remote "check, ssh" "$run" remote_fi ssh check
    done
fi

# --- seed -------------------------------------------------------------------
if wants seed; then
    rows="${BENCH_SEED_ROWS:-100000}"
    export BENCH_SEED_ROWS="$rows" # for the report
    log "seed: $rows generated transactions, $runs runs each, pair by pair"
    cp -r migrations seeds "$work/"
    # The demo transactions replaced by generated ones, under a version of their own.
    awk -v rows="$rows" '
        /^  - table: Transaction$/ { skipping = 1
            print "  - table: Transaction"
            print "    id: id_transaction"
            print "    generate:"
            print "      rows: " rows
            print "      random_seed: 42"
            print "      columns:"
            print "        id_user: { pick: User }"
            print "        id_bank: { pick: Bank }"
            print "        id_category: { pick: TransactionCategory }"
            print "        id_batch: { pick: TransactionBatch }"
            print "        transaction_name: { text: \"Compra sintetica {n}\" }"
            print "        value: { decimal: [1000, 2000000] }"
            print "        transaction_date: { date: [2025-01-01, 2025-10-31] }"
            print "        transaction_type: { one_of: [income, expense] }"
            print ""
            next }
        /^  - table: / { skipping = 0 }
        /^version:/ { print "version: bench-" rows; next }
        !skipping { print }
    ' seeds/manifest.yaml >"$work/seeds/manifest.yaml"
    printf 'services:\n  mysql:\n    x-flowinfra:\n      kind: mysql\n      migrations: %s\n      seed: %s\n' \
        "$work/migrations" "$work/seeds" >"$work/generated.yaml"
    target/release/examples/seed_sql "$work/seeds" >"$work/generated.sql"
    generated=(-f "$work/generated.yaml")
    mysql_rows() {
        mysql -N -h 127.0.0.1 -P "$fi_mysql_port" -u flowlite_user -pflowlite_password flowlite_db -e "
            SELECT (SELECT COUNT(*) FROM Role) + (SELECT COUNT(*) FROM \`User\`) + (SELECT COUNT(*) FROM UserInfo)
                 + (SELECT COUNT(*) FROM Bank) + (SELECT COUNT(*) FROM TransactionCategory)
                 + (SELECT COUNT(*) FROM TransactionBatch) + (SELECT COUNT(*) FROM \`Transaction\`)
                 + (SELECT COUNT(*) FROM InsightCategory) + (SELECT COUNT(*) FROM Insights)"
    }
    seed_flowinfra() {
        timed_flowinfra seed "flowinfra seed --clean" "$run" "${generated[@]}" seed --clean
        printf 'rows\tseed\tflowinfra seed --clean\t%s\t%s\n' "$run" "$(mysql_rows)" >>"$results"
    }
    seed_client() {
        timed seed "mysql client" "$run" \
            mysql -h 127.0.0.1 -P "$fi_mysql_port" -u flowlite_user -pflowlite_password flowlite_db \
            -e "source $work/generated.sql"
        printf 'rows\tseed\tmysql client\t%s\t%s\n' "$run" "$(mysql_rows)" >>"$results"
    }
    # One untimed load first: the server's buffer pool and file sizes settle.
    env $fi_env "$bin" "${files[@]}" "${generated[@]}" -p "$fi_project" -q seed --clean >&2
    for run in $(seq 1 "$runs"); do
        if ((run % 2)); then
            seed_flowinfra
            seed_client
        else
            seed_client
            seed_flowinfra
        fi
    done
    # Back to the repository's seed for what follows.
    flowinfra -q seed --clean >&2
fi

# --- seed on PostgreSQL -------------------------------------------------------
# The traffic-system example's schema and seed, its infractions generated,
# on the PostgreSQL stand-in: `flowinfra seed --clean` (COPY FROM STDIN)
# against `psql` running the `\copy` script of examples/seed_csv.rs. Both
# empty the seeded tables and load every row in one transaction.
if wants pgseed; then
    rows="${BENCH_SEED_ROWS:-100000}"
    small_rows="${BENCH_PG_SMALL_ROWS:-10000}"
    export BENCH_SEED_ROWS="$rows" BENCH_PG_SMALL_ROWS="$small_rows" # for the report
    pg="$work/pg"
    mkdir -p "$pg"
    cp -r examples/traffic-system/migrations "$pg/"
    pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    pg_project=bench-pg
    pg_password=bench-pg-password
    # pg_seed_dir ROWS: the example's seed with ROWS generated infractions, under a version of their own.
    pg_seed_dir() {
        local dir="$pg/seeds-$1"
        cp -r examples/traffic-system/seeds "$dir"
        rm "$dir/infractions_infraction.csv"
        awk -v rows="$1" '
            /^  - table: infractions_infraction$/ { skipping = 1
                print "  - table: infractions_infraction"
                print "    id: id"
                print "    generate:"
                print "      rows: " rows
                print "      random_seed: 42"
                print "      columns:"
                print "        infraction_code: { text: \"INF-G-{n}\" }"
                print "        infraction_type: { one_of: [speed, red_light, wrong_way, lane_invasion, parking] }"
                print "        severity: { one_of: [low, medium, high, critical] }"
                print "        device_id: { pick: devices_device }"
                print "        zone_id: { pick: devices_zone }"
                print "        vehicle_id: { pick: vehicles_vehicle }"
                print "        license_plate_detected: { text: \"G{n}\" }"
                print "        plate_confidence: { decimal: [0, 1] }"
                print "        detected_speed: { decimal: [20, 180] }"
                print "        speed_limit: { integer: [30, 100] }"
                print "        snapshot_url: { text: \"http://localhost:9000/traffic-snapshots/generated/{n}.jpg\" }"
                print "        status: { one_of: [pending, validated, rejected, notified, paid] }"
                print "        detected_at: { date: [2025-01-01, 2025-10-31] }"
                print ""
                next }
            /^  - table: / { skipping = 0 }
            /^version:/ { print "version: bench-" rows; next }
            !skipping { print }
        ' examples/traffic-system/seeds/manifest.yaml >"$dir/manifest.yaml"
        printf 'services:\n  postgres:\n    image: flowinfra-standin/postgres:test\n    pull_policy: never\n    environment:\n      POSTGRES_DB: traffic_system\n      POSTGRES_USER: postgres\n      POSTGRES_PASSWORD: %s\n    ports: ["127.0.0.1:%s:5432"]\n    volumes: ["%s:/docker-entrypoint-initdb.d:ro"]\n    x-flowinfra:\n      kind: postgres\n      migrations: %s\n      seed: %s\n' \
            "$pg_password" "$pg_port" "$PWD/examples/traffic-system/postgres/init" "$pg/migrations" "$dir" >"$pg/spec-$1.yaml"
    }
    pg_seed_dir "$rows"
    pg_seed_dir "$small_rows"
    target/release/examples/seed_csv "$pg/seeds-$rows" "$pg/csv"
    pg_fi() { "$bin" -f "$pg/spec-$1.yaml" -p "$pg_project" "${@:2}"; }
    pg_psql() { PGPASSWORD="$pg_password" psql -h 127.0.0.1 -p "$pg_port" -U postgres -d traffic_system -X -q -v ON_ERROR_STOP=1 "$@"; }
    pg_rows() {
        pg_psql -At -c "SELECT (SELECT COUNT(*) FROM authentication_user) + (SELECT COUNT(*) FROM devices_zone)
            + (SELECT COUNT(*) FROM devices_device) + (SELECT COUNT(*) FROM vehicles_vehicle)
            + (SELECT COUNT(*) FROM vehicles_driver) + (SELECT COUNT(*) FROM infractions_infraction)
            + (SELECT COUNT(*) FROM notifications_notification)"
    }
    pg_timed() { # pg_timed TOOL RUN ROWS: one flowinfra seed --clean of ROWS generated infractions
        local start end
        start="$(now)"
        if ! /usr/bin/time -f '%M' -o "$work/rss" "$bin" -f "$pg/spec-$3.yaml" -p "$pg_project" seed --clean \
            >/dev/null 2>"$work/last.err"; then
            cat "$work/last.err" >&2
            log "flowinfra seed --clean (postgres) failed"
            exit 1
        fi
        end="$(now)"
        record pgseed "$1" "$2" "$(elapsed "$start" "$end")" "$(tail -n 1 "$work/rss")"
    }
    pg_tool="flowinfra seed --clean (postgres, $rows generated rows)"
    pg_small_tool="flowinfra seed --clean (postgres, $small_rows generated rows)"
    log "pgseed: $rows generated infractions, $runs runs each, pair by pair"
    pg_fi "$rows" -q down -v >/dev/null 2>&1 || true
    pg_fi "$rows" -q up >&2
    # One untimed load each first: the server's buffers and file sizes settle.
    pg_fi "$rows" -q seed --clean >&2
    pg_psql -f "$pg/csv/load.psql" >/dev/null
    seed_pg_flowinfra() {
        pg_timed "$pg_tool" "$run" "$rows"
        printf 'rows\tpgseed\tflowinfra\t%s\t%s\n' "$run" "$(pg_rows)" >>"$results"
    }
    seed_psql() {
        timed pgseed "psql \\copy" "$run" pg_psql -f "$pg/csv/load.psql"
        printf 'rows\tpgseed\tpsql\t%s\t%s\n' "$run" "$(pg_rows)" >>"$results"
    }
    for run in $(seq 1 "$runs"); do
        if ((run % 2)); then
            seed_pg_flowinfra
            seed_psql
        else
            seed_psql
            seed_pg_flowinfra
        fi
    done
    log "pgseed: peak memory at $small_rows generated infractions, $runs runs"
    for run in $(seq 1 "$runs"); do
        pg_timed "$pg_small_tool" "$run" "$small_rows"
    done
    pg_fi "$rows" -q down -v >&2
fi

# --- rebuild one edited context ----------------------------------------------
if wants rebuild; then
    log "rebuild: one edited context of two, $runs runs each, pair by pair"
    stack="$work/rebuild"
    cp -r scripts/bench/rebuild "$stack"
    rb_fi() { (cd "$stack" && "$bin" -f compose.yaml -p bench-rebuild-fi "$@"); }
    rb_dc() { (cd "$stack" && docker-compose -f compose.yaml -p benchrebuilddc "$@"); }
    rb_down() {
        rb_fi -q down >/dev/null 2>&1 || true
        rb_dc down --rmi local >/dev/null 2>&1 || true
        docker rmi bench-rebuild-fi-m-logistica-inventario bench-rebuild-fi-m-monitor >/dev/null 2>&1 || true
    }
    rb_down
    # Both stacks built and running, and one untimed edit-and-rebuild each,
    # so every run meets the same warm build caches.
    rb_fi -q up >&2
    rb_dc up -d --build >/dev/null 2>&1
    edit() { echo "# edit $1 $(now)" >>"$stack/logistica/app.py"; }
    edit 0
    rb_fi -q up >&2
    rb_dc up -d --build >/dev/null 2>&1
    rebuild_fi() {
        local start end
        start="$(now)"
        rb_fi up >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
        end="$(now)"
        record rebuild "flowinfra up (one context edited)" "$run" "$(elapsed "$start" "$end")" -
        built="$(grep -c 'building' "$work/last.err" || true)"
        if [ "$built" != 1 ] || ! grep -q 'm-logistica-inventario: building' "$work/last.err"; then
            cat "$work/last.err" >&2
            log "flowinfra rebuilt $built services, wanted exactly the edited one"
            exit 1
        fi
    }
    rebuild_dc() {
        timed rebuild "docker-compose up -d --build" "$run" rb_dc up -d --build
    }
    for run in $(seq 1 "$runs"); do
        edit "$run"
        if ((run % 2)); then
            rebuild_fi
            rebuild_dc
        else
            rebuild_dc
            rebuild_fi
        fi
    done
    rb_down
fi

# --- every other command ----------------------------------------------------
if wants memory; then
    log "memory: every other command once"
    timed_flowinfra memory "flowinfra config" 1 config
    timed_flowinfra memory "flowinfra plan" 1 plan
    timed_flowinfra memory "flowinfra ps" 1 ps
    timed_flowinfra memory "flowinfra env" 1 env
    timed_flowinfra memory "flowinfra migrate info" 1 migrate info
    timed_flowinfra memory "flowinfra logs --tail 100" 1 logs --tail 100
    timed_flowinfra memory "flowinfra down -v" 1 down -v
fi

# --- the report -------------------------------------------------------------
{
    cpu="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    memory="$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    tools="Docker Engine $(docker version --format '{{.Server.Version}}'), docker-compose $(docker-compose version --short)"
    tools+=", $(rustc --version | cut -d' ' -f1-2), mysql client $(mysql --version | sed 's/.*Distrib \([^,]*\),.*/\1/')"
    if command -v psql >/dev/null; then tools+=", $(psql --version)"; fi
    [ -x "$sqlx" ] && tools+=", $("$sqlx" --version)"
    echo "Machine: $(nproc) cores ($cpu), $memory RAM, Linux $(uname -r); $tools;" \
        "stand-in images (scripts/build-test-images.sh)."
    echo "$runs runs per case; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} >"$work/machine.txt"
python3 scripts/bench/report.py "$results" "$work/machine.txt"
