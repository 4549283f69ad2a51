//! `up`, `down`, `ps` and `logs` as a user runs them, against the real engine
//! and the offline stand-in images (built by scripts/build-test-images.sh).

mod support;

use std::process::Output;
use std::time::Duration;

use flowinfra::engine::RunState;
use support::{FlowliteStack, TestProject, assert_success, stderr};

/// `up` of the whole stack, which must succeed.
fn up(stack: &FlowliteStack) -> Output {
    let output = stack.flowinfra(&["up"]);
    assert_success(&output, "up");
    output
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
        stderr(&again)
    );
    assert!(stderr(&again).contains("keep"), "{}", stderr(&again));

    // ps lists every service as running.
    let ps = stack.flowinfra(&["ps", "--json"]);
    assert_success(&ps, "ps");
    let rows: serde_json::Value = serde_json::from_slice(&ps.stdout).unwrap();
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

    assert_success(&stack.flowinfra(&["down"]), "down");
    assert!(stack.container_ids().await.is_empty(), "down left containers");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up after down");
    let mut mysql = stack.mysql().await;
    let kept: (i32,) = sqlx::query_as("SELECT id FROM survivor")
        .fetch_one(&mut mysql)
        .await
        .expect("data survives down");
    assert_eq!(kept.0, 42);
    drop(mysql);

    let down_v = stack.flowinfra(&["down", "-v"]);
    assert_success(&down_v, "down -v");
    assert!(stderr(&down_v).contains("removed volume"), "{}", stderr(&down_v));
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up after down -v");
    let mut mysql = stack.mysql().await;
    let gone = sqlx::query("SELECT id FROM survivor").fetch_one(&mut mysql).await;
    assert!(gone.is_err(), "the table should be gone after down -v");
}

#[tokio::test]
async fn an_unreachable_engine_exits_3_naming_the_address() {
    let stack = FlowliteStack::new("no-engine");
    let output = stack.flowinfra_with(&["up"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn a_taken_host_port_is_named() {
    let stack = FlowliteStack::new("port-taken");
    let holder = std::net::TcpListener::bind(("127.0.0.1", stack.port("REDIS_PORT"))).unwrap();
    let output = stack.flowinfra(&["up", "redis"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
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
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flowinfra"))
        .args(["-f", spec.to_str().unwrap(), "-p", &stack.project.name, "up"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("image flowinfra-test/does-not-exist:1 is not available"),
        "{}",
        stderr(&output)
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
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flowinfra"))
        .args(["-f", spec.to_str().unwrap(), "-p", &project.name, "up"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
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
    assert_success(&stack.flowinfra(&["up", "mysql"]), "first up");
    // The volume keeps the password it was initialised with; a changed .env value is refused.
    let output = stack.flowinfra_with(
        &["up", "--timeout", "60", "mysql"],
        &[("MYSQL_PASSWORD", "not-the-password")],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("service `mysql` is not ready: the credentials were refused"),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "the password leaked: {text}");
}

#[tokio::test]
async fn logs_prefix_each_line_with_its_service() {
    let stack = FlowliteStack::new("logs");
    assert_success(&stack.flowinfra(&["up", "redis"]), "up redis");
    let output = stack.flowinfra(&["logs", "--tail", "5"]);
    assert_success(&output, "logs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.is_empty());
    assert!(stdout.lines().all(|line| line.starts_with("redis | ")), "{stdout}");
}
