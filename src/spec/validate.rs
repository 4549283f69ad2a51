//! Turns the merged YAML tree into the typed [`Spec`], collecting every
//! problem with its position instead of stopping at the first.
//!
//! Unknown fields are errors (with a "did you mean"), never ignored; Compose
//! fields flowinfra does not implement are named as such. Cross-service
//! rules — dependency targets and cycles, host port clashes, what each kind
//! needs — are checked here too, so nothing reaches Docker unvalidated.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{Diagnostic, did_you_mean};
use super::interpolate::VariableSource;
use super::model::*;
use super::yaml::{Key, Node, Position, Value};

const TOP_LEVEL_FIELDS: &[&str] = &["name", "services", "volumes", "networks", "version"];
const SERVICE_FIELDS: &[&str] = &[
    "image",
    "build",
    "container_name",
    "hostname",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "healthcheck",
    "depends_on",
    "restart",
    "labels",
    "pull_policy",
    "profiles",
    "networks",
    "x-flowinfra",
];
/// Valid Compose service fields that flowinfra does not implement: named as
/// such rather than as typos.
const UNSUPPORTED_COMPOSE_SERVICE_FIELDS: &[&str] = &[
    "cap_add",
    "cap_drop",
    "configs",
    "cpus",
    "deploy",
    "devices",
    "dns",
    "expose",
    "extends",
    "extra_hosts",
    "init",
    "ipc",
    "links",
    "logging",
    "mem_limit",
    "network_mode",
    "platform",
    "privileged",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "working_dir",
];
const HEALTHCHECK_FIELDS: &[&str] = &[
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
];
const DEPENDENCY_FIELDS: &[&str] = &["condition", "restart", "required"];
const BUILD_FIELDS: &[&str] = &["context", "dockerfile", "args", "target"];
const PORT_FIELDS: &[&str] = &["target", "published", "host_ip", "protocol", "mode", "name"];
const MOUNT_FIELDS: &[&str] = &["type", "source", "target", "read_only"];
const VOLUME_FIELDS: &[&str] = &["name", "external", "driver", "labels"];
const NETWORK_FIELDS: &[&str] = &["name", "external", "driver", "labels"];
const SERVICE_NETWORK_FIELDS: &[&str] = &["aliases"];
const KINDS: &[&str] = &["mysql", "rabbitmq", "redis", "s3"];
const EXCHANGE_FIELDS: &[&str] = &["name", "type", "durable"];
const QUEUE_FIELDS: &[&str] = &["name", "durable", "arguments"];
const BINDING_FIELDS: &[&str] = &["exchange", "queue", "routing_key"];
const BUCKET_FIELDS: &[&str] = &["name", "policy", "prefix"];

/// The container ports each kind must publish so flowinfra can reach it.
fn kind_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Mysql => &["kind", "ready_timeout", "migrations", "seed"],
        Kind::Rabbitmq => &["kind", "ready_timeout", "vhost", "exchanges", "queues", "bindings"],
        Kind::Redis => &["kind", "ready_timeout", "databases"],
        Kind::S3 => &["kind", "ready_timeout", "buckets"],
    }
}

/// Inputs validation needs besides the tree.
pub struct Context<'a> {
    pub project_name: Option<&'a str>,
    pub project_dir: &'a Path,
    pub variables: &'a dyn VariableSource,
    /// Profiles enabled through `COMPOSE_PROFILES`.
    pub active_profiles: BTreeSet<String>,
}

pub fn validate(root: &Node, context: &Context<'_>) -> Result<Spec, Vec<Diagnostic>> {
    let mut validator = Validator {
        diagnostics: Vec::new(),
        context,
    };
    let spec = validator.spec(root);
    if validator.diagnostics.is_empty() {
        Ok(spec)
    } else {
        Err(validator.diagnostics)
    }
}

struct Validator<'a, 'c> {
    diagnostics: Vec<Diagnostic>,
    context: &'a Context<'c>,
}

impl Validator<'_, '_> {
    fn error(&mut self, position: &Position, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::at(position, message));
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    // ---- generic readers ------------------------------------------------

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        match &node.value {
            Value::Mapping(entries) => Some(entries),
            Value::Null => Some(&[]),
            _ => {
                self.error(
                    &node.position,
                    format!("{what} must be a mapping, found {}", node.type_name()),
                );
                None
            }
        }
    }

    /// Reports keys outside `allowed`; `x-` keys are Compose extensions and pass.
    fn check_keys(&mut self, entries: &[(Key, Node)], allowed: &[&str], context: &str, allow_extensions: bool) {
        for (key, _) in entries {
            if allowed.contains(&key.name.as_str()) || (allow_extensions && key.name.starts_with("x-")) {
                continue;
            }
            let diagnostic = if context == "service" && UNSUPPORTED_COMPOSE_SERVICE_FIELDS.contains(&key.name.as_str())
            {
                Diagnostic::at(
                    &key.position,
                    format!("`{}` is a Compose field that flowinfra does not support", key.name),
                )
                .with_hint(format!(
                    "remove it, or keep it in a file used only with docker compose; supported service fields: {}",
                    allowed.join(", ")
                ))
            } else {
                let hint = match did_you_mean(&key.name, allowed.iter().copied()) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None => format!("{context} fields are: {}", allowed.join(", ")),
                };
                Diagnostic::at(&key.position, format!("unknown {context} field `{}`", key.name)).with_hint(hint)
            };
            self.push(diagnostic);
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            _ => {
                self.error(
                    &node.position,
                    format!("{what} must be a string, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn non_empty_string(&mut self, node: &Node, what: &str) -> Option<String> {
        let text = self.string(node, what)?;
        if text.trim().is_empty() {
            self.error(&node.position, format!("{what} must not be empty"));
            return None;
        }
        Some(text)
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.as_scalar() {
            Some("true" | "True" | "TRUE") => Some(true),
            Some("false" | "False" | "FALSE") => Some(false),
            _ => {
                self.error(&node.position, format!("{what} must be true or false"));
                None
            }
        }
    }

    fn unsigned(&mut self, node: &Node, what: &str) -> Option<u32> {
        match node.as_scalar().map(str::parse::<u32>) {
            Some(Ok(value)) => Some(value),
            _ => {
                self.error(&node.position, format!("{what} must be a whole number ≥ 0"));
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = self.string(node, what)?;
        match parse_duration(&text) {
            Ok(duration) => Some(duration),
            Err(reason) => {
                self.push(
                    Diagnostic::at(
                        &node.position,
                        format!("invalid duration `{text}` for {what}: {reason}"),
                    )
                    .with_hint("write durations as Compose does, e.g. 500ms, 10s, 1m30s, 2h"),
                );
                None
            }
        }
    }

    /// A list of strings, or one string split like a shell would (Compose's `command: a b c`).
    fn command(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        match &node.value {
            Value::Scalar { text, .. } => match shlex::split(text) {
                Some(words) => Some(words),
                None => {
                    self.error(&node.position, format!("{what} has an unterminated quote"));
                    None
                }
            },
            Value::Sequence(items) => items.iter().map(|item| self.string(item, what)).collect(),
            Value::Null => Some(Vec::new()),
            Value::Mapping(_) => {
                self.error(
                    &node.position,
                    format!("{what} must be a string or a list of strings, found a mapping"),
                );
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.value {
            Value::Sequence(items) => items.iter().filter_map(|item| self.string(item, what)).collect(),
            Value::Scalar { text, .. } => vec![text.clone()],
            Value::Null => Vec::new(),
            Value::Mapping(_) => {
                self.error(&node.position, format!("{what} must be a list of strings"));
                Vec::new()
            }
        }
    }

    fn string_map(&mut self, node: &Node, what: &str) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let Some(entries) = self.mapping(node, what) else {
            return map;
        };
        for (key, value) in entries {
            let text = match &value.value {
                Value::Null => String::new(),
                Value::Scalar { text, .. } => text.clone(),
                _ => {
                    self.error(&value.position, format!("{what} `{}` must be a string", key.name));
                    continue;
                }
            };
            map.insert(key.name.clone(), text);
        }
        map
    }

    /// Resolves a path written in the spec against the directory of the file that wrote it.
    fn path(&mut self, node: &Node, what: &str) -> Option<PathBuf> {
        let text = self.non_empty_string(node, what)?;
        Some(resolve_path(&text, &node.position, self.context.project_dir))
    }

    fn existing_dir(&mut self, node: &Node, what: &str) -> Option<PathBuf> {
        let path = self.path(node, what)?;
        if !path.is_dir() {
            self.push(
                Diagnostic::at(
                    &node.position,
                    format!("{what} `{}` is not a directory", path.display()),
                )
                .with_hint("paths are relative to the spec file that names them"),
            );
            return None;
        }
        Some(path)
    }

    // ---- the spec -------------------------------------------------------

    fn spec(&mut self, root: &Node) -> Spec {
        let empty = Node::new(Value::Null, root.position.clone());
        let entries = self.mapping(root, "the spec").unwrap_or_default();
        self.check_keys(entries, TOP_LEVEL_FIELDS, "top-level", true);

        let name = self.project_name(root);
        let volumes = match root.get("volumes") {
            Some(node) => self.volumes(node, &name),
            None => BTreeMap::new(),
        };
        let mut networks = match root.get("networks") {
            Some(node) => self.networks(node, &name),
            None => BTreeMap::new(),
        };
        networks.entry("default".into()).or_insert_with(|| NetworkSpec {
            name: format!("{name}_default"),
            external: false,
            labels: BTreeMap::new(),
        });

        let services_node = root.get("services").unwrap_or(&empty);
        let mut services = BTreeMap::new();
        let mut service_nodes = BTreeMap::new();
        match self.mapping(services_node, "`services`") {
            Some([]) => self.push(
                Diagnostic::at(&services_node.position, "the spec declares no services")
                    .with_hint("add a `services:` mapping with at least one service"),
            ),
            Some(entries) => {
                for (key, node) in entries {
                    if let Some(service) = self.service(key, node, &name, &volumes, &networks) {
                        service_nodes.insert(key.name.clone(), (key, node));
                        services.insert(key.name.clone(), service);
                    }
                }
            }
            None => {}
        }
        self.dependencies(&services, &service_nodes);
        self.port_clashes(&services, &service_nodes);
        self.container_name_clashes(&services, &service_nodes);

        let active = &self.context.active_profiles;
        let inactive: Vec<String> = services
            .values()
            .filter(|service: &&Service| {
                !service.profiles.is_empty() && !service.profiles.iter().any(|p| active.contains(p))
            })
            .map(|service| service.name.clone())
            .collect();
        for service in services.values() {
            if inactive.contains(&service.name) {
                continue;
            }
            for dependency in service.depends_on.keys().filter(|d| inactive.contains(d)) {
                if let Some((_, node)) = service_nodes.get(&service.name) {
                    let position = node.get("depends_on").map_or(&node.position, |n| &n.position).clone();
                    self.push(
                        Diagnostic::at(
                            &position,
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

        Spec {
            name,
            project_dir: self.context.project_dir.to_path_buf(),
            files: Vec::new(),
            services,
            volumes,
            networks,
        }
    }

    fn project_name(&mut self, root: &Node) -> String {
        if let Some(name) = self.context.project_name {
            return self.checked_project_name(name, None, "given with -p");
        }
        if let Some(name) = self
            .context
            .variables
            .get("COMPOSE_PROJECT_NAME")
            .filter(|n| !n.is_empty())
        {
            return self.checked_project_name(name, None, "in COMPOSE_PROJECT_NAME");
        }
        if let Some(node) = root.get("name")
            && let Some(text) = self.string(node, "`name`")
        {
            return self.checked_project_name(&text, Some(&node.position), "");
        }
        let directory = self
            .context
            .project_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("flowinfra");
        normalize_project_name(directory).unwrap_or_else(|| "flowinfra".into())
    }

    /// A project name as given: it must already be in Compose's form, so
    /// the name the user wrote is the name the engine sees.
    fn checked_project_name(&mut self, name: &str, position: Option<&Position>, source: &str) -> String {
        match normalize_project_name(name) {
            Some(normalized) if normalized == name => normalized,
            _ => {
                let source = if source.is_empty() {
                    String::new()
                } else {
                    format!(" {source}")
                };
                self.push(
                    Diagnostic::new(position.cloned(), format!("invalid project name `{name}`{source}"))
                        .with_hint("use lowercase letters, digits, `-` and `_`, starting with a letter or digit"),
                );
                "invalid".into()
            }
        }
    }

    fn volumes(&mut self, node: &Node, project: &str) -> BTreeMap<String, VolumeSpec> {
        self.named_objects(node, project, "volume", VOLUME_FIELDS, "local")
            .into_iter()
            .map(|(key, (name, external, labels))| (key, VolumeSpec { name, external, labels }))
            .collect()
    }

    fn networks(&mut self, node: &Node, project: &str) -> BTreeMap<String, NetworkSpec> {
        self.named_objects(node, project, "network", NETWORK_FIELDS, "bridge")
            .into_iter()
            .map(|(key, (name, external, labels))| (key, NetworkSpec { name, external, labels }))
            .collect()
    }

    /// Top-level `volumes` and `networks` share one shape: an engine-side
    /// name (`<project>_<key>` unless `name:` or `external` says otherwise),
    /// `external`, one supported driver, labels.
    #[allow(clippy::type_complexity)]
    fn named_objects(
        &mut self,
        node: &Node,
        project: &str,
        what: &str,
        fields: &[&str],
        driver: &str,
    ) -> BTreeMap<String, (String, bool, BTreeMap<String, String>)> {
        let mut objects = BTreeMap::new();
        let Some(entries) = self.mapping(node, &format!("`{what}s`")) else {
            return objects;
        };
        for (key, value) in entries {
            let entry_fields = self
                .mapping(value, &format!("{what} `{}`", key.name))
                .unwrap_or_default();
            self.check_keys(entry_fields, fields, what, true);
            let external = value
                .get("external")
                .and_then(|n| self.bool(n, "`external`"))
                .unwrap_or(false);
            let name = value
                .get("name")
                .and_then(|n| self.non_empty_string(n, &format!("{what} `name`")))
                .unwrap_or_else(|| {
                    if external {
                        key.name.clone()
                    } else {
                        format!("{project}_{}", key.name)
                    }
                });
            if let Some(driver_node) = value.get("driver")
                && let Some(given) = self.string(driver_node, "`driver`")
                && given != driver
            {
                self.error(
                    &driver_node.position,
                    format!("{what} driver `{given}` is not supported; only `{driver}`"),
                );
            }
            let labels = value
                .get("labels")
                .map(|n| self.string_map(n, &format!("{what} label")))
                .unwrap_or_default();
            objects.insert(key.name.clone(), (name, external, labels));
        }
        objects
    }

    // ---- one service ----------------------------------------------------

    fn service(
        &mut self,
        key: &Key,
        node: &Node,
        project: &str,
        volumes: &BTreeMap<String, VolumeSpec>,
        networks: &BTreeMap<String, NetworkSpec>,
    ) -> Option<Service> {
        let name = key.name.clone();
        if !is_valid_service_name(&name) {
            self.push(
                Diagnostic::at(&key.position, format!("invalid service name `{name}`"))
                    .with_hint("use letters, digits, `.`, `-` and `_`, starting with a letter or digit"),
            );
        }
        let what = format!("service `{name}`");
        let fields = self.mapping(node, &what)?;
        self.check_keys(fields, SERVICE_FIELDS, "service", true);

        let build = node.get("build").and_then(|n| self.build(n));
        let image = match node.get("image") {
            Some(n) => self.image(n),
            None if build.is_some() => Some(format!("{project}-{name}")),
            None => {
                self.push(
                    Diagnostic::at(&key.position, format!("{what} has neither `image` nor `build`"))
                        .with_hint("set `image:` to the image to run, or `build:` to the directory to build it from"),
                );
                None
            }
        };

        let mut environment = BTreeMap::new();
        if let Some(files) = node.get("env_file") {
            let files_list: Vec<&Node> = match &files.value {
                Value::Sequence(items) => items.iter().collect(),
                _ => vec![files],
            };
            for file_node in files_list {
                self.env_file(file_node, &mut environment);
            }
        }
        if let Some(env_node) = node.get("environment") {
            let entries = self.mapping(env_node, "`environment`").unwrap_or_default();
            for (env_key, value) in entries {
                match &value.value {
                    Value::Scalar { text, .. } => {
                        environment.insert(env_key.name.clone(), text.clone());
                    }
                    // `- NAME` or `NAME:` passes the variable through from flowinfra's environment, as in Compose.
                    Value::Null => {
                        if let Some(inherited) = self.context.variables.get(&env_key.name) {
                            environment.insert(env_key.name.clone(), inherited.to_string());
                        }
                    }
                    _ => self.error(
                        &value.position,
                        format!("environment variable `{}` must be a string", env_key.name),
                    ),
                }
            }
        }

        let command = node.get("command").and_then(|n| self.command(n, "`command`"));
        let entrypoint = node.get("entrypoint").and_then(|n| self.command(n, "`entrypoint`"));
        let ports = node.get("ports").map(|n| self.ports(n)).unwrap_or_default();
        let mounts = node.get("volumes").map(|n| self.mounts(n, volumes)).unwrap_or_default();
        let healthcheck = node.get("healthcheck").and_then(|n| self.healthcheck(n));
        let depends_on = node.get("depends_on").map(|n| self.depends_on(n)).unwrap_or_default();
        let restart = node.get("restart").and_then(|n| self.restart(n));
        let labels = node
            .get("labels")
            .map(|n| self.string_map(n, "label"))
            .unwrap_or_default();
        for label in labels.keys().filter(|label| label.starts_with("io.flowinfra.")) {
            self.error(
                &node.get("labels").unwrap().position,
                format!("label `{label}` is reserved for flowinfra"),
            );
        }
        let pull_policy = match node.get("pull_policy") {
            Some(n) => self.pull_policy(n).unwrap_or(PullPolicy::Missing),
            None => PullPolicy::Missing,
        };
        if pull_policy == PullPolicy::Build && build.is_none() {
            self.error(
                &node.get("pull_policy").unwrap().position,
                format!("`pull_policy: build` needs a `build:` section in {what}"),
            );
        }
        let profiles = node
            .get("profiles")
            .map(|n| self.string_list(n, "`profiles`"))
            .unwrap_or_default();
        let service_networks = match node.get("networks") {
            Some(n) => self.service_networks(n, networks),
            None => BTreeMap::from([("default".to_string(), ServiceNetwork::default())]),
        };
        let container_name = node
            .get("container_name")
            .and_then(|n| self.non_empty_string(n, "`container_name`"));
        let hostname = node
            .get("hostname")
            .and_then(|n| self.non_empty_string(n, "`hostname`"));

        let flowinfra = node.get("x-flowinfra").and_then(|n| self.flowinfra(n));

        let service = Service {
            name,
            image: image?,
            build,
            container_name,
            hostname,
            command,
            entrypoint,
            environment,
            ports,
            volumes: mounts,
            healthcheck,
            depends_on,
            restart,
            labels,
            pull_policy,
            profiles,
            networks: service_networks,
            flowinfra,
        };
        if let Some(x) = &service.flowinfra {
            self.kind_requirements(&service, x, node);
        }
        Some(service)
    }

    fn image(&mut self, node: &Node) -> Option<String> {
        let image = self.non_empty_string(node, "`image`")?;
        if image.chars().any(char::is_whitespace) {
            self.error(
                &node.position,
                format!("invalid image reference `{image}`: it contains whitespace"),
            );
            return None;
        }
        Some(image)
    }

    fn build(&mut self, node: &Node) -> Option<Build> {
        let fields = self.mapping(node, "`build`")?;
        self.check_keys(fields, BUILD_FIELDS, "build", true);
        let Some(context_node) = node.get("context") else {
            self.error(&node.position, "`build` needs a `context` directory");
            return None;
        };
        let context = self.existing_dir(context_node, "build context")?;
        let dockerfile = node
            .get("dockerfile")
            .and_then(|n| self.non_empty_string(n, "`dockerfile`"))
            .unwrap_or_else(|| "Dockerfile".into());
        if !context.join(&dockerfile).is_file() {
            let position = node.get("dockerfile").unwrap_or(context_node).position.clone();
            self.error(
                &position,
                format!(
                    "Dockerfile `{}` not found in build context `{}`",
                    dockerfile,
                    context.display()
                ),
            );
        }
        let args = node
            .get("args")
            .map(|n| self.string_map(n, "build argument"))
            .unwrap_or_default();
        let target = node.get("target").and_then(|n| self.non_empty_string(n, "`target`"));
        Some(Build {
            context,
            dockerfile,
            args,
            target,
        })
    }

    fn env_file(&mut self, node: &Node, environment: &mut BTreeMap<String, String>) {
        let Some(path) = self.path(node, "`env_file`") else {
            return;
        };
        match dotenvy::from_path_iter(&path) {
            Ok(iter) => {
                for item in iter {
                    match item {
                        Ok((name, value)) => {
                            environment.insert(name, value);
                        }
                        Err(err) => {
                            self.error(
                                &node.position,
                                format!("cannot read env file `{}`: {err}", path.display()),
                            );
                            return;
                        }
                    }
                }
            }
            Err(err) => self.push(
                Diagnostic::at(
                    &node.position,
                    format!("cannot read env file `{}`: {err}", path.display()),
                )
                .with_hint("paths are relative to the spec file that names them"),
            ),
        }
    }

    fn ports(&mut self, node: &Node) -> Vec<Port> {
        let Value::Sequence(items) = &node.value else {
            self.error(&node.position, "`ports` must be a list");
            return Vec::new();
        };
        let mut ports = Vec::new();
        for item in items {
            let parsed = match &item.value {
                Value::Scalar { text, .. } => parse_port(text),
                Value::Mapping(fields) => {
                    self.check_keys(fields, PORT_FIELDS, "port", true);
                    self.long_port(item)
                }
                _ => Err("a port must be a string such as \"127.0.0.1:3306:3306\" or a mapping".into()),
            };
            match parsed {
                Ok(mut expanded) => ports.append(&mut expanded),
                Err(reason) => self.push(
                    Diagnostic::at(&item.position, format!("invalid port: {reason}")).with_hint(
                        "write ports as [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"127.0.0.1:3306:3306\"",
                    ),
                ),
            }
        }
        ports
    }

    fn long_port(&mut self, node: &Node) -> Result<Vec<Port>, String> {
        let text = |name: &str| node.get(name).and_then(Node::as_scalar).map(str::to_string);
        let target = text("target").ok_or("the long form needs `target`")?;
        let mut short = String::new();
        if let Some(host_ip) = text("host_ip") {
            short.push_str(&if host_ip.contains(':') {
                format!("[{host_ip}]")
            } else {
                host_ip
            });
            short.push(':');
            short.push_str(&text("published").unwrap_or_default());
            short.push(':');
        } else if let Some(published) = text("published") {
            short.push_str(&published);
            short.push(':');
        }
        short.push_str(&target);
        if let Some(protocol) = text("protocol") {
            short.push('/');
            short.push_str(&protocol);
        }
        parse_port(&short)
    }

    fn mounts(&mut self, node: &Node, volumes: &BTreeMap<String, VolumeSpec>) -> Vec<Mount> {
        let Value::Sequence(items) = &node.value else {
            self.error(&node.position, "`volumes` must be a list");
            return Vec::new();
        };
        let mut mounts = Vec::new();
        for item in items {
            let mount = match &item.value {
                Value::Scalar { text, .. } => self.short_mount(text, item),
                Value::Mapping(fields) => {
                    self.check_keys(fields, MOUNT_FIELDS, "volume mount", true);
                    self.long_mount(item)
                }
                _ => {
                    self.error(
                        &item.position,
                        "a volume mount must be a string such as \"data:/var/lib/mysql\" or a mapping",
                    );
                    None
                }
            };
            let Some(mount) = mount else { continue };
            if let MountSource::Volume { name } = &mount.source
                && !volumes.contains_key(name)
            {
                let hint = match did_you_mean(name, volumes.keys().map(String::as_str)) {
                    Some(suggestion) => {
                        format!("did you mean `{suggestion}`? Otherwise declare it under the top-level `volumes:`")
                    }
                    None => format!(
                        "declare it under the top-level `volumes:` (e.g. `volumes: {{ {name}: }}`), or write a path such as ./{name} for a bind mount"
                    ),
                };
                self.push(Diagnostic::at(&item.position, format!("volume `{name}` is not declared")).with_hint(hint));
                continue;
            }
            if !mount.target.starts_with('/') {
                self.error(
                    &item.position,
                    format!(
                        "mount target `{}` must be an absolute path in the container",
                        mount.target
                    ),
                );
                continue;
            }
            mounts.push(mount);
        }
        mounts
    }

    fn short_mount(&mut self, text: &str, node: &Node) -> Option<Mount> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [target] => (None, *target, None),
            [source, target] => (Some(*source), *target, None),
            [source, target, mode] => (Some(*source), *target, Some(*mode)),
            _ => {
                self.error(
                    &node.position,
                    format!("invalid volume mount `{text}`: expected SOURCE:TARGET[:MODE]"),
                );
                return None;
            }
        };
        let mut read_only = false;
        if let Some(mode) = mode {
            for option in mode.split(',') {
                match option {
                    "ro" => read_only = true,
                    "rw" | "z" | "Z" | "cached" | "delegated" | "consistent" | "nocopy" => {}
                    other => {
                        self.error(
                            &node.position,
                            format!("unknown volume mount option `{other}` in `{text}`; use ro or rw"),
                        );
                        return None;
                    }
                }
            }
        }
        let source = match source {
            None => MountSource::Anonymous,
            Some(source) if is_path_like(source) => MountSource::Bind {
                path: resolve_path(source, &node.position, self.context.project_dir),
            },
            Some(name) => MountSource::Volume { name: name.to_string() },
        };
        Some(Mount {
            source,
            target: target.to_string(),
            read_only,
        })
    }

    fn long_mount(&mut self, node: &Node) -> Option<Mount> {
        let kind = node
            .get("type")
            .and_then(|n| self.string(n, "mount `type`"))
            .unwrap_or_else(|| "volume".into());
        let target = node
            .get("target")
            .and_then(|n| self.non_empty_string(n, "mount `target`"));
        let Some(target) = target else {
            self.error(&node.position, "a volume mount needs `target`");
            return None;
        };
        let read_only = node
            .get("read_only")
            .and_then(|n| self.bool(n, "`read_only`"))
            .unwrap_or(false);
        let source = node.get("source");
        let source = match (kind.as_str(), source) {
            ("volume", None) => MountSource::Anonymous,
            ("volume", Some(n)) => MountSource::Volume {
                name: self.non_empty_string(n, "mount `source`")?,
            },
            ("bind", Some(n)) => MountSource::Bind {
                path: self.path(n, "mount `source`")?,
            },
            ("bind", None) => {
                self.error(&node.position, "a bind mount needs `source`");
                return None;
            }
            (other, _) => {
                self.error(
                    &node.get("type").unwrap().position,
                    format!("mount type `{other}` is not supported; use volume or bind"),
                );
                return None;
            }
        };
        Some(Mount {
            source,
            target,
            read_only,
        })
    }

    fn healthcheck(&mut self, node: &Node) -> Option<Healthcheck> {
        let fields = self.mapping(node, "`healthcheck`")?;
        self.check_keys(fields, HEALTHCHECK_FIELDS, "healthcheck", true);
        let disabled = node
            .get("disable")
            .and_then(|n| self.bool(n, "`disable`"))
            .unwrap_or(false);
        let test = match node.get("test") {
            _ if disabled => vec!["NONE".to_string()],
            Some(
                n @ Node {
                    value: Value::Scalar { text, .. },
                    ..
                },
            ) => {
                if text.trim().is_empty() {
                    self.error(&n.position, "healthcheck `test` must not be empty");
                    return None;
                }
                vec!["CMD-SHELL".to_string(), text.clone()]
            }
            Some(n) => {
                let test = self.command(n, "healthcheck `test`")?;
                match test.first().map(String::as_str) {
                    Some("NONE") => test,
                    Some("CMD" | "CMD-SHELL") if test.len() > 1 => test,
                    _ => {
                        self.push(
                            Diagnostic::at(
                                &n.position,
                                "healthcheck `test` must start with CMD, CMD-SHELL or NONE and name a command",
                            )
                            .with_hint("e.g. test: [\"CMD-SHELL\", \"mysqladmin ping -h localhost\"]"),
                        );
                        return None;
                    }
                }
            }
            None => {
                self.error(&node.position, "healthcheck needs `test` (or `disable: true`)");
                return None;
            }
        };
        Some(Healthcheck {
            test,
            interval: node.get("interval").and_then(|n| self.duration(n, "`interval`")),
            timeout: node.get("timeout").and_then(|n| self.duration(n, "`timeout`")),
            retries: node.get("retries").and_then(|n| self.unsigned(n, "`retries`")),
            start_period: node
                .get("start_period")
                .and_then(|n| self.duration(n, "`start_period`")),
            start_interval: node
                .get("start_interval")
                .and_then(|n| self.duration(n, "`start_interval`")),
        })
    }

    fn depends_on(&mut self, node: &Node) -> BTreeMap<String, Dependency> {
        let mut dependencies = BTreeMap::new();
        let Some(entries) = self.mapping(node, "`depends_on`") else {
            return dependencies;
        };
        for (key, value) in entries {
            let fields = self
                .mapping(value, &format!("dependency `{}`", key.name))
                .unwrap_or_default();
            self.check_keys(fields, DEPENDENCY_FIELDS, "depends_on", true);
            let condition = match value.get("condition") {
                None => DependencyCondition::ServiceStarted,
                Some(n) => match n.as_scalar() {
                    Some("service_started") => DependencyCondition::ServiceStarted,
                    Some("service_healthy") => DependencyCondition::ServiceHealthy,
                    Some("service_completed_successfully") => DependencyCondition::ServiceCompletedSuccessfully,
                    other => {
                        let choices = ["service_started", "service_healthy", "service_completed_successfully"];
                        let hint = other.and_then(|o| did_you_mean(o, choices)).map_or_else(
                            || format!("use one of: {}", choices.join(", ")),
                            |s| format!("did you mean `{s}`?"),
                        );
                        self.push(
                            Diagnostic::at(
                                &n.position,
                                format!("unknown depends_on condition `{}`", other.unwrap_or("")),
                            )
                            .with_hint(hint),
                        );
                        DependencyCondition::ServiceStarted
                    }
                },
            };
            let restart = value
                .get("restart")
                .and_then(|n| self.bool(n, "`restart`"))
                .unwrap_or(false);
            let required = value
                .get("required")
                .and_then(|n| self.bool(n, "`required`"))
                .unwrap_or(true);
            dependencies.insert(
                key.name.clone(),
                Dependency {
                    condition,
                    restart,
                    required,
                },
            );
        }
        dependencies
    }

    fn restart(&mut self, node: &Node) -> Option<RestartPolicy> {
        let text = self.string(node, "`restart`")?;
        let policy = match text.as_str() {
            "no" | "\"no\"" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure { max_retries: None },
            other => match other.strip_prefix("on-failure:").map(str::parse::<u32>) {
                Some(Ok(count)) => RestartPolicy::OnFailure {
                    max_retries: Some(count),
                },
                _ => {
                    let choices = ["no", "always", "on-failure", "unless-stopped"];
                    let hint = did_you_mean(other, choices).map_or_else(
                        || "use no, always, on-failure[:N] or unless-stopped".to_string(),
                        |s| format!("did you mean `{s}`?"),
                    );
                    self.push(
                        Diagnostic::at(&node.position, format!("invalid restart policy `{other}`")).with_hint(hint),
                    );
                    return None;
                }
            },
        };
        Some(policy)
    }

    fn pull_policy(&mut self, node: &Node) -> Option<PullPolicy> {
        let text = self.string(node, "`pull_policy`")?;
        Some(match text.as_str() {
            "missing" | "if_not_present" => PullPolicy::Missing,
            "always" => PullPolicy::Always,
            "never" => PullPolicy::Never,
            "build" => PullPolicy::Build,
            other => {
                let choices = ["always", "never", "missing", "if_not_present", "build"];
                let hint = did_you_mean(other, choices).map_or_else(
                    || format!("flowinfra supports: {}", choices.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                self.push(Diagnostic::at(&node.position, format!("unsupported pull_policy `{other}`")).with_hint(hint));
                return None;
            }
        })
    }

    fn service_networks(
        &mut self,
        node: &Node,
        networks: &BTreeMap<String, NetworkSpec>,
    ) -> BTreeMap<String, ServiceNetwork> {
        let mut joined = BTreeMap::new();
        let Some(entries) = self.mapping(node, "service `networks`") else {
            return joined;
        };
        for (key, value) in entries {
            if !networks.contains_key(&key.name) {
                let hint = did_you_mean(&key.name, networks.keys().map(String::as_str)).map_or_else(
                    || "declare it under the top-level `networks:`".to_string(),
                    |s| format!("did you mean `{s}`?"),
                );
                self.push(
                    Diagnostic::at(&key.position, format!("network `{}` is not declared", key.name)).with_hint(hint),
                );
                continue;
            }
            let fields = self
                .mapping(value, &format!("network `{}`", key.name))
                .unwrap_or_default();
            self.check_keys(fields, SERVICE_NETWORK_FIELDS, "service network", true);
            let aliases = value
                .get("aliases")
                .map(|n| self.string_list(n, "`aliases`"))
                .unwrap_or_default();
            joined.insert(key.name.clone(), ServiceNetwork { aliases });
        }
        joined
    }

    // ---- x-flowinfra ----------------------------------------------------

    fn flowinfra(&mut self, node: &Node) -> Option<Flowinfra> {
        let fields = self.mapping(node, "`x-flowinfra`")?;
        let Some(kind_node) = node.get("kind") else {
            self.push(
                Diagnostic::at(&node.position, "`x-flowinfra` needs a `kind`")
                    .with_hint(format!("kind is one of: {}", KINDS.join(", "))),
            );
            return None;
        };
        let kind_text = self.string(kind_node, "`kind`")?;
        let kind = match kind_text.as_str() {
            "mysql" => Kind::Mysql,
            "rabbitmq" => Kind::Rabbitmq,
            "redis" => Kind::Redis,
            "s3" => Kind::S3,
            other => {
                let hint = did_you_mean(other, KINDS.iter().copied()).map_or_else(
                    || format!("kind is one of: {}", KINDS.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                self.push(Diagnostic::at(&kind_node.position, format!("unknown kind `{other}`")).with_hint(hint));
                return None;
            }
        };
        self.check_keys(fields, kind_fields(kind), &format!("x-flowinfra ({kind_text})"), false);
        let ready_timeout = node
            .get("ready_timeout")
            .and_then(|n| self.duration(n, "`ready_timeout`"));
        let settings = match kind {
            Kind::Mysql => KindSettings::Mysql(MysqlSettings {
                migrations: node
                    .get("migrations")
                    .and_then(|n| self.existing_dir(n, "migrations directory")),
                seed: node.get("seed").and_then(|n| self.existing_dir(n, "seed directory")),
            }),
            Kind::Rabbitmq => KindSettings::Rabbitmq(self.rabbitmq(node)),
            Kind::Redis => KindSettings::Redis(RedisSettings {
                databases: match node.get("databases") {
                    Some(n) => self.redis_databases(n),
                    None => Vec::new(),
                },
            }),
            Kind::S3 => KindSettings::S3(S3Settings {
                buckets: node.get("buckets").map(|n| self.buckets(n)).unwrap_or_default(),
            }),
        };
        Some(Flowinfra {
            ready_timeout,
            settings,
        })
    }

    fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.value {
            Value::Sequence(items) => items,
            Value::Null => &[],
            _ => {
                self.error(&node.position, format!("{what} must be a list"));
                &[]
            }
        }
    }

    fn rabbitmq(&mut self, node: &Node) -> RabbitmqSettings {
        let vhost = node
            .get("vhost")
            .and_then(|n| self.non_empty_string(n, "`vhost`"))
            .unwrap_or_else(|| "/".into());
        let mut exchanges: Vec<Exchange> = Vec::new();
        for item in node
            .get("exchanges")
            .map(|n| self.list(n, "`exchanges`"))
            .unwrap_or_default()
        {
            let exchange = match &item.value {
                Value::Scalar { text, .. } => Some(Exchange {
                    name: text.clone(),
                    exchange_type: ExchangeType::Direct,
                    durable: true,
                }),
                Value::Mapping(fields) => {
                    self.check_keys(fields, EXCHANGE_FIELDS, "exchange", false);
                    let name = item
                        .get("name")
                        .and_then(|n| self.non_empty_string(n, "exchange `name`"));
                    let exchange_type = match item.get("type") {
                        None => Some(ExchangeType::Direct),
                        Some(n) => match n.as_scalar() {
                            Some("direct") => Some(ExchangeType::Direct),
                            Some("fanout") => Some(ExchangeType::Fanout),
                            Some("topic") => Some(ExchangeType::Topic),
                            Some("headers") => Some(ExchangeType::Headers),
                            other => {
                                self.push(
                                    Diagnostic::at(
                                        &n.position,
                                        format!("unknown exchange type `{}`", other.unwrap_or("")),
                                    )
                                    .with_hint("use direct, fanout, topic or headers"),
                                );
                                None
                            }
                        },
                    };
                    let durable = item
                        .get("durable")
                        .and_then(|n| self.bool(n, "`durable`"))
                        .unwrap_or(true);
                    if name.is_none() && item.get("name").is_none() {
                        self.error(&item.position, "an exchange needs a `name`");
                    }
                    name.zip(exchange_type).map(|(name, exchange_type)| Exchange {
                        name,
                        exchange_type,
                        durable,
                    })
                }
                _ => {
                    self.error(&item.position, "an exchange must be a name or a mapping");
                    None
                }
            };
            if let Some(exchange) = exchange {
                if exchanges.iter().any(|e| e.name == exchange.name) {
                    self.error(
                        &item.position,
                        format!("exchange `{}` is declared twice", exchange.name),
                    );
                } else if exchange.name.starts_with("amq.") {
                    self.error(
                        &item.position,
                        format!(
                            "exchange `{}`: names starting with `amq.` are reserved by RabbitMQ",
                            exchange.name
                        ),
                    );
                } else {
                    exchanges.push(exchange);
                }
            }
        }
        let mut queues: Vec<Queue> = Vec::new();
        for item in node.get("queues").map(|n| self.list(n, "`queues`")).unwrap_or_default() {
            let queue = match &item.value {
                Value::Scalar { text, .. } => Some(Queue {
                    name: text.clone(),
                    durable: true,
                    arguments: BTreeMap::new(),
                }),
                Value::Mapping(fields) => {
                    self.check_keys(fields, QUEUE_FIELDS, "queue", false);
                    let name = item.get("name").and_then(|n| self.non_empty_string(n, "queue `name`"));
                    if item.get("name").is_none() {
                        self.error(&item.position, "a queue needs a `name`");
                    }
                    let durable = item
                        .get("durable")
                        .and_then(|n| self.bool(n, "`durable`"))
                        .unwrap_or(true);
                    let arguments = item
                        .get("arguments")
                        .map(|n| self.queue_arguments(n))
                        .unwrap_or_default();
                    name.map(|name| Queue {
                        name,
                        durable,
                        arguments,
                    })
                }
                _ => {
                    self.error(&item.position, "a queue must be a name or a mapping");
                    None
                }
            };
            if let Some(queue) = queue {
                if queues.iter().any(|q| q.name == queue.name) {
                    self.error(&item.position, format!("queue `{}` is declared twice", queue.name));
                } else {
                    queues.push(queue);
                }
            }
        }
        let mut bindings = Vec::new();
        for item in node
            .get("bindings")
            .map(|n| self.list(n, "`bindings`"))
            .unwrap_or_default()
        {
            let Some(fields) = self.mapping(item, "a binding") else {
                continue;
            };
            self.check_keys(fields, BINDING_FIELDS, "binding", false);
            let exchange = item
                .get("exchange")
                .and_then(|n| self.non_empty_string(n, "binding `exchange`"));
            let queue = item
                .get("queue")
                .and_then(|n| self.non_empty_string(n, "binding `queue`"));
            let routing_key = item
                .get("routing_key")
                .and_then(|n| self.string(n, "`routing_key`"))
                .unwrap_or_default();
            let (Some(exchange), Some(queue)) = (exchange, queue) else {
                self.error(&item.position, "a binding needs `exchange` and `queue`");
                continue;
            };
            if !exchange.starts_with("amq.") && !exchanges.iter().any(|e| e.name == exchange) {
                let hint = did_you_mean(&exchange, exchanges.iter().map(|e| e.name.as_str())).map_or_else(
                    || "declare it under `exchanges`".to_string(),
                    |s| format!("did you mean `{s}`?"),
                );
                self.push(
                    Diagnostic::at(
                        &item.get("exchange").unwrap().position,
                        format!("binding names exchange `{exchange}`, which is not declared"),
                    )
                    .with_hint(hint),
                );
            }
            if !queues.iter().any(|q| q.name == queue) {
                let hint = did_you_mean(&queue, queues.iter().map(|q| q.name.as_str())).map_or_else(
                    || "declare it under `queues`".to_string(),
                    |s| format!("did you mean `{s}`?"),
                );
                self.push(
                    Diagnostic::at(
                        &item.get("queue").unwrap().position,
                        format!("binding names queue `{queue}`, which is not declared"),
                    )
                    .with_hint(hint),
                );
            }
            bindings.push(Binding {
                exchange,
                queue,
                routing_key,
            });
        }
        RabbitmqSettings {
            vhost,
            exchanges,
            queues,
            bindings,
        }
    }

    fn queue_arguments(&mut self, node: &Node) -> BTreeMap<String, ArgumentValue> {
        let mut arguments = BTreeMap::new();
        let Some(entries) = self.mapping(node, "queue `arguments`") else {
            return arguments;
        };
        for (key, value) in entries {
            let argument = match &value.value {
                Value::Scalar { text, quoted: false } if text.parse::<i64>().is_ok() => {
                    ArgumentValue::Integer(text.parse().unwrap_or_default())
                }
                Value::Scalar { text, quoted: false } if text == "true" || text == "false" => {
                    ArgumentValue::Boolean(text == "true")
                }
                Value::Scalar { text, .. } => ArgumentValue::Text(text.clone()),
                _ => {
                    self.error(
                        &value.position,
                        format!("queue argument `{}` must be a number, boolean or string", key.name),
                    );
                    continue;
                }
            };
            arguments.insert(key.name.clone(), argument);
        }
        arguments
    }

    fn redis_databases(&mut self, node: &Node) -> Vec<u8> {
        let mut databases = Vec::new();
        for item in self.list(node, "`databases`") {
            match item.as_scalar().map(str::parse::<u8>) {
                Some(Ok(number)) if number < 16 => databases.push(number),
                _ => self.push(
                    Diagnostic::at(&item.position, "a Redis database is a number from 0 to 15")
                        .with_hint("Redis has 16 databases unless configured otherwise"),
                ),
            }
        }
        databases
    }

    fn buckets(&mut self, node: &Node) -> Vec<Bucket> {
        let mut buckets: Vec<Bucket> = Vec::new();
        for item in self.list(node, "`buckets`") {
            let bucket = match &item.value {
                Value::Scalar { text, .. } => Some(Bucket {
                    name: text.clone(),
                    policy: BucketPolicy::Private,
                    prefix: None,
                }),
                Value::Mapping(fields) => {
                    self.check_keys(fields, BUCKET_FIELDS, "bucket", false);
                    let name = item.get("name").and_then(|n| self.non_empty_string(n, "bucket `name`"));
                    if item.get("name").is_none() {
                        self.error(&item.position, "a bucket needs a `name`");
                    }
                    let policy = match item.get("policy") {
                        None => Some(BucketPolicy::Private),
                        Some(n) => match n.as_scalar() {
                            Some("private" | "none") => Some(BucketPolicy::Private),
                            Some("download" | "public-read") => Some(BucketPolicy::Download),
                            Some("upload") => Some(BucketPolicy::Upload),
                            Some("public") => Some(BucketPolicy::Public),
                            other => {
                                let choices = ["private", "download", "upload", "public"];
                                let hint = other.and_then(|o| did_you_mean(o, choices)).map_or_else(
                                    || {
                                        "use private, download, upload or public (as `mc anonymous set` names them)"
                                            .to_string()
                                    },
                                    |s| format!("did you mean `{s}`?"),
                                );
                                self.push(
                                    Diagnostic::at(
                                        &n.position,
                                        format!("unknown bucket policy `{}`", other.unwrap_or("")),
                                    )
                                    .with_hint(hint),
                                );
                                None
                            }
                        },
                    };
                    let prefix = item.get("prefix").and_then(|n| self.string(n, "bucket `prefix`"));
                    name.zip(policy).map(|(name, policy)| Bucket { name, policy, prefix })
                }
                _ => {
                    self.error(&item.position, "a bucket must be a name or a mapping");
                    None
                }
            };
            let Some(bucket) = bucket else { continue };
            if let Err(reason) = check_bucket_name(&bucket.name) {
                self.push(
                    Diagnostic::at(
                        &item.position,
                        format!("invalid bucket name `{}`: {reason}", bucket.name),
                    )
                    .with_hint("S3 bucket names are 3-63 lowercase letters, digits, `.` and `-`"),
                );
            } else if buckets.iter().any(|b| b.name == bucket.name) {
                self.error(&item.position, format!("bucket `{}` is declared twice", bucket.name));
            } else {
                buckets.push(bucket);
            }
        }
        buckets
    }

    /// What a kind needs from its service for flowinfra to reach and provision it.
    fn kind_requirements(&mut self, service: &Service, x: &Flowinfra, node: &Node) {
        let kind = x.settings.kind();
        let position = node.get("x-flowinfra").map_or(&node.position, |n| &n.position).clone();
        let required_env: &[&str] = match kind {
            Kind::Mysql => &["MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD"],
            Kind::S3 => &["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"],
            Kind::Rabbitmq | Kind::Redis => &[],
        };
        let missing: Vec<&str> = required_env
            .iter()
            .copied()
            .filter(|name| service.environment.get(*name).is_none_or(|value| value.is_empty()))
            .collect();
        if !missing.is_empty() {
            let why = match kind {
                Kind::Mysql => "flowinfra logs in as the application user to check readiness and to migrate",
                _ => "flowinfra signs S3 requests with these credentials",
            };
            self.push(
                Diagnostic::at(
                    &position,
                    format!(
                        "service `{}` of kind {} needs environment {}",
                        service.name,
                        kind.as_str(),
                        missing.join(", ")
                    ),
                )
                .with_hint(format!(
                    "{why}; set them under `environment:`, e.g. {}: ${{{}}}",
                    missing[0], missing[0]
                )),
            );
        }
        if kind == Kind::Mysql
            && ![
                "MYSQL_ROOT_PASSWORD",
                "MYSQL_ALLOW_EMPTY_PASSWORD",
                "MYSQL_RANDOM_ROOT_PASSWORD",
            ]
            .iter()
            .any(|name| service.environment.get(*name).is_some_and(|v| !v.is_empty()))
        {
            self.push(
                Diagnostic::at(
                    &position,
                    format!(
                        "service `{}` of kind mysql needs MYSQL_ROOT_PASSWORD (or MYSQL_RANDOM_ROOT_PASSWORD)",
                        service.name
                    ),
                )
                .with_hint("the MySQL image refuses to initialise without one"),
            );
        }
        let port = kind.default_port();
        if service.published_port(port).is_none() {
            self.push(
                Diagnostic::at(
                    &position,
                    format!(
                        "service `{}` of kind {} must publish container port {port}",
                        service.name,
                        kind.as_str()
                    ),
                )
                .with_hint(format!(
                    "flowinfra reaches it from this machine; add e.g. ports: [\"127.0.0.1:{port}:{port}\"]"
                )),
            );
        }
    }

    // ---- cross-service rules --------------------------------------------

    fn dependencies(&mut self, services: &BTreeMap<String, Service>, nodes: &BTreeMap<String, (&Key, &Node)>) {
        for service in services.values() {
            let Some((_, node)) = nodes.get(&service.name) else {
                continue;
            };
            let Some(depends_node) = node.get("depends_on") else {
                continue;
            };
            for (key, _) in depends_node.as_mapping().unwrap_or_default() {
                if key.name == service.name {
                    self.error(&key.position, format!("service `{}` depends on itself", service.name));
                } else if !services.contains_key(&key.name) && !nodes.contains_key(&key.name) {
                    let hint = did_you_mean(&key.name, services.keys().map(String::as_str)).map_or_else(
                        || {
                            format!(
                                "services are: {}",
                                services.keys().cloned().collect::<Vec<_>>().join(", ")
                            )
                        },
                        |s| format!("did you mean `{s}`?"),
                    );
                    self.push(
                        Diagnostic::at(
                            &key.position,
                            format!("service `{}` depends on unknown service `{}`", service.name, key.name),
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
            self.push(
                Diagnostic::new(position, format!("dependency cycle: {}", cycle.join(" → ")))
                    .with_hint("remove one of these depends_on entries"),
            );
        }
    }

    fn port_clashes(&mut self, services: &BTreeMap<String, Service>, nodes: &BTreeMap<String, (&Key, &Node)>) {
        let mut seen: Vec<(&str, &Port)> = Vec::new();
        for service in services.values() {
            for port in &service.ports {
                let Some(host_port) = port.host_port else {
                    continue;
                };
                if let Some((other, _)) = seen.iter().find(|(_, p)| {
                    p.host_port == Some(host_port)
                        && p.protocol == port.protocol
                        && host_ips_overlap(&p.host_ip, &port.host_ip)
                }) {
                    let position = nodes
                        .get(&service.name)
                        .and_then(|(_, node)| node.get("ports"))
                        .map(|n| n.position.clone());
                    let message = if *other == service.name {
                        format!(
                            "service `{}` publishes host port {host_port}/{} twice",
                            service.name,
                            port.protocol.as_str()
                        )
                    } else {
                        format!(
                            "services `{other}` and `{}` both publish host port {host_port}/{}",
                            service.name,
                            port.protocol.as_str()
                        )
                    };
                    self.push(
                        Diagnostic::new(position, message)
                            .with_hint("give one of them another host port (e.g. through its port variable in .env)"),
                    );
                } else {
                    seen.push((&service.name, port));
                }
            }
        }
    }

    fn container_name_clashes(
        &mut self,
        services: &BTreeMap<String, Service>,
        nodes: &BTreeMap<String, (&Key, &Node)>,
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
                self.push(Diagnostic::new(
                    position,
                    format!(
                        "services `{other}` and `{}` both use container_name `{name}`",
                        service.name
                    ),
                ));
            }
        }
    }
}

/// Parses a Compose/Go duration: `1h`, `1m30s`, `500ms`, `1.5s`, `10us`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() {
            return Err(format!("expected a number at `{rest}`"));
        }
        let value: f64 = number.parse().map_err(|_| format!("`{number}` is not a number"))?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err("missing unit (ns, us, ms, s, m or h)".into()),
            unit => return Err(format!("unknown unit `{unit}` (use ns, us, ms, s, m or h)")),
        };
        total += value * seconds_per_unit;
        rest = &rest[unit_end..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err("too long".into());
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses one short-form port entry, expanding ranges. The host address
/// defaults to 127.0.0.1: flowinfra publishes to this machine only unless told.
pub fn parse_port(text: &str) -> Result<Vec<Port>, String> {
    let (mapping, protocol) = match text.rsplit_once('/') {
        Some((mapping, "tcp")) => (mapping, Protocol::Tcp),
        Some((mapping, "udp")) => (mapping, Protocol::Udp),
        Some((_, other)) => {
            return Err(format!("`{text}`: unknown protocol `{other}` (use tcp or udp)"));
        }
        None => (text, Protocol::Tcp),
    };
    let (host_ip, rest) = if let Some(stripped) = mapping.strip_prefix('[') {
        let (ip, rest) = stripped
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: unclosed `[` in IPv6 address"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("`{text}`: expected `:` after the IPv6 address"))?;
        (Some(ip), rest)
    } else {
        let parts: Vec<&str> = mapping.split(':').collect();
        match parts.len() {
            1 | 2 => (None, mapping),
            3 => (Some(parts[0]), &mapping[parts[0].len() + 1..]),
            _ => return Err(format!("`{text}`: too many `:`")),
        }
    };
    if let Some(ip) = host_ip
        && ip.parse::<IpAddr>().is_err()
    {
        return Err(format!("`{text}`: `{ip}` is not an IP address"));
    }
    let (host_part, container_part) = match rest.split_once(':') {
        Some((host, container)) => (Some(host), container),
        None => (None, rest),
    };
    let container = parse_port_range(container_part, text, false)?;
    let host = match host_part {
        None | Some("") => None,
        Some(host) => Some(parse_port_range(host, text, true)?),
    };
    if let Some((start, end)) = host
        && end - start != container.1 - container.0
        && start != end
    {
        return Err(format!(
            "`{text}`: the host range and the container range differ in size"
        ));
    }
    let host_ip = host_ip.unwrap_or("127.0.0.1").to_string();
    Ok((container.0..=container.1)
        .enumerate()
        .map(|(offset, container_port)| Port {
            host_ip: host_ip.clone(),
            host_port: host.map(|(start, end)| if start == end { start } else { start + offset as u16 }),
            container_port,
            protocol,
        })
        .collect())
}

fn parse_port_range(text: &str, whole: &str, allow_zero: bool) -> Result<(u16, u16), String> {
    let number = |part: &str| -> Result<u16, String> {
        match part.parse::<u32>() {
            Ok(0) if !allow_zero => Err(format!("`{whole}`: port 0 is not a valid container port")),
            Ok(value) if value <= 65535 => Ok(value as u16),
            Ok(value) => Err(format!("`{whole}`: port {value} is out of range (1-65535)")),
            Err(_) => Err(format!("`{whole}`: `{part}` is not a port number")),
        }
    };
    match text.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (number(start)?, number(end)?);
            if start > end {
                return Err(format!("`{whole}`: range {start}-{end} runs backwards"));
            }
            Ok((start, end))
        }
        None => {
            let port = number(text)?;
            Ok((port, port))
        }
    }
}

fn host_ips_overlap(a: &str, b: &str) -> bool {
    a == b || a == "0.0.0.0" || b == "0.0.0.0" || a == "::" || b == "::"
}

fn is_path_like(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

fn resolve_path(text: &str, position: &Position, project_dir: &Path) -> PathBuf {
    let path = if let Some(rest) = text.strip_prefix("~/") {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(rest)
    } else {
        PathBuf::from(text)
    };
    if path.is_absolute() {
        return path;
    }
    let base = position
        .file
        .parent()
        .filter(|p| position.file.exists() && !p.as_os_str().is_empty());
    let joined = match base {
        Some(dir) => dir.join(&path),
        None => project_dir.join(&path),
    };
    normalize_lexically(&joined)
}

/// Removes `.` and `..` without touching the filesystem.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn is_valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Compose's project-name rule: lowercase letters, digits, `-`, `_`, starting with a letter or digit.
pub fn normalize_project_name(name: &str) -> Option<String> {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    lowered.chars().next().filter(char::is_ascii_alphanumeric)?;
    Some(lowered)
}

fn check_bucket_name(name: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&name.len()) {
        return Err("it must be 3 to 63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err("it may hold only lowercase letters, digits, `.` and `-`");
    }
    let first_last_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !first_last_ok(name.chars().next()) || !first_last_ok(name.chars().last()) {
        return Err("it must start and end with a letter or digit");
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_compose() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("10"), Err("missing unit (ns, us, ms, s, m or h)".into()));
        assert_eq!(
            parse_duration("10 sec"),
            Err("unknown unit ` sec` (use ns, us, ms, s, m or h)".into())
        );
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn ports_default_to_loopback() {
        let ports = parse_port("3306:3306").unwrap();
        assert_eq!(
            ports,
            vec![Port {
                host_ip: "127.0.0.1".into(),
                host_port: Some(3306),
                container_port: 3306,
                protocol: Protocol::Tcp
            }]
        );
    }

    #[test]
    fn port_forms_parse() {
        assert_eq!(parse_port("3306").unwrap()[0].host_port, None);
        let explicit = parse_port("0.0.0.0:8080:80/udp").unwrap();
        assert_eq!(
            (
                explicit[0].host_ip.as_str(),
                explicit[0].host_port,
                explicit[0].protocol
            ),
            ("0.0.0.0", Some(8080), Protocol::Udp)
        );
        let v6 = parse_port("[::1]:9000:9000").unwrap();
        assert_eq!(v6[0].host_ip, "::1");
        let range = parse_port("8000-8002:9000-9002").unwrap();
        assert_eq!(
            range
                .iter()
                .map(|p| (p.host_port.unwrap(), p.container_port))
                .collect::<Vec<_>>(),
            [(8000, 9000), (8001, 9001), (8002, 9002)]
        );
        assert_eq!(parse_port("127.0.0.1::5672").unwrap()[0].host_port, None);
    }

    #[test]
    fn invalid_ports_are_rejected_with_reasons() {
        assert_eq!(
            parse_port("70000:80").unwrap_err(),
            "`70000:80`: port 70000 is out of range (1-65535)"
        );
        assert_eq!(parse_port("abc").unwrap_err(), "`abc`: `abc` is not a port number");
        assert_eq!(
            parse_port("80/sctp").unwrap_err(),
            "`80/sctp`: unknown protocol `sctp` (use tcp or udp)"
        );
        assert_eq!(
            parse_port("1.2.3:80:80").unwrap_err(),
            "`1.2.3:80:80`: `1.2.3` is not an IP address"
        );
        assert_eq!(
            parse_port("80:0").unwrap_err(),
            "`80:0`: port 0 is not a valid container port"
        );
        assert_eq!(
            parse_port("9-8:9-8").unwrap_err(),
            "`9-8:9-8`: range 9-8 runs backwards"
        );
        assert_eq!(
            parse_port("1-3:1-2").unwrap_err(),
            "`1-3:1-2`: the host range and the container range differ in size"
        );
    }

    #[test]
    fn project_names_normalise() {
        assert_eq!(normalize_project_name("My Project"), Some("myproject".into()));
        assert_eq!(normalize_project_name("_x"), None);
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(check_bucket_name("traffic-snapshots").is_ok());
        assert!(check_bucket_name("ab").is_err());
        assert!(check_bucket_name("Upper").is_err());
        assert!(check_bucket_name("-x-").is_err());
    }
}
