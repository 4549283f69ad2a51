//! The readiness probes of `flowinfra::kinds` against real servers: the
//! offline stand-ins of mysql, rabbitmq, redis and minio, started through the
//! engine adapter. Each test is one server in its own project, removed when
//! the test ends, passed or failed.
//!
//! For each kind: nothing listening is "not ready"; polling from the start
//! of the container reaches "ready" with a server version, and never says
//! "refused" on the way; wrong credentials are "refused", not "not ready".
//!
//! These tests fail (never skip) when no engine is reachable or a stand-in
//! image is missing. Run with `--nocapture` to see the time each server
//! took to become ready.

mod support;

use std::time::{Duration, Instant};

use flowinfra::engine::{ContainerSpec, PortBinding, Protocol};
use flowinfra::kinds::{self, Credentials, Endpoint, ProbeError, ProbeSuccess};
use flowinfra::spec::Kind;
use support::{TestProject, busybox_image, create, engine, free_port, standin_container};

/// As `up` probes: one attempt may take this long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Generous for a first MariaDB initialisation on a loaded machine.
const READY_DEADLINE: Duration = Duration::from_secs(180);
const PAUSE_BETWEEN_ATTEMPTS: Duration = Duration::from_millis(50);

fn loopback(port: u16) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
    }
}

/// Polls `probe` from `started` until it succeeds, failing the test on a
/// refusal (valid credentials are never refused while a server starts) or at
/// the deadline. Prints how long it took.
async fn wait_until_ready(
    kind: Kind,
    endpoint: &Endpoint,
    credentials: &Credentials,
    started: Instant,
) -> ProbeSuccess {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match kinds::probe(kind, endpoint, credentials, ATTEMPT_TIMEOUT).await {
            Ok(success) => {
                eprintln!(
                    "{} stand-in ready {:.2} s after start, on attempt {attempts}: {}",
                    kind.as_str(),
                    started.elapsed().as_secs_f64(),
                    success.server_version.as_deref().unwrap_or("(no version)")
                );
                return success;
            }
            Err(ProbeError::NotReady(reason)) => assert!(
                started.elapsed() < READY_DEADLINE,
                "{} not ready {READY_DEADLINE:?} after start ({attempts} attempts); last: {reason}",
                kind.as_str()
            ),
            Err(refused @ ProbeError::CredentialsRefused(_)) => panic!(
                "{} refused valid credentials while starting (attempt {attempts}): {refused}",
                kind.as_str()
            ),
        }
        tokio::time::sleep(PAUSE_BETWEEN_ATTEMPTS).await;
    }
}

async fn assert_not_ready(kind: Kind, endpoint: &Endpoint, credentials: &Credentials, situation: &str) {
    match kinds::probe(kind, endpoint, credentials, ATTEMPT_TIMEOUT).await {
        Err(ProbeError::NotReady(reason)) => eprintln!("{} {situation}: not ready ({reason})", kind.as_str()),
        other => panic!("{} {situation}: expected NotReady, got {other:?}", kind.as_str()),
    }
}

async fn assert_refused(kind: Kind, endpoint: &Endpoint, credentials: &Credentials, situation: &str) {
    match kinds::probe(kind, endpoint, credentials, ATTEMPT_TIMEOUT).await {
        Err(ProbeError::CredentialsRefused(reason)) => {
            eprintln!("{} {situation}: refused ({reason})", kind.as_str())
        }
        other => panic!(
            "{} {situation}: expected CredentialsRefused, got {other:?}",
            kind.as_str()
        ),
    }
}

/// Creates the stand-in container of `kind`, probes it before it starts,
/// starts it and waits until it is ready. Returns the endpoint.
async fn start_and_wait(
    project: &TestProject,
    kind: Kind,
    env: &[(&str, &str)],
    command: Option<&[&str]>,
    credentials: &Credentials,
) -> (Endpoint, ProbeSuccess) {
    let engine = engine().await;
    let port = free_port();
    let spec = standin_container(&engine, project, kind.as_str(), kind, env, command, port).await;
    let id = create(&engine, project, &spec).await;
    let endpoint = loopback(port);
    assert_not_ready(kind, &endpoint, credentials, "before its container starts").await;
    engine.start_container(&id).await.expect("start the stand-in container");
    let success = wait_until_ready(kind, &endpoint, credentials, Instant::now()).await;
    (endpoint, success)
}

#[tokio::test]
async fn mysql_is_ready_when_the_app_user_logs_in_and_refuses_wrong_credentials() {
    let project = TestProject::new("probe_mysql");
    let credentials = Credentials::Mysql {
        user: "app".into(),
        password: "app-secret".into(),
        database: "appdb".into(),
    };
    let env = [
        ("MYSQL_ROOT_PASSWORD", "root-secret"),
        ("MYSQL_DATABASE", "appdb"),
        ("MYSQL_USER", "app"),
        ("MYSQL_PASSWORD", "app-secret"),
    ];
    let (endpoint, success) = start_and_wait(&project, Kind::Mysql, &env, None, &credentials).await;
    let version = success.server_version.expect("mysql reports VERSION()");
    assert!(version.contains("MariaDB"), "the stand-in is MariaDB: {version}");

    let wrong_password = Credentials::Mysql {
        user: "app".into(),
        password: "not-the-password".into(),
        database: "appdb".into(),
    };
    assert_refused(Kind::Mysql, &endpoint, &wrong_password, "with a wrong password").await;
    let wrong_database = Credentials::Mysql {
        user: "app".into(),
        password: "app-secret".into(),
        database: "no_such_db".into(),
    };
    assert_refused(
        Kind::Mysql,
        &endpoint,
        &wrong_database,
        "on a database that does not exist",
    )
    .await;
}

#[tokio::test]
async fn rabbitmq_is_ready_when_a_channel_opens_and_refuses_wrong_credentials() {
    let project = TestProject::new("probe_rabbitmq");
    let credentials = Credentials::Rabbitmq {
        user: "admin".into(),
        password: "mq-secret".into(),
        vhost: "/".into(),
    };
    let env = [
        ("RABBITMQ_DEFAULT_USER", "admin"),
        ("RABBITMQ_DEFAULT_PASS", "mq-secret"),
    ];
    let (endpoint, _) = start_and_wait(&project, Kind::Rabbitmq, &env, None, &credentials).await;

    let wrong_password = Credentials::Rabbitmq {
        user: "admin".into(),
        password: "not-the-password".into(),
        vhost: "/".into(),
    };
    assert_refused(Kind::Rabbitmq, &endpoint, &wrong_password, "with a wrong password").await;
    let missing_vhost = Credentials::Rabbitmq {
        user: "admin".into(),
        password: "mq-secret".into(),
        vhost: "no-such-vhost".into(),
    };
    assert_refused(
        Kind::Rabbitmq,
        &endpoint,
        &missing_vhost,
        "on a vhost that does not exist",
    )
    .await;
}

#[tokio::test]
async fn redis_is_ready_when_ping_answers_pong_and_refuses_wrong_credentials() {
    let project = TestProject::new("probe_redis");
    let credentials = Credentials::Redis {
        password: Some("redis-secret".into()),
    };
    let command = ["redis-server", "--requirepass", "redis-secret"];
    let (endpoint, success) = start_and_wait(&project, Kind::Redis, &[], Some(&command), &credentials).await;
    let version = success.server_version.expect("redis reports INFO server");
    assert!(version.starts_with("redis "), "{version}");

    let wrong_password = Credentials::Redis {
        password: Some("not-the-password".into()),
    };
    assert_refused(Kind::Redis, &endpoint, &wrong_password, "with a wrong password").await;
    let no_password = Credentials::Redis { password: None };
    assert_refused(Kind::Redis, &endpoint, &no_password, "without the password it requires").await;
}

#[tokio::test]
async fn s3_is_ready_when_a_signed_list_buckets_succeeds_and_refuses_wrong_credentials() {
    let project = TestProject::new("probe_s3");
    let credentials = Credentials::S3 {
        access_key: "minio-user".into(),
        secret_key: "minio-secret".into(),
        region: kinds::S3_REGION.into(),
    };
    let env = [
        ("MINIO_ROOT_USER", "minio-user"),
        ("MINIO_ROOT_PASSWORD", "minio-secret"),
    ];
    let command = ["server", "/data"];
    let (endpoint, success) = start_and_wait(&project, Kind::S3, &env, Some(&command), &credentials).await;
    eprintln!("s3 Server header: {:?}", success.server_version);

    let wrong_secret = Credentials::S3 {
        access_key: "minio-user".into(),
        secret_key: "not-the-secret".into(),
        region: kinds::S3_REGION.into(),
    };
    assert_refused(Kind::S3, &endpoint, &wrong_secret, "with a wrong secret key").await;
    let unknown_key = Credentials::S3 {
        access_key: "nobody".into(),
        secret_key: "minio-secret".into(),
        region: kinds::S3_REGION.into(),
    };
    assert_refused(Kind::S3, &endpoint, &unknown_key, "with an unknown access key").await;
}

/// Docker's userland proxy accepts on a published port whether or not
/// anything listens inside, then resets: no kind may take that for ready.
#[tokio::test]
async fn a_published_port_with_nothing_listening_inside_is_not_ready_for_any_kind() {
    let project = TestProject::new("probe_no_listener");
    let engine = engine().await;
    let port = free_port();
    let spec = ContainerSpec {
        name: project.container_name("idle"),
        project: project.name.clone(),
        service: "idle".into(),
        image: busybox_image(&engine).await,
        labels: Default::default(),
        env: Vec::new(),
        command: Some(vec!["sleep".into(), "600".into()]),
        entrypoint: None,
        ports: vec![PortBinding {
            host_ip: "127.0.0.1".into(),
            host_port: Some(port),
            container_port: 7777,
            protocol: Protocol::Tcp,
        }],
        mounts: Vec::new(),
        healthcheck: None,
        restart: None,
        network: project.network(),
        aliases: vec!["idle".into()],
        hostname: None,
        options: Default::default(),
    };
    let id = create(&engine, &project, &spec).await;
    engine.start_container(&id).await.expect("start the idle container");
    let endpoint = loopback(port);
    let accepted = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok();
    eprintln!(
        "a plain TCP connect to the published port {}",
        if accepted { "succeeds" } else { "is refused" }
    );

    let all = [
        (
            Kind::Mysql,
            Credentials::Mysql {
                user: "app".into(),
                password: "secret".into(),
                database: "appdb".into(),
            },
        ),
        (
            Kind::Rabbitmq,
            Credentials::Rabbitmq {
                user: "guest".into(),
                password: "guest".into(),
                vhost: "/".into(),
            },
        ),
        (
            Kind::Redis,
            Credentials::Redis {
                password: Some("secret".into()),
            },
        ),
        (
            Kind::S3,
            Credentials::S3 {
                access_key: "key".into(),
                secret_key: "secret".into(),
                region: kinds::S3_REGION.into(),
            },
        ),
    ];
    for (kind, credentials) in &all {
        assert_not_ready(*kind, &endpoint, credentials, "behind a port nothing listens on").await;
    }
}
