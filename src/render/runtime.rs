//! The Compose fields that shape a container beyond image, command, ports
//! and mounts (`user`, `working_dir`, resources, capabilities, …) in their
//! Kubernetes form, each recorded in the translation report, mapped or not
//! (and why). And the report's last word: any field of a service that no
//! rule reported gets an entry saying it is not rendered, so the report
//! always lists every field ([`report_unlisted`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, HostAlias, PodDNSConfig, PodSecurityContext, PodSpec,
    ResourceRequirements, SecurityContext, Sysctl, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::report::TranslationReport;
use crate::spec::Service;

/// What the report says of a field no rule of `render` knows.
pub const UNLISTED: &str = "not rendered for Kubernetes: flowinfra has no rule for this field yet";

/// Applies the runtime fields of `service` to its container and pod.
pub fn apply(service: &Service, container: &mut Container, pod: &mut PodSpec, report: &mut TranslationReport) {
    let runtime = &service.runtime;
    let name = service.name.as_str();
    let mut security = SecurityContext::default();
    let mut pod_security = PodSecurityContext::default();

    if let Some(user) = &runtime.user {
        let mut ids = user.splitn(2, ':').map(|part| part.parse::<i64>());
        match (ids.next(), ids.next()) {
            (Some(Ok(uid)), None) => {
                security.run_as_user = Some(uid);
                report.mapped(name, "user", format!("securityContext.runAsUser {uid}"));
            }
            (Some(Ok(uid)), Some(Ok(gid))) => {
                security.run_as_user = Some(uid);
                security.run_as_group = Some(gid);
                report.mapped(
                    name,
                    "user",
                    format!("securityContext.runAsUser {uid}, runAsGroup {gid}"),
                );
            }
            _ => report.not_mapped(
                name,
                "user",
                format!("`{user}`: Kubernetes takes numeric user and group IDs only; give the IDs"),
            ),
        }
    }
    if let Some(dir) = &runtime.working_dir {
        container.working_dir = Some(dir.clone());
        report.mapped(name, "working_dir", "container workingDir");
    }
    if runtime.domainname.is_some() {
        report.not_mapped(
            name,
            "domainname",
            "pods take the cluster's domain; use `subdomain` by hand if needed",
        );
    }
    if !runtime.expose.is_empty() {
        report.not_mapped(
            name,
            "expose",
            "every port of a pod is reachable by pod IP; only published `ports` become Service ports",
        );
    }
    if runtime.tty {
        container.tty = Some(true);
        report.mapped(name, "tty", "container tty");
    }
    if runtime.stdin_open {
        container.stdin = Some(true);
        report.mapped(name, "stdin_open", "container stdin");
    }
    if runtime.init.is_some() {
        report.not_mapped(
            name,
            "init",
            "Kubernetes has no init process option: use an image with one (tini), or shareProcessNamespace",
        );
    }
    if runtime.privileged {
        security.privileged = Some(true);
        report.mapped(name, "privileged", "securityContext.privileged");
    }
    if runtime.read_only {
        security.read_only_root_filesystem = Some(true);
        report.mapped(name, "read_only", "securityContext.readOnlyRootFilesystem");
    }
    if runtime.stop_signal.is_some() {
        report.not_mapped(
            name,
            "stop_signal",
            "Kubernetes 1.30 always sends SIGTERM (a stop signal field is newer than 1.30)",
        );
    }
    if let Some(seconds) = runtime.stop_grace_period {
        pod.termination_grace_period_seconds = Some(seconds);
        report.mapped(
            name,
            "stop_grace_period",
            format!("terminationGracePeriodSeconds {seconds}"),
        );
    }
    let mut limits = BTreeMap::new();
    let mut requests = BTreeMap::new();
    if let Some(bytes) = runtime.mem_limit {
        limits.insert("memory".to_string(), Quantity(bytes.to_string()));
        report.mapped(name, "mem_limit", format!("resources.limits.memory {bytes}"));
    }
    if let Some(bytes) = runtime.mem_reservation {
        requests.insert("memory".to_string(), Quantity(bytes.to_string()));
        report.mapped(name, "mem_reservation", format!("resources.requests.memory {bytes}"));
    }
    if let Some(nano) = runtime.nano_cpus {
        // Millicores, the finest unit Kubernetes accepts.
        let milli = (nano / 1_000_000).max(1);
        limits.insert("cpu".to_string(), Quantity(format!("{milli}m")));
        report.mapped(name, "cpus", format!("resources.limits.cpu {milli}m"));
    }
    if !limits.is_empty() || !requests.is_empty() {
        container.resources = Some(ResourceRequirements {
            limits: (!limits.is_empty()).then_some(limits),
            requests: (!requests.is_empty()).then_some(requests),
            ..ResourceRequirements::default()
        });
    }
    if runtime.pids_limit.is_some() {
        report.not_mapped(
            name,
            "pids_limit",
            "a node setting of the kubelet (podPidsLimit), not a pod's",
        );
    }
    if runtime.oom_score_adj.is_some() {
        report.not_mapped(
            name,
            "oom_score_adj",
            "the kubelet sets it from the pod's QoS class (its resources)",
        );
    }
    if !runtime.cap_add.is_empty() || !runtime.cap_drop.is_empty() {
        let names = |caps: &[String]| -> Option<Vec<String>> {
            (!caps.is_empty()).then(|| {
                caps.iter()
                    .map(|cap| cap.strip_prefix("CAP_").unwrap_or(cap).to_string())
                    .collect()
            })
        };
        security.capabilities = Some(Capabilities {
            add: names(&runtime.cap_add),
            drop: names(&runtime.cap_drop),
        });
        for (field, caps) in [("cap_add", &runtime.cap_add), ("cap_drop", &runtime.cap_drop)] {
            if !caps.is_empty() {
                let which = if field == "cap_add" { "add" } else { "drop" };
                report.mapped(name, field, format!("securityContext.capabilities.{which}"));
            }
        }
    }
    if !runtime.security_opt.is_empty() {
        report.not_mapped(
            name,
            "security_opt",
            "Docker's options have no direct form; set seccompProfile/appArmorProfile/seLinuxOptions by hand",
        );
    }
    if !runtime.dns.is_empty() || !runtime.dns_search.is_empty() {
        pod.dns_config = Some(PodDNSConfig {
            nameservers: (!runtime.dns.is_empty()).then(|| runtime.dns.clone()),
            searches: (!runtime.dns_search.is_empty()).then(|| runtime.dns_search.clone()),
            ..PodDNSConfig::default()
        });
        if !runtime.dns.is_empty() {
            report.mapped(
                name,
                "dns",
                "dnsConfig.nameservers (after the cluster's DNS, which service names need)",
            );
        }
        if !runtime.dns_search.is_empty() {
            report.mapped(name, "dns_search", "dnsConfig.searches");
        }
    }
    if !runtime.extra_hosts.is_empty() {
        let mut by_address: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in &runtime.extra_hosts {
            if let Some((host, address)) = entry.split_once(':') {
                by_address
                    .entry(address.to_string())
                    .or_default()
                    .push(host.to_string());
            }
        }
        pod.host_aliases = Some(
            by_address
                .into_iter()
                .map(|(ip, hostnames)| HostAlias {
                    ip,
                    hostnames: Some(hostnames),
                })
                .collect(),
        );
        report.mapped(name, "extra_hosts", "hostAliases");
    }
    if !runtime.group_add.is_empty() {
        let ids: Option<Vec<i64>> = runtime.group_add.iter().map(|group| group.parse().ok()).collect();
        match ids {
            Some(ids) => {
                pod_security.supplemental_groups = Some(ids);
                report.mapped(name, "group_add", "securityContext.supplementalGroups");
            }
            None => report.not_mapped(name, "group_add", "Kubernetes takes numeric group IDs only"),
        }
    }
    if !runtime.sysctls.is_empty() {
        pod_security.sysctls = Some(
            runtime
                .sysctls
                .iter()
                .map(|(name, value)| Sysctl {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        );
        report.mapped(
            name,
            "sysctls",
            "securityContext.sysctls (unsafe ones need the kubelet's --allowed-unsafe-sysctls)",
        );
    }
    if !runtime.ulimits.is_empty() {
        report.not_mapped(
            name,
            "ulimits",
            "Kubernetes has no per-pod limits; they come from the node's runtime",
        );
    }
    let mut memory_volumes = Vec::new();
    for (path, options) in &runtime.tmpfs {
        let size = options
            .split(',')
            .find_map(|option| option.strip_prefix("size="))
            .map(tmpfs_size);
        memory_volumes.push((format!("tmpfs-{}", memory_volumes.len()), path.clone(), size));
    }
    if !runtime.tmpfs.is_empty() {
        report.mapped(name, "tmpfs", "emptyDir volumes in memory (medium Memory)");
    }
    if let Some(bytes) = runtime.shm_size {
        memory_volumes.push(("shm".into(), "/dev/shm".into(), Some(bytes.to_string())));
        report.mapped(
            name,
            "shm_size",
            format!("emptyDir in memory at /dev/shm, sizeLimit {bytes}"),
        );
    }
    for (volume, path, size) in memory_volumes {
        pod.volumes.get_or_insert_with(Vec::new).push(Volume {
            name: volume.clone(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: size.map(Quantity),
            }),
            ..Volume::default()
        });
        container.volume_mounts.get_or_insert_with(Vec::new).push(VolumeMount {
            name: volume,
            mount_path: path,
            ..VolumeMount::default()
        });
    }
    if !runtime.links.is_empty() {
        report.not_mapped(
            name,
            "links",
            "every Service name resolves in the namespace; an alias needs a Service of that name",
        );
    }
    for (field, value) in [
        ("ipc", &runtime.ipc),
        ("pid", &runtime.pid),
        ("cgroup_parent", &runtime.cgroup_parent),
        ("runtime", &runtime.runtime),
        ("userns_mode", &runtime.userns_mode),
    ] {
        if value.is_some() {
            let why = match field {
                "ipc" | "pid" => {
                    "containers of one pod may share namespaces (shareProcessNamespace); another \
                                  service's or the host's are not rendered"
                }
                "cgroup_parent" => "the kubelet places pods in cgroups by QoS class",
                "runtime" => "choose a RuntimeClass (runtimeClassName) by hand",
                _ => "user namespaces are the pod's hostUsers setting, not rendered",
            };
            report.not_mapped(name, field, why);
        }
    }
    if runtime.logging.is_some() {
        report.not_mapped(
            name,
            "logging",
            "the cluster collects container output; `kubectl logs` reads it",
        );
    }
    if security != SecurityContext::default() {
        container.security_context = Some(security);
    }
    if pod_security != PodSecurityContext::default() {
        pod.security_context = Some(pod_security);
    }
}

/// A tmpfs `size=` (bytes or with a unit k, m, g) as a Kubernetes quantity.
fn tmpfs_size(size: &str) -> String {
    let lower = size.to_ascii_lowercase();
    for (suffix, unit) in [("k", "Ki"), ("m", "Mi"), ("g", "Gi")] {
        if let Some(number) = lower.strip_suffix(suffix) {
            return format!("{number}{unit}");
        }
    }
    lower
}

/// Adds an entry for every field `service` sets that no rule reported.
pub fn report_unlisted(service: &Service, report: &mut TranslationReport) {
    for field in set_fields(service) {
        let listed = report.of(&service.name).any(|entry| {
            entry.field == field
                || entry.field.starts_with(&format!("{field}."))
                || entry.field.starts_with(&format!("{field}["))
                || entry.field.starts_with(&format!("{field} ("))
        });
        if !listed {
            report.not_mapped(&service.name, &field, reason_by_name(&field).unwrap_or(UNLISTED));
        }
    }
}

/// Why a field no typed rule reports has no Kubernetes form, by its name:
/// fields that reach the spec in one branch before their rule does (the
/// `networks` settings beside `aliases` land here too, per network).
pub fn reason_by_name(field: &str) -> Option<&'static str> {
    Some(match field {
        "annotations" => "container annotations of the engine; set pod annotations by hand if tooling reads them",
        "storage_opt" => "an option of the engine's storage driver; Kubernetes sizes storage by claims (--storage)",
        "mac_address" => "pods get their addresses from the cluster's network",
        "networks" => "one namespace is one network: addresses, priorities and driver options are the cluster's",
        _ => return None,
    })
}

/// The Compose fields `service` sets, by their names in the spec (as
/// `flowinfra config` writes them): whatever its serialisation holds, but
/// the values every service has (`pull_policy: missing`, the default network).
pub fn set_fields(service: &Service) -> Vec<String> {
    let value = serde_json::to_value(service).expect("a service serialises");
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter(|(key, value)| match key.as_str() {
            "pull_policy" => value.as_str() != Some("missing"),
            // The default network every service joins, without aliases, is no choice of the spec.
            "networks" => value.as_object().is_some_and(|networks| {
                networks.iter().any(|(network, settings)| {
                    network != "default" || settings.as_object().is_some_and(|settings| !settings.is_empty())
                })
            }),
            // `nano_cpus` is Compose's `cpus`.
            _ => true,
        })
        .map(|(key, _)| {
            if key == "nano_cpus" {
                "cpus".to_string()
            } else {
                key.clone()
            }
        })
        .collect()
}
