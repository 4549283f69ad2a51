//! Convergence and staleness against the real engine: `plan` names what
//! changed and why, and `up` recreates exactly that. Uses the small busybox
//! test image. (Two `up` at once: `tests/faults.rs`.)

mod support;

use std::path::PathBuf;

use support::{Flowinfra, Output, TestProject, busybox_image, import_busybox_as};

struct Case {
    project: TestProject,
    dir: tempfile::TempDir,
}

impl Case {
    fn new(test: &str) -> Self {
        Self {
            project: TestProject::new(test),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn spec(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("spec.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `flowinfra -f spec.yaml -p <project> ARGS` in the case's directory.
    fn run(&self, args: &[&str]) -> Output {
        Flowinfra::new()
            .current_dir(self.dir.path())
            .args(["-f", "spec.yaml", "-p", &self.project.name])
            .args(args)
            .run()
    }
}

async fn container_ids(project: &str) -> Vec<(String, String)> {
    let engine = support::engine().await;
    engine
        .list_containers(project)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.service.unwrap_or_default(), c.id))
        .collect()
}

fn two_services(image: &str, a_env: &str, b_image: &str) -> String {
    format!(
        "services:
  a:
    image: {image}
    pull_policy: never
    command: [sh, -c, 'cat /data/log 2>/dev/null; echo started >> /data/log; exec sleep 3600']
    environment:
      GREETING: {a_env}
    volumes: [data:/data]
  b:
    image: {b_image}
    pull_policy: never
    command: [sleep, '3600']
volumes:
  data:
"
    )
}

#[tokio::test]
async fn changing_one_services_environment_recreates_only_it_and_plan_names_the_field() {
    let engine = support::engine().await;
    let image = busybox_image(&engine).await;
    let case = Case::new("env-change");
    case.spec(&two_services(&image, "hello", &image));
    case.run(&["up"]).success();
    let before = container_ids(&case.project.name).await;

    case.spec(&two_services(&image, "bonjour", &image));
    let plan = case.run(&["plan", "--json"]).success().json();
    let services = plan["services"].as_array().unwrap();
    assert_eq!(services[0]["service"], "a");
    assert_eq!(services[0]["action"], "recreate");
    assert_eq!(services[0]["reasons"][0]["reason"], "config_changed");
    assert_eq!(services[0]["reasons"][0]["fields"], serde_json::json!(["environment"]));
    assert_eq!(services[1]["action"], "keep");

    case.run(&["up"]).success();
    let after = container_ids(&case.project.name).await;
    assert_ne!(after[0].1, before[0].1, "a was not recreated");
    assert_eq!(after[1].1, before[1].1, "b was recreated");
}

#[tokio::test]
async fn a_moved_image_tag_recreates_only_its_service_and_keeps_its_volume() {
    let engine = support::engine().await;
    let stable = busybox_image(&engine).await;
    let case = Case::new("retag");
    let moving = format!("flowinfra-test/moving-{}:1", case.project.name);
    let old_id = import_busybox_as(&engine, &moving, "one").await;
    case.spec(&two_services(&moving, "hello", &stable));
    case.run(&["up"]).success();
    let before = container_ids(&case.project.name).await;

    let new_id = import_busybox_as(&engine, &moving, "two").await;
    assert_ne!(old_id, new_id);
    let plan = case.run(&["plan"]).success();
    let text = plan.stdout();
    let line_a = text.lines().find(|l| l.starts_with("a ")).unwrap();
    assert!(line_a.contains("image changed"), "{text}");
    assert!(line_a.contains(flowinfra::plan::short_id(&new_id)), "{text}");
    assert!(
        text.lines().find(|l| l.starts_with("b ")).unwrap().contains("keep"),
        "{text}"
    );

    case.run(&["up"]).success();
    let after = container_ids(&case.project.name).await;
    assert_ne!(after[0].1, before[0].1);
    assert_eq!(after[1].1, before[1].1);
    // The recreated container printed the line its predecessor wrote into the volume.
    let logs = engine.container_logs_tail(&after[0].1, 10).await.unwrap();
    assert!(logs.iter().any(|l| l.contains("started")), "volume data lost: {logs:?}");

    drop(case);
    let _ = engine.remove_image(&new_id).await;
    let _ = engine.remove_image(&old_id).await;
}

#[tokio::test]
async fn plan_changes_nothing_and_check_upstream_is_unknown_offline() {
    let engine = support::engine().await;
    let image = busybox_image(&engine).await;
    let case = Case::new("plan-readonly");
    case.spec(&two_services(&image, "hello", &image));
    let plan = case.run(&["plan", "--check-upstream"]).success();
    let text = plan.stdout();
    assert!(text.contains("create (no container)"), "{text}");
    assert!(text.contains("unknown"), "{text}");
    assert!(
        container_ids(&case.project.name).await.is_empty(),
        "plan created containers"
    );
}

#[tokio::test]
async fn a_changed_build_context_rebuilds_recreates_and_removes_the_old_image() {
    let engine = support::engine().await;
    let base = busybox_image(&engine).await;
    let case = Case::new("build-context");
    let context = case.dir.path().join("app");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nCOPY seed.txt /seed.txt\nCMD [\"sleep\", \"3600\"]\n"),
    )
    .unwrap();
    std::fs::write(context.join("seed.txt"), "version 1\n").unwrap();
    std::fs::write(context.join(".dockerignore"), "notes.md\n").unwrap();
    let image = format!("flowinfra-test/built-{}:latest", case.project.name);
    case.spec(&format!("services:\n  init:\n    build: ./app\n    image: {image}\n"));

    let first = case.run(&["up"]).success();
    assert!(first.stderr().contains("building"), "{}", first.stderr());
    let first_image = engine.inspect_image(&image).await.unwrap().expect("built").id;
    let first_container = container_ids(&case.project.name).await;

    // An ignored file changes nothing: no build, same container.
    std::fs::write(context.join("notes.md"), "scribbles").unwrap();
    let second = case.run(&["up"]).success();
    assert!(!second.stderr().contains("building"), "{}", second.stderr());
    assert_eq!(engine.inspect_image(&image).await.unwrap().unwrap().id, first_image);
    assert_eq!(container_ids(&case.project.name).await, first_container);

    std::fs::write(context.join("seed.txt"), "version 2\n").unwrap();
    let third = case.run(&["up"]).success();
    let stderr = third.stderr();
    assert!(
        stderr.contains("building") && stderr.contains("build context changed"),
        "{stderr}"
    );
    let new_image = engine.inspect_image(&image).await.unwrap().unwrap().id;
    assert_ne!(new_image, first_image);
    assert_ne!(
        container_ids(&case.project.name).await,
        first_container,
        "the container was not recreated"
    );
    assert!(
        engine.inspect_image(&first_image).await.unwrap().is_none(),
        "the superseded image is still there"
    );

    drop(case);
    let _ = engine.remove_image(&new_image).await;
}

#[tokio::test]
async fn a_leftover_container_of_this_project_is_replaced_not_a_failure() {
    let engine = support::engine().await;
    let image = busybox_image(&engine).await;
    let case = Case::new("leftover");
    case.spec(&format!(
        "services:\n  a:\n    image: {image}\n    pull_policy: never\n    command: [sleep, '3600']\n"
    ));
    // What an `up` killed mid-create leaves: the engine finished creating a
    // container the planner never saw, with this project's labels.
    let leftover = support::sleeping_container(&case.project, "a", &image);
    let leftover_id = support::create(&engine, &case.project, &leftover).await;
    // The plan sees it (no config hash), so it is recreated, not conflicted with.
    case.run(&["up"]).success();
    let after = container_ids(&case.project.name).await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].1, leftover_id);
}

/// The service of `plan --json` named `name`.
fn planned<'a>(plan: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    plan["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == name)
        .unwrap_or_else(|| panic!("no {name} in {plan:#}"))
}

#[tokio::test]
async fn an_edited_build_context_shows_in_plan_ps_and_check_before_up_builds_it() {
    let engine = support::engine().await;
    let base = busybox_image(&engine).await;
    let case = Case::new("context-plan");
    let context = case.dir.path().join("app");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nCOPY app.py /app.py\nCMD [\"sleep\", \"3600\"]\n"),
    )
    .unwrap();
    std::fs::write(context.join("app.py"), "print('v1')\n").unwrap();
    let image = format!("flowinfra-test/built-{}:latest", case.project.name);
    case.spec(&format!(
        "services:\n  logistica:\n    build: ./app\n    image: {image}\n  redis:\n    image: {base}\n    \
         pull_policy: never\n    command: [sleep, '3600']\n"
    ));
    case.run(&["up"]).success();
    let plan = case.run(&["plan", "--json"]).success().json();
    assert_eq!(planned(&plan, "logistica")["action"], "keep", "{plan:#}");

    std::fs::write(context.join("app.py"), "print('v2')\n").unwrap();
    let plan = case.run(&["plan", "--json"]).success().json();
    let logistica = planned(&plan, "logistica");
    assert_eq!(logistica["action"], "recreate", "{plan:#}");
    assert_eq!(
        logistica["reasons"],
        serde_json::json!([{ "reason": "build_context_changed" }]),
        "{plan:#}"
    );
    assert_eq!(planned(&plan, "redis")["action"], "keep", "{plan:#}");
    let text = case.run(&["plan"]).success().stdout();
    assert!(text.contains("recreate (build context changed)"), "{text}");

    let rows = case.run(&["ps", "--json"]).success().json();
    let row = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("logistica")["stale"], "build context changed", "{rows:#}");
    assert!(row("redis")["stale"].is_null(), "{rows:#}");

    let check = case.run(&["check", "--json"]).success().json();
    let image_check = check["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == "logistica" && c["check"] == "image")
        .unwrap()
        .clone();
    assert_eq!(image_check["status"], "warn", "{check:#}");
    assert!(
        image_check["reason"]
            .as_str()
            .unwrap()
            .contains("build context changed"),
        "{image_check:#}"
    );

    // `up` acts on the same decision, and afterwards all agree again.
    let up = case.run(&["up"]).success();
    assert!(up.stderr().contains("building"), "{}", up.stderr());
    assert!(
        up.stderr().contains("recreating (build context changed"),
        "{}",
        up.stderr()
    );
    let plan = case.run(&["plan", "--json"]).success().json();
    assert_eq!(planned(&plan, "logistica")["action"], "keep", "{plan:#}");

    let built = engine.inspect_image(&image).await.unwrap().map(|i| i.id);
    drop(case);
    if let Some(id) = built {
        let _ = engine.remove_image(&id).await;
    }
}

/// A stack with two one-shot jobs, modelled on the ingest scripts of
/// PharmaVida: `ingesta` awaited by `api` with
/// `service_completed_successfully`, and `export` marked `job: true`.
fn jobs_spec(image: &str, export_exit: u8) -> String {
    format!(
        "services:
  ingesta:
    image: {image}
    pull_policy: never
    command: [sh, -c, 'echo ingested 3 tables']
  api:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    depends_on:
      ingesta: {{ condition: service_completed_successfully }}
  export:
    image: {image}
    pull_policy: never
    restart: 'no'
    command: [sh, -c, 'echo exporting; exit {export_exit}']
    x-flowinfra: {{ job: true }}
"
    )
}

/// Each service's container ID and when it last started.
async fn runs(project: &str) -> std::collections::BTreeMap<String, (String, Option<String>)> {
    let engine = support::engine().await;
    let mut runs = std::collections::BTreeMap::new();
    for (service, id) in container_ids(project).await {
        let details = engine.container_details(&id).await.unwrap().unwrap();
        runs.insert(service, (id, details.started_at));
    }
    runs
}

#[tokio::test]
async fn a_completed_job_is_not_run_again_and_check_says_it_completed() {
    let engine = support::engine().await;
    let image = busybox_image(&engine).await;
    let case = Case::new("jobs");
    case.spec(&jobs_spec(&image, 0));
    case.run(&["up"]).success();
    let first = runs(&case.project.name).await;
    assert_eq!(first.len(), 3);

    // Right after `up`: check passes, and says when each job completed.
    let check = case.run(&["check", "--json"]).success().json();
    for job in ["ingesta", "export"] {
        let verdict = check["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["service"] == job && c["check"] == "container")
            .unwrap();
        assert_eq!(verdict["status"], "ok", "{check:#}");
        let reason = verdict["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("completed, exit 0, ") && reason.ends_with(" UTC"),
            "{reason}"
        );
    }

    let plan = case.run(&["plan", "--json"]).success().json();
    for job in ["ingesta", "export"] {
        assert_eq!(planned(&plan, job)["action"], "completed", "{plan:#}");
        assert_eq!(planned(&plan, job)["summary"], "keep (job completed, exit 0)");
    }
    assert_eq!(planned(&plan, "api")["action"], "keep", "{plan:#}");

    // A warm `up` runs nothing: same containers, not started again.
    let warm = case.run(&["up"]).success();
    assert_eq!(runs(&case.project.name).await, first, "{}", warm.stderr());
    assert!(!warm.stderr().contains("starting"), "{}", warm.stderr());

    // Asked to, it runs again (a fresh container); the others stay.
    let rerun = case.run(&["up", "--rerun", "ingesta"]).success();
    assert!(rerun.stderr().contains("re-run asked"), "{}", rerun.stderr());
    let after = runs(&case.project.name).await;
    assert_ne!(after["ingesta"], first["ingesta"]);
    assert_eq!(after["export"], first["export"]);
    assert_eq!(after["api"], first["api"]);
    let refused = case.run(&["up", "--rerun", "api"]).failure(2);
    assert!(
        refused.stderr().contains("is not a one-shot job"),
        "{}",
        refused.stderr()
    );

    // A changed job runs again; one that fails fails `up` and `check`.
    case.spec(&jobs_spec(&image, 4));
    let failed = case.run(&["up"]).failure(1);
    assert!(
        failed
            .stderr()
            .contains("service `export` is not ready: its container exited with code 4"),
        "{}",
        failed.stderr()
    );
    let check = case.run(&["check", "--json"]).failure(1).json();
    let export = check["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == "export" && c["check"] == "container")
        .unwrap();
    assert_eq!(export["status"], "fail", "{check:#}");
    assert!(export["reason"].as_str().unwrap().contains("exit code 4"), "{export:#}");
    // A failed job is not "completed": the next `up` runs it again.
    let plan = case.run(&["plan", "--json"]).success().json();
    assert_eq!(planned(&plan, "export")["action"], "start", "{plan:#}");
}

/// Issue 15: every Compose field flowinfra supports reaches the engine as
/// Compose v2 sets it (read back through the engine's own inspect): the
/// runtime fields on `a`; secrets and configs, devices, `volumes_from`, a
/// label file, annotations, a MAC address, an addressed network with
/// `ipam` and priority on `c`; `network_mode: service:c` on `n` and `none`
/// on `h`; a volume with driver options. A second `up` keeps every
/// container; a new container of `c` brings a new one of `n`, which shares
/// its network. (`storage_opt` needs a storage driver with quotas, which
/// this engine's fuse-overlayfs lacks; `privileged` capabilities this
/// engine may not grant; `gpus` and `blkio_config` devices this host may
/// not have: their request bodies are unit-tested.)
#[tokio::test]
async fn compose_runtime_fields_reach_the_engine_and_a_second_up_keeps_the_containers() {
    let engine = support::engine().await;
    let image = busybox_image(&engine).await;
    let case = Case::new("runtime-fields");
    // A subnet of its own per run: other tests' networks must not overlap it.
    let subnet = format!("10.201.{}", std::process::id() % 250);
    std::fs::write(case.dir.path().join("db_password.txt"), "file-secret-value").unwrap();
    std::fs::write(case.dir.path().join("app.conf"), "setting=1\n").unwrap();
    std::fs::write(case.dir.path().join("labels.env"), "team=core\n").unwrap();
    std::fs::write(case.dir.path().join(".env"), "E2E_API_TOKEN=env-secret-value\n").unwrap();
    let hooks = case.dir.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    // Writable by the container's root, whoever that is on the host.
    std::fs::set_permissions(&hooks, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let b_container = case.project.container_name("b");
    let spec = format!(
        "services:
  b:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    volumes: ['bdata:/bdata']
  a:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    user: '1000:1000'
    working_dir: /tmp
    domainname: example.test
    tty: true
    stdin_open: true
    expose: ['3000', '4000/udp']
    init: true
    read_only: true
    stop_signal: SIGINT
    stop_grace_period: 3s
    shm_size: 64m
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 100
    oom_score_adj: 100
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    security_opt: ['no-new-privileges:true']
    dns: [10.0.0.53]
    dns_search: [example.test]
    extra_hosts: ['gateway:10.0.0.1']
    group_add: ['100']
    sysctls: {{net.core.somaxconn: '1024'}}
    ulimits:
      nofile: {{soft: 1024, hard: 2048}}
    tmpfs: ['/scratch:size=1m']
    links: ['b:bee']
    external_links: ['{b_container}:bee2']
    ipc: private
    logging: {{driver: json-file, options: {{max-size: 1m}}}}
    develop: {{watch: []}}
    attach: false
    x-notes: extension fields are accepted
  c:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    stop_grace_period: 1s
    post_start:
      - command: [sh, -c, 'echo \"started as $$(id -u) with $$HOOK\" > /tmp/post_start']
        user: '0'
        environment: {{HOOK: post}}
    secrets:
      - db_password
      - source: api_token
        target: token
        mode: 0400
    configs:
      - source: app_conf
        target: /etc/app.conf
      - greeting
    devices: ['/dev/zero:/dev/myzero:r']
    dns_opt: ['ndots:2']
    volumes_from: ['b:ro']
    label_file: ./labels.env
    annotations: {{com.example.note: e2e}}
    mac_address: '02:42:ac:11:00:99'
    ports: [{{target: 8080, name: web, app_protocol: http}}]
    networks:
      front:
        ipv4_address: {subnet}.10
        aliases: [web]
        priority: 10
      default: {{}}
  n:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    network_mode: service:c
    stop_grace_period: 1s
    volumes: ['./hooks:/hooks']
    pre_stop:
      - command: sh -c 'echo stopping > /hooks/pre_stop'
  h:
    image: {image}
    pull_policy: never
    command: [sleep, '3600']
    network_mode: none
    pid: service:b
    cpu_shares: 512
    cpuset: '0'
    cpu_period: 100000
    cpu_quota: 50000
    uts: host
    cgroup: host
    device_cgroup_rules: ['c 1:5 r']
    volume_driver: local
    userns_mode: host
    runtime: runc
    mem_reservation: 32m
    env_file: [{{path: ./absent.env, required: false}}]
    platform: linux/amd64
    scale: 1
    deploy:
      resources: {{limits: {{pids: 50}}}}
      restart_policy: {{condition: on-failure, max_attempts: 2}}
volumes:
  bdata:
    driver_opts: {{type: tmpfs, device: tmpfs}}
networks:
  front:
    ipam:
      config:
        - subnet: {subnet}.0/24
          gateway: {subnet}.1
secrets:
  db_password:
    file: ./db_password.txt
  api_token:
    environment: E2E_API_TOKEN
configs:
  app_conf:
    file: ./app.conf
  greeting:
    content: hello from a config
"
    );
    case.spec(&spec);
    let up = |case: &Case| case.run(&["up"]);
    let first = up(&case).success();
    assert!(
        first.stderr().contains("`develop` (compose watch) is ignored"),
        "{}",
        first.stderr()
    );
    // Secret contents are never printed.
    for secret in ["file-secret-value", "env-secret-value"] {
        assert!(!first.transcript().contains(secret), "{}", first.transcript());
    }
    let before = container_ids(&case.project.name).await;
    assert_eq!(before.len(), 5, "{before:?}");

    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let api = docker.version().await.unwrap().api_version.unwrap_or_default();
    let api_minor: u32 = api.split('.').nth(1).and_then(|minor| minor.parse().ok()).unwrap_or(0);
    let inspect = docker
        .inspect_container(&case.project.container_name("a"), None)
        .await
        .unwrap();
    let config = inspect.config.unwrap();
    let host = inspect.host_config.unwrap();
    assert_eq!(config.user.as_deref(), Some("1000:1000"));
    assert_eq!(config.working_dir.as_deref(), Some("/tmp"));
    assert_eq!(config.domainname.as_deref(), Some("example.test"));
    assert_eq!(config.tty, Some(true));
    assert_eq!(config.open_stdin, Some(true));
    assert_eq!(config.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(config.stop_timeout, Some(3));
    let exposed = config.exposed_ports.unwrap();
    assert!(
        exposed.contains(&"3000/tcp".to_string()) && exposed.contains(&"4000/udp".to_string()),
        "{exposed:?}"
    );
    assert_eq!(host.init, Some(true));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.shm_size, Some(64 << 20));
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.pids_limit, Some(100));
    assert_eq!(host.oom_score_adj, Some(100));
    assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_string()]));
    assert_eq!(host.cap_drop, Some(vec!["MKNOD".to_string()]));
    assert_eq!(host.security_opt, Some(vec!["no-new-privileges:true".to_string()]));
    assert_eq!(host.dns, Some(vec!["10.0.0.53".to_string()]));
    assert_eq!(host.dns_search, Some(vec!["example.test".to_string()]));
    assert_eq!(host.extra_hosts, Some(vec!["gateway:10.0.0.1".to_string()]));
    assert_eq!(host.group_add, Some(vec!["100".to_string()]));
    assert_eq!(host.sysctls.unwrap()["net.core.somaxconn"], "1024");
    let ulimits = host.ulimits.unwrap();
    assert_eq!(
        (ulimits[0].name.as_deref(), ulimits[0].soft, ulimits[0].hard),
        (Some("nofile"), Some(1024), Some(2048))
    );
    assert_eq!(host.tmpfs.unwrap()["/scratch"], "size=1m");
    // On a user-defined network the engine keeps links on the network endpoint.
    let endpoint = &inspect.network_settings.unwrap().networks.unwrap()[&case.project.network()];
    let links = endpoint.links.clone().unwrap_or_default();
    assert_eq!(links, [format!("{b_container}:bee"), format!("{b_container}:bee2")]);
    assert_eq!(host.ipc_mode.as_deref(), Some("private"));
    let log = host.log_config.unwrap();
    assert_eq!(log.typ.as_deref(), Some("json-file"));
    assert_eq!(log.config.unwrap()["max-size"], "1m");

    // `c`: secrets, configs, devices, volumes_from, label file, networks.
    let c_name = case.project.container_name("c");
    let inspect = docker.inspect_container(&c_name, None).await.unwrap();
    let c_id = inspect.id.clone().unwrap();
    let host = inspect.host_config.clone().unwrap();
    let mounts = inspect.mounts.clone().unwrap();
    let mount = |target: &str| {
        mounts
            .iter()
            .find(|m| m.destination.as_deref() == Some(target))
            .unwrap_or_else(|| panic!("no mount at {target}: {mounts:?}"))
    };
    let secret = mount("/run/secrets/db_password");
    assert_eq!(secret.typ.as_deref(), Some("bind"));
    assert_eq!(secret.rw, Some(false));
    assert!(
        secret.source.as_deref().unwrap().ends_with("db_password.txt"),
        "{secret:?}"
    );
    assert_eq!(mount("/etc/app.conf").rw, Some(false));
    // `volumes_from: [b:ro]`: b's volume, read-only here.
    assert_eq!(mount("/bdata").rw, Some(false));
    assert_eq!(
        host.volumes_from,
        Some(vec![format!("{}:ro", case.project.container_name("b"))])
    );
    // Written into the container: the secret from a variable and the inline config.
    let token = read_file(&docker, &c_name, "/run/secrets/token").await;
    assert_eq!((token.0.as_str(), token.1 & 0o777), ("env-secret-value", 0o400));
    // The post_start hook ran once the container had started.
    let hook = read_file(&docker, &c_name, "/tmp/post_start").await;
    assert_eq!(hook.0, "started as 0 with post\n");
    let greeting = read_file(&docker, &c_name, "/greeting").await;
    assert_eq!(
        (greeting.0.as_str(), greeting.1 & 0o777),
        ("hello from a config", 0o444)
    );
    assert_eq!(host.dns_options, Some(vec!["ndots:2".to_string()]));
    let device = &host.devices.clone().unwrap()[0];
    assert_eq!(
        (
            device.path_on_host.as_deref(),
            device.path_in_container.as_deref(),
            device.cgroup_permissions.as_deref()
        ),
        (Some("/dev/zero"), Some("/dev/myzero"), Some("r"))
    );
    let labels = inspect.config.clone().unwrap().labels.unwrap();
    assert_eq!(labels["team"], "core");
    let networks = inspect.network_settings.clone().unwrap().networks.unwrap();
    let front = &networks[&case.project.volume("front")];
    assert_eq!(front.ip_address.as_deref(), Some(format!("{subnet}.10").as_str()));
    assert!(front.aliases.clone().unwrap().contains(&"web".to_string()), "{front:?}");
    assert!(networks.contains_key(&case.project.network()), "{networks:?}");
    // The highest priority is the primary network.
    assert_eq!(
        host.network_mode.as_deref(),
        Some(case.project.volume("front").as_str())
    );
    let network = docker
        .inspect_network(&case.project.volume("front"), None)
        .await
        .unwrap();
    let pool = &network.ipam.unwrap().config.unwrap()[0];
    assert_eq!(pool.subnet.as_deref(), Some(format!("{subnet}.0/24").as_str()));
    assert_eq!(pool.gateway.as_deref(), Some(format!("{subnet}.1").as_str()));
    let bdata = docker.inspect_volume(&case.project.volume("bdata")).await.unwrap();
    assert_eq!(bdata.options["type"], "tmpfs");
    // Annotations (API 1.43) and an endpoint's MAC address (API 1.44): shown
    // by newer engines, a warning on older ones.
    if api_minor >= 43 {
        assert_eq!(host.annotations.unwrap()["com.example.note"], "e2e");
    } else {
        assert!(
            first.stderr().contains("`annotations` are ignored"),
            "{}",
            first.stderr()
        );
    }
    if api_minor >= 44 {
        assert_eq!(front.mac_address.as_deref(), Some("02:42:ac:11:00:99"));
    } else {
        assert!(
            first.stderr().contains("`mac_address` is ignored"),
            "{}",
            first.stderr()
        );
    }

    // `n` joins c's network namespace; `h` none.
    let n = docker
        .inspect_container(&case.project.container_name("n"), None)
        .await
        .unwrap();
    let mode = n.host_config.unwrap().network_mode.unwrap();
    assert!(
        mode == format!("container:{c_name}") || mode == format!("container:{c_id}"),
        "{mode}"
    );
    let h = docker
        .inspect_container(&case.project.container_name("h"), None)
        .await
        .unwrap();
    let h_host = h.host_config.unwrap();
    assert_eq!(h_host.network_mode.as_deref(), Some("none"));
    let pid_mode = h_host.pid_mode.unwrap();
    assert!(pid_mode.starts_with("container:"), "{pid_mode}");
    assert_eq!(h_host.userns_mode.as_deref(), Some("host"));
    assert_eq!(h_host.runtime.as_deref(), Some("runc"));
    assert_eq!(h_host.memory_reservation, Some(32 << 20));
    assert_eq!(h_host.pids_limit, Some(50));
    assert_eq!(h_host.cpu_shares, Some(512));
    assert_eq!(h_host.cpuset_cpus.as_deref(), Some("0"));
    assert_eq!((h_host.cpu_period, h_host.cpu_quota), (Some(100_000), Some(50_000)));
    assert_eq!(h_host.uts_mode.as_deref(), Some("host"));
    assert_eq!(
        h_host.cgroupns_mode,
        Some(bollard::models::HostConfigCgroupnsModeEnum::HOST)
    );
    assert_eq!(h_host.device_cgroup_rules, Some(vec!["c 1:5 r".to_string()]));
    assert_eq!(h_host.volume_driver.as_deref(), Some("local"));
    let restart = h_host.restart_policy.unwrap();
    assert_eq!(restart.maximum_retry_count, Some(2));
    assert!(
        first.stderr().contains("`platform: linux/amd64` is ignored"),
        "{}",
        first.stderr()
    );

    let second = up(&case).success();
    assert_eq!(container_ids(&case.project.name).await, before, "{}", second.stderr());

    // A container missing a network of its spec is recreated, naming it.
    docker
        .disconnect_network(
            &case.project.network(),
            bollard::models::NetworkDisconnectRequest {
                container: c_name.clone(),
                force: Some(true),
            },
        )
        .await
        .unwrap();
    let plan = case.run(&["plan"]).success();
    assert!(
        plan.stdout()
            .contains(&format!("not connected to {}", case.project.network())),
        "{}",
        plan.transcript()
    );

    // A changed field recreates the container, and `plan` names it.
    case.spec(&spec.replace("shm_size: 64m", "shm_size: 32m"));
    let plan = case.run(&["plan"]).success();
    assert!(plan.stdout().contains("shm_size"), "{}", plan.transcript());

    // A changed config recreates `c`, and `n`, which shares its network, with it.
    // Under `RUST_LOG=trace`, where the engine client logs what it sends.
    case.spec(&spec.replace("hello from a config", "hello again"));
    let started = std::time::Instant::now();
    let third = Flowinfra::new()
        .current_dir(case.dir.path())
        .env("RUST_LOG", "trace")
        .args(["-f", "spec.yaml", "-p", &case.project.name, "up"])
        .run()
        .success();
    assert!(third.stderr().contains("bollard"), "no trace lines were logged");
    // `sleep` ignores SIGTERM: each old container is killed after its 1 s
    // `stop_grace_period`, not after the default 10 s.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "recreating c and n took {:?}",
        started.elapsed()
    );
    for secret in ["file-secret-value", "env-secret-value"] {
        assert!(!third.transcript().contains(secret), "{secret} was printed");
    }
    let after = container_ids(&case.project.name).await;
    let changed: Vec<&str> = after
        .iter()
        .filter(|entry| !before.contains(entry))
        .map(|(service, _)| service.as_str())
        .collect();
    assert_eq!(changed, ["c", "n"], "{}", third.stderr());
    // n's pre_stop hook ran in the old container before it was stopped.
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre_stop")).unwrap_or_default(),
        "stopping\n",
        "{}",
        third.stderr()
    );
    assert!(
        third.transcript().contains("it shares with is new"),
        "{}",
        third.transcript()
    );
    let n = docker
        .inspect_container(&case.project.container_name("n"), None)
        .await
        .unwrap();
    assert_eq!(n.state.unwrap().running, Some(true));
}

/// A file's content and mode, read from a container through the engine's archive API.
async fn read_file(docker: &bollard::Docker, container: &str, path: &str) -> (String, u32) {
    use futures_util::TryStreamExt;
    let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::new()
        .path(path)
        .build();
    let chunks: Vec<_> = docker
        .download_from_container(container, Some(options))
        .try_collect()
        .await
        .unwrap_or_else(|err| panic!("read {path} from {container}: {err}"));
    let archive: Vec<u8> = chunks.iter().flat_map(|chunk| chunk.iter().copied()).collect();
    let mut archive = tar::Archive::new(archive.as_slice());
    let mut entry = archive.entries().unwrap().next().expect("one file").unwrap();
    let mode = entry.header().mode().unwrap();
    let mut content = String::new();
    std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
    (content, mode)
}
