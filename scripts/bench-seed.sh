#!/usr/bin/env bash
# Bulk-load benchmark: `flowinfra seed --clean` loading the Flowlite seed with
# ROWS generated transactions, next to the `mysql` client importing the same
# rows as a multi-row INSERT dump (mysqldump style), in one run, on the MariaDB
# stand-in. Both empty the seeded tables and load them in one transaction.
#
#   scripts/bench-seed.sh [ROWS]       (default 100000)
#
# Needs the Docker engine and the stand-in images (scripts/build-test-images.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

rows="${1:-100000}"
bash scripts/build-test-images.sh >&2
cargo build --release --quiet --bin flowinfra --example seed_sql
bin="$PWD/target/release/flowinfra"
work="$(mktemp -d)"
project="flowinfra-bench-seed-$$"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
files=(-f compose/flowinfra.yaml -f compose/offline.yaml -f "$work/override.yaml")
cleanup() {
    MYSQL_PORT="$port" "$bin" "${files[@]}" -p "$project" -q down -v >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cp -r migrations seeds "$work/"
# The demo transactions replaced by generated ones.
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
    !skipping { print }
' seeds/manifest.yaml >"$work/seeds/manifest.yaml"
cat >"$work/override.yaml" <<YAML
services:
  mysql:
    x-flowinfra:
      kind: mysql
      migrations: $work/migrations
      seed: $work/seeds
YAML

export MYSQL_PORT="$port"
echo "bench-seed: starting mysql and loading the seed once (warm-up)" >&2
"$bin" "${files[@]}" -p "$project" -q up mysql >&2
container="$project-mysql-1"
target/release/examples/seed_sql "$work/seeds" >"$work/dump.sql"
total="$(grep -o '^INSERT INTO' "$work/dump.sql" | wc -l) statements"

count_rows() {
    docker exec "$container" mysql -N -uflowlite_user -pflowlite_password flowlite_db -e "
        SELECT (SELECT COUNT(*) FROM Role) + (SELECT COUNT(*) FROM \`User\`) + (SELECT COUNT(*) FROM UserInfo)
             + (SELECT COUNT(*) FROM Bank) + (SELECT COUNT(*) FROM TransactionCategory)
             + (SELECT COUNT(*) FROM TransactionBatch) + (SELECT COUNT(*) FROM \`Transaction\`)
             + (SELECT COUNT(*) FROM InsightCategory) + (SELECT COUNT(*) FROM Insights)"
}

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

start="$(now)"
"$bin" "${files[@]}" -p "$project" -q seed --clean >&2
flowinfra_seconds="$(calc "$(now) - $start")"
flowinfra_rows="$(count_rows)"

start="$(now)"
docker exec -i "$container" mysql -uflowlite_user -pflowlite_password flowlite_db <"$work/dump.sql"
mysql_seconds="$(calc "$(now) - $start")"
mysql_rows="$(count_rows)"

printf '\nbulk load of %s generated transactions plus the Flowlite demo rows (%s rows in all; dump: %s)\n\n' \
    "$rows" "$flowinfra_rows" "$total"
printf '%-34s %10s %10s %12s\n' "loader" "rows" "seconds" "rows/s"
printf '%-34s %10s %10.2f %12.0f\n' "flowinfra seed --clean" "$flowinfra_rows" "$flowinfra_seconds" \
    "$(calc "$flowinfra_rows / $flowinfra_seconds")"
printf '%-34s %10s %10.2f %12.0f\n' "mysql client < multi-row dump" "$mysql_rows" "$mysql_seconds" \
    "$(calc "$mysql_rows / $mysql_seconds")"
printf '\nratio flowinfra / mysql client: %.2f (1.00 = the same speed)\n' \
    "$(calc "($flowinfra_rows / $flowinfra_seconds) / ($mysql_rows / $mysql_seconds)")"
