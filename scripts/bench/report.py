#!/usr/bin/env python3
"""Turns the measurements scripts/bench.sh records into the Markdown of
docs/benchmarks.md: medians of every case, ratios computed pair by pair
(run i of flowinfra against run i of the alternative, measured back to back),
the targets with met / not met, and peak memory per command.

    scripts/bench/report.py RESULTS.tsv MACHINE.txt

RESULTS.tsv lines (tab-separated):
    time   CASE TOOL RUN SECONDS RSS_KIB|-
    ready  RUN TOOL SERVICE STARTED_EPOCH READY_EPOCH T0_EPOCH
    rows   CASE TOOL RUN ROWS
"""

import statistics
import os
import sys
from collections import defaultdict


def median(values):
    return statistics.median(values) if values else float("nan")


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def s(seconds):
    return f"{seconds:.2f} s"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def main(results_path, machine_path):
    times = defaultdict(dict)  # (case, tool) -> run -> seconds
    rss = defaultdict(list)  # command -> [KiB]
    ready = defaultdict(lambda: defaultdict(list))  # tool -> run -> [(service, started, ready, t0)]
    rows = defaultdict(dict)  # (case, tool) -> run -> rows
    for line in open(results_path):
        fields = line.rstrip("\n").split("\t")
        if fields[0] == "time":
            _, case, tool, run, seconds, kib = fields
            times[(case, tool)][int(run)] = float(seconds)
            if kib != "-":
                rss[tool if tool.startswith("flowinfra") else f"{case}: {tool}"].append(int(kib))
        elif fields[0] == "ready":
            _, run, tool, service, started, ready_at, t0 = fields
            ready[tool][int(run)].append((service, float(started), float(ready_at), float(t0)))
        elif fields[0] == "rows":
            _, case, tool, run, count = fields
            rows[(case, tool)][int(run)] = int(count)

    def paired(case, ours, theirs):
        """Medians of both, and the median of per-run ratios theirs/ours."""
        a, b = times[(case, ours)], times[(case, theirs)]
        runs = sorted(set(a) & set(b))
        ratios = [b[r] / a[r] for r in runs]
        return median([a[r] for r in runs]), median([b[r] for r in runs]), median(ratios), len(runs)

    print(open(machine_path).read().rstrip())
    print()
    print("| case | flowinfra (median) | alternative (median) | ratio (median of pairs) | runs |")
    print("| --- | --- | --- | --- | --- |")
    verdicts = []

    cold = None
    if times[("cold", "flowinfra up")]:
        ours, theirs, ratio, n = paired("cold", "flowinfra up", "compose")
        cold = (ours, theirs, ratio)
        faster = f"{ratio:.2f}x as fast" if ratio >= 1 else f"{1 / ratio:.2f}x slower"
        print(
            f"| cold `up`: all ready, migrated, seeded | {s(ours)} | docker-compose up -d + wait for health "
            f"+ sqlx migrate run + mysql < seed.sql: {s(theirs)} | flowinfra {faster} | {n} |"
        )
    if times[("warm", "flowinfra up (warm)")]:
        ours, theirs, ratio, n = paired("warm", "flowinfra up (warm)", "docker-compose up -d")
        print(
            f"| warm `up` on a converged stack | {ms(ours)} | docker-compose up -d: {ms(theirs)} "
            f"| flowinfra {ratio:.1f}x as fast | {n} |"
        )
        met = ours < 0.3 and ratio >= 3
        verdicts.append(
            ("warm `up`", "< 300 ms and >= 3x faster than docker-compose",
             f"{'met' if met else 'NOT met'} ({ms(ours)}, {ratio:.1f}x)")
        )
    if times[("check", "flowinfra check")]:
        check = times[("check", "flowinfra check")]
        print(f"| `check` on a healthy stack | {ms(median(list(check.values())))} | — | — | {len(check)} |")
    for command in ("up", "check"):
        local = times[("remote", f"{command}, local socket")]
        if not local:
            continue
        for transport in ("TLS", "TLS context", "ssh"):
            remote = times[("remote", f"{command}, {transport}")]
            if remote:
                runs = sorted(set(local) & set(remote))
                slower = median([remote[r] / local[r] for r in runs])
                print(
                    f"| warm `{command}` from a lab laptop over {transport} (remote engine) | "
                    f"{ms(median(list(remote.values())))} | local socket: {ms(median(list(local.values())))} "
                    f"| {slower:.1f}x the local time | {len(runs)} |"
                )
    if times[("seed", "flowinfra seed --clean")]:
        ours, theirs, ratio, n = paired("seed", "flowinfra seed --clean", "mysql client")
        loaded = median(list(rows[("seed", "flowinfra seed --clean")].values()))
        per_pair = [
            times[("seed", "flowinfra seed --clean")][r] / times[("seed", "mysql client")][r]
            for r in sorted(times[("seed", "mysql client")])
        ]
        slower = median(per_pair)
        generated = int(os.environ.get("BENCH_SEED_ROWS", "100000"))
        print(
            f"| seed: {loaded:,.0f} rows ({generated:,} generated transactions + the demo rows) | {s(ours)} "
            f"({loaded / ours:,.0f} rows/s) | mysql client < multi-row INSERT dump: {s(theirs)} "
            f"({loaded / theirs:,.0f} rows/s) | flowinfra takes {slower:.2f}x the client's time | {n} |"
        )
        verdicts.append(
            (f"seed of {generated:,} transactions", "within 1.5x of the mysql client import",
             f"{'met' if slower <= 1.5 else 'NOT met'} ({slower:.2f}x)")
        )

    generated = int(os.environ.get("BENCH_SEED_ROWS", "100000"))
    pg_tool = f"flowinfra seed --clean (postgres, {generated} generated rows)"
    if times[("pgseed", pg_tool)] and times[("pgseed", "psql \\copy")]:
        ours, theirs, _, n = paired("pgseed", pg_tool, "psql \\copy")
        loaded = median(list(rows[("pgseed", "flowinfra")].values()))
        copied = median(list(rows[("pgseed", "psql")].values()))
        if loaded != copied:
            sys.exit(f"pgseed: flowinfra left {loaded} rows, psql {copied}: not the same load")
        ours_t, theirs_t = times[("pgseed", pg_tool)], times[("pgseed", "psql \\copy")]
        slower = median([ours_t[r] / theirs_t[r] for r in sorted(set(ours_t) & set(theirs_t))])
        print(
            f"| PostgreSQL seed: {loaded:,.0f} rows ({generated:,} generated infractions + the demo rows) | {s(ours)} "
            f"({loaded / ours:,.0f} rows/s) | psql \\copy of the same rows as CSV: {s(theirs)} "
            f"({loaded / theirs:,.0f} rows/s) | flowinfra takes {slower:.2f}x psql's time | {n} |"
        )
        verdicts.append(
            (f"PostgreSQL seed of {generated:,} rows", "within 1.2x of psql \\copy",
             f"{'met' if slower <= 1.2 else 'NOT met'} ({slower:.2f}x)")
        )
        small = int(os.environ.get("BENCH_PG_SMALL_ROWS", "10000"))
        small_tool = f"flowinfra seed --clean (postgres, {small} generated rows)"
        if rss.get(small_tool) and rss.get(pg_tool):
            grows = median(rss[pg_tool]) > median(rss[small_tool]) * 1.1 + 1024
            verdicts.append(
                ("PostgreSQL seed peak memory", f"the same at {small:,} and {generated:,} generated rows",
                 f"{'NOT met' if grows else 'met'} ({mib(median(rss[small_tool]))}, {mib(median(rss[pg_tool]))})")
            )

    if times[("rebuild", "flowinfra up (one context edited)")]:
        ours, theirs, ratio, n = paired("rebuild", "flowinfra up (one context edited)", "docker-compose up -d --build")
        faster = f"{ratio:.2f}x as fast" if ratio >= 1 else f"{1 / ratio:.2f}x slower"
        print(
            f"| rebuild one edited context of two (+ Redis), only that service rebuilt | {s(ours)} "
            f"| docker-compose up -d --build: {s(theirs)} | flowinfra {faster} | {n} |"
        )
        verdicts.append(
            ("rebuild of one edited context", "no slower than docker-compose up -d --build",
             f"{'met' if ratio >= 1 else 'NOT met'} ({ratio:.2f}x)")
        )

    if cold:
        print()
        print("Cold `up`, where the time goes (medians over the runs):")
        print()
        parts = [("compose: docker-compose up -d", "compose up -d"), ("compose: wait for health", "compose wait"),
                 ("compose: sqlx migrate run", "compose migrate"), ("compose: mysql < seed.sql", "compose seed")]
        for label, tool in parts:
            values = list(times[("cold", tool)].values())
            if values:
                print(f"- {label}: {s(median(values))}")
        mysql_ours, mysql_theirs = times[("cold", "flowinfra mysql ready")], times[("cold", "compose")]
        runs = sorted(set(mysql_ours) & set(mysql_theirs))
        if runs:
            ratio = median([mysql_theirs[r] / mysql_ours[r] for r in runs])
            print(
                f"- MySQL migrated and seeded: flowinfra {s(median([mysql_ours[r] for r in runs]))} (its "
                f"`mysql: ready` line), docker-compose path {s(median([mysql_theirs[r] for r in runs]))} "
                f"(health wait, migrate, import), flowinfra {ratio:.2f}x as fast (median of pairs)"
            )
        usable = {}  # tool -> run -> seconds until done and every service in fact ready
        for tool, label in (("flowinfra up", "flowinfra"), ("compose", "docker-compose path")):
            overheads, own, slowest_names = [], [], []
            for run, services in sorted(ready[tool].items()):
                total = times[("cold", tool)].get(run)
                if total is None:
                    continue
                service, started, ready_at, t0 = max(services, key=lambda entry: entry[2])
                slowest_names.append(service)
                own.append(ready_at - started)
                overheads.append(total - (ready_at - t0))
                usable.setdefault(tool, {})[run] = max(total, ready_at - t0)
            if not overheads:
                continue
            slowest = max(set(slowest_names), key=slowest_names.count)
            after = median(overheads)
            when = f"{s(after)} after that line" if after >= 0 else f"{s(-after)} BEFORE that line (not yet usable)"
            print(
                f"- {label}: slowest service {slowest}, its own start (container start → its \"ready\" log line) "
                f"{s(median(own))}; the command finished {when}"
            )
            if tool == "flowinfra up":
                verdicts.append(
                    ("cold `up`", "within 1 s of the slowest service's own readiness",
                     f"{'met' if after <= 1 else 'NOT met'} ({after:.2f} s after it)")
                )
        ours, theirs = usable.get("flowinfra up", {}), usable.get("compose", {})
        runs = sorted(set(ours) & set(theirs))
        if runs:
            ratio = median([theirs[r] / ours[r] for r in runs])
            print(
                f"- until the command is done *and* every service is in fact ready: flowinfra "
                f"{s(median([ours[r] for r in runs]))}, docker-compose path {s(median([theirs[r] for r in runs]))} "
                f"(flowinfra {ratio:.2f}x as fast, median of pairs)"
            )

    if rss:
        print()
        print("Peak memory (maximum resident set size, `/usr/bin/time`; median over the runs):")
        print()
        print("| command | peak RSS | runs |")
        print("| --- | --- | --- |")
        for command in sorted(rss):
            if command.startswith("flowinfra"):
                print(f"| `{command}` | {mib(median(rss[command]))} | {len(rss[command])} |")

    if verdicts:
        print()
        print("| target | wanted | result |")
        print("| --- | --- | --- |")
        for name, wanted, result in verdicts:
            print(f"| {name} | {wanted} | {result} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
