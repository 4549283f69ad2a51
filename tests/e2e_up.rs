//! `up`, `down`, `ps` and `logs` as a user runs them, against the real engine
//! and the offline stand-in images (built by scripts/build-test-images.sh).

mod support;

use std::time::Duration;

use flowinfra::engine::RunState;
use support::{Flowinfra, FlowliteStack, Output, TestProject};

/// `up` of the whole stack, which must succeed.
fn up(stack: &FlowliteStack) -> Output {
    stack.flowinfra(&["up"]).success()
}

#[tokio::test]
async fn up_from_nothing_brings_every_service_to_ready_and_again_changes_nothing() {
    let stack = FlowliteStack::new("up-from-nothing");
    up(&stack);

    // Each service answers on its published loopback port with the .env credentials.
    let mut mysql = stack.mysql().await;
    let one: (i32,) = sqlx::query_as("SELECT 1").fetch_one(&mut mysql).await.unwrap();
    assert_eq!(one.0, 1);
    let endpoint = |port| flowinfra::kinds::Endpoint {
        host: "127.0.0.1".into(),
        port,
    };
    let rabbit = flowinfra::kinds::Credentials::Rabbitmq {
        user: "admin".into(),
        password: "flowlite_rabbitmq_password".into(),
        vhost: "/".into(),
    };
    flowinfra::kinds::probe(
        flowinfra::spec::Kind::Rabbitmq,
        &endpoint(stack.port("RABBITMQ_PORT")),
        &rabbit,
        Duration::from_secs(5),
    )
    .await
    .expect("AMQP accepts the .env credentials");
    let redis = flowinfra::kinds::Credentials::Redis {
        password: Some("flowlite_redis_pass_2024".into()),
    };
    flowinfra::kinds::probe(
        flowinfra::spec::Kind::Redis,
        &endpoint(stack.port("REDIS_PORT")),
        &redis,
        Duration::from_secs(5),
    )
    .await
    .expect("redis accepts the .env password");
    let s3 = flowinfra::kinds::Credentials::S3 {
        access_key: "flowlite_minio".into(),
        secret_key: "flowlite_minio_password".into(),
        region: "us-east-1".into(),
    };
    flowinfra::kinds::probe(
        flowinfra::spec::Kind::S3,
        &endpoint(stack.port("MINIO_PORT")),
        &s3,
        Duration::from_secs(5),
    )
    .await
    .expect("S3 accepts the .env keys");

    let before = stack.container_ids().await;
    assert_eq!(
        before.keys().cloned().collect::<Vec<_>>(),
        ["minio", "mysql", "rabbitmq", "redis"]
    );
    let again = up(&stack);
    assert_eq!(
        stack.container_ids().await,
        before,
        "a second up recreated something:\n{}",
        again.stderr()
    );
    assert!(again.stderr().contains("keep"), "{}", again.stderr());

    // ps lists every service as running.
    let rows = stack.flowinfra(&["ps", "--json"]).success().json();
    let states: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["running"; 4]);
}

#[tokio::test]
async fn down_keeps_volumes_and_down_v_removes_them() {
    let stack = FlowliteStack::new("down-volumes");
    stack.flowinfra(&["up", "mysql"]);
    let mut mysql = stack.mysql().await;
    sqlx::query("CREATE TABLE survivor (id INT PRIMARY KEY)")
        .execute(&mut mysql)
        .await
        .unwrap();
    sqlx::query("INSERT INTO survivor VALUES (42)")
        .execute(&mut mysql)
        .await
        .unwrap();
    drop(mysql);

    stack.flowinfra(&["down"]).success();
    assert!(stack.container_ids().await.is_empty(), "down left containers");
    stack.flowinfra(&["up", "mysql"]).success();
    let mut mysql = stack.mysql().await;
    let kept: (i32,) = sqlx::query_as("SELECT id FROM survivor")
        .fetch_one(&mut mysql)
        .await
        .expect("data survives down");
    assert_eq!(kept.0, 42);
    drop(mysql);

    let down_v = stack.flowinfra(&["down", "-v"]).success();
    assert!(down_v.stderr().contains("removed volume"), "{}", down_v.stderr());
    stack.flowinfra(&["up", "mysql"]).success();
    let mut mysql = stack.mysql().await;
    let gone = sqlx::query("SELECT id FROM survivor").fetch_one(&mut mysql).await;
    assert!(gone.is_err(), "the table should be gone after down -v");
}

#[tokio::test]
async fn an_unreachable_engine_exits_3_naming_the_address() {
    let stack = FlowliteStack::new("no-engine");
    let output = stack
        .command(&["up"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run()
        .failure(3);
    assert!(
        output
            .stderr()
            .contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"),
        "{}",
        output.stderr()
    );
}

#[tokio::test]
async fn a_taken_host_port_is_named() {
    let stack = FlowliteStack::new("port-taken");
    let holder = std::net::TcpListener::bind(("127.0.0.1", stack.port("REDIS_PORT"))).unwrap();
    let text = stack.flowinfra(&["up", "redis"]).failure(1).stderr();
    assert!(
        text.contains(&format!(
            "host port 127.0.0.1:{} is already in use by another program",
            stack.port("REDIS_PORT")
        )),
        "{text}"
    );
    drop(holder);
}

#[tokio::test]
async fn an_absent_image_offline_is_a_clear_error() {
    let stack = FlowliteStack::new("image-absent");
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "services:\n  ghost:\n    image: flowinfra-test/does-not-exist:1\n",
    )
    .unwrap();
    let output = Flowinfra::new()
        .arg("-f")
        .arg(&spec)
        .args(["-p", &stack.project.name, "up"])
        .run()
        .failure(1);
    assert!(
        output
            .stderr()
            .contains("image flowinfra-test/does-not-exist:1 is not available"),
        "{}",
        output.stderr()
    );
}

#[tokio::test]
async fn a_container_that_exits_during_start_is_reported_with_its_code_and_log() {
    let engine = support::engine().await;
    let image = support::busybox_image(&engine).await;
    let project = TestProject::new("exits-on-start");
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!("services:\n  crashy:\n    image: {image}\n    pull_policy: never\n    command: [sh, -c, 'echo about to fail; exit 3']\n"),
    )
    .unwrap();
    let text = Flowinfra::new()
        .arg("-f")
        .arg(&spec)
        .args(["-p", &project.name, "up"])
        .run()
        .failure(1)
        .stderr();
    assert!(
        text.contains("service `crashy` is not ready: its container exited with code 3"),
        "{text}"
    );
    assert!(text.contains("| about to fail"), "{text}");
    let containers = engine.list_containers(&project.name).await.unwrap();
    assert!(containers.iter().all(|c| c.status == RunState::Exited));
}

#[tokio::test]
async fn refused_credentials_are_named_not_a_timeout() {
    let stack = FlowliteStack::new("bad-credentials");
    stack.flowinfra(&["up", "mysql"]).success();
    // The volume keeps the password it was initialised with; a changed .env value is refused.
    let text = stack
        .command(&["up", "--timeout", "60", "mysql"])
        .env("MYSQL_PASSWORD", "not-the-password")
        .run()
        .failure(1)
        .stderr();
    assert!(
        text.contains("service `mysql` is not ready: the credentials were refused"),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "the password leaked: {text}");
}

#[tokio::test]
async fn logs_prefix_each_line_with_its_service() {
    let stack = FlowliteStack::new("logs");
    stack.flowinfra(&["up", "redis"]).success();
    let stdout = stack.flowinfra(&["logs", "--tail", "5"]).success().stdout();
    assert!(!stdout.is_empty());
    assert!(stdout.lines().all(|line| line.starts_with("redis | ")), "{stdout}");
}

/// `flowinfra -f <spec> -p <project> up`, from a spec text in a temporary directory.
async fn up_spec(test: &str, spec_text: impl Fn(&str) -> String) -> (TestProject, Output) {
    let engine = support::engine().await;
    let image = support::busybox_image(&engine).await;
    let project = TestProject::new(test);
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, spec_text(&image)).unwrap();
    let output = Flowinfra::new()
        .arg("-f")
        .arg(&spec)
        .args(["-p", &project.name, "up"])
        .run();
    (project, output)
}

#[tokio::test]
async fn a_failed_dependency_chain_reports_its_root_cause_first_with_its_log_in_order() {
    // `api` sorts before `zdb`, the root cause: the report must not follow the names.
    let (_project, output) = up_spec("chain", |image| {
        format!(
            "services:
  api:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    depends_on:
      zdb: {{ condition: service_healthy }}
  zdb:
    image: {image}
    pull_policy: never
    command: [sh, -c, 'echo one to stdout; sleep 0.04; echo two to stderr >&2; sleep 0.04; echo three to stdout; sleep 0.04; echo four to stderr >&2; exit 3']
"
        )
    })
    .await;
    let text = output.failure(1).stderr();
    let root = text
        .find("service `zdb` is not ready: its container exited with code 3")
        .unwrap_or_else(|| panic!("{text}"));
    let dependant = text
        .find("service `api` is not ready: not started: its dependency `zdb` failed")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(root < dependant, "the root cause comes after its dependant:\n{text}");
    // stdout and stderr lines in the order they were written.
    let log: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("  | ")).collect();
    assert_eq!(
        log,
        ["one to stdout", "two to stderr", "three to stdout", "four to stderr"],
        "{text}"
    );
    // The hint follows the log it points at.
    let hint = text
        .find("its last log lines are above")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(hint > text.find("| four to stderr").unwrap(), "{text}");
}

#[tokio::test]
async fn an_unhealthy_service_shows_its_healthchecks_last_output() {
    let (_project, output) = up_spec("unhealthy", |image| {
        format!(
            "services:
  web:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    healthcheck:
      test: [CMD-SHELL, 'echo cannot reach db:5432; exit 1']
      interval: 1s
      retries: 1
"
        )
    })
    .await;
    let text = output.failure(1).stderr();
    assert!(
        text.contains("service `web` is not ready: its healthcheck reports unhealthy: `echo cannot reach db:5432; exit 1` exited 1"),
        "{text}"
    );
    assert!(text.contains("  | cannot reach db:5432"), "{text}");
    assert!(text.contains("fix `healthcheck.test` in the spec"), "{text}");
}

#[tokio::test]
async fn the_up_summary_shows_a_plain_services_first_published_address() {
    let port = support::free_port();
    let (_project, output) = up_spec("address", |image| {
        format!(
            "services:
  gateway:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    ports: ['127.0.0.1:{port}:8000']
  worker:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
"
        )
    })
    .await;
    let text = output.success().stderr();
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")) && l.contains("ready"))
            .unwrap_or_else(|| panic!("no {name} row:\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("gateway")[2], format!("127.0.0.1:{port}"), "{text}");
    assert_eq!(row("worker")[2], "-", "{text}");
}

/// Issue 15: a host port two services publish is accepted by the spec (they
/// usually sit in different profiles, and Compose accepts the file); `up`
/// refuses only when it would start both, naming both, before it creates
/// anything.
#[tokio::test]
async fn two_selected_services_on_one_host_port_are_refused_naming_both() {
    let port = support::free_port();
    let spec = move |image: &str| {
        format!(
            "services:\n  a:\n    image: {image}\n    pull_policy: never\n    command: [sleep, '3600']\n    \
             ports: ['{port}:80']\n  b:\n    image: {image}\n    pull_policy: never\n    command: [sleep, '3600']\n    \
             ports: ['{port}:81']\n"
        )
    };
    let (project, output) = up_spec("port-shared", spec).await;
    let text = output.failure(2).stderr();
    assert!(
        text.contains(&format!(
            "services `a` and `b` both publish host port {port}/tcp, and `up` would start both"
        )),
        "{text}"
    );
    assert!(text.contains("start only one of them"), "{text}");
    let engine = support::engine().await;
    assert!(engine.list_containers(&project.name).await.unwrap().is_empty());

    // Only one of them selected: it starts.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec(&support::busybox_image(&engine).await)).unwrap();
    Flowinfra::new()
        .arg("-f")
        .arg(&path)
        .args(["-p", &project.name, "up", "a"])
        .run()
        .success();
}

/// Issue 15: a `post_start` hook that fails fails its service, with its
/// exit code and output.
#[tokio::test]
async fn a_failing_post_start_hook_fails_its_service_with_its_output() {
    let (_project, output) = up_spec("post-start-fails", |image| {
        format!(
            "services:\n  app:\n    image: {image}\n    pull_policy: never\n    command: [sleep, '3600']\n    \
             stop_grace_period: 1s\n    post_start:\n      - command: [sh, -c, 'echo not ready yet; exit 3']\n"
        )
    })
    .await;
    let text = output.failure(1).stderr();
    assert!(
        text.contains("its post_start hook `sh -c echo not ready yet; exit 3` exited 3: not ready yet"),
        "{text}"
    );
}
