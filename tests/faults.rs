//! Fault injection: `up` interrupted at its worst moments — flowinfra killed
//! (SIGKILL) while creating containers, waiting for readiness, migrating and
//! seeding; Ctrl-C; RabbitMQ restarted while its queues are declared; `up`
//! started while `down` runs; the engine lost mid-run. After each fault the
//! next `up` must converge: exit 0, one running container per service, every
//! migration applied once, every seed row present exactly once, every queue
//! declared.
//!
//! Two `up` at once, and the create a killed `up` left in flight landing
//! after the next `up` planned, are made deterministic by a service whose
//! health waits for the test ([`GatedPair`]).
//!
//! The PostgreSQL kind's migrate and seed kill points run on the
//! traffic-system example's PostgreSQL service ([`PgFaultStack`]).
//!
//! The MySQL server killed mid-seed is in `tests/e2e_mysql.rs`
//! (`a_server_killed_mid_seed_leaves_no_partial_rows_and_the_next_seed_succeeds`),
//! the PostgreSQL one in `tests/e2e_postgres.rs`.
//!
//! The moment of each fault is found by watching `up`'s progress lines
//! (plain `[  1.2s] mysql: creating` lines, as stderr is a pipe), the
//! database, the broker or the container logs — never by sleeping.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use flowinfra::engine::RunState;
use sqlx::{Connection, MySqlConnection, PgConnection};
use support::{DatabaseFiles, EngineProxy, FlowliteStack, assert_success, flowlite_on_copies, row_counts, stderr};

/// Every service of the Flowlite spec.
const ALL_SERVICES: [&str; 4] = ["minio", "mysql", "rabbitmq", "redis"];
/// Generous: two CI cores run two of these tests at once.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(240);

/// `up SERVICES…` after a fault: it must exit 0 and leave exactly one
/// running container per service; when mysql is among them, every
/// migration applied once and the seed loaded exactly once.
async fn assert_next_up_converges(stack: &FlowliteStack, files: &DatabaseFiles, services: &[&str]) {
    let mut args = vec!["up"];
    args.extend_from_slice(services);
    let up = stack.flowinfra(&args);
    assert_success(&up, "up after the fault");
    assert_one_running_container_per_service(stack, services).await;
    if services.contains(&"mysql") {
        assert_database_holds_the_seed_once(stack, files).await;
    }
}

async fn assert_one_running_container_per_service(stack: &FlowliteStack, services: &[&str]) {
    let containers = support::engine()
        .await
        .list_containers(&stack.project.name)
        .await
        .unwrap();
    let found: Vec<(String, RunState)> = containers
        .iter()
        .map(|c| (c.service.clone().unwrap_or_default(), c.status))
        .collect();
    let expected: Vec<(String, RunState)> = services
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|s| (s.to_string(), RunState::Running))
        .collect();
    assert_eq!(found, expected, "not one running container per service");
}

async fn assert_database_holds_the_seed_once(stack: &FlowliteStack, files: &DatabaseFiles) {
    let mut mysql = stack.mysql().await;
    let migrations: Vec<(i64, bool)> = sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut mysql)
        .await
        .unwrap_or_else(|error| panic!("no migration record ({error}): up did not migrate"));
    let applied: Vec<(i64, bool)> = files.migration_versions().into_iter().map(|v| (v, true)).collect();
    assert_eq!(migrations, applied, "every migration applied, once");
    assert_eq!(
        row_counts(&mut mysql).await,
        files.expected_counts(),
        "every seed row, once"
    );
    let loads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _flowinfra_seed")
        .fetch_one(&mut mysql)
        .await
        .unwrap();
    assert_eq!(loads, 1, "the seed was recorded as loaded {loads} times");
}

/// The tables the migrations created so far (flowinfra's own start with `_`).
const TABLES_CREATED: &str = "SELECT COUNT(*) FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_%'";
/// Statements of the seed inserting generated transactions, running now.
const TRANSACTIONS_BEING_INSERTED: &str =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO `Transaction`%'";

/// Runs `count` every 10 ms until it is above zero; returns it.
async fn wait_for_count(connection: &mut MySqlConnection, what: &str, count: &'static str) -> i64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let value: i64 = sqlx::query_scalar(count).fetch_one(&mut *connection).await.unwrap();
        if value > 0 {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn sigkill_while_creating_containers_then_up_converges() {
    let (stack, files) = flowlite_on_copies("fault-kill-create");
    let engine = support::engine().await;
    let mut up = stack.start(&["up"]);
    up.wait_for_line(&[": creating"], PROGRESS_TIMEOUT);
    // Kill as soon as the first container exists: the others are being
    // created or started, and it has most likely not started yet.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while engine.list_containers(&stack.project.name).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "up created no container");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = up.kill();
    let left: Vec<String> = engine
        .list_containers(&stack.project.name)
        .await
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c.service.as_deref().unwrap_or("?"), c.status))
        .collect();
    eprintln!("killed while creating; left: {left:?}\n{}", killed.stderr);
    assert_next_up_converges(&stack, &files, &ALL_SERVICES).await;
}

/// Two busybox services, `b` waiting for `a` to be healthy, and `a`
/// healthy only once the test calls [`GatedPair::open`]: `up` then stays
/// between planning `b` and acting on it for as long as the test needs.
struct GatedPair {
    dir: tempfile::TempDir,
    stack: FlowliteStack,
    image: String,
}

impl GatedPair {
    async fn new(test: &str) -> Self {
        let image = support::busybox_image(&support::engine().await).await;
        let dir = tempfile::tempdir().unwrap();
        let signal = dir.path().join("signal");
        std::fs::create_dir(&signal).unwrap();
        let spec = dir.path().join("spec.yaml");
        std::fs::write(
            &spec,
            format!(
                "services:\n  a:\n    image: {image}\n    pull_policy: never\n    command: [sleep, '3600']\n    \
                 volumes: ['{}:/signal']\n    \
                 healthcheck: {{ test: 'test -f /signal/go', interval: 200ms }}\n  \
                 b:\n    image: {image}\n    pull_policy: never\n    command: [sleep, '3600']\n    \
                 depends_on: {{ a: {{ condition: service_healthy }} }}\n",
                signal.display()
            ),
        )
        .unwrap();
        let stack = FlowliteStack::of_spec(test, &[spec.to_str().unwrap()]);
        Self { dir, stack, image }
    }

    /// `a` turns healthy.
    fn open(&self) {
        std::fs::write(self.dir.path().join("signal").join("go"), "").unwrap();
    }

    /// `a`'s healthcheck fails from now on.
    fn close(&self) {
        std::fs::remove_file(self.dir.path().join("signal").join("go")).unwrap();
    }
}

/// The other side of a kill while creating: the killed `up`'s create
/// request is still in the engine when the next `up` lists the project, so
/// the container appears only after planning, holding the service's name.
#[tokio::test]
async fn a_create_left_in_flight_by_a_killed_up_is_replaced_by_the_next_up() {
    let pair = GatedPair::new("fault-create-in-flight").await;
    let stack = &pair.stack;
    let mut up = stack.start(&["up"]);
    up.wait_for_line(&["b: waiting for a"], PROGRESS_TIMEOUT);
    let engine = support::engine().await;
    let leftover = support::sleeping_container(&stack.project, "b", &pair.image);
    let leftover_id = support::create(&engine, &stack.project, &leftover).await;
    pair.open();
    let up = up.wait();
    assert_eq!(up.status.code(), Some(0), "up failed over the leftover:\n{}", up.stderr);

    assert_one_running_container_per_service(stack, &["a", "b"]).await;
    assert_ne!(
        stack.container_ids().await["b"],
        leftover_id,
        "up kept the leftover instead of creating b from its spec"
    );
}

/// The other way a killed `up`'s create can end: the engine rolls it back
/// after the next `up` listed the container (planned: start it). Made
/// deterministic by removing `b` while `up` waits for `a`.
#[tokio::test]
async fn a_container_gone_between_planning_and_starting_is_created_again() {
    let pair = GatedPair::new("fault-gone-before-start").await;
    let stack = &pair.stack;
    pair.open();
    assert_success(&stack.flowinfra(&["up"]), "first up");
    let before = stack.container_ids().await;
    let engine = support::engine().await;
    engine.stop_container(&before["b"], Duration::ZERO).await.unwrap();
    let up = up_while_b_vanishes(&pair, &engine, &before).await;
    assert_eq!(
        up.status.code(),
        Some(0),
        "up failed over the vanished container:\n{}",
        up.stderr
    );
    assert!(up.stderr.contains("b: creating"), "{}", up.stderr);
    assert_one_running_container_per_service(stack, &["a", "b"]).await;
    assert_ne!(stack.container_ids().await["b"], before["b"]);
}

/// As above, but the vanished container was planned `recreate` (it lost a
/// network of its spec), not `start`: a container the engine rolled back
/// is listed with no network. Replacing it must not fail over it being gone.
#[tokio::test]
async fn a_container_gone_between_planning_and_recreating_is_created_again() {
    let pair = GatedPair::new("fault-gone-before-recreate").await;
    let stack = &pair.stack;
    pair.open();
    assert_success(&stack.flowinfra(&["up"]), "first up");
    let before = stack.container_ids().await;
    let engine = support::engine().await;
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    docker
        .disconnect_network(
            &stack.project.network(),
            bollard::models::NetworkDisconnectRequest {
                container: before["b"].clone(),
                force: Some(true),
            },
        )
        .await
        .unwrap();
    let up = up_while_b_vanishes(&pair, &engine, &before).await;
    assert_eq!(
        up.status.code(),
        Some(0),
        "up failed over the vanished container:\n{}",
        up.stderr
    );
    assert!(up.stderr.contains("b: recreating (not connected to"), "{}", up.stderr);
    assert_one_running_container_per_service(stack, &["a", "b"]).await;
    assert_ne!(stack.container_ids().await["b"], before["b"]);
}

/// Turns `a` unhealthy so that the next `up` recreates it and holds `b`
/// waiting for it; removes `b`'s container there, as the engine's rollback
/// of a killed `up`'s create would, then lets `up` finish.
async fn up_while_b_vanishes(
    pair: &GatedPair,
    engine: &flowinfra::engine::Engine,
    before: &BTreeMap<String, String>,
) -> support::Ended {
    pair.close();
    support::wait_for("a to turn unhealthy", PROGRESS_TIMEOUT, || {
        let (engine, a) = (engine, &before["a"]);
        async move {
            let state = engine.inspect_container(a).await.ok()??;
            (state.health == Some(flowinfra::engine::Health::Unhealthy)).then_some(())
        }
    })
    .await;
    let mut up = pair.stack.start(&["up"]);
    up.wait_for_line(&["b: waiting for a"], PROGRESS_TIMEOUT);
    engine.remove_container(&before["b"]).await.unwrap();
    pair.open();
    up.wait()
}

/// The second `up` starts while the first is between planning and creating
/// `b`: it must wait, then keep what the first created.
#[tokio::test]
async fn two_ups_at_once_leave_one_container_per_service_and_the_second_keeps_the_first_ones() {
    let pair = GatedPair::new("fault-two-ups").await;
    let stack = &pair.stack;
    let mut first = stack.start(&["up"]);
    first.wait_for_line(&["b: waiting for a"], PROGRESS_TIMEOUT);
    let mut second = stack.start(&["up"]);
    // Waiting for the lock, or (were there none) for `a` like the first.
    second.wait_for_line(&["waiting for"], PROGRESS_TIMEOUT);
    pair.open();
    let first = first.wait();
    assert_eq!(first.status.code(), Some(0), "the first up failed:\n{}", first.stderr);
    let created = stack.container_ids().await;
    let second = second.wait();
    assert_eq!(
        second.status.code(),
        Some(0),
        "the second up failed:\n{}",
        second.stderr
    );

    assert_one_running_container_per_service(stack, &["a", "b"]).await;
    assert_eq!(
        stack.container_ids().await,
        created,
        "the second up replaced containers the first created:\n{}",
        second.stderr
    );
}

#[tokio::test]
async fn sigkill_while_waiting_for_readiness_then_up_converges() {
    let (stack, files) = flowlite_on_copies("fault-kill-readiness");
    let mut up = stack.start(&["up"]);
    up.wait_for_line(&["mysql: waiting for readiness"], PROGRESS_TIMEOUT);
    up.kill();
    let before = stack.container_ids().await;
    assert_next_up_converges(&stack, &files, &ALL_SERVICES).await;
    // Containers created before the kill are kept, not duplicated or recreated.
    for (service, id) in &before {
        assert_eq!(&stack.container_ids().await[service], id, "{service} was recreated");
    }
}

#[tokio::test]
async fn sigkill_while_migrating_then_up_converges() {
    let (stack, files) = flowlite_on_copies("fault-kill-migrate");
    let mut up = stack.start(&["up", "mysql"]);
    up.wait_for_line(&["mysql: migrating"], PROGRESS_TIMEOUT);
    // Kill between the migration's first statement and its last.
    let mut watcher = stack.mysql().await;
    wait_for_count(&mut watcher, "the migration's first table", TABLES_CREATED).await;
    let killed = up.kill();
    let unfinished: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success")
        .fetch_one(&mut watcher)
        .await
        .unwrap();
    assert_eq!(
        unfinished, 1,
        "the migration finished before the kill: the fault was not injected\n{}",
        killed.stderr
    );
    drop(watcher);
    assert_next_up_converges(&stack, &files, &["mysql"]).await;
}

#[tokio::test]
async fn sigkill_while_seeding_then_up_converges_with_every_row_once() {
    let (stack, files) = flowlite_on_copies("fault-kill-seed");
    files.generate_transactions(40_000);
    let mut up = stack.start(&["up", "mysql"]);
    up.wait_for_line(&["mysql: seeding"], PROGRESS_TIMEOUT);
    let mut watcher = stack.mysql().await;
    wait_for_count(
        &mut watcher,
        "the seed to insert transactions",
        TRANSACTIONS_BEING_INSERTED,
    )
    .await;
    up.kill();
    // The killed run's rows never committed, so neither did its record: the
    // seed is not taken as loaded (a record alone would be repaired by the
    // next `up`'s comparison of the seeded rows, but `check` would fail until then).
    let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _flowinfra_seed")
        .fetch_one(&mut watcher)
        .await
        .unwrap();
    assert_eq!(records, 0, "the killed seed was recorded as loaded");
    drop(watcher);
    assert_next_up_converges(&stack, &files, &["mysql"]).await;
}

#[tokio::test]
async fn ctrl_c_during_up_exits_130_says_what_is_left_and_up_converges() {
    let (stack, files) = flowlite_on_copies("fault-ctrl-c");
    let mut up = stack.start(&["up"]);
    up.wait_for_line(&["mysql: waiting for readiness"], PROGRESS_TIMEOUT);
    up.interrupt();
    let ended = up.wait();
    assert_eq!(ended.status.code(), Some(130), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("interrupted; left as they are:"),
        "{}",
        ended.stderr
    );
    assert!(ended.stderr.contains("mysql (running)"), "{}", ended.stderr);
    assert!(ended.stderr.contains("Run `flowinfra up` again"), "{}", ended.stderr);
    assert_next_up_converges(&stack, &files, &ALL_SERVICES).await;
}

/// Enough queues that declaring them takes seconds on the stand-in broker.
const MANY_QUEUES: usize = 800;

/// The names of the queues on the default vhost, from the management API.
async fn queue_names(stack: &FlowliteStack) -> Option<BTreeSet<String>> {
    let url = format!(
        "http://127.0.0.1:{}/api/queues/%2f?columns=name",
        stack.port("RABBITMQ_MANAGEMENT_PORT")
    );
    let response = reqwest::Client::new()
        .get(url)
        .basic_auth("admin", Some("flowlite_rabbitmq_password"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let queues: serde_json::Value = serde_json::from_str(&response.text().await.ok()?).ok()?;
    Some(
        queues
            .as_array()?
            .iter()
            .filter_map(|queue| Some(queue["name"].as_str()?.to_string()))
            .collect(),
    )
}

#[tokio::test]
async fn rabbitmq_restarted_while_its_queues_are_declared_then_up_declares_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..MANY_QUEUES).map(|n| format!("fault.queue.{n:04}")).collect();
    let spec = dir.path().join("queues.yaml");
    std::fs::write(
        &spec,
        format!(
            "services:\n  rabbitmq:\n    x-flowinfra:\n      kind: rabbitmq\n      queues:\n{}",
            names
                .iter()
                .map(|name| format!("        - {name}\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let stack = FlowliteStack::new("fault-rabbitmq-restart").with_override(&spec);
    let mut up = stack.start(&["up", "rabbitmq"]);
    up.wait_for_line(&["rabbitmq: waiting for readiness"], PROGRESS_TIMEOUT);
    let declared_so_far = support::wait_for("the first queues", PROGRESS_TIMEOUT, || {
        let stack = &stack;
        async move { queue_names(stack).await.filter(|queues| !queues.is_empty()) }
    })
    .await;
    let engine = support::engine().await;
    let container = stack.project.container_name("rabbitmq");
    engine
        .stop_container(&container, Duration::from_secs(10))
        .await
        .unwrap();
    engine.start_container(&container).await.unwrap();
    let interrupted = up.wait();
    assert!(
        !interrupted.status.success(),
        "up declared every queue before the restart (it had {} when the restart began): \
         the fault was not injected\n{}",
        declared_so_far.len(),
        interrupted.stderr
    );

    let again = stack.flowinfra(&["up", "rabbitmq"]);
    assert_success(&again, "up after the restart");
    assert!(
        stderr(&again).contains(&format!("declared {MANY_QUEUES} queues")),
        "{}",
        stderr(&again)
    );
    let queues = queue_names(&stack).await.expect("the management API answers");
    let missing: Vec<&String> = names.iter().filter(|name| !queues.contains(*name)).collect();
    assert!(
        missing.is_empty(),
        "{} queues missing, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert_one_running_container_per_service(&stack, &["rabbitmq"]).await;
}

#[tokio::test]
async fn up_while_down_runs_waits_for_it_and_leaves_every_service_running() {
    let engine = support::engine().await;
    let image = support::busybox_image(&engine).await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    // Each service ignores SIGTERM (saying so in its log), so `down` spends
    // its whole 10 s stop timeout on them: a wide window for `up` to interleave.
    let service = format!(
        "    image: {image}\n    pull_policy: never\n    \
         command: [sh, -c, 'trap \"echo stopping\" TERM; while true; do sleep 1; done']\n"
    );
    std::fs::write(&spec, format!("services:\n  a:\n{service}  b:\n{service}")).unwrap();
    let stack = FlowliteStack::of_spec("fault-up-during-down", &[spec.to_str().unwrap()]);
    assert_success(&stack.flowinfra(&["up"]), "first up");
    let first = stack.container_ids().await;

    let down = stack.start(&["down"]);
    let stopping = first["a"].clone();
    support::wait_for("down to start stopping a", Duration::from_secs(60), || {
        let (engine, stopping) = (&engine, &stopping);
        async move {
            let logs = engine.container_logs_tail(stopping, 5).await.ok()?;
            logs.iter().any(|line| line.contains("stopping")).then_some(())
        }
    })
    .await;
    let up = stack.start(&["up"]);
    let down = down.wait();
    assert_eq!(down.status.code(), Some(0), "down failed:\n{}", down.stderr);
    let up = up.wait();
    assert_eq!(up.status.code(), Some(0), "up failed:\n{}", up.stderr);

    // What `up` reported is what is left: both services running, in new containers.
    assert_one_running_container_per_service(&stack, &["a", "b"]).await;
    assert!(
        up.stderr.contains("waiting for another flowinfra command")
            && up.stderr.contains("a: creating")
            && up.stderr.contains("b: creating"),
        "up did not wait for down to finish, then create every service:\n{}",
        up.stderr
    );
    let second = stack.container_ids().await;
    for service in ["a", "b"] {
        assert_ne!(
            first[service], second[service],
            "{service}: up kept a container down removed"
        );
    }
}

#[tokio::test]
async fn losing_the_engine_mid_up_fails_naming_its_address_and_up_converges_once_it_is_back() {
    let (stack, files) = flowlite_on_copies("fault-engine-lost");
    let proxy = EngineProxy::start();
    let address = proxy.address();
    let through_proxy = [("DOCKER_HOST", address.as_str())];
    let mut up = stack.start_with(&["up", "mysql", "redis"], &through_proxy);
    up.wait_for_line(&["mysql: waiting for readiness"], PROGRESS_TIMEOUT);
    proxy.cut();
    let failed = up.wait();
    eprintln!("up without its engine:\n{}", failed.stderr);
    assert_ne!(failed.status.code(), Some(0), "up succeeded without its engine");
    assert!(
        failed
            .stderr
            .contains(&format!("cannot reach the Docker engine at {address}")),
        "the error does not name the engine's address:\n{}",
        failed.stderr
    );

    proxy.restore();
    let again = stack.flowinfra_with(&["up", "mysql", "redis"], &through_proxy);
    assert_success(&again, "up once the engine is back");
    assert_one_running_container_per_service(&stack, &["mysql", "redis"]).await;
    assert_database_holds_the_seed_once(&stack, &files).await;
}

/// The traffic-system example's PostgreSQL service (its schema, init script
/// and seed, copied so a test may add to them) on a free port, its
/// infractions replaced by `generated` generated ones.
struct PgFaultStack {
    dir: tempfile::TempDir,
    stack: FlowliteStack,
    port: u16,
}

impl PgFaultStack {
    const PASSWORD: &'static str = "fault-pg-password";

    fn new(test: &str, generated: u64) -> Self {
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/traffic-system");
        let dir = tempfile::tempdir().unwrap();
        for sub in ["migrations", "seeds"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
            for entry in std::fs::read_dir(example.join(sub)).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
        let seeds = dir.path().join("seeds");
        std::fs::remove_file(seeds.join("infractions_infraction.csv")).unwrap();
        let manifest = std::fs::read_to_string(seeds.join("manifest.yaml")).unwrap();
        let (head, tail) = manifest
            .split_once("  - table: infractions_infraction\n")
            .expect("the example seeds infractions");
        let rest = &tail[tail.find("  - table: ").expect("a table follows infractions")..];
        let generated_table = format!(
            "  - table: infractions_infraction\n    id: id\n    generate:\n      rows: {generated}\n      \
             random_seed: 7\n      columns:\n        infraction_code: {{ text: 'INF-F-{{n}}' }}\n        \
             infraction_type: {{ one_of: [speed, red_light, parking] }}\n        \
             device_id: {{ pick: devices_device }}\n        zone_id: {{ pick: devices_zone }}\n        \
             detected_speed: {{ decimal: [20, 180] }}\n        \
             detected_at: {{ date: [2025-01-01, 2025-10-31] }}\n\n"
        );
        std::fs::write(seeds.join("manifest.yaml"), format!("{head}{generated_table}{rest}")).unwrap();
        let port = support::free_port();
        let spec = dir.path().join("spec.yaml");
        std::fs::write(
            &spec,
            format!(
                "services:\n  postgres:\n    image: flowinfra-standin/postgres:test\n    pull_policy: never\n    \
                 environment:\n      POSTGRES_DB: traffic_system\n      POSTGRES_PASSWORD: {}\n    \
                 ports: ['127.0.0.1:{port}:5432']\n    volumes:\n      - data:/var/lib/postgresql/data\n      \
                 - {}:/docker-entrypoint-initdb.d:ro\n    x-flowinfra:\n      kind: postgres\n      \
                 migrations: {}\n      seed: {}\nvolumes:\n  data:\n",
                Self::PASSWORD,
                example.join("postgres/init").display(),
                dir.path().join("migrations").display(),
                seeds.display()
            ),
        )
        .unwrap();
        let stack = FlowliteStack::of_spec(test, &[spec.to_str().unwrap()]);
        Self { dir, stack, port }
    }

    fn migrations(&self) -> std::path::PathBuf {
        self.dir.path().join("migrations")
    }

    async fn connect(&self) -> PgConnection {
        let url = format!(
            "postgresql://postgres:{}@127.0.0.1:{}/traffic_system",
            Self::PASSWORD,
            self.port
        );
        PgConnection::connect(&url)
            .await
            .unwrap_or_else(|error| panic!("postgres refuses the test's login: {error}"))
    }

    /// Rows per seeded table, as the seed resolves them.
    fn expected_counts(&self) -> BTreeMap<String, i64> {
        let source = flowinfra::mysql::rows::read_source(&self.dir.path().join("seeds")).unwrap();
        flowinfra::mysql::rows::resolve_streamed(&source)
            .unwrap()
            .iter()
            .map(|table| (table.table().to_string(), table.row_count() as i64))
            .collect()
    }

    /// `up` after a fault: exit 0, one running container, every migration
    /// applied once, every seed row present once, one seed record.
    async fn assert_next_up_converges(&self) {
        assert_success(&self.stack.flowinfra(&["up"]), "up after the fault");
        assert_one_running_container_per_service(&self.stack, &["postgres"]).await;
        let mut db = self.connect().await;
        let migrations: Vec<(i64, bool)> =
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut db)
                .await
                .unwrap_or_else(|error| panic!("no migration record ({error}): up did not migrate"));
        let mut versions: Vec<i64> = std::fs::read_dir(self.migrations())
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.split('_').next()?.parse().ok()
            })
            .collect();
        versions.sort();
        let applied: Vec<(i64, bool)> = versions.into_iter().map(|v| (v, true)).collect();
        assert_eq!(migrations, applied, "every migration applied, once");
        let expected = self.expected_counts();
        let mut counts = BTreeMap::new();
        for table in expected.keys() {
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM \"{table}\"")))
                .fetch_one(&mut db)
                .await
                .unwrap();
            counts.insert(table.clone(), rows);
        }
        assert_eq!(counts, expected, "every seed row, once");
        let loads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _flowinfra_seed")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(loads, 1, "the seed was recorded as loaded {loads} times");
    }
}

/// Polls `sql` (a count) every 10 ms until it is above zero.
async fn wait_for_pg_count(connection: &mut PgConnection, what: &str, sql: &'static str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let value: Option<i64> = sqlx::query_scalar(sql).fetch_one(&mut *connection).await.unwrap();
        if value.unwrap_or(0) > 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A migration that takes seconds between its first statement and its
/// last, as a long backfill does; a pause stands in for the work.
const SLOW_MIGRATION: &str = "\
CREATE TABLE plate_history (
    id bigserial PRIMARY KEY,
    plate varchar(15) NOT NULL,
    seen_at timestamptz NOT NULL
);
SELECT pg_sleep(4);
CREATE INDEX plate_history_plate_idx ON plate_history (plate);
";

#[tokio::test]
async fn postgres_sigkill_while_migrating_then_up_converges() {
    let pg = PgFaultStack::new("fault-pg-kill-migrate", 50);
    std::fs::write(pg.migrations().join("20251102000004_plate_history.sql"), SLOW_MIGRATION).unwrap();
    let mut up = pg.stack.start(&["up"]);
    up.wait_for_line(&["postgres: migrating"], PROGRESS_TIMEOUT);
    // Kill while the server runs the slow migration's pause, past its first
    // statement (however the migration is sent: whole or statement by statement).
    let mut watcher = pg.connect().await;
    wait_for_pg_count(
        &mut watcher,
        "the slow migration to run",
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE state = 'active' AND query LIKE '%pg\\_sleep(4)%' AND pid <> pg_backend_pid()",
    )
    .await;
    let killed = up.kill();
    let left: (bool, i64) = sqlx::query_as(
        "SELECT to_regclass('plate_history') IS NOT NULL, \
         (SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 20251102000004)",
    )
    .fetch_one(&mut watcher)
    .await
    .unwrap();
    assert_eq!(
        left,
        (false, 0),
        "the killed migration left (its table, its record) behind: it was not one transaction\n{}",
        killed.stderr
    );
    drop(watcher);
    pg.assert_next_up_converges().await;
}

#[tokio::test]
async fn postgres_sigkill_while_seeding_then_up_converges_with_every_row_once() {
    let pg = PgFaultStack::new("fault-pg-kill-seed", 100_000);
    let mut up = pg.stack.start(&["up"]);
    up.wait_for_line(&["postgres: seeding"], PROGRESS_TIMEOUT);
    let mut watcher = pg.connect().await;
    // The seed's COPY of generated infractions (into the upsert's staging
    // table: the file tables hold a few rows each) is under way.
    wait_for_pg_count(
        &mut watcher,
        "the seed's COPY of infractions",
        "SELECT max(tuples_processed) - 999 FROM pg_stat_progress_copy",
    )
    .await;
    up.kill();
    // The killed run's rows never commit, and neither does its record.
    let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _flowinfra_seed")
        .fetch_one(&mut watcher)
        .await
        .unwrap();
    assert_eq!(records, 0, "the killed seed was recorded as loaded");
    drop(watcher);
    pg.assert_next_up_converges().await;
}
