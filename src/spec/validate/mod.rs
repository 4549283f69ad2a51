//! Turns the merged YAML tree into the typed [`Spec`], collecting every
//! problem with its position instead of stopping at the first.
//!
//! This module reads the top level (project name, volumes, networks) and
//! drives the rest: [`service`] reads one service's Compose fields,
//! [`super::kinds`] its `x-flowinfra` settings, and [`rules`] checks what
//! involves several services (dependency targets and cycles, host port
//! clashes, container names, profiles). Unknown fields are errors (with a
//! "did you mean"), never ignored, so nothing reaches Docker unvalidated.

mod files;
mod rules;
mod runtime;
mod service;
mod shared;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::error::Diagnostic;
use super::fields;
use super::interpolate::VariableSource;
use super::model::*;
use super::reader::{Fields, Reader};
use super::syntax::normalize_project_name;
use super::yaml::{Node, Position, Value};

pub use rules::{PortClash, host_port_clashes};
pub(crate) use values::{read_duration, read_existing_dir};

const VOLUME_FIELDS: &[&str] = &["name", "external", "driver", "labels", "driver_opts"];
const NETWORK_FIELDS: &[&str] = &[
    "name",
    "external",
    "driver",
    "labels",
    "internal",
    "enable_ipv6",
    "attachable",
    "driver_opts",
    "ipam",
];
const SECRET_FIELDS: &[&str] = &[
    "name",
    "file",
    "environment",
    "external",
    "labels",
    "driver",
    "driver_opts",
    "template_driver",
];
const CONFIG_FIELDS: &[&str] = &[
    "name",
    "file",
    "environment",
    "content",
    "external",
    "labels",
    "template_driver",
];

/// Inputs validation needs besides the tree.
pub struct Context<'a> {
    pub project_name: Option<&'a str>,
    pub project_dir: &'a Path,
    pub variables: &'a dyn VariableSource,
    /// Profiles enabled through `COMPOSE_PROFILES`.
    pub active_profiles: BTreeSet<String>,
    /// Where a value used an unset variable (which became blank).
    pub blanked_values: Vec<Position>,
}

/// The typed spec and its warnings, or every error found.
pub fn validate(root: &Node, context: &Context<'_>) -> Result<(Spec, Vec<String>), Vec<Diagnostic>> {
    let mut reader = Reader::new();
    let spec = read_spec(&mut reader, root, context);
    let warnings = reader.take_warnings();
    reader.finish(spec).map(|spec| (spec, warnings))
}

fn read_spec(r: &mut Reader, root: &Node, context: &Context<'_>) -> Spec {
    let empty = Node::new(Value::Null, root.position.clone());
    let entries = r.mapping(root, "the spec").unwrap_or_default();
    if let Some(first) = compose_v1_services(root, entries) {
        r.push(
            Diagnostic::at(
                &first.position,
                format!(
                    "this is a Compose file format v1 file: services such as `{}` sit at the top level, \
                     with no `services:` key; Compose v2 and flowinfra read only the Compose Specification",
                    first.name
                ),
            )
            .with_hint(
                "convert it: put every service under a top-level `services:` key (indent them one level), \
                 and replace `links` with the service names, which every service on the network can reach",
            ),
        );
        return empty_spec(context, root, r);
    }
    let top_level = fields::names(fields::TOP_LEVEL);
    r.check_keys(entries, &Fields::new("top-level", &top_level).with_extensions());

    let name = project_name(r, root, context);
    let volumes = match root.get("volumes") {
        Some(node) => named_objects(r, node, &name, "volume", VOLUME_FIELDS)
            .into_iter()
            .map(|(key, (name, external, labels, driver))| {
                let volume = &node.get(&key).expect("a declared volume");
                let driver_opts = volume
                    .get("driver_opts")
                    .map(|n| r.string_map(n, "volume driver option"))
                    .unwrap_or_default();
                let spec = VolumeSpec {
                    name,
                    external,
                    labels,
                    driver,
                    driver_opts,
                };
                (key, spec)
            })
            .collect(),
        None => BTreeMap::new(),
    };
    let mut networks: BTreeMap<String, NetworkSpec> = match root.get("networks") {
        Some(node) => named_objects(r, node, &name, "network", NETWORK_FIELDS)
            .into_iter()
            .map(|(key, (name, external, labels, driver))| {
                let network = &node.get(&key).expect("a declared network");
                let flag = |r: &mut Reader, field: &str| {
                    network
                        .get(field)
                        .and_then(|n| r.bool(n, &format!("`{field}`")))
                        .unwrap_or(false)
                };
                let spec = NetworkSpec {
                    name,
                    external,
                    labels,
                    internal: flag(r, "internal"),
                    enable_ipv6: flag(r, "enable_ipv6"),
                    attachable: flag(r, "attachable"),
                    driver_opts: network
                        .get("driver_opts")
                        .map(|n| r.string_map(n, "network driver option"))
                        .unwrap_or_default(),
                    driver,
                    ipam: network.get("ipam").and_then(|n| ipam(r, n)),
                };
                (key, spec)
            })
            .collect(),
        None => BTreeMap::new(),
    };
    networks.entry("default".into()).or_insert_with(|| NetworkSpec {
        name: format!("{name}_default"),
        external: false,
        labels: BTreeMap::new(),
        internal: false,
        enable_ipv6: false,
        attachable: false,
        driver_opts: BTreeMap::new(),
        driver: None,
        ipam: None,
    });
    let secrets = root
        .get("secrets")
        .map(|node| file_objects(r, node, context, "secret", SECRET_FIELDS))
        .unwrap_or_default();
    let configs = root
        .get("configs")
        .map(|node| file_objects(r, node, context, "config", CONFIG_FIELDS))
        .unwrap_or_default();

    let services_node = root.get("services").unwrap_or(&empty);
    let mut services = BTreeMap::new();
    let mut service_nodes = BTreeMap::new();
    let first = r.diagnostic_count();
    let mut starts = Vec::new();
    match r.mapping(services_node, "`services`") {
        Some([]) => r.push(
            Diagnostic::at(&services_node.position, "the spec declares no services")
                .with_hint("add a `services:` mapping with at least one service"),
        ),
        Some(entries) => {
            let declared = service::Declared {
                project: &name,
                volumes: &volumes,
                networks: &networks,
                secrets: &secrets,
                configs: &configs,
            };
            for (key, node) in entries {
                // Every declared service is a node, even one dropped for a bad
                // value: its dependents then report nothing more about it.
                service_nodes.insert(key.name.clone(), (key, node));
                starts.push((r.diagnostic_count(), key));
                if let Some(service) = service::read_service(r, context, &declared, key, node) {
                    services.insert(key.name.clone(), service);
                }
            }
        }
        None => {}
    }
    let rules_start = r.diagnostic_count();
    rules::check_dependencies(r, &services, &service_nodes);
    // Only services that run together can clash: a service no active profile
    // enables takes no host port and no container name.
    rules::drop_inactive_profiles(r, &mut services, &service_nodes, &context.active_profiles);
    rules::check_port_clashes(r, &services, &service_nodes);
    rules::check_container_name_clashes(r, &services, &service_nodes);
    // A value several services share (a YAML anchor, an extended service) is
    // wrong once, where it is written: say it once.
    let found = r.take_diagnostics_from(first);
    shared::say_once(found, first, &starts, rules_start, &service_nodes)
        .into_iter()
        .for_each(|diagnostic| r.push(diagnostic));

    Spec {
        name,
        project_dir: context.project_dir.to_path_buf(),
        files: Vec::new(),
        services,
        volumes,
        networks,
        secrets,
        configs,
    }
}

/// The first top-level key of a Compose format v1 file (services at the top
/// level: no `services:`, and a top-level mapping with `image` or `build`).
fn compose_v1_services<'n>(root: &Node, entries: &'n [(super::yaml::Key, Node)]) -> Option<&'n super::yaml::Key> {
    if root.get("services").is_some() {
        return None;
    }
    entries
        .iter()
        .find(|(key, value)| {
            !key.name.starts_with("x-") && (value.get("image").is_some() || value.get("build").is_some())
        })
        .map(|(key, _)| key)
}

fn empty_spec(context: &Context<'_>, root: &Node, r: &mut Reader) -> Spec {
    Spec {
        name: project_name(r, root, context),
        project_dir: context.project_dir.to_path_buf(),
        files: Vec::new(),
        services: BTreeMap::new(),
        volumes: BTreeMap::new(),
        networks: BTreeMap::new(),
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
    }
}

fn project_name(r: &mut Reader, root: &Node, context: &Context<'_>) -> String {
    if let Some(name) = context.project_name {
        return checked_project_name(r, name, None, "given with -p");
    }
    if let Some(name) = context.variables.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
        return checked_project_name(r, name, None, "in COMPOSE_PROJECT_NAME");
    }
    if let Some(node) = root.get("name")
        && let Some(text) = r.string(node, "`name`")
    {
        return checked_project_name(r, &text, Some(&node.position), "");
    }
    let directory = context
        .project_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("flowinfra");
    normalize_project_name(directory).unwrap_or_else(|| "flowinfra".into())
}

/// A project name as given: it must already be in Compose's form, so
/// the name the user wrote is the name the engine sees.
fn checked_project_name(r: &mut Reader, name: &str, position: Option<&Position>, source: &str) -> String {
    match normalize_project_name(name) {
        Some(normalized) if normalized == name => normalized,
        _ => {
            let source = if source.is_empty() {
                String::new()
            } else {
                format!(" {source}")
            };
            r.push(
                Diagnostic::new(position.cloned(), format!("invalid project name `{name}`{source}"))
                    .with_hint("use lowercase letters, digits, `-` and `_`, starting with a letter or digit"),
            );
            "invalid".into()
        }
    }
}

/// Top-level `volumes` and `networks` share one shape: an engine-side
/// name (`<project>_<key>` unless `name:` or `external` says otherwise),
/// `external`, a driver (passed to the engine as written, as Compose does:
/// one the engine lacks fails at `up`, where the engine names it), labels.
#[allow(clippy::type_complexity)]
fn named_objects(
    r: &mut Reader,
    node: &Node,
    project: &str,
    what: &str,
    allowed: &[&str],
) -> BTreeMap<String, (String, bool, BTreeMap<String, String>, Option<String>)> {
    let mut objects = BTreeMap::new();
    let Some(entries) = r.mapping(node, &format!("`{what}s`")) else {
        return objects;
    };
    for (key, value) in entries {
        let entry_fields = r.mapping(value, &format!("{what} `{}`", key.name)).unwrap_or_default();
        r.check_keys(entry_fields, &Fields::new(what, allowed).with_extensions());
        let external = value
            .get("external")
            .and_then(|n| r.bool(n, "`external`"))
            .unwrap_or(false);
        let name = value
            .get("name")
            .and_then(|n| r.non_empty_string(n, &format!("{what} `name`")))
            .unwrap_or_else(|| {
                if external {
                    key.name.clone()
                } else {
                    format!("{project}_{}", key.name)
                }
            });
        let driver = value
            .get("driver")
            .and_then(|n| r.string(n, "`driver`"))
            .filter(|driver| !driver.is_empty());
        let labels = value
            .get("labels")
            .map(|n| r.string_map(n, &format!("{what} label")))
            .unwrap_or_default();
        objects.insert(key.name.clone(), (name, external, labels, driver));
    }
    objects
}

/// A network's `ipam`: `{driver, config: [{subnet, ip_range, gateway, aux_addresses}], options}`.
fn ipam(r: &mut Reader, node: &Node) -> Option<Ipam> {
    let entries = r.mapping(node, "`ipam`")?;
    r.check_keys(
        entries,
        &Fields::new("ipam", &["driver", "config", "options"]).with_extensions(),
    );
    let mut ipam = Ipam {
        driver: node.get("driver").and_then(|n| r.non_empty_string(n, "`ipam.driver`")),
        options: node
            .get("options")
            .map(|n| r.string_map(n, "ipam option"))
            .unwrap_or_default(),
        config: Vec::new(),
    };
    if let Some(config) = node.get("config") {
        for pool in r.list(config, "`ipam.config`") {
            let Some(fields) = r.mapping(pool, "an `ipam.config` entry") else {
                continue;
            };
            r.check_keys(
                fields,
                &Fields::new("ipam config", &["subnet", "ip_range", "gateway", "aux_addresses"]),
            );
            let text = |r: &mut Reader, field: &str| {
                pool.get(field)
                    .and_then(|n| r.non_empty_string(n, &format!("`{field}`")))
            };
            ipam.config.push(IpamPool {
                subnet: text(r, "subnet"),
                ip_range: text(r, "ip_range"),
                gateway: text(r, "gateway"),
                aux_addresses: pool
                    .get("aux_addresses")
                    .map(|n| r.string_map(n, "aux address"))
                    .unwrap_or_default(),
            });
        }
    }
    Some(ipam)
}

/// Top-level `secrets` or `configs` (`what`): each from a `file` (a path
/// relative to the file naming it), an `environment` variable, inline
/// `content` (configs), or `external`. Swarm-only settings (`driver`,
/// `template_driver`) are refused when set, as Compose refuses them without
/// Swarm.
fn file_objects(
    r: &mut Reader,
    node: &Node,
    context: &Context<'_>,
    what: &str,
    allowed: &[&str],
) -> BTreeMap<String, FileObject> {
    let mut objects = BTreeMap::new();
    let Some(entries) = r.mapping(node, &format!("`{what}s`")) else {
        return objects;
    };
    for (key, value) in entries {
        let Some(fields) = r.mapping(value, &format!("{what} `{}`", key.name)) else {
            continue;
        };
        r.check_keys(fields, &Fields::new(what, allowed).with_extensions());
        for swarm_only in ["driver", "template_driver"] {
            if let Some(n) = value.get(swarm_only) {
                r.push(
                    Diagnostic::at(
                        &n.position,
                        format!("{what} `{}`: `{swarm_only}` needs Swarm", key.name),
                    )
                    .with_hint(format!(
                        "Compose without Swarm refuses it too; remove it and give the {what} a `file:` source"
                    )),
                );
            }
        }
        let text = |r: &mut Reader, field: &str| value.get(field).and_then(|n| r.string(n, &format!("`{field}`")));
        let file = value
            .get("file")
            .and_then(|n| values::read_path(r, n, &format!("{what} `file`"), context.project_dir));
        let environment = text(r, "environment").filter(|variable| !variable.is_empty());
        let content = text(r, "content");
        let external = value
            .get("external")
            .and_then(|n| r.bool(n, "`external`"))
            .unwrap_or(false);
        let sources = [file.is_some(), environment.is_some(), content.is_some(), external];
        match sources.iter().filter(|set| **set).count() {
            1 => {}
            0 => r.push(
                Diagnostic::at(&key.position, format!("{what} `{}` has no source", key.name))
                    .with_hint("give it `file: PATH` (or `environment: VARIABLE`)"),
            ),
            _ => r.push(
                Diagnostic::at(&key.position, format!("{what} `{}` has more than one source", key.name))
                    .with_hint("keep one of `file`, `environment`, `content`, `external`"),
            ),
        }
        if let Some(path) = &file
            && !path.exists()
        {
            // Compose warns and lets `up` fail on the mount; the warning names the file.
            r.warn(format!(
                "{what} `{}`: file {} does not exist; `up` cannot mount it",
                key.name,
                path.display()
            ));
        }
        let environment_value = environment
            .as_deref()
            .and_then(|variable| context.variables.get(variable))
            .map(str::to_string);
        objects.insert(
            key.name.clone(),
            FileObject {
                name: value.get("name").and_then(|n| r.non_empty_string(n, "`name`")),
                file,
                environment,
                content,
                external,
                labels: value
                    .get("labels")
                    .map(|n| r.string_map(n, &format!("{what} label")))
                    .unwrap_or_default(),
                environment_value,
            },
        );
    }
    objects
}
