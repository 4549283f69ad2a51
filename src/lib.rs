//! flowinfra: one binary that turns a Compose file with `x-flowinfra`
//! extensions into running, ready, migrated and seeded local infrastructure.
//!
//! Map of the crate:
//! - [`cli`]: clap definitions only.
//! - [`spec`]: the stack spec — YAML with positions, interpolation, `include`,
//!   `extends` and merging, validation into a typed model, redaction. Pure, no
//!   I/O beyond reading files.
//! - [`plan`]: desired against actual state → one action per service, with reasons. Pure.
//! - [`container_spec`]: a spec service as the engine's container, and its config hash. Pure.
//! - [`build_context`]: files, content hash and tar of `build:` contexts.
//! - [`engine`]: the Docker adapter, the only module that talks to the engine.
//! - [`kinds`]: one plugin per kind (mysql, postgres, rabbitmq, redis, s3): credentials, probe, provisioning, checks, consumer settings.
//! - [`database`]: what the two database libraries share, written once: the seed's run and per-row drift check (with its fingerprint shortcut), `check`'s reading, migration states; each library implements its `Session`. No driver.
//! - [`mysql`]: the database library of the mysql kind (sqlx's MySQL driver), whose seed manifest and rows the postgres kind shares: readiness login, migrations (run time) and the versioned, checksummed seed.
//! - [`postgres`]: the database library of the postgres kind (sqlx's PostgreSQL driver): TCP login probe, migrations under sqlx's advisory lock, the seed by `COPY FROM STDIN`, databases created when missing.
//! - [`check`]: the checks of `check`, run concurrently with timeouts.
//! - [`render`]: the stack as Kubernetes manifests (typed objects, translation report), and what they run in the cluster (`wait`, `provision`).
//! - [`consumer_env`]: connection settings for consumer services (`env`). Pure.
//! - [`stack`]: the services a command is about and the plan for each, read from the engine.
//! - [`converge`]: executes `up` — images, containers in dependency order, readiness as data, provisioning.
//! - [`events`]: the typed progress events the core emits through an `EventSink`.
//! - [`logging`]: tracing set-up; third-party log lines masked of every known secret.
//! - [`reach`]: where this machine reaches service ports: directly, or forwarded through a remote engine.
//! - [`lock`]: the per-project lock that keeps two `up`/`down` from interleaving.
//! - [`upstream`]: registry digest comparison, on request only.
//! - [`image_lifecycle`]: retired and end-of-life image series, from the shipped table. Pure.
//! - [`error`]: exit codes and the typed errors commands branch on.
//! - [`report`]: the one place that writes to the terminal; renders events, tables and errors.
//! - [`commands`]: one thin module per subcommand, wiring core to adapters.

pub mod build_context;
pub mod check;
pub mod cli;
pub mod commands;
pub mod consumer_env;
pub mod container_spec;
pub mod converge;
pub mod database;
pub mod engine;
pub mod error;
pub mod events;
pub mod image_lifecycle;
pub mod kinds;
pub mod lock;
pub mod logging;
pub mod mysql;
pub mod plan;
pub mod postgres;
pub mod reach;
pub mod render;
pub mod report;
pub mod spec;
pub mod stack;
#[cfg(test)]
mod testing;
pub mod upstream;

use std::process::ExitCode;

/// Runs one invocation and returns the process exit code.
pub fn run(cli: cli::Cli) -> ExitCode {
    let output = report::OutputSettings {
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        no_color: cli.global.no_color,
    };
    let printer = report::Printer::new(&output);
    logging::init(logging::LogSettings {
        verbose: output.verbose,
        no_color: output.no_color,
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            printer.error(&anyhow::Error::new(err).context("could not start the async runtime"));
            return ExitCode::from(error::EXIT_FAILURE);
        }
    };
    match runtime.block_on(commands::dispatch(cli, &printer)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            printer.error(&err);
            ExitCode::from(error::exit_code(&err))
        }
    }
}
