//! Reaching a remote engine's services from this machine.
//!
//! With a remote engine, a service's published port is on the remote host,
//! not on this machine's 127.0.0.1. A [`Forwarder`] opens a listener on
//! 127.0.0.1 per target and relays every connection it accepts, one of two
//! ways:
//!
//! - over `ssh://` (when the engine is reached through an ssh tunnel,
//!   `ssh.rs`), as an ssh `direct-tcpip` channel on the one login to the
//!   published port on the remote host: a few milliseconds per connection;
//! - otherwise through the engine connection itself: it runs a small helper
//!   container on the stack's network and, per accepted connection, execs
//!   `nc <container> <port>` in it with stdin and stdout attached. This
//!   works the same over every transport bollard speaks (TCP+TLS, contexts,
//!   ssh through `docker system dial-stdio`), needs nothing on the remote
//!   host beyond the engine, and reaches containers by name on the stack's
//!   network, whatever host address their ports are published on; an exec
//!   costs about 100 ms per connection.
//!
//! Why these two: docs/decisions.md, "Remote engines" and its issue 18
//! follow-up.
//!
//! The helper is tethered to this process: it runs `cat` on an attached
//! stdin (`StdinOnce`, `AutoRemove`), so when the forwarder is dropped or the
//! process dies and the engine connection closes, `cat` reads end of file,
//! the helper exits and the engine removes it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{AttachContainerOptionsBuilder, CreateContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::ssh::{SshTunnel, TcpForward, remote_host};
use super::{Engine, EngineError, Protocol, PublishedPort};

/// The helper image named for real use: the official busybox image (a few
/// MB, maintained, has `nc` and `cat`). Tests pass their own busybox import.
pub const FORWARD_HELPER_IMAGE: &str = "busybox:1.37";

/// How long a connection whose client stopped sending may still receive.
const HALF_CLOSED_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How many forwarded connections may be setting up their exec at once.
/// Over ssh's dial-stdio fallback each engine request that hijacks its
/// connection gets an ssh connection of its own (bollard 0.21), and sshd
/// drops concurrent unauthenticated connections beyond `MaxStartups` (10
/// by default): a burst such as `check`'s concurrent probes would lose some.
const CONCURRENT_SETUPS: usize = 3;

/// How often a forwarded connection's exec is tried when the engine
/// connection fails before anything was relayed.
const SETUP_ATTEMPTS: u32 = 4;

/// Label on helper containers naming the project they forward for.
pub const LABEL_FORWARD_OF: &str = "io.flowinfra.forward-of";

/// Open forwards to containers of a remote engine; closes them on drop.
pub struct Forwarder {
    engine: Engine,
    project: String,
    /// The exec relay's helper container (`None` over an ssh tunnel).
    helper: Option<String>,
    /// The helper's attach connection: dropping it ends the helper.
    tether: Option<Tether>,
    /// The ssh tunnel forwarded connections go through, if any.
    tunnel: Option<std::sync::Arc<SshTunnel>>,
    /// The tunnel's forwards, cancelled on close.
    tunnel_forwards: Vec<TcpForward>,
    listeners: Vec<JoinHandle<()>>,
    forwards: BTreeMap<(String, u16), SocketAddr>,
    /// Bounds connections being set up ([`CONCURRENT_SETUPS`]).
    setups: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Both halves of a tethered container's attach connection. Dropping it
/// closes the connection (a dropped write half alone would not), so the
/// container's `cat` reads end of file.
pub(super) struct Tether {
    _input: Pin<Box<dyn AsyncWrite + Send>>,
    drain: JoinHandle<()>,
}

impl Drop for Tether {
    fn drop(&mut self) {
        self.drain.abort();
    }
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("project", &self.project)
            .field("helper", &self.helper)
            .field("forwards", &self.forwards)
            .finish()
    }
}

impl Engine {
    /// Whether forwarded connections go through an ssh tunnel (no helper
    /// container, no helper image needed).
    pub fn forwards_over_ssh(&self) -> bool {
        self.tunnel.is_some()
    }

    /// Starts a forwarder for `project`: over an ssh tunnel when the engine
    /// has one; otherwise a helper container from `helper_image` (which
    /// must be present on the engine, e.g. [`FORWARD_HELPER_IMAGE`] pulled
    /// by the caller) on `network`.
    pub async fn forwarder(&self, project: &str, network: &str, helper_image: &str) -> Result<Forwarder, EngineError> {
        let (helper, tether) = if self.tunnel.is_some() {
            (None, None)
        } else {
            let name = format!("flowinfra-forward-{project}-{}", unique_suffix());
            let labels = [(LABEL_FORWARD_OF.to_string(), project.to_string())].into();
            let (helper, tether) = self
                .tethered_container(&name, helper_image, Some(network), labels)
                .await?;
            (Some(helper), Some(tether))
        };
        Ok(Forwarder {
            engine: self.clone(),
            project: project.to_string(),
            helper,
            tether,
            tunnel: self.tunnel.clone(),
            tunnel_forwards: Vec::new(),
            listeners: Vec::new(),
            forwards: BTreeMap::new(),
            setups: std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SETUPS)),
        })
    }

    /// Creates, attaches to and starts a container running `cat` on its
    /// attached stdin, so that it ends (and is removed) when the returned
    /// writer is dropped or this process's connection to the engine closes.
    /// Returns its ID and that writer. Creation fails with the engine's 409
    /// when `name` exists, which the engine lock relies on.
    pub(super) async fn tethered_container(
        &self,
        name: &str,
        image: &str,
        network: Option<&str>,
        labels: std::collections::HashMap<String, String>,
    ) -> Result<(String, Tether), EngineError> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: Some(vec!["cat".to_string()]),
            labels: Some(labels),
            attach_stdin: Some(true),
            open_stdin: Some(true),
            stdin_once: Some(true),
            host_config: Some(HostConfig {
                auto_remove: Some(true),
                network_mode: network.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|source| self.api_error("create helper container", name, source))?;
        let attach = AttachContainerOptionsBuilder::new().stdin(true).stream(true).build();
        let attached = match self.docker.attach_container(&created.id, Some(attach)).await {
            Ok(attached) => attached,
            Err(source) => {
                self.remove_quietly(&created.id).await;
                return Err(self.api_error("attach to helper container", name, source));
            }
        };
        if let Err(source) = self.docker.start_container(&created.id, None).await {
            self.remove_quietly(&created.id).await;
            return Err(self.api_error("start helper container", name, source));
        }
        // Nothing is read from the helper; draining keeps the stream healthy.
        let mut output = attached.output;
        let drain = tokio::spawn(async move { while output.next().await.is_some() {} });
        Ok((
            created.id,
            Tether {
                _input: attached.input,
                drain,
            },
        ))
    }

    /// Force-removes a container, ignoring failures (already gone, auto-removed).
    pub(super) async fn remove_quietly(&self, id: &str) {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
            .force(true)
            .build();
        let _ = self.docker.remove_container(id, Some(options)).await;
    }
}

impl Forwarder {
    /// A local address relaying to `port`, published by `container` of this
    /// project: listening on 127.0.0.1:`local_port` (0: any free port;
    /// fails when that port is taken here). Repeated calls for the same
    /// container port return the same address.
    pub async fn forward_port(
        &mut self,
        container: &str,
        port: &PublishedPort,
        local_port: u16,
    ) -> Result<SocketAddr, EngineError> {
        let key = (container.to_string(), port.container_port);
        if let Some(address) = self.forwards.get(&key) {
            return Ok(*address);
        }
        let target = format!("{container}:{}", port.container_port);
        let listener = TcpListener::bind(("127.0.0.1", local_port))
            .await
            .map_err(|source| EngineError::Forward {
                target: target.clone(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| EngineError::Forward {
            target: target.clone(),
            source,
        })?;
        let accepting = match &self.tunnel {
            Some(tunnel) => {
                let forward = tunnel
                    .forward_tcp(&remote_host(&port.host_ip), port.host_port)
                    .await
                    .map_err(|error| EngineError::Forward {
                        target: target.clone(),
                        source: std::io::Error::other(error),
                    })?;
                self.tunnel_forwards.push(forward.clone());
                tokio::spawn(accept_over_ssh(listener, forward, target))
            }
            None => {
                let helper = self.helper.clone().expect("a forwarder without a tunnel has a helper");
                tokio::spawn(accept_over_exec(
                    listener,
                    self.engine.clone(),
                    helper,
                    (container.to_string(), port.container_port),
                    self.setups.clone(),
                ))
            }
        };
        self.listeners.push(accepting);
        tracing::debug!(%local, container, port = port.container_port, over_ssh = self.tunnel.is_some(), "forwarding");
        self.forwards.insert(key, local);
        Ok(local)
    }

    /// A local address relaying to the container of this project that
    /// publishes TCP `host_port` on the engine's host.
    pub async fn forward_published(&mut self, host_port: u16) -> Result<SocketAddr, EngineError> {
        let containers = self.engine.list_containers(&self.project).await?;
        let found = containers.iter().find_map(|container| {
            container
                .ports
                .iter()
                .find(|port| port.host_port == host_port && port.protocol == Protocol::Tcp)
                .map(|port| (container.name.clone(), port.clone()))
        });
        let Some((name, port)) = found else {
            return Err(EngineError::Forward {
                target: format!("published port {host_port}"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no running container of project \"{}\" publishes it", self.project),
                ),
            });
        };
        self.forward_port(&name, &port, 0).await
    }

    /// The helper container's ID (`None` over an ssh tunnel).
    pub fn helper_id(&self) -> Option<&str> {
        self.helper.as_deref()
    }

    /// Stops the listeners, cancels the ssh forwards and removes the
    /// helper, waiting for ssh and the engine.
    pub async fn close(mut self) {
        self.stop_listeners();
        self.tether.take();
        if let Some(helper) = self.helper.take() {
            self.engine.remove_quietly(&helper).await;
        }
        if let Some(tunnel) = &self.tunnel {
            for forward in self.tunnel_forwards.drain(..) {
                if let Err(error) = tunnel.cancel(&forward).await {
                    tracing::debug!(error = %error, "an ssh forward was not cancelled");
                }
            }
        }
    }

    fn stop_listeners(&mut self) {
        for listener in self.listeners.drain(..) {
            listener.abort();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop_listeners();
        // Closing the helper's stdin ends it (and AutoRemove removes it);
        // removing it as well does not wait for the engine to notice.
        if self.tether.take().is_some()
            && let Some(helper) = self.helper.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let engine = self.engine.clone();
            runtime.spawn(async move { engine.remove_quietly(&helper).await });
        }
        // The ssh forwards end with the tunnel; cancel them sooner if we can.
        if let Some(tunnel) = self.tunnel.clone()
            && !self.tunnel_forwards.is_empty()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let forwards = std::mem::take(&mut self.tunnel_forwards);
            runtime.spawn(async move {
                for forward in forwards {
                    let _ = tunnel.cancel(&forward).await;
                }
            });
        }
    }
}

/// Accepts connections on `listener` and relays each one to the tunnel's
/// local socket for `forward` (one ssh channel each).
async fn accept_over_ssh(listener: TcpListener, forward: TcpForward, target: String) {
    while let Ok((mut stream, _)) = listener.accept().await {
        // Relayed answers arrive in pieces: without this, Nagle holds each
        // later piece until the client's delayed ACK (40 ms a connection).
        let _ = stream.set_nodelay(true);
        let (local, target) = (forward.local.clone(), target.clone());
        tokio::spawn(async move {
            let mut channel = match tokio::net::UnixStream::connect(&local).await {
                Ok(channel) => channel,
                Err(error) => {
                    tracing::warn!(target = %target, error = %error, "the ssh tunnel is gone; a forwarded connection failed");
                    return;
                }
            };
            // A reset by either side ends the connection as it would directly.
            if let Err(error) = tokio::io::copy_bidirectional(&mut stream, &mut channel).await {
                tracing::debug!(target = %target, error = %error, "a forwarded connection ended with an error");
            }
        });
    }
}

/// Accepts connections on `listener` and relays each one through an exec
/// of `nc` in the helper container.
async fn accept_over_exec(
    listener: TcpListener,
    engine: Engine,
    helper: String,
    target: (String, u16),
    setups: std::sync::Arc<tokio::sync::Semaphore>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        // As in `accept_over_ssh`: no Nagle delay on relayed pieces.
        let _ = stream.set_nodelay(true);
        let (engine, helper, target, setups) = (engine.clone(), helper.clone(), target.clone(), setups.clone());
        tokio::spawn(async move {
            if let Err(error) = relay(&engine, &helper, &target.0, target.1, stream, &setups).await {
                tracing::warn!(target = %format!("{}:{}", target.0, target.1), error = %error, "a forwarded connection failed");
            }
        });
    }
}

/// Relays one accepted connection through `nc host port` exec'd in the helper.
async fn relay(
    engine: &Engine,
    helper: &str,
    host: &str,
    port: u16,
    stream: TcpStream,
    setups: &tokio::sync::Semaphore,
) -> Result<(), EngineError> {
    let object = format!("{host}:{port}");
    let setup = setups.acquire().await.expect("the semaphore is never closed");
    // Nothing has been relayed yet, so a setup that lost its engine
    // connection (an ssh connection refused under load) is tried again.
    let mut attempt = 1;
    let started = loop {
        match start_relay_exec(engine, helper, host, port, &object).await {
            Err(error) if error.is_unreachable() && attempt < SETUP_ATTEMPTS => {
                tracing::debug!(%object, attempt, error = %error, "retrying a forwarding exec");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt as u64)).await;
                attempt += 1;
            }
            other => break other?,
        }
    };
    drop(setup);
    let StartExecResults::Attached { mut output, mut input } = started else {
        return Ok(());
    };
    let (mut from_client, mut to_client) = stream.into_split();
    let upstream = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match from_client.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if input.write_all(&buffer[..n]).await.is_err() || input.flush().await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = input.shutdown().await;
    };
    let downstream = async move {
        while let Some(item) = output.next().await {
            match item {
                Ok(bollard::container::LogOutput::StdOut { message }) => {
                    if to_client.write_all(&message).await.is_err() {
                        break;
                    }
                }
                Ok(bollard::container::LogOutput::StdErr { message }) => {
                    tracing::debug!(message = %String::from_utf8_lossy(&message).trim_end(), "forward helper");
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = to_client.shutdown().await;
    };
    // The connection ends when the service closes it. A client that closes
    // its sending half still gets the answer, for a while: busybox's nc may
    // keep running after end of file, and the exec must not outlive that.
    let downstream = tokio::spawn(downstream);
    let abort = downstream.abort_handle();
    tokio::select! {
        _ = downstream => {}
        () = async {
            upstream.await;
            tokio::time::sleep(HALF_CLOSED_GRACE).await;
        } => abort.abort(),
    }
    Ok(())
}

/// Creates and starts `nc host port` in the helper, attached.
async fn start_relay_exec(
    engine: &Engine,
    helper: &str,
    host: &str,
    port: u16,
    object: &str,
) -> Result<StartExecResults, EngineError> {
    let exec = engine
        .docker
        .create_exec(
            helper,
            CreateExecOptions {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(vec!["nc".to_string(), host.to_string(), port.to_string()]),
                ..Default::default()
            },
        )
        .await
        .map_err(|source| engine.api_error("create a forwarding exec to", object, source))?;
    engine
        .docker
        .start_exec(&exec.id, Some(StartExecOptions::default()))
        .await
        .map_err(|source| engine.api_error("start a forwarding exec to", object, source))
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    format!("{}-{nanos:08x}", std::process::id())
}
