//! `flowinfra env`: connection settings for consumer services. The one
//! command that prints secrets, because that is what it is asked for.

use crate::cli::{EnvArgs, EnvFormat, GlobalArgs};
use crate::consumer_env::{settings, to_dotenv, to_shell};
use crate::error::EXIT_OK;
use crate::report::Printer;

pub fn run(global: &GlobalArgs, args: &EnvArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let settings = settings(&loaded.spec);
    let text = match args.format {
        EnvFormat::Dotenv => to_dotenv(&settings),
        EnvFormat::Shell => to_shell(&settings),
        EnvFormat::Json => serde_json::to_string_pretty(&settings)?,
    };
    printer.data(&text);
    // Which engine, without connecting: `env` works with the engine down.
    let inputs = crate::engine::ResolveInputs::from_process(global.context.as_deref());
    if let Ok(target) = crate::engine::context::resolve(&inputs)
        && target.is_remote()
    {
        printer.warn(&format!(
            "the engine is remote ({}): these addresses work on this machine while `flowinfra forward` runs",
            target.chosen_by()
        ));
    }
    Ok(EXIT_OK)
}
