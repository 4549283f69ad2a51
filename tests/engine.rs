//! The engine adapter against the real Docker engine on this machine: each
//! test is one scenario, in its own project, cleaned up when it ends.
//!
//! These tests fail (never skip) when no engine is reachable.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use flowinfra::engine::{
    ContainerSpec, Engine, EngineError, Health, HealthcheckSpec, LABEL_CONFIG_HASH, LABEL_PROJECT, LABEL_SERVICE,
    LogStream, MountSource, MountSpec, PortBinding, Protocol, PublishedPort, RestartPolicy, RunState,
};
use futures_util::StreamExt;
use support::{TEST_IMAGES_PROJECT, TestProject, busybox_image, engine, free_port, wait_for};

/// A busybox container of `service` in `project` running `script` with `sh -c`.
async fn busybox_spec(engine: &Engine, project: &TestProject, service: &str, script: &str) -> ContainerSpec {
    ContainerSpec {
        command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        aliases: vec![service.to_string()],
        ..support::sleeping_container(project, service, &busybox_image(engine).await)
    }
}

fn published_on_loopback(host_port: u16, container_port: u16) -> PortBinding {
    PortBinding {
        host_ip: "127.0.0.1".into(),
        host_port: Some(host_port),
        container_port,
        protocol: Protocol::Tcp,
    }
}

/// Creates the project's network and starts a container from `spec`.
async fn run(engine: &Engine, project: &TestProject, spec: &ContainerSpec) -> String {
    engine
        .ensure_network(&project.network(), &project.name)
        .await
        .expect("ensure network");
    let id = engine.create_container(spec).await.expect("create container");
    engine.start_container(&id).await.expect("start container");
    id
}

fn exit_code_of(error: EngineError) -> u8 {
    flowinfra::error::exit_code(&anyhow::Error::new(error))
}

#[tokio::test]
async fn connect_reaches_the_engine_and_reads_its_version() {
    let engine = engine().await;
    let version = engine.server_version().await.expect("server version");
    assert!(!version.is_empty());
    assert!(
        engine.api_version().starts_with("1."),
        "negotiated API version: {}",
        engine.api_version()
    );
    assert!(!engine.address().is_empty());
}

#[tokio::test]
async fn connect_to_a_missing_socket_names_the_address_and_exits_3() {
    let error = Engine::connect_to("unix:///nonexistent.sock")
        .await
        .expect_err("no engine there");
    assert!(error.is_unreachable(), "{error:?}");
    assert_eq!(
        error.to_string(),
        "cannot reach the Docker engine at unix:///nonexistent.sock"
    );
    let cause = std::error::Error::source(&error)
        .expect("the underlying cause")
        .to_string();
    assert!(cause.contains("/nonexistent.sock"), "cause: {cause}");
    assert!(error.hint().expect("a hint").contains("DOCKER_HOST"));
    assert_eq!(exit_code_of(error), flowinfra::error::EXIT_ENGINE_UNREACHABLE);
}

#[tokio::test]
async fn connect_to_a_closed_tcp_port_names_the_address_and_exits_3() {
    let started = Instant::now();
    let error = Engine::connect_to("tcp://127.0.0.1:1")
        .await
        .expect_err("nothing listens on port 1");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused connection fails at once"
    );
    assert_eq!(error.to_string(), "cannot reach the Docker engine at tcp://127.0.0.1:1");
    let rendered = format!("{:#}", anyhow::Error::new(error));
    assert!(
        rendered.contains("onnect"),
        "the cause says the connection failed: {rendered}"
    );
    let error = Engine::connect_to("tcp://127.0.0.1:1")
        .await
        .expect_err("still nothing");
    let anyhow_error = anyhow::Error::new(error).context("checking the stack");
    assert_eq!(flowinfra::error::exit_code(&anyhow_error), 3);
    assert!(
        flowinfra::error::hint(&anyhow_error)
            .expect("a hint")
            .contains("start the Docker engine")
    );
}

#[tokio::test]
async fn ensure_network_is_idempotent_and_labels_the_network() {
    let engine = engine().await;
    let project = TestProject::new("ensure_network");
    engine
        .ensure_network(&project.network(), &project.name)
        .await
        .expect("create the network");
    engine
        .ensure_network(&project.network(), &project.name)
        .await
        .expect("find the existing network");
    assert_eq!(
        engine.list_networks(&project.name).await.unwrap(),
        vec![project.network()]
    );
    assert!(engine.remove_network(&project.network()).await.unwrap());
    assert!(
        !engine.remove_network(&project.network()).await.unwrap(),
        "already gone"
    );
}

#[tokio::test]
async fn volumes_are_created_listed_by_project_and_removed() {
    let engine = engine().await;
    let project = TestProject::new("volumes");
    let (data, cache) = (project.volume("data"), project.volume("cache"));
    engine.ensure_volume(&data, &project.name).await.unwrap();
    engine
        .ensure_volume(&data, &project.name)
        .await
        .expect("ensuring twice is fine");
    engine.ensure_volume(&cache, &project.name).await.unwrap();
    let mut expected = vec![data.clone(), cache.clone()];
    expected.sort();
    assert_eq!(engine.list_volumes(&project.name).await.unwrap(), expected);
    assert!(engine.remove_volume(&data).await.unwrap());
    assert!(!engine.remove_volume(&data).await.unwrap(), "already gone");
    assert_eq!(engine.list_volumes(&project.name).await.unwrap(), vec![cache]);
}

#[tokio::test]
async fn a_container_runs_as_specified_becomes_healthy_and_is_stopped_and_removed() {
    let engine = engine().await;
    let project = TestProject::new("container_lifecycle");
    let port = free_port();
    let volume = project.volume("data");
    engine.ensure_volume(&volume, &project.name).await.unwrap();
    let mut spec = busybox_spec(
        &engine,
        &project,
        "web",
        "echo \"greeting=$GREETING\"; echo to-stderr >&2; echo stored > /data/probe; \
         exec httpd -f -p 8080 -h /data",
    )
    .await;
    spec.env = vec![("GREETING".into(), "hello world".into())];
    spec.labels = BTreeMap::from([(LABEL_CONFIG_HASH.to_string(), "abc123".to_string())]);
    spec.ports = vec![published_on_loopback(port, 8080)];
    spec.mounts = vec![MountSpec {
        source: MountSource::Volume(volume.clone()),
        target: "/data".into(),
        read_only: false,
    }];
    spec.healthcheck = Some(HealthcheckSpec {
        test: vec!["CMD-SHELL".into(), "test -f /data/probe".into()],
        interval: Some(Duration::from_millis(500)),
        timeout: Some(Duration::from_secs(2)),
        retries: Some(3),
        start_period: Some(Duration::from_secs(10)),
        // Needs API 1.44; on older engines it is left out with a warning.
        start_interval: Some(Duration::from_millis(100)),
    });
    spec.restart = Some(RestartPolicy::UnlessStopped);
    spec.hostname = Some("web-host".into());
    let id = run(&engine, &project, &spec).await;

    let state = engine
        .inspect_container(&id)
        .await
        .unwrap()
        .expect("the container exists");
    assert_eq!(state.name, spec.name);
    assert_eq!(state.status, RunState::Running);
    assert_eq!(state.service.as_deref(), Some("web"));
    assert_eq!(state.labels[LABEL_PROJECT], project.name);
    assert_eq!(state.labels[LABEL_SERVICE], "web");
    assert_eq!(state.labels[LABEL_CONFIG_HASH], "abc123");
    assert_eq!(state.image_ref, spec.image);
    assert!(state.image_id.starts_with("sha256:"), "image id: {}", state.image_id);
    assert_eq!(
        state.ports,
        vec![PublishedPort {
            host_ip: "127.0.0.1".into(),
            host_port: port,
            container_port: 8080,
            protocol: Protocol::Tcp
        }]
    );

    let healthy = wait_for("the healthcheck to pass", Duration::from_secs(30), || async {
        let state = engine.inspect_container(&id).await.unwrap().unwrap();
        (state.health == Some(Health::Healthy)).then_some(state)
    })
    .await;
    assert_eq!(healthy.status, RunState::Running);

    // The list reads health from the status text: it must agree with inspect.
    let listed = engine.list_containers(&project.name).await.unwrap();
    assert_eq!(listed.len(), 1);
    let listed = &listed[0];
    assert_eq!(
        (listed.id.as_str(), listed.name.as_str()),
        (id.as_str(), spec.name.as_str())
    );
    assert_eq!(listed.health, Some(Health::Healthy));
    assert_eq!(listed.status, RunState::Running);
    assert_eq!(listed.image_id, state.image_id);
    assert_eq!(listed.labels, state.labels);
    assert_eq!(listed.ports, state.ports);
    assert_eq!(listed.exit_code, None);

    let tail = engine.container_logs_tail(&id, 10).await.unwrap();
    assert!(
        tail.contains(&"greeting=hello world".to_string()),
        "stdout line in {tail:?}"
    );
    assert!(tail.contains(&"to-stderr".to_string()), "stderr line in {tail:?}");
    assert_eq!(engine.container_logs_tail(&id, 1).await.unwrap().len(), 1);
    let streamed: Vec<_> = engine.container_logs_stream(&id, false, None).collect().await;
    let streamed: Vec<_> = streamed.into_iter().map(Result::unwrap).collect();
    assert!(
        streamed
            .iter()
            .any(|line| line.stream == LogStream::Stderr && line.text == "to-stderr")
    );
    assert!(
        streamed
            .iter()
            .any(|line| line.stream == LogStream::Stdout && line.text == "greeting=hello world")
    );

    // httpd is PID 1 and ignores SIGTERM: the engine kills it after the timeout.
    engine.stop_container(&id, Duration::from_secs(1)).await.unwrap();
    let stopped = engine.inspect_container(&id).await.unwrap().unwrap();
    assert_eq!(stopped.status, RunState::Exited);
    assert_eq!(stopped.exit_code, Some(137));
    assert_eq!(stopped.health, None, "no health once stopped");
    let listed = engine.list_containers(&project.name).await.unwrap();
    assert_eq!((listed[0].status, listed[0].exit_code), (RunState::Exited, Some(137)));
    assert!(listed[0].ports.is_empty());
    engine
        .stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stopping twice is fine");

    engine.remove_container(&id).await.unwrap();
    assert_eq!(engine.inspect_container(&id).await.unwrap(), None);
    assert!(engine.list_containers(&project.name).await.unwrap().is_empty());
    engine.remove_container(&id).await.expect("removing twice is fine");
    engine
        .stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stopping a removed container is fine");
    assert_eq!(
        engine.list_volumes(&project.name).await.unwrap(),
        vec![volume],
        "removal keeps named volumes"
    );
}

#[tokio::test]
async fn a_named_volume_keeps_its_data_for_the_next_container() {
    let engine = engine().await;
    let project = TestProject::new("volume_data");
    let volume = project.volume("data");
    engine.ensure_volume(&volume, &project.name).await.unwrap();
    let mut writer = busybox_spec(&engine, &project, "writer", "echo kept > /data/file").await;
    writer.mounts = vec![MountSpec {
        source: MountSource::Volume(volume.clone()),
        target: "/data".into(),
        read_only: false,
    }];
    let id = run(&engine, &project, &writer).await;
    wait_for("the writer to exit", Duration::from_secs(20), || async {
        let state = engine.inspect_container(&id).await.unwrap().unwrap();
        (state.status == RunState::Exited).then_some(())
    })
    .await;
    assert_eq!(engine.inspect_container(&id).await.unwrap().unwrap().exit_code, Some(0));
    engine.remove_container(&id).await.unwrap();

    let mut reader = busybox_spec(&engine, &project, "reader", "cat /data/file").await;
    reader.mounts = vec![MountSpec {
        source: MountSource::Volume(volume),
        target: "/data".into(),
        read_only: true,
    }];
    let id = run(&engine, &project, &reader).await;
    let lines = wait_for("the reader's output", Duration::from_secs(20), || async {
        let lines = engine.container_logs_tail(&id, 5).await.unwrap();
        (!lines.is_empty()).then_some(lines)
    })
    .await;
    assert_eq!(lines, vec!["kept".to_string()]);
}

#[tokio::test]
async fn an_anonymous_volume_carries_the_project_label_and_outlives_its_container() {
    let engine = engine().await;
    let project = TestProject::new("anonymous_volume");
    let mut spec = busybox_spec(&engine, &project, "cache", "exec sleep 3600").await;
    spec.mounts = vec![MountSpec {
        source: MountSource::Anonymous,
        target: "/cache".into(),
        read_only: false,
    }];
    engine.ensure_network(&project.network(), &project.name).await.unwrap();
    let id = engine.create_container(&spec).await.unwrap();
    let volumes = engine.list_volumes(&project.name).await.unwrap();
    assert_eq!(
        volumes.len(),
        1,
        "the engine-named volume is found by project: {volumes:?}"
    );
    engine.remove_container(&id).await.unwrap();
    assert_eq!(
        engine.list_volumes(&project.name).await.unwrap(),
        volumes,
        "kept for `down -v`"
    );
}

#[tokio::test]
async fn services_reach_each_other_by_alias_on_the_project_network() {
    let engine = engine().await;
    let project = TestProject::new("aliases");
    let server = busybox_spec(
        &engine,
        &project,
        "server",
        "echo up > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    )
    .await;
    run(&engine, &project, &server).await;
    let client = busybox_spec(
        &engine,
        &project,
        "client",
        "for i in 1 2 3 4 5 6 7 8 9 10; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc server 80 && exit 0; sleep 0.5; done; exit 1",
    )
    .await;
    let id = run(&engine, &project, &client).await;
    let exit_code = wait_for("the client to exit", Duration::from_secs(30), || async {
        let state = engine.inspect_container(&id).await.unwrap().unwrap();
        state.exit_code
    })
    .await;
    let logs = engine.container_logs_tail(&id, 20).await.unwrap();
    assert_eq!(exit_code, 0, "client output: {logs:?}");
    assert!(logs.iter().any(|line| line == "up"), "the server's page in {logs:?}");
}

#[tokio::test]
async fn a_port_held_by_another_container_names_that_container() {
    let engine = engine().await;
    let holder_project = TestProject::new("port_holder");
    let project = TestProject::new("port_conflict");
    let port = free_port();
    let mut holder = busybox_spec(&engine, &holder_project, "mysql", "exec sleep 3600").await;
    holder.ports = vec![published_on_loopback(port, 3306)];
    run(&engine, &holder_project, &holder).await;

    let mut blocked = busybox_spec(&engine, &project, "mysql", "exec sleep 3600").await;
    blocked.ports = vec![published_on_loopback(port, 3306)];
    engine.ensure_network(&project.network(), &project.name).await.unwrap();
    let id = engine.create_container(&blocked).await.unwrap();
    let error = engine.start_container(&id).await.expect_err("the port is taken");
    let EngineError::PortInUse {
        port: reported,
        ref host_ip,
        protocol,
        holder: Some(ref holder_found),
    } = error
    else {
        panic!("expected PortInUse naming a container, got {error:?}");
    };
    assert_eq!(
        (reported, host_ip.as_str(), protocol),
        (port, "127.0.0.1", Protocol::Tcp)
    );
    assert_eq!(holder_found.container, holder.name);
    assert_eq!(holder_found.project.as_deref(), Some(holder_project.name.as_str()));
    assert_eq!(holder_found.service.as_deref(), Some("mysql"));
    assert_eq!(
        error.to_string(),
        format!(
            "host port 127.0.0.1:{port} is already in use by container \"{}\" (service \"mysql\" of flowinfra project \"{}\")",
            holder.name, holder_project.name
        )
    );
    assert!(
        error
            .hint()
            .unwrap()
            .contains(&format!("flowinfra -p {} down", holder_project.name))
    );
    assert_eq!(
        engine.inspect_container(&id).await.unwrap().unwrap().status,
        RunState::Created,
        "left created"
    );
}

#[tokio::test]
async fn a_port_held_by_a_host_program_says_another_program() {
    let engine = engine().await;
    let project = TestProject::new("port_host_program");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut spec = busybox_spec(&engine, &project, "redis", "exec sleep 3600").await;
    spec.ports = vec![published_on_loopback(port, 6379)];
    engine.ensure_network(&project.network(), &project.name).await.unwrap();
    let id = engine.create_container(&spec).await.unwrap();
    let error = engine.start_container(&id).await.expect_err("the port is taken");
    assert!(
        matches!(error, EngineError::PortInUse { port: reported, holder: None, .. } if reported == port),
        "expected PortInUse by a host program, got {error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("host port 127.0.0.1:{port} is already in use by another program on this machine")
    );
    assert!(error.hint().unwrap().contains(&format!("sport = :{port}")));
    drop(listener);
}

#[tokio::test]
async fn a_port_held_by_a_container_on_every_address_still_names_it() {
    // The engine's allocator keys ports by address, so 127.0.0.1 does not
    // clash with 0.0.0.0 there: the bind fails instead, reading like a host
    // program ("address already in use").
    let engine = engine().await;
    let holder_project = TestProject::new("wildcard_holder");
    let project = TestProject::new("wildcard_conflict");
    let port = free_port();
    let mut holder = busybox_spec(&engine, &holder_project, "web", "exec sleep 3600").await;
    holder.ports = vec![PortBinding {
        host_ip: "0.0.0.0".into(),
        ..published_on_loopback(port, 80)
    }];
    run(&engine, &holder_project, &holder).await;

    let mut blocked = busybox_spec(&engine, &project, "web", "exec sleep 3600").await;
    blocked.ports = vec![published_on_loopback(port, 80)];
    engine.ensure_network(&project.network(), &project.name).await.unwrap();
    let id = engine.create_container(&blocked).await.unwrap();
    let error = engine.start_container(&id).await.expect_err("the port is taken");
    let EngineError::PortInUse {
        holder: Some(ref found),
        ..
    } = error
    else {
        panic!("expected PortInUse naming a container, got {error:?}");
    };
    assert_eq!(found.container, holder.name);
}

#[tokio::test]
async fn following_logs_yields_new_lines_as_they_come() {
    let engine = engine().await;
    let project = TestProject::new("follow_logs");
    let spec = busybox_spec(
        &engine,
        &project,
        "ticker",
        "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done",
    )
    .await;
    let id = run(&engine, &project, &spec).await;
    let stream = engine.container_logs_stream(&id, true, Some(0));
    let lines: Vec<_> = tokio::time::timeout(Duration::from_secs(20), stream.take(3).collect::<Vec<_>>())
        .await
        .expect("three new lines within 20 s");
    let lines: Vec<String> = lines.into_iter().map(|line| line.unwrap().text).collect();
    assert_eq!(lines.len(), 3);
    let numbers: Vec<u32> = lines
        .iter()
        .map(|line| line.strip_prefix("tick-").unwrap().parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "consecutive lines: {lines:?}"
    );
}

#[tokio::test]
async fn creating_a_container_whose_name_is_taken_says_so() {
    let engine = engine().await;
    let project = TestProject::new("name_taken");
    let spec = busybox_spec(&engine, &project, "app", "exec sleep 3600").await;
    engine.ensure_network(&project.network(), &project.name).await.unwrap();
    engine.create_container(&spec).await.unwrap();
    let error = engine.create_container(&spec).await.expect_err("the name is taken");
    assert!(
        matches!(&error, EngineError::ContainerNameInUse { name } if *name == spec.name),
        "{error:?}"
    );
}

#[tokio::test]
async fn starting_a_container_removed_since_it_was_listed_says_it_is_gone() {
    let engine = engine().await;
    let project = TestProject::new("start_gone");
    let spec = busybox_spec(&engine, &project, "app", "exec sleep 3600").await;
    engine.ensure_network(&project.network(), &project.name).await.unwrap();
    let id = engine.create_container(&spec).await.unwrap();
    engine.remove_container(&id).await.unwrap();
    let error = engine.start_container(&id).await.expect_err("the container is gone");
    assert!(
        matches!(&error, EngineError::ContainerGone { id: gone } if *gone == id),
        "{error:?}"
    );
}

#[tokio::test]
async fn inspect_image_of_an_absent_image_is_none_and_the_test_image_is_listed() {
    let engine = engine().await;
    assert_eq!(
        engine.inspect_image("flowinfra-test-absent/nothing:0").await.unwrap(),
        None
    );
    let reference = busybox_image(&engine).await;
    let image = engine.inspect_image(&reference).await.unwrap().expect("the test image");
    assert!(image.repo_tags.contains(&reference));
    assert_eq!(image.labels[LABEL_PROJECT], TEST_IMAGES_PROJECT);
    assert!(image.created.is_some());
    let listed = engine.list_images(TEST_IMAGES_PROJECT).await.unwrap();
    let listed = listed
        .iter()
        .find(|listed| listed.id == image.id)
        .expect("listed by its project label");
    assert!(listed.repo_tags.contains(&reference));
    assert!(listed.created.as_deref().is_some_and(|created| created.ends_with('Z')));
    engine
        .remove_image("flowinfra-test-absent/nothing:0")
        .await
        .expect("removing an absent image is fine");
}

#[tokio::test]
async fn pulling_without_a_registry_fails_fast_as_image_unavailable() {
    let engine = engine().await;
    let reference = "flowinfra-test-absent/nothing:0";
    let started = Instant::now();
    let mut messages = Vec::new();
    let error = engine
        .pull_image(reference, &mut |progress| messages.push(progress))
        .await
        .expect_err("no registry is reachable from the test machines");
    let elapsed = started.elapsed();
    eprintln!("offline pull failed after {elapsed:?}: {error} ({messages:?})");
    let EngineError::ImageUnavailable {
        reference: ref reported,
        ref reason,
    } = error
    else {
        panic!("expected ImageUnavailable, got {error:?}");
    };
    assert_eq!(reported, reference);
    assert!(!reason.is_empty());
    assert!(
        error.hint().unwrap().contains("build or load the image"),
        "hint: {:?}",
        error.hint()
    );
    assert!(elapsed < Duration::from_secs(35), "took {elapsed:?}");
}
