//! The one reporting layer: every line flowinfra writes goes through
//! [`Printer`]. Data goes to stdout, messages and progress to stderr.

mod progress;
mod tables;
mod yaml;

pub use progress::Progress;
pub use tables::{ServiceRow, check_table, ps_table, render_table};
pub use yaml::to_yaml;

use std::io::{IsTerminal, Write};

use crate::cli::GlobalArgs;

/// Decides what is printed and how, from the global flags and the terminal.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    verbose: u8,
    color: bool,
    progress: std::sync::Arc<Progress>,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let color = !global.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            && std::io::stderr().is_terminal();
        let live = !global.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self {
            quiet: global.quiet,
            verbose: global.verbose,
            color,
            progress: Progress::new(live),
        }
    }

    /// A printer for tests and non-terminal use: plain, not quiet.
    pub fn plain() -> Self {
        Self {
            quiet: false,
            verbose: 0,
            color: false,
            progress: Progress::new(false),
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn is_verbose(&self) -> bool {
        self.verbose > 0
    }

    /// Command output meant for pipes: always printed, to stdout.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// A progress or status message, to stderr; silenced by `--quiet`.
    pub fn info(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// A service's progress (`creating`, `waiting for readiness`, …); silenced by `--quiet`.
    pub fn step(&self, service: &str, status: &str) {
        if !self.quiet {
            self.progress.step(service, status);
        }
    }

    /// A service's last progress line (`ready in 3.2s`, `FAILED`).
    pub fn finish(&self, service: &str, status: &str) {
        if !self.quiet {
            self.progress.finish(service, status);
        }
    }

    /// A warning, to stderr; shown even with `--quiet`.
    pub fn warn(&self, message: &str) {
        eprintln!("{} {message}", self.paint("warning:", "33"));
    }

    /// Renders an error: what failed, its causes, and what to do next.
    pub fn error(&self, err: &anyhow::Error) {
        eprintln!("{}", self.render_error(err));
    }

    pub fn render_error(&self, err: &anyhow::Error) -> String {
        let mut text = format!("{} {err}", self.paint("error:", "1;31"));
        let causes: Vec<String> = err.chain().skip(1).map(|cause| cause.to_string()).collect();
        if !causes.is_empty() {
            text.push_str("\n\nCaused by:");
            for cause in &causes {
                for (index, line) in cause.lines().enumerate() {
                    text.push_str(if index == 0 { "\n  " } else { "\n    " });
                    text.push_str(line);
                }
            }
        }
        if let Some(hint) = crate::error::hint(err) {
            text.push_str(&format!("\n\n{} {hint}", self.paint("hint:", "1;36")));
        }
        text
    }

    /// After `up`: one line per service, then each failure with its evidence.
    pub fn up_summary(&self, project: &str, outcomes: &[crate::converge::ServiceOutcome]) {
        let failures: Vec<_> = outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().err().map(|f| (&o.service, f)))
            .collect();
        if !self.quiet || !failures.is_empty() {
            eprintln!("\n{}", tables::up_summary_table(outcomes));
        }
        for (service, failure) in &failures {
            let mut text = format!(
                "{} service `{service}` is not ready: {}",
                self.paint("error:", "1;31"),
                failure.reason
            );
            if !failure.log_tail.is_empty() {
                text.push_str(&format!("\n\nLast {} lines of its log:", failure.log_tail.len()));
                for line in &failure.log_tail {
                    text.push_str("\n  | ");
                    text.push_str(line);
                }
            }
            if let Some(hint) = &failure.hint {
                text.push_str(&format!("\n\n{} {hint}", self.paint("hint:", "1;36")));
            }
            eprintln!("\n{text}");
        }
        if failures.is_empty() {
            self.info(&format!(
                "\nproject `{project}` is up: {} services ready",
                outcomes.len()
            ));
        } else {
            eprintln!("\nservices that became ready keep running; fix the failure and run `flowinfra up` again");
        }
    }

    fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
