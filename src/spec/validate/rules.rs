//! Rules that involve several services: `depends_on` targets and cycles,
//! host ports published twice, container names used twice, and services
//! left out by `COMPOSE_PROFILES` that an active service depends on.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::error::{Diagnostic, hint_for};
use crate::spec::model::{Port, Service, VolumesFromKind};
use crate::spec::reader::Reader;
use crate::spec::yaml::{Key, Node};

/// Each service's key and mapping in the merged tree, for positions.
pub(super) type ServiceNodes<'n> = BTreeMap<String, (&'n Key, &'n Node)>;

pub(super) fn check_dependencies(r: &mut Reader, services: &BTreeMap<String, Service>, nodes: &ServiceNodes<'_>) {
    for service in services.values() {
        let Some((_, node)) = nodes.get(&service.name) else {
            continue;
        };
        let Some(depends_node) = node.get("depends_on") else {
            continue;
        };
        for (key, _) in depends_node.as_mapping().unwrap_or_default() {
            if key.name == service.name {
                r.error(&key.position, format!("service `{}` depends on itself", service.name));
            } else if !services.contains_key(&key.name) && !nodes.contains_key(&key.name) {
                let hint = hint_for(&key.name, services.keys().map(String::as_str), || {
                    format!(
                        "services are: {}",
                        services.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                });
                r.push(
                    Diagnostic::at(
                        &key.position,
                        format!("service `{}` depends on unknown service `{}`", service.name, key.name),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    for service in services.values() {
        for link in &service.runtime.links {
            let target = link.split_once(':').map_or(link.as_str(), |(target, _)| target);
            if !services.contains_key(target) && !nodes.contains_key(target) {
                let position = nodes
                    .get(&service.name)
                    .and_then(|(_, node)| node.get("links"))
                    .map(|n| n.position.clone());
                r.push(Diagnostic::new(
                    position,
                    format!("service `{}` links to unknown service `{target}`", service.name),
                ));
            }
        }
    }
    for service in services.values() {
        let shared = super::service::shared_namespace_services(service.network_mode.as_ref(), &service.runtime)
            .into_iter()
            .map(|target| (target, "shares the namespace of"));
        let volumes_from = service
            .runtime
            .volumes_from
            .iter()
            .filter(|from| from.kind == VolumesFromKind::Service)
            .map(|from| (from.name.clone(), "takes volumes from"));
        for (target, relation) in shared.chain(volumes_from) {
            let node = nodes.get(&service.name).map(|(_, node)| *node);
            let reference = format!("service:{target}");
            let position = node
                .and_then(|node| {
                    ["network_mode", "ipc", "pid"]
                        .into_iter()
                        .filter_map(|field| node.get(field))
                        .find(|n| n.as_scalar() == Some(reference.as_str()))
                        .or_else(|| node.get("volumes_from"))
                })
                .or(node)
                .map(|n| n.position.clone());
            if target == service.name {
                r.push(Diagnostic::new(
                    position,
                    format!("service `{}` {relation} itself", service.name),
                ));
            } else if !services.contains_key(&target) && !nodes.contains_key(&target) {
                let hint = hint_for(&target, services.keys().map(String::as_str), || {
                    "write `container:NAME` for a container outside the spec".to_string()
                });
                r.push(
                    Diagnostic::new(
                        position,
                        format!("service `{}` {relation} unknown service `{target}`", service.name),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    if let Some(cycle) = find_cycle(services) {
        let first = &cycle[0];
        let position = nodes
            .get(first)
            .and_then(|(_, node)| node.get("depends_on"))
            .map(|n| n.position.clone())
            .or_else(|| nodes.get(first).map(|(key, _)| key.position.clone()));
        r.push(
            Diagnostic::new(position, format!("dependency cycle: {}", cycle.join(" → ")))
                .with_hint("remove one of these depends_on entries"),
        );
    }
}

/// Host ports published twice. Within one service that is an error (it
/// can never start); across services it is a warning, as Compose accepts
/// the file: such services usually sit in different profiles, and `up`
/// refuses only when it would start both ([`host_port_clashes`]).
pub(super) fn check_port_clashes(r: &mut Reader, services: &BTreeMap<String, Service>, nodes: &ServiceNodes<'_>) {
    for clash in host_port_clashes(services.values()) {
        if clash.first == clash.second {
            let position = nodes
                .get(&clash.second)
                .and_then(|(_, node)| node.get("ports"))
                .map(|n| n.position.clone());
            r.push(
                Diagnostic::new(position, clash.to_string())
                    .with_hint("give one of them another host port (e.g. through its port variable in .env)"),
            );
        } else {
            r.warn(format!("{clash}; `up` refuses to start both"));
        }
    }
}

/// Two services (or one, twice) publishing the same host port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortClash {
    pub first: String,
    pub second: String,
    pub host_port: u16,
    pub protocol: &'static str,
}

impl std::fmt::Display for PortClash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.second {
            write!(
                f,
                "service `{}` publishes host port {}/{} twice",
                self.first, self.host_port, self.protocol
            )
        } else {
            write!(
                f,
                "services `{}` and `{}` both publish host port {}/{}",
                self.first, self.second, self.host_port, self.protocol
            )
        }
    }
}

/// Every host port published twice among `services`, once per pair.
pub fn host_port_clashes<'s>(services: impl IntoIterator<Item = &'s Service>) -> Vec<PortClash> {
    let mut clashes: Vec<PortClash> = Vec::new();
    let mut seen: Vec<(&str, &Port)> = Vec::new();
    for service in services {
        for port in &service.ports {
            let Some(host_port) = port.host_port else {
                continue;
            };
            if let Some((other, _)) = seen.iter().find(|(_, p)| {
                p.host_port == Some(host_port)
                    && p.protocol == port.protocol
                    && host_ips_overlap(&p.host_ip, &port.host_ip)
            }) {
                let clash = PortClash {
                    first: other.to_string(),
                    second: service.name.clone(),
                    host_port,
                    protocol: port.protocol.as_str(),
                };
                // One report per pair and port (a range or two addresses would repeat it).
                if !clashes.contains(&clash) {
                    clashes.push(clash);
                }
            } else {
                seen.push((&service.name, port));
            }
        }
    }
    clashes
}

pub(super) fn check_container_name_clashes(
    r: &mut Reader,
    services: &BTreeMap<String, Service>,
    nodes: &ServiceNodes<'_>,
) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for service in services.values() {
        let Some(name) = &service.container_name else {
            continue;
        };
        if let Some(other) = seen.insert(name, &service.name) {
            let position = nodes
                .get(&service.name)
                .and_then(|(_, node)| node.get("container_name"))
                .map(|n| n.position.clone());
            r.push(Diagnostic::new(
                position,
                format!(
                    "services `{other}` and `{}` both use container_name `{name}`",
                    service.name
                ),
            ));
        }
    }
}

fn host_ips_overlap(a: &str, b: &str) -> bool {
    a == b || a == "0.0.0.0" || b == "0.0.0.0" || a == "::" || b == "::"
}

/// The first dependency cycle found, as a path that returns to its start.
fn find_cycle(services: &BTreeMap<String, Service>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        name: &str,
        services: &BTreeMap<String, Service>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(name) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|s| s == name).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(name.to_string(), Mark::Visiting);
        stack.push(name.to_string());
        if let Some(service) = services.get(name) {
            for dependency in service.depends_on.keys().filter(|d| *d != name) {
                if let Some(cycle) = visit(dependency, services, marks, stack) {
                    return Some(cycle);
                }
            }
        }
        stack.pop();
        marks.insert(name.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for name in services.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(name, services, &mut marks, &mut stack) {
            return Some(cycle);
        }
    }
    None
}

/// Services whose profiles are all inactive are left out; an active service may not depend on one.
pub(super) fn drop_inactive_profiles(
    r: &mut Reader,
    services: &mut BTreeMap<String, Service>,
    nodes: &ServiceNodes<'_>,
    active: &BTreeSet<String>,
) {
    let inactive: Vec<String> = services
        .values()
        .filter(|service| !service.profiles.is_empty() && !service.profiles.iter().any(|p| active.contains(p)))
        .map(|service| service.name.clone())
        .collect();
    for service in services.values() {
        if inactive.contains(&service.name) {
            continue;
        }
        for dependency in service.depends_on.keys().filter(|d| inactive.contains(d)) {
            if let Some((_, node)) = nodes.get(&service.name) {
                let position = node.get("depends_on").map_or(&node.position, |n| &n.position);
                r.push(
                    Diagnostic::at(
                        position,
                        format!(
                            "service `{}` depends on `{dependency}`, which no active profile enables",
                            service.name
                        ),
                    )
                    .with_hint("enable its profile with COMPOSE_PROFILES"),
                );
            }
        }
    }
    for name in inactive {
        services.remove(&name);
    }
}
