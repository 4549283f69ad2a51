//! The project lock: two mutating commands (`up`, `down`, …) on the same
//! project never interleave. The second waits, says so, and then sees the
//! state the first one left.
//!
//! An advisory file lock in the temporary directory, keyed by project name:
//! it covers every flowinfra process on this machine, and the operating
//! system releases it when a process dies, even by SIGKILL. Two machines
//! driving one remote engine are kept apart by the engine-side lock
//! (`engine::EngineLock`), taken as well when the engine is remote; a local
//! engine is only reachable from this machine, where the file lock suffices
//! (see docs/decisions.md, "Remote engines", for the cost).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use anyhow::Context;

use crate::engine::{Engine, EngineLock};
use crate::events::{Event, EventSink};

/// How long a command waits for another machine's engine lock.
pub const ENGINE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Held while a command changes the project; released on drop.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
    engine: Option<EngineLock>,
}

impl ProjectLock {
    /// Takes the project's lock on this machine and, when `engine` is
    /// remote, on the engine too, waiting (and saying so) while another
    /// process or machine holds it.
    pub async fn acquire(project: &str, engine: &Engine, events: &dyn EventSink) -> anyhow::Result<ProjectLock> {
        let mut lock = Self::acquire_local(project, events).await?;
        if engine.is_remote() {
            let image = crate::reach::ensure_helper_image(engine, Some(events)).await?;
            let held = engine
                .lock_project(project, &image, ENGINE_LOCK_WAIT, |holder| {
                    events.emit(Event::WaitingForEngineLock {
                        project: project.to_string(),
                        holder: holder.to_string(),
                    })
                })
                .await?;
            lock.engine = Some(held);
        }
        Ok(lock)
    }

    /// Releases the engine lock (if any), waiting until the engine removed
    /// it so the next holder finds it free; the file lock goes on drop.
    pub async fn release(mut self) {
        if let Some(engine) = self.engine.take() {
            engine.release().await;
        }
    }

    /// Takes the project's lock on this machine only.
    pub async fn acquire_local(project: &str, events: &dyn EventSink) -> anyhow::Result<ProjectLock> {
        let path = lock_path(project);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the lock directory {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the project lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                return Ok(ProjectLock {
                    _file: file,
                    engine: None,
                });
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        events.emit(Event::WaitingForLock {
            project: project.to_string(),
        });
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await?
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(ProjectLock {
            _file: file,
            engine: None,
        })
    }
}

fn lock_path(project: &str) -> PathBuf {
    std::env::temp_dir()
        .join("flowinfra-locks")
        .join(format!("{project}.lock"))
}
