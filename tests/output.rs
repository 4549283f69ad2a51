//! Snapshots of what users read: errors with their caret, cause chain and
//! hint, and the tables and JSON of `plan`, `up`, `ps` and `check`, taken
//! from the real binary (stand-in images for the running stack).
//!
//! The `.snap` files under `tests/snapshots/` are committed: a change in the
//! output fails the test with a diff. Plain `cargo test` is all that runs
//! them — CI (`CI=true`) never writes snapshots, elsewhere insta leaves a
//! `.snap.new` beside the old one; accept it by renaming it, or with
//! `cargo insta review` when installed.
//!
//! What changes from run to run is filtered, with replacements as wide as
//! what they replace where a table's columns would shift: the project name
//! (`[PROJECT]`, nine characters like the names these tests choose), host
//! ports (`XXXXX`), durations, server versions and the engine's address.

mod support;

use std::time::Duration;

use support::{FLOWLITE_SPEC, Flowinfra, FlowliteStack, Output, TestProject};

/// The filters every snapshot here shares, after `first` (pairs of a
/// regular expression and its replacement, for what the shared ones would
/// otherwise catch), hiding `project` when given.
fn settings(command: &str, project: Option<&str>, first: &[(String, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(format!("flowinfra {command}"));
    settings.set_omit_expression(true);
    for (regex, replacement) in first {
        settings.add_filter(regex, *replacement);
    }
    // Names from project() are letters and digits: they match themselves.
    if let Some(project) = project {
        settings.add_filter(project, "[PROJECT]");
    }
    settings.add_filter(r"127\.0\.0\.1:\d{5}\b", "127.0.0.1:XXXXX");
    // `up`'s progress lines come in the order services get there, which varies.
    settings.add_filter(r"(?m)(^\[ *\d+\.\d+s\] .*\n)+", "[progress lines]\n");
    settings
}

/// A project name of nine characters (the width of `[PROJECT]`), unique to
/// this process, so that tables keep their alignment once it is filtered.
fn project(prefix: char) -> TestProject {
    TestProject::named(format!("f{prefix}{:07}", std::process::id()))
}

#[test]
fn a_spec_error_shows_the_line_a_caret_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "services:\n  db:\n    image: mysql\n    portz: ['3306:3306']\n",
    )
    .unwrap();
    let output = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "spec.yaml", "config"])
        .run()
        .failure(2);
    settings("-f spec.yaml config", None, &[]).bind(|| {
        insta::assert_snapshot!("spec_error", output.transcript());
    });
}

#[test]
fn several_spec_errors_are_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "services:\n  db:\n    image: mysql\n    portz: ['3306:3306']\n  cache:\n    image: redis\n    restart: sometimes\n    depends_on: [dbb]\n",
    )
    .unwrap();
    let output = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "spec.yaml", "config"])
        .run()
        .failure(2);
    settings("-f spec.yaml config", None, &[]).bind(|| {
        insta::assert_snapshot!("spec_errors", output.transcript());
    });
}

#[test]
fn errors_in_shared_values_are_said_once_where_they_are_written() {
    // An anchor merged into three services, a service extended from another file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.yml"),
        "services:\n  worker:\n    image: busybox\n    healthcheck:\n      test: [CMD, true]\n      interval: 5 sec\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "x-defaults: &defaults\n  image: busybox\n  restart: sometimes\nservices:\n  a:\n    <<: *defaults\n  b:\n    <<: *defaults\n  c:\n    <<: *defaults\n  jobs:\n    extends: {file: base.yml, service: worker}\n  more-jobs:\n    extends: {file: base.yml, service: worker}\n",
    )
    .unwrap();
    let output = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "spec.yaml", "config"])
        .run()
        .failure(2);
    settings("-f spec.yaml config", None, &[]).bind(|| {
        insta::assert_snapshot!("spec_shared_value_errors", output.transcript());
    });
}

#[test]
fn extends_and_include_errors_point_at_what_names_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "include:\n  - path: db.yml\n    env_file: db.env\nservices:\n  app:\n    extends: ap\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("db.yml"), "services:\n  db:\n    image: busybox\n").unwrap();
    let missing_env = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "spec.yaml", "config"])
        .run()
        .failure(2);
    std::fs::write(dir.path().join("db.env"), "A=1\n").unwrap();
    let unknown_base = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "spec.yaml", "config"])
        .run()
        .failure(2);
    std::fs::write(
        dir.path().join("spec.yaml"),
        "services:\n  app:\n    image: busybox\n    environment: !env\n      A: '1'\n",
    )
    .unwrap();
    let tag = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "spec.yaml", "config"])
        .run()
        .failure(2);
    let transcript = format!(
        "{}\n{}\n{}",
        missing_env.transcript(),
        unknown_base.transcript(),
        tag.transcript()
    );
    settings("-f spec.yaml config", None, &[]).bind(|| {
        insta::assert_snapshot!("spec_extends_include_tag_errors", transcript);
    });
}

#[test]
fn an_unreachable_engine_shows_the_cause_and_a_hint() {
    let output = Flowinfra::new()
        .args(["-p", "unreachable", "up"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run()
        .failure(3);
    settings("up (DOCKER_HOST=unix:///nonexistent/docker.sock)", None, &[]).bind(|| {
        insta::assert_snapshot!("engine_unreachable", output.transcript());
    });
}

#[test]
fn a_taken_host_port_names_the_port_and_what_to_do() {
    let stack = FlowliteStack::on_project(project('p'), FLOWLITE_SPEC);
    let port = stack.port("REDIS_PORT");
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let output = stack.flowinfra(&["up", "redis"]).failure(1);
    let ports = [
        (format!(r"\b{port}\b"), "[PORT]"),
        (format!(r"\b{}\b", port + 1), "[PORT+1]"),
    ];
    let settings = settings("up redis (its host port taken)", Some(&stack.project.name), &ports);
    settings.bind(|| insta::assert_snapshot!("up_port_taken", output.transcript()));
}

/// One stack, brought up once, serves every snapshot of a running stack:
/// `up` is the slow part.
#[test]
fn the_flowlite_stack_as_plan_up_ps_and_check_show_it() {
    let mut stack = FlowliteStack::on_project(project('s'), FLOWLITE_SPEC);
    // `ps` lists a container's ports by host port: the main one first, every run.
    for (main, second) in [
        ("RABBITMQ_PORT", "RABBITMQ_MANAGEMENT_PORT"),
        ("MINIO_PORT", "MINIO_CONSOLE_PORT"),
    ] {
        if stack.port(main) > stack.port(second) {
            let (low, high) = (stack.port(second), stack.port(main));
            stack.env.insert(main.into(), low.to_string());
            stack.env.insert(second.into(), high.to_string());
        }
    }
    let name = stack.project.name.clone();
    let snapshot = |snapshot: &str, command: &str, output: &Output| {
        settings(command, Some(&name), &[]).bind(|| insta::assert_snapshot!(snapshot, output.transcript()));
    };

    snapshot("plan_nothing_yet", "plan", &stack.flowinfra(&["plan"]).success());
    snapshot(
        "plan_nothing_yet_json",
        "plan --json",
        &stack.flowinfra(&["plan", "--json"]).success(),
    );

    let up = stack.flowinfra(&["up"]).success();
    let mut up_settings = settings("up", Some(&name), &[]);
    // READY AFTER is as wide as its heading: a time and its padding make 13 columns.
    up_settings.add_filter(r"\b\d+\.\d+s {2,}", "[TIME]       ");
    up_settings.bind(|| insta::assert_snapshot!("up_summary", up.transcript()));

    // A changed port is a changed config: shown, not done.
    let changed = stack
        .command(&["plan"])
        .env("REDIS_PORT", support::free_port().to_string())
        .run()
        .success();
    snapshot("plan_config_changed", "plan (REDIS_PORT changed)", &changed);

    // mysql's Docker healthcheck reports some seconds after `up` is done
    // (`up` waits for the protocol); ps shows the settled state.
    wait_until_healthy(&stack, Duration::from_secs(60));
    snapshot("ps", "ps", &stack.flowinfra(&["ps"]).success());

    let check = stack.flowinfra(&["check", "--verbose"]).success();
    let mut check_settings = settings("check --verbose", Some(&name), &[]);
    add_check_filters(&mut check_settings);
    // The widths of the REASON and TIME columns follow the engine's address
    // and the timings, so padding is collapsed to the two-space separator.
    check_settings.add_filter(r"(\S) {2,}", "$1  ");
    check_settings.bind(|| insta::assert_snapshot!("check_verbose", check.transcript()));

    let json = stack.flowinfra(&["check", "--json"]).success();
    let mut json_settings = settings("check --json", Some(&name), &[]);
    add_check_filters(&mut json_settings);
    json_settings.add_filter(r#""duration_ms": \d+"#, r#""duration_ms": "[MS]""#);
    json_settings.bind(|| insta::assert_snapshot!("check_json", json.transcript()));
}

/// What differs between machines and runs in `check`'s output.
fn add_check_filters(settings: &mut insta::Settings) {
    settings.add_filter(r"Docker engine at [^\s\x22]+", "Docker engine at [DOCKER_HOST]");
    settings.add_filter(
        r"engine: \S+( \([^)]*\))?, API \S+",
        "engine: [DOCKER_HOST], API [VERSION]",
    );
    settings.add_filter(r"\b\d+ ms\b", "[TIME]");
    settings.add_filter(r"(api_version|server_version)=(redis )?\S+", "$1=[VERSION]");
    settings.add_filter(r#""(api_version|server_version)": "[^"]*""#, r#""$1": "[VERSION]""#);
}

fn wait_until_healthy(stack: &FlowliteStack, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let rows = stack.flowinfra(&["ps", "--json"]).success().json();
        let settled = rows
            .as_array()
            .expect("ps --json is an array")
            .iter()
            .all(|row| row["health"].is_null() || row["health"] == "healthy");
        if settled {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not healthy after {timeout:?}: {rows:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
