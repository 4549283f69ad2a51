//! The Docker engine adapter: the only module that talks to the engine (and
//! the only one that imports bollard).
//!
//! [`Engine`] wraps a connected bollard client. Its methods take and return
//! the adapter's own plain types ([`ContainerSpec`], [`ContainerState`],
//! [`ImageInfo`], ...), not the spec model and not bollard's models, and map
//! every bollard error to an [`EngineError`] naming the operation and the
//! object. It does I/O and nothing clever: deciding what to create, recreate
//! or remove is the planner's job.
//!
//! Everything flowinfra creates carries [`LABEL_PROJECT`] (and containers
//! [`LABEL_SERVICE`]), which is how actual state is found again.
//!
//! Files by concern: `containers.rs` (lifecycle, inspection, port conflicts),
//! `logs.rs`, `images.rs` (inspect, pull, import, remove), `networks.rs`,
//! `volumes.rs`, `types.rs` (the plain types), `error.rs`.

mod containers;
pub mod context;
#[cfg(test)]
mod engine29_responses;
mod error;
mod forward;
mod images;
mod lock;
mod logs;
mod networks;
mod ssh;
mod types;
mod volumes;

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;

pub use error::{EngineError, PortHolder};
pub use forward::{FORWARD_HELPER_IMAGE, Forwarder};
pub use lock::{EngineLock, LockHolder};
pub use networks::{IpamOptions, IpamPoolOptions, NetworkOptions};
pub use types::{
    BlkioSpec, BuildRequest, ContainerDetails, ContainerFile, ContainerOptions, ContainerSpec, ContainerState,
    DeviceRequestSpec, DeviceSpec, EndpointOptions, ExecOutcome, ExecSpec, Health, HealthProbe, HealthcheckSpec,
    ImageInfo, LogLine, LogStream, MountSource, MountSpec, NetworkAttachment, PortBinding, Protocol, PublishedPort,
    PullProgress, RestartPolicy, RunState,
};
pub use volumes::VolumeOptions;

/// Label naming the project a container, network, volume or image belongs to.
pub const LABEL_PROJECT: &str = "io.flowinfra.project";
/// Label naming the service a container runs.
pub const LABEL_SERVICE: &str = "io.flowinfra.service";
/// Label holding the hash of a service's resolved config (config drift).
pub const LABEL_CONFIG_HASH: &str = "io.flowinfra.config-hash";
/// Image label holding the hash of a build context (build drift).
pub const LABEL_CONTEXT_HASH: &str = "io.flowinfra.context-hash";

pub use context::{DEFAULT_ADDRESS, EngineTarget, ResolveInputs, TargetSource, TlsFiles};

/// How long connecting may take. A refused connection or a missing socket
/// fails at once; this bounds the case of an address that never answers
/// (bollard's own timeout is two minutes). An ssh login is part of it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// bollard's per-request timeout, in seconds (its default).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// A connected Docker engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    address: String,
    target: EngineTarget,
    /// For `ssh://`: the one ssh login the engine connection and forwards
    /// go through (`None` when bollard's own ssh transport is in use).
    tunnel: Option<std::sync::Arc<ssh::SshTunnel>>,
}

impl Engine {
    /// Connects to the engine the docker CLI would use without `--context`
    /// (see [`context`] for the order: `DOCKER_HOST`, `DOCKER_CONTEXT`, the
    /// current context in the config file, the local socket), negotiates
    /// the API version and pings it.
    pub async fn connect() -> Result<Engine, EngineError> {
        Self::connect_with_context(None).await
    }

    /// Like [`Engine::connect`], with the `--context` flag's value.
    pub async fn connect_with_context(flag_context: Option<&str>) -> Result<Engine, EngineError> {
        let target = context::resolve(&ResolveInputs::from_process(flag_context))?;
        Self::connect_target(target).await
    }

    /// Connects to the engine at `address` (any scheme [`Engine::connect_target`] takes, no TLS).
    pub async fn connect_to(address: &str) -> Result<Engine, EngineError> {
        Self::connect_target(EngineTarget::address(address)).await
    }

    /// Connects to a resolved target: `unix://`; `tcp://`/`http://` plain,
    /// or over TLS when the target has TLS files (`https://` always);
    /// `ssh://[user@]host` through one login of the system `ssh` (which must
    /// log in without a prompt), forwarding the remote engine's socket, or
    /// running `docker system dial-stdio` on the remote when that fails.
    pub async fn connect_target(target: EngineTarget) -> Result<Engine, EngineError> {
        let address = target.address.clone();
        let chosen_by = (target.source != TargetSource::Default).then(|| target.chooser());
        let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| EngineError::Unreachable {
            address: address.clone(),
            chosen_by: chosen_by.clone(),
            source,
        };
        let (docker, tunnel) = match ssh_destination(&address).map_err(unreachable)? {
            Some(destination) => match Self::open_tunnel(&destination).await {
                Ok((docker, tunnel)) => (docker, Some(tunnel)),
                Err(TunnelError::Login(error)) => return Err(unreachable(error)),
                Err(TunnelError::Socket(error)) => {
                    // The engine is not at the default socket path, or the
                    // server refuses socket forwarding: fall back to what
                    // the docker CLI runs, one ssh login per connection.
                    tracing::warn!(
                        address,
                        error = %error,
                        "the remote engine socket is not reachable through ssh forwarding; using \
                         `docker system dial-stdio` instead (each engine connection logs in again)"
                    );
                    let docker =
                        Docker::connect_with_ssh(&address, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION, None)
                            .map_err(|error| unreachable(error.into()))?;
                    (Self::negotiate(docker).await.map_err(unreachable)?, None)
                }
            },
            None => {
                let docker = client_for(&target).map_err(unreachable)?;
                (Self::negotiate(docker).await.map_err(unreachable)?, None)
            }
        };
        let engine = Engine {
            docker,
            address: address.clone(),
            target,
            tunnel,
        };
        tracing::debug!(address, api = %engine.api_version(), chosen_by = %engine.target.chosen_by(), "connected to the Docker engine");
        Ok(engine)
    }

    /// Negotiates the API version down to the engine's and pings it, within
    /// [`CONNECT_TIMEOUT`].
    async fn negotiate(docker: Docker) -> Result<Docker, Box<dyn std::error::Error + Send + Sync>> {
        // The engine here may be older than the API bollard speaks (Docker
        // 20.10 = API 1.41): negotiate down so version-gated fields are
        // decided against the engine's real version.
        let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| error::NoAnswer { after: CONNECT_TIMEOUT })??;
        tokio::time::timeout(CONNECT_TIMEOUT, docker.ping())
            .await
            .map_err(|_| error::NoAnswer { after: CONNECT_TIMEOUT })??;
        Ok(docker)
    }

    /// Logs in to `destination` once and reaches the engine through a
    /// forward of its socket (see `ssh.rs`).
    async fn open_tunnel(destination: &str) -> Result<(Docker, std::sync::Arc<ssh::SshTunnel>), TunnelError> {
        let tunnel = tokio::time::timeout(CONNECT_TIMEOUT, ssh::SshTunnel::open(destination, CONNECT_TIMEOUT))
            .await
            .map_err(|_| TunnelError::Login(Box::new(error::NoAnswer { after: CONNECT_TIMEOUT })))?
            .map_err(|error| TunnelError::Login(Box::new(error)))?;
        tunnel
            .forward_engine_socket()
            .await
            .map_err(|error| TunnelError::Socket(Box::new(error)))?;
        let socket = tunnel.engine_socket().to_string_lossy().into_owned();
        let docker = Docker::connect_with_unix(&socket, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            .map_err(|error| TunnelError::Socket(Box::new(error)))?;
        let docker = Self::negotiate(docker).await.map_err(TunnelError::Socket)?;
        Ok((docker, std::sync::Arc::new(tunnel)))
    }

    /// The engine chosen and why.
    pub fn target(&self) -> &EngineTarget {
        &self.target
    }

    /// Whether the engine may be on another machine, so that its published
    /// ports must be reached through a [`Forwarder`].
    pub fn is_remote(&self) -> bool {
        self.target.is_remote()
    }

    /// The engine for people: `ssh://dev@box (context box), API 1.47`.
    pub fn describe(&self) -> String {
        let chosen = match &self.target.source {
            TargetSource::Flag | TargetSource::EnvContext | TargetSource::ConfigContext { .. } => {
                format!(" (context {})", self.target.context)
            }
            TargetSource::EnvHost => " (DOCKER_HOST)".to_string(),
            TargetSource::Default => String::new(),
        };
        format!("{}{chosen}, API {}", self.address, self.api_version())
    }

    /// Whether the engine is remote or a Docker context chose it: worth
    /// naming in output (a local `DOCKER_HOST` is the user's own setting).
    pub fn is_chosen(&self) -> bool {
        self.is_remote()
            || matches!(
                self.target.source,
                TargetSource::Flag | TargetSource::EnvContext | TargetSource::ConfigContext { .. }
            )
    }

    /// The address connected to, as given (e.g. `unix:///var/run/docker.sock`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The engine's version, e.g. `20.10.24+dfsg1`.
    pub async fn server_version(&self) -> Result<String, EngineError> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|source| self.api_error("read the version of the engine at", self.address.clone(), source))?;
        Ok(version.version.unwrap_or_else(|| "unknown".to_string()))
    }

    /// The Engine API version in use after negotiation, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        let version = self.docker.client_version();
        format!("{}.{}", version.major_version, version.minor_version)
    }

    /// The error of a failed engine call; see [`api_error`].
    fn api_error(
        &self,
        operation: &'static str,
        object: impl Into<String>,
        source: bollard::errors::Error,
    ) -> EngineError {
        api_error(&self.address, operation, object, source)
    }

    /// Whether the negotiated API is at least `major.minor`.
    fn api_at_least(&self, major: usize, minor: usize) -> bool {
        let version = self.docker.client_version();
        (version.major_version, version.minor_version) >= (major, minor)
    }
}

/// The `label=` filter selecting what belongs to `project`.
fn project_filter(project: &str) -> HashMap<&'static str, Vec<String>> {
    HashMap::from([("label", vec![format!("{LABEL_PROJECT}={project}")])])
}

/// The error of a failed engine call at `address`, naming the operation and
/// the object. When the request got no answer at all (connection refused,
/// reset or closed: the engine went away mid-run), it is
/// [`EngineError::Unreachable`] naming the address, with the operation as
/// its cause: the fix is to bring the engine back, not to change the request.
fn api_error(
    address: &str,
    operation: &'static str,
    object: impl Into<String>,
    source: bollard::errors::Error,
) -> EngineError {
    let lost = matches!(
        source,
        bollard::errors::Error::HyperLegacyError { .. }
            | bollard::errors::Error::HyperResponseError { .. }
            | bollard::errors::Error::IOError { .. }
            | bollard::errors::Error::SocketNotFoundError(_)
    );
    let error = EngineError::Api {
        operation,
        object: object.into(),
        source,
    };
    if lost {
        EngineError::Unreachable {
            address: address.to_string(),
            chosen_by: None,
            source: Box::new(error),
        }
    } else {
        error
    }
}

/// Whether the engine answered 404: the object does not exist.
fn is_not_found(error: &bollard::errors::Error) -> bool {
    status_code(error) == Some(404)
}

fn status_code(error: &bollard::errors::Error) -> Option<u16> {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Why an ssh tunnel could not be used: the login failed (the engine is
/// unreachable), or the engine's socket did not answer through it (try
/// `docker system dial-stdio`).
enum TunnelError {
    Login(Box<dyn std::error::Error + Send + Sync>),
    Socket(Box<dyn std::error::Error + Send + Sync>),
}

/// `[user@]host` of an `ssh://` address; `None` for other schemes.
fn ssh_destination(address: &str) -> Result<Option<String>, Box<dyn std::error::Error + Send + Sync>> {
    let Some(rest) = address.strip_prefix("ssh://") else {
        return Ok(None);
    };
    // The fallback transport (bollard 0.21) hands `user@host:port` to ssh
    // as one host name and runs `docker system dial-stdio` with the
    // remote's default socket, so neither a port nor a socket path can be
    // honoured on every path.
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') || authority.rsplit_once(':').is_some_and(|(_, port)| !port.contains(']')) {
        return Err(format!(
            "{address}: a port or socket path in an ssh:// address is not supported; \
             give the port in ~/.ssh/config (`Host <name>` / `Port <n>`) and use ssh://[user@]<name>"
        )
        .into());
    }
    Ok(Some(authority.to_string()))
}

/// A bollard client for a non-ssh `target` (not yet connected: bollard connects lazily).
fn client_for(target: &EngineTarget) -> Result<Docker, Box<dyn std::error::Error + Send + Sync>> {
    let address = target.address.as_str();
    let version = bollard::API_DEFAULT_VERSION;
    let tls = match (&target.tls, address.starts_with("https://")) {
        (Some(tls), _) => Some(tls.clone()),
        (None, true) => Some(TlsFiles {
            ca: None,
            cert: None,
            key: None,
            skip_verify: false,
        }),
        (None, false) => None,
    };
    match tls {
        Some(tls) if address.starts_with("tcp://") || address.starts_with("https://") => {
            if tls.skip_verify {
                return Err(format!(
                    "{address}: TLS without verifying the engine's certificate (SkipTLSVerify, or DOCKER_TLS \
                     without DOCKER_TLS_VERIFY) is not supported; give the engine's CA as ca.pem"
                )
                .into());
            }
            let Some(ca) = tls.ca else {
                return Err(format!("{address}: TLS is on but there is no ca.pem to trust the engine by").into());
            };
            // bollard offers no client certificate when these files are absent.
            let cert = tls.cert.unwrap_or_else(|| ca.with_file_name("cert.pem"));
            let key = tls.key.unwrap_or_else(|| ca.with_file_name("key.pem"));
            Ok(Docker::connect_with_ssl(
                address,
                &key,
                &cert,
                &ca,
                REQUEST_TIMEOUT_SECS,
                version,
            )?)
        }
        _ => Ok(Docker::connect_with_host(address)?),
    }
}
