//! One service's Compose fields: image and build, command, environment,
//! ports, mounts, healthcheck, dependencies, restart and pull policies,
//! labels, profiles, networks. Its `x-flowinfra` is read by
//! [`crate::spec::kinds`]; rules across services are in [`super::rules`].

use std::collections::BTreeMap;

use super::Context;
use super::values::{read_command, read_duration, read_existing_dir, read_path};
use crate::spec::error::{Diagnostic, did_you_mean, hint_for};
use crate::spec::fields::{self, UNSUPPORTED_COMPOSE_SERVICE_FIELDS};
use crate::spec::kinds::{self, SettingsContext};
use crate::spec::model::*;
use crate::spec::reader::{Fields, Reader};
use crate::spec::syntax::{self, is_path_like, is_valid_service_name, parse_port, resolve_path};
use crate::spec::yaml::{Key, Node, Value};

/// The services whose namespaces `network_mode`, `ipc` or `pid` share (`service:NAME`).
pub(super) fn shared_namespace_services(network_mode: Option<&NetworkMode>, runtime: &RuntimeOptions) -> Vec<String> {
    let mut services = Vec::new();
    if let Some(NetworkMode::Service(service)) = network_mode {
        services.push(service.clone());
    }
    for mode in [&runtime.ipc, &runtime.pid].into_iter().flatten() {
        if let Some(service) = mode.strip_prefix("service:") {
            services.push(service.to_string());
        }
    }
    services
}

const HEALTHCHECK_FIELDS: Fields<'static> = Fields::new(
    "healthcheck",
    &[
        "test",
        "interval",
        "timeout",
        "retries",
        "start_period",
        "start_interval",
        "disable",
    ],
)
.with_extensions();
const DEPENDENCY_FIELDS: Fields<'static> =
    Fields::new("depends_on", &["condition", "restart", "required"]).with_extensions();
const BUILD_FIELDS: Fields<'static> =
    Fields::new("build", &["context", "dockerfile", "args", "target"]).with_extensions();
const PORT_FIELDS: Fields<'static> = Fields::new(
    "port",
    &[
        "target",
        "published",
        "host_ip",
        "protocol",
        "mode",
        "name",
        "app_protocol",
    ],
)
.with_extensions();
const MOUNT_FIELDS: Fields<'static> =
    Fields::new("volume mount", &["type", "source", "target", "read_only"]).with_extensions();
const SERVICE_NETWORK_FIELDS: Fields<'static> = Fields::new(
    "service network",
    &[
        "aliases",
        "ipv4_address",
        "ipv6_address",
        "link_local_ips",
        "mac_address",
        "driver_opts",
        "priority",
    ],
)
.with_extensions();

/// What the top level declares, which services refer to.
pub(super) struct Declared<'a> {
    pub project: &'a str,
    pub volumes: &'a BTreeMap<String, VolumeSpec>,
    pub networks: &'a BTreeMap<String, NetworkSpec>,
    pub secrets: &'a BTreeMap<String, FileObject>,
    pub configs: &'a BTreeMap<String, FileObject>,
}

/// Reads the service `key` whose mapping is `node`; `None` when it is too broken to use.
pub(super) fn read_service(
    r: &mut Reader,
    context: &Context<'_>,
    declared: &Declared<'_>,
    key: &Key,
    node: &Node,
) -> Option<Service> {
    // As in Compose, what matters only when the service runs (an image to
    // run) is not required of a service that no active profile enables.
    let inactive = node.get("profiles").is_some_and(|profiles| {
        let names: Vec<&str> = match &profiles.value {
            Value::Sequence(items) => items.iter().filter_map(Node::as_scalar).collect(),
            Value::Scalar { text, .. } => vec![text.as_str()],
            _ => Vec::new(),
        };
        !names.is_empty() && !names.iter().any(|name| context.active_profiles.contains(*name))
    });
    ServiceReader {
        r,
        context,
        declared,
        inactive,
    }
    .service(key, node)
}

struct ServiceReader<'a, 'c> {
    r: &'a mut Reader,
    context: &'a Context<'c>,
    declared: &'a Declared<'a>,
    /// Whether no active profile enables the service.
    inactive: bool,
}

impl ServiceReader<'_, '_> {
    /// Unknown keys are errors; valid Compose fields flowinfra does not implement are named as such.
    fn check_service_keys(&mut self, entries: &[(Key, Node)]) {
        let supported = fields::names(fields::SERVICE);
        let service_fields = Fields::new("service", &supported).with_extensions();
        for key in Reader::unknown_keys(entries, &service_fields) {
            if UNSUPPORTED_COMPOSE_SERVICE_FIELDS.contains(&key.name.as_str()) {
                let first = self.r.first_time("supported service fields");
                self.r.push(
                    Diagnostic::at(
                        &key.position,
                        match fields::unsupported_reason(&key.name) {
                            Some(reason) => {
                                format!("`{}` is a Compose field that flowinfra does not support: {reason}", key.name)
                            }
                            None => format!("`{}` is a Compose field that flowinfra does not support", key.name),
                        },
                    )
                    .with_hint(if first {
                        format!(
                            "remove it, or keep it in a file used only with docker compose; supported service fields: {}",
                            supported.join(", ")
                        )
                    } else {
                        "remove it, or keep it in a file used only with docker compose".to_string()
                    }),
                );
            } else {
                self.r.unknown_field(key, &service_fields);
            }
        }
    }

    fn service(&mut self, key: &Key, node: &Node) -> Option<Service> {
        let project = self.declared.project;
        let name = key.name.clone();
        if !is_valid_service_name(&name) {
            self.r.push(
                Diagnostic::at(&key.position, format!("invalid service name `{name}`"))
                    .with_hint("use letters, digits, `.`, `-` and `_`, starting with a letter or digit"),
            );
        }
        let what = format!("service `{name}`");
        let fields = self.r.mapping(node, &what)?;
        self.check_service_keys(fields);

        let build = node.get("build").and_then(|n| self.build(n));
        let image = match node.get("image") {
            Some(n) if self.inactive && n.as_scalar().is_some_and(|image| image.trim().is_empty()) => None,
            Some(n) => self.image(n),
            None if build.is_some() => Some(format!("{project}-{name}")),
            None => {
                self.r.push(
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
            let entries = self.r.mapping(env_node, "`environment`").unwrap_or_default();
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
                    _ => self.r.error(
                        &value.position,
                        format!("environment variable `{}` must be a string", env_key.name),
                    ),
                }
            }
        }

        let command = node.get("command").and_then(|n| read_command(self.r, n, "`command`"));
        let entrypoint = node
            .get("entrypoint")
            .and_then(|n| read_command(self.r, n, "`entrypoint`"));
        let ports = node.get("ports").map(|n| self.ports(n)).unwrap_or_default();
        let mounts = node.get("volumes").map(|n| self.mounts(n)).unwrap_or_default();
        let healthcheck = node.get("healthcheck").and_then(|n| self.healthcheck(n));
        let depends_on = node.get("depends_on").map(|n| self.depends_on(n)).unwrap_or_default();
        let mut restart = node.get("restart").and_then(|n| self.restart(n));
        let runtime = super::runtime::read_runtime_options(self.r, &name, node, &mut restart);
        // `label_file` entries first, `labels` over them, as Compose merges them.
        let mut labels = BTreeMap::new();
        if let Some(files) = node.get("label_file") {
            for file_node in self.r.list_or_one(files) {
                self.label_file(file_node, &mut labels);
            }
        }
        labels.extend(
            node.get("labels")
                .map(|n| self.r.string_map(n, "label"))
                .unwrap_or_default(),
        );
        for label in labels.keys().filter(|label| label.starts_with("io.flowinfra.")) {
            self.r.error(
                // A label from a `label_file` is reported at that field.
                &node
                    .get("labels")
                    .or_else(|| node.get("label_file"))
                    .unwrap_or(node)
                    .position,
                format!("label `{label}` is reserved for flowinfra"),
            );
        }
        let pull_policy = match node.get("pull_policy") {
            Some(n) => self.pull_policy(n).unwrap_or(PullPolicy::Missing),
            None => PullPolicy::Missing,
        };
        if pull_policy == PullPolicy::Build && build.is_none() {
            self.r.error(
                &node.get("pull_policy").unwrap().position,
                format!("`pull_policy: build` needs a `build:` section in {what}"),
            );
        }
        let profiles = node
            .get("profiles")
            .map(|n| self.r.string_list(n, "`profiles`"))
            .unwrap_or_default();
        let network_mode = node
            .get("network_mode")
            .and_then(|n| self.r.non_empty_string(n, "`network_mode`"))
            .map(|text| NetworkMode::parse(&text));
        let service_networks = match (node.get("networks"), &network_mode) {
            (Some(n), Some(_)) => {
                self.r.push(
                    Diagnostic::at(&n.position, format!("{what} sets both `network_mode` and `networks`"))
                        .with_hint("they exclude each other, as in Compose: keep one"),
                );
                BTreeMap::new()
            }
            (Some(n), None) => self.service_networks(n),
            (None, Some(_)) => BTreeMap::new(),
            (None, None) => BTreeMap::from([("default".to_string(), ServiceNetwork::default())]),
        };
        let secrets = node
            .get("secrets")
            .map(|n| super::files::file_mounts(self.r, n, &name, super::files::SECRETS, self.declared.secrets))
            .unwrap_or_default();
        let configs = node
            .get("configs")
            .map(|n| super::files::file_mounts(self.r, n, &name, super::files::CONFIGS, self.declared.configs))
            .unwrap_or_default();
        if runtime.read_only {
            super::files::check_copied_into_read_only(self.r, node, &name, self.declared.secrets, &secrets, "secret");
            super::files::check_copied_into_read_only(self.r, node, &name, self.declared.configs, &configs, "config");
        }
        let container_name = node
            .get("container_name")
            .and_then(|n| self.r.non_empty_string(n, "`container_name`"));
        // An empty hostname (`hostname: ${HOSTNAME:-}`) is no hostname, as in Compose.
        let hostname = node
            .get("hostname")
            .and_then(|n| self.r.string(n, "`hostname`"))
            .filter(|hostname| !hostname.is_empty());

        let settings_context = SettingsContext {
            project_dir: self.context.project_dir,
            image: image.as_deref(),
        };
        let flowinfra = node
            .get("x-flowinfra")
            .and_then(|n| kinds::read_flowinfra(self.r, n, &settings_context));

        let mut depends_on = depends_on;
        // A linked service is a dependency, as in Compose: it must exist when
        // the link is made. So is a service whose namespace (network, IPC,
        // PID) or volumes this one shares.
        let started = |restart| Dependency {
            condition: DependencyCondition::ServiceStarted,
            restart,
            required: true,
        };
        for link in &runtime.links {
            let target = link.split_once(':').map_or(link.as_str(), |(service, _)| service);
            depends_on.entry(target.to_string()).or_insert(started(false));
        }
        for shared in shared_namespace_services(network_mode.as_ref(), &runtime) {
            depends_on.entry(shared).or_insert(started(true));
        }
        for from in runtime
            .volumes_from
            .iter()
            .filter(|from| from.kind == VolumesFromKind::Service)
        {
            depends_on.entry(from.name.clone()).or_insert(started(false));
        }
        let service = Service {
            runtime,
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
            network_mode,
            secrets,
            configs,
            post_start: node
                .get("post_start")
                .map(|n| self.hooks(n, "post_start"))
                .unwrap_or_default(),
            pre_stop: node
                .get("pre_stop")
                .map(|n| self.hooks(n, "pre_stop"))
                .unwrap_or_default(),
            flowinfra,
        };
        if let Some(x) = &service.flowinfra {
            kinds::check_service(self.r, &service, x, node);
            kinds::check_job(self.r, &service, node);
        }
        Some(service)
    }

    fn image(&mut self, node: &Node) -> Option<String> {
        let image = self.r.non_empty_string(node, "`image`")?;
        if image.chars().any(char::is_whitespace) {
            self.r.error(
                &node.position,
                format!("invalid image reference `{image}`: it contains whitespace"),
            );
            return None;
        }
        // An invalid reference is an error when a blank variable made it so
        // (the error names the variable); otherwise, as `docker compose
        // config` does, it loads, with a warning: only pulling it fails.
        let blanked = self.context.blanked_values.contains(&node.position);
        if !syntax::is_valid_image_reference(&image) && !blanked {
            self.r.warn(format!(
                "image reference `{image}` is not valid; `up` cannot pull or run it"
            ));
        } else if !syntax::is_valid_image_reference(&image) {
            self.r.push(
                Diagnostic::at(&node.position, format!("invalid image reference `{image}`")).with_hint(
                    "an image is `[HOST[:PORT]/]NAME[:TAG][@DIGEST]`, the name in lowercase (e.g. `mysql:8.4`)",
                ),
            );
            return None;
        }
        Some(image)
    }

    fn build(&mut self, node: &Node) -> Option<Build> {
        let fields = self.r.mapping(node, "`build`")?;
        self.r.check_keys(fields, &BUILD_FIELDS);
        let Some(context_node) = node.get("context") else {
            self.r.error(&node.position, "`build` needs a `context` directory");
            return None;
        };
        let context = read_existing_dir(self.r, context_node, "build context", self.context.project_dir)?;
        let dockerfile = node
            .get("dockerfile")
            .and_then(|n| self.r.non_empty_string(n, "`dockerfile`"))
            .unwrap_or_else(|| "Dockerfile".into());
        if !context.join(&dockerfile).is_file() {
            let position = node.get("dockerfile").unwrap_or(context_node).position.clone();
            self.r.error(
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
            .map(|n| self.r.string_map(n, "build argument"))
            .unwrap_or_default();
        let target = node.get("target").and_then(|n| self.r.non_empty_string(n, "`target`"));
        Some(Build {
            context,
            dockerfile,
            args,
            target,
        })
    }

    /// One `env_file` entry: a path, or `{path, required, format}` (Compose
    /// 2.24); a missing file with `required: false` adds nothing.
    fn env_file(&mut self, node: &Node, environment: &mut BTreeMap<String, String>) {
        let (path_node, required) = match &node.value {
            Value::Mapping(entries) => {
                self.r
                    .check_keys(entries, &Fields::new("env_file", &["path", "required", "format"]));
                let Some(path_node) = node.get("path") else {
                    self.r.error(&node.position, "an `env_file` entry needs `path`");
                    return;
                };
                let required = node
                    .get("required")
                    .and_then(|n| self.r.bool(n, "`required`"))
                    .unwrap_or(true);
                (path_node, required)
            }
            _ => (node, true),
        };
        let Some(path) = read_path(self.r, path_node, "`env_file`", self.context.project_dir) else {
            return;
        };
        if !required && !path.exists() {
            return;
        }
        let node = path_node;
        match dotenvy::from_path_iter(&path) {
            Ok(iter) => {
                for item in iter {
                    match item {
                        Ok((name, value)) => {
                            environment.insert(name, value);
                        }
                        Err(err) => {
                            self.r.error(
                                &node.position,
                                format!("cannot read env file `{}`: {err}", path.display()),
                            );
                            return;
                        }
                    }
                }
            }
            Err(err) => self.r.push(
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
            self.r.error(&node.position, "`ports` must be a list");
            return Vec::new();
        };
        let mut ports = Vec::new();
        for item in items {
            let parsed = match &item.value {
                Value::Scalar { text, .. } => parse_port(text),
                Value::Mapping(fields) => {
                    self.r.check_keys(fields, &PORT_FIELDS);
                    self.long_port(item)
                }
                _ => Err("a port must be a string such as \"127.0.0.1:3306:3306\" or a mapping".into()),
            };
            match parsed {
                Ok(mut expanded) => ports.append(&mut expanded),
                Err(reason) => self.r.push(
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
        let mut ports = parse_port(&short)?;
        for port in &mut ports {
            port.name = text("name");
            port.app_protocol = text("app_protocol");
        }
        Ok(ports)
    }

    /// `post_start` or `pre_stop`: a list of `{command, user, privileged, working_dir, environment}`.
    fn hooks(&mut self, node: &Node, field: &str) -> Vec<Hook> {
        let mut hooks = Vec::new();
        for item in self.r.list(node, &format!("`{field}`")) {
            let Some(entries) = self.r.mapping(item, &format!("a `{field}` hook")) else {
                continue;
            };
            self.r.check_keys(
                entries,
                &Fields::new("hook", &["command", "user", "privileged", "working_dir", "environment"]),
            );
            let command = match item.get("command") {
                Some(n) => read_command(self.r, n, "hook `command`").filter(|command| !command.is_empty()),
                None => None,
            };
            let Some(command) = command else {
                self.r
                    .error(&item.position, format!("a `{field}` hook needs a `command`"));
                continue;
            };
            let text =
                |r: &mut Reader, name: &str| item.get(name).and_then(|n| r.non_empty_string(n, &format!("`{name}`")));
            hooks.push(Hook {
                command,
                user: text(self.r, "user"),
                privileged: item
                    .get("privileged")
                    .and_then(|n| self.r.bool(n, "`privileged`"))
                    .unwrap_or(false),
                working_dir: text(self.r, "working_dir"),
                environment: item
                    .get("environment")
                    .map(|n| super::runtime::key_values(self.r, n, "hook `environment`", '='))
                    .unwrap_or_default(),
            });
        }
        hooks
    }

    /// One `label_file` entry: `KEY=VALUE` lines, read as env files are.
    fn label_file(&mut self, node: &Node, labels: &mut BTreeMap<String, String>) {
        let Some(path) = read_path(self.r, node, "`label_file`", self.context.project_dir) else {
            return;
        };
        let read: Result<Vec<(String, String)>, dotenvy::Error> =
            dotenvy::from_path_iter(&path).and_then(|iter| iter.collect());
        match read {
            Ok(entries) => labels.extend(entries),
            Err(err) => self.r.push(
                Diagnostic::at(
                    &node.position,
                    format!("cannot read label file `{}`: {err}", path.display()),
                )
                .with_hint("paths are relative to the spec file that names them"),
            ),
        }
    }

    fn mounts(&mut self, node: &Node) -> Vec<Mount> {
        let volumes = self.declared.volumes;
        let Value::Sequence(items) = &node.value else {
            self.r.error(&node.position, "`volumes` must be a list");
            return Vec::new();
        };
        let mut mounts = Vec::new();
        for item in items {
            let mount = match &item.value {
                Value::Scalar { text, .. } => self.short_mount(text, item),
                Value::Mapping(fields) => {
                    self.r.check_keys(fields, &MOUNT_FIELDS);
                    self.long_mount(item)
                }
                _ => {
                    self.r.error(
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
                self.r
                    .push(Diagnostic::at(&item.position, format!("volume `{name}` is not declared")).with_hint(hint));
                continue;
            }
            if !mount.target.starts_with('/') {
                self.r.error(
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
                self.r.error(
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
                        self.r.error(
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
            .and_then(|n| self.r.string(n, "mount `type`"))
            .unwrap_or_else(|| "volume".into());
        let target = node
            .get("target")
            .and_then(|n| self.r.non_empty_string(n, "mount `target`"));
        let Some(target) = target else {
            self.r.error(&node.position, "a volume mount needs `target`");
            return None;
        };
        let read_only = node
            .get("read_only")
            .and_then(|n| self.r.bool(n, "`read_only`"))
            .unwrap_or(false);
        let source = node.get("source");
        let source = match (kind.as_str(), source) {
            ("volume", None) => MountSource::Anonymous,
            ("volume", Some(n)) => MountSource::Volume {
                name: self.r.non_empty_string(n, "mount `source`")?,
            },
            ("bind", Some(n)) => MountSource::Bind {
                path: read_path(self.r, n, "mount `source`", self.context.project_dir)?,
            },
            ("bind", None) => {
                self.r.error(&node.position, "a bind mount needs `source`");
                return None;
            }
            (other, _) => {
                self.r.error(
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
        let fields = self.r.mapping(node, "`healthcheck`")?;
        self.r.check_keys(fields, &HEALTHCHECK_FIELDS);
        let disabled = node
            .get("disable")
            .and_then(|n| self.r.bool(n, "`disable`"))
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
                    self.r.error(&n.position, "healthcheck `test` must not be empty");
                    return None;
                }
                vec!["CMD-SHELL".to_string(), text.clone()]
            }
            Some(n) => {
                let test = read_command(self.r, n, "healthcheck `test`")?;
                match test.first().map(String::as_str) {
                    Some("NONE") => test,
                    Some("CMD" | "CMD-SHELL") if test.len() > 1 => test,
                    _ => {
                        self.r.push(
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
            // `disable: false` alone overrides nothing: the image's healthcheck stays, as in Compose.
            None if fields.iter().all(|(key, _)| key.name == "disable") => return None,
            None => {
                self.r
                    .error(&node.position, "healthcheck needs `test` (or `disable: true`)");
                return None;
            }
        };
        Some(Healthcheck {
            test,
            interval: node
                .get("interval")
                .and_then(|n| read_duration(self.r, n, "`interval`")),
            timeout: node.get("timeout").and_then(|n| read_duration(self.r, n, "`timeout`")),
            retries: node.get("retries").and_then(|n| self.r.unsigned(n, "`retries`")),
            start_period: node
                .get("start_period")
                .and_then(|n| read_duration(self.r, n, "`start_period`")),
            start_interval: node
                .get("start_interval")
                .and_then(|n| read_duration(self.r, n, "`start_interval`")),
        })
    }

    fn depends_on(&mut self, node: &Node) -> BTreeMap<String, Dependency> {
        let mut dependencies = BTreeMap::new();
        let Some(entries) = self.r.mapping(node, "`depends_on`") else {
            return dependencies;
        };
        for (key, value) in entries {
            let fields = self
                .r
                .mapping(value, &format!("dependency `{}`", key.name))
                .unwrap_or_default();
            self.r.check_keys(fields, &DEPENDENCY_FIELDS);
            let condition = match value.get("condition") {
                None => DependencyCondition::ServiceStarted,
                Some(n) => match n.as_scalar() {
                    Some("service_started") => DependencyCondition::ServiceStarted,
                    Some("service_healthy") => DependencyCondition::ServiceHealthy,
                    Some("service_completed_successfully") => DependencyCondition::ServiceCompletedSuccessfully,
                    other => {
                        let choices = ["service_started", "service_healthy", "service_completed_successfully"];
                        let hint = hint_for(other.unwrap_or(""), choices, || {
                            format!("use one of: {}", choices.join(", "))
                        });
                        self.r.push(
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
                .and_then(|n| self.r.bool(n, "`restart`"))
                .unwrap_or(false);
            let required = value
                .get("required")
                .and_then(|n| self.r.bool(n, "`required`"))
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
        let text = self.r.string(node, "`restart`")?;
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
                    let hint = hint_for(other, choices, || {
                        "use no, always, on-failure[:N] or unless-stopped".to_string()
                    });
                    self.r.push(
                        Diagnostic::at(&node.position, format!("invalid restart policy `{other}`")).with_hint(hint),
                    );
                    return None;
                }
            },
        };
        Some(policy)
    }

    fn pull_policy(&mut self, node: &Node) -> Option<PullPolicy> {
        let text = self.r.string(node, "`pull_policy`")?;
        Some(match text.as_str() {
            "missing" | "if_not_present" => PullPolicy::Missing,
            "always" => PullPolicy::Always,
            "never" => PullPolicy::Never,
            "build" => PullPolicy::Build,
            other => {
                let choices = ["always", "never", "missing", "if_not_present", "build"];
                let hint = hint_for(other, choices, || format!("flowinfra supports: {}", choices.join(", ")));
                self.r
                    .push(Diagnostic::at(&node.position, format!("unsupported pull_policy `{other}`")).with_hint(hint));
                return None;
            }
        })
    }

    fn service_networks(&mut self, node: &Node) -> BTreeMap<String, ServiceNetwork> {
        let networks = self.declared.networks;
        let mut joined = BTreeMap::new();
        let Some(entries) = self.r.mapping(node, "service `networks`") else {
            return joined;
        };
        for (key, value) in entries {
            if !networks.contains_key(&key.name) {
                let hint = hint_for(&key.name, networks.keys().map(String::as_str), || {
                    "declare it under the top-level `networks:`".to_string()
                });
                self.r.push(
                    Diagnostic::at(&key.position, format!("network `{}` is not declared", key.name)).with_hint(hint),
                );
                continue;
            }
            let fields = self
                .r
                .mapping(value, &format!("network `{}`", key.name))
                .unwrap_or_default();
            self.r.check_keys(fields, &SERVICE_NETWORK_FIELDS);
            let text = |r: &mut Reader, field: &str| {
                value
                    .get(field)
                    .and_then(|n| r.string(n, &format!("`{field}`")))
                    .filter(|text| !text.is_empty())
            };
            let ipv4_address = text(self.r, "ipv4_address");
            let ipv6_address = text(self.r, "ipv6_address");
            for (field, address, v4) in [
                ("ipv4_address", &ipv4_address, true),
                ("ipv6_address", &ipv6_address, false),
            ] {
                if let Some(address) = address {
                    let valid = match address.parse::<std::net::IpAddr>() {
                        Ok(ip) => ip.is_ipv4() == v4,
                        Err(_) => false,
                    };
                    if !valid {
                        self.r.error(
                            &value.get(field).expect("read above").position,
                            format!("`{field}` `{address}` is not an IPv{} address", if v4 { 4 } else { 6 }),
                        );
                    }
                }
            }
            let network = ServiceNetwork {
                aliases: value
                    .get("aliases")
                    .map(|n| self.r.string_list(n, "`aliases`"))
                    .unwrap_or_default(),
                ipv4_address,
                ipv6_address,
                link_local_ips: value
                    .get("link_local_ips")
                    .map(|n| self.r.string_list(n, "`link_local_ips`"))
                    .unwrap_or_default(),
                mac_address: text(self.r, "mac_address"),
                driver_opts: value
                    .get("driver_opts")
                    .map(|n| self.r.string_map(n, "network driver option"))
                    .unwrap_or_default(),
                priority: value
                    .get("priority")
                    .and_then(|n| super::runtime::read_integer(self.r, n, "priority"))
                    .unwrap_or(0),
            };
            joined.insert(key.name.clone(), network);
        }
        joined
    }
}
