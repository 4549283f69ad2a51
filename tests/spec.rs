//! The spec loader end to end on real files: interpolation from `.env`,
//! `--env-file` and the process, merging of `-f` files, and every validation
//! error with its position and hint. Pure: no engine involved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flowinfra::spec::{self, Kind, KindSettings, LoadOptions, Loaded, MountSource, PullPolicy, SpecError};

/// A project directory with spec files, written to a temporary directory.
struct Project {
    dir: tempfile::TempDir,
    files: Vec<PathBuf>,
    env: BTreeMap<String, String>,
    env_files: Vec<PathBuf>,
}

impl Project {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            files: Vec::new(),
            env: BTreeMap::new(),
            env_files: Vec::new(),
        }
    }

    fn file(mut self, name: &str, text: &str) -> Self {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        if name.ends_with(".yaml") {
            self.files.push(PathBuf::from(name));
        }
        self
    }

    fn dir(self, name: &str) -> Self {
        std::fs::create_dir_all(self.dir.path().join(name)).unwrap();
        self
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    fn env_file(mut self, name: &str) -> Self {
        self.env_files.push(PathBuf::from(name));
        self
    }

    fn options(&self) -> LoadOptions {
        LoadOptions {
            files: self.files.clone(),
            project_name: None,
            env_files: self.env_files.clone(),
            working_dir: self.dir.path().to_path_buf(),
            process_env: self.env.clone(),
        }
    }

    fn load(&self) -> Result<Loaded, SpecError> {
        spec::load(&self.options())
    }

    fn ok(&self) -> Loaded {
        self.load().unwrap_or_else(|err| panic!("spec should load:\n{err}"))
    }

    /// The single error's message, line and column.
    fn error(&self) -> (String, usize, usize) {
        let err = self.load().expect_err("spec should be rejected");
        assert_eq!(err.diagnostics.len(), 1, "expected one error, got:\n{err}");
        let d = &err.diagnostics[0];
        let position = d.position.as_ref().expect("error has a position");
        (d.message.clone(), position.line, position.column)
    }

    fn hint(&self) -> String {
        let err = self.load().expect_err("spec should be rejected");
        err.diagnostics[0].hint.clone().unwrap_or_default()
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }
}

fn one_service(body: &str) -> Project {
    Project::new().file("spec.yaml", &format!("services:\n  app:\n{body}"))
}

const MYSQL: &str = "services:
  db:
    image: mysql:8.4
    environment:
      MYSQL_ROOT_PASSWORD: root
      MYSQL_DATABASE: app
      MYSQL_USER: app
      MYSQL_PASSWORD: ${DB_PASSWORD:-secret-pass}
    ports: ['127.0.0.1:${DB_PORT:-3306}:3306']
    volumes: ['data:/var/lib/mysql']
    x-flowinfra:
      kind: mysql
volumes:
  data:
";

// ---- interpolation -------------------------------------------------------

#[test]
fn variables_come_from_dotenv_then_env_file_then_process() {
    let project = Project::new()
        .file(
            "spec.yaml",
            "services:\n  app:\n    image: a:${A}\n    environment:\n      B: ${B}\n      C: ${C}\n",
        )
        .file(".env", "A=dotenv\nB=dotenv\nC=dotenv\n")
        .file("extra.env", "B=envfile\nC=envfile\n")
        .env_file("extra.env")
        .env("C", "process");
    let loaded = project.ok();
    let app = &loaded.spec.services["app"];
    assert_eq!(app.image, "a:dotenv");
    assert_eq!(app.environment["B"], "envfile");
    assert_eq!(app.environment["C"], "process");
}

#[test]
fn every_interpolation_form_resolves() {
    let project = one_service(
        "    image: busybox
    environment:
      PLAIN: $SET
      BRACED: ${SET}
      DEFAULT_UNSET: ${UNSET:-d1}
      DEFAULT_EMPTY: ${EMPTY:-d2}
      DASH_EMPTY: ${EMPTY-d3}
      DASH_UNSET: ${UNSET-d4}
      ALT_SET: ${SET:+alt1}
      ALT_EMPTY: ${EMPTY:+alt2}
      PLUS_EMPTY: ${EMPTY+alt3}
      PLUS_UNSET: ${UNSET+alt4}
      QUESTION_SET: ${SET:?must be set}
      DOLLAR: $$SET
",
    )
    .env("SET", "value")
    .env("EMPTY", "");
    let env = &project.ok().spec.services["app"].environment;
    let expected = [
        ("PLAIN", "value"),
        ("BRACED", "value"),
        ("DEFAULT_UNSET", "d1"),
        ("DEFAULT_EMPTY", "d2"),
        ("DASH_EMPTY", ""),
        ("DASH_UNSET", "d4"),
        ("ALT_SET", "alt1"),
        ("ALT_EMPTY", ""),
        ("PLUS_EMPTY", "alt3"),
        ("PLUS_UNSET", ""),
        ("QUESTION_SET", "value"),
        ("DOLLAR", "$SET"),
    ];
    for (name, value) in expected {
        assert_eq!(env[name], value, "{name}");
    }
}

#[test]
fn a_missing_required_variable_names_the_variable_file_and_line() {
    let project = one_service("    image: busybox\n    environment:\n      PASSWORD: ${DB_PASSWORD:?set it in .env}\n");
    let (message, line, column) = project.error();
    assert_eq!(message, "required variable DB_PASSWORD is not set: set it in .env");
    assert_eq!((line, column), (5, 17));
    let err = project.load().unwrap_err().to_string();
    assert!(err.contains("spec.yaml:5:17: required variable DB_PASSWORD"), "{err}");
}

#[test]
fn a_required_variable_that_is_empty_fails_only_with_the_colon_form() {
    let empty_ok = one_service("    image: busybox\n    environment:\n      A: ${E?x}\n").env("E", "");
    assert_eq!(empty_ok.ok().spec.services["app"].environment["A"], "");
    let empty_bad = one_service("    image: busybox\n    environment:\n      A: ${E:?x}\n").env("E", "");
    assert!(empty_bad.error().0.starts_with("required variable E is not set"));
}

#[test]
fn an_unterminated_expression_is_reported_at_its_dollar() {
    let (message, line, column) = one_service("    image: \"busybox:${TAG\"\n").error();
    assert!(message.contains("unterminated"), "{message}");
    assert_eq!((line, column), (3, 21));
}

// ---- merging --------------------------------------------------------------

#[test]
fn override_files_merge_as_compose_merges_them() {
    let project = Project::new()
        .file(
            "base.yaml",
            "services:
  r:
    image: redis:7
    command: [redis-server, --appendonly, 'yes']
    environment: [A=1, B=2]
    ports: ['127.0.0.1:6379:6379']
    healthcheck:
      test: [CMD, redis-cli, ping]
      interval: 5s
",
        )
        .file(
            "override.yaml",
            "services:
  r:
    image: standin/redis:test
    command: [redis-server]
    environment:
      B: three
    ports: ['127.0.0.1:6379:6379', '127.0.0.1:16379:6380']
    healthcheck:
      test: [CMD, true]
",
        );
    let loaded = project.ok();
    let r = &loaded.spec.services["r"];
    assert_eq!(r.image, "standin/redis:test");
    assert_eq!(r.command.as_deref(), Some(&["redis-server".to_string()][..]));
    assert_eq!(r.environment["A"], "1");
    assert_eq!(r.environment["B"], "three");
    assert_eq!(r.ports.len(), 2, "duplicate port collapsed: {:?}", r.ports);
    let healthcheck = r.healthcheck.as_ref().unwrap();
    assert_eq!(healthcheck.test, ["CMD", "true"]);
    assert_eq!(healthcheck.interval, Some(std::time::Duration::from_secs(5)));
}

#[test]
fn an_empty_or_comment_only_override_adds_nothing() {
    let base = "services:\n  app:\n    image: busybox\n";
    let alone = Project::new().file("base.yaml", base).ok();
    let project = Project::new()
        .file("base.yaml", base)
        .file("empty.yaml", "")
        .file("comments.yaml", "# nothing to override yet\n\n");
    assert_eq!(project.ok().spec.services, alone.spec.services);
}

#[test]
fn the_merged_files_must_still_declare_services() {
    let project = Project::new().file("empty.yaml", "# nothing\n").file("also.yaml", "");
    let (message, line, column) = project.error();
    assert_eq!(
        (message.as_str(), line, column),
        ("the spec declares no services", 1, 1)
    );
    // An empty first file is skipped too, as Compose skips it.
    let project = Project::new()
        .file("empty.yaml", "")
        .file("real.yaml", "services:\n  app:\n    image: busybox\n");
    assert_eq!(project.ok().spec.services["app"].image, "busybox");
}

#[test]
fn the_shipped_offline_override_swaps_images_only() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = LoadOptions {
        files: vec![repo.join("compose/flowinfra.yaml"), repo.join("compose/offline.yaml")],
        project_name: Some("offline-check".into()),
        env_files: Vec::new(),
        working_dir: repo.to_path_buf(),
        process_env: BTreeMap::new(),
    };
    let loaded = spec::load(&options).unwrap_or_else(|err| panic!("{err}"));
    for (name, service) in &loaded.spec.services {
        assert!(
            service.image.starts_with("flowinfra-standin/"),
            "{name} runs {}",
            service.image
        );
        assert_eq!(service.pull_policy, PullPolicy::Never);
        assert!(service.kind().is_some(), "{name} keeps its kind");
    }
}

// ---- the shipped spec -----------------------------------------------------

#[test]
fn the_shipped_spec_describes_the_flowlite_stack_with_env_example_defaults() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = LoadOptions {
        files: vec![repo.join("compose/flowinfra.yaml")],
        project_name: Some("flowlite".into()),
        env_files: Vec::new(),
        working_dir: repo.to_path_buf(),
        process_env: BTreeMap::new(),
    };
    let loaded = spec::load(&options).unwrap_or_else(|err| panic!("{err}"));
    let kinds: Vec<(String, Kind)> = loaded
        .spec
        .services
        .iter()
        .map(|(n, s)| (n.clone(), s.kind().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("minio".into(), Kind::S3),
            ("mysql".into(), Kind::Mysql),
            ("rabbitmq".into(), Kind::Rabbitmq),
            ("redis".into(), Kind::Redis)
        ]
    );
    assert_eq!(loaded.spec.services["mysql"].image, "mysql:8.4");

    // With no .env, every variable's default equals .env.example's value.
    let example = std::fs::read_to_string(repo.join(".env.example")).unwrap();
    let example: BTreeMap<String, String> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let with_example = spec::load(&LoadOptions {
        process_env: example,
        ..options.clone()
    })
    .unwrap();
    assert_eq!(with_example.spec, loaded.spec, "spec defaults differ from .env.example");
    for port in loaded.spec.services.values().flat_map(|s| &s.ports) {
        assert_eq!(port.host_ip, "127.0.0.1");
    }
}

#[test]
fn the_embedded_default_stack_is_used_without_a_spec_file() {
    let project = Project::new();
    let loaded = project.ok();
    let images: Vec<&str> = loaded.spec.services.values().map(|s| s.image.as_str()).collect();
    assert_eq!(
        images,
        [
            "pgsty/silo:RELEASE.2026-09-16T00-00-00Z",
            "mysql:8.4",
            "rabbitmq:4.3-management",
            "redis:8.10"
        ]
    );
    assert!(loaded.spec.files.is_empty());
}

#[test]
fn the_default_spec_location_is_compose_flowinfra_yaml() {
    let project = Project::new().file("compose/flowinfra.yaml", "services:\n  only:\n    image: busybox\n");
    let options = LoadOptions {
        files: Vec::new(),
        ..project.options()
    };
    let loaded = spec::load(&options).unwrap();
    assert_eq!(loaded.spec.services.keys().collect::<Vec<_>>(), ["only"]);
    // The project directory is the parent of compose/, so the project is named after it.
    let dir_name = project.root().file_name().unwrap().to_str().unwrap();
    assert_eq!(
        loaded.spec.name,
        spec::syntax::normalize_project_name(dir_name).unwrap()
    );
}

// ---- validation errors ----------------------------------------------------

#[test]
fn a_misspelled_service_field_suggests_the_right_one() {
    let project = one_service("    image: busybox\n    enviroment:\n      A: b\n");
    assert_eq!(project.error(), ("unknown service field `enviroment`".into(), 4, 5));
    assert_eq!(project.hint(), "did you mean `environment`?");
}

#[test]
fn an_unsupported_compose_field_is_named_as_such() {
    let project = one_service("    image: busybox\n    isolation: default\n");
    assert_eq!(
        project.error().0,
        "`isolation` is a Compose field that flowinfra does not support: it applies to Windows containers only"
    );
}

#[test]
fn a_misspelled_top_level_key_is_an_error() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  a:\n    image: busybox\nvolumes: {}\nnetwork: {}\n",
    );
    assert_eq!(project.error(), ("unknown top-level field `network`".into(), 5, 1));
    assert_eq!(project.hint(), "did you mean `networks`?");
}

#[test]
fn extension_fields_are_allowed_everywhere_but_inside_x_flowinfra() {
    let project = Project::new().file(
        "spec.yaml",
        "x-common: &common\n  restart: always\nservices:\n  a:\n    <<: *common\n    image: busybox\n    x-note: free text\n",
    );
    assert!(project.ok().spec.services["a"].restart.is_some());
}

#[test]
fn an_unknown_depends_on_target_suggests_a_service() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  app:\n    image: busybox\n    depends_on: [mysq]\n  mysql:\n    image: busybox\n",
    );
    assert_eq!(
        project.error(),
        ("service `app` depends on unknown service `mysq`".into(), 4, 18)
    );
    assert_eq!(project.hint(), "did you mean `mysql`?");
}

#[test]
fn a_dependency_cycle_is_rejected_with_its_path() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on:\n      c:\n        condition: service_healthy\n  c:\n    image: busybox\n    depends_on: [a]\n",
    );
    assert_eq!(project.error().0, "dependency cycle: a → b → c → a");
}

#[test]
fn two_services_publishing_one_host_port_load_with_a_warning() {
    // Compose accepts it (such services usually sit in different profiles);
    // `up` refuses to start both (tests/cli.rs).
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  a:\n    image: busybox\n    ports: ['8080:80']\n  b:\n    image: busybox\n    ports: ['127.0.0.1:8080:81']\n",
    );
    assert_eq!(
        project.ok().warnings,
        ["services `a` and `b` both publish host port 8080/tcp; `up` refuses to start both"]
    );
    // In different profiles, only the active one counts: no warning.
    let profiles = Project::new().file(
        "spec.yaml",
        "services:\n  a:\n    image: busybox\n    ports: ['8080:80']\n  b:\n    image: busybox\n    profiles: [b]\n    ports: ['8080:81']\n",
    );
    assert!(profiles.ok().warnings.is_empty());
    // One service publishing a port twice can never start: an error.
    let twice = one_service("    image: busybox\n    ports: ['8080:80', '8080:81']\n");
    assert_eq!(twice.error().0, "service `app` publishes host port 8080/tcp twice");
}

#[test]
fn different_addresses_may_share_a_port_number() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  a:\n    image: busybox\n    ports: ['127.0.0.1:8080:80']\n  b:\n    image: busybox\n    ports: ['127.0.0.2:8080:80']\n",
    );
    project.ok();
}

#[test]
fn invalid_ports_are_rejected_at_their_position() {
    let project = one_service("    image: busybox\n    ports:\n      - '80:80'\n      - '99999:80'\n");
    assert_eq!(
        project.error(),
        (
            "invalid port: `99999:80`: port 99999 is out of range (1-65535)".into(),
            6,
            9
        )
    );
}

#[test]
fn invalid_durations_are_rejected_with_the_expected_format() {
    let project = one_service("    image: busybox\n    healthcheck:\n      test: true\n      interval: 10 seconds\n");
    let (message, line, column) = project.error();
    assert!(
        message.starts_with("invalid duration `10 seconds` for `interval`"),
        "{message}"
    );
    assert_eq!((line, column), (6, 17));
    assert!(project.hint().contains("1m30s"));
}

#[test]
fn a_healthcheck_test_must_name_its_form() {
    let project = one_service("    image: busybox\n    healthcheck:\n      test: [mysqladmin, ping]\n");
    assert!(
        project
            .error()
            .0
            .starts_with("healthcheck `test` must start with CMD, CMD-SHELL or NONE")
    );
}

#[test]
fn a_service_without_image_or_build_is_rejected() {
    let project = one_service("    command: [true]\n");
    assert_eq!(
        project.error(),
        ("service `app` has neither `image` nor `build`".into(), 2, 3)
    );
}

#[test]
fn an_undeclared_named_volume_is_rejected() {
    let project = one_service("    image: busybox\n    volumes: ['dta:/data']\nvolumes:\n  data:\n");
    assert_eq!(project.error().0, "volume `dta` is not declared");
    assert!(project.hint().starts_with("did you mean `data`?"));
}

#[test]
fn bind_mounts_resolve_against_the_spec_file() {
    let project = Project::new().dir("sub/init").file(
        "sub/spec.yaml",
        "services:\n  a:\n    image: busybox\n    volumes: ['./init:/init:ro']\n",
    );
    let loaded = project.ok();
    let mount = &loaded.spec.services["a"].volumes[0];
    assert_eq!(
        mount.source,
        MountSource::Bind {
            path: project.root().join("sub/init")
        }
    );
    assert!(mount.read_only);
}

#[test]
fn an_unknown_restart_policy_suggests_one() {
    let project = one_service("    image: busybox\n    restart: unless-stoped\n");
    assert_eq!(project.error().0, "invalid restart policy `unless-stoped`");
    assert_eq!(project.hint(), "did you mean `unless-stopped`?");
}

#[test]
fn an_unknown_kind_suggests_one() {
    let project = one_service("    image: busybox\n    x-flowinfra:\n      kind: rabitmq\n");
    assert_eq!(project.error(), ("unknown kind `rabitmq`".into(), 5, 13));
    assert_eq!(project.hint(), "did you mean `rabbitmq`?");
}

#[test]
fn unknown_fields_inside_x_flowinfra_are_errors() {
    let project = one_service(
        "    image: busybox\n    ports: ['6379:6379']\n    x-flowinfra:\n      kind: redis\n      databses: [0]\n",
    );
    assert_eq!(project.error().0, "unknown x-flowinfra (redis) field `databses`");
    assert_eq!(project.hint(), "did you mean `databases`?");
}

#[test]
fn a_job_is_marked_in_x_flowinfra_without_a_kind() {
    let loaded = one_service("    image: busybox\n    restart: \"no\"\n    x-flowinfra:\n      job: true\n").ok();
    let app = &loaded.spec.services["app"];
    assert!(app.is_marked_job());
    assert_eq!(app.kind(), None);
}

#[test]
fn a_job_that_the_engine_would_restart_or_that_has_a_kind_is_rejected() {
    let restarted = one_service("    image: busybox\n    restart: always\n    x-flowinfra:\n      job: true\n");
    assert_eq!(
        restarted.error(),
        ("job `app` must not be restarted by the engine".into(), 4, 14)
    );
    assert!(restarted.hint().contains("restart: \"no\""), "{}", restarted.hint());
    let with_kind = one_service(
        "    image: redis\n    ports: ['6379:6379']\n    x-flowinfra:\n      kind: redis\n      job: true\n",
    );
    assert_eq!(with_kind.error().0, "a service of a kind cannot be a job");
    let neither = one_service("    image: busybox\n    x-flowinfra:\n      job: false\n");
    assert_eq!(neither.error().0, "`x-flowinfra` needs a `kind`");
    assert!(neither.hint().contains("`job: true`"), "{}", neither.hint());
    let unknown = one_service("    image: busybox\n    x-flowinfra:\n      job: true\n      seed: x\n");
    assert_eq!(unknown.error().0, "unknown x-flowinfra (job) field `seed`");
}

#[test]
fn a_mysql_kind_without_its_credentials_is_rejected() {
    let project = one_service(
        "    image: mysql:8.4\n    environment:\n      MYSQL_ROOT_PASSWORD: r\n    ports: ['3306:3306']\n    x-flowinfra:\n      kind: mysql\n",
    );
    assert_eq!(
        project.error().0,
        "service `app` of kind mysql needs environment MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD"
    );
}

#[test]
fn a_kind_must_publish_its_port() {
    let project = one_service("    image: redis:7\n    x-flowinfra:\n      kind: redis\n");
    assert_eq!(
        project.error().0,
        "service `app` of kind redis must publish container port 6379"
    );
    assert!(project.hint().contains("127.0.0.1:6379:6379"));
}

#[test]
fn a_binding_to_an_undeclared_queue_is_rejected() {
    let project = one_service(
        "    image: rabbitmq:3.12-management\n    ports: ['5672:5672']\n    x-flowinfra:\n      kind: rabbitmq\n      exchanges: [{name: events, type: topic}]\n      queues: [batch_processed]\n      bindings:\n        - {exchange: events, queue: batch_procesed, routing_key: 'batch.#'}\n",
    );
    assert_eq!(
        project.error().0,
        "binding names queue `batch_procesed`, which is not declared"
    );
    assert_eq!(project.hint(), "did you mean `batch_processed`?");
}

#[test]
fn what_rabbitmq_4_3_refuses_is_an_error_for_a_4_3_image_only() {
    let queues = "    ports: ['5672:5672']\n    x-flowinfra:\n      kind: rabbitmq\n      queues:\n        - {name: scratch, durable: false}\n";
    let project = one_service(&format!("    image: rabbitmq:4.3-management\n{queues}"));
    assert_eq!(
        project.error().0,
        "queue `scratch`: RabbitMQ 4.3 refuses a non-durable, non-exclusive queue (deprecated feature `transient_nonexcl_queues`)"
    );
    assert_eq!(project.hint(), "declare it `durable: true` (the default)");
    // A version flowinfra cannot tell is declared as written (`up` warns).
    one_service(&format!("    image: flowinfra-standin/rabbitmq:test\n{queues}")).ok();
    let quorum = "    image: rabbitmq:3.13\n    ports: ['5672:5672']\n    x-flowinfra:\n      kind: rabbitmq\n      queues:\n        - name: jobs\n          arguments: {x-queue-type: quorum, x-max-priority: 5}\n";
    assert_eq!(
        one_service(quorum).error().0,
        "queue `jobs`: a quorum queue takes no `x-max-priority` (RabbitMQ refuses it with PRECONDITION_FAILED)"
    );
}

#[test]
fn an_s3_backend_is_named_or_picked_by_image_and_needs_its_own_keys() {
    let ports = "    ports: ['9000:9000']\n";
    let unknown = one_service(&format!(
        "    image: pgsty/silo:RELEASE.2026-09-16T00-00-00Z\n    environment: {{MINIO_ROOT_USER: a, MINIO_ROOT_PASSWORD: b}}\n{ports}    x-flowinfra: {{kind: s3, backend: rustf}}\n"
    ));
    assert_eq!(unknown.error().0, "unknown S3 backend `rustf`");
    assert_eq!(unknown.hint(), "did you mean `rustfs`?");
    // RustFS by its image: its own variables, or their MINIO_* legacy aliases.
    let rustfs = |environment: &str| {
        one_service(&format!(
            "    image: rustfs/rustfs:1.0.0\n    environment: {{{environment}}}\n{ports}    x-flowinfra: {{kind: s3}}\n"
        ))
    };
    rustfs("RUSTFS_ACCESS_KEY: a, RUSTFS_SECRET_KEY: b").ok();
    rustfs("MINIO_ROOT_USER: a, MINIO_ROOT_PASSWORD: b").ok();
    assert_eq!(
        rustfs("RUSTFS_ACCESS_KEY: a").error().0,
        "service `app` of kind s3 needs environment RUSTFS_SECRET_KEY"
    );
}

#[test]
fn an_unknown_bucket_policy_is_rejected() {
    let project = one_service(
        "    image: minio/minio\n    environment: {MINIO_ROOT_USER: a, MINIO_ROOT_PASSWORD: b}\n    ports: ['9000:9000']\n    x-flowinfra:\n      kind: s3\n      buckets:\n        - {name: images, policy: downlod}\n",
    );
    assert_eq!(project.error().0, "unknown bucket policy `downlod`");
    assert_eq!(project.hint(), "did you mean `download`?");
}

#[test]
fn the_traffic_system_stack_is_expressible() {
    let project = Project::new().file(
        "spec.yaml",
        "services:
  redis:
    image: redis:7-alpine
    command: redis-server --appendonly yes --maxmemory 512mb --maxmemory-policy allkeys-lru
    ports: ['6379:6379']
    volumes: [redis_data:/data]
    networks: [traffic-network]
    x-flowinfra: {kind: redis}
  rabbitmq:
    image: rabbitmq:3.12-management-alpine
    environment:
      RABBITMQ_DEFAULT_USER: admin
      RABBITMQ_DEFAULT_PASS: SecurePassword123!
      RABBITMQ_DEFAULT_VHOST: /
    ports: ['5672:5672', '15672:15672']
    networks: [traffic-network]
    x-flowinfra:
      kind: rabbitmq
      queues:
        - infractions.detected
        - vehicles.tracked
        - {name: notifications.send, arguments: {x-message-ttl: 60000, x-dead-letter-exchange: dlx}}
  minio:
    image: minio/minio:latest
    command: server /data --console-address \":9001\"
    environment: {MINIO_ROOT_USER: admin, MINIO_ROOT_PASSWORD: SecurePassword123!}
    ports: ['9000:9000', '9001:9001']
    networks: [traffic-network]
    x-flowinfra:
      kind: s3
      buckets:
        - {name: traffic-snapshots, policy: download}
        - {name: traffic-videos, policy: download}
        - {name: ml-models, policy: private}
networks:
  traffic-network:
    driver: bridge
volumes:
  redis_data:
",
    );
    let loaded = project.ok();
    let Some(KindSettings::Rabbitmq(rabbit)) = &loaded.spec.services["rabbitmq"].flowinfra.as_ref().unwrap().settings
    else {
        panic!()
    };
    assert_eq!(rabbit.queues.len(), 3);
    assert_eq!(rabbit.queues[2].arguments.len(), 2);
    let Some(KindSettings::S3(s3)) = &loaded.spec.services["minio"].flowinfra.as_ref().unwrap().settings else {
        panic!()
    };
    assert_eq!(s3.buckets.len(), 3);
    assert_eq!(
        loaded.spec.networks["traffic-network"].name,
        format!("{}_traffic-network", loaded.spec.name)
    );
}

#[test]
fn several_errors_are_reported_together() {
    let project = one_service("    image: busybox\n    restrat: always\n    ports: ['x']\n");
    let err = project.load().unwrap_err();
    assert_eq!(err.diagnostics.len(), 2);
    assert!(err.to_string().starts_with("the spec has 2 errors"));
}

#[test]
fn the_error_display_shows_the_line_and_a_caret() {
    let project = one_service("    image: busybox\n    enviroment:\n      A: b\n");
    let text = project.load().unwrap_err().to_string();
    let text = text.replace(&project.root().display().to_string(), "<dir>");
    assert_eq!(
        text,
        "<dir>/spec.yaml:4:5: unknown service field `enviroment`\n   |\n 4 |     enviroment:\n   |     ^\n  = hint: did you mean `environment`?"
    );
}

#[test]
fn a_file_that_is_not_text_is_named_as_such_not_as_a_wrong_path() {
    let project = Project::new();
    std::fs::write(project.root().join("spec.yaml"), b"services:\n  \x00\xff\xfe").unwrap();
    let project = Project {
        files: vec![PathBuf::from("spec.yaml")],
        ..project
    };
    let (message, line, column) = project.error();
    assert_eq!(message, "the spec file is not text: byte 0xff is not valid UTF-8");
    assert_eq!((line, column), (2, 4));
    assert!(!project.hint().contains("check the path"), "{}", project.hint());
}

#[test]
fn a_tab_at_the_start_of_line_16_is_reported_at_line_16() {
    let mut text = String::from("services:\n  app:\n    image: busybox\n    environment:\n");
    for n in 0..11 {
        text.push_str(&format!("      V{n}: value\n"));
    }
    text.push_str("\tports: []\n");
    assert_eq!(text.lines().nth(15), Some("\tports: []"));
    let (message, line, column) = Project::new().file("spec.yaml", &text).error();
    assert!(message.contains("tab"), "{message}");
    assert_eq!((line, column), (16, 1));
}

#[test]
fn a_command_item_that_is_not_a_string_is_the_error() {
    let project = one_service("    image: busybox\n    command: [[\"a\"], \"b\"]\n");
    let (message, line, column) = project.error();
    assert_eq!(message, "an item of `command` must be a string, found a list");
    assert_eq!((line, column), (4, 15), "at the item");
}

#[test]
fn an_error_on_a_very_long_line_shows_only_part_of_it() {
    let depth = 200_000;
    let text = format!("services: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let err = Project::new().file("spec.yaml", &text).load().unwrap_err();
    let shown = err.to_string();
    assert!(shown.len() < 1_000, "{} bytes shown", shown.len());
    let source = shown.lines().find(|line| line.starts_with(" 1 | ")).unwrap();
    assert!(source.ends_with('…'), "{source}");
}

/// `levels` levels of anchors, each a list of nine aliases to the one before:
/// nine to the power `levels` copies of `lol` from a few hundred bytes.
fn alias_bomb(levels: usize) -> String {
    let mut text =
        String::from("x-l0: &l0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for level in 1..levels {
        let aliases = vec![format!("*l{}", level - 1); 9].join(",");
        text.push_str(&format!("x-l{level}: &l{level} [{aliases}]\n"));
    }
    text
}

#[test]
fn an_alias_bomb_is_refused_at_the_alias_that_exceeds_the_bound() {
    let project = Project::new()
        .file("spec.yaml", "services:\n  app:\n    image: busybox\n")
        .file("override.yaml", &alias_bomb(8));
    let err = project.load().unwrap_err();
    let d = &err.diagnostics[0];
    assert_eq!(d.message, "invalid YAML: aliases expand to more than 100000 values");
    let position = d.position.as_ref().unwrap();
    assert!(position.file.ends_with("override.yaml"));
    assert_eq!((position.line, position.column), (6, 12));
}

#[test]
fn an_alias_bomb_fails_within_a_second_in_100_mb_of_address_space() {
    // The issue's file: six levels in under 400 bytes, which used to take
    // seconds and a gigabyte, eight levels aborting on allocation.
    let bomb = alias_bomb(6);
    assert!(bomb.len() < 400, "{} bytes", bomb.len());
    let project = Project::new()
        .file("spec.yaml", "services:\n  app:\n    image: busybox\n")
        .file("override.yaml", &bomb);
    let limit = 100 * 1024 * 1024;
    let started = std::time::Instant::now();
    let output = std::process::Command::new("prlimit")
        .arg(format!("--as={limit}"))
        .arg(env!("CARGO_BIN_EXE_flowinfra"))
        .args(["-f", "spec.yaml", "-f", "override.yaml", "config"])
        .current_dir(project.root())
        .env("NO_COLOR", "1")
        .output()
        .expect("prlimit (util-linux) runs the binary");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("override.yaml:6:12: invalid YAML: aliases expand to more than 100000 values"),
        "{stderr}"
    );
    assert!(elapsed < std::time::Duration::from_secs(1), "took {elapsed:?}");
    // The same limit leaves room for aliases within the bound.
    let project = Project::new()
        .file("spec.yaml", "services:\n  app:\n    image: busybox\n")
        .file("override.yaml", &alias_bomb(5));
    let output = std::process::Command::new("prlimit")
        .arg(format!("--as={limit}"))
        .arg(env!("CARGO_BIN_EXE_flowinfra"))
        .args(["-f", "spec.yaml", "-f", "override.yaml", "config"])
        .current_dir(project.root())
        .output()
        .expect("prlimit (util-linux) runs the binary");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn yaml_syntax_errors_have_positions() {
    let project = Project::new().file("spec.yaml", "services:\n  a:\n    image: [busybox\n");
    let (message, line, _) = project.error();
    assert!(message.starts_with("invalid YAML"), "{message}");
    assert!(line >= 3);
}

// ---- redaction -----------------------------------------------------------

#[test]
fn redacted_json_hides_every_secret() {
    let project = Project::new()
        .file("spec.yaml", MYSQL)
        .file(".env", "DB_PASSWORD=hunter2-very-secret\n")
        .env("API_URL", "unused");
    let loaded = project.ok();
    let text = loaded.redacted_json().to_string();
    assert!(!text.contains("hunter2-very-secret"), "{text}");
    assert!(text.contains("\"MYSQL_USER\":\"app\""), "{text}");
}

// ---- issue 15: messages ----------------------------------------------------

#[test]
fn redaction_never_alters_values_that_merely_contain_a_secret() {
    let project = Project::new().dir("mysql-init").file(
        "spec.yaml",
        "services:\n  db:\n    image: mysql:8\n    environment:\n      MYSQL_ROOT_PASSWORD: mysql\n      \
             MYSQL_DATABASE: mysql_app\n    volumes: ['./mysql-init:/docker-entrypoint-initdb.d']\n    \
             healthcheck:\n      test: ['CMD-SHELL', 'mysqladmin ping -pmysql']\n",
    );
    let json = project.ok().redacted_json();
    let db = &json["services"]["db"];
    assert_eq!(db["image"], "mysql:8");
    assert_eq!(db["environment"]["MYSQL_DATABASE"], "mysql_app");
    assert_eq!(db["environment"]["MYSQL_ROOT_PASSWORD"], "********");
    let source = db["volumes"][0]["source"]["path"].as_str().unwrap();
    assert!(source.ends_with("/mysql-init"), "{source}");
    assert_eq!(db["healthcheck"]["test"][1], "mysqladmin ping -p********");
}

#[test]
fn unset_variables_are_warned_about_once_each() {
    let loaded = one_service("    image: busybox\n    environment:\n      A: ${UNSET_ONE}\n      B: $UNSET_ONE\n").ok();
    assert_eq!(
        loaded.warnings,
        ["The UNSET_ONE variable is not set. Defaulting to a blank string."]
    );
}

#[test]
fn an_image_made_invalid_by_an_unset_variable_names_the_variable() {
    let (message, line, _) = one_service("    image: app:${TAG}\n").error();
    assert_eq!(
        message,
        "invalid image reference `app:` (the value uses `TAG`, which is not set and became a blank string)"
    );
    assert_eq!(line, 3);
}

#[test]
fn a_compose_v1_file_is_named_as_such_with_how_to_convert() {
    let project = Project::new().file("spec.yaml", "db:\n  image: postgres\nweb:\n  build: .\n  links: [db]\n");
    let (message, line, _) = project.error();
    assert!(
        message.starts_with("this is a Compose file format v1 file"),
        "{message}"
    );
    assert!(message.contains("`db`"), "{message}");
    assert_eq!(line, 1);
    assert!(project.hint().contains("under a top-level `services:` key"));
}

#[test]
fn a_service_refused_for_a_bad_value_does_not_make_its_dependents_fail_too() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  db:\n    image: busybox\n    restart: sometimes\n  app:\n    image: busybox\n    \
         depends_on: [db]\n",
    );
    let (message, line, _) = project.error();
    assert!(message.contains("sometimes"), "{message}");
    assert_eq!(line, 4);
}

#[test]
fn a_closing_bracket_at_its_keys_indentation_loads_as_compose_reads_it() {
    // Defect 1: go-yaml (Compose v2) and PyYAML accept it; saphyr-parser alone
    // does not, so the loader re-reads the bracket line indented (docs/decisions.md).
    let project = one_service("    image: busybox\n    command: [\n      \"sleep\", \"1\"\n    ]\n    tty: true\n");
    let service = &project.ok().spec.services["app"];
    assert_eq!(service.command, Some(vec!["sleep".to_string(), "1".to_string()]));
    // Positions after the bracket are the file's own: an error on line 7 is on line 7.
    let project = one_service("    image: busybox\n    command: [\n      \"sleep\"\n    ]\n    tty: maybe\n");
    let (message, line, column) = project.error();
    assert_eq!((message.as_str(), line, column), ("`tty` must be true or false", 7, 10));
}

#[test]
fn the_supported_field_list_is_given_once_however_many_fields_are_refused() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  a:\n    image: busybox\n    isolation: default\n  b:\n    image: busybox\n    isolation: default\n",
    );
    let error = project.load().expect_err("refused");
    let hints: Vec<String> = error.diagnostics.iter().filter_map(|d| d.hint.clone()).collect();
    assert_eq!(hints.len(), 2, "{error}");
    assert_eq!(
        hints.iter().filter(|h| h.contains("supported service fields")).count(),
        1,
        "{error}"
    );
}

#[test]
fn compose_runtime_fields_load_in_compose_units() {
    let loaded = one_service(
        "    image: busybox\n    user: '1000:1000'\n    working_dir: /srv\n    tty: true\n    stdin_open: true\n    \
         expose: ['3000', '5000-5001/udp']\n    shm_size: 64m\n    stop_grace_period: 1m30s\n    cpus: 0.5\n    \
         ulimits:\n      nproc: 65535\n      nofile: {soft: 1024, hard: 2048}\n    extra_hosts: ['gw:host-gateway']\n    \
         sysctls: ['net.core.somaxconn=1024']\n    tmpfs: ['/run:size=1m']\n    logging: {driver: json-file, options: {max-size: 1m}}\n    \
         deploy: {replicas: 2, resources: {limits: {memory: 128m}}, restart_policy: {condition: on-failure, max_attempts: 3}}\n    \
         develop: {watch: []}\n",
    )
    .ok();
    let runtime = &loaded.spec.services["app"].runtime;
    assert_eq!(runtime.user.as_deref(), Some("1000:1000"));
    assert_eq!(runtime.expose, ["3000/tcp", "5000/udp", "5001/udp"]);
    assert_eq!(runtime.shm_size, Some(64 << 20));
    assert_eq!(runtime.mem_limit, Some(128 << 20));
    assert_eq!(runtime.stop_grace_period, Some(90));
    assert_eq!(runtime.nano_cpus, Some(500_000_000));
    assert_eq!(runtime.ulimits["nofile"].hard, 2048);
    assert_eq!(runtime.ulimits["nproc"].soft, 65535);
    assert_eq!(runtime.extra_hosts, ["gw:host-gateway"]);
    assert_eq!(runtime.tmpfs["/run"], "size=1m");
    assert_eq!(
        loaded.spec.services["app"].restart,
        Some(spec::RestartPolicy::OnFailure { max_retries: Some(3) })
    );
    assert_eq!(
        loaded.warnings,
        [
            "service `app`: `deploy.replicas` ignored: flowinfra runs one container per service, without Swarm",
            "service `app`: `develop` (compose watch) is ignored; flowinfra does not watch files",
        ]
    );
}

#[test]
fn network_creation_options_load() {
    let loaded = Project::new()
        .file(
            "spec.yaml",
            "services:\n  a:\n    image: busybox\n    networks: [back]\nnetworks:\n  back:\n    internal: true\n    \
             driver_opts: {com.docker.network.bridge.name: br-back}\n",
        )
        .ok();
    let back = &loaded.spec.networks["back"];
    assert!(back.internal);
    assert_eq!(back.driver_opts["com.docker.network.bridge.name"], "br-back");
}

// ---- extends, include, !reset and !override (issue 15) --------------------

fn env_of(loaded: &Loaded, service: &str) -> BTreeMap<String, String> {
    loaded.spec.services[service].environment.clone()
}

fn host_ports(loaded: &Loaded, service: &str) -> Vec<u16> {
    loaded.spec.services[service]
        .ports
        .iter()
        .filter_map(|port| port.host_port)
        .collect()
}

#[test]
fn extends_in_the_same_file_merges_the_service_on_its_base() {
    let project = Project::new().file(
        "spec.yaml",
        "services:
  base:
    image: busybox:1
    environment: {A: '1', B: '2'}
    ports: ['80']
    command: [sleep, '1']
  mid:
    extends: base
    environment: {B: '3'}
  app:
    extends:
      service: mid
    environment: [C=4]
    ports: ['127.0.0.1:8002:81']
",
    );
    let loaded = project.ok();
    let app = &loaded.spec.services["app"];
    assert_eq!(app.image, "busybox:1");
    assert_eq!(app.command, Some(vec!["sleep".to_string(), "1".to_string()]));
    assert_eq!(
        env_of(&loaded, "app"),
        BTreeMap::from([
            ("A".into(), "1".into()),
            ("B".into(), "3".into()),
            ("C".into(), "4".into())
        ])
    );
    let container_ports: Vec<u16> = app.ports.iter().map(|port| port.container_port).collect();
    assert_eq!(container_ports, [80, 81]);
    assert_eq!(host_ports(&loaded, "app"), [8002]);
    assert_eq!(env_of(&loaded, "base")["B"], "2", "the base itself is unchanged");
}

#[test]
fn extends_from_another_file_resolves_its_paths_against_that_file() {
    let project = Project::new()
        .dir("common/init")
        .file(
            "common/base.yml",
            "services:\n  root:\n    image: busybox:1\n    volumes: ['./init:/init:ro']\n  db:\n    extends: root\n    environment: {FROM: base}\n",
        )
        .file(
            "spec.yaml",
            "services:\n  app:\n    extends:\n      file: common/base.yml\n      service: db\n    tty: true\n",
        );
    let loaded = project.ok();
    let app = &loaded.spec.services["app"];
    assert_eq!(app.image, "busybox:1");
    assert_eq!(env_of(&loaded, "app")["FROM"], "base");
    match &app.volumes[0].source {
        MountSource::Bind { path } => assert_eq!(path, &project.root().join("common/init")),
        other => panic!("expected a bind mount, got {other:?}"),
    }
    assert_eq!(
        loaded.spec.services.keys().collect::<Vec<_>>(),
        ["app"],
        "the extended file's services are not the project's"
    );
}

#[test]
fn an_error_in_an_extended_file_points_into_that_file() {
    let project = Project::new()
        .file(
            "base.yml",
            "services:\n  db:\n    image: busybox:1\n    restart: sometimes\n",
        )
        .file(
            "spec.yaml",
            "services:\n  app:\n    extends: {file: base.yml, service: db}\n",
        );
    let err = project.load().expect_err("refused");
    let position = err.diagnostics[0].position.as_ref().unwrap();
    assert!(position.file.ends_with("base.yml"), "{err}");
    assert_eq!((position.line, position.column), (4, 14), "{err}");
    assert_eq!(
        err.diagnostics[0].source_line.as_deref(),
        Some("    restart: sometimes")
    );
}

#[test]
fn an_extends_cycle_is_refused_naming_the_chain() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  a:\n    image: busybox\n    extends: b\n  b:\n    extends: c\n  c:\n    extends: a\n",
    );
    let (message, line, column) = project.error();
    assert_eq!(
        message,
        "`extends` cycle: `a` extends `b`, which extends `c`, which extends `a`"
    );
    assert_eq!((line, column), (8, 14));
    let itself = Project::new().file("spec.yaml", "services:\n  a:\n    image: busybox\n    extends: a\n");
    assert_eq!(itself.error().0, "`extends` cycle: `a` extends `a`");
}

#[test]
fn extending_an_unknown_service_suggests_one() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  base:\n    image: busybox\n  app:\n    extends: bsae\n",
    );
    let (message, line, column) = project.error();
    assert_eq!(message, "cannot extend `bsae`: it is not a service of this file");
    assert_eq!((line, column), (5, 14));
    assert_eq!(project.hint(), "did you mean `base`?");
    let other = Project::new()
        .file("base.yml", "services:\n  db:\n    image: busybox\n")
        .file(
            "spec.yaml",
            "services:\n  app:\n    extends: {file: base.yml, service: web}\n",
        );
    assert_eq!(
        other.error().0,
        "cannot extend `web`: it is not a service of `base.yml`"
    );
    let missing = Project::new().file(
        "spec.yaml",
        "services:\n  app:\n    extends: {file: nowhere.yml, service: web}\n",
    );
    let (message, line, _) = missing.error();
    assert!(message.starts_with("cannot read extended file `"), "{message}");
    assert_eq!(line, 3);
}

#[test]
fn reset_and_override_drop_what_the_extended_service_set() {
    let project = Project::new().file(
        "spec.yaml",
        "services:
  base:
    image: busybox
    ports: ['127.0.0.1:8001:80']
    environment: {A: '1', B: '2'}
  app:
    extends: base
    ports: !reset []
    environment: !override {C: '3'}
",
    );
    let loaded = project.ok();
    assert!(host_ports(&loaded, "app").is_empty());
    assert_eq!(env_of(&loaded, "app"), BTreeMap::from([("C".into(), "3".into())]));
    assert_eq!(host_ports(&loaded, "base"), [8001]);
}

#[test]
fn reset_and_override_drop_what_earlier_files_set() {
    let project = Project::new()
        .file(
            "spec.yaml",
            "services:\n  app:\n    image: busybox\n    ports: ['127.0.0.1:8001:80']\n    environment: {A: '1'}\n    tty: true\n",
        )
        .file(
            "override.yaml",
            "services:\n  app:\n    ports: !override ['127.0.0.1:8002:80']\n    environment: !override\n      B: '2'\n    tty: !reset null\n",
        );
    let loaded = project.ok();
    assert_eq!(host_ports(&loaded, "app"), [8002]);
    assert_eq!(env_of(&loaded, "app"), BTreeMap::from([("B".into(), "2".into())]));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // `!reset` with a value drops the value too, as Compose does, and says so.
    let with_value = Project::new()
        .file(
            "spec.yaml",
            "services:\n  app:\n    image: busybox\n    ports: ['127.0.0.1:8001:80']\n",
        )
        .file(
            "override.yaml",
            "services:\n  app:\n    ports: !reset ['127.0.0.1:8003:80']\n",
        );
    let loaded = with_value.ok();
    assert!(host_ports(&loaded, "app").is_empty());
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("`services.app.ports: !reset` drops the value")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn an_unknown_yaml_tag_is_an_error_at_its_position() {
    let project = one_service("    image: busybox\n    environment: !env\n      A: '1'\n");
    let (message, line, column) = project.error();
    assert_eq!(
        (message.as_str(), line, column),
        ("YAML tag `!env` is not supported", 4, 18)
    );
    assert!(project.hint().contains("`!override`"), "{}", project.hint());
}

#[test]
fn include_imports_a_model_loaded_on_its_own() {
    let project = Project::new()
        .dir("db/init")
        .file("db/.env", "DB_IMAGE=mysql:8.4\nSHARED=from-included-env\n")
        .file(
            "db/compose.yml",
            "services:\n  db:\n    image: ${DB_IMAGE}\n    environment: {SHARED: '${SHARED}'}\n    volumes: ['./init:/docker-entrypoint-initdb.d:ro', 'data:/var/lib/mysql']\nvolumes:\n  data:\n",
        )
        .file(
            "spec.yaml",
            "include:\n  - db/compose.yml\nservices:\n  app:\n    image: busybox\n    depends_on: [db]\n",
        )
        .env("SHARED", "from-process");
    let loaded = project.ok();
    let db = &loaded.spec.services["db"];
    assert_eq!(db.image, "mysql:8.4", "the included project's .env fills what is unset");
    assert_eq!(
        env_of(&loaded, "db")["SHARED"],
        "from-process",
        "the including model's variables win"
    );
    match &db.volumes[0].source {
        MountSource::Bind { path } => assert_eq!(path, &project.root().join("db/init")),
        other => panic!("expected a bind mount, got {other:?}"),
    }
    assert!(loaded.spec.volumes.contains_key("data"));
    assert!(loaded.spec.services["app"].depends_on.contains_key("db"));
}

#[test]
fn include_long_form_takes_env_files_and_override_files() {
    let project = Project::new()
        .file("vars/db.env", "DB_TAG=8.4\n")
        .file("db/compose.yml", "services:\n  db:\n    image: mysql:${DB_TAG}\n    tty: true\n")
        .file("db/local.yml", "services:\n  db:\n    tty: false\n")
        .file(
            "spec.yaml",
            "include:\n  - path: [db/compose.yml, db/local.yml]\n    env_file: vars/db.env\nservices:\n  app:\n    image: busybox\n",
        );
    let loaded = project.ok();
    assert_eq!(loaded.spec.services["db"].image, "mysql:8.4");
    assert!(!loaded.spec.services["db"].runtime.tty);
    let typo = Project::new()
        .file("db/compose.yml", "services:\n  db:\n    image: busybox\n")
        .file(
            "spec.yaml",
            "include:\n  - path: db/compose.yml\n    env_files: x.env\nservices: {}\n",
        );
    let (message, line, column) = typo.error();
    assert_eq!(
        (message.as_str(), line, column),
        ("unknown include field `env_files`", 3, 5)
    );
    assert_eq!(typo.hint(), "did you mean `env_file`?");
}

#[test]
fn an_included_resource_the_including_file_redefines_is_a_conflict() {
    let included = "services:\n  db:\n    image: mysql:8.4\nvolumes:\n  data: {}\n";
    let project = Project::new().file("db.yml", included).file(
        "spec.yaml",
        "include: [db.yml]\nservices:\n  db:\n    image: mysql:9\nvolumes:\n  data: {}\n",
    );
    let (message, line, column) = project.error();
    assert!(
        message.starts_with("service `db` is also defined by the included file `")
            && message.ends_with("db.yml` (line 2); Compose refuses such a conflict"),
        "{message}"
    );
    assert_eq!((line, column), (3, 3));
    assert!(project.hint().contains("override file"), "{}", project.hint());
    // The same definition twice (a model included by two files) is no conflict.
    let same = Project::new().file("db.yml", included).file(
        "spec.yaml",
        "include: [db.yml]\nservices:\n  db:\n    image: mysql:8.4\n",
    );
    same.ok();
}

#[test]
fn an_include_cycle_is_refused() {
    let project = Project::new()
        .file("b.yml", "include: [spec.yaml]\nservices:\n  b:\n    image: busybox\n")
        .file("spec.yaml", "include: [b.yml]\nservices:\n  a:\n    image: busybox\n");
    let err = project.load().expect_err("refused");
    let d = &err.diagnostics[0];
    assert!(d.message.starts_with("include cycle: `"), "{err}");
    assert!(
        d.message.contains("spec.yaml` includes `") && d.message.contains("b.yml` includes `"),
        "{err}"
    );
    let position = d.position.as_ref().unwrap();
    assert!(position.file.ends_with("b.yml"), "{err}");
    assert_eq!(position.line, 1);
}

#[test]
fn services_no_active_profile_enables_need_no_image_and_clash_with_nothing() {
    // As Compose: what matters only when a service runs is not asked of one that will not run.
    let spec = "services:
  cpu:
    image: app:1
    profiles: [cpu]
    ports: ['127.0.0.1:8080:80']
  gpu:
    image: ${GPU_IMAGE}
    profiles: [gpu]
    ports: ['127.0.0.1:8080:80']
  web:
    image: busybox
";
    let loaded = Project::new().file("spec.yaml", spec).ok();
    assert_eq!(loaded.spec.services.keys().collect::<Vec<_>>(), ["web"]);
    let both = Project::new()
        .file("spec.yaml", spec)
        .env("COMPOSE_PROFILES", "cpu,gpu")
        .env("GPU_IMAGE", "app:1-gpu");
    // Both enabled: Compose still loads the file; `up` refuses to start both.
    assert_eq!(
        both.ok().warnings,
        ["services `cpu` and `gpu` both publish host port 8080/tcp; `up` refuses to start both"]
    );
}

#[test]
fn an_error_in_an_anchor_several_services_use_is_reported_once_naming_them() {
    // Defect 6: once, at the anchor's line, with the services that use it.
    let project = Project::new().file(
        "spec.yaml",
        "x-defaults: &defaults
  image: busybox
  restart: sometimes
services:
  a:
    <<: *defaults
  b:
    <<: *defaults
  c:
    <<: *defaults
    tty: true
  d:
    image: busybox
",
    );
    let err = project.load().expect_err("refused");
    assert_eq!(err.diagnostics.len(), 1, "{err}");
    let d = &err.diagnostics[0];
    assert_eq!(
        d.message,
        "invalid restart policy `sometimes` (services `a`, `b` and `c` use this value)"
    );
    let position = d.position.as_ref().unwrap();
    assert_eq!((position.line, position.column), (3, 12));
    // One service using an anchor written above it is named too.
    let one = Project::new().file(
        "spec.yaml",
        "x-defaults: &defaults\n  image: busybox\n  restart: sometimes\nservices:\n  a:\n    <<: *defaults\n",
    );
    assert_eq!(
        one.error().0,
        "invalid restart policy `sometimes` (service `a` uses this value)"
    );
    // A rule across services (an unknown dependency) is said once too.
    let dependency = Project::new().file(
        "spec.yaml",
        "x-defaults: &defaults\n  image: busybox\n  depends_on: [dbb]\nservices:\n  a:\n    <<: *defaults\n  b:\n    <<: *defaults\n  db:\n    image: busybox\n",
    );
    let (message, line, column) = dependency.error();
    assert_eq!(
        message,
        "service `a` depends on unknown service `dbb` (services `a` and `b` use this value)"
    );
    assert_eq!((line, column), (3, 16));
    // An error in a service's own text is not.
    let own = one_service("    image: busybox\n    restart: sometimes\n");
    assert_eq!(own.error().0, "invalid restart policy `sometimes`");
}

#[test]
fn an_error_in_an_extended_service_is_reported_once_naming_its_users() {
    let project = Project::new().file(
        "spec.yaml",
        "services:\n  base:\n    image: busybox\n    restart: sometimes\n  app:\n    extends: base\n  worker:\n    extends: base\n",
    );
    let (message, line, column) = project.error();
    assert_eq!(
        message,
        "invalid restart policy `sometimes` (services `base`, `app` and `worker` use this value)"
    );
    assert_eq!((line, column), (4, 14));
}

#[test]
fn an_included_project_directory_is_where_its_paths_and_env_are_read() {
    let project = Project::new()
        .dir("app-root/init")
        .file("app-root/ctx/Dockerfile", "FROM busybox\n")
        .file("app-root/.env", "DB_TAG=8.4\n")
        .file(
            "stacks/db.yml",
            "services:\n  db:\n    image: mysql:${DB_TAG}\n    build: ./ctx\n    volumes: ['./init:/init:ro', {type: bind, source: ./init, target: /again}, 'data:/var/lib/mysql', {type: volume, source: data, target: /more}]\nvolumes:\n  data:\n",
        )
        .file(
            "spec.yaml",
            "include:\n  - path: stacks/db.yml\n    project_directory: app-root\nservices:\n  app:\n    image: busybox\n",
        );
    let loaded = project.ok();
    let db = &loaded.spec.services["db"];
    assert_eq!(db.image, "mysql:8.4");
    assert_eq!(db.build.as_ref().unwrap().context, project.root().join("app-root/ctx"));
    let binds: Vec<&Path> = db
        .volumes
        .iter()
        .filter_map(|mount| match &mount.source {
            MountSource::Bind { path } => Some(path.as_path()),
            _ => None,
        })
        .collect();
    let init = project.root().join("app-root/init");
    assert_eq!(binds, [init.as_path(), init.as_path()]);
    assert_eq!(db.volumes.len(), 4, "named volumes stay names");
}

#[test]
fn an_included_models_extends_file_is_relative_to_its_project_directory() {
    // compose-go's TestNestedIncludeAndExtends.
    let project = Project::new()
        .file("dir/extended.yml", "services:\n  extended:\n    image: alpine\n")
        .file(
            "dir/included.yml",
            "services:\n  included:\n    extends:\n      file: dir/extended.yml\n      service: extended\n",
        )
        .file(
            "spec.yaml",
            "include:\n  - project_directory: .\n    path: dir/included.yml\n",
        );
    assert_eq!(project.ok().spec.services["included"].image, "alpine");
}

#[test]
fn an_include_or_extends_of_something_that_is_not_a_file_is_refused() {
    let project = Project::new().dir("stacks").file(
        "spec.yaml",
        "include: [stacks]\nservices:\n  app:\n    image: busybox\n",
    );
    let (message, line, column) = project.error();
    assert!(
        message.starts_with("included file `") && message.ends_with("stacks` is not a file"),
        "{message}"
    );
    assert_eq!((line, column), (1, 11));
    let device = Project::new().file(
        "spec.yaml",
        "services:\n  app:\n    extends: {file: /dev/zero, service: x}\n",
    );
    assert_eq!(device.error().0, "extended file `/dev/zero` is not a file");
}

#[test]
fn reset_drops_one_entry_and_a_reset_list_item_leaves_its_own_list() {
    let project = Project::new()
        .file(
            "spec.yaml",
            "services:\n  app:\n    image: busybox\n    environment: [A=1, B=2]\n    build:\n      context: .\n",
        )
        .file("Dockerfile", "FROM busybox\n")
        .file(
            "override.yaml",
            "services:\n  app:\n    build: !reset\n    environment:\n      A: !reset\n      C: '3'\n    ports: ['127.0.0.1:8001:80', !reset '127.0.0.1:8009:80']\n",
        );
    let loaded = project.ok();
    let app = &loaded.spec.services["app"];
    assert!(app.build.is_none());
    assert_eq!(
        env_of(&loaded, "app"),
        BTreeMap::from([("B".into(), "2".into()), ("C".into(), "3".into())])
    );
    assert_eq!(host_ports(&loaded, "app"), [8001]);
}

#[test]
fn extends_into_a_file_follows_that_files_own_extends_and_paths() {
    // compose-go's TestLoadExtendsSameFile, with a Dockerfile for flowinfra's check.
    let project = Project::new()
        .file("Dockerfile", "FROM busybox\nFROM busybox AS target\n")
        .file(
            "sub/compose.yml",
            "services:\n  base:\n    build:\n      context: ..\n  service:\n    extends: base\n    build:\n      target: target\n",
        )
        .file(
            "spec.yaml",
            "services:\n  out-base:\n    extends: {file: sub/compose.yml, service: base}\n  out-service:\n    extends: {file: sub/compose.yml, service: service}\n",
        );
    let loaded = project.ok();
    assert_eq!(loaded.spec.services.len(), 2);
    let root = project.root().to_path_buf();
    let out_base = loaded.spec.services["out-base"].build.as_ref().unwrap();
    assert_eq!(out_base.context, root);
    let out_service = loaded.spec.services["out-service"].build.as_ref().unwrap();
    assert_eq!(out_service.context, root);
    assert_eq!(out_service.target.as_deref(), Some("target"));
}

#[test]
fn a_remote_include_or_extends_is_refused_as_remote() {
    let project = Project::new().file(
        "spec.yaml",
        "include:\n  - https://example.invalid/compose.yaml\nservices:\n  app:\n    image: busybox\n",
    );
    let (message, line, column) = project.error();
    assert_eq!(
        (message.as_str(), line, column),
        (
            "the include's `path` `https://example.invalid/compose.yaml` is remote; flowinfra reads local files only",
            2,
            5
        )
    );
    let extends = Project::new().file(
        "spec.yaml",
        "services:\n  app:\n    extends: {file: 'git@example.invalid:team/stack.git', service: app}\n",
    );
    assert!(
        extends
            .error()
            .0
            .ends_with("is remote; flowinfra reads local files only")
    );
}

// ---- secrets, configs, networking and the other Compose fields of issue 15 ----

#[test]
fn secrets_and_configs_resolve_their_sources_and_targets_as_compose_does() {
    let loaded = Project::new()
        .file("db_password.txt", "not printed")
        .file("app.conf", "x")
        .env("API_TOKEN", "t0ken-value")
        .file(
            "spec.yaml",
            "services:
  app:
    image: busybox
    secrets:
      - db_password
      - source: api_token
        target: token
        uid: '1000'
        mode: 0400
      - source: db_password
        target: /etc/db/password
    configs:
      - app_conf
      - source: greeting
        target: etc/greeting.txt
secrets:
  db_password:
    file: ./db_password.txt
  api_token:
    environment: API_TOKEN
configs:
  app_conf:
    file: app.conf
  greeting:
    content: hello
",
        )
        .ok();
    let spec = &loaded.spec;
    let app = &spec.services["app"];
    let targets: Vec<&str> = app.secrets.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(
        targets,
        ["/run/secrets/db_password", "/run/secrets/token", "/etc/db/password"]
    );
    assert_eq!(app.secrets[1].mode, Some(0o400));
    assert_eq!(app.secrets[1].uid.as_deref(), Some("1000"));
    let targets: Vec<&str> = app.configs.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(targets, ["/app_conf", "/etc/greeting.txt"]);
    assert_eq!(
        spec.secrets["db_password"].file.as_deref(),
        Some(loaded.spec.project_dir.join("db_password.txt").as_path())
    );
    assert_eq!(spec.configs["greeting"].content.as_deref(), Some("hello"));
    // The variable's value is known (to write it), secret, and never serialised.
    assert_eq!(
        spec.secrets["api_token"].environment_value.as_deref(),
        Some("t0ken-value")
    );
    assert!(loaded.secret_values().contains(&"t0ken-value".to_string()));
    let json = loaded.redacted_json().to_string();
    assert!(!json.contains("t0ken-value"), "{json}");
    assert!(json.contains("\"environment\":\"API_TOKEN\""), "{json}");
}

#[test]
fn a_secret_that_is_not_declared_is_named_at_the_service() {
    let project =
        one_service("    image: busybox\n    secrets: [db_pasword]\nsecrets:\n  db_password:\n    file: ./x\n");
    let (message, line, column) = project.error();
    assert_eq!(message, "service `app` uses secret `db_pasword`, which is not declared");
    assert_eq!((line, column), (4, 15));
    assert_eq!(project.hint(), "did you mean `db_password`?");
}

#[test]
fn top_level_secrets_and_configs_are_fields_not_typos() {
    // Defect 5: `secrets` got "did you mean `services`?".
    let project = Project::new().file("s.txt", "x").file(
        "spec.yaml",
        "secrets:\n  s:\n    file: ./s.txt\nconfigs:\n  c:\n    content: x\nservices:\n  app:\n    image: busybox\n",
    );
    project.ok();
}

#[test]
fn secrets_compose_cannot_provide_without_swarm_are_refused_saying_why() {
    let external = one_service("    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    external: true\n");
    assert_eq!(
        external.error().0,
        "service `app` uses the external secret `s`, which only Swarm provides"
    );
    let unset =
        one_service("    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    environment: NOT_SET_ANYWHERE\n");
    assert_eq!(
        unset.error().0,
        "service `app` uses secret `s`, whose variable `NOT_SET_ANYWHERE` is not set"
    );
    let read_only =
        one_service("    image: busybox\n    read_only: true\n    configs: [c]\nconfigs:\n  c:\n    content: x\n");
    let (message, line, _) = read_only.error();
    assert_eq!(
        message,
        "service `app` is `read_only`, so its config `c` cannot be written into it"
    );
    assert_eq!(line, 4);
    let no_source = one_service("    image: busybox\nsecrets:\n  s:\n    name: x\n");
    assert_eq!(no_source.error().0, "secret `s` has no source");
}

#[test]
fn network_mode_shares_a_namespace_and_makes_the_service_a_dependency() {
    let loaded = Project::new()
        .file(
            "spec.yaml",
            "services:\n  db:\n    image: busybox\n  proxy:\n    image: busybox\n    network_mode: service:db\n  \
             tool:\n    image: busybox\n    network_mode: host\n  data:\n    image: busybox\n    volumes_from: [db, 'container:outside:ro']\n",
        )
        .ok();
    let services = &loaded.spec.services;
    assert_eq!(
        services["proxy"].network_mode,
        Some(spec::NetworkMode::Service("db".into()))
    );
    assert!(services["proxy"].networks.is_empty());
    let dependency = &services["proxy"].depends_on["db"];
    assert_eq!(dependency.condition, spec::DependencyCondition::ServiceStarted);
    assert!(dependency.restart);
    assert_eq!(
        services["tool"].network_mode,
        Some(spec::NetworkMode::Engine("host".into()))
    );
    assert!(services["data"].depends_on.contains_key("db"));
    let from = &services["data"].runtime.volumes_from;
    assert_eq!(
        (from[1].kind, from[1].name.as_str(), from[1].read_only),
        (spec::VolumesFromKind::Container, "outside", true)
    );

    let both = one_service("    image: busybox\n    network_mode: host\n    networks: [default]\n");
    assert_eq!(both.error().0, "service `app` sets both `network_mode` and `networks`");
    let unknown = one_service("    image: busybox\n    network_mode: service:dbb\n");
    let (message, line, _) = unknown.error();
    assert_eq!(message, "service `app` shares the namespace of unknown service `dbb`");
    assert_eq!(line, 4);
}

#[test]
fn networks_take_ipam_and_services_their_addresses_and_priority() {
    let loaded = Project::new()
        .file(
            "spec.yaml",
            "services:\n  app:\n    image: busybox\n    networks:\n      front:\n        ipv4_address: 172.30.5.10\n        \
             aliases: [web]\n        priority: 10\n      back:\n        mac_address: 02:42:ac:11:00:99\n\
             networks:\n  front:\n    ipam:\n      driver: default\n      config:\n        - subnet: 172.30.5.0/24\n          \
             gateway: 172.30.5.1\n          ip_range: 172.30.5.0/25\n          aux_addresses: {router: 172.30.5.2}\n  back:\n    driver: bridge\n",
        )
        .ok();
    let front = &loaded.spec.networks["front"];
    let ipam = front.ipam.as_ref().unwrap();
    assert_eq!(ipam.driver.as_deref(), Some("default"));
    assert_eq!(ipam.config[0].subnet.as_deref(), Some("172.30.5.0/24"));
    assert_eq!(ipam.config[0].aux_addresses["router"], "172.30.5.2");
    let joined = &loaded.spec.services["app"].networks;
    assert_eq!(joined["front"].ipv4_address.as_deref(), Some("172.30.5.10"));
    assert_eq!(joined["front"].priority, 10);
    assert_eq!(joined["back"].mac_address.as_deref(), Some("02:42:ac:11:00:99"));

    let bad = one_service("    image: busybox\n    networks:\n      default:\n        ipv4_address: 300.1.1.1\n");
    assert_eq!(bad.error().0, "`ipv4_address` `300.1.1.1` is not an IPv4 address");
}

#[test]
fn devices_label_files_and_the_remaining_fields_load() {
    let loaded = Project::new()
        .file("labels.env", "team=core\nowner=label-file\n")
        .file(
            "spec.yaml",
            "services:\n  app:\n    image: busybox\n    devices: ['/dev/fuse', '/dev/zero:/dev/myzero:r', \
             {source: /dev/null, target: /dev/mynull, permissions: rw}]\n    label_file: ./labels.env\n    \
             labels: {owner: spec}\n    storage_opt: {size: 1G}\n    annotations: ['com.example.note=1']\n    \
             mac_address: 02:42:ac:11:00:02\n    attach: false\n    scale: 1\n    \
             ports: [{target: 80, published: '8080', name: web, app_protocol: http}]\n\
             volumes:\n  scratch:\n    driver: local\n    driver_opts: {type: tmpfs, device: tmpfs}\n",
        )
        .ok();
    let app = &loaded.spec.services["app"];
    let devices: Vec<(&str, &str, &str)> = app
        .runtime
        .devices
        .iter()
        .map(|d| (d.source.as_str(), d.target.as_str(), d.permissions.as_str()))
        .collect();
    assert_eq!(
        devices,
        [
            ("/dev/fuse", "/dev/fuse", "rwm"),
            ("/dev/zero", "/dev/myzero", "r"),
            ("/dev/null", "/dev/mynull", "rw")
        ]
    );
    assert_eq!(app.labels["team"], "core");
    assert_eq!(app.labels["owner"], "spec", "`labels` wins over `label_file`");
    assert_eq!(app.runtime.storage_opt["size"], "1G");
    assert_eq!(app.runtime.annotations["com.example.note"], "1");
    assert_eq!(app.runtime.mac_address.as_deref(), Some("02:42:ac:11:00:02"));
    assert_eq!(app.ports[0].app_protocol.as_deref(), Some("http"));
    assert_eq!(app.ports[0].name.as_deref(), Some("web"));
    assert_eq!(loaded.spec.volumes["scratch"].driver_opts["type"], "tmpfs");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let scaled = one_service("    image: busybox\n    scale: 3\n").ok();
    assert_eq!(
        scaled.warnings,
        ["service `app`: `scale: 3` is ignored: flowinfra runs one container per service"]
    );
}

#[test]
fn an_include_env_file_of_dev_null_reads_no_env_file() {
    let project = Project::new()
        .file("db/.env", "TAG=from-dotenv\n")
        .file("db/compose.yml", "services:\n  db:\n    image: mysql:${TAG:-8.4}\n")
        .file(
            "spec.yaml",
            "include:\n  - path: db/compose.yml\n    env_file: /dev/null\nservices:\n  app:\n    image: busybox\n",
        );
    assert_eq!(project.ok().spec.services["db"].image, "mysql:8.4");
}

#[test]
fn cpu_memory_and_namespace_fields_load_in_engine_units() {
    let loaded = one_service(
        "    image: busybox\n    cpu_shares: 512\n    cpuset: 0-1\n    cpu_period: 100ms\n    cpu_quota: 50000\n    \
         cpu_rt_runtime: 400ms\n    memswap_limit: -1\n    mem_swappiness: 10\n    oom_kill_disable: true\n    \
         dns_opt: [ndots:2]\n    uts: host\n    cgroup: host\n    device_cgroup_rules: ['c 1:3 mr']\n    volume_driver: local\n",
    )
    .ok();
    let runtime = &loaded.spec.services["app"].runtime;
    assert_eq!(runtime.cpu_shares, Some(512));
    assert_eq!(runtime.cpuset.as_deref(), Some("0-1"));
    assert_eq!(runtime.cpu_period, Some(100_000));
    assert_eq!(runtime.cpu_quota, Some(50_000));
    assert_eq!(runtime.cpu_rt_runtime, Some(400_000));
    assert_eq!(runtime.memswap_limit, Some(-1));
    assert_eq!(runtime.mem_swappiness, Some(10));
    assert_eq!(runtime.oom_kill_disable, Some(true));
    assert_eq!(runtime.dns_opt, ["ndots:2"]);
    assert_eq!(runtime.cgroup.as_deref(), Some("host"));
    assert_eq!(runtime.device_cgroup_rules, ["c 1:3 mr"]);
    let bad = one_service("    image: busybox\n    cgroup: shared\n");
    assert_eq!(bad.error().0, "`cgroup` must be host or private, found `shared`");
}

#[test]
fn gpus_device_reservations_cdi_devices_and_blkio_load_as_compose_sends_them() {
    let loaded = one_service(
        "    image: busybox\n    gpus: all\n    devices: ['vendor.com/gpu=0', '/dev/fuse']\n    \
         deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu, compute]}]}}}\n    \
         blkio_config: {weight: 300, device_read_bps: [{path: /dev/sda, rate: 12mb}], device_write_iops: [{path: /dev/sda, rate: 30}]}\n    \
         external_links: ['redis_1', 'project_db_1:mysql']\n",
    )
    .ok();
    let runtime = &loaded.spec.services["app"].runtime;
    assert_eq!(runtime.gpus[0].count, Some(-1));
    assert_eq!(runtime.gpus[0].capabilities, ["gpu"]);
    assert_eq!(runtime.cdi_devices, ["vendor.com/gpu=0"]);
    assert_eq!(runtime.devices.len(), 1);
    assert_eq!(runtime.reserved_devices[0].driver.as_deref(), Some("nvidia"));
    assert_eq!(runtime.reserved_devices[0].capabilities, ["gpu", "compute"]);
    let blkio = runtime.blkio_config.as_ref().unwrap();
    assert_eq!(blkio.weight, Some(300));
    assert_eq!(blkio.device_read_bps["/dev/sda"], 12 << 20);
    assert_eq!(blkio.device_write_iops["/dev/sda"], 30);
    assert_eq!(runtime.external_links, ["redis_1", "project_db_1:mysql"]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn services_extending_a_huge_base_are_bounded_like_aliases() {
    // x-l3 is 7,381 nodes; the base holds it twelve times (~89,000 copied
    // nodes, within the alias bound), and each of 20 services extending it
    // copies the base again.
    let mut text = alias_bomb(4);
    text.push_str("services:\n  base:\n    image: busybox\n");
    for n in 0..12 {
        text.push_str(&format!("    x-big{n}: *l3\n"));
    }
    for n in 0..20 {
        text.push_str(&format!("  s{n}:\n    extends: base\n"));
    }
    let started = std::time::Instant::now();
    let err = Project::new().file("spec.yaml", &text).load().expect_err("refused");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let d = &err.diagnostics[0];
    assert_eq!(d.message, "`extends` copies more than 1000000 values in all", "{err}");
    assert!(d.position.as_ref().unwrap().line > 18, "{err}");
}

#[test]
fn errors_in_an_included_file_point_into_it() {
    let syntax = Project::new()
        .file("db.yml", "services:\n  db:\n    image: [busybox\n")
        .file(
            "spec.yaml",
            "include: [db.yml]\nservices:\n  app:\n    image: busybox\n",
        );
    let err = syntax.load().expect_err("refused");
    let d = &err.diagnostics[0];
    assert!(d.position.as_ref().unwrap().file.ends_with("db.yml"), "{err}");
    assert!(d.message.starts_with("invalid YAML"), "{err}");
    let required = Project::new()
        .file("db.yml", "services:\n  db:\n    image: mysql:${TAG:?set TAG}\n")
        .file(
            "spec.yaml",
            "include: [db.yml]\nservices:\n  app:\n    image: busybox\n",
        );
    let err = required.load().expect_err("refused");
    let d = &err.diagnostics[0];
    let position = d.position.as_ref().unwrap();
    assert!(position.file.ends_with("db.yml"), "{err}");
    assert_eq!((position.line, position.column), (3, 18), "{err}");
    assert_eq!(d.source_line.as_deref(), Some("    image: mysql:${TAG:?set TAG}"));
}

#[test]
fn a_reserved_label_from_a_label_file_is_an_error_at_the_field() {
    let project = Project::new().file("labels.env", "io.flowinfra.project=other\n").file(
        "spec.yaml",
        "services:\n  app:\n    image: busybox\n    label_file: labels.env\n",
    );
    let (message, line, _) = project.error();
    assert_eq!(message, "label `io.flowinfra.project` is reserved for flowinfra");
    assert_eq!(line, 4);
}

#[test]
fn lifecycle_hooks_load_with_their_command_user_and_environment() {
    let loaded = one_service(
        "    image: busybox\n    post_start:\n      - command: ./warm-up.sh --fast\n        user: root\n        \
         environment: [MODE=fast]\n    pre_stop:\n      - command: [sh, -c, flush]\n        privileged: true\n",
    )
    .ok();
    let app = &loaded.spec.services["app"];
    assert_eq!(app.post_start[0].command, ["./warm-up.sh", "--fast"]);
    assert_eq!(app.post_start[0].user.as_deref(), Some("root"));
    assert_eq!(app.post_start[0].environment["MODE"], "fast");
    assert!(app.pre_stop[0].privileged);
    let no_command = one_service("    image: busybox\n    post_start:\n      - user: root\n");
    assert_eq!(no_command.error().0, "a `post_start` hook needs a `command`");
}
