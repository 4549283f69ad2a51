//! Exit codes and the small typed errors that decide them.
//!
//! Library modules return typed errors where a caller branches on them; the
//! edge turns any error into an exit code by looking for these types in the
//! cause chain.

use thiserror::Error;

/// Everything went as asked.
pub const EXIT_OK: u8 = 0;
/// The operation failed (a service did not become ready, a check failed, ...).
pub const EXIT_FAILURE: u8 = 1;
/// The spec or the command line was wrong; nothing was touched.
pub const EXIT_USAGE: u8 = 2;
/// The Docker engine could not be reached.
pub const EXIT_ENGINE_UNREACHABLE: u8 = 3;
/// Interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// A command that a later milestone implements. Says so instead of pretending.
#[derive(Debug, Error)]
#[error("`flowinfra {command}` is not implemented yet")]
pub struct NotImplemented {
    pub command: &'static str,
}

/// The user asked for something that cannot be done as asked.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

/// The Docker engine did not answer at the address tried.
#[derive(Debug, Error)]
#[error("cannot reach the Docker engine at {address}")]
pub struct EngineUnreachable {
    pub address: String,
}

/// Maps an error to the process exit code by the most specific cause it carries.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<crate::spec::SpecError>() || cause.is::<NotImplemented>() || cause.is::<UsageError>() {
            return EXIT_USAGE;
        }
        // The engine adapter reports an unreachable engine as
        // `EngineError::Unreachable`, which keeps the connection error as its
        // cause (an `EngineUnreachable` in the chain could not).
        let engine_unreachable = cause
            .downcast_ref::<crate::engine::EngineError>()
            .is_some_and(|engine| engine.is_unreachable());
        if engine_unreachable || cause.is::<EngineUnreachable>() {
            return EXIT_ENGINE_UNREACHABLE;
        }
    }
    EXIT_FAILURE
}

/// The hint attached to the first cause that has one.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(usage) = cause.downcast_ref::<UsageError>() {
            return usage.hint.clone();
        }
        if let Some(engine) = cause.downcast_ref::<crate::engine::EngineError>() {
            return engine.hint();
        }
        if cause.is::<EngineUnreachable>() {
            return Some(
                "start the Docker engine, or point DOCKER_HOST at one (e.g. unix:///var/run/docker.sock)".into(),
            );
        }
        if cause.is::<NotImplemented>() {
            return Some("see the README's roadmap for what works today".into());
        }
        None
    })
}
