//! Containers: create from a [`ContainerSpec`], start (naming whoever holds a
//! conflicting host port), stop, remove, inspect and list a project's
//! containers as [`ContainerState`]s.

use std::collections::{BTreeMap, HashMap};
use std::sync::Once;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryHealthStatusEnum, ContainerSummaryStateEnum, DeviceMapping, DeviceRequest, EndpointIpamConfig,
    EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig,
    Mount, MountType, MountVolumeOptions, NetworkingConfig, PortSummaryTypeEnum, ResourcesBlkioWeightDevice,
    ResourcesUlimits, RestartPolicyNameEnum, ThrottleDevice,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RenameContainerOptionsBuilder, StopContainerOptionsBuilder,
};

use super::{
    ContainerDetails, ContainerFile, ContainerSpec, ContainerState, EndpointOptions, Engine, EngineError, ExecOutcome,
    ExecSpec, Health, HealthProbe, HealthcheckSpec, LABEL_PROJECT, LABEL_SERVICE, MountSource, PortHolder, Protocol,
    PublishedPort, RestartPolicy, RunState, is_not_found, status_code,
};

/// The engine may take this long beyond the stop timeout to kill the
/// process and report back, before we stop waiting for its answer.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Healthcheck `StartInterval` arrived with Engine API 1.44 (Docker 25).
const START_INTERVAL_MIN_API: (usize, usize) = (1, 44);
/// `HostConfig.Annotations` arrived with Engine API 1.43 (Docker 24).
const ANNOTATIONS_MIN_API: (usize, usize) = (1, 43);
/// An endpoint's own `MacAddress` is honoured from Engine API 1.44.
const ENDPOINT_MAC_MIN_API: (usize, usize) = (1, 44);

static START_INTERVAL_WARNING: Once = Once::new();
static ANNOTATIONS_WARNING: Once = Once::new();
static MAC_ADDRESS_WARNING: Once = Once::new();

/// What the engine at hand takes of a container's settings.
#[derive(Debug, Clone, Copy)]
struct Supports {
    start_interval: bool,
    annotations: bool,
    endpoint_mac: bool,
}

impl Engine {
    /// Creates (without starting) the container `spec` describes, labelled
    /// with its project and service; returns its ID.
    ///
    /// The image must be present, and the network and named volumes created
    /// beforehand (the engine would create bare volumes without our label).
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let supports_start_interval = self.api_at_least(START_INTERVAL_MIN_API.0, START_INTERVAL_MIN_API.1);
        if !supports_start_interval
            && spec
                .healthcheck
                .as_ref()
                .is_some_and(|check| check.start_interval.is_some())
        {
            START_INTERVAL_WARNING.call_once(|| {
                tracing::warn!(
                    api = %self.api_version(),
                    "this Docker engine is older than API 1.44: healthcheck start_interval is ignored"
                );
            });
        }
        let supports = Supports {
            start_interval: supports_start_interval,
            annotations: self.api_at_least(ANNOTATIONS_MIN_API.0, ANNOTATIONS_MIN_API.1),
            endpoint_mac: self.api_at_least(ENDPOINT_MAC_MIN_API.0, ENDPOINT_MAC_MIN_API.1),
        };
        if !supports.annotations && !spec.options.annotations.is_empty() {
            ANNOTATIONS_WARNING.call_once(|| {
                tracing::warn!(
                    api = %self.api_version(),
                    "this Docker engine is older than API 1.43: `annotations` are ignored"
                );
            });
        }
        let mac_requested = spec.options.mac_address.is_some()
            || spec.options.endpoint.mac_address.is_some()
            || spec
                .options
                .extra_networks
                .iter()
                .any(|n| n.endpoint.mac_address.is_some());
        if !supports.endpoint_mac && mac_requested {
            MAC_ADDRESS_WARNING.call_once(|| {
                tracing::warn!(
                    api = %self.api_version(),
                    "this Docker engine is older than API 1.44: `mac_address` is ignored (the engine picks one)"
                );
            });
        }
        let options = CreateContainerOptionsBuilder::new().name(&spec.name).build();
        match self
            .docker
            .create_container(Some(options), container_body(spec, supports))
            .await
        {
            Ok(response) => {
                for warning in response.warnings {
                    tracing::warn!(container = %spec.name, "engine: {warning}");
                }
                // The rest of the container's setup; a half-made container is removed.
                if let Err(error) = self.finish_container(&response.id, spec).await {
                    let _ = self.remove_container(&response.id).await;
                    return Err(error);
                }
                Ok(response.id)
            }
            Err(error) if status_code(&error) == Some(409) => Err(EngineError::ContainerNameInUse {
                name: spec.name.clone(),
            }),
            Err(source) => Err(self.api_error("create container", spec.name.clone(), source)),
        }
    }

    /// What creation leaves to do before the container starts: join its
    /// further networks, write its files (secrets and configs from variables
    /// or inline content, as Compose copies them).
    async fn finish_container(&self, id: &str, spec: &ContainerSpec) -> Result<(), EngineError> {
        if spec.options.network_mode.is_none() {
            for attachment in &spec.options.extra_networks {
                self.connect_network(&attachment.network, id, &attachment.aliases, &attachment.endpoint)
                    .await?;
            }
        }
        if !spec.options.files.is_empty() {
            let archive = files_archive(&spec.options.files);
            let options = bollard::query_parameters::UploadToContainerOptionsBuilder::new()
                .path("/")
                .build();
            self.docker
                .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
                .await
                .map_err(|source| self.api_error("write files into container", spec.name.clone(), source))?;
        }
        Ok(())
    }

    /// Runs `exec` in the running container `id`, waits for it to end, and
    /// returns its exit code and its last `tail` lines of output.
    pub async fn exec_in_container(&self, id: &str, exec: &ExecSpec, tail: usize) -> Result<ExecOutcome, EngineError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        use futures_util::StreamExt;
        let created = self
            .docker
            .create_exec(
                id,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(exec.command.clone()),
                    user: exec.user.clone(),
                    privileged: exec.privileged.then_some(true),
                    working_dir: exec.working_dir.clone(),
                    env: (!exec.env.is_empty()).then(|| exec.env.clone()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|source| self.api_error("run a command in container", id, source))?;
        let started = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(|source| self.api_error("run a command in container", id, source))?;
        let mut text = String::new();
        if let StartExecResults::Attached { mut output, .. } = started {
            while let Some(chunk) = output.next().await {
                match chunk {
                    Ok(chunk) => text.push_str(&String::from_utf8_lossy(&chunk.into_bytes())),
                    Err(source) => return Err(self.api_error("read the output of a command in container", id, source)),
                }
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|source| self.api_error("inspect a command in container", id, source))?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let output = lines[lines.len().saturating_sub(tail)..].to_vec();
        Ok(ExecOutcome {
            exit_code: inspected.exit_code,
            output,
        })
    }

    /// Starts container `id` (an ID or name). A host port that is taken is
    /// [`EngineError::PortInUse`], naming the container holding it when it is
    /// one of this engine's. The container is left created, not removed.
    pub async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        match self.docker.start_container(id, None).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code, message })
                if is_port_conflict(&message) =>
            {
                let source = bollard::errors::Error::DockerResponseServerError { status_code, message };
                Err(self.port_conflict(id, source).await)
            }
            Err(error) if is_not_found(&error) => Err(EngineError::ContainerGone { id: id.to_string() }),
            Err(source) => Err(self.api_error("start container", id, source)),
        }
    }

    /// Stops container `id`, killing it after `timeout`. A container that is
    /// already stopped or gone is not an error: the goal is reached.
    pub async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), EngineError> {
        let seconds = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(seconds).build();
        // The engine answers only once the container has stopped: the
        // request must be allowed to outlast the stop timeout.
        let docker = self.docker.clone().with_timeout(timeout + STOP_GRACE);
        match docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(source) => Err(self.api_error("stop container", id, source)),
        }
    }

    /// Removes container `id`, running or not (a running one is killed, so
    /// stop it first for a graceful shutdown), keeping all its volumes.
    /// Anonymous volumes stay too: those from a [`MountSource::Anonymous`]
    /// carry the project label for `down -v`; those the image declares
    /// (`VOLUME`) carry none. A container already gone, or being removed, is
    /// not an error.
    pub async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::new().force(true).v(false).build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("already in progress") => Ok(()),
            Err(source) => Err(self.api_error("remove container", id, source)),
        }
    }

    /// Renames container `id` (an ID or name) to `name`. A name already
    /// taken is [`EngineError::ContainerNameInUse`]; a container that is gone
    /// is [`EngineError::ContainerGone`].
    pub async fn rename_container(&self, id: &str, name: &str) -> Result<(), EngineError> {
        let options = RenameContainerOptionsBuilder::new().name(name).build();
        match self.docker.rename_container(id, options).await {
            Ok(()) => Ok(()),
            Err(error) if status_code(&error) == Some(409) => {
                Err(EngineError::ContainerNameInUse { name: name.to_string() })
            }
            Err(error) if is_not_found(&error) => Err(EngineError::ContainerGone { id: id.to_string() }),
            Err(source) => Err(self.api_error("rename container", id, source)),
        }
    }

    /// The state of container `id` (an ID or name); `None` when there is none.
    pub async fn inspect_container(&self, id: &str) -> Result<Option<ContainerState>, EngineError> {
        match self.docker.inspect_container(id, None).await {
            Ok(container) => Ok(Some(state_from_inspect(container))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(source) => Err(self.api_error("inspect container", id, source)),
        }
    }

    /// When container `id` last started and exited, and its healthcheck's
    /// recent results; `None` when there is no such container.
    pub async fn container_details(&self, id: &str) -> Result<Option<ContainerDetails>, EngineError> {
        let container = match self.docker.inspect_container(id, None).await {
            Ok(container) => container,
            Err(error) if is_not_found(&error) => return Ok(None),
            Err(source) => return Err(self.api_error("inspect container", id, source)),
        };
        let state = container.state.unwrap_or_default();
        // The engine writes `0001-01-01T00:00:00Z` for "never".
        let time = |value: Option<String>| value.filter(|t| !t.starts_with("0001-"));
        let health_log = state
            .health
            .and_then(|health| health.log)
            .unwrap_or_default()
            .into_iter()
            .map(|result| HealthProbe {
                exit_code: result.exit_code,
                output: result.output.unwrap_or_default(),
            })
            .collect();
        Ok(Some(ContainerDetails {
            started_at: time(state.started_at),
            finished_at: time(state.finished_at),
            health_log,
        }))
    }

    /// Every container of `project`, in any state, sorted by name.
    ///
    /// One engine call: this is on the warm path of `up`. The list carries
    /// labels, state, image ID and ports; health and exit code come from its
    /// status text ("Up 3 minutes (healthy)", "Exited (1) 2 seconds ago"),
    /// which the engine has formatted this way since healthchecks exist
    /// (API 1.24). Engines from API 1.52 also send a structured `Health`,
    /// preferred when present. So health costs no `inspect` per container.
    pub async fn list_containers(&self, project: &str) -> Result<Vec<ContainerState>, EngineError> {
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&super::project_filter(project))
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|source| self.api_error("list the containers of project", project, source))?;
        let mut states: Vec<ContainerState> = containers.into_iter().map(state_from_summary).collect();
        states.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(states)
    }

    /// Builds the [`EngineError::PortInUse`] for a start that failed on a
    /// taken host port, looking for the container that holds it among all of
    /// the engine's running containers. Falls back to the original error when
    /// the port cannot be told.
    async fn port_conflict(&self, id: &str, source: bollard::errors::Error) -> EngineError {
        let message = source.to_string();
        let own = self.docker.inspect_container(id, None).await.ok();
        let own_bindings = own.as_ref().map(requested_bindings).unwrap_or_default();
        let parsed = conflicting_address(&message);
        let conflict = match parsed {
            Some((host_ip, port, protocol)) => {
                let protocol = protocol
                    .or_else(|| {
                        own_bindings
                            .iter()
                            .find(|binding| binding.1 == port)
                            .map(|binding| binding.2)
                    })
                    .unwrap_or(Protocol::Tcp);
                Some((host_ip, port, protocol))
            }
            // The message changed shape: with a single fixed host port there
            // is no doubt which one it was.
            None => match own_bindings.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            },
        };
        let Some((host_ip, port, protocol)) = conflict else {
            return self.api_error("start container", id, source);
        };
        let own_id = own.and_then(|container| container.id).unwrap_or_else(|| id.to_string());
        let holder = match self.docker.list_containers(None).await {
            Ok(running) => find_port_holder(&running, &own_id, &host_ip, port, protocol),
            Err(error) => {
                tracing::debug!(%error, "could not list containers to find who holds the port");
                None
            }
        };
        EngineError::PortInUse {
            port,
            host_ip,
            protocol,
            holder,
        }
    }
}

/// A tar archive of `files`, each at its absolute path (the upload goes to `/`).
fn files_archive(files: &[ContainerFile]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.content.len() as u64);
        header.set_mode(file.mode);
        header.set_uid(file.uid);
        header.set_gid(file.gid);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
        );
        header.set_entry_type(tar::EntryType::Regular);
        // Writing to memory cannot fail, and the spec refuses paths with `..`
        // (the one thing `append_data` rejects).
        builder
            .append_data(&mut header, file.path.trim_start_matches('/'), file.content.as_slice())
            .expect("a file of a container archive");
    }
    builder.into_inner().expect("an archive in memory")
}

/// The endpoint settings of one network: aliases, addresses, options.
pub(super) fn endpoint_settings(
    aliases: &[String],
    endpoint: &EndpointOptions,
    links: Option<Vec<String>>,
) -> EndpointSettings {
    let addressed =
        endpoint.ipv4_address.is_some() || endpoint.ipv6_address.is_some() || !endpoint.link_local_ips.is_empty();
    EndpointSettings {
        aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
        links,
        ipam_config: addressed.then(|| EndpointIpamConfig {
            ipv4_address: endpoint.ipv4_address.clone(),
            ipv6_address: endpoint.ipv6_address.clone(),
            link_local_ips: (!endpoint.link_local_ips.is_empty()).then(|| endpoint.link_local_ips.clone()),
        }),
        mac_address: endpoint.mac_address.clone(),
        driver_opts: (!endpoint.driver_opts.is_empty()).then(|| endpoint.driver_opts.clone().into_iter().collect()),
        ..Default::default()
    }
}

/// The engine's request body for `spec`.
fn container_body(spec: &ContainerSpec, supports: Supports) -> ContainerCreateBody {
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.insert(LABEL_PROJECT.to_string(), spec.project.clone());
    labels.insert(LABEL_SERVICE.to_string(), spec.service.clone());

    let mut port_bindings: HashMap<String, Option<Vec<bollard::models::PortBinding>>> = HashMap::new();
    for port in &spec.ports {
        let key = format!("{}/{}", port.container_port, port.protocol);
        port_bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(bollard::models::PortBinding {
                host_ip: Some(port.host_ip.clone()),
                // Empty lets the engine choose a free port.
                host_port: Some(
                    port.host_port
                        .map(|host_port| host_port.to_string())
                        .unwrap_or_default(),
                ),
            });
    }
    let mut exposed_ports: Vec<String> = port_bindings.keys().cloned().collect();
    exposed_ports.extend(spec.options.expose.iter().cloned());
    exposed_ports.sort();
    exposed_ports.dedup();

    let mounts = spec
        .mounts
        .iter()
        .map(|mount| {
            let (typ, source) = match &mount.source {
                MountSource::Volume(name) => (MountType::VOLUME, Some(name.clone())),
                MountSource::Bind(path) => (MountType::BIND, Some(path.to_string_lossy().into_owned())),
                MountSource::Anonymous => (MountType::VOLUME, None),
            };
            // A volume the engine creates for this mount (an anonymous one, or
            // a named one nobody ensured) carries the project label, so
            // `down -v` finds it; an existing volume keeps its labels.
            let volume_options = (typ == MountType::VOLUME).then(|| MountVolumeOptions {
                labels: Some(HashMap::from([(LABEL_PROJECT.to_string(), spec.project.clone())])),
                ..Default::default()
            });
            Mount {
                target: Some(mount.target.clone()),
                source,
                typ: Some(typ),
                read_only: Some(mount.read_only),
                volume_options,
                ..Default::default()
            }
        })
        .collect();

    let options = &spec.options;
    let list = |items: &Vec<String>| (!items.is_empty()).then(|| items.clone());
    let map = |items: &BTreeMap<String, String>| {
        (!items.is_empty()).then(|| items.clone().into_iter().collect::<HashMap<_, _>>())
    };
    let host_config = HostConfig {
        port_bindings: Some(port_bindings),
        mounts: Some(mounts),
        restart_policy: spec.restart.map(restart_policy),
        network_mode: Some(options.network_mode.clone().unwrap_or_else(|| spec.network.clone())),
        init: options.init,
        privileged: options.privileged.then_some(true),
        readonly_rootfs: options.read_only.then_some(true),
        shm_size: options.shm_size,
        memory: options.memory,
        memory_reservation: options.memory_reservation,
        nano_cpus: options.nano_cpus,
        pids_limit: options.pids_limit,
        oom_score_adj: options.oom_score_adj,
        cap_add: list(&options.cap_add),
        cap_drop: list(&options.cap_drop),
        security_opt: list(&options.security_opt),
        dns: list(&options.dns),
        dns_search: list(&options.dns_search),
        extra_hosts: list(&options.extra_hosts),
        group_add: list(&options.group_add),
        sysctls: map(&options.sysctls),
        tmpfs: map(&options.tmpfs),
        ulimits: (!options.ulimits.is_empty()).then(|| {
            options
                .ulimits
                .iter()
                .map(|(name, (soft, hard))| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(*soft),
                    hard: Some(*hard),
                })
                .collect()
        }),
        ipc_mode: options.ipc_mode.clone(),
        pid_mode: options.pid_mode.clone(),
        cgroup_parent: options.cgroup_parent.clone(),
        runtime: options.runtime.clone(),
        userns_mode: options.userns_mode.clone(),
        log_config: (options.log_driver.is_some() || !options.log_options.is_empty()).then(|| HostConfigLogConfig {
            typ: options.log_driver.clone(),
            config: map(&options.log_options),
        }),
        devices: (!options.devices.is_empty()).then(|| {
            options
                .devices
                .iter()
                .map(|device| DeviceMapping {
                    path_on_host: Some(device.host_path.clone()),
                    path_in_container: Some(device.container_path.clone()),
                    cgroup_permissions: Some(device.permissions.clone()),
                })
                .collect()
        }),
        volumes_from: list(&options.volumes_from),
        // Without an endpoint of ours (`network_mode: bridge`), links go where
        // the default bridge keeps them.
        links: options.network_mode.as_ref().and_then(|_| list(&options.links)),
        storage_opt: map(&options.storage_opt),
        annotations: map(&options.annotations).filter(|_| supports.annotations),
        cpu_shares: options.cpu_shares,
        cpuset_cpus: options.cpuset_cpus.clone(),
        cpu_period: options.cpu_period,
        cpu_quota: options.cpu_quota,
        cpu_realtime_period: options.cpu_realtime_period,
        cpu_realtime_runtime: options.cpu_realtime_runtime,
        memory_swap: options.memory_swap,
        memory_swappiness: options.memory_swappiness,
        oom_kill_disable: options.oom_kill_disable,
        dns_options: list(&options.dns_options),
        uts_mode: options.uts_mode.clone(),
        cgroupns_mode: options.cgroupns_mode.as_deref().map(|mode| match mode {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        device_cgroup_rules: list(&options.device_cgroup_rules),
        volume_driver: options.volume_driver.clone(),
        device_requests: (!options.device_requests.is_empty()).then(|| {
            options
                .device_requests
                .iter()
                .map(|request| DeviceRequest {
                    driver: request.driver.clone(),
                    count: request.count,
                    device_ids: (!request.device_ids.is_empty()).then(|| request.device_ids.clone()),
                    capabilities: (!request.capabilities.is_empty()).then(|| vec![request.capabilities.clone()]),
                    options: (!request.options.is_empty()).then(|| request.options.clone().into_iter().collect()),
                })
                .collect()
        }),
        blkio_weight: options.blkio.weight,
        blkio_weight_device: (!options.blkio.weight_device.is_empty()).then(|| {
            options
                .blkio
                .weight_device
                .iter()
                .map(|(path, weight)| ResourcesBlkioWeightDevice {
                    path: Some(path.clone()),
                    weight: Some(usize::from(*weight)),
                })
                .collect()
        }),
        blkio_device_read_bps: throttle(&options.blkio.read_bps),
        blkio_device_write_bps: throttle(&options.blkio.write_bps),
        blkio_device_read_iops: throttle(&options.blkio.read_iops),
        blkio_device_write_iops: throttle(&options.blkio.write_iops),
        ..Default::default()
    };
    // With a `network_mode` the container joins no network of ours: no
    // endpoint, no aliases (the engine refuses them on host or container modes).
    let networking_config = options.network_mode.is_none().then(|| {
        let mut endpoint = options.endpoint.clone();
        // The container-wide `mac_address` is the primary network's, as Compose reads it.
        endpoint.mac_address = endpoint.mac_address.or_else(|| options.mac_address.clone());
        if !supports.endpoint_mac {
            endpoint.mac_address = None;
        }
        // On a user-defined network the engine keeps links on the
        // endpoint (as the docker CLI and Compose send them).
        let links = (!spec.options.links.is_empty()).then(|| spec.options.links.clone());
        NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                spec.network.clone(),
                endpoint_settings(&spec.aliases, &endpoint, links),
            )])),
        }
    });

    ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: spec.hostname.clone(),
        domainname: options.domainname.clone(),
        user: options.user.clone(),
        working_dir: options.working_dir.clone(),
        tty: options.tty.then_some(true),
        open_stdin: options.stdin_open.then_some(true),
        stop_signal: options.stop_signal.clone(),
        stop_timeout: options.stop_timeout,
        env: Some(spec.env.iter().map(|(name, value)| format!("{name}={value}")).collect()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        labels: Some(labels),
        exposed_ports: Some(exposed_ports),
        healthcheck: spec
            .healthcheck
            .as_ref()
            .map(|check| health_config(check, supports.start_interval)),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// Per-device rates as the engine takes them.
fn throttle(rates: &BTreeMap<String, i64>) -> Option<Vec<ThrottleDevice>> {
    (!rates.is_empty()).then(|| {
        rates
            .iter()
            .map(|(path, rate)| ThrottleDevice {
                path: Some(path.clone()),
                rate: Some(*rate),
            })
            .collect()
    })
}

fn health_config(check: &HealthcheckSpec, supports_start_interval: bool) -> HealthConfig {
    HealthConfig {
        test: Some(check.test.clone()),
        interval: check.interval.map(nanoseconds),
        timeout: check.timeout.map(nanoseconds),
        start_period: check.start_period.map(nanoseconds),
        start_interval: check
            .start_interval
            .filter(|_| supports_start_interval)
            .map(nanoseconds),
        retries: check.retries.map(i64::from),
    }
}

fn nanoseconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

fn restart_policy(policy: RestartPolicy) -> bollard::models::RestartPolicy {
    let (name, maximum_retry_count) = match policy {
        RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
        RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
        RestartPolicy::OnFailure { max_retries } => (RestartPolicyNameEnum::ON_FAILURE, max_retries.map(i64::from)),
        RestartPolicy::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
    };
    bollard::models::RestartPolicy {
        name: Some(name),
        maximum_retry_count,
    }
}

pub(super) fn state_from_summary(summary: ContainerSummary) -> ContainerState {
    let labels: BTreeMap<String, String> = summary.labels.unwrap_or_default().into_iter().collect();
    let mut networks: Vec<String> = summary
        .network_settings
        .and_then(|settings| settings.networks)
        .map(|networks| networks.into_keys().collect())
        .unwrap_or_default();
    networks.sort();
    let status = match summary.state {
        Some(ContainerSummaryStateEnum::CREATED) => RunState::Created,
        // A container being stopped still runs.
        Some(ContainerSummaryStateEnum::RUNNING | ContainerSummaryStateEnum::STOPPING) => RunState::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => RunState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => RunState::Restarting,
        Some(ContainerSummaryStateEnum::EXITED) => RunState::Exited,
        Some(ContainerSummaryStateEnum::REMOVING) => RunState::Removing,
        // A state we cannot read is treated as unusable, so it is replaced
        // rather than trusted.
        Some(ContainerSummaryStateEnum::DEAD | ContainerSummaryStateEnum::EMPTY) | None => RunState::Dead,
    };
    let status_text = summary.status.unwrap_or_default();
    let structured_health = summary
        .health
        .and_then(|health| health.status)
        .and_then(|status| match status {
            ContainerSummaryHealthStatusEnum::STARTING => Some(Health::Starting),
            ContainerSummaryHealthStatusEnum::HEALTHY => Some(Health::Healthy),
            ContainerSummaryHealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
            _ => None,
        });
    let health = match status {
        RunState::Running => structured_health.or_else(|| health_from_status_text(&status_text)),
        _ => None,
    };
    let exit_code = match status {
        RunState::Exited | RunState::Dead => exit_code_from_status_text(&status_text),
        _ => None,
    };
    let mut ports: Vec<PublishedPort> = summary
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|port| {
            Some(PublishedPort {
                host_ip: port.ip.unwrap_or_default(),
                host_port: port.public_port?,
                container_port: port.private_port,
                protocol: match port.typ {
                    Some(PortSummaryTypeEnum::UDP) => Protocol::Udp,
                    _ => Protocol::Tcp,
                },
            })
        })
        .collect();
    ports.sort();
    ports.dedup();
    ContainerState {
        id: summary.id.unwrap_or_default(),
        name: summary
            .names
            .unwrap_or_default()
            .first()
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        service: labels.get(LABEL_SERVICE).cloned(),
        image_id: summary.image_id.unwrap_or_default(),
        image_ref: summary.image.unwrap_or_default(),
        labels,
        status,
        exit_code,
        health,
        ports,
        networks,
    }
}

pub(super) fn state_from_inspect(container: ContainerInspectResponse) -> ContainerState {
    let config = container.config.unwrap_or_default();
    let mut networks: Vec<String> = container
        .network_settings
        .as_ref()
        .and_then(|settings| settings.networks.as_ref())
        .map(|networks| networks.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    let labels: BTreeMap<String, String> = config.labels.unwrap_or_default().into_iter().collect();
    let state = container.state.unwrap_or_default();
    let status = match state.status {
        Some(ContainerStateStatusEnum::CREATED) => RunState::Created,
        Some(ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::STOPPING) => RunState::Running,
        Some(ContainerStateStatusEnum::PAUSED) => RunState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => RunState::Restarting,
        Some(ContainerStateStatusEnum::EXITED) => RunState::Exited,
        Some(ContainerStateStatusEnum::REMOVING) => RunState::Removing,
        Some(ContainerStateStatusEnum::DEAD | ContainerStateStatusEnum::EMPTY) | None => RunState::Dead,
    };
    // Same rules as the list: health only while running, exit code only
    // once exited, so both paths describe a container alike.
    let health = match status {
        RunState::Running => state
            .health
            .and_then(|health| health.status)
            .and_then(|status| match status {
                HealthStatusEnum::STARTING => Some(Health::Starting),
                HealthStatusEnum::HEALTHY => Some(Health::Healthy),
                HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
                HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
            }),
        _ => None,
    };
    let exit_code = match status {
        RunState::Exited | RunState::Dead => state.exit_code,
        _ => None,
    };
    let mut ports = Vec::new();
    for (key, bindings) in container
        .network_settings
        .and_then(|settings| settings.ports)
        .unwrap_or_default()
    {
        let Some((container_port, protocol)) = parse_port_key(&key) else {
            continue;
        };
        for binding in bindings.unwrap_or_default() {
            let Some(host_port) = binding.host_port.and_then(|port| port.parse().ok()) else {
                continue;
            };
            ports.push(PublishedPort {
                host_ip: binding.host_ip.unwrap_or_default(),
                host_port,
                container_port,
                protocol,
            });
        }
    }
    ports.sort();
    ports.dedup();
    ContainerState {
        id: container.id.unwrap_or_default(),
        name: container.name.unwrap_or_default().trim_start_matches('/').to_string(),
        service: labels.get(LABEL_SERVICE).cloned(),
        image_id: container.image.unwrap_or_default(),
        image_ref: config.image.unwrap_or_default(),
        labels,
        status,
        exit_code,
        health,
        ports,
        networks,
    }
}

/// `3306/tcp` → (3306, Tcp).
fn parse_port_key(key: &str) -> Option<(u16, Protocol)> {
    let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
    let protocol = match protocol {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return None,
    };
    Some((port.parse().ok()?, protocol))
}

/// Health from the list's status text: `Up 5 minutes (healthy)`,
/// `Up 2 seconds (health: starting)`, `Up 1 hour (unhealthy)`.
fn health_from_status_text(text: &str) -> Option<Health> {
    if text.ends_with("(healthy)") {
        Some(Health::Healthy)
    } else if text.ends_with("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if text.ends_with("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    }
}

/// Exit code from the list's status text: `Exited (137) 5 seconds ago`.
fn exit_code_from_status_text(text: &str) -> Option<i64> {
    let rest = text.strip_prefix("Exited (")?;
    rest[..rest.find(')')?].parse().ok()
}

/// Whether a start failure is a host port conflict. The daemon says "port is
/// already allocated" when its own allocator has the port (another
/// container) and "address already in use" when the bind itself fails
/// (another program, or a container on an overlapping address).
fn is_port_conflict(message: &str) -> bool {
    message.contains("port is already allocated") || message.contains("address already in use")
}

/// The host address, port and (when stated) protocol a port conflict
/// message names. Known shapes:
/// - `Bind for 127.0.0.1:3306 failed: port is already allocated`
/// - `Error starting userland proxy: listen tcp4 127.0.0.1:3306: bind: address already in use`
/// - `failed to bind host port for 0.0.0.0:3306:172.17.0.2:3306/tcp: address already in use` (Docker 25+)
fn conflicting_address(message: &str) -> Option<(String, u16, Option<Protocol>)> {
    if let Some(start) = message.find("Bind for ") {
        let rest = &message[start + "Bind for ".len()..];
        let address = &rest[..rest.find(" failed")?];
        let (host, port) = split_host_port(address)?;
        return Some((host, port, None));
    }
    if let Some(start) = message.find("listen ") {
        let mut words = message[start + "listen ".len()..].split_whitespace();
        let network = words.next()?;
        let (host, port) = split_host_port(words.next()?.trim_end_matches(':'))?;
        let protocol = if network.starts_with("udp") {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        return Some((host, port, Some(protocol)));
    }
    if let Some(start) = message.find("host port for ") {
        let rest = &message[start + "host port for ".len()..];
        let rest = &rest[..rest.find(": ").unwrap_or(rest.len())];
        let protocol = if rest.ends_with("/udp") {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        let (host, after_host) = match rest.strip_prefix('[') {
            Some(bracketed) => {
                let end = bracketed.find(']')?;
                (bracketed[..end].to_string(), bracketed[end + 1..].strip_prefix(':')?)
            }
            None => {
                let (host, after) = rest.split_once(':')?;
                (host.to_string(), after)
            }
        };
        let port = after_host.split(':').next()?.parse().ok()?;
        return Some((host, port, Some(protocol)));
    }
    None
}

/// `127.0.0.1:3306`, `[::1]:3306` or `:::3306` → (host, port).
fn split_host_port(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

/// The fixed host ports a container asks for: (host IP, port, protocol).
fn requested_bindings(container: &ContainerInspectResponse) -> Vec<(String, u16, Protocol)> {
    let mut bindings = Vec::new();
    let requested = container
        .host_config
        .as_ref()
        .and_then(|config| config.port_bindings.as_ref());
    for (key, list) in requested.into_iter().flatten() {
        let Some((_, protocol)) = parse_port_key(key) else {
            continue;
        };
        for binding in list.iter().flatten() {
            if let Some(port) = binding.host_port.as_deref().and_then(|port| port.parse().ok()) {
                bindings.push((binding.host_ip.clone().unwrap_or_default(), port, protocol));
            }
        }
    }
    bindings
}

/// The running container, other than `own_id`, publishing `port` on an
/// address that overlaps `host_ip` (a wildcard overlaps every address).
fn find_port_holder(
    running: &[ContainerSummary],
    own_id: &str,
    host_ip: &str,
    port: u16,
    protocol: Protocol,
) -> Option<PortHolder> {
    let is_wildcard = |ip: &str| matches!(ip, "" | "0.0.0.0" | "::");
    running
        .iter()
        .filter(|container| container.id.as_deref() != Some(own_id))
        .find(|container| {
            container.ports.iter().flatten().any(|published| {
                let same_protocol = match published.typ {
                    Some(PortSummaryTypeEnum::UDP) => protocol == Protocol::Udp,
                    _ => protocol == Protocol::Tcp,
                };
                let ip = published.ip.as_deref().unwrap_or_default();
                published.public_port == Some(port)
                    && same_protocol
                    && (ip == host_ip || is_wildcard(ip) || is_wildcard(host_ip))
            })
        })
        .map(|container| {
            let labels = container.labels.as_ref();
            PortHolder {
                container: container
                    .names
                    .iter()
                    .flatten()
                    .next()
                    .map(|name| name.trim_start_matches('/').to_string())
                    .or_else(|| container.id.clone())
                    .unwrap_or_default(),
                project: labels.and_then(|labels| labels.get(LABEL_PROJECT)).cloned(),
                service: labels.and_then(|labels| labels.get(LABEL_SERVICE)).cloned(),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{DeviceRequestSpec, DeviceSpec, MountSpec, PortBinding};

    const OLD_ENGINE: Supports = Supports {
        start_interval: false,
        annotations: false,
        endpoint_mac: false,
    };
    const NEW_ENGINE: Supports = Supports {
        start_interval: true,
        annotations: true,
        endpoint_mac: true,
    };

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "demo-mysql-1".into(),
            project: "demo".into(),
            service: "mysql".into(),
            image: "mysql:8.4".into(),
            labels: BTreeMap::from([(LABEL_PROJECT.to_string(), "spoofed".to_string())]),
            env: vec![("MYSQL_DATABASE".into(), "app".into())],
            command: None,
            entrypoint: None,
            ports: vec![
                PortBinding {
                    host_ip: "127.0.0.1".into(),
                    host_port: Some(3306),
                    container_port: 3306,
                    protocol: Protocol::Tcp,
                },
                PortBinding {
                    host_ip: "::1".into(),
                    host_port: None,
                    container_port: 3306,
                    protocol: Protocol::Tcp,
                },
            ],
            mounts: vec![MountSpec {
                source: MountSource::Volume("demo_data".into()),
                target: "/var/lib/mysql".into(),
                read_only: false,
            }],
            healthcheck: Some(HealthcheckSpec {
                test: vec!["CMD-SHELL".into(), "true".into()],
                interval: Some(Duration::from_secs(1)),
                start_interval: Some(Duration::from_millis(100)),
                ..Default::default()
            }),
            restart: Some(RestartPolicy::OnFailure { max_retries: Some(3) }),
            network: "demo_default".into(),
            aliases: vec!["mysql".into()],
            hostname: None,
            options: Default::default(),
        }
    }

    #[test]
    fn the_body_carries_our_labels_ports_and_network() {
        let body = container_body(&spec(), OLD_ENGINE);
        let labels = body.labels.unwrap();
        assert_eq!(labels[LABEL_PROJECT], "demo");
        assert_eq!(labels[LABEL_SERVICE], "mysql");
        assert_eq!(body.exposed_ports, Some(vec!["3306/tcp".to_string()]));
        let host = body.host_config.unwrap();
        let bindings = host.port_bindings.unwrap()["3306/tcp"].clone().unwrap();
        assert_eq!(bindings.len(), 2);
        assert_eq!(bindings[0].host_port.as_deref(), Some("3306"));
        assert_eq!(bindings[1].host_port.as_deref(), Some(""));
        assert_eq!(host.network_mode.as_deref(), Some("demo_default"));
        assert_eq!(host.restart_policy.unwrap().maximum_retry_count, Some(3));
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(endpoints["demo_default"].aliases, Some(vec!["mysql".to_string()]));
    }

    #[test]
    fn the_body_carries_devices_volumes_from_storage_and_the_primary_endpoint() {
        let mut spec = spec();
        spec.options.devices = vec![DeviceSpec {
            host_path: "/dev/zero".into(),
            container_path: "/dev/myzero".into(),
            permissions: "r".into(),
        }];
        spec.options.volumes_from = vec!["demo-data-1:ro".into()];
        spec.options.storage_opt = BTreeMap::from([("size".to_string(), "1G".to_string())]);
        spec.options.annotations = BTreeMap::from([("note".to_string(), "x".to_string())]);
        spec.options.mac_address = Some("02:42:ac:11:00:99".into());
        spec.options.endpoint.ipv4_address = Some("10.1.2.3".into());
        spec.options.device_requests = vec![DeviceRequestSpec {
            count: Some(-1),
            capabilities: vec!["gpu".into()],
            ..Default::default()
        }];
        spec.options.blkio.weight = Some(300);
        spec.options.blkio.read_bps = BTreeMap::from([("/dev/sda".to_string(), 1 << 20)]);
        let host = container_body(&spec, NEW_ENGINE).host_config.unwrap();
        let request = &host.device_requests.clone().unwrap()[0];
        assert_eq!(request.count, Some(-1));
        assert_eq!(request.capabilities, Some(vec![vec!["gpu".to_string()]]));
        assert_eq!(host.blkio_weight, Some(300));
        assert_eq!(host.blkio_device_read_bps.clone().unwrap()[0].rate, Some(1 << 20));
        let device = &host.devices.unwrap()[0];
        assert_eq!(device.path_in_container.as_deref(), Some("/dev/myzero"));
        assert_eq!(device.cgroup_permissions.as_deref(), Some("r"));
        assert_eq!(host.volumes_from, Some(vec!["demo-data-1:ro".to_string()]));
        assert_eq!(host.storage_opt.unwrap()["size"], "1G");
        assert_eq!(host.annotations.unwrap()["note"], "x");
        let body = container_body(&spec, NEW_ENGINE);
        let endpoint = &body.networking_config.unwrap().endpoints_config.unwrap()["demo_default"];
        assert_eq!(endpoint.mac_address.as_deref(), Some("02:42:ac:11:00:99"));
        assert_eq!(
            endpoint.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("10.1.2.3")
        );
        // Older engines ignore both: not sent.
        let old = container_body(&spec, OLD_ENGINE);
        assert_eq!(old.host_config.unwrap().annotations, None);
        let endpoint = &old.networking_config.unwrap().endpoints_config.unwrap()["demo_default"];
        assert_eq!(endpoint.mac_address, None);
    }

    #[test]
    fn a_network_mode_replaces_the_network_and_its_endpoint() {
        let mut spec = spec();
        spec.options.network_mode = Some("container:demo-db-1".into());
        spec.options.links = vec!["demo-cache-1:cache".into()];
        let body = container_body(&spec, NEW_ENGINE);
        assert_eq!(
            body.host_config.as_ref().unwrap().links,
            Some(vec!["demo-cache-1:cache".to_string()])
        );
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("container:demo-db-1")
        );
        assert!(body.networking_config.is_none());
    }

    #[test]
    fn written_files_are_one_archive_at_their_paths_and_never_shown() {
        let file = ContainerFile {
            path: "/run/secrets/token".into(),
            content: b"s3cret".to_vec(),
            mode: 0o400,
            uid: 1000,
            gid: 0,
        };
        assert!(!format!("{file:?}").contains("s3cret"));
        let archive = files_archive(&[file]);
        let mut archive = tar::Archive::new(archive.as_slice());
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("run/secrets/token"));
        assert_eq!(entry.header().mode().unwrap(), 0o400);
        assert_eq!(entry.header().uid().unwrap(), 1000);
        let mut content = String::new();
        std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
        assert_eq!(content, "s3cret");
    }

    #[test]
    fn start_interval_is_left_out_on_engines_before_api_1_44() {
        assert_eq!(
            container_body(&spec(), OLD_ENGINE).healthcheck.unwrap().start_interval,
            None
        );
        assert_eq!(
            container_body(&spec(), NEW_ENGINE).healthcheck.unwrap().start_interval,
            Some(100_000_000)
        );
    }

    #[test]
    fn status_text_gives_health_and_exit_code() {
        assert_eq!(health_from_status_text("Up 5 minutes (healthy)"), Some(Health::Healthy));
        assert_eq!(
            health_from_status_text("Up 2 seconds (health: starting)"),
            Some(Health::Starting)
        );
        assert_eq!(
            health_from_status_text("Up About an hour (unhealthy)"),
            Some(Health::Unhealthy)
        );
        assert_eq!(health_from_status_text("Up 5 minutes"), None);
        assert_eq!(exit_code_from_status_text("Exited (137) 5 seconds ago"), Some(137));
        assert_eq!(exit_code_from_status_text("Created"), None);
    }

    #[test]
    fn port_conflict_messages_name_the_address() {
        let allocated = "driver failed programming external connectivity on endpoint p-web-1 (0123): \
                         Bind for 127.0.0.1:3306 failed: port is already allocated";
        assert_eq!(conflicting_address(allocated), Some(("127.0.0.1".into(), 3306, None)));
        let in_use = "driver failed programming external connectivity on endpoint p-web-1 (0123): \
                      Error starting userland proxy: listen tcp4 127.0.0.1:8080: bind: address already in use";
        assert_eq!(
            conflicting_address(in_use),
            Some(("127.0.0.1".into(), 8080, Some(Protocol::Tcp)))
        );
        let v6 = "Bind for :::53 failed: port is already allocated";
        assert_eq!(conflicting_address(v6), Some(("::".into(), 53, None)));
        let newer = "failed to set up container networking: driver failed programming external connectivity on \
                     endpoint x (1): failed to bind host port for 0.0.0.0:5432:172.17.0.2:5432/tcp: address already in use";
        assert_eq!(
            conflicting_address(newer),
            Some(("0.0.0.0".into(), 5432, Some(Protocol::Tcp)))
        );
        assert!(is_port_conflict(allocated) && is_port_conflict(in_use));
    }
}
