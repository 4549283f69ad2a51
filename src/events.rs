//! What the core reports while it works, as typed events: converging
//! containers, waiting, provisioning, migrating and seeding all say what
//! they do through an [`EventSink`], and [`crate::report`] turns the events
//! into lines, live progress and warnings. The core never writes to the
//! terminal itself.
//!
//! A leaf: it names plan and kind data, and imports nothing that does I/O.

use std::time::Duration;

use crate::kinds::ProvisionReport;
use crate::plan::RecreateReason;

/// One thing that happened, for someone to report.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Another flowinfra command holds the project lock; this one waits for it.
    WaitingForLock { project: String },
    /// Another machine (or process) holds the project's lock on a remote engine.
    WaitingForEngineLock { project: String, holder: String },
    /// A service's image is being built, and why.
    Building {
        service: String,
        image: String,
        reason: &'static str,
    },
    /// A service's image is being pulled.
    Pulling { service: String, image: String },
    /// An image this project built earlier was removed after a rebuild.
    SupersededImageRemoved { image: String },
    /// A service waits for one it depends on.
    WaitingForDependency { service: String, dependency: String },
    /// A stopped container is being started.
    Starting { service: String },
    /// A container is being created.
    Creating { service: String },
    /// A container is being replaced, for these reasons.
    Recreating {
        service: String,
        reasons: Vec<RecreateReason>,
    },
    /// A container runs; flowinfra now waits until it is ready.
    WaitingForReadiness { service: String },
    /// Pending migrations are being applied.
    Migrating { service: String, pending: Vec<i64> },
    /// The seed is being loaded.
    Seeding { service: String, version: String },
    /// The seed was loaded.
    SeedLoaded {
        service: String,
        version: String,
        rows: u64,
        duration: Duration,
    },
    /// A kind's declarations (queues, buckets, …) are in place.
    Provisioned { service: String, report: ProvisionReport },
    /// Something the user should know, about one service.
    Warning { service: String, text: String },
    /// A service is ready (and provisioned), this long after its turn began.
    Ready { service: String, after: Duration },
    /// A service failed; the reason comes with its outcome.
    Failed { service: String },
}

/// Receives the core's events. [`crate::report::Printer`] renders them;
/// tests may collect them.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}
