//! The validated, resolved stack spec: what every other part of flowinfra
//! reads. Paths are absolute, variables interpolated, defaults applied.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// The project name: labels, container and network names derive from it.
    pub name: String,
    #[serde(skip)]
    pub project_dir: PathBuf,
    /// The files merged into this spec, in order; empty for the embedded default stack.
    #[serde(skip)]
    pub files: Vec<PathBuf>,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, VolumeSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, NetworkSpec>,
    /// Top-level `secrets`: files mounted at `/run/secrets/<name>` in the services that use them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileObject>,
    /// Top-level `configs`: files mounted at their target (default `/<name>`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    /// The image to run; for `build:` services, the tag the build produces.
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `env_file` entries first, `environment` over them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub pull_policy: PullPolicy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Networks the service joins; the project's default network when the
    /// spec names none, none with a `network_mode`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, ServiceNetwork>,
    /// `network_mode`: the container joins no project network (aliases and
    /// `networks` do not apply); `service:NAME` is also a dependency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<NetworkMode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileMount>,
    /// Commands run in the container once it has started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<Hook>,
    /// Commands run in the container before flowinfra stops it (`down`, a recreate).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
    #[serde(flatten)]
    pub runtime: RuntimeOptions,
    #[serde(rename = "x-flowinfra", skip_serializing_if = "Option::is_none")]
    pub flowinfra: Option<Flowinfra>,
}

impl Service {
    /// The kind flowinfra provisions this service as, if any.
    pub fn kind(&self) -> Option<Kind> {
        self.flowinfra
            .as_ref()
            .and_then(|x| x.settings.as_ref())
            .map(KindSettings::kind)
    }

    /// Marked `x-flowinfra: { job: true }`: a one-shot job, done once its
    /// container exited 0 (as is a service others wait on with
    /// `service_completed_successfully`).
    pub fn is_marked_job(&self) -> bool {
        self.flowinfra.as_ref().is_some_and(|x| x.job)
    }

    /// The host port publishing `container_port`, if the spec publishes it.
    pub fn published_port(&self, container_port: u16) -> Option<&Port> {
        self.ports
            .iter()
            .find(|port| port.container_port == container_port && port.protocol == Protocol::Tcp)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    pub context: PathBuf,
    pub dockerfile: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One published port. Ranges in the spec expand to one `Port` each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    pub host_ip: String,
    /// `None`: the engine picks a free port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: Protocol,
    /// The long form's `name` and `app_protocol`: descriptive, not sent to the engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MountSource {
    /// A named volume declared under top-level `volumes`.
    Volume {
        name: String,
    },
    Bind {
        path: PathBuf,
    },
    /// An anonymous volume, fresh for each container.
    Anonymous,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    #[serde(with = "duration_text", skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(with = "duration_text", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(with = "duration_text", skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    #[serde(with = "duration_text", skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyCondition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub condition: DependencyCondition,
    pub restart: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    No,
    Always,
    OnFailure { max_retries: Option<u32> },
    UnlessStopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    /// Pull only when the image is absent (Compose's default; `if_not_present` too).
    Missing,
    Always,
    Never,
    /// Always build from `build:`.
    Build,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// The network with the highest priority is joined first (the container's
    /// primary network); ties go by name, as in Compose.
    #[serde(skip_serializing_if = "is_zero")]
    pub priority: i64,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// A service's `network_mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum NetworkMode {
    /// `host`, `none`, `bridge`, or another mode the engine knows, passed as written.
    Engine(String),
    /// `service:NAME`: the network namespace of that service's container.
    Service(String),
    /// `container:NAME`: the network namespace of a container outside the project.
    Container(String),
}

impl NetworkMode {
    pub fn parse(text: &str) -> Self {
        if let Some(service) = text.strip_prefix("service:") {
            NetworkMode::Service(service.to_string())
        } else if let Some(container) = text.strip_prefix("container:") {
            NetworkMode::Container(container.to_string())
        } else {
            NetworkMode::Engine(text.to_string())
        }
    }
}

impl From<NetworkMode> for String {
    fn from(mode: NetworkMode) -> String {
        match mode {
            NetworkMode::Engine(mode) => mode,
            NetworkMode::Service(service) => format!("service:{service}"),
            NetworkMode::Container(container) => format!("container:{container}"),
        }
    }
}

/// A top-level `secrets` or `configs` entry. Exactly one source is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileObject {
    /// The name Swarm would give it; unused without Swarm, shown as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A host file, bind-mounted read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The variable holding the content, copied into the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Inline content (configs only), copied into the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Managed by Swarm: refused when a service uses it, as Compose does without Swarm.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The value of `environment`'s variable: never serialised (a secret's
    /// content must not be printed).
    #[serde(skip)]
    pub environment_value: Option<String>,
}

/// A lifecycle hook: a command run inside the service's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hook {
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}

/// A service's use of a secret or config: which one, and where it appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileMount {
    pub source: String,
    /// Absolute path in the container.
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Permission bits of a copied file (default 0444).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeSpec {
    /// The engine-side name: `<project>_<key>` unless `name:` or `external` says otherwise.
    pub name: String,
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The volume driver (`local` unless given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    pub name: String,
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// No route outside the network.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enable_ipv6: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// The network driver (`bridge` unless given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
}

/// A network's address management, as the engine takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
}

/// The `x-flowinfra` extension of a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flowinfra {
    /// How long `up` waits for readiness; the command's `--timeout` otherwise.
    #[serde(with = "duration_text", skip_serializing_if = "Option::is_none")]
    pub ready_timeout: Option<Duration>,
    /// A one-shot job (`job: true`): run once, done when it exited 0, run
    /// again only when its config, image or build context changed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub job: bool,
    /// The kind's settings; `None` for a job, which has no kind.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub settings: Option<KindSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Mysql,
    Postgres,
    Rabbitmq,
    Redis,
    S3,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Mysql, Kind::Postgres, Kind::Rabbitmq, Kind::Redis, Kind::S3];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mysql => "mysql",
            Kind::Postgres => "postgres",
            Kind::Rabbitmq => "rabbitmq",
            Kind::Redis => "redis",
            Kind::S3 => "s3",
        }
    }

    /// The container port flowinfra talks to for readiness and provisioning.
    pub fn default_port(self) -> u16 {
        match self {
            Kind::Mysql => 3306,
            Kind::Postgres => 5432,
            Kind::Rabbitmq => 5672,
            Kind::Redis => 6379,
            Kind::S3 => 9000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum KindSettings {
    Mysql(MysqlSettings),
    Postgres(PostgresSettings),
    Rabbitmq(RabbitmqSettings),
    Redis(RedisSettings),
    S3(S3Settings),
}

impl KindSettings {
    pub fn kind(&self) -> Kind {
        match self {
            KindSettings::Mysql(_) => Kind::Mysql,
            KindSettings::Postgres(_) => Kind::Postgres,
            KindSettings::Rabbitmq(_) => Kind::Rabbitmq,
            KindSettings::Redis(_) => Kind::Redis,
            KindSettings::S3(_) => Kind::S3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MysqlSettings {
    /// sqlx migrations, read at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<PathBuf>,
    /// The seed directory holding `manifest.yaml`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostgresSettings {
    /// sqlx migrations for `POSTGRES_DB`, read at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<PathBuf>,
    /// The seed directory (holding `manifest.yaml`) for `POSTGRES_DB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<PathBuf>,
    /// Further databases in the same server, each created when missing and
    /// migrated and seeded on its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<PostgresDatabase>,
}

/// One entry of a postgres service's `databases:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostgresDatabase {
    pub name: String,
    /// The role that owns the database when flowinfra creates it (and
    /// that migrates and seeds it); `POSTGRES_USER` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RabbitmqSettings {
    pub vhost: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<Queue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeType {
    Direct,
    Fanout,
    Topic,
    Headers,
}

impl ExchangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeType::Direct => "direct",
            ExchangeType::Fanout => "fanout",
            ExchangeType::Topic => "topic",
            ExchangeType::Headers => "headers",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    pub name: String,
    #[serde(rename = "type")]
    pub exchange_type: ExchangeType,
    pub durable: bool,
}

/// A queue argument value as AMQP tables carry it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ArgumentValue {
    Integer(i64),
    Boolean(bool),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queue {
    pub name: String,
    pub durable: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub arguments: BTreeMap<String, ArgumentValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    pub exchange: String,
    pub queue: String,
    pub routing_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RedisSettings {
    /// Logical databases the consumers use, checked by `check`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct S3Settings {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<Bucket>,
    /// The S3 server's backend (`minio`, `rustfs`) when the image name does
    /// not say it; see `kinds::s3_backends`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
}

/// Anonymous access to a bucket, named as MinIO's `mc anonymous set` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BucketPolicy {
    Private,
    Download,
    Upload,
    Public,
}

impl BucketPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            BucketPolicy::Private => "private",
            BucketPolicy::Download => "download",
            BucketPolicy::Upload => "upload",
            BucketPolicy::Public => "public",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub name: String,
    pub policy: BucketPolicy,
    /// The policy applies to keys under this prefix only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// Durations print as Compose writes them (`10s`, `1m30s`, `500ms`).
mod duration_text {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_str(&super::format_duration(*duration)),
            None => serializer.serialize_none(),
        }
    }
}

/// Formats a duration in Go/Compose notation.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".into();
    }
    let (hours, rest) = (millis / 3_600_000, millis % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1000, rest % 1000);
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 {
        text.push_str(&format!("{seconds}s"));
    }
    if millis > 0 {
        text.push_str(&format!("{millis}ms"));
    }
    text
}

/// Compose service fields that shape the container beyond image, command,
/// ports and mounts (issue 15): each passed to the engine as Compose v2
/// passes it. Empty ones are left out of `config` and of the config hash, so
/// specs that do not use them keep their hashes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuntimeOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// Container ports exposed without publishing: `8080/tcp`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Whole seconds, as the engine takes it (`StopTimeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<i64>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// Bytes; `mem_limit` or `deploy.resources.limits.memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<i64>,
    /// Bytes; `mem_reservation` or `deploy.resources.reservations.memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<i64>,
    /// Billionths of a CPU; `cpus` or `deploy.resources.limits.cpus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    /// `host:address` entries, as the engine takes them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    /// Mount point → tmpfs options (`size=64m`), empty for none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
    /// `service[:alias]` entries; each linked service is also a dependency.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// `HOST_PATH:CONTAINER_PATH:PERMISSIONS` entries, each part filled in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<VolumesFrom>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The container's MAC address on its primary network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// CPUs the container may use (`0-3`, `0,1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    /// Bytes of memory plus swap; -1 for unlimited swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_swappiness: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    /// The cgroup namespace: `host` or `private`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_driver: Option<String>,
    /// `gpus`, as device requests of the `gpu` capability.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<DeviceRequest>,
    /// `deploy.resources.reservations.devices`, honoured without Swarm as Compose does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reserved_devices: Vec<DeviceRequest>,
    /// CDI device names given in `devices` (`vendor.com/class=name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cdi_devices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_config: Option<BlkioConfig>,
    /// `container[:alias]` links to containers outside the spec.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
}

/// A request for devices of a driver (GPUs), as the engine takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DeviceRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// `-1`: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// Block I/O weights and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct BlkioConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Device path → weight.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub weight_device: BTreeMap<String, u16>,
    /// Device path → bytes per second.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub device_read_bps: BTreeMap<String, i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub device_write_bps: BTreeMap<String, i64>,
    /// Device path → operations per second.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub device_read_iops: BTreeMap<String, i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub device_write_iops: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub source: String,
    pub target: String,
    pub permissions: String,
}

/// Where `volumes_from` takes a container's volumes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumesFrom {
    /// `service` (a service of this project, also a dependency) or `container`.
    pub kind: VolumesFromKind,
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumesFromKind {
    Service,
    Container,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}
