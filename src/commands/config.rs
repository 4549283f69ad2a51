//! `flowinfra config`: the resolved, merged spec, secrets redacted.

use crate::cli::{ConfigArgs, GlobalArgs};
use crate::error::EXIT_OK;
use crate::report::{Printer, to_yaml};

pub fn run(global: &GlobalArgs, args: &ConfigArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let value = loaded.redacted_json();
    if args.json {
        printer.data(&serde_json::to_string_pretty(&value)?);
    } else {
        printer.data(&to_yaml(&value));
    }
    Ok(EXIT_OK)
}
