//! The fields flowinfra reads at the top level of a spec and in a service,
//! each defined once with the forms it accepts. Validation takes the names
//! from here (what is allowed, what "did you mean" suggests) and the
//! README's field tables are these tables rendered (a test keeps them equal).

/// One row of a field table: fields documented together and the forms they accept.
#[derive(Debug, Clone, Copy)]
pub struct FieldRow {
    pub names: &'static [&'static str],
    /// What the fields mean or which forms they take, as Markdown.
    pub accepted: &'static str,
}

/// Top-level fields of a spec file.
pub const TOP_LEVEL: &[FieldRow] = &[
    FieldRow {
        names: &["name"],
        accepted: "project name (Compose v2; Debian's docker-compose 1.29 rejects it, so the shipped spec leaves it out)",
    },
    FieldRow {
        names: &["services"],
        accepted: "the services, at least one",
    },
    FieldRow {
        names: &["volumes"],
        accepted: "named volumes: `{name, external, driver, driver_opts, labels}` (driver and options passed to the engine \
                   when flowinfra creates the volume); engine name `<project>_<key>`",
    },
    FieldRow {
        names: &["networks"],
        accepted: "networks: `{name, external, driver, labels, internal, enable_ipv6, attachable, driver_opts, ipam}` \
                   (`ipam: {driver, config: [{subnet, ip_range, gateway, aux_addresses}], options}`; all passed to the \
                   engine when flowinfra creates the network; a driver the engine lacks, e.g. `overlay` without Swarm, \
                   fails at `up`); `default` (`<project>_default`) always exists",
    },
    FieldRow {
        names: &["secrets"],
        accepted: "`{file}` (a host file, bind-mounted read-only) or `{environment: VARIABLE}` (its value written into \
                   the container before it starts); `name`, `labels` shown; `external`, `driver`, `template_driver` \
                   need Swarm and are refused where used. Contents are never printed",
    },
    FieldRow {
        names: &["configs"],
        accepted: "as `secrets`, plus `{content}` (inline text written into the container)",
    },
    FieldRow {
        names: &["version"],
        accepted: "accepted and ignored, as Compose does",
    },
    FieldRow {
        names: &["include"],
        accepted: "Compose models to import, as Compose v2: `- PATH` or `- {path: PATH or [PATH, OVERRIDE…], \
                   project_directory, env_file}`, relative to the including file; each is loaded on its own (its \
                   `.env`, its `include`s) and its services, volumes, networks, secrets and configs are added; \
                   one the including file also defines differently is an error, as in Compose",
    },
];

/// Service fields flowinfra implements.
pub const SERVICE: &[FieldRow] = &[
    FieldRow {
        names: &["image"],
        accepted: "image reference; for `build:` services the tag to build (default `<project>-<service>`)",
    },
    FieldRow {
        names: &["build"],
        accepted: "`DIR` or `{context, dockerfile, args (map or list), target}`; context and Dockerfile must exist",
    },
    FieldRow {
        names: &["container_name", "hostname"],
        accepted: "strings; container names must be unique",
    },
    FieldRow {
        names: &["command", "entrypoint"],
        accepted: "a list, or a string split like a shell would",
    },
    FieldRow {
        names: &["environment"],
        accepted: "map or `KEY=VALUE` list; a bare `KEY` takes the value from flowinfra's variables",
    },
    FieldRow {
        names: &["env_file"],
        accepted: "a path or list of paths (dotenv format); `environment` wins over it",
    },
    FieldRow {
        names: &["ports"],
        accepted: "`[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp\\|udp]`, ranges `8000-8002:9000-9002`, IPv6 `[::1]:80:80`, \
                   or `{target, published, host_ip, protocol, mode, name, app_protocol}` (`name` and `app_protocol` \
                   describe the port; the engine has no use for them). **With no host address, ports bind to \
                   127.0.0.1**, not all interfaces. Two services may publish the same host port (e.g. in different \
                   profiles); `up` refuses to start both",
    },
    FieldRow {
        names: &["volumes"],
        accepted: "`SOURCE:TARGET[:ro\\|rw]` (a source starting with `.`, `/` or `~` is a bind mount, otherwise a \
                   declared named volume), `TARGET` (anonymous), or `{type: volume\\|bind, source, target, read_only}`",
    },
    FieldRow {
        names: &["healthcheck"],
        accepted: "`test` (string → `CMD-SHELL`, or list starting with `CMD`, `CMD-SHELL`, `NONE`), `interval`, \
                   `timeout`, `retries`, `start_period`, `start_interval`, `disable`",
    },
    FieldRow {
        names: &["depends_on"],
        accepted: "list of services, or map with `condition: \
                   service_started\\|service_healthy\\|service_completed_successfully`, `restart`, `required`",
    },
    FieldRow {
        names: &["restart"],
        accepted: "`no`, `always`, `on-failure[:N]`, `unless-stopped`",
    },
    FieldRow {
        names: &["labels"],
        accepted: "map or list; `io.flowinfra.*` is reserved",
    },
    FieldRow {
        names: &["pull_policy"],
        accepted: "`missing` (default; also `if_not_present`), `always`, `never`, `build`",
    },
    FieldRow {
        names: &["profiles"],
        accepted: "a service with profiles runs only when one is listed in `COMPOSE_PROFILES`",
    },
    FieldRow {
        names: &["networks"],
        accepted: "list of declared networks, or map with `aliases`, `ipv4_address`, `ipv6_address`, \
                   `link_local_ips`, `mac_address`, `driver_opts`, `priority` (the highest is the primary network; \
                   the others are connected before the container starts)",
    },
    FieldRow {
        names: &["network_mode"],
        accepted: "`host`, `none`, `bridge`, `container:NAME`, or `service:NAME` (that service's container's network; \
                   the service becomes a dependency, and recreating it recreates this one) → `HostConfig.NetworkMode`; \
                   excludes `networks`",
    },
    FieldRow {
        names: &["secrets", "configs"],
        accepted: "`NAME` or `{source, target, uid, gid, mode}` → the file at `/run/secrets/<target>` (secrets) or \
                   `/<target>` (configs), default target the name; read-only bind mount of a `file:` source (`uid`, \
                   `gid`, `mode` ignored, with a warning, as in Compose), a copied file for the others",
    },
    FieldRow {
        names: &["devices"],
        accepted: "`HOST[:CONTAINER[:rwm]]` or `{source, target, permissions}` → `HostConfig.Devices`",
    },
    FieldRow {
        names: &["volumes_from"],
        accepted: "`SERVICE[:ro\\|rw]` (a dependency) or `container:NAME[:ro\\|rw]` → `HostConfig.VolumesFrom`",
    },
    FieldRow {
        names: &[
            "cpu_shares",
            "cpuset",
            "cpu_period",
            "cpu_quota",
            "cpu_rt_period",
            "cpu_rt_runtime",
            "memswap_limit",
            "mem_swappiness",
            "oom_kill_disable",
        ],
        accepted: "integers (periods also as durations, e.g. `400ms`), `0-3`, sizes (`-1`: unlimited swap), a \
                   boolean → `HostConfig.CpuShares`, `CpusetCpus`, `CpuPeriod`, `CpuQuota`, `CpuRealtimePeriod`, \
                   `CpuRealtimeRuntime`, `MemorySwap`, `MemorySwappiness`, `OomKillDisable`",
    },
    FieldRow {
        names: &["dns_opt", "device_cgroup_rules", "uts", "cgroup", "volume_driver"],
        accepted: "a list, a list, `host`, `host\\|private`, a driver name → `HostConfig.DnsOptions`, \
                   `DeviceCgroupRules`, `UTSMode`, `CgroupnsMode`, `VolumeDriver`",
    },
    FieldRow {
        names: &["gpus", "blkio_config", "external_links"],
        accepted: "`all` or `[{driver, count, device_ids, capabilities, options}]` → `HostConfig.DeviceRequests` \
                   (capability `gpu`; CDI names in `devices` and `deploy.resources.reservations.devices` too); \
                   `{weight, weight_device, device_read_bps, device_write_bps, device_read_iops, device_write_iops}` \
                   → the `HostConfig.Blkio*` fields; `CONTAINER[:ALIAS]` → links to containers outside the spec",
    },
    FieldRow {
        names: &["storage_opt", "annotations"],
        accepted: "maps → `HostConfig.StorageOpt`, `HostConfig.Annotations` (annotations need Engine API 1.43; older \
                   engines drop them, with a warning)",
    },
    FieldRow {
        names: &["label_file"],
        accepted: "a path or list of paths of `KEY=VALUE` lines; `labels` wins over them",
    },
    FieldRow {
        names: &["mac_address"],
        accepted: "the MAC address on the primary network → `MacAddress` (the endpoint's from Engine API 1.44)",
    },
    FieldRow {
        names: &["post_start", "pre_stop"],
        accepted: "lists of `{command, user, privileged, working_dir, environment}` run in the container once it \
                   has started (a failing one fails the service, with its output), and before `down` or a recreate \
                   stops it (a failing one is a warning)",
    },
    FieldRow {
        names: &["attach", "scale"],
        accepted: "accepted: `up` never follows logs; `scale` other than 1 is a warning (one container per service)",
    },
    FieldRow {
        names: &["user", "working_dir", "domainname", "stop_signal", "tty", "stdin_open"],
        accepted: "as in Compose → the container's `User`, `WorkingDir`, `Domainname`, `StopSignal`, `Tty`, `OpenStdin`",
    },
    FieldRow {
        names: &["expose"],
        accepted: "container ports exposed, not published: `PORT`, `PORT/udp`, `START-END` → `ExposedPorts`",
    },
    FieldRow {
        names: &["stop_grace_period"],
        accepted: "a duration → `StopTimeout` (whole seconds)",
    },
    FieldRow {
        names: &["init", "privileged", "read_only"],
        accepted: "booleans → `HostConfig.Init`, `Privileged`, `ReadonlyRootfs`",
    },
    FieldRow {
        names: &[
            "shm_size",
            "mem_limit",
            "mem_reservation",
            "cpus",
            "pids_limit",
            "oom_score_adj",
        ],
        accepted: "sizes `64m`/`1g`/bytes, CPUs `0.5`, integers → `HostConfig.ShmSize`, `Memory`, \
                   `MemoryReservation`, `NanoCpus`, `PidsLimit`, `OomScoreAdj`",
    },
    FieldRow {
        names: &["cap_add", "cap_drop", "security_opt", "dns", "dns_search", "group_add"],
        accepted: "lists → the `HostConfig` fields of the same names",
    },
    FieldRow {
        names: &["extra_hosts"],
        accepted: "list of `HOST:ADDRESS` (or `HOST=ADDRESS`), or a map → `HostConfig.ExtraHosts`",
    },
    FieldRow {
        names: &["sysctls"],
        accepted: "map or `KEY=VALUE` list → `HostConfig.Sysctls`",
    },
    FieldRow {
        names: &["ulimits"],
        accepted: "`NAME: LIMIT` or `NAME: {soft, hard}` → `HostConfig.Ulimits`",
    },
    FieldRow {
        names: &["tmpfs"],
        accepted: "a path or list of `PATH[:OPTIONS]` → `HostConfig.Tmpfs`",
    },
    FieldRow {
        names: &["links"],
        accepted: "`SERVICE[:ALIAS]` → the network endpoint's `Links`; the linked service becomes a dependency, as in Compose",
    },
    FieldRow {
        names: &["ipc", "pid", "cgroup_parent", "runtime", "userns_mode"],
        accepted: "strings → `HostConfig.IpcMode`, `PidMode`, `CgroupParent`, `Runtime`, `UsernsMode`; \
                   `ipc`/`pid: service:NAME` share that service's container's namespace (a dependency)",
    },
    FieldRow {
        names: &["logging"],
        accepted: "`{driver, options}` → `HostConfig.LogConfig`",
    },
    FieldRow {
        names: &["deploy"],
        accepted: "without Swarm, as Compose v2: `resources.limits.{memory,cpus,pids}`, \
                   `resources.reservations.{memory,devices}`, `restart_policy` (when `restart` is unset); \
                   the rest (`replicas`, `mode`, `placement`…) is named in a warning and ignored",
    },
    FieldRow {
        names: &["develop", "platform"],
        accepted: "accepted and ignored with a one-line warning (no file watching; the engine runs the image it has)",
    },
    FieldRow {
        names: &["extends"],
        accepted: "`SERVICE` (same file) or `{service, file}` (`file` relative to this file): the service is \
                   merged on the one it extends, chains followed, as Compose v2 merges `-f` files; `!reset` and \
                   `!override` drop what the base sets",
    },
    FieldRow {
        names: &["x-flowinfra"],
        accepted: "what flowinfra provisions, below",
    },
];

/// Valid Compose service fields that flowinfra does not implement: named as
/// such rather than as typos.
pub const UNSUPPORTED_COMPOSE_SERVICE_FIELDS: &[&str] = &[
    "cpu_count",
    "cpu_percent",
    "credential_spec",
    "isolation",
    "models",
    "provider",
    "use_api_socket",
];

/// Why flowinfra leaves out an unsupported Compose field, when there is more to say.
pub fn unsupported_reason(field: &str) -> Option<&'static str> {
    Some(match field {
        "cpu_count" | "cpu_percent" | "credential_spec" | "isolation" => "it applies to Windows containers only",
        "provider" | "models" => "flowinfra runs containers only, not providers or models",
        "use_api_socket" => "flowinfra does not hand the engine's socket or credentials to containers",
        _ => return None,
    })
}

/// Every field name of `table`, in table order.
pub fn names(table: &[FieldRow]) -> Vec<&'static str> {
    table.iter().flat_map(|row| row.names.iter().copied()).collect()
}

/// `table` as the Markdown table the README shows.
pub fn markdown(table: &[FieldRow], second_column: &str) -> String {
    let mut text = format!("| field | {second_column} |\n| --- | --- |\n");
    for row in table {
        let names: Vec<String> = row.names.iter().map(|name| format!("`{name}`")).collect();
        text.push_str(&format!("| {} | {} |\n", names.join(", "), row.accepted));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Markdown table that follows `heading` in the README.
    fn readme_table(heading: &str) -> String {
        let readme = include_str!("../../README.md");
        let section = readme
            .split_once(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("README has a `{heading}` section"))
            .1;
        section
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    #[test]
    fn readme_service_field_table_is_the_validated_table() {
        let expected = markdown(SERVICE, "accepted forms");
        assert!(
            readme_table("### Services") == expected,
            "README.md's `### Services` table differs from spec::fields::SERVICE; it should read:\n{expected}"
        );
    }

    #[test]
    fn readme_top_level_field_table_is_the_validated_table() {
        let expected = markdown(TOP_LEVEL, "meaning");
        assert!(
            readme_table("### Top level") == expected,
            "README.md's `### Top level` table differs from spec::fields::TOP_LEVEL; it should read:\n{expected}"
        );
    }

    #[test]
    fn no_field_is_both_supported_and_unsupported() {
        let supported = names(SERVICE);
        for name in UNSUPPORTED_COMPOSE_SERVICE_FIELDS {
            assert!(!supported.contains(name), "`{name}` is in both lists");
        }
    }
}
