//! From a spec service to the engine's [`ContainerSpec`], and the config hash
//! that tells later runs whether a running container still matches the spec.
//! Pure: no engine calls.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::engine::{
    self, BlkioSpec, ContainerFile, ContainerOptions, ContainerSpec, DeviceRequestSpec, DeviceSpec, EndpointOptions,
    HealthcheckSpec, MountSpec, NetworkAttachment, PortBinding,
};
use crate::spec::{self, Service, Spec};

/// Container label holding a short hash per config field, so a plan can say
/// *which* fields changed without storing values (they may be secrets).
pub const LABEL_CONFIG_FIELDS: &str = "io.flowinfra.config-fields";

/// Container label naming, for each service whose container this one shares
/// a namespace or the volumes of ([`shared_services`]), that container's ID
/// when this one was created: `service=id,...`. A later plan recreates this
/// one when that container has been replaced since.
pub const LABEL_SHARED_WITH: &str = "io.flowinfra.shared-with";

/// The name of a service's container: `container_name`, else `<project>-<service>-1` as Compose names it.
pub fn container_name(spec: &Spec, service: &Service) -> String {
    service
        .container_name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-1", spec.name, service.name))
}

/// The keys of the networks a service joins, in the order Compose joins
/// them: highest `priority` first, then by name. The first is its primary
/// network.
pub fn networks_by_priority(service: &Service) -> Vec<&String> {
    let mut keys: Vec<(&String, i64)> = service
        .networks
        .iter()
        .map(|(key, joined)| (key, joined.priority))
        .collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    keys.into_iter().map(|(key, _)| key).collect()
}

/// The engine-side name of the network `key`.
fn network_name(spec: &Spec, key: &str) -> String {
    spec.networks
        .get(key)
        .map(|network| network.name.clone())
        .unwrap_or_else(|| format!("{}_{key}", spec.name))
}

/// The engine-side name of the network a service joins first.
pub fn primary_network(spec: &Spec, service: &Service) -> String {
    let key = networks_by_priority(service)
        .first()
        .map(|key| key.as_str())
        .unwrap_or("default");
    network_name(spec, key)
}

/// The services whose containers this one shares a namespace (network,
/// IPC, PID) or the volumes of: their containers must exist first, and a
/// new container of theirs means a new one of this service.
pub fn shared_services(service: &Service) -> Vec<String> {
    let mut services = Vec::new();
    if let Some(spec::NetworkMode::Service(name)) = &service.network_mode {
        services.push(name.clone());
    }
    for mode in [&service.runtime.ipc, &service.runtime.pid].into_iter().flatten() {
        if let Some(name) = mode.strip_prefix("service:") {
            services.push(name.to_string());
        }
    }
    services.extend(
        service
            .runtime
            .volumes_from
            .iter()
            .filter(|from| from.kind == spec::VolumesFromKind::Service)
            .map(|from| from.name.clone()),
    );
    services.sort();
    services.dedup();
    services
}

/// `service:NAME` → `container:<NAME's container>`; other modes as written.
fn namespace_mode(spec: &Spec, mode: &str) -> String {
    match mode.strip_prefix("service:") {
        Some(name) => format!("container:{}", service_container(spec, name)),
        None => mode.to_string(),
    }
}

/// The container name of service `name` (which validation made sure exists).
fn service_container(spec: &Spec, name: &str) -> String {
    spec.services
        .get(name)
        .map(|service| container_name(spec, service))
        .unwrap_or_else(|| format!("{}-{name}-1", spec.name))
}

fn endpoint_options(joined: &spec::ServiceNetwork) -> EndpointOptions {
    EndpointOptions {
        ipv4_address: joined.ipv4_address.clone(),
        ipv6_address: joined.ipv6_address.clone(),
        link_local_ips: joined.link_local_ips.clone(),
        mac_address: joined.mac_address.clone(),
        driver_opts: joined.driver_opts.clone(),
    }
}

/// Builds the container for `service`, labelled with its config hash.
pub fn container_spec(spec: &Spec, service: &Service) -> ContainerSpec {
    let mut labels: BTreeMap<String, String> = service.labels.clone();
    labels.insert(engine::LABEL_CONFIG_HASH.into(), config_hash(spec, service));
    labels.insert(LABEL_CONFIG_FIELDS.into(), field_hashes_label(spec, service));
    let ordered = networks_by_priority(service);
    let aliases = std::iter::once(service.name.clone())
        .chain(
            ordered
                .first()
                .and_then(|key| service.networks.get(*key))
                .into_iter()
                .flat_map(|network| network.aliases.iter().cloned()),
        )
        .collect();
    ContainerSpec {
        name: container_name(spec, service),
        project: spec.name.clone(),
        service: service.name.clone(),
        image: service.image.clone(),
        labels,
        env: service
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        command: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        ports: service
            .ports
            .iter()
            .map(|port| PortBinding {
                host_ip: port.host_ip.clone(),
                host_port: port.host_port,
                container_port: port.container_port,
                protocol: match port.protocol {
                    spec::Protocol::Tcp => engine::Protocol::Tcp,
                    spec::Protocol::Udp => engine::Protocol::Udp,
                },
            })
            .collect(),
        mounts: service
            .volumes
            .iter()
            .map(|mount| MountSpec {
                source: match &mount.source {
                    spec::MountSource::Volume { name } => engine::MountSource::Volume(
                        spec.volumes
                            .get(name)
                            .map(|volume| volume.name.clone())
                            .unwrap_or_else(|| name.clone()),
                    ),
                    spec::MountSource::Bind { path } => engine::MountSource::Bind(path.clone()),
                    spec::MountSource::Anonymous => engine::MountSource::Anonymous,
                },
                target: mount.target.clone(),
                read_only: mount.read_only,
            })
            .chain(file_mounts(spec, service))
            .collect(),
        healthcheck: service.healthcheck.as_ref().map(|healthcheck| HealthcheckSpec {
            test: healthcheck.test.clone(),
            interval: healthcheck.interval,
            timeout: healthcheck.timeout,
            start_period: healthcheck.start_period,
            start_interval: healthcheck.start_interval,
            retries: healthcheck.retries,
        }),
        restart: service.restart.map(|restart| match restart {
            spec::RestartPolicy::No => engine::RestartPolicy::No,
            spec::RestartPolicy::Always => engine::RestartPolicy::Always,
            spec::RestartPolicy::OnFailure { max_retries } => engine::RestartPolicy::OnFailure { max_retries },
            spec::RestartPolicy::UnlessStopped => engine::RestartPolicy::UnlessStopped,
        }),
        network: primary_network(spec, service),
        aliases,
        hostname: service.hostname.clone(),
        options: container_options(spec, service),
    }
}

/// The service's `file:` secrets and configs: read-only bind mounts of the
/// file, as Compose v2 mounts them without Swarm. A volume of the service at
/// the same target wins, as in Compose.
fn file_mounts<'a>(spec: &'a Spec, service: &'a Service) -> impl Iterator<Item = MountSpec> + 'a {
    let secrets = service
        .secrets
        .iter()
        .map(|mount| (mount, spec.secrets.get(&mount.source)));
    let configs = service
        .configs
        .iter()
        .map(|mount| (mount, spec.configs.get(&mount.source)));
    secrets.chain(configs).filter_map(move |(mount, object)| {
        let path = object?.file.clone()?;
        if service.volumes.iter().any(|volume| volume.target == mount.target) {
            return None;
        }
        Some(MountSpec {
            source: engine::MountSource::Bind(path),
            target: mount.target.clone(),
            read_only: true,
        })
    })
}

/// The service's secrets and configs that are written into the container:
/// those from a variable, and inline content.
fn container_files(spec: &Spec, service: &Service) -> Vec<ContainerFile> {
    let secrets = service
        .secrets
        .iter()
        .map(|mount| (mount, spec.secrets.get(&mount.source)));
    let configs = service
        .configs
        .iter()
        .map(|mount| (mount, spec.configs.get(&mount.source)));
    secrets
        .chain(configs)
        .filter_map(|(mount, object)| {
            let object = object?;
            let content = object.environment_value.clone().or_else(|| object.content.clone())?;
            Some(ContainerFile {
                path: mount.target.clone(),
                content: content.into_bytes(),
                mode: mount.mode.unwrap_or(0o444),
                uid: mount.uid.as_deref().and_then(|uid| uid.parse().ok()).unwrap_or(0),
                gid: mount.gid.as_deref().and_then(|gid| gid.parse().ok()).unwrap_or(0),
            })
        })
        .collect()
}

/// The service's [`spec::RuntimeOptions`] in the engine's terms: links name
/// containers, sizes are bytes, the grace period is seconds.
fn container_options(spec: &Spec, service: &Service) -> ContainerOptions {
    let runtime = &service.runtime;
    let links = runtime
        .links
        .iter()
        .map(|link| {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            let container = spec
                .services
                .get(target)
                .map(|linked| container_name(spec, linked))
                .unwrap_or_else(|| format!("{}-{target}-1", spec.name));
            format!("{container}:{alias}")
        })
        // Links to containers outside the spec name them as written.
        .chain(runtime.external_links.iter().map(|link| match link.split_once(':') {
            Some(_) => link.clone(),
            None => format!("{link}:{link}"),
        }))
        .collect();
    ContainerOptions {
        user: runtime.user.clone(),
        working_dir: runtime.working_dir.clone(),
        domainname: runtime.domainname.clone(),
        expose: runtime.expose.clone(),
        tty: runtime.tty,
        stdin_open: runtime.stdin_open,
        init: runtime.init,
        privileged: runtime.privileged,
        read_only: runtime.read_only,
        stop_signal: runtime.stop_signal.clone(),
        stop_timeout: runtime.stop_grace_period,
        shm_size: runtime.shm_size,
        memory: runtime.mem_limit,
        memory_reservation: runtime.mem_reservation,
        nano_cpus: runtime.nano_cpus,
        pids_limit: runtime.pids_limit,
        oom_score_adj: runtime.oom_score_adj,
        cap_add: runtime.cap_add.clone(),
        cap_drop: runtime.cap_drop.clone(),
        security_opt: runtime.security_opt.clone(),
        dns: runtime.dns.clone(),
        dns_search: runtime.dns_search.clone(),
        extra_hosts: runtime.extra_hosts.clone(),
        group_add: runtime.group_add.clone(),
        sysctls: runtime.sysctls.clone(),
        ulimits: runtime
            .ulimits
            .iter()
            .map(|(name, limit)| (name.clone(), (limit.soft, limit.hard)))
            .collect(),
        tmpfs: runtime.tmpfs.clone(),
        links,
        ipc_mode: runtime.ipc.as_deref().map(|mode| namespace_mode(spec, mode)),
        pid_mode: runtime.pid.as_deref().map(|mode| namespace_mode(spec, mode)),
        cgroup_parent: runtime.cgroup_parent.clone(),
        runtime: runtime.runtime.clone(),
        userns_mode: runtime.userns_mode.clone(),
        log_driver: runtime.logging.as_ref().and_then(|logging| logging.driver.clone()),
        log_options: runtime
            .logging
            .as_ref()
            .map(|logging| logging.options.clone())
            .unwrap_or_default(),
        network_mode: service.network_mode.as_ref().map(|mode| match mode {
            spec::NetworkMode::Service(name) => format!("container:{}", service_container(spec, name)),
            other => String::from(other.clone()),
        }),
        endpoint: networks_by_priority(service)
            .first()
            .and_then(|key| service.networks.get(*key))
            .map(endpoint_options)
            .unwrap_or_default(),
        extra_networks: networks_by_priority(service)
            .into_iter()
            .skip(1)
            .map(|key| {
                let joined = &service.networks[key];
                NetworkAttachment {
                    network: network_name(spec, key),
                    aliases: std::iter::once(service.name.clone())
                        .chain(joined.aliases.iter().cloned())
                        .collect(),
                    endpoint: endpoint_options(joined),
                }
            })
            .collect(),
        devices: runtime
            .devices
            .iter()
            .map(|device| DeviceSpec {
                host_path: device.source.clone(),
                container_path: device.target.clone(),
                permissions: device.permissions.clone(),
            })
            .collect(),
        volumes_from: runtime
            .volumes_from
            .iter()
            .map(|from| {
                let container = match from.kind {
                    spec::VolumesFromKind::Service => service_container(spec, &from.name),
                    spec::VolumesFromKind::Container => from.name.clone(),
                };
                if from.read_only {
                    format!("{container}:ro")
                } else {
                    container
                }
            })
            .collect(),
        storage_opt: runtime.storage_opt.clone(),
        annotations: runtime.annotations.clone(),
        mac_address: runtime.mac_address.clone(),
        files: container_files(spec, service),
        cpu_shares: runtime.cpu_shares,
        cpuset_cpus: runtime.cpuset.clone(),
        cpu_period: runtime.cpu_period,
        cpu_quota: runtime.cpu_quota,
        cpu_realtime_period: runtime.cpu_rt_period,
        cpu_realtime_runtime: runtime.cpu_rt_runtime,
        memory_swap: runtime.memswap_limit,
        memory_swappiness: runtime.mem_swappiness,
        oom_kill_disable: runtime.oom_kill_disable,
        dns_options: runtime.dns_opt.clone(),
        uts_mode: runtime.uts.clone(),
        cgroupns_mode: runtime.cgroup.clone(),
        device_cgroup_rules: runtime.device_cgroup_rules.clone(),
        volume_driver: runtime.volume_driver.clone(),
        device_requests: runtime
            .gpus
            .iter()
            .chain(&runtime.reserved_devices)
            .map(|request| DeviceRequestSpec {
                driver: request.driver.clone(),
                count: request.count,
                device_ids: request.device_ids.clone(),
                capabilities: request.capabilities.clone(),
                options: request.options.clone(),
            })
            .chain((!runtime.cdi_devices.is_empty()).then(|| DeviceRequestSpec {
                driver: Some("cdi".into()),
                device_ids: runtime.cdi_devices.clone(),
                ..Default::default()
            }))
            .collect(),
        blkio: runtime
            .blkio_config
            .as_ref()
            .map(|blkio| BlkioSpec {
                weight: blkio.weight,
                weight_device: blkio.weight_device.clone(),
                read_bps: blkio.device_read_bps.clone(),
                write_bps: blkio.device_write_bps.clone(),
                read_iops: blkio.device_read_iops.clone(),
                write_iops: blkio.device_write_iops.clone(),
            })
            .unwrap_or_default(),
    }
}

/// The fields of a service that shape its container, in a stable form. What
/// only drives provisioning (queues, buckets, seed, migrations, readiness
/// timeout) is left out: changing it re-applies, it never recreates.
pub fn runtime_config(spec: &Spec, service: &Service) -> serde_json::Value {
    let volumes: BTreeMap<&String, &spec::VolumeSpec> = service
        .volumes
        .iter()
        .filter_map(|mount| match &mount.source {
            spec::MountSource::Volume { name } => spec.volumes.get_key_value(name),
            _ => None,
        })
        .collect();
    let networks: BTreeMap<&String, (Option<&spec::NetworkSpec>, &spec::ServiceNetwork)> = service
        .networks
        .iter()
        .map(|(key, joined)| (key, (spec.networks.get(key), joined)))
        .collect();
    let mut config = serde_json::json!({
        "image": service.image,
        "container_name": container_name(spec, service),
        "hostname": service.hostname,
        "command": service.command,
        "entrypoint": service.entrypoint,
        "environment": service.environment,
        "ports": service.ports,
        "volumes": service.volumes,
        "volume_names": volumes.iter().map(|(key, volume)| (key.to_string(), volume.name.clone())).collect::<BTreeMap<_, _>>(),
        "networks": networks.iter().map(|(key, (network, joined))| {
            let mut entry = serde_json::json!({"name": network.map(|n| n.name.clone()), "aliases": joined.aliases});
            // Addresses, options and priority only when set, so that older containers keep their hash.
            if let (Some(entry), serde_json::Value::Object(more)) =
                (entry.as_object_mut(), serde_json::to_value(joined).expect("service network serialises"))
            {
                entry.extend(more);
            }
            (key.to_string(), entry)
        }).collect::<BTreeMap<_, _>>(),
        "healthcheck": service.healthcheck,
        "restart": service.restart,
        "labels": service.labels,
        "kind": service.kind(),
    });
    let fields = config.as_object_mut().expect("an object");
    for (field, hooks) in [("post_start", &service.post_start), ("pre_stop", &service.pre_stop)] {
        if !hooks.is_empty() {
            fields.insert(field.into(), serde_json::json!(hooks));
        }
    }
    if let Some(mode) = &service.network_mode {
        fields.insert("network_mode".into(), serde_json::json!(mode));
    }
    for (field, mounts, objects) in [
        ("secrets", &service.secrets, &spec.secrets),
        ("configs", &service.configs, &spec.configs),
    ] {
        if !mounts.is_empty() {
            fields.insert(field.into(), file_mounts_config(mounts, objects));
        }
    }
    // Each runtime field the service sets is a field of its own (so `plan`
    // names it); unset ones are absent, so older containers keep their hash.
    if let (Some(fields), serde_json::Value::Object(runtime)) = (
        config.as_object_mut(),
        serde_json::to_value(&service.runtime).expect("runtime options serialise"),
    ) {
        fields.extend(runtime);
    }
    config
}

/// A lifecycle hook as the engine runs it.
pub fn hook_exec(hook: &spec::Hook) -> engine::ExecSpec {
    engine::ExecSpec {
        command: hook.command.clone(),
        user: hook.user.clone(),
        privileged: hook.privileged,
        working_dir: hook.working_dir.clone(),
        env: hook
            .environment
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect(),
    }
}

/// A service's secrets or configs for the config hash: where each goes and
/// where it comes from. Content from a variable counts by its SHA-256 (as
/// the environment's values count in the hash), so a changed value writes
/// the file anew; a `file:` is mounted, so its edits show without that.
fn file_mounts_config(mounts: &[spec::FileMount], objects: &BTreeMap<String, spec::FileObject>) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = mounts
        .iter()
        .map(|mount| {
            let object = objects.get(&mount.source);
            let mut entry = serde_json::to_value(mount).expect("a file mount serialises");
            if let (Some(entry), Some(object)) = (entry.as_object_mut(), object) {
                entry.insert(
                    "from".into(),
                    serde_json::json!({
                        "file": object.file,
                        "environment": object.environment,
                        "content": object.content,
                        "value_sha256": object
                            .environment_value
                            .as_ref()
                            .map(|value| hex(&Sha256::digest(value.as_bytes()))),
                    }),
                );
            }
            entry
        })
        .collect();
    serde_json::Value::Array(entries)
}

/// SHA-256 of [`runtime_config`], hex-encoded.
pub fn config_hash(spec: &Spec, service: &Service) -> String {
    let text = serde_json::to_string(&runtime_config(spec, service)).expect("runtime config serialises");
    hex(&Sha256::digest(text.as_bytes()))
}

/// `field=hash8,...` for every field of [`runtime_config`].
pub fn field_hashes_label(spec: &Spec, service: &Service) -> String {
    field_hashes(spec, service)
        .into_iter()
        .map(|(field, hash)| format!("{field}={hash}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn field_hashes(spec: &Spec, service: &Service) -> BTreeMap<String, String> {
    let config = runtime_config(spec, service);
    let fields = config.as_object().expect("runtime config is an object");
    fields
        .iter()
        .map(|(field, value)| {
            let text = serde_json::to_string(value).expect("serialises");
            (field.clone(), hex(&Sha256::digest(text.as_bytes()))[..8].to_string())
        })
        .collect()
}

/// Reads a [`LABEL_CONFIG_FIELDS`] value back.
pub fn parse_field_hashes(label: &str) -> BTreeMap<String, String> {
    label
        .split(',')
        .filter_map(|entry| entry.split_once('='))
        .map(|(field, hash)| (field.to_string(), hash.to_string()))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::spec::{LoadOptions, load};

    fn load_spec(text: &str, env: &[(&str, &str)]) -> Spec {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spec.yaml"), text).unwrap();
        std::fs::write(dir.path().join("password.txt"), "x").unwrap();
        let options = LoadOptions {
            files: vec![PathBuf::from("spec.yaml")],
            project_name: Some("demo".into()),
            env_files: Vec::new(),
            working_dir: dir.path().to_path_buf(),
            process_env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        load(&options).unwrap().spec
    }

    const SPEC: &str = "services:
  db:
    image: busybox
    secrets: [password, {source: token, target: api, mode: 0400}]
    configs: [{source: greeting, target: /etc/greeting}]
    networks:
      back: {aliases: [database]}
      front: {priority: 5, ipv4_address: 10.9.0.5}
  proxy:
    image: busybox
    network_mode: service:db
    ipc: service:db
    volumes_from: [db]
networks:
  front:
  back:
secrets:
  password: {file: ./password.txt}
  token: {environment: TOKEN}
configs:
  greeting: {content: hello}
";

    #[test]
    fn file_secrets_are_read_only_binds_and_the_others_written_files() {
        let spec = load_spec(SPEC, &[("TOKEN", "t0ken")]);
        let container = container_spec(&spec, &spec.services["db"]);
        let bind = container
            .mounts
            .iter()
            .find(|m| m.target == "/run/secrets/password")
            .unwrap();
        assert!(bind.read_only);
        assert!(matches!(&bind.source, engine::MountSource::Bind(path) if path.ends_with("password.txt")));
        let files: Vec<(&str, &[u8], u32)> = container
            .options
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.content.as_slice(), f.mode))
            .collect();
        assert_eq!(
            files,
            [
                ("/run/secrets/api", b"t0ken".as_slice(), 0o400),
                ("/etc/greeting", b"hello".as_slice(), 0o444)
            ]
        );
    }

    #[test]
    fn the_highest_priority_network_is_primary_and_the_others_are_attached() {
        let spec = load_spec(SPEC, &[("TOKEN", "t")]);
        let container = container_spec(&spec, &spec.services["db"]);
        assert_eq!(container.network, "demo_front");
        assert_eq!(container.aliases, ["db"]);
        assert_eq!(container.options.endpoint.ipv4_address.as_deref(), Some("10.9.0.5"));
        let extra = &container.options.extra_networks;
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].network, "demo_back");
        assert_eq!(extra[0].aliases, ["db", "database"]);
    }

    #[test]
    fn shared_namespaces_and_volumes_name_the_other_services_container() {
        let spec = load_spec(SPEC, &[("TOKEN", "t")]);
        let proxy = &spec.services["proxy"];
        let container = container_spec(&spec, proxy);
        assert_eq!(container.options.network_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(container.options.ipc_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(container.options.volumes_from, ["demo-db-1"]);
        assert_eq!(shared_services(proxy), ["db"]);
    }

    #[test]
    fn each_new_field_is_a_config_field_and_a_secret_value_counts_by_its_hash() {
        let spec = load_spec(SPEC, &[("TOKEN", "t0ken")]);
        let fields = field_hashes(&spec, &spec.services["proxy"]);
        for field in ["network_mode", "ipc", "volumes_from"] {
            assert!(fields.contains_key(field), "{field}: {fields:?}");
        }
        let db = &spec.services["db"];
        let config = runtime_config(&spec, db).to_string();
        assert!(!config.contains("t0ken"), "{config}");
        let other = load_spec(SPEC, &[("TOKEN", "another")]);
        let before = field_hashes(&spec, db);
        let after = field_hashes(&other, &other.services["db"]);
        let changed: Vec<&String> = before.keys().filter(|k| before.get(*k) != after.get(*k)).collect();
        assert_eq!(changed, ["secrets"]);
    }

    #[test]
    fn a_service_without_the_new_fields_keeps_its_config_fields() {
        let spec = load_spec("services:\n  app:\n    image: busybox\n    networks: [default]\n", &[]);
        let fields: Vec<String> = field_hashes(&spec, &spec.services["app"]).into_keys().collect();
        assert_eq!(
            fields,
            [
                "command",
                "container_name",
                "entrypoint",
                "environment",
                "healthcheck",
                "hostname",
                "image",
                "kind",
                "labels",
                "networks",
                "ports",
                "restart",
                "volume_names",
                "volumes"
            ]
        );
        let config = runtime_config(&spec, &spec.services["app"]);
        assert_eq!(
            config["networks"]["default"],
            serde_json::json!({"name": "demo_default", "aliases": []})
        );
    }
}
