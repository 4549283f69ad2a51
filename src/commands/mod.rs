//! One thin module per subcommand: each resolves its settings, calls the
//! core and adapters, and hands results to the [`Printer`].

mod check;
mod config;
mod down;
mod env;
mod forward;
mod logs;
mod migrate;
mod plan;
mod provision;
mod ps;
mod render;
mod seed;
mod up;
mod wait;

use anyhow::Context;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::report::Printer;

/// Runs the parsed command; returns the exit code on success.
pub async fn dispatch(cli: Cli, printer: &Printer) -> anyhow::Result<u8> {
    let Cli { global, command } = cli;
    match command {
        Command::Config(args) => config::run(&global, &args, printer),
        Command::Up(args) => up::run(&global, &args, printer).await,
        Command::Down(args) => down::run(&global, &args, printer).await,
        Command::Plan(args) => plan::run(&global, &args, printer).await,
        Command::Ps(args) => ps::run(&global, &args, printer).await,
        Command::Logs(args) => logs::run(&global, &args, printer).await,
        Command::Migrate(args) => migrate::run(&global, &args, printer).await,
        Command::Seed(args) => seed::run(&global, &args, printer).await,
        Command::Check(args) => check::run(&global, &args, printer).await,
        Command::Env(args) => env::run(&global, &args, printer),
        Command::Forward(args) => forward::run(&global, &args, printer).await,
        Command::Render(args) => render::run(&global, &args, printer),
        Command::Wait(args) => wait::run(&args, printer).await,
        Command::Provision(args) => provision::run(&global, &args, printer).await,
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "flowinfra", &mut script);
            printer.data(&String::from_utf8_lossy(&script));
            Ok(crate::error::EXIT_OK)
        }
    }
}

/// Loads the spec named by the global flags, printing its warnings.
pub fn load_spec(global: &GlobalArgs, printer: &crate::report::Printer) -> anyhow::Result<crate::spec::Loaded> {
    let options = crate::spec::LoadOptions::from_process(
        global.files.clone(),
        global.project_name.clone(),
        global.env_files.clone(),
    )
    .context("cannot read the current directory")?;
    let loaded = crate::spec::load(&options)?;
    for warning in &loaded.warnings {
        printer.warn(warning);
    }
    crate::logging::register_secrets(loaded.secret_values());
    Ok(loaded)
}

/// Connects to the engine `--context` names, else the one the docker CLI
/// would use (`DOCKER_HOST`, `DOCKER_CONTEXT`, the current context, the socket).
pub async fn connect(global: &GlobalArgs) -> anyhow::Result<crate::engine::Engine> {
    Ok(crate::engine::Engine::connect_with_context(global.context.as_deref()).await?)
}

/// Warns, on stderr, about each of `services` whose image is retired or
/// past its end of life (the shipped lifecycle table; offline). Never fails.
pub fn warn_about_images<'a>(
    spec: &crate::spec::Spec,
    services: impl IntoIterator<Item = &'a String>,
    printer: &Printer,
) {
    let images = services.into_iter().filter_map(|name| {
        spec.services
            .get(name)
            .map(|service| (name.as_str(), service.image.as_str()))
    });
    for warning in crate::image_lifecycle::service_warnings(images, crate::image_lifecycle::today()) {
        printer.warn(&warning);
    }
}
