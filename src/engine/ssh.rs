//! `ssh://` engines over one ssh connection per process.
//!
//! bollard 0.21's ssh transport starts a new ssh master (a full login) and
//! a remote `docker system dial-stdio` for every HTTP connection it opens:
//! each exec, attach, log stream and each connection its pool does not
//! reuse cost about a second. An [`SshTunnel`] instead logs in once, with
//! the system `ssh` as a ControlMaster (through the `openssh` crate, so
//! `~/.ssh/config`, the agent and `known_hosts` apply as for `ssh` and the
//! docker CLI), and asks that master for local forwards:
//!
//! - the remote engine's socket (`/var/run/docker.sock`) to a socket in the
//!   master's private directory, which bollard then speaks to as a unix
//!   socket: every engine connection is one ssh channel on the open login;
//! - published ports of the remote host to sockets beside it, for
//!   [`Forwarder`](super::Forwarder): a forwarded connection is one
//!   `direct-tcpip` channel, no exec and no helper container.
//!
//! The forwards are requested with `ssh -O forward` on the master's control
//! socket (about 20 ms); the `openssh` crate's own `request_port_forward`
//! runs `ssh -fNT -L`, which takes about 300 ms each.
//!
//! One session runs `cat` on the remote for as long as the tunnel lives.
//! It keeps the master busy, so a quiet `flowinfra forward` is not cut by
//! `ControlPersist`, and it makes both ends of the ssh connection set
//! `TCP_NODELAY`, which ssh does only when a session starts: without it a
//! service that answers in two writes waited for a delayed ACK, 40 ms per
//! forwarded connection.
//!
//! Lifetime: dropping the tunnel ends the master (`ssh -O exit`). When the
//! process is killed instead, the session's stdin (a pipe from this
//! process) closes, `cat` ends, and the master, left with no channels,
//! exits after [`IDLE_EXIT`] (`ControlPersist`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};

/// Where the engine listens on the remote host (the docker CLI's default;
/// `docker system dial-stdio` is used when it does not answer there).
pub const REMOTE_ENGINE_SOCKET: &str = "/var/run/docker.sock";

/// How long a master with no open channel stays (after a killed process).
const IDLE_EXIT: Duration = Duration::from_secs(60);
/// ssh's keep-alive probes: a vanished host ends the master in about 45 s.
const SERVER_ALIVE: Duration = Duration::from_secs(15);

/// One ssh login carrying the engine connection and forwarded ports.
pub(super) struct SshTunnel {
    /// `user@host` as given.
    destination: String,
    session: Session,
    /// The master's private directory (mode 0700): control socket, log, forwards.
    dir: PathBuf,
    /// The local end of the engine socket's forward.
    engine_socket: PathBuf,
    next_forward: AtomicU32,
    /// The `cat` session (see the module documentation); killed on drop.
    _session_keeper: Option<tokio::process::Child>,
}

impl std::fmt::Debug for SshTunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshTunnel")
            .field("destination", &self.destination)
            .field("dir", &self.dir)
            .finish()
    }
}

/// A forward that could not be set up or torn down: ssh's own words.
#[derive(Debug, thiserror::Error)]
#[error("ssh -O forward {spec} failed: {reason}")]
pub struct ForwardRequestError {
    spec: String,
    reason: String,
}

impl SshTunnel {
    /// Logs in to `destination` (`[user@]host`) and forwards the remote
    /// engine socket. Fails with ssh's reason when the login fails.
    pub(super) async fn open(destination: &str, connect_timeout: Duration) -> Result<SshTunnel, openssh::Error> {
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(KnownHosts::Add)
            .control_persist(ControlPersist::IdleFor(
                std::num::NonZeroUsize::new(IDLE_EXIT.as_secs() as usize).expect("not zero"),
            ))
            .connect_timeout(connect_timeout)
            .server_alive_interval(SERVER_ALIVE);
        let session = builder.connect(destination).await?;
        let dir = session
            .control_socket()
            .parent()
            .expect("the control socket is in the master's directory")
            .to_path_buf();
        let keeper = tokio::process::Command::new("ssh")
            .arg("-S")
            .arg(session.control_socket())
            .args(["-T", "none", "cat"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let keeper = match keeper {
            Ok(keeper) => Some(keeper),
            Err(error) => {
                tracing::debug!(error = %error, "no ssh session to keep the tunnel busy");
                None
            }
        };
        Ok(SshTunnel {
            destination: destination.to_string(),
            engine_socket: dir.join("engine.sock"),
            dir,
            session,
            next_forward: AtomicU32::new(0),
            _session_keeper: keeper,
        })
    }

    /// Forwards the remote engine's socket to [`SshTunnel::engine_socket`].
    pub(super) async fn forward_engine_socket(&self) -> Result<(), ForwardRequestError> {
        self.request("forward", &self.engine_socket, REMOTE_ENGINE_SOCKET).await
    }

    /// The local socket that reaches the remote engine.
    pub(super) fn engine_socket(&self) -> &Path {
        &self.engine_socket
    }

    /// A new local socket forwarded to `host:port` as the remote host reaches
    /// it; each connection to it is one `direct-tcpip` channel.
    pub(super) async fn forward_tcp(&self, host: &str, port: u16) -> Result<TcpForward, ForwardRequestError> {
        let n = self.next_forward.fetch_add(1, Ordering::Relaxed);
        let local = self.dir.join(format!("forward-{n}.sock"));
        let remote = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        self.request("forward", &local, &remote).await?;
        Ok(TcpForward { local, remote })
    }

    /// Cancels a forward from [`SshTunnel::forward_tcp`].
    pub(super) async fn cancel(&self, forward: &TcpForward) -> Result<(), ForwardRequestError> {
        self.request("cancel", &forward.local, &forward.remote).await?;
        let _ = std::fs::remove_file(&forward.local);
        Ok(())
    }

    /// `ssh -S <control> -O <command> -L <local>:<remote>`.
    async fn request(&self, command: &str, local: &Path, remote: &str) -> Result<(), ForwardRequestError> {
        let mut spec = OsString::from(local);
        spec.push(":");
        spec.push(remote);
        let spec_text = spec.to_string_lossy().into_owned();
        let failed = |reason: String| ForwardRequestError {
            spec: spec_text.clone(),
            reason,
        };
        let output = tokio::process::Command::new("ssh")
            .arg("-S")
            .arg(self.session.control_socket())
            .args(["-O", command, "-L"])
            .arg(&spec)
            // The master ignores the host of a control command; a real
            // host name would make ssh add that host's own LocalForwards.
            .arg("none")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|error| failed(format!("cannot run ssh: {error}")))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(failed(String::from_utf8_lossy(&output.stderr).trim().to_string()))
        }
    }
}

/// One forwarded remote address and its local socket.
#[derive(Debug, Clone)]
pub(super) struct TcpForward {
    pub(super) local: PathBuf,
    pub(super) remote: String,
}

/// The address on the remote host that reaches a port published on
/// `host_ip` there: its loopback when published on every address.
pub(super) fn remote_host(host_ip: &str) -> String {
    match host_ip {
        "" | "0.0.0.0" => "127.0.0.1".to_string(),
        "::" | "[::]" => "::1".to_string(),
        other => other.trim_start_matches('[').trim_end_matches(']').to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::remote_host;

    #[test]
    fn a_port_published_everywhere_is_reached_on_the_remote_loopback() {
        assert_eq!(remote_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(remote_host(""), "127.0.0.1");
        assert_eq!(remote_host("::"), "::1");
        assert_eq!(remote_host("127.0.0.1"), "127.0.0.1");
        assert_eq!(remote_host("10.0.0.7"), "10.0.0.7");
        assert_eq!(remote_host("[fd00::7]"), "fd00::7");
    }
}
