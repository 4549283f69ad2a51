//! `flowinfra provision`: waits for every kind service of the spec at its
//! DNS name and applies what `up` applies (migrations, seed, queues,
//! buckets), without a Docker engine. The Job `render kubernetes` writes
//! runs it; idempotent like `up`.

use std::time::Duration;

use anyhow::anyhow;

use crate::cli::{GlobalArgs, ProvisionArgs};
use crate::error::{EXIT_FAILURE, EXIT_OK};
use crate::render::in_cluster::provision;
use crate::report::Printer;

pub async fn run(global: &GlobalArgs, args: &ProvisionArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let outcomes = provision(&loaded.spec, Duration::from_secs(args.timeout), printer).await;
    let mut failed = 0;
    for outcome in &outcomes {
        if let Err(failure) = &outcome.result {
            failed += 1;
            printer.error(&anyhow!("service `{}` was not provisioned: {failure}", outcome.service));
        }
    }
    if failed > 0 {
        return Ok(EXIT_FAILURE);
    }
    printer.info(&format!("{} services provisioned", outcomes.len()));
    Ok(EXIT_OK)
}
