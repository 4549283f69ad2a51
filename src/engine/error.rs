//! [`EngineError`]: every way an engine call fails, each variant naming the
//! operation and the object, with a [`hint`](EngineError::hint) saying what
//! to do next.
//!
//! bollard's errors say what the HTTP exchange did ("Docker responded with
//! status code 500: ..."); they stay in the cause chain, but callers branch on
//! these variants and users read these messages first.

use std::fmt;
use std::time::Duration;

use super::types::Protocol;
use crate::image_lifecycle::{self, Lifecycle, Status};

/// An engine call that failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine did not answer at `address` (no socket, refused, timed out,
    /// unsupported scheme, permission denied, ssh login refused, untrusted
    /// certificate).
    #[error("cannot reach the Docker engine at {address}{}", match chosen_by {
        Some(chooser) => format!(" (chosen by {chooser})"),
        None => String::new(),
    })]
    Unreachable {
        address: String,
        /// What chose this engine, e.g. `DOCKER_CONTEXT=box`;
        /// `None` when the caller gave the address.
        chosen_by: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// No engine could be chosen: a Docker context that does not exist or a
    /// broken config file.
    #[error(transparent)]
    Context(#[from] super::context::ContextError),

    /// The engine-side project lock is held by another machine or process.
    #[error("project \"{project}\" is locked on the engine by {holder}")]
    LockHeld {
        project: String,
        holder: super::lock::LockHolder,
    },

    /// Starting a container failed because a host port it publishes is taken.
    #[error(
        "host port {} is already in use by {}",
        host_port_text(host_ip, *port, *protocol),
        holder.as_ref().map_or_else(|| "another program on this machine".to_string(), PortHolder::to_string)
    )]
    PortInUse {
        port: u16,
        host_ip: String,
        protocol: Protocol,
        /// The container publishing that port, when it is one of this
        /// engine's; `None` means a process outside Docker holds it.
        holder: Option<PortHolder>,
    },

    /// The image is not present locally and could not be pulled.
    #[error("image {reference} is not available: {reason}")]
    ImageUnavailable { reference: String, reason: String },

    /// The registry has no such repository, or no such tag of it: a pull can
    /// never succeed as written (unlike an unreachable registry).
    #[error("{}", missing_image_text(reference, repository, tag, retired.as_ref()))]
    ImageMissing {
        reference: String,
        repository: String,
        /// `Some` when the repository exists but the tag does not.
        tag: Option<String>,
        /// What the lifecycle table knows about this image, if anything.
        retired: Option<&'static Lifecycle>,
        /// The registry's own words, kept for the cause chain.
        reason: String,
    },

    /// A Dockerfile step failed.
    #[error("building image {reference} failed: {message}")]
    BuildFailed {
        reference: String,
        message: String,
        /// The builder's last lines before the failure.
        output: Vec<String>,
    },

    /// A container with that name already exists (created by someone else,
    /// or left over).
    #[error("a container named \"{name}\" already exists")]
    ContainerNameInUse { name: String },

    /// The container is gone: removed since it was listed (e.g. the engine
    /// rolled back the create of a killed `up`).
    #[error("container \"{id}\" no longer exists")]
    ContainerGone { id: String },

    /// A local listener for a forward could not be opened, or the forward's
    /// target does not exist.
    #[error("cannot forward {target}")]
    Forward {
        target: String,
        #[source]
        source: std::io::Error,
    },

    /// Any other failure of an engine call.
    #[error("could not {operation} \"{object}\"")]
    Api {
        /// What was being done, e.g. `create container`, `list the containers of project`.
        operation: &'static str,
        /// What it was done to: a name, ID, reference or project.
        object: String,
        #[source]
        source: bollard::errors::Error,
    },
}

/// The container holding a host port another container wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHolder {
    /// Container name, without the engine's leading `/`.
    pub container: String,
    /// The `io.flowinfra.project` label, when the holder is a flowinfra container.
    pub project: Option<String>,
    /// The `io.flowinfra.service` label, when the holder is a flowinfra container.
    pub service: Option<String>,
}

impl fmt::Display for PortHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "container \"{}\"", self.container)?;
        match (&self.service, &self.project) {
            (Some(service), Some(project)) => {
                write!(f, " (service \"{service}\" of flowinfra project \"{project}\")")
            }
            (None, Some(project)) => write!(f, " (flowinfra project \"{project}\")"),
            _ => Ok(()),
        }
    }
}

fn missing_image_text(reference: &str, repository: &str, tag: &Option<String>, retired: Option<&&Lifecycle>) -> String {
    let retired_since = retired
        .filter(|row| row.status == Status::Retired)
        .map(|row| format!(" (retired {})", row.since));
    match (tag, retired_since) {
        (None, Some(since)) => format!("the repository `{repository}` no longer exists on its registry{since}"),
        (None, None) => format!(
            "the repository `{repository}` does not exist on its registry, or needs a login (pulling {reference})"
        ),
        (Some(tag), Some(since)) => {
            format!("the tag `{tag}` of `{repository}` no longer exists on its registry{since}")
        }
        (Some(tag), None) => format!("the tag `{tag}` of `{repository}` does not exist on its registry"),
    }
}

/// Reads a failed pull's message: an [`EngineError::ImageMissing`] when the
/// registry answered that the repository or the tag does not exist.
pub(super) fn classify_pull_failure(reference: &str, message: &str) -> Option<EngineError> {
    let lowered = message.to_ascii_lowercase();
    let (repository, tag) = image_lifecycle::repository_and_tag(reference);
    let tag = if lowered.contains("repository does not exist")
        || lowered.contains("requested access to the resource is denied")
    {
        None
    } else if lowered.contains("manifest unknown")
        || (lowered.contains("manifest for") && lowered.contains("not found"))
    {
        Some(tag.to_string())
    } else {
        return None;
    };
    Some(EngineError::ImageMissing {
        reference: reference.to_string(),
        repository,
        tag,
        retired: image_lifecycle::lookup(reference, image_lifecycle::today()),
        reason: message.to_string(),
    })
}

fn host_port_text(host_ip: &str, port: u16, protocol: Protocol) -> String {
    let address = if host_ip.contains(':') {
        format!("[{host_ip}]:{port}")
    } else {
        format!("{host_ip}:{port}")
    };
    match protocol {
        Protocol::Tcp => address,
        Protocol::Udp => format!("{address}/udp"),
    }
}

impl EngineError {
    /// Whether the engine could not be reached at all (exit code 3).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, EngineError::Unreachable { .. })
    }

    /// What the user can do about it, when there is something specific.
    pub fn hint(&self) -> Option<String> {
        match self {
            EngineError::Unreachable { source, address, .. } => Some(if address.starts_with("ssh://") {
                // Before the permission check: ssh's "Permission denied
                // (publickey)" is a login refused, not the socket's mode.
                "check that `ssh` logs in to that host without a prompt (key in ~/.ssh/config or the agent, \
                 host key known) and that `docker` is on the remote PATH: bollard runs `docker system dial-stdio` there"
                    .to_string()
            } else if is_permission_denied(source.as_ref()) {
                "your user may not use the Docker socket: add it to the `docker` group (then log in again), \
                 or point DOCKER_HOST at an engine you may use"
                    .to_string()
            } else if matches!(
                source.downcast_ref::<bollard::errors::Error>(),
                Some(bollard::errors::Error::UnsupportedURISchemeError { .. })
            ) {
                "use a unix://, tcp://, https:// or ssh:// address (in DOCKER_HOST or a Docker context)".to_string()
            } else if is_tls_failure(source.as_ref()) {
                "the engine's TLS certificate is not trusted or does not name that host: check ca.pem \
                 (DOCKER_CERT_PATH or the context's TLS files) and the certificate's names"
                    .to_string()
            } else {
                "start the Docker engine, or point DOCKER_HOST or the Docker context at a running one".to_string()
            }),
            EngineError::PortInUse {
                port,
                holder: Some(holder),
                ..
            } => {
                let stop = match &holder.project {
                    Some(project) => format!("stop that container (`flowinfra -p {project} down`)"),
                    None => format!("stop that container (`docker stop {}`)", holder.container),
                };
                Some(format!(
                    "{stop}, or publish this service on another host port: {}",
                    another_port(*port)
                ))
            }
            EngineError::PortInUse {
                port,
                holder: None,
                protocol,
                ..
            } => {
                let flag = match protocol {
                    Protocol::Tcp => "t",
                    Protocol::Udp => "u",
                };
                Some(format!(
                    "find that program with `ss -l{flag}np 'sport = :{port}'` and stop it, \
                     or publish this service on another host port: {}",
                    another_port(*port)
                ))
            }
            EngineError::ImageUnavailable { reason, .. } => Some(if looks_like_registry_unreachable(reason) {
                "no registry reachable: build or load the image first (e.g. scripts/build-test-images.sh for \
                 the stand-ins), or set `pull_policy: never` on services whose images exist only locally"
                    .to_string()
            } else {
                "check the image name and tag; if the registry needs credentials, log in with `docker login`; \
                 images that exist only locally need `pull_policy: never`"
                    .to_string()
            }),
            EngineError::ImageMissing { retired, tag, .. } => Some(match retired {
                Some(row) if !row.replacements.is_empty() => format!(
                    "{} Use {} instead (set `image:` in the spec).",
                    row.note,
                    row.replacements.join(" or ")
                ),
                Some(row) => row.note.clone(),
                None if tag.is_some() => "check the tag on the image's registry page, or pick a series that is still \
                    published"
                    .to_string(),
                None => "check the image name; if the repository is private, log in with `docker login`".to_string(),
            }),
            EngineError::ContainerNameInUse { name } => Some(format!(
                "remove it (`docker rm -f {name}`) if it is left over, or choose another project name with `-p`"
            )),
            EngineError::BuildFailed { output, .. } => Some(if output.is_empty() {
                "fix the Dockerfile step named above and run `flowinfra up` again".to_string()
            } else {
                format!(
                    "fix the Dockerfile step named above and run `flowinfra up` again; the build's last lines:\n    {}",
                    output.join("\n    ")
                )
            }),
            EngineError::ContainerGone { .. } => Some("run `flowinfra up` again".to_string()),
            EngineError::Context(error) => Some(error.hint()),
            EngineError::LockHeld { holder, .. } => Some(format!(
                "wait for it to finish; if that process is gone (its machine lost the connection), \
                 remove the lock: `docker rm -f {}`",
                holder.container
            )),
            EngineError::Api { .. } | EngineError::Forward { .. } => None,
        }
    }
}

fn another_port(port: u16) -> String {
    format!(
        "change it in the spec or in .env (e.g. MYSQL_PORT={} when the spec reads ${{MYSQL_PORT}})",
        port.saturating_add(1)
    )
}

fn is_permission_denied(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::PermissionDenied
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Whether the cause chain shows a TLS failure (rustls' "invalid peer
/// certificate", an unknown issuer, a bad certificate alert).
fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        let text = current.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Whether a pull failure reads as "no registry could be reached" rather than
/// "the registry said no". The daemon only gives us text; these are the
/// phrases Go's resolver, dialer and HTTP client use.
pub(crate) fn looks_like_registry_unreachable(reason: &str) -> bool {
    const NETWORK_PHRASES: &[&str] = &[
        "dial tcp",
        "lookup ",
        "no such host",
        "server misbehaving",
        "i/o timeout",
        "connection refused",
        "network is unreachable",
        "TLS handshake timeout",
        "Client.Timeout",
        "no route to host",
        "temporary failure in name resolution",
        "no progress",
    ];
    NETWORK_PHRASES
        .iter()
        .any(|phrase| reason.to_ascii_lowercase().contains(&phrase.to_ascii_lowercase()))
}

/// A connection attempt that got no answer in time; the cause of
/// [`EngineError::Unreachable`] when the engine neither answers nor refuses.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {} s", after.as_secs())]
pub(crate) struct NoAnswer {
    pub after: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_in_use_by_a_container_names_it() {
        let error = EngineError::PortInUse {
            port: 3306,
            host_ip: "127.0.0.1".into(),
            protocol: Protocol::Tcp,
            holder: Some(PortHolder {
                container: "other-mysql-1".into(),
                project: Some("other".into()),
                service: Some("mysql".into()),
            }),
        };
        assert_eq!(
            error.to_string(),
            "host port 127.0.0.1:3306 is already in use by container \"other-mysql-1\" \
             (service \"mysql\" of flowinfra project \"other\")"
        );
        assert!(error.hint().unwrap().contains("flowinfra -p other down"));
    }

    #[test]
    fn port_in_use_by_a_host_program_says_so() {
        let error = EngineError::PortInUse {
            port: 53,
            host_ip: "::1".into(),
            protocol: Protocol::Udp,
            holder: None,
        };
        assert_eq!(
            error.to_string(),
            "host port [::1]:53/udp is already in use by another program on this machine"
        );
        assert!(error.hint().unwrap().contains("ss -lunp 'sport = :53'"));
    }

    #[test]
    fn offline_pull_failures_read_as_registry_unreachable() {
        assert!(looks_like_registry_unreachable(
            "Get \"https://registry.invalid/v2/\": dial tcp: lookup registry.invalid on 10.0.0.53:53: no such host"
        ));
        assert!(!looks_like_registry_unreachable(
            "pull access denied for nope, repository does not exist or may require 'docker login'"
        ));
    }

    #[test]
    fn a_pull_of_a_deleted_repository_names_it_and_its_replacements() {
        let error = classify_pull_failure(
            "minio/minio:latest",
            "pull access denied for minio/minio, repository does not exist or may require 'docker login': \
             denied: requested access to the resource is denied",
        )
        .expect("a missing repository is recognised");
        assert_eq!(
            error.to_string(),
            "the repository `minio/minio` no longer exists on its registry (retired 2026-09-12)"
        );
        let hint = error.hint().expect("a hint");
        assert!(hint.contains("pgsty/silo:RELEASE.2026-09-16T00-00-00Z"), "{hint}");
        assert!(!hint.contains("docker login"), "{hint}");
    }

    #[test]
    fn a_missing_repository_unknown_to_the_table_may_need_a_login() {
        let error = classify_pull_failure(
            "acme/private-thing:1",
            "pull access denied for acme/private-thing, repository does not exist or may require 'docker login'",
        )
        .unwrap();
        assert_eq!(
            error.to_string(),
            "the repository `acme/private-thing` does not exist on its registry, or needs a login (pulling acme/private-thing:1)"
        );
        assert!(error.hint().unwrap().contains("docker login"));
    }

    #[test]
    fn a_missing_tag_is_told_apart_from_a_missing_repository() {
        let error = classify_pull_failure(
            "mysql:8.0.99",
            "manifest for mysql:8.0.99 not found: manifest unknown: manifest unknown",
        )
        .unwrap();
        assert_eq!(
            error.to_string(),
            "the tag `8.0.99` of `mysql` does not exist on its registry"
        );
        // 8.0 is past its end of life (it still pulls): the hint names the LTS.
        assert!(error.hint().unwrap().contains("mysql:8.4"), "{:?}", error.hint());
    }

    #[test]
    fn an_unreachable_registry_is_not_a_missing_image() {
        assert!(
            classify_pull_failure(
                "redis:8.10",
                "Get \"https://registry.invalid/v2/\": dial tcp: lookup registry.invalid: no such host"
            )
            .is_none()
        );
    }
}
