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
#[cfg(test)]
mod engine29_responses;
mod error;
mod images;
mod logs;
mod networks;
mod types;
mod volumes;

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;

pub use error::{EngineError, PortHolder};
pub use types::{
    BuildRequest, ContainerSpec, ContainerState, Health, HealthcheckSpec, ImageInfo, LogLine, LogStream, MountSource,
    MountSpec, PortBinding, Protocol, PublishedPort, PullProgress, RestartPolicy, RunState,
};

/// Label naming the project a container, network, volume or image belongs to.
pub const LABEL_PROJECT: &str = "io.flowinfra.project";
/// Label naming the service a container runs.
pub const LABEL_SERVICE: &str = "io.flowinfra.service";
/// Label holding the hash of a service's resolved config (config drift).
pub const LABEL_CONFIG_HASH: &str = "io.flowinfra.config-hash";
/// Image label holding the hash of a build context (build drift).
pub const LABEL_CONTEXT_HASH: &str = "io.flowinfra.context-hash";

/// Where the engine is when `DOCKER_HOST` is unset.
pub const DEFAULT_ADDRESS: &str = "unix:///var/run/docker.sock";

/// How long connecting may take. A refused connection or a missing socket
/// fails at once; this bounds the case of an address that never answers
/// (bollard's own timeout is two minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected Docker engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    address: String,
}

impl Engine {
    /// Connects to the engine `DOCKER_HOST` names (`unix://`, `tcp://`,
    /// `http://`; [`DEFAULT_ADDRESS`] when unset), negotiates the API version
    /// and pings it.
    ///
    /// Docker contexts are not read: `DOCKER_HOST` is the one way to choose
    /// another engine.
    pub async fn connect() -> Result<Engine, EngineError> {
        Self::connect_to(&docker_host(std::env::var("DOCKER_HOST").ok())).await
    }

    /// Connects to the engine at `address` (same schemes as [`Engine::connect`]).
    pub async fn connect_to(address: &str) -> Result<Engine, EngineError> {
        let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| EngineError::Unreachable {
            address: address.to_string(),
            source,
        };
        let docker = Docker::connect_with_host(address).map_err(|error| unreachable(error.into()))?;
        // The engine here may be older than the API bollard speaks (Docker
        // 20.10 = API 1.41): negotiate down so version-gated fields are
        // decided against the engine's real version.
        let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable(error::NoAnswer { after: CONNECT_TIMEOUT }.into()))?
            .map_err(|error| unreachable(error.into()))?;
        tokio::time::timeout(CONNECT_TIMEOUT, docker.ping())
            .await
            .map_err(|_| unreachable(error::NoAnswer { after: CONNECT_TIMEOUT }.into()))?
            .map_err(|error| unreachable(error.into()))?;
        let engine = Engine {
            docker,
            address: address.to_string(),
        };
        tracing::debug!(address, api = %engine.api_version(), "connected to the Docker engine");
        Ok(engine)
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

/// The address to connect to, from `DOCKER_HOST`'s value.
fn docker_host(value: Option<String>) -> String {
    value
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_defaults_to_the_local_socket() {
        assert_eq!(docker_host(None), DEFAULT_ADDRESS);
        assert_eq!(docker_host(Some(String::new())), DEFAULT_ADDRESS);
        assert_eq!(docker_host(Some("tcp://10.0.0.2:2375".into())), "tcp://10.0.0.2:2375");
    }
}
