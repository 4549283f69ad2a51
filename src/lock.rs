//! The project lock: two mutating commands (`up`, `down`, …) on the same
//! project never interleave. The second waits, says so, and then sees the
//! state the first one left.
//!
//! An advisory file lock in the temporary directory, keyed by project name:
//! it covers every flowinfra process on this machine, and the operating
//! system releases it when a process dies, even by SIGKILL. It does not cover
//! two machines driving one remote engine.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use anyhow::Context;

use crate::events::{Event, EventSink};

/// Held while a command changes the project; released on drop.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

impl ProjectLock {
    /// Takes the project's lock, waiting (and saying so) while another process holds it.
    pub async fn acquire(project: &str, events: &dyn EventSink) -> anyhow::Result<ProjectLock> {
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
            Ok(()) => return Ok(ProjectLock { _file: file }),
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
        Ok(ProjectLock { _file: file })
    }
}

fn lock_path(project: &str) -> PathBuf {
    std::env::temp_dir()
        .join("flowinfra-locks")
        .join(format!("{project}.lock"))
}
