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

/// The user asked for something that cannot be done as asked.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

/// Maps an error to the process exit code by the most specific cause it carries.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<crate::spec::SpecError>() || cause.is::<UsageError>() {
            return EXIT_USAGE;
        }
        // A context that does not exist (or a broken Docker config) is the
        // caller's choice to fix, not an engine that is down.
        if matches!(
            cause.downcast_ref::<crate::engine::EngineError>(),
            Some(crate::engine::EngineError::Context(_))
        ) {
            return EXIT_USAGE;
        }
        let engine_unreachable = cause
            .downcast_ref::<crate::engine::EngineError>()
            .is_some_and(|engine| engine.is_unreachable());
        if engine_unreachable {
            return EXIT_ENGINE_UNREACHABLE;
        }
    }
    EXIT_FAILURE
}

/// An error and its causes on one line, `outer: cause: root`. A cause whose
/// text the line already holds is left out: many client errors quote their
/// source in their own message.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_chain_adds_causes_the_message_does_not_already_quote() {
        #[derive(Debug)]
        struct Outer(std::io::Error, &'static str);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.1)
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(
            error_chain(&Outer(refused(), "error sending request")),
            "error sending request: connection refused"
        );
        assert_eq!(
            error_chain(&Outer(refused(), "IO error: connection refused")),
            "IO error: connection refused"
        );
    }
}
