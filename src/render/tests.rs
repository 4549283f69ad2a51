//! The mapping rules, one per test, on specs loaded as `flowinfra` loads them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::spec::{LoadOptions, load};

/// A spec written to a temporary project (with `migrations/` and `seeds/`
/// folders), loaded as `flowinfra -p demo` loads it.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        std::fs::create_dir_all(dir.path().join("seeds")).unwrap();
        Project { dir }
    }

    fn spec(&self, yaml: &str) -> Spec {
        self.spec_with(yaml, BTreeMap::new())
    }

    fn spec_with(&self, yaml: &str, process_env: BTreeMap<String, String>) -> Spec {
        std::fs::write(self.dir.path().join("stack.yaml"), yaml).unwrap();
        self.load("stack.yaml", process_env)
    }

    fn load(&self, file: &str, process_env: BTreeMap<String, String>) -> Spec {
        let options = LoadOptions {
            files: vec![file.into()],
            project_name: Some("demo".into()),
            working_dir: self.dir.path().to_path_buf(),
            process_env,
            ..LoadOptions::default()
        };
        load(&options)
            .unwrap_or_else(|error| panic!("spec should load:\n{error}"))
            .spec
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn options() -> RenderOptions {
    RenderOptions {
        namespace: None,
        flowinfra_image: "flowinfra:test".into(),
        provisioner_image: None,
        storage: DEFAULT_STORAGE.into(),
        working_dir: PathBuf::from("/"),
    }
}

fn render(spec: &Spec) -> Rendered {
    kubernetes(spec, &options()).unwrap_or_else(|refused| panic!("should render: {refused}"))
}

/// Every rendered object.
fn objects(rendered: &Rendered) -> Vec<&Value> {
    rendered.files.iter().flat_map(|file| &file.objects).collect()
}

/// The object of `kind` named `name`.
fn object<'a>(rendered: &'a Rendered, kind: &str, name: &str) -> &'a Value {
    objects(rendered)
        .into_iter()
        .find(|object| object["kind"] == kind && object["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn has(rendered: &Rendered, kind: &str, name: &str) -> bool {
    objects(rendered)
        .iter()
        .any(|object| object["kind"] == kind && object["metadata"]["name"] == name)
}

const MYSQL: &str = "  db:\n    image: mysql:8.4\n    ports: ['127.0.0.1:3306:3306']\n    environment:\n      \
                     MYSQL_ROOT_PASSWORD: root-secret\n      MYSQL_DATABASE: app\n      MYSQL_USER: app_user\n      \
                     MYSQL_PASSWORD: app-secret\n    volumes: [db_data:/var/lib/mysql]\n    \
                     x-flowinfra: { kind: mysql, migrations: ./migrations, seed: ./seeds }\n";
const MYSQL_VOLUME: &str = "volumes:\n  db_data:\n";

#[test]
fn a_kind_service_becomes_a_stateful_set_with_a_headless_service_and_claim_templates() {
    let project = Project::new();
    let rendered = render(&project.spec(&format!("services:\n{MYSQL}{MYSQL_VOLUME}")));
    let set = object(&rendered, "StatefulSet", "db");
    assert_eq!(set["spec"]["serviceName"], "db-headless");
    assert_eq!(object(&rendered, "Service", "db-headless")["spec"]["clusterIP"], "None");
    assert_eq!(object(&rendered, "Service", "db")["spec"]["type"], "ClusterIP");
    let template = &set["spec"]["volumeClaimTemplates"][0];
    assert_eq!(template["metadata"]["name"], "db-data");
    assert_eq!(template["spec"]["resources"]["requests"]["storage"], "1Gi");
    let container = &set["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/var/lib/mysql");
    assert!(container["startupProbe"]["exec"].is_object());
    assert!(container["readinessProbe"]["exec"].is_object());
    assert!(
        container.get("livenessProbe").is_none(),
        "Docker never restarts an unhealthy container"
    );
    assert!(!has(&rendered, "Deployment", "db"));
}

#[test]
fn environment_secrets_go_to_a_secret_and_never_to_the_config_map() {
    let project = Project::new();
    let rendered = render(&project.spec(&format!("services:\n{MYSQL}{MYSQL_VOLUME}")));
    let config = &object(&rendered, "ConfigMap", "db-config")["data"];
    assert_eq!(
        config,
        &serde_json::json!({"MYSQL_DATABASE": "app", "MYSQL_USER": "app_user"})
    );
    let secret = &object(&rendered, "Secret", "db-secret")["data"];
    let keys: Vec<&String> = secret.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"]);
    // Secret data is base64: "app-secret".
    assert_eq!(secret["MYSQL_PASSWORD"], "YXBwLXNlY3JldA==");
    let text = rendered.to_multi_document_yaml();
    assert!(!text.contains("app-secret") && !text.contains("root-secret"), "{text}");
}

#[test]
fn a_plain_service_becomes_a_deployment_with_a_service_for_its_published_ports() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  web:\n    image: nginx:1.27\n    ports: ['127.0.0.1:8080:80', '9090:90/udp']\n    labels:\n      \
         com.example.team: payments\n",
    ));
    let deployment = object(&rendered, "Deployment", "web");
    assert_eq!(deployment["spec"]["replicas"], 1);
    let pod = &deployment["spec"]["template"];
    assert_eq!(pod["metadata"]["annotations"]["com.example.team"], "payments");
    assert_eq!(pod["spec"]["enableServiceLinks"], false);
    let ports = &object(&rendered, "Service", "web")["spec"]["ports"];
    assert_eq!(ports[0]["port"], 80);
    assert_eq!(ports[1]["protocol"], "UDP");
    assert!(!has(&rendered, "Service", "web-headless"));
    assert_eq!(
        rendered.port_forwards,
        ["kubectl -n demo port-forward service/web 8080:80"],
        "UDP cannot be port-forwarded"
    );
}

#[test]
fn a_service_publishing_nothing_gets_no_service_and_the_report_says_why() {
    let project = Project::new();
    let rendered = render(&project.spec("services:\n  worker:\n    image: busybox\n    command: sleep 1d\n"));
    assert!(!objects(&rendered).iter().any(|object| object["kind"] == "Service"));
    let entry = rendered
        .report
        .of("worker")
        .find(|entry| entry.field == "ports")
        .unwrap();
    assert!(matches!(&entry.outcome, Outcome::NotMapped(why) if why.contains("no Service")));
}

/// The init container of `deployment` (a Deployment) waiting for `target`.
fn init_container<'a>(rendered: &'a Rendered, deployment: &str, target: &str) -> &'a Value {
    object(rendered, "Deployment", deployment)["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .unwrap_or_else(|| panic!("{deployment} has no init containers"))
        .iter()
        .find(|container| container["name"] == format!("wait-{target}"))
        .unwrap_or_else(|| panic!("{deployment} has no init container wait-{target}"))
}

fn report_entry<'a>(rendered: &'a Rendered, service: &'a str, field: &str) -> &'a Outcome {
    &rendered
        .report
        .of(service)
        .find(|entry| entry.field == field)
        .unwrap_or_else(|| panic!("no {field} of {service} in the report"))
        .outcome
}

#[test]
fn a_one_shot_others_wait_for_becomes_a_job() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  migrate:\n    image: app:1\n    restart: \"no\"\n  api:\n    image: app:1\n    depends_on:\n      \
         migrate: { condition: service_completed_successfully }\n",
    ));
    let job = object(&rendered, "Job", "migrate");
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    assert!(has(&rendered, "Deployment", "api"));
}

#[test]
fn service_completed_successfully_waits_for_the_job_through_the_api_with_a_service_account_that_reads_jobs() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  migrate:\n    image: app:1\n    restart: \"no\"\n  api:\n    image: app:1\n    depends_on:\n      \
         migrate: { condition: service_completed_successfully }\n  other:\n    image: app:1\n",
    ));
    let init = init_container(&rendered, "api", "migrate");
    assert_eq!(init["image"], "flowinfra:test");
    assert_eq!(init["command"], serde_json::json!(["flowinfra"]));
    assert_eq!(init["args"], serde_json::json!(["wait", "migrate", "--job"]));
    let pod = |name: &str| object(&rendered, "Deployment", name)["spec"]["template"]["spec"].clone();
    assert_eq!(pod("api")["serviceAccountName"], "flowinfra-wait");
    assert!(
        pod("other").get("serviceAccountName").is_none(),
        "only pods that read Jobs get the account"
    );
    assert_eq!(rendered.files[1].name, "05-flowinfra-wait.yaml");
    assert!(has(&rendered, "ServiceAccount", "flowinfra-wait"));
    let role = object(&rendered, "Role", "flowinfra-wait");
    assert_eq!(
        role["rules"],
        serde_json::json!([{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]}])
    );
    let binding = object(&rendered, "RoleBinding", "flowinfra-wait");
    assert_eq!(binding["roleRef"]["name"], "flowinfra-wait");
    assert_eq!(binding["subjects"][0]["namespace"], "demo");
    assert!(
        matches!(report_entry(&rendered, "api", "depends_on.migrate"),
            Outcome::Mapped(to) if to.starts_with("init container wait-migrate: `flowinfra wait migrate --job` until the Job migrate completed")),
        "{:?}",
        report_entry(&rendered, "api", "depends_on.migrate")
    );
}

#[test]
fn service_started_waits_until_the_headless_service_of_the_target_resolves() {
    let project = Project::new();
    // The target publishes nothing: its headless Service has no ports, and
    // its name still resolves to the pod once it runs.
    let rendered = render(
        &project.spec("services:\n  worker:\n    image: app:1\n  api:\n    image: app:1\n    depends_on: [worker]\n"),
    );
    let init = init_container(&rendered, "api", "worker");
    assert_eq!(
        init["args"],
        serde_json::json!(["wait", "worker", "--dns", "--host", "worker-headless"])
    );
    assert!(init.get("env").is_none(), "a DNS wait needs no credentials");
    let headless = object(&rendered, "Service", "worker-headless");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert!(headless["spec"].get("ports").is_none());
    assert_eq!(headless["spec"]["selector"]["io.flowinfra.service"], "worker");
    assert!(!has(&rendered, "Service", "worker"), "it publishes nothing");
    assert!(!has(&rendered, "ServiceAccount", "flowinfra-wait"));
    assert!(
        matches!(report_entry(&rendered, "api", "depends_on.worker"),
            Outcome::Mapped(to) if to.contains("(service_started) until the headless Service worker-headless resolves, which lists its pod once it runs")),
        "{:?}",
        report_entry(&rendered, "api", "depends_on.worker")
    );
}

#[test]
fn service_healthy_waits_until_the_readiness_probe_from_the_healthcheck_puts_the_pod_behind_its_headless_service() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n    healthcheck:\n      \
         test: [\"CMD\", \"curl\", \"-f\", \"http://localhost/\"]\n  api:\n    image: app:1\n    depends_on:\n      \
         web: { condition: service_healthy }\n",
    ));
    let init = init_container(&rendered, "api", "web");
    assert_eq!(
        init["args"],
        serde_json::json!(["wait", "web", "--dns", "--host", "web-headless"])
    );
    assert_eq!(
        object(&rendered, "Service", "web-headless")["spec"]["ports"][0]["port"],
        80
    );
    assert_eq!(object(&rendered, "Service", "web")["spec"]["type"], "ClusterIP");
    let web = &object(&rendered, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0];
    assert!(web["readinessProbe"]["exec"].is_object(), "{web}");
    assert!(
        matches!(report_entry(&rendered, "api", "depends_on.web"),
            Outcome::Mapped(to) if to.contains("(service_healthy) until the headless Service web-headless resolves, which lists its pod once the readiness probe from its healthcheck passes")),
        "{:?}",
        report_entry(&rendered, "api", "depends_on.web")
    );
}

#[test]
fn waiting_for_a_long_running_service_to_complete_is_not_mapped_and_says_why() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  web:\n    image: nginx\n    restart: always\n  api:\n    image: app:1\n    depends_on:\n      \
         web: { condition: service_completed_successfully }\n",
    ));
    assert!(has(&rendered, "Deployment", "web"));
    assert!(
        object(&rendered, "Deployment", "api")["spec"]["template"]["spec"]
            .get("initContainers")
            .is_none()
    );
    assert!(
        matches!(report_entry(&rendered, "api", "depends_on.web"),
            Outcome::NotMapped(why) if why == "web is long-running (restart: always), a Deployment whose pod never completes"),
        "{:?}",
        report_entry(&rendered, "api", "depends_on.web")
    );
}

#[test]
fn a_service_nobody_waits_for_is_not_a_job_even_with_restart_no() {
    let project = Project::new();
    let rendered = render(&project.spec("services:\n  tool:\n    image: app:1\n    restart: \"no\"\n"));
    assert!(has(&rendered, "Deployment", "tool"));
}

#[test]
fn depending_on_a_kind_adds_an_init_container_running_flowinfra_wait() {
    let project = Project::new();
    let rendered = render(&project.spec(&format!(
        "services:\n{MYSQL}  api:\n    image: app:1\n    depends_on:\n      db: {{ condition: service_healthy }}\n{MYSQL_VOLUME}"
    )));
    let init = &object(&rendered, "Deployment", "api")["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["name"], "wait-db");
    assert_eq!(init["image"], "flowinfra:test");
    assert_eq!(init["args"], serde_json::json!(["wait", "db", "--kind", "mysql"]));
    let env: BTreeMap<String, Value> = init["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|var| (var["name"].as_str().unwrap().to_string(), var["valueFrom"].clone()))
        .collect();
    assert_eq!(env["FLOWINFRA_USER"]["configMapKeyRef"]["key"], "MYSQL_USER");
    assert_eq!(env["FLOWINFRA_PASSWORD"]["secretKeyRef"]["name"], "db-secret");
    assert_eq!(env["FLOWINFRA_PASSWORD"]["secretKeyRef"]["key"], "MYSQL_PASSWORD");
    assert_eq!(env["FLOWINFRA_DATABASE"]["configMapKeyRef"]["key"], "MYSQL_DATABASE");
}

#[test]
fn a_redis_password_in_the_command_moves_to_the_secret() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  cache:\n    image: redis:7\n    ports: ['6379:6379']\n    \
         command: redis-server --requirepass s3cret --appendonly yes\n    x-flowinfra: { kind: redis }\n",
    ));
    let container = &object(&rendered, "StatefulSet", "cache")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][2], "$(REQUIREPASS)");
    assert!(object(&rendered, "Secret", "cache-secret")["data"]["REQUIREPASS"].is_string());
    assert!(!rendered.to_multi_document_yaml().contains("s3cret"));
    assert!(!has(&rendered, "Job", JOB_NAME), "redis has nothing to provision");
}

#[test]
fn every_object_carries_the_project_labels_and_lives_in_the_project_namespace() {
    let project = Project::new();
    let rendered = render(&project.spec(&format!("services:\n{MYSQL}{MYSQL_VOLUME}")));
    assert_eq!(rendered.files[0].name, "00-namespace.yaml");
    assert_eq!(
        object(&rendered, "Namespace", "demo")["metadata"]["labels"]["io.flowinfra.project"],
        "demo"
    );
    for object in objects(&rendered)
        .into_iter()
        .filter(|object| object["kind"] != "Namespace")
    {
        let metadata = &object["metadata"];
        assert_eq!(metadata["namespace"], "demo", "{object}");
        assert_eq!(metadata["labels"]["app.kubernetes.io/part-of"], "demo", "{object}");
        assert_eq!(metadata["labels"]["io.flowinfra.project"], "demo", "{object}");
    }
    let set = object(&rendered, "StatefulSet", "db");
    for labels in [
        &set["metadata"]["labels"],
        &set["spec"]["template"]["metadata"]["labels"],
    ] {
        assert_eq!(labels["app.kubernetes.io/name"], "db");
        assert_eq!(labels["io.flowinfra.service"], "db");
    }
}

#[test]
fn writable_or_oversized_bind_mounts_and_unpushable_builds_are_refused_with_what_to_do() {
    let project = Project::new();
    std::fs::create_dir_all(project.path().join("app")).unwrap();
    std::fs::write(project.path().join("app/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::create_dir_all(project.path().join("big")).unwrap();
    std::fs::write(
        project.path().join("big/dump.sql"),
        vec![b'-'; files::CONFIG_MAP_LIMIT + 1],
    )
    .unwrap();
    let spec = project.spec(
        "services:\n  db:\n    image: postgres:16\n    volumes: ['./data:/var/lib/postgresql/data']\n  \
         big:\n    image: postgres:16\n    volumes: ['./big:/docker-entrypoint-initdb.d:ro']\n  \
         app:\n    build: ./app\n  pushed:\n    build: ./app\n    image: registry.example/app:1\n",
    );
    let refused = kubernetes(&spec, &options()).unwrap_err();
    let services: Vec<&str> = refused.refusals.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(services, ["app", "big", "db"]);
    let text = refused.to_string();
    assert!(
        text.contains(
            "/data at /var/lib/postgresql/data read-write, and no cluster node has that path; use a named \
                       volume for what it writes; mount files it only reads with `:ro`, and render ships them in a \
                       ConfigMap (up to 1 MiB)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "/big at /docker-entrypoint-initdb.d, which cannot travel in a ConfigMap: its files hold 1048577 \
                       bytes, more than the 1 MiB (1048576 bytes) a ConfigMap can hold; bake the files into its image \
                       (COPY them to /docker-entrypoint-initdb.d)"
        ),
        "{text}"
    );
    assert!(text.contains("names no `image:` to push"), "{text}");
}

#[test]
fn a_read_only_bind_mount_of_small_files_becomes_a_config_map_mounted_read_only() {
    let project = Project::new();
    std::fs::create_dir_all(project.path().join("init")).unwrap();
    std::fs::write(
        project.path().join("init/01-extensions.sql"),
        "CREATE EXTENSION pg_trgm;\n",
    )
    .unwrap();
    std::fs::write(project.path().join("nginx.conf"), "events {}\n").unwrap();
    let rendered = render(&project.spec(
        "services:\n  db:\n    image: postgres:16\n    volumes: ['./init:/docker-entrypoint-initdb.d:ro']\n  \
         web:\n    image: nginx\n    volumes: ['./nginx.conf:/etc/nginx/nginx.conf:ro']\n",
    ));
    let config = object(&rendered, "ConfigMap", "db-files-0");
    assert_eq!(config["data"]["01-extensions.sql"], "CREATE EXTENSION pg_trgm;\n");
    let pod = &object(&rendered, "Deployment", "db")["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["configMap"]["name"], "db-files-0");
    let mount = &pod["containers"][0]["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/docker-entrypoint-initdb.d");
    assert_eq!(mount["readOnly"], true);
    assert!(mount.get("subPath").is_none());
    // One file: mounted by subPath, so the rest of /etc/nginx stays the image's.
    let web = &object(&rendered, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(web["volumeMounts"][0]["subPath"], "nginx.conf");
    assert_eq!(web["volumeMounts"][0]["mountPath"], "/etc/nginx/nginx.conf");
    let entry = rendered
        .report
        .of("db")
        .find(|entry| entry.field == "volumes[0]")
        .unwrap();
    assert!(
        matches!(&entry.outcome, Outcome::Mapped(to) if to.starts_with("ConfigMap db-files-0 from ")
            && to.contains("/init (1 file, 26 bytes; a ConfigMap holds at most 1 MiB), read-only at /docker-entrypoint-initdb.d")),
        "{entry:?}"
    );
}

#[test]
fn every_field_a_service_sets_is_in_the_report() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  web:\n    image: nginx\n    container_name: my-web\n    hostname: web1\n    entrypoint: [\"/entry\"]\n    \
         command: [\"serve\"]\n    environment: { A: b }\n    ports: ['8080:80']\n    volumes: ['/cache']\n    \
         healthcheck: { test: [\"CMD\", \"true\"] }\n    restart: always\n    labels: { a: b }\n    pull_policy: always\n    \
         networks: { back: { aliases: [www] } }\nnetworks:\n  back:\n",
    ));
    let fields: Vec<&str> = rendered.report.of("web").map(|entry| entry.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "image",
            "pull_policy",
            "container_name",
            "hostname",
            "entrypoint",
            "command",
            "environment",
            "ports[0]",
            "volumes[0]",
            "healthcheck",
            "restart",
            "labels",
            "networks",
            "networks.back.aliases",
        ]
    );
}

#[test]
fn the_provisioning_spec_loads_and_keeps_secrets_as_variables() {
    let project = Project::new();
    let rendered = render(&project.spec(&format!(
        "services:\n{MYSQL}  mq:\n    image: rabbitmq:4\n    ports: ['5672:5672', '15672:15672']\n    environment:\n      \
         RABBITMQ_DEFAULT_USER: admin\n      RABBITMQ_DEFAULT_PASS: \"mq$$secret\"\n    \
         x-flowinfra: {{ kind: rabbitmq, queues: [jobs] }}\n{MYSQL_VOLUME}"
    )));
    let provisioner = rendered.provisioner.as_ref().unwrap();
    assert!(
        !provisioner.spec.contains("app-secret") && !provisioner.spec.contains("mq$"),
        "{}",
        provisioner.spec
    );
    assert!(
        provisioner.spec.contains("${DB__MYSQL_PASSWORD}"),
        "{}",
        provisioner.spec
    );
    assert!(
        provisioner.spec.contains("migrations: /provision/db/migrations\n"),
        "{}",
        provisioner.spec
    );
    // Loaded as the Job loads it, with the variables its Secret references
    // fill, and the image's folders at a place of this machine.
    let image_root = project.path().join("image-root");
    for folder in ["db/migrations", "db/seed"] {
        std::fs::create_dir_all(image_root.join(folder)).unwrap();
    }
    let spec_text = provisioner
        .spec
        .replace("/provision/", &format!("{}/", image_root.display()));
    std::fs::write(project.path().join("provision.yaml"), spec_text).unwrap();
    let env = BTreeMap::from([
        ("DB__MYSQL_PASSWORD".to_string(), "app-secret".to_string()),
        ("DB__MYSQL_ROOT_PASSWORD".to_string(), "root-secret".to_string()),
        ("MQ__RABBITMQ_DEFAULT_PASS".to_string(), "mq$secret".to_string()),
    ]);
    let spec = project.load("provision.yaml", env);
    assert_eq!(spec.services.keys().collect::<Vec<_>>(), ["db", "mq"]);
    assert_eq!(
        crate::kinds::credentials(&spec.services["mq"]),
        Some(crate::kinds::Credentials::Rabbitmq {
            user: "admin".into(),
            password: "mq$secret".into(),
            vhost: "/".into()
        })
    );
    let Some(crate::spec::KindSettings::Mysql(mysql)) =
        spec.services["db"].flowinfra.as_ref().and_then(|x| x.settings.as_ref())
    else {
        panic!("db is a mysql kind");
    };
    assert!(mysql.migrations.as_ref().unwrap().ends_with("image-root/db/migrations"));
    assert!(mysql.seed.as_ref().unwrap().ends_with("image-root/db/seed"));
    assert!(
        spec.services["mq"].published_port(15672).is_some(),
        "the management port is reached too"
    );
}

#[test]
fn the_provisioner_dockerfile_copies_migrations_and_seed_from_the_project() {
    let project = Project::new();
    let rendered = render(&project.spec(&format!("services:\n{MYSQL}{MYSQL_VOLUME}")));
    let provisioner = rendered.provisioner.clone().unwrap();
    assert_eq!(provisioner.context, std::fs::canonicalize(project.path()).unwrap());
    assert!(
        provisioner
            .dockerfile
            .contains("ARG FLOWINFRA_IMAGE=flowinfra:test\nFROM ${FLOWINFRA_IMAGE}\n")
    );
    assert!(
        provisioner
            .dockerfile
            .contains("COPY [\"migrations\", \"/provision/db/migrations/\"]\n")
    );
    assert!(
        provisioner
            .dockerfile
            .contains("COPY [\"seeds\", \"/provision/db/seed/\"]\n")
    );
    let job = object(&rendered, "Job", JOB_NAME);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["initContainers"][0]["args"][1], "db");
    assert_eq!(pod["containers"][0]["image"], "demo-provisioner:latest");
    assert_eq!(
        pod["containers"][0]["args"],
        serde_json::json!(["-f", "/etc/flowinfra/flowinfra.yaml", "provision"])
    );
}

#[test]
fn the_namespace_is_the_project_name_unless_given() {
    let project = Project::new();
    let spec = project.spec("services:\n  web:\n    image: nginx\n");
    let mut custom = options();
    custom.namespace = Some("staging".into());
    assert_eq!(kubernetes(&spec, &custom).unwrap().namespace, "staging");
    custom.namespace = Some("Not_Valid".into());
    assert!(
        kubernetes(&spec, &custom)
            .unwrap_err()
            .to_string()
            .contains("not a valid namespace name")
    );
}

#[test]
fn strings_yaml_1_1_readers_would_take_for_other_types_stay_quoted() {
    let project = Project::new();
    let rendered = render(&project.spec(
        "services:\n  web:\n    image: nginx\n    environment:\n      A: \"on\"\n      B: \"yes\"\n      C: \"y\"\n      \
         D: \"0755\"\n      E: \"1e3\"\n      F: \"~\"\n      G: \"NO\"\n      H: \"0x1F\"\n",
    ));
    let text = rendered.to_multi_document_yaml();
    for line in [
        "A: \"on\"",
        "B: \"yes\"",
        "C: \"y\"",
        "D: \"0755\"",
        "E: \"1e3\"",
        "F: \"~\"",
        "G: \"NO\"",
        "H: \"0x1F\"",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
}

#[test]
fn runtime_fields_reach_the_container_and_pod_or_the_report_says_why_not() {
    let project = Project::new();
    let spec = project.spec(
        "services:\n  app:\n    image: app:1\n    user: \"1000:1000\"\n    working_dir: /srv\n    tty: true\n    \
         stdin_open: true\n    privileged: true\n    read_only: true\n    stop_grace_period: 30s\n    \
         mem_limit: 512m\n    mem_reservation: 128m\n    cpus: 0.5\n    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n    \
         dns: [10.0.0.53]\n    dns_search: [example.internal]\n    extra_hosts: ['db.local:10.0.0.5', 'cache.local:10.0.0.5']\n    \
         group_add: ['2000']\n    sysctls: { net.core.somaxconn: '1024' }\n    tmpfs: ['/run:size=64m']\n    shm_size: 256m\n    \
         init: true\n    stop_signal: SIGINT\n    pids_limit: 100\n    ulimits: { nofile: 65536 }\n    \
         logging: { driver: json-file }\n    expose: ['9000']\n",
    );
    let rendered = render(&spec);
    let pod = &object(&rendered, "Deployment", "app")["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["workingDir"], "/srv");
    assert_eq!(container["tty"], true);
    assert_eq!(container["stdin"], true);
    let security = &container["securityContext"];
    assert_eq!(security["runAsUser"], 1000);
    assert_eq!(security["runAsGroup"], 1000);
    assert_eq!(security["privileged"], true);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(
        security["capabilities"],
        serde_json::json!({"add": ["NET_ADMIN"], "drop": ["ALL"]})
    );
    assert_eq!(container["resources"]["limits"]["memory"], "536870912");
    assert_eq!(container["resources"]["limits"]["cpu"], "500m");
    assert_eq!(container["resources"]["requests"]["memory"], "134217728");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["dnsConfig"]["nameservers"][0], "10.0.0.53");
    assert_eq!(pod["dnsConfig"]["searches"][0], "example.internal");
    assert_eq!(
        pod["hostAliases"],
        serde_json::json!([{"ip": "10.0.0.5", "hostnames": ["db.local", "cache.local"]}])
    );
    assert_eq!(pod["securityContext"]["supplementalGroups"][0], 2000);
    assert_eq!(pod["securityContext"]["sysctls"][0]["name"], "net.core.somaxconn");
    let volumes = pod["volumes"].as_array().unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["emptyDir"] == serde_json::json!({"medium": "Memory", "sizeLimit": "64Mi"}))
    );
    assert!(
        volumes
            .iter()
            .any(|v| v["emptyDir"] == serde_json::json!({"medium": "Memory", "sizeLimit": "268435456"}))
    );
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mount| mount["mountPath"].as_str().unwrap())
        .collect();
    assert!(mounts.contains(&"/run") && mounts.contains(&"/dev/shm"), "{mounts:?}");
    for field in ["init", "stop_signal", "pids_limit", "ulimits", "logging", "expose"] {
        assert!(
            matches!(report_entry(&rendered, "app", field), Outcome::NotMapped(why) if why != runtime::UNLISTED),
            "{field}: {:?}",
            report_entry(&rendered, "app", field)
        );
    }
    assert_every_field_is_reported(&rendered, &spec);
}

/// Every field each service sets has an entry, and no entry is the
/// fallback that says no rule knows the field.
fn assert_every_field_is_reported(rendered: &Rendered, spec: &Spec) {
    for service in spec.services.values() {
        for field in runtime::set_fields(service) {
            let entries: Vec<&Entry> = rendered
                .report
                .of(&service.name)
                .filter(|entry| {
                    entry.field == field
                        || entry.field.starts_with(&format!("{field}."))
                        || entry.field.starts_with(&format!("{field}["))
                        || entry.field.starts_with(&format!("{field} ("))
                })
                .collect();
            assert!(!entries.is_empty(), "{}: no entry for {field}", service.name);
            for entry in entries {
                assert_ne!(
                    entry.outcome,
                    Outcome::NotMapped(runtime::UNLISTED.into()),
                    "{}: no rule reports {field}",
                    service.name
                );
            }
        }
    }
}

#[test]
fn a_field_no_rule_knows_still_gets_an_entry() {
    let project = Project::new();
    let spec = project.spec("services:\n  app:\n    image: app:1\n    cgroup_parent: custom\n");
    // As a field no rule reports would stand: set, and only `image` reported.
    let mut report = TranslationReport::default();
    report.mapped("app", "image", "container image app:1");
    runtime::report_unlisted(&spec.services["app"], &mut report);
    assert_eq!(
        report.of("app").map(|entry| entry.field.as_str()).collect::<Vec<_>>(),
        ["image", "cgroup_parent"]
    );
    assert_eq!(
        report.of("app").last().unwrap().outcome,
        Outcome::NotMapped(runtime::UNLISTED.into())
    );
}

/// `file` (relative to the repository) loaded as `flowinfra -f FILE` loads it, without the process's variables.
fn load_file(file: &Path, project: Option<&str>) -> Result<Spec, String> {
    let options = LoadOptions {
        files: vec![file.to_path_buf()],
        project_name: project.map(str::to_string),
        working_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        ..LoadOptions::default()
    };
    load(&options)
        .map(|loaded| loaded.spec)
        .map_err(|error| error.to_string())
}

#[test]
fn the_report_of_every_example_names_every_field_with_a_rule() {
    for file in [
        "compose/flowinfra.yaml",
        "examples/traffic-system/compose.yaml",
        "examples/agrovet/compose.yaml",
        "examples/agrovet/single-server.yaml",
        "tests/fixtures/render/depends-on.yaml",
    ] {
        let spec = load_file(Path::new(file), None).unwrap_or_else(|error| panic!("{file}: {error}"));
        let rendered = kubernetes(&spec, &options()).unwrap_or_else(|refused| panic!("{file}: {refused}"));
        assert_every_field_is_reported(&rendered, &spec);
    }
}

#[test]
fn the_report_of_every_compose_corpus_file_names_every_field_with_a_rule() {
    // The published Compose files of tests/fixtures/compose-corpus use nearly
    // every field flowinfra loads: a field added to the spec without a render
    // rule shows up here. What render refuses (local paths, builds with no
    // image to push) is taken out first, so the rest of each file is reported.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose-corpus");
    let mut rendered_files = 0;
    for folder in std::fs::read_dir(&corpus).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&folder).unwrap() {
            let file = file.unwrap().path();
            if !file.extension().is_some_and(|ext| ext == "yml" || ext == "yaml") {
                continue;
            }
            let load_options = LoadOptions {
                files: vec![file.clone()],
                project_name: Some("corpus".into()),
                working_dir: folder.clone(),
                ..LoadOptions::default()
            };
            // Files flowinfra does not load (tests/compose_corpus.rs says which and why) have nothing to render.
            let Ok(loaded) = load(&load_options) else { continue };
            let mut spec = loaded.spec;
            for service in spec.services.values_mut() {
                service
                    .volumes
                    .retain(|mount| !matches!(mount.source, crate::spec::MountSource::Bind { .. }));
                if service.build.is_some() {
                    service.image = format!("registry.example/{}:1", service.name);
                }
            }
            // What render refuses besides (`network_mode`, host devices…) has no report.
            let Ok(rendered) = kubernetes(&spec, &options()) else {
                continue;
            };
            assert_every_field_is_reported(&rendered, &spec);
            rendered_files += 1;
        }
    }
    assert!(rendered_files >= 28, "only {rendered_files} corpus files rendered");
}

#[test]
fn fields_without_a_typed_rule_have_a_reason_by_name_or_the_fallback() {
    for field in ["annotations", "storage_opt", "mac_address", "networks"] {
        assert!(runtime::reason_by_name(field).is_some(), "{field}");
    }
    assert_eq!(runtime::reason_by_name("image"), None);
}

#[test]
fn a_service_marked_job_becomes_a_job_though_nobody_waits_for_it() {
    let project = Project::new();
    let rendered = render(&project.spec("services:\n  backfill:\n    image: app:1\n    x-flowinfra: { job: true }\n"));
    assert!(has(&rendered, "Job", "backfill"));
    assert!(matches!(
        report_entry(&rendered, "backfill", "x-flowinfra (job)"),
        Outcome::Mapped(_)
    ));
}

#[cfg(unix)]
#[test]
fn a_read_only_mount_of_a_socket_is_refused_with_its_own_hint() {
    let project = Project::new();
    let _listener = std::os::unix::net::UnixListener::bind(project.path().join("engine.sock")).unwrap();
    let spec = project
        .spec("services:\n  agent:\n    image: agent:1\n    volumes: ['./engine.sock:/var/run/docker.sock:ro']\n");
    let text = kubernetes(&spec, &options()).unwrap_err().to_string();
    assert!(
        text.contains(
            "is neither a file nor a folder (a socket or a device), which no cluster node shares; remove \
                       the mount: a pod cannot reach this machine's sockets or devices"
        ),
        "{text}"
    );
}
