//! Where this machine reaches a service's published ports: the endpoint
//! resolver every consumer of a service's address goes through (readiness
//! probes, provisioning, `check`, `migrate`, `seed`, `forward`).
//!
//! With a local engine it is the identity: the engine's published ports are
//! on this machine. With a remote engine they are on the remote host's
//! loopback, so [`Reach::published`] rewrites each TCP port to a local
//! listener of an [`engine::Forwarder`](crate::engine::Forwarder): one per
//! network per command run, started on first use (over ssh, a channel of
//! the engine's ssh login; otherwise a helper container, its image pulled
//! then if missing), closed when the `Reach` is. Kinds and their callers keep
//! reading `&[PublishedPort]` and never learn which it was.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::container_spec::primary_network;
use crate::engine::{ContainerState, Engine, EngineError, FORWARD_HELPER_IMAGE, Forwarder, Protocol, PublishedPort};
use crate::events::{Event, EventSink};
use crate::spec::{Service, Spec};

/// The endpoint resolver of one command run.
pub struct Reach {
    remote: Option<Remote>,
}

struct Remote {
    engine: Engine,
    spec: Arc<Spec>,
    /// Listen on the published host port itself when it is free here.
    same_ports: bool,
    /// One forwarder per engine network, started when first needed.
    forwarders: Mutex<BTreeMap<String, Forwarder>>,
}

impl std::fmt::Debug for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reach")
            .field("forwarding", &self.is_forwarding())
            .finish()
    }
}

impl Reach {
    /// Direct for a local engine, forwarded for a remote one.
    pub fn new(engine: &Engine, spec: Arc<Spec>) -> Reach {
        Reach {
            remote: engine.is_remote().then(|| Remote {
                engine: engine.clone(),
                spec,
                same_ports: false,
                forwarders: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Like [`Reach::new`], forwarding each port on its published host port
    /// here when that is free (any free port otherwise), so the spec's
    /// addresses (`flowinfra env`) work on this machine: `flowinfra forward`.
    pub fn keeping_ports(engine: &Engine, spec: Arc<Spec>) -> Reach {
        let mut reach = Reach::new(engine, spec);
        if let Some(remote) = &mut reach.remote {
            remote.same_ports = true;
        }
        reach
    }

    /// Published ports used as they are (a local engine).
    pub fn direct() -> Reach {
        Reach { remote: None }
    }

    /// Whether service ports are reached through the engine.
    pub fn is_forwarding(&self) -> bool {
        self.remote.is_some()
    }

    /// The ports `container` of `service` publishes, as this machine reaches
    /// them: as reported locally; each TCP port a local forward remotely.
    pub async fn published(
        &self,
        service: &Service,
        container_name: &str,
        ports: &[PublishedPort],
    ) -> Result<Vec<PublishedPort>, EngineError> {
        let Some(remote) = &self.remote else {
            return Ok(ports.to_vec());
        };
        let network = primary_network(&remote.spec, service);
        let mut forwarders = remote.forwarders.lock().await;
        if !forwarders.contains_key(&network) && ports.iter().any(|port| port.protocol == Protocol::Tcp) {
            let image = if remote.engine.forwards_over_ssh() {
                FORWARD_HELPER_IMAGE.to_string()
            } else {
                ensure_helper_image(&remote.engine, None).await?
            };
            let forwarder = remote.engine.forwarder(&remote.spec.name, &network, &image).await?;
            forwarders.insert(network.clone(), forwarder);
        }
        let mut reached = Vec::with_capacity(ports.len());
        for port in ports {
            if port.protocol != Protocol::Tcp {
                reached.push(port.clone());
                continue;
            }
            let forwarder = forwarders.get_mut(&network).expect("started above");
            let local = if remote.same_ports {
                match forwarder.forward_port(container_name, port, port.host_port).await {
                    Ok(local) => local,
                    Err(EngineError::Forward { .. }) => forwarder.forward_port(container_name, port, 0).await?,
                    Err(other) => return Err(other),
                }
            } else {
                forwarder.forward_port(container_name, port, 0).await?
            };
            reached.push(PublishedPort {
                host_ip: local.ip().to_string(),
                host_port: local.port(),
                container_port: port.container_port,
                protocol: Protocol::Tcp,
            });
        }
        Ok(reached)
    }

    /// `container` with its ports as this machine reaches them.
    pub async fn container(
        &self,
        service: &Service,
        container: &ContainerState,
    ) -> Result<ContainerState, EngineError> {
        let mut reached = container.clone();
        reached.ports = self.published(service, &container.name, &container.ports).await?;
        Ok(reached)
    }

    /// Closes every forward and removes the helpers, waiting for the engine.
    pub async fn close(self) {
        if let Some(remote) = self.remote {
            for (_, forwarder) in remote.forwarders.into_inner() {
                forwarder.close().await;
            }
        }
    }
}

/// Makes the forward helper image ([`FORWARD_HELPER_IMAGE`], also the
/// engine lock's) present on the engine, pulling it when missing, as a
/// service image with `pull_policy: missing`.
pub async fn ensure_helper_image(engine: &Engine, events: Option<&dyn EventSink>) -> Result<String, EngineError> {
    if engine.inspect_image(FORWARD_HELPER_IMAGE).await?.is_none() {
        if let Some(events) = events {
            events.emit(Event::Pulling {
                service: "(forward helper)".into(),
                image: FORWARD_HELPER_IMAGE.into(),
            });
        }
        engine.pull_image(FORWARD_HELPER_IMAGE, &mut |_| {}).await?;
    }
    Ok(FORWARD_HELPER_IMAGE.to_string())
}
