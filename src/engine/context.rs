//! Which engine to talk to, chosen as the docker CLI chooses it: pure
//! resolution from the environment and the Docker config directory (its
//! `config.json` and context store) to an [`EngineTarget`]. Connecting is
//! [`Engine::connect_target`](super::Engine::connect_target)'s job.
//!
//! The order (docker/cli `resolveContextName`):
//! 1. `--context NAME` (the caller's flag);
//! 2. `DOCKER_HOST` (non-empty): the "default" context at that address;
//! 3. `DOCKER_CONTEXT` (non-empty);
//! 4. `currentContext` in `$DOCKER_CONFIG/config.json` (`~/.docker` when unset);
//! 5. the "default" context: `DOCKER_HOST` or the local socket.
//!
//! A named context's endpoint is `contexts/meta/<sha256 of name>/meta.json`
//! (`Endpoints.docker.Host`, `.SkipTLSVerify`) and its TLS files
//! `contexts/tls/<sha256 of name>/docker/{ca,cert,key}.pem`. The "default"
//! context takes TLS from `DOCKER_TLS_VERIFY` / `DOCKER_TLS` and
//! `DOCKER_CERT_PATH` (the config directory when unset), as the CLI does.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where the engine is when nothing chooses another one.
pub const DEFAULT_ADDRESS: &str = "unix:///var/run/docker.sock";
/// The address the CLI uses when TLS is on and no host is given.
const DEFAULT_TLS_ADDRESS: &str = "tcp://localhost:2376";
/// The context name meaning "DOCKER_HOST or the local socket"; never stored.
pub const DEFAULT_CONTEXT: &str = "default";

/// The engine to connect to and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineTarget {
    /// `unix:///…`, `tcp://host:port`, `http://…`, `https://…` or `ssh://[user@]host`.
    pub address: String,
    /// What chose it.
    pub source: TargetSource,
    /// The context's name (`default` for `DOCKER_HOST` and the local socket).
    pub context: String,
    /// TLS material, for `tcp://`/`https://` addresses with TLS on.
    pub tls: Option<TlsFiles>,
}

/// What chose the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSource {
    /// The caller's `--context` flag.
    Flag,
    /// `DOCKER_CONTEXT`.
    EnvContext,
    /// `DOCKER_HOST`.
    EnvHost,
    /// `currentContext` in this config file.
    ConfigContext { config_file: PathBuf },
    /// Nothing: the local socket.
    Default,
}

/// TLS files of an endpoint. Each file is optional as in the CLI: without
/// `ca` the system roots are trusted; without `cert`/`key` no client
/// certificate is offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The server's certificate is not verified (context `SkipTLSVerify`,
    /// or `DOCKER_TLS` without `DOCKER_TLS_VERIFY`).
    pub skip_verify: bool,
}

impl EngineTarget {
    /// The local socket, chosen by nothing.
    pub fn local() -> EngineTarget {
        EngineTarget {
            address: DEFAULT_ADDRESS.to_string(),
            source: TargetSource::Default,
            context: DEFAULT_CONTEXT.to_string(),
            tls: None,
        }
    }

    /// `address` as given by the caller (no context, no TLS).
    pub fn address(address: &str) -> EngineTarget {
        EngineTarget {
            address: address.to_string(),
            source: TargetSource::Default,
            context: DEFAULT_CONTEXT.to_string(),
            tls: None,
        }
    }

    /// Whether the engine may be on another machine: its published ports are
    /// then not on this machine's 127.0.0.1 and must be forwarded. Only a
    /// unix socket or a loopback TCP address is known to be local.
    pub fn is_remote(&self) -> bool {
        let Some((scheme, rest)) = self.address.split_once("://") else {
            return true;
        };
        match scheme {
            "unix" | "npipe" => false,
            "tcp" | "http" | "https" => {
                let authority = rest.split('/').next().unwrap_or_default();
                let host = match authority.rsplit_once(':') {
                    Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
                    _ => authority,
                };
                let host = host.trim_start_matches('[').trim_end_matches(']');
                !(host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()))
            }
            _ => true,
        }
    }

    /// Who chose this engine, for messages: `DOCKER_CONTEXT=box chose ssh://dev@box`.
    pub fn chosen_by(&self) -> String {
        format!("{} chose {}", self.chooser(), self.address)
    }

    /// What chose this engine, without the address: `DOCKER_CONTEXT=box`.
    pub fn chooser(&self) -> String {
        match &self.source {
            TargetSource::Flag => format!("--context {}", self.context),
            TargetSource::EnvContext => format!("DOCKER_CONTEXT={}", self.context),
            TargetSource::EnvHost => "DOCKER_HOST".to_string(),
            TargetSource::ConfigContext { config_file } => {
                format!("the current context \"{}\" in {}", self.context, config_file.display())
            }
            TargetSource::Default => {
                "the default (no --context, DOCKER_HOST, DOCKER_CONTEXT or current context)".into()
            }
        }
    }
}

/// What resolution reads: the `--context` flag, the environment, the
/// config directory. Build it with [`ResolveInputs::from_process`] or, in
/// tests, by hand.
#[derive(Debug, Clone, Default)]
pub struct ResolveInputs {
    pub flag_context: Option<String>,
    pub env: HashMap<String, String>,
    /// `$HOME`, for `~/.docker` when `DOCKER_CONFIG` is unset.
    pub home: Option<PathBuf>,
}

impl ResolveInputs {
    /// The process's environment and home directory, and the caller's flag.
    pub fn from_process(flag_context: Option<&str>) -> ResolveInputs {
        ResolveInputs {
            flag_context: flag_context.map(str::to_string),
            env: std::env::vars().collect(),
            home: std::env::home_dir(),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str).filter(|value| !value.is_empty())
    }

    /// `DOCKER_CONFIG`, else `~/.docker`.
    pub fn config_dir(&self) -> Option<PathBuf> {
        match self.var("DOCKER_CONFIG") {
            Some(dir) => Some(PathBuf::from(dir)),
            None => self.home.as_ref().map(|home| home.join(".docker")),
        }
    }
}

/// Why no engine could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("Docker context \"{name}\" ({chooser}) does not exist: no {}", meta.display())]
    NotFound {
        name: String,
        chooser: String,
        meta: PathBuf,
    },
    #[error("cannot read {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("Docker context \"{name}\" has no docker endpoint in {}", meta.display())]
    NoDockerEndpoint { name: String, meta: PathBuf },
    #[error("neither DOCKER_CONFIG nor HOME is set, so the Docker context \"{name}\" cannot be looked up")]
    NoConfigDir { name: String },
}

impl ContextError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            ContextError::NotFound { .. } => {
                "list the contexts with `docker context ls`, create it with `docker context create`, \
                 or choose another with --context / DOCKER_CONTEXT"
                    .into()
            }
            ContextError::NoConfigDir { .. } => "set DOCKER_CONFIG to the Docker config directory".into(),
            _ => "fix or recreate the context (`docker context rm` / `docker context create`)".into(),
        }
    }
}

/// Chooses the engine from `inputs` (see the module documentation for the order).
pub fn resolve(inputs: &ResolveInputs) -> Result<EngineTarget, ContextError> {
    if let Some(name) = inputs.flag_context.as_deref().filter(|name| !name.is_empty()) {
        return named(inputs, name, TargetSource::Flag);
    }
    if inputs.var("DOCKER_HOST").is_some() {
        return Ok(default_endpoint(inputs, TargetSource::EnvHost));
    }
    if let Some(name) = inputs.var("DOCKER_CONTEXT") {
        return named(inputs, name, TargetSource::EnvContext);
    }
    if let Some(dir) = inputs.config_dir() {
        let config_file = dir.join("config.json");
        if let Some(name) = current_context(&config_file)? {
            return named(inputs, &name, TargetSource::ConfigContext { config_file });
        }
    }
    Ok(default_endpoint(inputs, TargetSource::Default))
}

/// The `currentContext` of a `config.json`; `None` when the file or the field is absent.
fn current_context(config_file: &Path) -> Result<Option<String>, ContextError> {
    let text = match std::fs::read_to_string(config_file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ContextError::Unreadable {
                path: config_file.to_path_buf(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let config: serde_json::Value = serde_json::from_str(&text).map_err(|error| ContextError::Invalid {
        path: config_file.to_path_buf(),
        reason: error.to_string(),
    })?;
    Ok(config
        .get("currentContext")
        .and_then(serde_json::Value::as_str)
        .filter(|name| !name.is_empty())
        .map(str::to_string))
}

/// The "default" context: `DOCKER_HOST` or the local socket, TLS from the environment.
fn default_endpoint(inputs: &ResolveInputs, source: TargetSource) -> EngineTarget {
    let verify = inputs.var("DOCKER_TLS_VERIFY").is_some();
    let tls_on = verify || inputs.var("DOCKER_TLS").is_some();
    let address = match inputs.var("DOCKER_HOST") {
        Some(host) => host.to_string(),
        None if tls_on => DEFAULT_TLS_ADDRESS.to_string(),
        None => DEFAULT_ADDRESS.to_string(),
    };
    let tls = (tls_on && !is_socket(&address)).then(|| {
        let dir = inputs
            .var("DOCKER_CERT_PATH")
            .map(PathBuf::from)
            .or_else(|| inputs.config_dir())
            .unwrap_or_default();
        TlsFiles {
            ca: existing(dir.join("ca.pem")),
            cert: existing(dir.join("cert.pem")),
            key: existing(dir.join("key.pem")),
            skip_verify: !verify,
        }
    });
    EngineTarget {
        address,
        source,
        context: DEFAULT_CONTEXT.to_string(),
        tls,
    }
}

/// A context by name, from the store (or "default").
fn named(inputs: &ResolveInputs, name: &str, source: TargetSource) -> Result<EngineTarget, ContextError> {
    if name == DEFAULT_CONTEXT {
        return Ok(default_endpoint(inputs, source));
    }
    let dir = inputs
        .config_dir()
        .ok_or_else(|| ContextError::NoConfigDir { name: name.into() })?;
    let id = format!("{:x}", Sha256::digest(name.as_bytes()));
    let meta = dir.join("contexts").join("meta").join(&id).join("meta.json");
    let text = match std::fs::read_to_string(&meta) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let chooser = EngineTarget {
                address: String::new(),
                source,
                context: name.to_string(),
                tls: None,
            }
            .chosen_by();
            return Err(ContextError::NotFound {
                name: name.into(),
                chooser: chooser.trim_end_matches(" chose ").to_string(),
                meta,
            });
        }
        Err(source) => return Err(ContextError::Unreadable { path: meta, source }),
    };
    let parsed: ContextMeta = serde_json::from_str(&text).map_err(|error| ContextError::Invalid {
        path: meta.clone(),
        reason: error.to_string(),
    })?;
    let endpoint = parsed.endpoints.docker.ok_or_else(|| ContextError::NoDockerEndpoint {
        name: name.into(),
        meta: meta.clone(),
    })?;
    // An endpoint without a host is the client's default, as in the CLI.
    let address = endpoint
        .host
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_string());
    let tls_dir = dir.join("contexts").join("tls").join(&id).join("docker");
    let files = (
        existing(tls_dir.join("ca.pem")),
        existing(tls_dir.join("cert.pem")),
        existing(tls_dir.join("key.pem")),
    );
    let has_files = files.0.is_some() || files.1.is_some() || files.2.is_some();
    let wants_tls = !is_socket(&address) && !address.starts_with("ssh://") && (has_files || endpoint.skip_tls_verify);
    let tls = wants_tls.then_some(TlsFiles {
        ca: files.0,
        cert: files.1,
        key: files.2,
        skip_verify: endpoint.skip_tls_verify,
    });
    Ok(EngineTarget {
        address,
        source,
        context: name.to_string(),
        tls,
    })
}

#[derive(serde::Deserialize)]
struct ContextMeta {
    #[serde(rename = "Endpoints", default)]
    endpoints: Endpoints,
}

#[derive(serde::Deserialize, Default)]
struct Endpoints {
    docker: Option<DockerEndpoint>,
}

#[derive(serde::Deserialize)]
struct DockerEndpoint {
    #[serde(rename = "Host")]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

fn existing(path: PathBuf) -> Option<PathBuf> {
    path.is_file().then_some(path)
}

fn is_socket(address: &str) -> bool {
    matches!(address.split_once("://"), Some(("unix" | "npipe" | "fd", _)))
}

impl fmt::Display for TargetSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetSource::Flag => "--context",
            TargetSource::EnvContext => "DOCKER_CONTEXT",
            TargetSource::EnvHost => "DOCKER_HOST",
            TargetSource::ConfigContext { .. } => "config.json currentContext",
            TargetSource::Default => "default",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config directory with `contexts`, each (name, meta.json text, TLS files present).
    struct Store {
        dir: tempfile::TempDir,
    }

    impl Store {
        fn new() -> Store {
            Store {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn context(&self, name: &str, host: &str, skip_verify: bool, tls_files: &[&str]) -> &Store {
            let id = format!("{:x}", Sha256::digest(name.as_bytes()));
            let meta = self.dir.path().join("contexts/meta").join(&id);
            std::fs::create_dir_all(&meta).unwrap();
            let json = serde_json::json!({
                "Name": name,
                "Metadata": {},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}}
            });
            std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
            let tls = self.dir.path().join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&tls).unwrap();
            for file in tls_files {
                std::fs::write(tls.join(file), "pem").unwrap();
            }
            self
        }
        fn current(&self, name: &str) -> &Store {
            std::fs::write(
                self.dir.path().join("config.json"),
                serde_json::json!({"auths": {}, "currentContext": name}).to_string(),
            )
            .unwrap();
            self
        }
        fn inputs(&self, flag: Option<&str>, env: &[(&str, &str)]) -> ResolveInputs {
            let mut env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            env.insert("DOCKER_CONFIG".into(), self.dir.path().display().to_string());
            ResolveInputs {
                flag_context: flag.map(str::to_string),
                env,
                home: None,
            }
        }
        fn tls_dir(&self, name: &str) -> PathBuf {
            let id = format!("{:x}", Sha256::digest(name.as_bytes()));
            self.dir.path().join("contexts/tls").join(id).join("docker")
        }
    }

    #[test]
    fn nothing_set_is_the_local_socket() {
        let store = Store::new();
        let target = resolve(&store.inputs(None, &[])).unwrap();
        assert_eq!(target, EngineTarget::local());
        assert!(!target.is_remote());
    }

    #[test]
    fn docker_host_beats_docker_context_and_the_current_context() {
        let store = Store::new();
        store.context("box", "ssh://dev@box", false, &[]).current("box");
        let target = resolve(&store.inputs(
            None,
            &[("DOCKER_HOST", "tcp://10.0.0.2:2375"), ("DOCKER_CONTEXT", "box")],
        ))
        .unwrap();
        assert_eq!(target.address, "tcp://10.0.0.2:2375");
        assert_eq!(target.source, TargetSource::EnvHost);
        assert_eq!(target.chosen_by(), "DOCKER_HOST chose tcp://10.0.0.2:2375");
        assert!(target.is_remote());
    }

    #[test]
    fn the_flag_beats_docker_host() {
        let store = Store::new();
        store.context("box", "ssh://dev@box", false, &[]);
        let target = resolve(&store.inputs(Some("box"), &[("DOCKER_HOST", "tcp://10.0.0.2:2375")])).unwrap();
        assert_eq!(target.address, "ssh://dev@box");
        assert_eq!(target.source, TargetSource::Flag);
        assert_eq!(target.chosen_by(), "--context box chose ssh://dev@box");
    }

    #[test]
    fn docker_context_beats_the_current_context() {
        let store = Store::new();
        store
            .context("box", "ssh://dev@box", false, &[])
            .context("other", "tcp://other:2376", false, &[])
            .current("other");
        let target = resolve(&store.inputs(None, &[("DOCKER_CONTEXT", "box")])).unwrap();
        assert_eq!(target.chosen_by(), "DOCKER_CONTEXT=box chose ssh://dev@box");
        assert_eq!(target.tls, None);
    }

    #[test]
    fn the_current_context_names_its_config_file() {
        let store = Store::new();
        store
            .context("other", "tcp://other:2376", false, &["ca.pem", "cert.pem", "key.pem"])
            .current("other");
        let target = resolve(&store.inputs(None, &[])).unwrap();
        let config_file = store.dir.path().join("config.json");
        assert_eq!(
            target.source,
            TargetSource::ConfigContext {
                config_file: config_file.clone()
            }
        );
        assert_eq!(
            target.chosen_by(),
            format!(
                "the current context \"other\" in {} chose tcp://other:2376",
                config_file.display()
            )
        );
        let tls = target.tls.unwrap();
        assert_eq!(tls.ca, Some(store.tls_dir("other").join("ca.pem")));
        assert_eq!(tls.key, Some(store.tls_dir("other").join("key.pem")));
        assert!(!tls.skip_verify);
    }

    #[test]
    fn a_context_without_tls_files_has_no_tls_unless_it_skips_verification() {
        let store = Store::new();
        store
            .context("plain", "tcp://box:2375", false, &[])
            .context("insecure", "tcp://box:2376", true, &[]);
        assert_eq!(resolve(&store.inputs(Some("plain"), &[])).unwrap().tls, None);
        let tls = resolve(&store.inputs(Some("insecure"), &[])).unwrap().tls.unwrap();
        assert!(tls.skip_verify);
        assert_eq!(tls.ca, None);
    }

    #[test]
    fn a_missing_context_names_the_store_path() {
        let store = Store::new();
        let error = resolve(&store.inputs(None, &[("DOCKER_CONTEXT", "nope")])).unwrap_err();
        let id = format!("{:x}", Sha256::digest(b"nope"));
        let text = error.to_string();
        assert!(
            text.starts_with("Docker context \"nope\" (DOCKER_CONTEXT=nope) does not exist: no "),
            "{text}"
        );
        assert!(text.ends_with(&format!("contexts/meta/{id}/meta.json")), "{text}");
        assert!(error.hint().contains("docker context ls"));
    }

    #[test]
    fn the_default_context_by_name_is_docker_host_or_the_socket() {
        let store = Store::new();
        store.current("default");
        assert_eq!(resolve(&store.inputs(None, &[])).unwrap().address, DEFAULT_ADDRESS);
        let target = resolve(&store.inputs(Some("default"), &[("DOCKER_HOST", "unix:///tmp/d.sock")])).unwrap();
        assert_eq!(target.address, "unix:///tmp/d.sock");
        assert_eq!(target.source, TargetSource::Flag);
    }

    #[test]
    fn docker_tls_verify_takes_files_from_docker_cert_path() {
        let store = Store::new();
        let certs = tempfile::tempdir().unwrap();
        std::fs::write(certs.path().join("ca.pem"), "pem").unwrap();
        let certs_dir = certs.path().display().to_string();
        let target = resolve(&store.inputs(
            None,
            &[
                ("DOCKER_HOST", "tcp://box:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", &certs_dir),
            ],
        ))
        .unwrap();
        let tls = target.tls.unwrap();
        assert_eq!(tls.ca, Some(certs.path().join("ca.pem")));
        assert_eq!((tls.cert, tls.key, tls.skip_verify), (None, None, false));
        // TLS without a host is the CLI's default TLS address; DOCKER_TLS alone skips verification.
        let target = resolve(&store.inputs(None, &[("DOCKER_TLS", "1")])).unwrap();
        assert_eq!(target.address, "tcp://localhost:2376");
        assert!(target.tls.unwrap().skip_verify);
    }

    #[test]
    fn a_broken_config_file_is_named() {
        let store = Store::new();
        std::fs::write(store.dir.path().join("config.json"), "{not json").unwrap();
        let error = resolve(&store.inputs(None, &[])).unwrap_err();
        assert!(error.to_string().contains("config.json is not valid"), "{error}");
    }

    #[test]
    fn remoteness_follows_the_address() {
        for (address, remote) in [
            ("unix:///var/run/docker.sock", false),
            ("tcp://127.0.0.1:2375", false),
            ("tcp://localhost:2376", false),
            ("tcp://[::1]:2375", false),
            ("tcp://10.0.0.2:2376", true),
            ("https://box:2376/", true),
            ("ssh://dev@box", true),
            ("ssh://dev@localhost", true),
        ] {
            assert_eq!(EngineTarget::address(address).is_remote(), remote, "{address}");
        }
    }
}
