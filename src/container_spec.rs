//! From a spec service to the engine's [`ContainerSpec`], and the config hash
//! that tells later runs whether a running container still matches the spec.
//! Pure: no engine calls.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::engine::{self, ContainerOptions, ContainerSpec, HealthcheckSpec, MountSpec, PortBinding};
use crate::spec::{self, Service, Spec};

/// Container label holding a short hash per config field, so a plan can say
/// *which* fields changed without storing values (they may be secrets).
pub const LABEL_CONFIG_FIELDS: &str = "io.flowinfra.config-fields";

/// The name of a service's container: `container_name`, else `<project>-<service>-1` as Compose names it.
pub fn container_name(spec: &Spec, service: &Service) -> String {
    service
        .container_name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-1", spec.name, service.name))
}

/// The engine-side name of the network a service joins first.
pub fn primary_network(spec: &Spec, service: &Service) -> String {
    let key = service.networks.keys().next().map(String::as_str).unwrap_or("default");
    spec.networks
        .get(key)
        .map(|network| network.name.clone())
        .unwrap_or_else(|| format!("{}_default", spec.name))
}

/// Builds the container for `service`, labelled with its config hash.
pub fn container_spec(spec: &Spec, service: &Service) -> ContainerSpec {
    let mut labels: BTreeMap<String, String> = service.labels.clone();
    labels.insert(engine::LABEL_CONFIG_HASH.into(), config_hash(spec, service));
    labels.insert(LABEL_CONFIG_FIELDS.into(), field_hashes_label(spec, service));
    let aliases = std::iter::once(service.name.clone())
        .chain(
            service
                .networks
                .values()
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
        ipc_mode: runtime.ipc.clone(),
        pid_mode: runtime.pid.clone(),
        cgroup_parent: runtime.cgroup_parent.clone(),
        runtime: runtime.runtime.clone(),
        userns_mode: runtime.userns_mode.clone(),
        log_driver: runtime.logging.as_ref().and_then(|logging| logging.driver.clone()),
        log_options: runtime
            .logging
            .as_ref()
            .map(|logging| logging.options.clone())
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
            (key.to_string(), serde_json::json!({"name": network.map(|n| n.name.clone()), "aliases": joined.aliases}))
        }).collect::<BTreeMap<_, _>>(),
        "healthcheck": service.healthcheck,
        "restart": service.restart,
        "labels": service.labels,
        "kind": service.kind(),
    });
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
