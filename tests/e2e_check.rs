//! `check` as CI runs it, and secrets kept out of every command's output,
//! against one real Flowlite stack (stand-in images).

mod support;

use std::time::{Duration, Instant};

use sqlx::Connection;
use support::{FlowliteStack, assert_success, stderr, stdout};

fn checks(output: &std::process::Output) -> Vec<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("check --json is JSON ({e}):\n{}", stdout(output)));
    value["checks"].as_array().expect("a checks array").clone()
}

fn find<'a>(checks: &'a [serde_json::Value], service: &str, check: &str) -> &'a serde_json::Value {
    checks
        .iter()
        .find(|c| (c["service"] == service || (service.is_empty() && c["service"].is_null())) && c["check"] == check)
        .unwrap_or_else(|| panic!("no {check} check for {service}: {checks:#?}"))
}

/// One stack serves every scenario in order: bringing it up is the slow part.
#[tokio::test]
async fn check_reports_a_healthy_stack_then_each_fault_by_name() {
    let stack = FlowliteStack::new("check");
    assert_success(&stack.flowinfra(&["up"]), "up");

    // Healthy: exit 0, counts and versions in --verbose, every JSON check ok.
    let verbose = stack.flowinfra(&["check", "--verbose"]);
    assert_success(&verbose, "check --verbose");
    let table = stdout(&verbose);
    assert!(table.contains("server_version=10.11"), "{table}");
    assert!(table.contains("\"User\":3"), "{table}");
    assert!(table.contains("seed_version=2025-11-05.2"), "{table}");
    let json = stack.flowinfra(&["check", "--json"]);
    assert_success(&json, "check --json");
    let all = checks(&json);
    assert!(all.len() >= 17, "{all:#?}");
    for check in &all {
        assert_eq!(check["status"], "ok", "{check:#}");
    }

    // Upstream drift, only when asked: offline (and for the locally built
    // stand-ins) it is unknown, shown as skipped, never failing even --strict.
    let upstream = stack.flowinfra(&["check", "--check-upstream", "--strict", "--json"]);
    assert_success(&upstream, "check --check-upstream --strict --json");
    let with_upstream = checks(&upstream);
    for service in ["minio", "mysql", "rabbitmq", "redis"] {
        let check = find(&with_upstream, service, "upstream");
        assert_eq!(check["status"], "skipped", "{check:#}");
        assert!(check["reason"].as_str().unwrap().contains(": unknown ("), "{check:#}");
    }
    assert!(
        !all.iter().any(|c| c["check"] == "upstream"),
        "upstream checked unasked"
    );

    // No secret from .env appears in check, ps or plan output.
    for args in [
        &["check", "--json"][..],
        &["check", "--verbose"],
        &["ps", "--json"],
        &["ps"],
        &["plan", "--json"],
        &["plan"],
    ] {
        let output = stack.flowinfra(args);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        for secret in [
            "flowlite_password",
            "flowlite_root_password",
            "flowlite_rabbitmq_password",
            "flowlite_redis_pass_2024",
            "flowlite_minio_password",
        ] {
            assert!(!text.contains(secret), "{args:?} printed {secret}:\n{text}");
        }
    }

    // Rows removed by hand: the seed is reported as not current.
    let mut mysql = sqlx::MySqlConnection::connect(&stack.mysql_url()).await.unwrap();
    sqlx::query("DELETE FROM Insights").execute(&mut mysql).await.unwrap();
    drop(mysql);
    let after_delete = stack.flowinfra(&["check", "--json"]);
    assert_eq!(after_delete.status.code(), Some(1), "{}", stdout(&after_delete));
    let seed = find(&checks(&after_delete), "mysql", "seed").clone();
    assert_eq!(seed["status"], "fail");
    assert!(
        seed["reason"].as_str().unwrap().contains("Insights id_user=")
            && seed["reason"].as_str().unwrap().contains("missing"),
        "{seed:#}"
    );
    assert_success(&stack.flowinfra(&["seed", "--clean"]), "seed --clean");

    // Redis stopped: exit 1 naming redis, within the timeout, the others still reported.
    let engine = support::engine().await;
    let redis = stack.container_ids().await["redis"].clone();
    engine.stop_container(&redis, Duration::from_secs(5)).await.unwrap();
    let started = Instant::now();
    let stopped = stack.flowinfra(&["check", "--timeout", "5"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "check took {:?}",
        started.elapsed()
    );
    assert_eq!(stopped.status.code(), Some(1));
    let table = stdout(&stopped);
    let redis_line = table
        .lines()
        .find(|l| l.contains("redis") && l.contains("container"))
        .expect("a redis line");
    assert!(
        redis_line.starts_with("FAIL") && redis_line.contains("exited"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("OK") && l.contains("mysql") && l.contains("seed")),
        "{table}"
    );
}

#[test]
fn an_unreachable_engine_exits_3_with_the_address() {
    let stack = FlowliteStack::new("check-no-engine");
    let output = stack.flowinfra_with(&["check"], &[("DOCKER_HOST", "tcp://127.0.0.1:9")]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot reach the Docker engine at tcp://127.0.0.1:9"),
        "{}",
        stderr(&output)
    );
}

/// Issue 16 item 5c: with --json the verdict still reaches stdout.
#[test]
fn an_unreachable_engine_with_json_prints_the_failed_engine_check_and_exits_3() {
    let stack = FlowliteStack::new("check-no-engine-json");
    let output = stack.flowinfra_with(&["check", "--json"], &[("DOCKER_HOST", "tcp://127.0.0.1:9")]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("check --json is JSON ({e}):\n{}", stdout(&output)));
    assert_eq!(value["status"], "fail", "{value:#}");
    let all = value["checks"].as_array().expect("a checks array");
    let engine = find(all, "", "engine");
    assert_eq!(engine["status"], "fail", "{value:#}");
    let reason = engine["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot reach the Docker engine") && reason.contains("tcp://127.0.0.1:9"),
        "{value:#}"
    );
    let text = stderr(&output);
    assert!(
        text.contains("cannot reach the Docker engine") && text.contains("tcp://127.0.0.1:9"),
        "{text}"
    );
}
