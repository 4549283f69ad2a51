//! What the rendered manifests run in a cluster, run here against the real
//! engine and the stand-in servers: `flowinfra wait` on a service that is
//! still starting, and the provisioning Job's container — the flowinfra
//! image built from the root Dockerfile (on the local stand-in base), the
//! provisioner image built from the Dockerfile `render` wrote — run on the
//! stack's network with the Job's arguments, environment and spec taken
//! from the rendered manifests, reaching the services by their DNS names
//! (for Flowlite, and for the traffic-system example, whose PostgreSQL gets
//! its init folder from the rendered ConfigMap). And `flowinfra wait --dns`
//! in a container on a network, as an init container in a pod.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::Value;
use support::{Flowinfra, FlowliteStack, assert_success, stderr};

const UNPROVISIONED: &[&str] = &["tests/fixtures/render/unprovisioned-flowlite.yaml"];
const REDIS_PASSWORD: &str = "flowlite_redis_pass_2024";
const LOCAL_BASE: &str = "flowinfra-standin/base:test";

#[test]
fn wait_returns_once_the_service_answers_its_protocol() {
    let stack = FlowliteStack::of_spec("render-wait", UNPROVISIONED);
    let port = stack.port("MYSQL_PORT").to_string();
    // Started before the server exists: it must keep probing until MySQL lets the app user in.
    let waiting = Flowinfra::new()
        .args([
            "wait",
            "mysql",
            "--kind",
            "mysql",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ])
        .args([
            "--user",
            "flowlite_user",
            "--database",
            "flowlite_db",
            "--timeout",
            "180",
        ])
        .env("FLOWINFRA_PASSWORD", "flowlite_password")
        .start();
    stack.flowinfra(&["up", "mysql"]).success();
    let ended = waiting.wait();
    assert!(ended.status.success(), "wait failed: {}", ended.stderr);
    assert!(
        ended.stderr.contains(&format!("mysql is ready at 127.0.0.1:{port} (")),
        "{}",
        ended.stderr
    );
    assert!(!ended.stderr.contains("flowlite_password"), "{}", ended.stderr);
}

#[test]
fn wait_says_why_when_refused_or_out_of_time() {
    let stack = FlowliteStack::of_spec("render-wait-fail", UNPROVISIONED);
    stack.flowinfra(&["up", "redis"]).success();
    let port = stack.port("REDIS_PORT").to_string();
    let wait = |password: &str, port: &str, timeout: &str| {
        Flowinfra::new()
            .args([
                "wait",
                "redis",
                "--kind",
                "redis",
                "--host",
                "127.0.0.1",
                "--port",
                port,
            ])
            .args(["--timeout", timeout])
            .env("FLOWINFRA_PASSWORD", password)
            .run()
    };
    let ready = wait(REDIS_PASSWORD, &port, "10").success();
    assert!(
        ready.stderr().contains("redis is ready at 127.0.0.1:"),
        "{}",
        ready.stderr()
    );

    let refused = wait("not-the-password", &port, "10").failure(1);
    assert!(
        refused.stderr().contains(&format!(
            "error: redis (redis at 127.0.0.1:{port}) refused the credentials"
        )),
        "{}",
        refused.stderr()
    );
    assert!(!refused.stderr().contains("not-the-password"), "{}", refused.stderr());

    let closed = support::free_port().to_string();
    let late = wait(REDIS_PASSWORD, &closed, "1").failure(1);
    assert!(
        late.stderr().contains(&format!(
            "error: redis (redis at 127.0.0.1:{closed}) was not ready after 1s: "
        )),
        "{}",
        late.stderr()
    );

    let incomplete = Flowinfra::new()
        .args(["wait", "db", "--kind", "mysql"])
        .run()
        .failure(2);
    assert!(
        incomplete
            .stderr()
            .contains("a mysql service needs --user (FLOWINFRA_USER)"),
        "{}",
        incomplete.stderr()
    );
}

#[test]
fn the_provisioning_job_migrates_seeds_and_declares_then_changes_nothing() {
    let images = Images::new("flowlite");
    let stack = FlowliteStack::of_spec("render-job", UNPROVISIONED);
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));

    build_flowinfra_image(&images.flowinfra);

    // The manifests of the full Flowlite spec, and its provisioner image.
    let manifests = tempfile::tempdir().unwrap();
    Flowinfra::new()
        .args([
            "-f",
            "compose/flowinfra.yaml",
            "-p",
            &stack.project.name,
            "render",
            "kubernetes",
        ])
        .args(["--output", manifests.path().to_str().unwrap()])
        .args(["--image", &images.flowinfra, "--provisioner-image", &images.provisioner])
        .run()
        .success();
    docker_build(
        &images.provisioner,
        repository,
        Some(&manifests.path().join("provisioner.Dockerfile")),
        &[],
    );

    let objects = yaml_documents(&std::fs::read_to_string(manifests.path().join("20-provision.yaml")).unwrap());
    let job: Job = object_of_kind(&objects, "Job");
    let spec_map: ConfigMap = object_of_kind(&objects, "ConfigMap");
    let pod = job.spec.unwrap().template.spec.unwrap();
    let container = &pod.containers[0];
    assert_eq!(container.image.as_deref(), Some(images.provisioner.as_str()));
    let init_images: Vec<_> = pod
        .init_containers
        .iter()
        .flatten()
        .map(|c| c.image.clone().unwrap())
        .collect();
    assert_eq!(init_images.len(), 3, "a wait for mysql, rabbitmq and minio");
    let spec_file = manifests.path().join("provision-spec.yaml");
    std::fs::write(&spec_file, &spec_map.data.unwrap()["flowinfra.yaml"]).unwrap();
    let environment = job_environment(manifests.path(), container.env.as_deref().unwrap_or_default());
    let arguments: Vec<String> = container.args.clone().unwrap();
    assert_eq!(container.command.as_deref(), Some(&["flowinfra".to_string()][..]));

    stack.flowinfra(&["up"]).success();
    let run_job = || {
        let mut command = Command::new("docker");
        command
            .args(["run", "--rm", "--network", &stack.project.network()])
            .arg("-v")
            .arg(format!("{}:/etc/flowinfra/flowinfra.yaml:ro", spec_file.display()))
            .args(["-e", "NO_COLOR=1"]);
        for (name, value) in &environment {
            command.args(["-e", &format!("{name}={value}")]);
        }
        command.args(["--entrypoint", "flowinfra", &images.provisioner]);
        command.args(&arguments);
        let output = command.output().expect("run docker");
        assert_success(&output, "the provisioning Job's container");
        stderr(&output)
    };

    let first = run_job();
    for expected in [
        "mysql: migrating (1 pending: 20251105000001)",
        "mysql: seed 2025-11-05.2 loaded",
        "rabbitmq: declared 1 queue on vhost /",
        "minio: 2 buckets ready (2 created, 1 policy set)",
        "3 services provisioned",
    ] {
        assert!(first.contains(expected), "no `{expected}` in:\n{first}");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let users: i64 = runtime.block_on(async {
        let mut mysql = stack.mysql().await;
        sqlx::query_scalar("SELECT COUNT(*) FROM `User`")
            .fetch_one(&mut mysql)
            .await
            .unwrap()
    });
    assert!(users >= 3, "the seed's users are in the database ({users})");

    let second = run_job();
    assert!(!second.contains("migrating") && !second.contains("seed"), "{second}");
    assert!(second.contains("minio: 2 buckets ready\n"), "{second}");
    assert!(second.contains("rabbitmq: declared 1 queue on vhost /"), "{second}");
    assert!(second.contains("3 services provisioned"), "{second}");
}

/// The two images this test builds, removed when it ends.
struct Images {
    flowinfra: String,
    provisioner: String,
}

impl Images {
    /// Tags of this process and `test`: tests running side by side build their own.
    fn new(test: &str) -> Self {
        let id = std::process::id();
        Images {
            flowinfra: format!("flowinfra-test/flowinfra:{test}-{id}"),
            provisioner: format!("flowinfra-test/provisioner:{test}-{id}"),
        }
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rmi", "--force", &self.provisioner, &self.flowinfra])
            .output();
    }
}

/// The flowinfra image, from the root Dockerfile, with this build's binary.
fn build_flowinfra_image(tag: &str) {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(repository.join("Dockerfile"), context.path().join("Dockerfile")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_flowinfra"), context.path().join("flowinfra")).unwrap();
    docker_build(
        tag,
        context.path(),
        None,
        &[("BUILDER", LOCAL_BASE), ("BASE", LOCAL_BASE), ("PREBUILT", "flowinfra")],
    );
}

/// `docker build` with the classic builder (what engine 20.10 offers without BuildKit).
fn docker_build(tag: &str, context: &Path, dockerfile: Option<&Path>, build_args: &[(&str, &str)]) {
    let mut command = Command::new("docker");
    command
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "--quiet", "-t", tag]);
    if let Some(dockerfile) = dockerfile {
        command.arg("-f").arg(dockerfile);
    }
    for (name, value) in build_args {
        command.args(["--build-arg", &format!("{name}={value}")]);
    }
    let output = command.arg(context).output().expect("run docker build");
    assert_success(&output, &format!("docker build -t {tag}"));
}

/// The variables the Job's container gets, resolved from the rendered
/// Secrets as the kubelet resolves `secretKeyRef`s.
fn job_environment(manifests: &Path, env: &[k8s_openapi::api::core::v1::EnvVar]) -> BTreeMap<String, String> {
    let mut secrets: BTreeMap<String, Secret> = BTreeMap::new();
    for entry in std::fs::read_dir(manifests).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("10-") {
            for object in yaml_documents(&std::fs::read_to_string(&path).unwrap()) {
                if object["kind"] == "Secret" {
                    let secret: Secret = serde_json::from_value(object).unwrap();
                    secrets.insert(secret.metadata.name.clone().unwrap(), secret);
                }
            }
        }
    }
    env.iter()
        .map(|var| {
            let reference = var
                .value_from
                .as_ref()
                .and_then(|from| from.secret_key_ref.as_ref())
                .unwrap();
            let data = secrets[&reference.name].data.as_ref().unwrap();
            let value = String::from_utf8(data[&reference.key].0.clone()).unwrap();
            (var.name.clone(), value)
        })
        .collect()
}

fn object_of_kind<T: serde::de::DeserializeOwned>(objects: &[Value], kind: &str) -> T {
    let object = objects.iter().find(|object| object["kind"] == kind).unwrap().clone();
    serde_json::from_value(object).unwrap()
}

/// Every document of a multi-document YAML text, as JSON.
fn yaml_documents(text: &str) -> Vec<Value> {
    Yaml::load_from_str(text).unwrap().iter().map(to_json).collect()
}

fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Value(Scalar::String(text)) | Yaml::Representation(text, _, _) => Value::String(text.to_string()),
        Yaml::Value(Scalar::Integer(number)) => Value::from(*number),
        Yaml::Value(Scalar::Boolean(flag)) => Value::Bool(*flag),
        Yaml::Value(Scalar::FloatingPoint(number)) => Value::from(number.into_inner()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| (key.as_str().unwrap().to_string(), to_json(value)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// A network and containers this test creates, removed when it ends.
struct Scratch {
    network: String,
    containers: Vec<String>,
}

impl Scratch {
    fn new(test: &str) -> Self {
        let network = format!("flowinfra-test-{test}-{}", std::process::id());
        let output = Command::new("docker")
            .args(["network", "create", &network])
            .output()
            .expect("run docker");
        assert_success(&output, "docker network create");
        Scratch {
            network,
            containers: Vec::new(),
        }
    }

    fn container(&mut self, role: &str) -> String {
        let name = format!("{}-{role}", self.network);
        self.containers.push(name.clone());
        name
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = Command::new("docker").args(["rm", "--force", container]).output();
        }
        let _ = Command::new("docker").args(["network", "rm", &self.network]).output();
    }
}

#[test]
fn wait_dns_returns_once_the_name_resolves_and_times_out_while_it_does_not() {
    // `flowinfra wait NAME --dns --host NAME-headless`, the init container of
    // a service that depends on a plain one, run in a container as in a pod:
    // here the name appears when the target container starts on the network
    // (in a cluster, when the headless Service lists the pod as ready).
    let mut scratch = Scratch::new("render-dns");
    let binary = format!("{}:/usr/local/bin/flowinfra:ro", env!("CARGO_BIN_EXE_flowinfra"));
    let waiter = scratch.container("waiter");
    let waiting = Command::new("docker")
        .args(["run", "--name", &waiter, "--network", &scratch.network, "-v", &binary])
        .args(["-e", "NO_COLOR=1", LOCAL_BASE])
        .args([
            "flowinfra",
            "wait",
            "worker",
            "--dns",
            "--host",
            "worker-headless",
            "--timeout",
            "120",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run docker");
    // Let it look up the name in vain a few times first.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = Command::new("docker")
        .args(["inspect", "--format", "{{.State.Running}}", &waiter])
        .output()
        .expect("run docker");
    assert_eq!(
        String::from_utf8_lossy(&status.stdout).trim(),
        "true",
        "the wait must still be waiting"
    );
    let target = scratch.container("worker");
    let started = Command::new("docker")
        .args(["run", "-d", "--name", &target, "--network", &scratch.network])
        .args(["--network-alias", "worker-headless", LOCAL_BASE, "sleep", "300"])
        .output()
        .expect("run docker");
    assert_success(&started, "docker run the target");
    let ended = waiting.wait_with_output().expect("wait for the waiting container");
    let text = String::from_utf8_lossy(&ended.stderr);
    assert_eq!(ended.status.code(), Some(0), "{text}");
    assert!(text.contains("worker is ready: worker-headless resolves to "), "{text}");

    // A name nothing carries: the wait ends with the reason, and fails.
    let absent = Command::new("docker")
        .args(["run", "--rm", "--network", &scratch.network, "-v", &binary])
        .args(["-e", "NO_COLOR=1", LOCAL_BASE])
        .args([
            "flowinfra",
            "wait",
            "gone",
            "--dns",
            "--host",
            "gone-headless",
            "--timeout",
            "2",
        ])
        .output()
        .expect("run docker");
    let text = stderr(&absent);
    assert_eq!(absent.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error: gone: gone-headless did not resolve after 2s (no ready pod behind it): "),
        "{text}"
    );
}

#[test]
fn wait_job_outside_a_pod_says_it_has_no_kubernetes_api() {
    let output = Flowinfra::new()
        .args(["wait", "migrate", "--job", "--timeout", "1"])
        .run()
        .failure(1);
    assert!(
        output.stderr().contains(
            "error: cannot reach the Kubernetes API: KUBERNETES_SERVICE_HOST is not set: this is not a Kubernetes pod"
        ),
        "{}",
        output.stderr()
    );
    let neither = Flowinfra::new().args(["wait", "migrate"]).run().failure(2);
    assert!(
        neither.stderr().contains("--kind <KIND>") && neither.stderr().contains("--dns"),
        "{}",
        neither.stderr()
    );
}

#[test]
fn the_traffic_system_job_migrates_with_the_init_folder_its_config_map_carries() {
    // The example's third migration builds a trigram index: it needs the
    // extension `postgres/init/01-extensions.sql` creates on the first start.
    // Here that folder reaches the server only through the rendered
    // ConfigMap, projected into files as the kubelet projects it.
    let images = Images::new("traffic");
    let manifests = tempfile::tempdir().unwrap();
    let init = tempfile::tempdir().unwrap();
    let stack = FlowliteStack::of_spec(
        "render-traffic",
        &["tests/fixtures/render/unprovisioned-traffic-system.yaml"],
    );
    build_flowinfra_image(&images.flowinfra);
    Flowinfra::new()
        .args([
            "-f",
            "examples/traffic-system/compose.yaml",
            "-f",
            "examples/traffic-system/offline.yaml",
        ])
        .args(["-p", &stack.project.name, "render", "kubernetes"])
        .args(["--output", manifests.path().to_str().unwrap()])
        .args(["--image", &images.flowinfra, "--provisioner-image", &images.provisioner])
        .run()
        .success();
    docker_build(
        &images.provisioner,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/traffic-system"),
        Some(&manifests.path().join("provisioner.Dockerfile")),
        &[],
    );

    let postgres = yaml_documents(&std::fs::read_to_string(manifests.path().join("10-postgres.yaml")).unwrap());
    let files = postgres
        .iter()
        .find(|object| object["kind"] == "ConfigMap" && object["metadata"]["name"] == "postgres-files-1")
        .expect("the ConfigMap of the init folder");
    let files: ConfigMap = serde_json::from_value(files.clone()).unwrap();
    for (key, text) in files.data.unwrap() {
        std::fs::write(init.path().join(key), text).unwrap();
    }
    // The server runs as `postgres`, as the kubelet's 0644 files allow.
    let init_dir = init.path().to_str().unwrap();
    assert_success(
        &Command::new("chmod").args(["-R", "a+rX", init_dir]).output().unwrap(),
        "chmod",
    );
    stack.flowinfra_with(&["up"], &[("INIT_DIR", init_dir)]).success();

    let objects = yaml_documents(&std::fs::read_to_string(manifests.path().join("20-provision.yaml")).unwrap());
    let job: Job = object_of_kind(&objects, "Job");
    let spec_map: ConfigMap = object_of_kind(&objects, "ConfigMap");
    let container = job.spec.unwrap().template.spec.unwrap().containers[0].clone();
    let spec_file = manifests.path().join("provision-spec.yaml");
    std::fs::write(&spec_file, &spec_map.data.unwrap()["flowinfra.yaml"]).unwrap();
    let environment = job_environment(manifests.path(), container.env.as_deref().unwrap_or_default());
    let run_job = || {
        let mut command = Command::new("docker");
        command
            .args(["run", "--rm", "--network", &stack.project.network()])
            .arg("-v")
            .arg(format!("{}:/etc/flowinfra/flowinfra.yaml:ro", spec_file.display()))
            .args(["-e", "NO_COLOR=1"]);
        for (name, value) in &environment {
            command.args(["-e", &format!("{name}={value}")]);
        }
        command.args(["--entrypoint", "flowinfra", &images.provisioner]);
        command.args(container.args.clone().unwrap());
        let output = command.output().expect("run docker");
        assert_success(&output, "the provisioning Job's container");
        stderr(&output)
    };
    let first = run_job();
    for expected in [
        "postgres: migrating (3 pending",
        "rabbitmq: declared 5 queues on vhost /",
        "minio: 3 buckets ready (3 created",
        "3 services provisioned",
    ] {
        assert!(first.contains(expected), "no `{expected}` in:\n{first}");
    }
    let second = run_job();
    assert!(!second.contains("migrating") && !second.contains("seeding"), "{second}");
    assert!(second.contains("3 services provisioned"), "{second}");
}
