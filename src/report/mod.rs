//! The one reporting layer: every line flowinfra writes goes through
//! [`Printer`]. Data goes to stdout, messages and progress to stderr. The
//! core's [`Event`]s become progress lines here ([`events`]).

mod events;
mod progress;
mod tables;
mod yaml;

pub use progress::Progress;
pub use tables::{ServiceRow, check_table, ps_table, render_table};
pub use yaml::to_yaml;

use std::io::{IsTerminal, Write};

use crate::events::{Event, EventSink};

/// What the user asked of the output, resolved from the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputSettings {
    /// Only warnings, errors and data.
    pub quiet: bool,
    /// `-v` count: 1 debug tracing, 2 and more trace.
    pub verbose: u8,
    /// No colour, whatever the terminal (`NO_COLOR` is honoured as well).
    pub no_color: bool,
}

impl OutputSettings {
    /// Colour on stderr: asked for, allowed by `NO_COLOR`, and a terminal.
    fn color(&self) -> bool {
        !self.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            && std::io::stderr().is_terminal()
    }
}

/// Decides what is printed and how, from the output settings and the terminal.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    verbose: u8,
    color: bool,
    progress: std::sync::Arc<Progress>,
}

impl Printer {
    pub fn new(settings: &OutputSettings) -> Self {
        let live = !settings.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self {
            quiet: settings.quiet,
            verbose: settings.verbose,
            color: settings.color(),
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
    fn step(&self, service: &str, status: &str) {
        if !self.quiet {
            self.progress.step(service, status);
        }
    }

    /// A service's last progress line (`ready in 3.2s`, `FAILED`).
    fn finish(&self, service: &str, status: &str) {
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
        let failures = root_causes_first(outcomes);
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

/// The failed services, each root cause before the services that did not
/// start because of it (a dependency chain reads top-down), otherwise in
/// the outcomes' order.
fn root_causes_first(outcomes: &[crate::converge::ServiceOutcome]) -> Vec<(&String, &crate::converge::ServiceFailure)> {
    let failures: std::collections::BTreeMap<&str, Option<&str>> = outcomes
        .iter()
        .filter_map(|o| {
            let failure = o.result.as_ref().err()?;
            Some((o.service.as_str(), failure.failed_dependency.as_deref()))
        })
        .collect();
    // How many failed dependencies lie between a failure and its root cause.
    let depth = |name: &str| {
        let (mut name, mut hops) = (name, 0);
        while let Some(Some(dependency)) = failures.get(name) {
            if hops > failures.len() || !failures.contains_key(dependency) {
                break;
            }
            hops += 1;
            name = dependency;
        }
        hops
    };
    let mut ordered: Vec<_> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(|f| (&o.service, f)))
        .collect();
    ordered.sort_by_key(|(name, _)| depth(name.as_str()));
    ordered
}

impl EventSink for Printer {
    fn emit(&self, event: Event) {
        match events::line(event) {
            events::Line::Step { service, text } => self.step(&service, &text),
            events::Line::Finish { service, text } => self.finish(&service, &text),
            events::Line::Info(text) => self.info(&text),
            events::Line::Warning(text) => self.warn(&text),
        }
    }
}
