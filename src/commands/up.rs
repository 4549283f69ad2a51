//! `flowinfra up`: converge the containers, wait for readiness, report.

use std::sync::Arc;
use std::time::Duration;

use crate::cli::{GlobalArgs, PullOverride, UpArgs};
use crate::converge::{self, UpOptions};
use crate::error::{EXIT_FAILURE, EXIT_OK};
use crate::report::Printer;
use crate::spec::PullPolicy;

pub async fn run(global: &GlobalArgs, args: &UpArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global)?;
    let spec = Arc::new(loaded.spec);
    let engine = Arc::new(super::connect().await?);
    let _lock = crate::lock::ProjectLock::acquire(&spec.name, printer).await?;
    let options = UpOptions {
        services: args.services.clone(),
        pull: args.pull.map(|pull| match pull {
            PullOverride::Always => PullPolicy::Always,
            PullOverride::Missing => PullPolicy::Missing,
            PullOverride::Never => PullPolicy::Never,
        }),
        timeout: Duration::from_secs(args.timeout),
    };
    let outcomes = converge::up(engine, spec.clone(), &options, printer).await?;
    printer.up_summary(&spec.name, &outcomes);
    Ok(if outcomes.iter().all(|o| o.result.is_ok()) {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}
