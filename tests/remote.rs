//! Remote engines for real, on one machine: each test builds a lab
//! (scripts/remote-test-env.sh: "laptop" network namespaces that cannot see
//! this machine's engine socket or its 127.0.0.1, sshd and a TLS terminator
//! in front of the engine) and runs scenarios of this binary inside a
//! laptop (`remote_child`). Connecting over ssh, over TCP+TLS and through a
//! Docker context; forwarding a published port; the engine-side lock from
//! two laptops; and the errors of broken paths. Needs root.
//!
//! The product through the binary (`flowinfra` run inside a laptop): the
//! whole Flowlite stack through each path, `DOCKER_HOST=ssh://`,
//! `DOCKER_HOST=tcp://` with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, and a
//! TLS context chosen by `--context` (up from nothing, check, seed's remote
//! guard, forward with a MySQL login and a Redis PING, down -v); the Redis
//! service alone from two laptops at once, one over ssh and one over TLS
//! (one container, check and forward over ssh, down over TLS); broken paths
//! through the binary.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use flowinfra::engine::{ContainerSpec, Engine, PortBinding, Protocol};
use support::remote::{RemoteLab, SCENARIO_VAR, output_text};
use support::{FlowliteStack, TestProject, busybox_image, engine, forward_helper_image, free_port, wait_for};

/// Requests per timing loop (each on a new connection, as probes do).
const REQUESTS: usize = 30;

// ---------------------------------------------------------------- parents

#[tokio::test(flavor = "multi_thread")]
async fn an_ssh_engine_pings_and_creates_a_container_from_a_laptop() {
    let lab = RemoteLab::start();
    let name = format!("ft-remote-ssh-{}", std::process::id());
    let env = [("DOCKER_HOST", lab.ssh_address("a"))];
    let output = create_in_child(&lab, &name, &env).await;
    assert!(
        output.contains(&format!("chosen_by=DOCKER_HOST chose ssh://root@{}", lab.host("a"))),
        "{output}"
    );
    assert!(
        output.contains("ssh_tunnel=true"),
        "one ssh login, the socket forwarded: {output}"
    );
    // Laptop b's sshd refuses to forward the engine socket: the same
    // address works through `docker system dial-stdio` instead.
    let name = format!("ft-remote-ssh-fallback-{}", std::process::id());
    let env = [("DOCKER_HOST", lab.ssh_address("b"))];
    let output = create_in_child_on(&lab, "b", &name, &env).await;
    assert!(output.contains("ssh_tunnel=false"), "fell back to dial-stdio: {output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_engine_pings_and_creates_a_container_from_a_laptop() {
    let lab = RemoteLab::start();
    let name = format!("ft-remote-tls-{}", std::process::id());
    let env = [
        ("DOCKER_HOST", lab.tls_address("b")),
        ("DOCKER_TLS_VERIFY", "1".to_string()),
        ("DOCKER_CERT_PATH", lab.tls_dir().display().to_string()),
    ];
    let output = create_in_child_on(&lab, "b", &name, &env).await;
    assert!(
        output.contains(&format!("chosen_by=DOCKER_HOST chose tcp://{}:2376", lab.host("b"))),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_context_of_a_docker_config_chooses_the_engine() {
    let lab = RemoteLab::start();
    // A TLS context whose certificates live in the context store...
    let tls_config = lab.config_with_context("lab-tls", &lab.tls_address("a"), Some(&lab.tls_dir()));
    let name = format!("ft-remote-ctx-tls-{}", std::process::id());
    let output = create_in_child(&lab, &name, &[("DOCKER_CONFIG", tls_config.display().to_string())]).await;
    let config_file = tls_config.join("config.json");
    assert!(
        output.contains(&format!(
            "chosen_by=the current context \"lab-tls\" in {} chose tcp://{}:2376",
            config_file.display(),
            lab.host("a")
        )),
        "{output}"
    );
    // ...and an ssh context chosen by DOCKER_CONTEXT over the current one.
    let ssh_config = lab.config_with_context("lab-ssh", &lab.ssh_address("a"), None);
    std::fs::create_dir_all(tls_config.join("contexts/meta")).unwrap();
    copy_dir(&ssh_config.join("contexts/meta"), &tls_config.join("contexts/meta"));
    let name = format!("ft-remote-ctx-ssh-{}", std::process::id());
    let env = [
        ("DOCKER_CONFIG", tls_config.display().to_string()),
        ("DOCKER_CONTEXT", "lab-ssh".to_string()),
    ];
    let output = create_in_child(&lab, &name, &env).await;
    assert!(
        output.contains(&format!(
            "chosen_by=DOCKER_CONTEXT=lab-ssh chose ssh://root@{}",
            lab.host("a")
        )),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_reaches_a_port_published_on_the_remote_loopback() {
    let lab = RemoteLab::start();
    let engine = engine().await;
    let image = busybox_image(&engine).await;
    let project = TestProject::new("remote_forward");
    engine.ensure_network(&project.network(), &project.name).await.unwrap();
    let port = free_port();
    let mut spec = support::sleeping_container(&project, "web", &image);
    spec.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "echo hi-from-the-engine > /tmp/index.html && exec httpd -f -p 7000 -h /tmp".into(),
    ]);
    spec.ports = vec![PortBinding {
        host_ip: "127.0.0.1".into(),
        host_port: Some(port),
        container_port: 7000,
        protocol: Protocol::Tcp,
    }];
    let id = engine.create_container(&spec).await.unwrap();
    engine.start_container(&id).await.unwrap();
    let direct = wait_for("httpd to answer on the host", Duration::from_secs(10), || async move {
        timed_gets(&format!("127.0.0.1:{port}"), REQUESTS).ok()
    })
    .await;
    eprintln!("direct on the engine host: {REQUESTS} requests, {direct:.2} ms each");

    let common = [
        ("FLOWINFRA_REMOTE_PROJECT", project.name.clone()),
        ("FLOWINFRA_REMOTE_NETWORK", project.network()),
        ("FLOWINFRA_REMOTE_IMAGE", image.clone()),
        ("FLOWINFRA_REMOTE_PORT", port.to_string()),
    ];
    let transports = [
        ("ssh", vec![("DOCKER_HOST", lab.ssh_address("a"))]),
        (
            "tls",
            vec![
                ("DOCKER_HOST", lab.tls_address("a")),
                ("DOCKER_TLS_VERIFY", "1".to_string()),
                ("DOCKER_CERT_PATH", lab.tls_dir().display().to_string()),
            ],
        ),
    ];
    for (transport, env) in transports {
        let env: Vec<_> = common.iter().cloned().chain(env).collect();
        let output = lab.child("a", "a", "forward", &env);
        let text = output_text(&output);
        assert!(output.status.success(), "{transport}: {text}");
        assert!(text.contains("direct=unreachable"), "{transport}: {text}");
        let line = text.lines().find(|line| line.starts_with("forwarded ")).expect(&text);
        eprintln!("through the {transport} engine: {line}");
        if transport == "ssh" {
            // A channel of the one login: about 2 ms here. A new ssh login
            // per connection (bollard's transport) cost 600 ms, and a login
            // without TCP_NODELAY 40 ms (a delayed ACK per answer).
            let each: f64 = line
                .split(", ")
                .nth(1)
                .and_then(|part| part.split(" ms each").next())
                .and_then(|ms| ms.parse().ok())
                .expect(line);
            assert!(each < 30.0, "a forwarded connection over ssh took {each} ms: {line}");
        }
        let helper = text
            .lines()
            .find_map(|line| line.strip_prefix("helper="))
            .expect(&text)
            .to_string();
        // Over ssh, connections are channels of the ssh login: no helper.
        assert_eq!(helper == "none", transport == "ssh", "{transport}: {text}");
        if helper == "none" {
            continue;
        }
        let engine = engine.clone();
        wait_for("the forward helper to be removed", Duration::from_secs(20), || {
            let (engine, helper) = (engine.clone(), helper.clone());
            async move { engine.inspect_container(&helper).await.unwrap().is_none().then_some(()) }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_lock_has_one_holder_across_two_laptops_and_dies_with_it() {
    let lab = RemoteLab::start();
    let engine = engine().await;
    let image = busybox_image(&engine).await;
    let project = format!("ft-remote-lock-{}", std::process::id());
    let common = [
        ("FLOWINFRA_REMOTE_PROJECT", project.clone()),
        ("FLOWINFRA_REMOTE_IMAGE", image.clone()),
    ];
    let over_ssh: Vec<_> = common
        .iter()
        .cloned()
        .chain([("DOCKER_HOST", lab.ssh_address("a"))])
        .collect();
    let over_tls: Vec<_> = common
        .iter()
        .cloned()
        .chain([
            ("DOCKER_HOST", lab.tls_address("b")),
            ("DOCKER_TLS_VERIFY", "1".to_string()),
            ("DOCKER_CERT_PATH", lab.tls_dir().display().to_string()),
        ])
        .collect();
    let mut laptops = [
        LineChild::new(lab.spawn_child("a", "a", "lock", &over_ssh)),
        LineChild::new(lab.spawn_child("b", "b", "lock", &over_tls)),
    ];
    for laptop in &mut laptops {
        laptop.expect_line("connected");
    }
    // Both try at once.
    for laptop in &mut laptops {
        laptop.say("go");
    }
    let first: Vec<String> = laptops.iter_mut().map(|laptop| laptop.next_line()).collect();
    let winners = first.iter().filter(|line| *line == "acquired").count();
    assert_eq!(winners, 1, "exactly one laptop holds the lock: {first:?}");
    let (winner, loser) = if first[0] == "acquired" { (0, 1) } else { (1, 0) };
    let held = &first[loser];
    assert!(held.starts_with("held by pid "), "{held}");
    let winner_pid = laptops[winner].child.id();
    assert!(
        held.contains(&format!("pid {winner_pid} ")),
        "{held} names pid {winner_pid}"
    );
    // The loser waits; the winner's process dies without releasing.
    laptops[loser].say("wait");
    laptops[loser].expect_line("waiting");
    let killed_at = Instant::now();
    laptops[winner].child.kill().unwrap();
    laptops[winner].child.wait().unwrap();
    laptops[loser].expect_line("acquired");
    eprintln!("lock free {:?} after its holder was killed", killed_at.elapsed());
    let lock = format!("flowinfra-lock-{project}");
    assert!(
        engine.inspect_container(&lock).await.unwrap().is_some(),
        "the loser holds it now"
    );
    laptops[loser].say("release");
    laptops[loser].expect_line("released");
    let status = laptops[loser].child.wait().unwrap();
    assert!(status.success(), "{}", laptops[loser].rest());
    assert!(engine.inspect_container(&lock).await.unwrap().is_none(), "released");
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_paths_give_clear_errors() {
    let lab = RemoteLab::start();
    // A key sshd does not accept.
    let output = lab.child("a", "wrong", "connect-error", &[("DOCKER_HOST", lab.ssh_address("a"))]);
    let text = output_text(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "cannot reach the Docker engine at ssh://root@{} (chosen by DOCKER_HOST)",
            lab.host("a")
        )),
        "{text}"
    );
    assert!(text.contains("Permission denied"), "ssh's own reason is kept: {text}");
    assert!(text.contains("hint: check that `ssh` logs in"), "{text}");

    // A CA that did not sign the engine's certificate.
    let untrusted = lab.dir.join("untrusted");
    std::fs::create_dir_all(&untrusted).unwrap();
    std::fs::copy(lab.tls_dir().join("other-ca.pem"), untrusted.join("ca.pem")).unwrap();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(lab.tls_dir().join(file), untrusted.join(file)).unwrap();
    }
    let env = [
        ("DOCKER_HOST", lab.tls_address("a")),
        ("DOCKER_TLS_VERIFY", "1".to_string()),
        ("DOCKER_CERT_PATH", untrusted.display().to_string()),
    ];
    let text = output_text(&lab.child("a", "a", "connect-error", &env));
    assert!(
        text.contains("at tcp://") && text.contains("(chosen by DOCKER_HOST)"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(
        text.contains("hint: the engine's TLS certificate is not trusted"),
        "{text}"
    );

    // A context that does not exist.
    let config = lab.config_with_context("exists", &lab.ssh_address("a"), None);
    let env = [
        ("DOCKER_CONFIG", config.display().to_string()),
        ("DOCKER_CONTEXT", "nope".to_string()),
    ];
    let text = output_text(&lab.child("a", "a", "connect-error", &env));
    assert!(
        text.contains(&format!(
            "Docker context \"nope\" (DOCKER_CONTEXT=nope) does not exist: no {}",
            config.join("contexts/meta").display()
        )),
        "{text}"
    );
    assert!(text.contains("docker context ls"), "{text}");
}

// ------------------------------------------------ the product, through the binary

/// The stack's port variables and `extra`, for [`RemoteLab::flowinfra`].
fn stack_env(stack: &FlowliteStack, extra: &[(&str, String)]) -> Vec<(String, String)> {
    stack
        .env
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .chain(extra.iter().map(|(key, value)| (key.to_string(), value.clone())))
        .collect()
}

/// `-f … -p <project>` of `stack`, then `args`.
fn stack_args<'a>(stack: &'a FlowliteStack, args: &[&'a str]) -> Vec<String> {
    let mut all = Vec::new();
    for file in stack.spec.iter().chain(&stack.overrides) {
        all.push("-f".to_string());
        all.push(file.display().to_string());
    }
    all.extend(["-p".to_string(), stack.project.name.clone()]);
    all.extend(args.iter().map(|arg| arg.to_string()));
    all
}

/// Runs `flowinfra` on a laptop and returns (exit code, stdout, stderr).
fn run_on(lab: &RemoteLab, laptop: &str, args: &[String], env: &[(String, String)]) -> (Option<i32>, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.flowinfra(laptop, laptop, &args, env).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A `flowinfra forward` on a laptop: started, its table read until every
/// service in `services` has a row, then stopped with Ctrl-C on drop.
struct Forwarding {
    child: std::process::Child,
    table: String,
}

impl Forwarding {
    fn start(
        lab: &RemoteLab,
        laptop: &str,
        args: &[String],
        env: &[(String, String)],
        services: &[&str],
    ) -> Forwarding {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = lab
            .flowinfra(laptop, laptop, &args, env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut table = String::new();
        while !services
            .iter()
            .all(|service| table.lines().any(|line| line.starts_with(&format!("{service} "))))
        {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let mut stderr = String::new();
                child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
                panic!("forward ended early:\n{table}\n{stderr}");
            }
            table.push_str(&line);
        }
        Forwarding { child, table }
    }

    /// Ctrl-C, and what it said.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let status = self.child.wait().unwrap();
        (status.code(), stderr)
    }
}

/// The three ways a laptop names a remote engine, for the full-stack test.
#[derive(Debug, Clone, Copy)]
enum EnginePath {
    /// `DOCKER_HOST=ssh://root@<host>`.
    Ssh,
    /// `DOCKER_HOST=tcp://<host>:2376` with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`.
    TcpTls,
    /// `--context lab-tls`, a TLS context in a `DOCKER_CONFIG` store.
    Context,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flowlite_stack_runs_from_a_laptop_over_ssh() {
    flowlite_stack_through(EnginePath::Ssh).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flowlite_stack_runs_from_a_laptop_over_tcp_and_tls() {
    flowlite_stack_through(EnginePath::TcpTls).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flowlite_stack_runs_from_a_laptop_through_a_tls_context() {
    flowlite_stack_through(EnginePath::Context).await;
}

/// The whole Flowlite stack driven from laptop `a` through `path`: `up`
/// from nothing (migrated, seeded, provisioned), `check --json` ok, `seed
/// --clean` refused as remote, `forward` with a MySQL login and a Redis
/// PING inside the laptop, `down -v`.
async fn flowlite_stack_through(path: EnginePath) {
    let lab = RemoteLab::start();
    let engine = engine().await;
    forward_helper_image(&engine).await;
    let stack = FlowliteStack::new(&format!("remote_flowlite_{path:?}").to_lowercase());
    let project = stack.project.name.clone();
    let (address, extra, prefix, named) = match path {
        EnginePath::Ssh => {
            let address = lab.ssh_address("a");
            let extra = vec![("DOCKER_HOST", address.clone())];
            (address, extra, Vec::new(), "(DOCKER_HOST)")
        }
        EnginePath::TcpTls => {
            let address = lab.tls_address("a");
            let extra = vec![
                ("DOCKER_HOST", address.clone()),
                ("DOCKER_TLS_VERIFY", "1".to_string()),
                ("DOCKER_CERT_PATH", lab.tls_dir().display().to_string()),
            ];
            (address, extra, Vec::new(), "(DOCKER_HOST)")
        }
        EnginePath::Context => {
            let address = lab.tls_address("a");
            let config = lab.config_with_context("lab-tls", &address, Some(&lab.tls_dir()));
            // No current context: --context alone chooses the engine.
            std::fs::write(config.join("config.json"), "{}").unwrap();
            let extra = vec![("DOCKER_CONFIG", config.display().to_string())];
            let prefix = vec!["--context".to_string(), "lab-tls".to_string()];
            (address, extra, prefix, "(context lab-tls)")
        }
    };
    let env = stack_env(&stack, &extra);
    let with_path = |args: &[&str]| {
        let mut all = prefix.clone();
        all.extend(stack_args(&stack, args));
        all
    };

    let started = Instant::now();
    let (code, _, stderr) = run_on(&lab, "a", &with_path(&["up"]), &env);
    assert_eq!(code, Some(0), "{path:?} up:\n{stderr}");
    eprintln!("{path:?}: up from nothing {:?}", started.elapsed());
    assert!(
        stderr.contains(&format!("engine: {address} {named}, API ")),
        "{path:?}: {stderr}"
    );
    let containers = engine.list_containers(&project).await.unwrap();
    assert_eq!(containers.len(), 4, "{containers:?}");

    let started = Instant::now();
    let (code, stdout, stderr) = run_on(&lab, "a", &with_path(&["check", "--json"]), &env);
    assert_eq!(code, Some(0), "{path:?} check:\n{stdout}\n{stderr}");
    eprintln!("{path:?}: check {:?}", started.elapsed());
    let report: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    assert_eq!(report["status"], "ok", "{stdout}");
    let checks = report["checks"].as_array().unwrap();
    for check in ["protocol", "migrations", "seed", "queues", "buckets"] {
        assert!(
            checks.iter().any(|c| c["check"] == check && c["status"] == "ok"),
            "{path:?}: {check} ok: {stdout}"
        );
    }

    // The database is the engine's, though the forward is on 127.0.0.1.
    let (code, _, stderr) = run_on(&lab, "a", &with_path(&["seed", "--clean"]), &env);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refusing `seed --clean` against the database on the remote engine {address}"
        )),
        "{path:?}: {stderr}"
    );

    let forward = Forwarding::start(&lab, "a", &with_path(&["forward"]), &env, &["mysql", "redis"]);
    let (mysql_port, redis_port) = (stack.port("MYSQL_PORT"), stack.port("REDIS_PORT"));
    assert!(
        forward.table.contains(&format!("127.0.0.1:{mysql_port}")),
        "the published port number is kept here: {}",
        forward.table
    );
    let dial = lab.child(
        "a",
        "a",
        "dial",
        &[
            ("FLOWINFRA_REMOTE_MYSQL_URL", stack.mysql_url()),
            ("FLOWINFRA_REMOTE_REDIS", format!("127.0.0.1:{redis_port}")),
            (
                "FLOWINFRA_REMOTE_REDIS_PASSWORD",
                "flowlite_redis_pass_2024".to_string(),
            ),
        ],
    );
    let text = output_text(&dial);
    assert!(dial.status.success(), "{path:?}: {text}");
    assert!(text.contains("mysql users=3"), "{text}");
    assert!(text.contains("redis=PONG"), "{text}");
    let (code, stderr) = forward.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("forwards closed"), "{stderr}");

    let (code, _, stderr) = run_on(&lab, "a", &with_path(&["down", "-v"]), &env);
    assert_eq!(code, Some(0), "{path:?} down:\n{stderr}");
    assert!(engine.list_containers(&project).await.unwrap().is_empty());
    assert!(engine.list_volumes(&project).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_laptops_bring_up_one_redis_over_ssh_and_tls_at_once() {
    let lab = RemoteLab::start();
    let engine = engine().await;
    forward_helper_image(&engine).await;
    // A bind mount names a path on the engine's host: `up` says so.
    let bind = lab.dir.join("bind.yaml");
    std::fs::create_dir_all(lab.dir.join("bind-data")).unwrap();
    std::fs::write(
        &bind,
        "services:\n  redis:\n    volumes:\n      - ./bind-data:/lab-bind\n",
    )
    .unwrap();
    let stack = FlowliteStack::new("remote_two").with_override(&bind);
    let project = stack.project.name.clone();
    let over_ssh = stack_env(&stack, &[("DOCKER_HOST", lab.ssh_address("a"))]);
    let over_tls = stack_env(
        &stack,
        &[
            ("DOCKER_HOST", lab.tls_address("b")),
            ("DOCKER_TLS_VERIFY", "1".to_string()),
            ("DOCKER_CERT_PATH", lab.tls_dir().display().to_string()),
        ],
    );
    let up = stack_args(&stack, &["up", "redis"]);
    let started = Instant::now();
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run_on(&lab, "a", &up, &over_ssh));
        let b = scope.spawn(|| run_on(&lab, "b", &up, &over_tls));
        (a.join().unwrap(), b.join().unwrap())
    });
    eprintln!(
        "two ups at once: {:?}\n--- a (ssh)\n{}\n--- b (tls)\n{}",
        started.elapsed(),
        a.2,
        b.2
    );
    assert_eq!(a.0, Some(0), "up over ssh:\n{}", a.2);
    assert_eq!(b.0, Some(0), "up over TLS:\n{}", b.2);
    let warned = format!(
        "service `redis` binds {} to /lab-bind: with the remote engine",
        lab.dir.join("bind-data").display()
    );
    assert!(a.2.contains(&warned) && b.2.contains(&warned), "{warned}");
    let containers = engine.list_containers(&project).await.unwrap();
    assert_eq!(containers.len(), 1, "one container per service: {containers:?}");

    let (code, stdout, stderr) = run_on(&lab, "a", &stack_args(&stack, &["env"]), &over_ssh);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("REDIS_PORT={}", stack.port("REDIS_PORT"))),
        "{stdout}"
    );
    assert!(
        stderr.contains("the engine is remote (DOCKER_HOST chose ssh://")
            && stderr.contains("while `flowinfra forward` runs"),
        "{stderr}"
    );
    assert_eq!(containers[0].service.as_deref(), Some("redis"));

    let (code, stdout, stderr) = run_on(&lab, "a", &stack_args(&stack, &["check", "--json", "redis"]), &over_ssh);
    assert_eq!(code, Some(0), "check over ssh:\n{stdout}\n{stderr}");
    assert!(stdout.contains("\"status\": \"ok\""), "{stdout}");

    let forward = Forwarding::start(
        &lab,
        "a",
        &stack_args(&stack, &["forward", "redis"]),
        &over_ssh,
        &["redis"],
    );
    let redis_port = stack.port("REDIS_PORT");
    let dial = lab.child(
        "a",
        "a",
        "dial",
        &[
            ("FLOWINFRA_REMOTE_REDIS", format!("127.0.0.1:{redis_port}")),
            (
                "FLOWINFRA_REMOTE_REDIS_PASSWORD",
                "flowlite_redis_pass_2024".to_string(),
            ),
        ],
    );
    let text = output_text(&dial);
    assert!(dial.status.success() && text.contains("redis=PONG"), "{text}");
    let (code, stderr) = forward.stop();
    assert_eq!(code, Some(0), "{stderr}");

    let (code, _, stderr) = run_on(&lab, "b", &stack_args(&stack, &["down", "-v"]), &over_tls);
    assert_eq!(code, Some(0), "down over TLS:\n{stderr}");
    assert!(engine.list_containers(&project).await.unwrap().is_empty());
    assert!(engine.list_volumes(&project).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_paths_through_the_binary_say_what_chose_the_engine() {
    let lab = RemoteLab::start();
    let stack = FlowliteStack::new("remote_broken");
    let ps = stack_args(&stack, &["ps"]);

    let env = stack_env(&stack, &[("DOCKER_HOST", lab.ssh_address("a"))]);
    let args: Vec<&str> = ps.iter().map(String::as_str).collect();
    let output = lab.flowinfra("a", "wrong", &args, &env).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "wrong key:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot reach the Docker engine at ssh://root@{} (chosen by DOCKER_HOST)",
            lab.host("a")
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Permission denied"), "{stderr}");

    let untrusted = lab.dir.join("untrusted");
    std::fs::create_dir_all(&untrusted).unwrap();
    std::fs::copy(lab.tls_dir().join("other-ca.pem"), untrusted.join("ca.pem")).unwrap();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(lab.tls_dir().join(file), untrusted.join(file)).unwrap();
    }
    let env = stack_env(
        &stack,
        &[
            ("DOCKER_HOST", lab.tls_address("a")),
            ("DOCKER_TLS_VERIFY", "1".to_string()),
            ("DOCKER_CERT_PATH", untrusted.display().to_string()),
        ],
    );
    let (code, _, stderr) = run_on(&lab, "a", &ps, &env);
    assert_eq!(code, Some(3), "untrusted certificate:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot reach the Docker engine at tcp://{}:2376 (chosen by DOCKER_HOST)",
            lab.host("a")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("the engine's TLS certificate is not trusted"),
        "{stderr}"
    );

    let config = lab.config_with_context("exists", &lab.ssh_address("a"), None);
    let env = stack_env(&stack, &[("DOCKER_CONFIG", config.display().to_string())]);
    let mut args = vec!["--context".to_string(), "nope".to_string()];
    args.extend(ps.iter().cloned());
    let (code, _, stderr) = run_on(&lab, "a", &args, &env);
    assert_eq!(code, Some(2), "missing context:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "Docker context \"nope\" (--context nope) does not exist: no {}",
            config.join("contexts/meta").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("docker context ls"), "{stderr}");
}

// ---------------------------------------------------------------- children

/// The scenarios, run inside a laptop by the tests above (never on their own).
#[test]
#[ignore = "entry point of the lab's children: the other tests in this file run it inside a laptop"]
fn remote_child() {
    let scenario = std::env::var(SCENARIO_VAR).expect("run by the parent tests, with FLOWINFRA_REMOTE_SCENARIO");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        assert!(
            !std::path::Path::new("/var/run/docker.sock").exists(),
            "the lab hides the engine socket"
        );
        match scenario.as_str() {
            "create" => child_create().await,
            "forward" => child_forward().await,
            "lock" => child_lock().await,
            "connect-error" => child_connect_error().await,
            "dial" => child_dial().await,
            other => panic!("unknown scenario {other}"),
        }
    });
}

async fn child_create() {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|error| panic!("{}", chain(&error)));
    println!("chosen_by={}", engine.target().chosen_by());
    println!("ssh_tunnel={}", engine.forwards_over_ssh());
    println!(
        "remote={} version={}",
        engine.is_remote(),
        engine.server_version().await.unwrap()
    );
    let name = var("FLOWINFRA_REMOTE_CONTAINER");
    let spec = ContainerSpec {
        name: name.clone(),
        project: format!("{name}-project"),
        service: "probe".into(),
        image: var("FLOWINFRA_REMOTE_IMAGE"),
        labels: Default::default(),
        env: Vec::new(),
        command: Some(vec!["sleep".into(), "60".into()]),
        entrypoint: None,
        ports: Vec::new(),
        mounts: Vec::new(),
        healthcheck: None,
        restart: None,
        network: "none".into(),
        aliases: Vec::new(),
        hostname: None,
        options: Default::default(),
    };
    let id = engine.create_container(&spec).await.unwrap();
    println!("created={id}");
    assert!(engine.inspect_container(&id).await.unwrap().is_some());
    engine.remove_container(&id).await.unwrap();
    println!("removed={id}");
}

async fn child_forward() {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|error| panic!("{}", chain(&error)));
    assert!(engine.is_remote());
    let port: u16 = var("FLOWINFRA_REMOTE_PORT").parse().unwrap();
    // The published port is on the engine host's loopback, not this one's.
    match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Err(error) => println!("direct=unreachable ({error})"),
        Ok(_) => panic!("127.0.0.1:{port} answered inside the laptop"),
    }
    let mut forwarder = engine
        .forwarder(
            &var("FLOWINFRA_REMOTE_PROJECT"),
            &var("FLOWINFRA_REMOTE_NETWORK"),
            &var("FLOWINFRA_REMOTE_IMAGE"),
        )
        .await
        .unwrap_or_else(|error| panic!("{}", chain(&error)));
    println!("helper={}", forwarder.helper_id().unwrap_or("none"));
    let local = forwarder.forward_published(port).await.unwrap();
    assert!(local.ip().is_loopback());
    let address = local.to_string();
    let started = Instant::now();
    let first = tokio::task::spawn_blocking({
        let address = address.clone();
        move || timed_gets(&address, 1)
    })
    .await
    .unwrap()
    .unwrap();
    let each = tokio::task::spawn_blocking(move || timed_gets(&address, REQUESTS))
        .await
        .unwrap()
        .unwrap_or_else(|error| panic!("through the forward: {error}"));
    println!(
        "forwarded {REQUESTS} requests, {each:.1} ms each (first {first:.1} ms, total {:?})",
        started.elapsed()
    );
    forwarder.close().await;
}

async fn child_lock() {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|error| panic!("{}", chain(&error)));
    let (project, image) = (var("FLOWINFRA_REMOTE_PROJECT"), var("FLOWINFRA_REMOTE_IMAGE"));
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    let mut read_line = async || {
        use tokio::io::AsyncBufReadExt;
        line.clear();
        stdin.read_line(&mut line).await.unwrap();
        line.trim().to_string()
    };
    say("connected");
    assert_eq!(read_line().await, "go");
    let lock = match engine.try_lock_project(&project, &image).await.unwrap() {
        Ok(lock) => {
            say("acquired");
            lock
        }
        Err(holder) => {
            say(&format!("held by {holder}"));
            assert_eq!(read_line().await, "wait");
            let lock = engine
                .lock_project(&project, &image, Duration::from_secs(60), |_| say("waiting"))
                .await
                .unwrap_or_else(|error| panic!("{}", chain(&error)));
            say("acquired");
            lock
        }
    };
    assert_eq!(read_line().await, "release");
    lock.release().await;
    say("released");
}

async fn child_connect_error() {
    match Engine::connect().await {
        Ok(engine) => panic!("connected to {} although the path is broken", engine.address()),
        Err(error) => {
            println!("{}", chain(&error));
            if let Some(hint) = error.hint() {
                println!("hint: {hint}");
            }
        }
    }
}

/// A MySQL login (when asked) and a Redis PING on this laptop's loopback,
/// where `flowinfra forward` listens.
async fn child_dial() {
    use sqlx::Connection;
    if let Ok(url) = std::env::var("FLOWINFRA_REMOTE_MYSQL_URL") {
        let mut connection = sqlx::MySqlConnection::connect(&url)
            .await
            .unwrap_or_else(|error| panic!("mysql login through the forward: {error}"));
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM User")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        println!("mysql users={users}");
    }
    let address = var("FLOWINFRA_REMOTE_REDIS");
    let password = var("FLOWINFRA_REMOTE_REDIS_PASSWORD");
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(stream, "AUTH {password}\r\nPING\r\n").unwrap();
        let mut answer = String::new();
        let mut buffer = [0u8; 256];
        while !answer.contains("PONG") {
            let n = stream.read(&mut buffer).unwrap();
            assert!(n > 0, "redis closed the connection: {answer:?}");
            answer.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("+OK\r\n"), "{answer:?}");
    println!("redis=PONG");
}

// ---------------------------------------------------------------- helpers

async fn create_in_child(lab: &RemoteLab, name: &str, env: &[(&str, String)]) -> String {
    create_in_child_on(lab, "a", name, env).await
}

/// Runs the `create` scenario on `laptop`, checks it succeeded and that
/// the container it made is gone from the engine, and returns its output.
async fn create_in_child_on(lab: &RemoteLab, laptop: &str, name: &str, env: &[(&str, String)]) -> String {
    let engine = engine().await;
    let image = busybox_image(&engine).await;
    let mut env = env.to_vec();
    env.push(("FLOWINFRA_REMOTE_CONTAINER", name.to_string()));
    env.push(("FLOWINFRA_REMOTE_IMAGE", image));
    let output = lab.child(laptop, laptop, "create", &env);
    let text = output_text(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("remote=true version="), "{text}");
    let id = text
        .lines()
        .find_map(|line| line.strip_prefix("created="))
        .expect(&text);
    assert!(text.contains(&format!("removed={id}")), "{text}");
    assert!(
        engine.inspect_container(id).await.unwrap().is_none(),
        "{id} was removed on the engine"
    );
    text
}

/// `count` HTTP/1.0 GETs of `/`, each on a new connection; the mean in ms.
fn timed_gets(address: &str, count: usize) -> std::io::Result<f64> {
    let started = Instant::now();
    for _ in 0..count {
        let mut stream = std::net::TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if !answer.contains("hi-from-the-engine") {
            return Err(std::io::Error::other(format!("unexpected answer: {answer:?}")));
        }
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0 / count as f64)
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the parent test"))
}

fn say(line: &str) {
    println!("{line}");
    std::io::stdout().flush().unwrap();
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(&format!("\n  caused by: {current}"));
        cause = current.source();
    }
    text
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A child spoken to line by line over stdin/stdout.
struct LineChild {
    child: std::process::Child,
    stdout: BufReader<std::process::ChildStdout>,
    seen: Vec<String>,
}

impl LineChild {
    fn new(mut child: std::process::Child) -> LineChild {
        let stdout = BufReader::new(child.stdout.take().unwrap());
        LineChild {
            child,
            stdout,
            seen: Vec::new(),
        }
    }

    /// The next line the scenario says (libtest's own lines skipped).
    fn next_line(&mut self) -> String {
        loop {
            let mut line = String::new();
            let read = self.stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "the child ended early:\n{}", self.rest());
            // libtest prints "test remote_child ... " before the scenario's first line.
            let line = line.trim();
            let line = line
                .strip_prefix("test remote_child ...")
                .unwrap_or(line)
                .trim()
                .to_string();
            self.seen.push(line.clone());
            if !(line.is_empty() || line.starts_with("running ")) {
                return line;
            }
        }
    }

    fn expect_line(&mut self, expected: &str) {
        let line = self.next_line();
        assert_eq!(line, expected, "seen so far: {:?}", self.seen);
    }

    fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn rest(&mut self) -> String {
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        format!("stdout so far: {:?}\nstderr: {stderr}", self.seen)
    }
}

impl Drop for LineChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
