//! Merging several spec files the way Docker Compose merges `-f` files.
//!
//! Mappings merge key by key and later files win; `command`, `entrypoint`,
//! `healthcheck.test` and each ulimit replace; a service's other lists
//! append, as in Compose v2, those compose-go keeps unique once per key
//! (`ports` by published port, `volumes` and `devices` by target, `secrets`
//! and `configs` by mount path, `cap_add`, `dns`, `tmpfs`, `expose`,
//! `env_file`… by value or `NAME`); `logging` merges only for the same
//! driver. List forms of `environment`, `labels`, `depends_on`, `build.args`
//! and service `networks` are first normalised to mappings so that they
//! merge entry by entry. Inside `x-flowinfra`, lists (queues, buckets, …)
//! replace rather than append, so an override file states the whole list.
//!
//! Compose's merge tags work here as in Compose v2: a value tagged `!reset`
//! or `!override` removes what the files before (or the extended service)
//! set at its place; `!reset` then sets nothing, `!override` its own value
//! whole. [`take_merge_tags`] takes them off one file's tree and
//! [`remove_paths`] applies them. `extends` merges a service on its base
//! with the same rules ([`merge_service`]).

use super::yaml::{Key, MergeTag, Node, Position, Value};

/// A place in a spec tree: the mapping keys leading to it.
pub type TreePath = Vec<String>;

/// What [`take_merge_tags`] found in one file.
#[derive(Debug, Default)]
pub struct MergeTags {
    /// Where `!reset` or `!override` was written: what earlier files set
    /// there is dropped before this file is merged on them.
    pub paths: Vec<TreePath>,
    /// `!reset` written with a value, which Compose drops with the rest.
    pub reset_values: Vec<(TreePath, Position)>,
}

/// Takes the merge tags off `root`: records where each is, removes the
/// values tagged `!reset` (a `!reset` list item is removed from its list
/// only, as Compose does), and leaves `!override` values as they are.
pub fn take_merge_tags(root: &mut Node) -> MergeTags {
    let mut tags = MergeTags::default();
    let mut path = Vec::new();
    take_tags(root, &mut path, &mut tags);
    tags
}

fn take_tags(node: &mut Node, path: &mut TreePath, tags: &mut MergeTags) {
    match &mut node.value {
        Value::Mapping(entries) => {
            entries.retain_mut(|(key, value)| {
                path.push(key.name.clone());
                let keep = match value.tag {
                    MergeTag::Reset => {
                        tags.paths.push(path.clone());
                        if !is_empty_value(value) {
                            tags.reset_values.push((path.clone(), value.position.clone()));
                        }
                        false
                    }
                    MergeTag::Override => {
                        tags.paths.push(path.clone());
                        value.tag = MergeTag::None;
                        take_tags(value, path, tags);
                        true
                    }
                    MergeTag::None => {
                        take_tags(value, path, tags);
                        true
                    }
                };
                path.pop();
                keep
            });
        }
        Value::Sequence(items) => {
            items.retain(|item| item.tag != MergeTag::Reset);
            for item in items.iter_mut() {
                item.tag = MergeTag::None;
                // Inside a list, tags act on this file's own values only: a
                // path without the item's place would hit the wrong value.
                let mut inner = MergeTags::default();
                take_tags(item, path, &mut inner);
                tags.reset_values.extend(inner.reset_values);
            }
        }
        Value::Null | Value::Scalar { .. } => {}
    }
}

fn is_empty_value(node: &Node) -> bool {
    match &node.value {
        Value::Null => true,
        Value::Sequence(items) => items.is_empty(),
        Value::Mapping(entries) => entries.is_empty(),
        Value::Scalar { .. } => false,
    }
}

/// Removes what `root` holds at each of `paths` (paths that lead nowhere are ignored).
pub fn remove_paths(root: &mut Node, paths: &[TreePath]) {
    for path in paths {
        remove_path(root, path);
    }
}

fn remove_path(node: &mut Node, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Value::Mapping(entries) = &mut node.value else {
        return;
    };
    if rest.is_empty() {
        entries.retain(|(key, _)| &key.name != first);
    } else if let Some((_, child)) = entries.iter_mut().find(|(key, _)| &key.name == first) {
        remove_path(child, rest);
    }
}

/// Merges the service `over` (named `name`) on `base`, as `extends` does:
/// by the rules files merge with, `over` winning. The result keeps `over`'s position.
pub fn merge_service(base: Node, over: Node, name: &str) -> Node {
    let position = over.position.clone();
    let mut merged = merge(base, over, &["services", name]);
    merged.position = position;
    merged
}

/// Whether two trees hold the same values, wherever they were written.
pub fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Scalar { text: x, .. }, Value::Scalar { text: y, .. }) => x == y,
        (Value::Sequence(x), Value::Sequence(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Mapping(x), Value::Mapping(y)) => {
            x.len() == y.len()
                && x.iter().all(|(key, value)| {
                    y.iter()
                        .find(|(other, _)| other.name == key.name)
                        .is_some_and(|(_, other)| same_value(value, other))
                })
        }
        _ => false,
    }
}

/// Merges `over` on top of `base` (both whole spec files, already interpolated).
pub fn merge_files(base: Node, over: Node) -> Node {
    merge(base, over, &[])
}

/// Rewrites the list forms Compose accepts into mappings, in one file's tree,
/// so that merging and validation see one shape.
pub fn normalize_file(mut root: Node) -> Node {
    if let Value::Mapping(entries) = &mut root.value {
        for (key, services) in entries.iter_mut() {
            if key.name != "services" {
                continue;
            }
            if let Value::Mapping(services) = &mut services.value {
                for (_, service) in services.iter_mut() {
                    normalize_service(service);
                }
            }
        }
    }
    root
}

fn normalize_service(service: &mut Node) {
    let Value::Mapping(fields) = &mut service.value else {
        return;
    };
    for (key, value) in fields.iter_mut() {
        match key.name.as_str() {
            "environment" | "labels" => list_of_assignments_to_mapping(value),
            "depends_on" | "networks" => list_of_names_to_mapping(value),
            "build" => {
                if let Value::Scalar { .. } = value.value {
                    let context = value.clone();
                    let key = Key {
                        name: "context".into(),
                        position: value.position.clone(),
                    };
                    value.value = Value::Mapping(vec![(key, context)]);
                }
                if let Value::Mapping(build) = &mut value.value {
                    for (key, args) in build.iter_mut() {
                        if key.name == "args" {
                            list_of_assignments_to_mapping(args);
                        }
                    }
                }
            }
            // Fields that take a string or a list are lists, so that they merge as lists.
            "env_file" | "profiles" | "dns" | "dns_search" | "tmpfs" | "label_file" => {
                if let Value::Scalar { .. } = value.value {
                    value.value = Value::Sequence(vec![value.clone()]);
                }
            }
            _ => {}
        }
    }
}

/// `["A=1", "B"]` → `{A: "1", B: null}` (a bare name takes its value from the environment in Compose; here it stays unset).
fn list_of_assignments_to_mapping(node: &mut Node) {
    let Value::Sequence(items) = &node.value else {
        return;
    };
    if !items.iter().all(|item| item.as_scalar().is_some()) {
        return;
    }
    let entries = items
        .iter()
        .map(|item| {
            let text = item.as_scalar().unwrap_or_default();
            let (name, value) = match text.split_once('=') {
                Some((name, value)) => (
                    name,
                    Value::Scalar {
                        text: value.to_string(),
                        quoted: true,
                    },
                ),
                None => (text, Value::Null),
            };
            (
                Key {
                    name: name.to_string(),
                    position: item.position.clone(),
                },
                Node::new(value, item.position.clone()),
            )
        })
        .collect();
    node.value = Value::Mapping(entries);
}

/// `["db", "cache"]` → `{db: null, cache: null}`.
fn list_of_names_to_mapping(node: &mut Node) {
    let Value::Sequence(items) = &node.value else {
        return;
    };
    if !items.iter().all(|item| item.as_scalar().is_some()) {
        return;
    }
    let entries = items
        .iter()
        .map(|item| {
            let key = Key {
                name: item.as_scalar().unwrap_or_default().to_string(),
                position: item.position.clone(),
            };
            (key, Node::new(Value::Null, item.position.clone()))
        })
        .collect();
    node.value = Value::Mapping(entries);
}

fn merge(base: Node, over: Node, path: &[&str]) -> Node {
    if replaces_whole(path) || other_logging_driver(&base, &over, path) {
        return over;
    }
    match (base.value, over.value) {
        (Value::Mapping(mut base_entries), Value::Mapping(over_entries)) => {
            for (key, value) in over_entries {
                match base_entries.iter().position(|(k, _)| k.name == key.name) {
                    Some(index) => {
                        let (_, existing) = base_entries.remove(index);
                        let mut child_path = path.to_vec();
                        child_path.push(key.name.as_str());
                        let merged = merge(existing, value, &child_path);
                        base_entries.insert(index, (key, merged));
                    }
                    None => base_entries.push((key, value)),
                }
            }
            Node::new(Value::Mapping(base_entries), base.position)
        }
        (Value::Sequence(base_items), Value::Sequence(over_items)) => {
            match sequence_key(path) {
                Some(key_of) => {
                    let mut items: Vec<Node> = base_items;
                    for item in over_items {
                        let key = key_of(&item);
                        match items
                            .iter()
                            .position(|existing| key.is_some() && key_of(existing) == key)
                        {
                            Some(index) => items[index] = item,
                            None => items.push(item),
                        }
                    }
                    Node::new(Value::Sequence(items), base.position)
                }
                // Any other list of a service appends, as in Compose (an
                // entry given twice is kept once); outside services, replaces.
                None if appends(path) => {
                    let mut items = base_items;
                    for item in over_items {
                        if !items.iter().any(|existing| existing.value == item.value) {
                            items.push(item);
                        }
                    }
                    Node::new(Value::Sequence(items), base.position)
                }
                None => Node::new(Value::Sequence(over_items), over.position),
            }
        }
        (_, over_value) => Node::new(over_value, over.position),
    }
}

fn is_service_field(path: &[&str], field: &str) -> bool {
    path.len() == 3 && path[0] == "services" && path[2] == field
}

fn replaces_whole(path: &[&str]) -> bool {
    is_service_field(path, "command")
        || is_service_field(path, "entrypoint")
        || (path.len() == 4 && path[0] == "services" && path[2] == "healthcheck" && path[3] == "test")
        // One ulimit is replaced whole, soft and hard together.
        || (path.len() == 4 && path[0] == "services" && path[2] == "ulimits")
        || (path.len() >= 4 && path[0] == "services" && path[2] == "x-flowinfra" && is_list_setting(path[3]))
}

fn is_list_setting(name: &str) -> bool {
    matches!(name, "exchanges" | "queues" | "bindings" | "buckets" | "databases")
}

/// Logging options merge only when both files name the same driver (or
/// one names none); another driver replaces the whole `logging`, as in Compose.
fn other_logging_driver(base: &Node, over: &Node, path: &[&str]) -> bool {
    let driver = |node: &Node| node.get("driver").and_then(Node::as_scalar).map(str::to_string);
    is_service_field(path, "logging") && matches!((driver(base), driver(over)), (Some(a), Some(b)) if a != b)
}

fn appends(path: &[&str]) -> bool {
    path.len() >= 3 && path[0] == "services" && path[2] != "x-flowinfra"
}

type SequenceKey = fn(&Node) -> Option<String>;

/// The lists whose entries Compose keeps once per key (compose-go's
/// unicity rules), and each entry's key: a later entry with the key of an
/// earlier one takes its place.
fn sequence_key(path: &[&str]) -> Option<SequenceKey> {
    let field = match path {
        ["services", _, field] => *field,
        ["services", _, "networks", _, "aliases"] => return Some(key_value_key),
        ["services", _, "build", "args" | "tags" | "labels" | "platforms"] => return Some(key_value_key),
        _ => return None,
    };
    Some(match field {
        "ports" => port_key,
        "volumes" => volume_key,
        "devices" => device_key,
        "env_file" | "label_file" => env_file_key,
        "secrets" => secret_key,
        "configs" => config_key,
        "expose" | "cap_add" | "cap_drop" | "dns" | "dns_opt" | "dns_search" | "links" | "tmpfs" | "profiles"
        | "sysctls" | "annotations" => key_value_key,
        _ => return None,
    })
}

/// `NAME=value` is keyed by `NAME`; any other text by itself.
fn key_value_key(node: &Node) -> Option<String> {
    let text = node.as_scalar()?;
    Some(text.split_once('=').map_or(text, |(name, _)| name).to_string())
}

/// Devices are the same entry when they map to the same container path.
fn device_key(node: &Node) -> Option<String> {
    match &node.value {
        Value::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            Some(parts.get(1).unwrap_or(&parts[0]).to_string())
        }
        Value::Mapping(_) => node.get("target").and_then(Node::as_scalar).map(str::to_string),
        _ => None,
    }
}

fn env_file_key(node: &Node) -> Option<String> {
    match &node.value {
        Value::Scalar { text, .. } => Some(text.clone()),
        Value::Mapping(_) => node.get("path").and_then(Node::as_scalar).map(str::to_string),
        _ => None,
    }
}

/// Secrets and configs are the same entry when they land at the same path.
fn mount_key(node: &Node, default_dir: &str) -> Option<String> {
    match &node.value {
        Value::Scalar { text, .. } => Some(format!("{default_dir}/{text}")),
        Value::Mapping(_) => match node.get("target").and_then(Node::as_scalar) {
            Some(target) => Some(target.to_string()),
            None => Some(format!(
                "{default_dir}/{}",
                node.get("source").and_then(Node::as_scalar).unwrap_or_default()
            )),
        },
        _ => None,
    }
}

fn secret_key(node: &Node) -> Option<String> {
    mount_key(node, "/run/secrets")
}

fn config_key(node: &Node) -> Option<String> {
    mount_key(node, "")
}

/// Ports are the same entry when they publish the same host address and port
/// for the same container port and protocol.
fn port_key(node: &Node) -> Option<String> {
    match &node.value {
        Value::Scalar { text, .. } => Some(text.clone()),
        Value::Mapping(_) => {
            let field = |name: &str| node.get(name).and_then(Node::as_scalar).unwrap_or("").to_string();
            let protocol = node.get("protocol").and_then(Node::as_scalar).unwrap_or("tcp");
            let target = field("target");
            let published = field("published");
            let host_ip = field("host_ip");
            Some(if published.is_empty() && host_ip.is_empty() {
                format!("{target}/{protocol}")
            } else if host_ip.is_empty() {
                format!("{published}:{target}/{protocol}")
            } else {
                format!("{host_ip}:{published}:{target}/{protocol}")
            })
        }
        _ => None,
    }
    .map(|key| key.trim_end_matches("/tcp").to_string())
}

/// Mounts are the same entry when they mount at the same target path.
fn volume_key(node: &Node) -> Option<String> {
    match &node.value {
        Value::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            Some(match parts.len() {
                1 => parts[0].to_string(),
                _ => parts[1].to_string(),
            })
        }
        Value::Mapping(_) => node.get("target").and_then(Node::as_scalar).map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::spec::yaml::parse;

    fn file(source: &str, name: &str) -> Node {
        normalize_file(parse(source, &Arc::from(Path::new(name))).unwrap())
    }

    fn merged(base: &str, over: &str) -> Node {
        merge_files(file(base, "base.yaml"), file(over, "over.yaml"))
    }

    fn scalars(node: &Node) -> Vec<String> {
        match &node.value {
            Value::Sequence(items) => items.iter().map(|i| i.as_scalar().unwrap_or("?").to_string()).collect(),
            _ => panic!("not a list: {node:?}"),
        }
    }

    #[test]
    fn mappings_merge_and_later_scalars_win() {
        let node = merged(
            "services:\n  db:\n    image: a\n    environment:\n      A: '1'\n      B: '2'\n",
            "services:\n  db:\n    image: b\n    environment:\n      B: '3'\n",
        );
        let db = node.get("services").unwrap().get("db").unwrap();
        assert_eq!(db.get("image").unwrap().as_scalar(), Some("b"));
        let env = db.get("environment").unwrap();
        assert_eq!(env.get("A").unwrap().as_scalar(), Some("1"));
        assert_eq!(env.get("B").unwrap().as_scalar(), Some("3"));
    }

    #[test]
    fn environment_list_and_mapping_forms_merge() {
        let node = merged(
            "services:\n  db:\n    environment:\n      - A=1\n      - B=2\n",
            "services:\n  db:\n    environment:\n      B: x\n",
        );
        let env = node
            .get("services")
            .unwrap()
            .get("db")
            .unwrap()
            .get("environment")
            .unwrap();
        assert_eq!(env.get("A").unwrap().as_scalar(), Some("1"));
        assert_eq!(env.get("B").unwrap().as_scalar(), Some("x"));
    }

    #[test]
    fn command_entrypoint_and_healthcheck_test_replace() {
        let node = merged(
            "services:\n  r:\n    command: [redis-server, --appendonly, 'yes']\n    entrypoint: [a, b]\n    healthcheck:\n      test: [CMD, a, b]\n      interval: 5s\n",
            "services:\n  r:\n    command: [redis-server]\n    entrypoint: [c]\n    healthcheck:\n      test: [CMD, c]\n",
        );
        let r = node.get("services").unwrap().get("r").unwrap();
        assert_eq!(scalars(r.get("command").unwrap()), ["redis-server"]);
        assert_eq!(scalars(r.get("entrypoint").unwrap()), ["c"]);
        let healthcheck = r.get("healthcheck").unwrap();
        assert_eq!(scalars(healthcheck.get("test").unwrap()), ["CMD", "c"]);
        assert_eq!(healthcheck.get("interval").unwrap().as_scalar(), Some("5s"));
    }

    #[test]
    fn ports_append_and_deduplicate() {
        let node = merged(
            "services:\n  s:\n    ports: ['127.0.0.1:80:80', '443:443']\n",
            "services:\n  s:\n    ports: ['443:443', '8080:8080']\n",
        );
        let ports = node.get("services").unwrap().get("s").unwrap().get("ports").unwrap();
        assert_eq!(scalars(ports), ["127.0.0.1:80:80", "443:443", "8080:8080"]);
    }

    #[test]
    fn volumes_deduplicate_by_target_and_later_wins() {
        let node = merged(
            "services:\n  s:\n    volumes: ['data:/var/lib/mysql', './init:/init:ro']\n",
            "services:\n  s:\n    volumes: ['other:/var/lib/mysql']\n",
        );
        let volumes = node.get("services").unwrap().get("s").unwrap().get("volumes").unwrap();
        assert_eq!(scalars(volumes), ["other:/var/lib/mysql", "./init:/init:ro"]);
    }

    #[test]
    fn secrets_devices_and_runtime_lists_merge_as_compose_merges_them() {
        let base = file(
            "services:\n  app:\n    secrets: [a, {source: b, target: /etc/b}]\n    cap_add: [NET_ADMIN]\n    \
             devices: ['/dev/zero:/dev/z']\n",
            "base.yaml",
        );
        let over = file(
            "services:\n  app:\n    secrets: [{source: c, target: /run/secrets/a}, d]\n    cap_add: [SYS_TIME, NET_ADMIN]\n    \
             devices: ['/dev/null:/dev/z:r']\n",
            "over.yaml",
        );
        let merged = merge_files(base, over);
        let app = merged.get("services").unwrap().get("app").unwrap();
        let texts = |field: &str| -> Vec<String> {
            match &app.get(field).unwrap().value {
                Value::Sequence(items) => items
                    .iter()
                    .map(|item| match &item.value {
                        Value::Scalar { text, .. } => text.clone(),
                        _ => item.get("source").and_then(Node::as_scalar).unwrap_or("?").to_string(),
                    })
                    .collect(),
                _ => panic!("{field} is a list"),
            }
        };
        // `c` lands where `a` did and replaces it; `d` is added.
        assert_eq!(texts("secrets"), ["c", "b", "d"]);
        assert_eq!(texts("cap_add"), ["NET_ADMIN", "SYS_TIME"]);
        assert_eq!(texts("devices"), ["/dev/null:/dev/z:r"]);
    }

    #[test]
    fn depends_on_list_form_merges_with_mapping_form() {
        let node = merged(
            "services:\n  app:\n    depends_on: [db]\n",
            "services:\n  app:\n    depends_on:\n      cache:\n        condition: service_started\n",
        );
        let deps = node
            .get("services")
            .unwrap()
            .get("app")
            .unwrap()
            .get("depends_on")
            .unwrap();
        let names: Vec<&str> = deps
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, _)| k.name.as_str())
            .collect();
        assert_eq!(names, ["db", "cache"]);
    }

    #[test]
    fn flowinfra_lists_replace() {
        let node = merged(
            "services:\n  mq:\n    x-flowinfra:\n      kind: rabbitmq\n      queues: [a, b]\n",
            "services:\n  mq:\n    x-flowinfra:\n      queues: [c]\n",
        );
        let x = node
            .get("services")
            .unwrap()
            .get("mq")
            .unwrap()
            .get("x-flowinfra")
            .unwrap();
        assert_eq!(x.get("kind").unwrap().as_scalar(), Some("rabbitmq"));
        assert_eq!(scalars(x.get("queues").unwrap()), ["c"]);
    }

    #[test]
    fn a_services_other_lists_append_as_compose_appends_them() {
        let node = merged(
            "services:\n  s:\n    cap_add: [NET_ADMIN]\n    security_opt: [a]\n    dns: 1.1.1.1\n    devices: ['/dev/a:/dev/x']\n    sysctls: [net.a=1]\n    tmpfs: [/run]\n",
            "services:\n  s:\n    cap_add: [SYS_TIME, NET_ADMIN]\n    security_opt: [b]\n    dns: [8.8.8.8]\n    devices: ['/dev/b:/dev/x', '/dev/c']\n    sysctls: [net.a=2, net.b=3]\n    tmpfs: /run\n",
        );
        let s = node.get("services").unwrap().get("s").unwrap();
        assert_eq!(scalars(s.get("cap_add").unwrap()), ["NET_ADMIN", "SYS_TIME"]);
        assert_eq!(scalars(s.get("security_opt").unwrap()), ["a", "b"]);
        assert_eq!(scalars(s.get("dns").unwrap()), ["1.1.1.1", "8.8.8.8"]);
        assert_eq!(scalars(s.get("devices").unwrap()), ["/dev/b:/dev/x", "/dev/c"]);
        assert_eq!(scalars(s.get("sysctls").unwrap()), ["net.a=2", "net.b=3"]);
        assert_eq!(scalars(s.get("tmpfs").unwrap()), ["/run"]);
    }

    #[test]
    fn a_ulimit_and_a_logging_of_another_driver_replace_whole() {
        let node = merged(
            "services:\n  s:\n    ulimits:\n      nofile: {soft: 1, hard: 2}\n    logging:\n      driver: json-file\n      options: {max-size: 1m}\n  t:\n    logging:\n      driver: json-file\n      options: {max-size: 1m}\n",
            "services:\n  s:\n    ulimits:\n      nofile: {soft: 5}\n    logging:\n      driver: local\n      options: {max-file: '3'}\n  t:\n    logging:\n      options: {max-file: '3'}\n",
        );
        let s = node.get("services").unwrap().get("s").unwrap();
        let nofile = s.get("ulimits").unwrap().get("nofile").unwrap();
        assert!(nofile.get("hard").is_none(), "the ulimit is replaced whole");
        let logging = s.get("logging").unwrap();
        assert_eq!(logging.get("driver").unwrap().as_scalar(), Some("local"));
        assert!(logging.get("options").unwrap().get("max-size").is_none());
        let t = node.get("services").unwrap().get("t").unwrap();
        let options = t.get("logging").unwrap().get("options").unwrap();
        assert!(options.get("max-size").is_some() && options.get("max-file").is_some());
    }

    #[test]
    fn merge_tags_are_taken_off_with_their_paths() {
        let mut tree = parse(
            "services:\n  a:\n    ports: !reset []\n    env: !override {X: '1'}\n    list: [!reset x, y, {k: !reset v}]\n",
            &Arc::from(Path::new("f.yaml")),
        )
        .unwrap();
        let tags = take_merge_tags(&mut tree);
        let paths: Vec<String> = tags.paths.iter().map(|path| path.join(".")).collect();
        assert_eq!(paths, ["services.a.ports", "services.a.env"], "no path inside a list");
        let a = tree.get("services").unwrap().get("a").unwrap();
        assert!(a.get("ports").is_none());
        assert_eq!(a.get("env").unwrap().tag, MergeTag::None);
        let list = a.get("list").unwrap().as_sequence().unwrap();
        assert_eq!(list.len(), 2);
        assert!(list[1].get("k").is_none());
        let warned: Vec<String> = tags.reset_values.iter().map(|(path, _)| path.join(".")).collect();
        assert_eq!(warned, ["services.a.list.k"]);
    }

    #[test]
    fn merged_values_keep_the_position_of_the_file_they_came_from() {
        let node = merged("services:\n  db:\n    image: a\n", "\nservices:\n  db:\n    image: b\n");
        let image = node.get("services").unwrap().get("db").unwrap().get("image").unwrap();
        assert_eq!(image.position.file.to_str(), Some("over.yaml"));
        assert_eq!(image.position.line, 4);
    }
}
