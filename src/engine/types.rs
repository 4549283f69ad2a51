//! The adapter's own vocabulary: what callers ask the engine for
//! ([`ContainerSpec`] and its parts) and what they get back
//! ([`ContainerState`], [`ImageInfo`], [`LogLine`], ...).
//!
//! These are plain data, independent of bollard's models and of the spec
//! model, so the planner and the commands can build and compare them without
//! an engine.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Everything needed to create one container of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name, e.g. `<project>-<service>-1`.
    pub name: String,
    pub project: String,
    pub service: String,
    /// Image reference (`mysql:8.4`) or image ID.
    pub image: String,
    /// Extra labels (config hash, ...). The adapter adds the project and
    /// service labels itself, overriding any given here.
    pub labels: BTreeMap<String, String>,
    pub env: Vec<(String, String)>,
    /// Replaces the image's `CMD` when set.
    pub command: Option<Vec<String>>,
    /// Replaces the image's `ENTRYPOINT` when set.
    pub entrypoint: Option<Vec<String>>,
    pub ports: Vec<PortBinding>,
    pub mounts: Vec<MountSpec>,
    /// Replaces the image's `HEALTHCHECK` when set.
    pub healthcheck: Option<HealthcheckSpec>,
    pub restart: Option<RestartPolicy>,
    /// The network the container joins (created beforehand with
    /// [`Engine::ensure_network`](super::Engine::ensure_network)).
    pub network: String,
    /// Names other containers on `network` reach this one by (the service name).
    pub aliases: Vec<String>,
    pub hostname: Option<String>,
    /// The rest of what Compose sets on a container (user, tty, resources…).
    pub options: ContainerOptions,
}

/// Container settings passed through to the engine as Compose v2 passes
/// them; each `None`/empty leaves the engine's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOptions {
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub domainname: Option<String>,
    /// `8080/tcp` keys, exposed besides the published ports.
    pub expose: Vec<String>,
    pub tty: bool,
    pub stdin_open: bool,
    pub init: Option<bool>,
    pub privileged: bool,
    pub read_only: bool,
    pub stop_signal: Option<String>,
    /// Seconds.
    pub stop_timeout: Option<i64>,
    /// Bytes.
    pub shm_size: Option<i64>,
    /// Bytes.
    pub memory: Option<i64>,
    /// Bytes.
    pub memory_reservation: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
    pub oom_score_adj: Option<i64>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub group_add: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    /// Name → (soft, hard).
    pub ulimits: BTreeMap<String, (i64, i64)>,
    pub tmpfs: BTreeMap<String, String>,
    /// `container:alias`.
    pub links: Vec<String>,
    pub ipc_mode: Option<String>,
    pub pid_mode: Option<String>,
    pub cgroup_parent: Option<String>,
    pub runtime: Option<String>,
    pub userns_mode: Option<String>,
    /// Log driver and its options.
    pub log_driver: Option<String>,
    pub log_options: BTreeMap<String, String>,
    /// `host`, `none`, `bridge`, `container:NAME`: replaces joining
    /// [`ContainerSpec::network`] (no endpoints, no aliases).
    pub network_mode: Option<String>,
    /// Addresses and options of the endpoint on [`ContainerSpec::network`].
    pub endpoint: EndpointOptions,
    /// Further networks, connected after the container is created and before it starts.
    pub extra_networks: Vec<NetworkAttachment>,
    pub devices: Vec<DeviceSpec>,
    /// `container[:ro|rw]` entries.
    pub volumes_from: Vec<String>,
    pub storage_opt: BTreeMap<String, String>,
    /// Needs Engine API 1.43; left out, with a warning, on older engines.
    pub annotations: BTreeMap<String, String>,
    /// The MAC address on the primary network; needs Engine API 1.44 (the
    /// older container-wide field is not in this client's API).
    pub mac_address: Option<String>,
    /// Files written into the container after it is created, before it starts.
    pub files: Vec<ContainerFile>,
    pub cpu_shares: Option<i64>,
    pub cpuset_cpus: Option<String>,
    /// Microseconds, as are the three below.
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_realtime_period: Option<i64>,
    pub cpu_realtime_runtime: Option<i64>,
    /// Bytes; -1 for unlimited swap.
    pub memory_swap: Option<i64>,
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    pub dns_options: Vec<String>,
    pub uts_mode: Option<String>,
    /// `host` or `private`.
    pub cgroupns_mode: Option<String>,
    pub device_cgroup_rules: Vec<String>,
    pub volume_driver: Option<String>,
    /// GPUs, reserved devices and CDI devices.
    pub device_requests: Vec<DeviceRequestSpec>,
    pub blkio: BlkioSpec,
}

/// A request for devices of a driver, as the engine takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceRequestSpec {
    pub driver: Option<String>,
    /// `-1`: all of them.
    pub count: Option<i64>,
    pub device_ids: Vec<String>,
    /// One set of capabilities the devices must all have.
    pub capabilities: Vec<String>,
    pub options: BTreeMap<String, String>,
}

/// Block I/O weights and limits; empty leaves the engine's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioSpec {
    pub weight: Option<u16>,
    pub weight_device: BTreeMap<String, u16>,
    pub read_bps: BTreeMap<String, i64>,
    pub write_bps: BTreeMap<String, i64>,
    pub read_iops: BTreeMap<String, i64>,
    pub write_iops: BTreeMap<String, i64>,
}

/// A container's endpoint on one network beyond its aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOptions {
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub link_local_ips: Vec<String>,
    pub mac_address: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
}

/// A network a container joins besides its primary one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttachment {
    pub network: String,
    pub aliases: Vec<String>,
    pub endpoint: EndpointOptions,
}

/// A host device made available in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub host_path: String,
    pub container_path: String,
    /// Letters of `rwm`.
    pub permissions: String,
}

/// A file written into a container (a secret or config from a variable or
/// inline content). Its content never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerFile {
    /// Absolute path in the container.
    pub path: String,
    pub content: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

impl fmt::Debug for ContainerFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContainerFile")
            .field("path", &self.path)
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .field("mode", &format_args!("{:o}", self.mode))
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .finish()
    }
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortBinding {
    /// Host address to bind; the caller chooses the default (`127.0.0.1`).
    pub host_ip: String,
    /// `None` lets the engine pick a free port.
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// The lower-case name the engine uses in port keys (`3306/tcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filesystem mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub source: MountSource,
    /// Absolute path inside the container.
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A named volume (created beforehand with
    /// [`Engine::ensure_volume`](super::Engine::ensure_volume), so it carries
    /// the project label).
    Volume(String),
    /// A host path.
    Bind(PathBuf),
    /// A fresh volume the engine names; it lives as long as the container.
    Anonymous,
}

/// A Docker healthcheck. Unset durations keep the engine's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthcheckSpec {
    /// `["CMD", prog, args...]`, `["CMD-SHELL", "command"]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    /// Needs Engine API 1.44 or newer; left out, with a warning, on older engines.
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    No,
    Always,
    OnFailure { max_retries: Option<u32> },
    UnlessStopped,
}

/// What the engine reports about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub id: String,
    /// Without the engine's leading `/`.
    pub name: String,
    /// The `io.flowinfra.service` label, when present.
    pub service: Option<String>,
    /// ID of the image the container runs (`sha256:...`).
    pub image_id: String,
    /// The image as the engine names it. From [`Engine::inspect_container`]
    /// this is the reference the container was created from; from
    /// [`Engine::list_containers`] the engine reports the image ID instead
    /// once that reference names another image (re-pulled or rebuilt), so
    /// compare `image_id` to detect image drift, never this.
    ///
    /// [`Engine::inspect_container`]: super::Engine::inspect_container
    /// [`Engine::list_containers`]: super::Engine::list_containers
    pub image_ref: String,
    pub labels: BTreeMap<String, String>,
    pub status: RunState,
    /// Set when the container has exited (or died).
    pub exit_code: Option<i64>,
    /// `None` when the container has no healthcheck or is not running.
    pub health: Option<Health>,
    /// Published ports; empty unless the container is running.
    pub ports: Vec<PublishedPort>,
    /// The networks it is connected to, by name, sorted.
    pub networks: Vec<String>,
}

/// What only an inspection tells about a container: when it ran, and its
/// healthcheck's recent results (for reports, not on the warm path).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerDetails {
    /// RFC 3339 in UTC; `None` before its first start.
    pub started_at: Option<String>,
    /// RFC 3339 in UTC; `None` while it has never exited.
    pub finished_at: Option<String>,
    /// The engine keeps the last five results, oldest first.
    pub health_log: Vec<HealthProbe>,
}

/// One run of a container's healthcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthProbe {
    /// 0 healthy, 1 unhealthy, others: the probe could not run.
    pub exit_code: Option<i64>,
    /// What the check printed (the engine keeps up to 4 KiB).
    pub output: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
    Removing,
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunState::Created => "created",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Restarting => "restarting",
            RunState::Exited => "exited",
            RunState::Dead => "dead",
            RunState::Removing => "removing",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        })
    }
}

/// A port a running container publishes on the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublishedPort {
    /// `0.0.0.0` or `::` when bound to every address.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

/// What the engine reports about one local image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// `sha256:...`
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Creation time, RFC 3339 in UTC.
    pub created: Option<String>,
}

/// One progress message of an image pull, as the engine sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullProgress {
    /// The layer the message is about, if any.
    pub layer: Option<String>,
    /// e.g. `Pulling fs layer`, `Downloading`, `Pull complete`.
    pub status: String,
    pub current_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: LogStream,
    /// Without the trailing newline.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
    /// Output of a container with a TTY, where the two are not told apart.
    Console,
}

/// What to build: the tag, the Dockerfile inside the context, args and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    pub reference: String,
    /// Path of the Dockerfile relative to the context root.
    pub dockerfile: String,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// A command run inside a running container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecSpec {
    pub command: Vec<String>,
    pub user: Option<String>,
    pub privileged: bool,
    pub working_dir: Option<String>,
    /// `NAME=value` entries.
    pub env: Vec<String>,
}

/// How an [`ExecSpec`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// `None` when the engine could not tell.
    pub exit_code: Option<i64>,
    /// Its last lines of output, stdout and stderr together.
    pub output: Vec<String>,
}
