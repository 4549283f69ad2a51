//! The engine-side project lock: two machines driving one remote engine
//! never change the same project at once (the local file lock,
//! `crate::lock`, covers one machine only).
//!
//! The lock is a container named `flowinfra-lock-<project>`. Creating it is
//! atomic through the engine's name uniqueness: a 409 means another holder.
//! Its labels say who holds it (host, user, pid, since when). It is tethered
//! to the holder's engine connection: it runs `cat` on an attached stdin
//! (`StdinOnce`, `AutoRemove`), so when the holder releases it, exits, is
//! killed or loses its connection, `cat` reads end of file, the container
//! exits and the engine removes it. There is no heartbeat to refresh: the
//! live connection is the heartbeat.
//!
//! Stale locks: a lock container that is not running (it exited and
//! AutoRemove has not run, or failed) has lost its holder and is removed;
//! one still in `created` after [`CREATED_STALE_AFTER`] was left by a holder
//! that died between create and start. A stale lock is removed by ID, so a
//! racing acquirer never removes the lock another one just took. A holder
//! whose machine vanished without closing TCP keeps the lock until the
//! engine's side of the connection times out; `docker rm -f` breaks it.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::forward::Tether;
use super::{Engine, EngineError, is_not_found, status_code};

/// A lock still being created (not started) after this long lost its holder.
pub const CREATED_STALE_AFTER: Duration = Duration::from_secs(30);
/// How long [`EngineLock::release`] waits for the engine to remove the lock.
pub const RELEASE_WAIT: Duration = Duration::from_secs(10);
/// How often a waiting acquirer tries again.
const RETRY_EVERY: Duration = Duration::from_millis(250);

const LABEL_LOCK: &str = "io.flowinfra.lock";
const LABEL_HOST: &str = "io.flowinfra.lock.host";
const LABEL_USER: &str = "io.flowinfra.lock.user";
const LABEL_PID: &str = "io.flowinfra.lock.pid";
const LABEL_SINCE: &str = "io.flowinfra.lock.since";

/// Who holds a project's engine lock, from its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The lock container's name, for `docker rm -f`.
    pub container: String,
    pub host: String,
    pub user: String,
    pub pid: String,
    /// Seconds since the Unix epoch when it was taken.
    pub since: u64,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let age = unix_now().saturating_sub(self.since);
        write!(
            f,
            "pid {} of {} on host \"{}\" (for {age} s)",
            self.pid, self.user, self.host
        )
    }
}

/// A held engine-side lock; released on drop (or with [`EngineLock::release`]).
pub struct EngineLock {
    engine: Engine,
    project: String,
    id: String,
    tether: Option<Tether>,
}

impl fmt::Debug for EngineLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineLock")
            .field("project", &self.project)
            .field("id", &self.id)
            .finish()
    }
}

/// The lock container's name for `project`.
pub fn lock_name(project: &str) -> String {
    format!("flowinfra-lock-{project}")
}

impl Engine {
    /// Takes `project`'s engine lock, or says who holds it. `image` is
    /// any image present on the engine that has `cat` (the forward helper's).
    pub async fn try_lock_project(
        &self,
        project: &str,
        image: &str,
    ) -> Result<Result<EngineLock, LockHolder>, EngineError> {
        let name = lock_name(project);
        loop {
            let labels = HashMap::from([
                (LABEL_LOCK.to_string(), project.to_string()),
                (LABEL_HOST.to_string(), host_name()),
                (
                    LABEL_USER.to_string(),
                    std::env::var("USER").unwrap_or_else(|_| "unknown user".into()),
                ),
                (LABEL_PID.to_string(), std::process::id().to_string()),
                (LABEL_SINCE.to_string(), unix_now().to_string()),
            ]);
            match self.tethered_container(&name, image, Some("none"), labels).await {
                Ok((id, tether)) => {
                    tracing::debug!(project, id, "took the engine lock");
                    return Ok(Ok(EngineLock {
                        engine: self.clone(),
                        project: project.to_string(),
                        id,
                        tether: Some(tether),
                    }));
                }
                Err(EngineError::Api { source, .. }) if status_code(&source) == Some(409) => {}
                Err(error) => return Err(error),
            }
            let inspected = match self.docker.inspect_container(&name, None).await {
                Ok(inspected) => inspected,
                // Released in between: try again.
                Err(error) if is_not_found(&error) => continue,
                Err(source) => return Err(self.api_error("inspect the engine lock", name, source)),
            };
            let labels = inspected
                .config
                .as_ref()
                .and_then(|config| config.labels.clone())
                .unwrap_or_default();
            let label = |key: &str| labels.get(key).cloned().unwrap_or_else(|| "?".to_string());
            let holder = LockHolder {
                container: name.clone(),
                host: label(LABEL_HOST),
                user: label(LABEL_USER),
                pid: label(LABEL_PID),
                since: label(LABEL_SINCE).parse().unwrap_or_default(),
            };
            let status = inspected
                .state
                .as_ref()
                .and_then(|state| state.status)
                .map(|status| status.to_string())
                .unwrap_or_default();
            let created_age = Duration::from_secs(unix_now().saturating_sub(holder.since));
            let stale = match status.as_str() {
                "running" | "paused" | "restarting" => false,
                // Being removed (released, or AutoRemove at work): try again shortly.
                "removing" => {
                    tokio::time::sleep(RETRY_EVERY).await;
                    continue;
                }
                "created" => created_age > CREATED_STALE_AFTER,
                _ => true,
            };
            if !stale {
                return Ok(Err(holder));
            }
            tracing::info!(project, %holder, status, "removing a stale engine lock");
            if let Some(id) = inspected.id.as_deref() {
                self.remove_quietly(id).await;
            }
        }
    }

    /// Takes `project`'s engine lock, waiting up to `wait` while another
    /// holder has it (`on_wait` is called once, with that holder, when
    /// waiting starts); [`EngineError::LockHeld`] after that.
    pub async fn lock_project(
        &self,
        project: &str,
        image: &str,
        wait: Duration,
        mut on_wait: impl FnMut(&LockHolder),
    ) -> Result<EngineLock, EngineError> {
        let deadline = Instant::now() + wait;
        let mut told = false;
        loop {
            match self.try_lock_project(project, image).await? {
                Ok(lock) => return Ok(lock),
                Err(holder) if Instant::now() >= deadline => {
                    return Err(EngineError::LockHeld {
                        project: project.to_string(),
                        holder,
                    });
                }
                Err(holder) => {
                    if !told {
                        on_wait(&holder);
                        told = true;
                    }
                    tokio::time::sleep(RETRY_EVERY).await;
                }
            }
        }
    }
}

impl EngineLock {
    /// The lock container's ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Releases the lock, waiting (up to [`RELEASE_WAIT`]) until the engine
    /// removed it, so the next acquirer finds the name free.
    pub async fn release(mut self) {
        self.tether.take();
        let deadline = Instant::now() + RELEASE_WAIT;
        loop {
            // Force-removal may race AutoRemove ("removal already in progress").
            self.engine.remove_quietly(&self.id).await;
            match self.engine.docker.inspect_container(&self.id, None).await {
                Err(error) if is_not_found(&error) => return,
                _ if Instant::now() >= deadline => {
                    tracing::warn!(
                        project = self.project,
                        id = self.id,
                        "the engine lock was not removed in time"
                    );
                    return;
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

impl Drop for EngineLock {
    fn drop(&mut self) {
        // Closing stdin ends the lock container even without a runtime;
        // removing it too frees the name without waiting for AutoRemove.
        if self.tether.take().is_some()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let (engine, id) = (self.engine.clone(), self.id.clone());
            runtime.spawn(async move { engine.remove_quietly(&id).await });
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown host".to_string())
}
