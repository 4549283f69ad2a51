//! A service's runtime fields (issue 15): user, tty, resources, capabilities,
//! DNS, ulimits, tmpfs, logging, `deploy` without Swarm… read into
//! [`RuntimeOptions`] with Compose v2's forms and units. Fields flowinfra
//! accepts without honouring (`develop`, most of `deploy`, `platform`) are
//! one-line warnings.

use std::collections::BTreeMap;

use super::values::read_duration;
use crate::spec::error::Diagnostic;
use crate::spec::model::{
    BlkioConfig, Device, DeviceRequest, Logging, RestartPolicy, RuntimeOptions, Ulimit, VolumesFrom, VolumesFromKind,
};
use crate::spec::reader::{Fields, Reader};
use crate::spec::syntax::parse_byte_size;
use crate::spec::yaml::{Node, Value};

/// Reads every runtime field of the service `service` (its mapping `node`).
/// `restart` is the service's own `restart:`; `deploy.restart_policy` fills
/// it when unset, as Compose does without Swarm.
pub(super) fn read_runtime_options(
    r: &mut Reader,
    service: &str,
    node: &Node,
    restart: &mut Option<RestartPolicy>,
) -> RuntimeOptions {
    let text = |r: &mut Reader, field: &str| node.get(field).and_then(|n| r.string(n, &format!("`{field}`")));
    let flag = |r: &mut Reader, field: &str| {
        node.get(field)
            .and_then(|n| r.bool(n, &format!("`{field}`")))
            .unwrap_or(false)
    };
    let list = |r: &mut Reader, field: &str| {
        node.get(field)
            .map(|n| r.string_list(n, &format!("`{field}`")))
            .unwrap_or_default()
    };
    let size = |r: &mut Reader, field: &str| node.get(field).and_then(|n| byte_size(r, n, field));
    let integer = |r: &mut Reader, field: &str| node.get(field).and_then(|n| read_integer(r, n, field));

    let mut options = RuntimeOptions {
        user: text(r, "user"),
        working_dir: text(r, "working_dir"),
        domainname: text(r, "domainname"),
        expose: node.get("expose").map(|n| expose(r, n)).unwrap_or_default(),
        tty: flag(r, "tty"),
        stdin_open: flag(r, "stdin_open"),
        init: node.get("init").and_then(|n| r.bool(n, "`init`")),
        privileged: flag(r, "privileged"),
        read_only: flag(r, "read_only"),
        stop_signal: text(r, "stop_signal"),
        stop_grace_period: node
            .get("stop_grace_period")
            .and_then(|n| read_duration(r, n, "`stop_grace_period`"))
            .map(|duration| duration.as_secs() as i64),
        shm_size: size(r, "shm_size"),
        mem_limit: size(r, "mem_limit"),
        mem_reservation: size(r, "mem_reservation"),
        nano_cpus: node.get("cpus").and_then(|n| cpus(r, n, "`cpus`")),
        pids_limit: integer(r, "pids_limit"),
        oom_score_adj: integer(r, "oom_score_adj"),
        cap_add: list(r, "cap_add"),
        cap_drop: list(r, "cap_drop"),
        security_opt: list(r, "security_opt"),
        dns: list(r, "dns"),
        dns_search: list(r, "dns_search"),
        extra_hosts: node.get("extra_hosts").map(|n| extra_hosts(r, n)).unwrap_or_default(),
        group_add: list(r, "group_add"),
        sysctls: node
            .get("sysctls")
            .map(|n| key_values(r, n, "`sysctls`", '='))
            .unwrap_or_default(),
        ulimits: node.get("ulimits").map(|n| ulimits(r, n)).unwrap_or_default(),
        tmpfs: node.get("tmpfs").map(|n| tmpfs(r, n)).unwrap_or_default(),
        links: list(r, "links"),
        ipc: text(r, "ipc"),
        pid: text(r, "pid"),
        cgroup_parent: text(r, "cgroup_parent"),
        runtime: text(r, "runtime"),
        userns_mode: text(r, "userns_mode"),
        logging: node.get("logging").and_then(|n| logging(r, n)),
        devices: node.get("devices").map(|n| devices(r, n)).unwrap_or_default(),
        volumes_from: node.get("volumes_from").map(|n| volumes_from(r, n)).unwrap_or_default(),
        storage_opt: node
            .get("storage_opt")
            .map(|n| r.string_map(n, "storage option"))
            .unwrap_or_default(),
        annotations: node
            .get("annotations")
            .map(|n| key_values(r, n, "`annotations`", '='))
            .unwrap_or_default(),
        mac_address: text(r, "mac_address").filter(|mac| !mac.is_empty()),
        cpu_shares: integer(r, "cpu_shares"),
        cpuset: text(r, "cpuset"),
        cpu_period: node.get("cpu_period").and_then(|n| microseconds(r, n, "cpu_period")),
        cpu_quota: node.get("cpu_quota").and_then(|n| microseconds(r, n, "cpu_quota")),
        cpu_rt_period: node
            .get("cpu_rt_period")
            .and_then(|n| microseconds(r, n, "cpu_rt_period")),
        cpu_rt_runtime: node
            .get("cpu_rt_runtime")
            .and_then(|n| microseconds(r, n, "cpu_rt_runtime")),
        memswap_limit: node.get("memswap_limit").and_then(|n| match n.as_scalar() {
            // -1: unlimited swap, as the engine reads it.
            Some("-1") => Some(-1),
            _ => byte_size(r, n, "memswap_limit"),
        }),
        mem_swappiness: integer(r, "mem_swappiness"),
        oom_kill_disable: node
            .get("oom_kill_disable")
            .and_then(|n| r.bool(n, "`oom_kill_disable`")),
        dns_opt: list(r, "dns_opt"),
        uts: text(r, "uts"),
        cgroup: node.get("cgroup").and_then(|n| {
            let mode = r.string(n, "`cgroup`")?;
            if matches!(mode.as_str(), "host" | "private") {
                Some(mode)
            } else {
                r.error(&n.position, format!("`cgroup` must be host or private, found `{mode}`"));
                None
            }
        }),
        device_cgroup_rules: list(r, "device_cgroup_rules"),
        volume_driver: text(r, "volume_driver").filter(|driver| !driver.is_empty()),
        gpus: node.get("gpus").map(|n| gpus(r, n)).unwrap_or_default(),
        reserved_devices: Vec::new(),
        cdi_devices: Vec::new(),
        blkio_config: node.get("blkio_config").and_then(|n| blkio_config(r, n)),
        external_links: list(r, "external_links"),
    };
    // A CDI name (`vendor.com/class=name`) is a device request, as Compose sends it.
    let (cdi, paths): (Vec<Device>, Vec<Device>) = std::mem::take(&mut options.devices)
        .into_iter()
        .partition(|device| device.source == device.target && is_cdi_name(&device.source));
    options.devices = paths;
    options.cdi_devices = cdi.into_iter().map(|device| device.source).collect();
    // `attach` only chooses whose logs `docker compose up` follows; `up` never follows logs.
    if let Some(attach) = node.get("attach") {
        r.bool(attach, "`attach`");
    }
    if let Some(scale) = node.get("scale")
        && let Some(count) = read_integer(r, scale, "scale")
        && count != 1
    {
        r.warn(format!(
            "service `{service}`: `scale: {count}` is ignored: flowinfra runs one container per service"
        ));
    }
    if let Some(deploy_node) = node.get("deploy") {
        deploy(r, service, deploy_node, &mut options, restart);
    }
    if node.get("develop").is_some() {
        r.warn(format!(
            "service `{service}`: `develop` (compose watch) is ignored; flowinfra does not watch files"
        ));
    }
    if let Some(platform) = node.get("platform").and_then(|n| r.string(n, "`platform`"))
        && !platform.is_empty()
    {
        r.warn(format!(
            "service `{service}`: `platform: {platform}` is ignored; the engine runs the image it has for its own platform"
        ));
    }
    options
}

pub(super) fn read_integer(r: &mut Reader, node: &Node, field: &str) -> Option<i64> {
    let text = r.string(node, &format!("`{field}`"))?;
    match text.trim().parse::<i64>() {
        Ok(value) => Some(value),
        Err(_) => {
            r.error(
                &node.position,
                format!("`{field}` must be a whole number, found `{text}`"),
            );
            None
        }
    }
}

/// A whole number of microseconds, or a duration (`400ms`), as Compose reads CPU periods.
fn microseconds(r: &mut Reader, node: &Node, field: &str) -> Option<i64> {
    let text = r.string(node, &format!("`{field}`"))?;
    if let Ok(value) = text.trim().parse::<i64>() {
        return Some(value);
    }
    read_duration(r, node, &format!("`{field}`")).map(|duration| duration.as_micros() as i64)
}

fn byte_size(r: &mut Reader, node: &Node, field: &str) -> Option<i64> {
    let text = r.string(node, &format!("`{field}`"))?;
    match parse_byte_size(&text) {
        Ok(bytes) => Some(bytes),
        Err(reason) => {
            r.push(
                Diagnostic::at(&node.position, format!("invalid size `{text}` for `{field}`: {reason}"))
                    .with_hint("write sizes as Compose does: bytes, or a number with b, k, m or g (e.g. 64m, 1g)"),
            );
            None
        }
    }
}

/// `cpus: 0.5` → 500 000 000 billionths of a CPU.
fn cpus(r: &mut Reader, node: &Node, what: &str) -> Option<i64> {
    let text = r.string(node, what)?;
    match text.trim().parse::<f64>() {
        Ok(value) if value >= 0.0 && value.is_finite() => Some((value * 1e9).round() as i64),
        _ => {
            r.error(
                &node.position,
                format!("{what} must be a number of CPUs (e.g. 0.5), found `{text}`"),
            );
            None
        }
    }
}

/// `expose` entries as the engine keys them: `8080/tcp`; ranges expanded.
fn expose(r: &mut Reader, node: &Node) -> Vec<String> {
    let mut ports = Vec::new();
    for entry in r.string_list(node, "`expose`") {
        let (range, protocol) = entry.split_once('/').unwrap_or((&entry, "tcp"));
        let bounds = range.split_once('-').unwrap_or((range, range));
        match (bounds.0.parse::<u16>(), bounds.1.parse::<u16>(), protocol) {
            (Ok(start), Ok(end), "tcp" | "udp") if start <= end && start > 0 => {
                ports.extend((start..=end).map(|port| format!("{port}/{protocol}")));
            }
            _ => r.error(
                &node.position,
                format!("invalid `expose` entry `{entry}`: write PORT, PORT/udp or START-END"),
            ),
        }
    }
    ports
}

/// A mapping, or a list of `KEY<separator>VALUE`.
pub(super) fn key_values(r: &mut Reader, node: &Node, what: &str, separator: char) -> BTreeMap<String, String> {
    match &node.value {
        Value::Sequence(_) => {
            let mut map = BTreeMap::new();
            for entry in r.string_list(node, what) {
                match entry.split_once(separator) {
                    Some((key, value)) => {
                        map.insert(key.trim().to_string(), value.trim().to_string());
                    }
                    None => r.error(
                        &node.position,
                        format!("{what} entry `{entry}` must be KEY{separator}VALUE"),
                    ),
                }
            }
            map
        }
        _ => r.string_map(node, what),
    }
}

/// `host:address` entries (Compose also takes `host=address` and a mapping).
fn extra_hosts(r: &mut Reader, node: &Node) -> Vec<String> {
    let entries: Vec<(String, String)> = match &node.value {
        Value::Sequence(_) => r
            .string_list(node, "`extra_hosts`")
            .into_iter()
            .filter_map(|entry| {
                let split = entry.split_once('=').or_else(|| entry.split_once(':'));
                match split {
                    Some((host, address)) => Some((host.to_string(), address.to_string())),
                    None => {
                        r.error(
                            &node.position,
                            format!("`extra_hosts` entry `{entry}` must be HOST:ADDRESS"),
                        );
                        None
                    }
                }
            })
            .collect(),
        _ => r.string_map(node, "`extra_hosts`").into_iter().collect(),
    };
    entries
        .into_iter()
        .map(|(host, address)| {
            // `[::1]` is how Compose writes an IPv6 address here; the engine takes it bare.
            let address = address.trim_start_matches('[').trim_end_matches(']');
            format!("{host}:{address}")
        })
        .collect()
}

fn ulimits(r: &mut Reader, node: &Node) -> BTreeMap<String, Ulimit> {
    let mut limits = BTreeMap::new();
    for (key, value) in r.mapping(node, "`ulimits`").unwrap_or_default() {
        let what = format!("ulimit `{}`", key.name);
        let limit = match &value.value {
            Value::Scalar { .. } => read_integer(r, value, &key.name).map(|limit| Ulimit {
                soft: limit,
                hard: limit,
            }),
            Value::Mapping(entries) => {
                r.check_keys(entries, &Fields::new(&what, &["soft", "hard"]));
                let soft = value.get("soft").and_then(|n| read_integer(r, n, "soft"));
                let hard = value.get("hard").and_then(|n| read_integer(r, n, "hard"));
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Some(Ulimit { soft, hard }),
                    _ => {
                        r.error(&value.position, format!("{what} needs `soft` and `hard`"));
                        None
                    }
                }
            }
            _ => {
                r.error(&value.position, format!("{what} must be a number or `{{soft, hard}}`"));
                None
            }
        };
        if let Some(limit) = limit {
            limits.insert(key.name.clone(), limit);
        }
    }
    limits
}

/// `tmpfs: /run` or a list of `PATH[:OPTIONS]`.
fn tmpfs(r: &mut Reader, node: &Node) -> BTreeMap<String, String> {
    r.string_list(node, "`tmpfs`")
        .into_iter()
        .map(|entry| match entry.split_once(':') {
            Some((path, options)) => (path.to_string(), options.to_string()),
            None => (entry, String::new()),
        })
        .collect()
}

fn logging(r: &mut Reader, node: &Node) -> Option<Logging> {
    let entries = r.mapping(node, "`logging`")?;
    r.check_keys(
        entries,
        &Fields::new("logging", &["driver", "options"]).with_extensions(),
    );
    Some(Logging {
        driver: node
            .get("driver")
            .and_then(|n| r.non_empty_string(n, "`logging.driver`")),
        options: node
            .get("options")
            .map(|n| r.string_map(n, "logging option"))
            .unwrap_or_default(),
    })
}

/// `devices`: `HOST[:CONTAINER[:PERMISSIONS]]` or `{source, target, permissions}`;
/// the container path defaults to the host path, permissions to `rwm`.
fn devices(r: &mut Reader, node: &Node) -> Vec<Device> {
    let mut devices = Vec::new();
    for item in r.list(node, "`devices`") {
        let device = match &item.value {
            Value::Mapping(entries) => {
                r.check_keys(entries, &Fields::new("device", &["source", "target", "permissions"]));
                let field = |r: &mut Reader, name: &str| {
                    item.get(name)
                        .and_then(|n| r.non_empty_string(n, &format!("device `{name}`")))
                };
                let source = field(r, "source");
                let target = field(r, "target");
                let permissions = field(r, "permissions");
                source.map(|source| (source.clone(), target.unwrap_or(source), permissions))
            }
            _ => r.string(item, "an item of `devices`").and_then(|text| {
                let parts: Vec<&str> = text.split(':').collect();
                match parts.as_slice() {
                    [source] => Some((source.to_string(), source.to_string(), None)),
                    [source, last] if is_cgroup_permissions(last) => {
                        Some((source.to_string(), source.to_string(), Some(last.to_string())))
                    }
                    [source, target] => Some((source.to_string(), target.to_string(), None)),
                    [source, target, permissions] => {
                        Some((source.to_string(), target.to_string(), Some(permissions.to_string())))
                    }
                    _ => None,
                }
            }),
        };
        match device {
            Some((source, target, None)) if source == target && is_cdi_name(&source) => devices.push(Device {
                source,
                target,
                permissions: String::new(),
            }),
            Some((source, target, permissions)) if source.starts_with('/') && target.starts_with('/') => {
                let permissions = permissions.unwrap_or_else(|| "rwm".into());
                if !is_cgroup_permissions(&permissions) {
                    r.error(
                        &item.position,
                        format!("device permissions `{permissions}` must be letters of `rwm`"),
                    );
                    continue;
                }
                devices.push(Device {
                    source,
                    target,
                    permissions,
                });
            }
            Some((source, _, _)) if source.contains('=') => r.push(
                Diagnostic::at(
                    &item.position,
                    format!("CDI device `{source}` takes no container path or permissions"),
                )
                .with_hint("write a CDI device by its name alone, e.g. vendor.com/gpu=0"),
            ),
            _ => {
                r.push(Diagnostic::at(&item.position, "invalid device").with_hint(
                    "write devices as HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], e.g. /dev/fuse:/dev/fuse:rwm",
                ))
            }
        }
    }
    devices
}

/// `vendor.com/class=name`: a device of the Container Device Interface.
fn is_cdi_name(text: &str) -> bool {
    match text.split_once('=') {
        Some((kind, name)) => !name.is_empty() && kind.contains('/') && !kind.starts_with('/'),
        None => false,
    }
}

/// `gpus: all`, or a list of `{driver, count, device_ids, capabilities, options}`.
fn gpus(r: &mut Reader, node: &Node) -> Vec<DeviceRequest> {
    if node.as_scalar() == Some("all") {
        return vec![DeviceRequest {
            count: Some(-1),
            capabilities: vec!["gpu".into()],
            ..Default::default()
        }];
    }
    r.list(node, "`gpus`")
        .iter()
        .filter_map(|item| device_request(r, item, "gpus"))
        .map(|mut request| {
            request.capabilities.push("gpu".into());
            request
        })
        .collect()
}

/// One device request: `{driver, count (a number or all), device_ids, capabilities, options}`.
fn device_request(r: &mut Reader, node: &Node, what: &str) -> Option<DeviceRequest> {
    let entries = r.mapping(node, &format!("an item of `{what}`"))?;
    r.check_keys(
        entries,
        &Fields::new(
            "device request",
            &["driver", "count", "device_ids", "capabilities", "options"],
        ),
    );
    let count = match node.get("count") {
        Some(n) if n.as_scalar() == Some("all") => Some(-1),
        Some(n) => read_integer(r, n, "count"),
        None => None,
    };
    Some(DeviceRequest {
        driver: node.get("driver").and_then(|n| r.non_empty_string(n, "`driver`")),
        count,
        device_ids: node
            .get("device_ids")
            .map(|n| r.string_list(n, "`device_ids`"))
            .unwrap_or_default(),
        capabilities: node
            .get("capabilities")
            .map(|n| r.string_list(n, "`capabilities`"))
            .unwrap_or_default(),
        options: node
            .get("options")
            .map(|n| r.string_map(n, "device option"))
            .unwrap_or_default(),
    })
}

/// `blkio_config`: `weight`, and per device `weight_device`, `device_read_bps`… as `{path, weight|rate}` lists.
fn blkio_config(r: &mut Reader, node: &Node) -> Option<BlkioConfig> {
    let entries = r.mapping(node, "`blkio_config`")?;
    r.check_keys(
        entries,
        &Fields::new(
            "blkio_config",
            &[
                "weight",
                "weight_device",
                "device_read_bps",
                "device_write_bps",
                "device_read_iops",
                "device_write_iops",
            ],
        ),
    );
    let weight = |r: &mut Reader, n: &Node| {
        read_integer(r, n, "weight").and_then(|w| match u16::try_from(w) {
            Ok(w) if (10..=1000).contains(&w) || w == 0 => Some(w),
            _ => {
                r.error(&n.position, format!("`weight` must be 10 to 1000, found {w}"));
                None
            }
        })
    };
    let mut config = BlkioConfig {
        weight: node.get("weight").and_then(|n| weight(r, n)),
        ..Default::default()
    };
    if let Some(list) = node.get("weight_device") {
        for item in r.list(list, "`weight_device`") {
            let path = item.get("path").and_then(|n| r.non_empty_string(n, "`path`"));
            let value = item.get("weight").and_then(|n| weight(r, n));
            match (path, value) {
                (Some(path), Some(value)) => {
                    config.weight_device.insert(path, value);
                }
                _ => r.error(&item.position, "a `weight_device` entry needs `path` and `weight`"),
            }
        }
    }
    for (field, bytes) in [
        ("device_read_bps", true),
        ("device_write_bps", true),
        ("device_read_iops", false),
        ("device_write_iops", false),
    ] {
        let Some(list) = node.get(field) else { continue };
        for item in r.list(list, &format!("`{field}`")) {
            let path = item.get("path").and_then(|n| r.non_empty_string(n, "`path`"));
            let rate = item.get("rate").and_then(|n| {
                if bytes {
                    byte_size(r, n, "rate")
                } else {
                    read_integer(r, n, "rate")
                }
            });
            match (path, rate) {
                (Some(path), Some(rate)) => {
                    let target = match field {
                        "device_read_bps" => &mut config.device_read_bps,
                        "device_write_bps" => &mut config.device_write_bps,
                        "device_read_iops" => &mut config.device_read_iops,
                        _ => &mut config.device_write_iops,
                    };
                    target.insert(path, rate);
                }
                _ => r.error(&item.position, format!("a `{field}` entry needs `path` and `rate`")),
            }
        }
    }
    Some(config)
}

fn is_cgroup_permissions(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

/// `volumes_from`: `SERVICE[:ro|rw]` or `container:NAME[:ro|rw]`.
fn volumes_from(r: &mut Reader, node: &Node) -> Vec<VolumesFrom> {
    let mut sources = Vec::new();
    for item in r.list(node, "`volumes_from`") {
        let Some(text) = r.non_empty_string(item, "an item of `volumes_from`") else {
            continue;
        };
        let (kind, rest) = match text.strip_prefix("container:") {
            Some(rest) => (VolumesFromKind::Container, rest),
            None => (VolumesFromKind::Service, text.as_str()),
        };
        let (name, read_only) = match rest.rsplit_once(':') {
            Some((name, "ro")) => (name, true),
            Some((name, "rw")) => (name, false),
            Some(_) => {
                r.push(
                    Diagnostic::at(&item.position, format!("invalid `volumes_from` entry `{text}`"))
                        .with_hint("write SERVICE[:ro|rw] or container:NAME[:ro|rw]"),
                );
                continue;
            }
            None => (rest, false),
        };
        sources.push(VolumesFrom {
            kind,
            name: name.to_string(),
            read_only,
        });
    }
    sources
}

/// `deploy` as Compose v2 reads it without Swarm: resource limits and
/// reservations (memory, cpus, pids) and `restart_policy`; the rest is
/// Swarm's and is named in one warning.
fn deploy(
    r: &mut Reader,
    service: &str,
    node: &Node,
    options: &mut RuntimeOptions,
    restart: &mut Option<RestartPolicy>,
) {
    let Some(entries) = r.mapping(node, "`deploy`") else {
        return;
    };
    let mut ignored = Vec::new();
    for (key, value) in entries {
        match key.name.as_str() {
            "resources" => {
                let Some(resources) = r.mapping(value, "`deploy.resources`") else {
                    continue;
                };
                for (kind, limits) in resources {
                    let Some(fields) = r.mapping(limits, &format!("`deploy.resources.{}`", kind.name)) else {
                        continue;
                    };
                    for (field, field_value) in fields {
                        let path = format!("deploy.resources.{}.{}", kind.name, field.name);
                        match (kind.name.as_str(), field.name.as_str()) {
                            ("limits", "memory") => {
                                options.mem_limit = options.mem_limit.or(byte_size(r, field_value, &path));
                            }
                            ("limits", "cpus") => {
                                options.nano_cpus = options.nano_cpus.or(cpus(r, field_value, &format!("`{path}`")));
                            }
                            ("limits", "pids") => {
                                options.pids_limit = options.pids_limit.or(read_integer(r, field_value, &path));
                            }
                            ("reservations", "memory") => {
                                options.mem_reservation = options.mem_reservation.or(byte_size(r, field_value, &path));
                            }
                            ("reservations", "devices") => {
                                let items = r.list(field_value, "`deploy.resources.reservations.devices`");
                                let requests: Vec<DeviceRequest> = items
                                    .iter()
                                    .filter_map(|item| device_request(r, item, "deploy.resources.reservations.devices"))
                                    .collect();
                                options.reserved_devices.extend(requests);
                            }
                            _ => ignored.push(path),
                        }
                    }
                }
            }
            "restart_policy" => {
                let condition = value
                    .get("condition")
                    .and_then(|n| r.string(n, "`deploy.restart_policy.condition`"));
                let attempts = value
                    .get("max_attempts")
                    .and_then(|n| read_integer(r, n, "deploy.restart_policy.max_attempts"));
                let policy = match condition.as_deref() {
                    Some("none") => Some(RestartPolicy::No),
                    Some("on-failure") => Some(RestartPolicy::OnFailure {
                        max_retries: attempts.and_then(|n| u32::try_from(n).ok()),
                    }),
                    Some("any") | None => Some(RestartPolicy::Always),
                    Some(other) => {
                        r.error(
                            &value.position,
                            format!("invalid `deploy.restart_policy.condition` `{other}`: use none, on-failure or any"),
                        );
                        None
                    }
                };
                if restart.is_none() {
                    *restart = policy;
                }
                for (field, _) in r.mapping(value, "`deploy.restart_policy`").unwrap_or_default() {
                    if !matches!(field.name.as_str(), "condition" | "max_attempts") {
                        ignored.push(format!("deploy.restart_policy.{}", field.name));
                    }
                }
            }
            "replicas" if value.as_scalar() == Some("1") => {}
            other => ignored.push(format!("deploy.{other}")),
        }
    }
    if !ignored.is_empty() {
        r.warn(format!(
            "service `{service}`: {} ignored: flowinfra runs one container per service, without Swarm",
            ignored.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        ));
    }
}
