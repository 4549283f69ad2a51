//! One thin module per subcommand: each resolves its settings, calls the
//! core and adapters, and hands results to the [`Printer`].

mod config;

use anyhow::Context;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::NotImplemented;
use crate::report::Printer;

/// Runs the parsed command; returns the exit code on success.
pub async fn dispatch(cli: Cli, printer: &Printer) -> anyhow::Result<u8> {
    let Cli { global, command } = cli;
    match command {
        Command::Config(args) => config::run(&global, &args, printer),
        Command::Up(_) => Err(NotImplemented { command: "up" }.into()),
        Command::Down(_) => Err(NotImplemented { command: "down" }.into()),
        Command::Plan(_) => Err(NotImplemented { command: "plan" }.into()),
        Command::Ps(_) => Err(NotImplemented { command: "ps" }.into()),
        Command::Logs(_) => Err(NotImplemented { command: "logs" }.into()),
        Command::Migrate(_) => Err(NotImplemented { command: "migrate" }.into()),
        Command::Seed(_) => Err(NotImplemented { command: "seed" }.into()),
        Command::Check(_) => Err(NotImplemented { command: "check" }.into()),
        Command::Env(_) => Err(NotImplemented { command: "env" }.into()),
    }
}

/// Loads the spec named by the global flags.
pub fn load_spec(global: &GlobalArgs) -> anyhow::Result<crate::spec::Loaded> {
    let options = crate::spec::LoadOptions::from_process(
        global.files.clone(),
        global.project_name.clone(),
        global.env_files.clone(),
    )
    .context("cannot read the current directory")?;
    Ok(crate::spec::load(&options)?)
}
