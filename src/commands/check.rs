//! `flowinfra check`: every check of the running stack, concurrently, with an exit code CI can trust.

use std::sync::Arc;
use std::time::Duration;

use crate::check::{Check, Verdict, exit_code, run_all, stack_checks};
use crate::cli::{CheckArgs, GlobalArgs};
use crate::report::{Printer, check_table};

pub async fn run(global: &GlobalArgs, args: &CheckArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = Arc::new(loaded.spec);
    // An unreachable engine is exit code 3, before any other check.
    let engine = Arc::new(super::connect().await?);
    if args.check_upstream {
        let selected = crate::stack::select_services(&spec, &args.services)?;
        super::warn_about_images(&spec, &selected, printer);
    }
    let mut checks = stack_checks(engine.clone(), spec.clone(), &args.services, args.check_upstream).await?;
    let version_engine = engine.clone();
    checks.insert(
        0,
        Check::new("engine", None, async move {
            match version_engine.server_version().await {
                Ok(version) => Verdict::ok(format!("Docker engine at {}", version_engine.address()))
                    .detail("server_version", version)
                    .detail("api_version", version_engine.api_version()),
                Err(err) => Verdict::fail(err.to_string()),
            }
        }),
    );
    let results = run_all(checks, Duration::from_secs(args.timeout)).await;
    let code = exit_code(&results, args.strict);
    if args.json {
        let overall = if code == 0 { "ok" } else { "fail" };
        printer.data(&serde_json::to_string_pretty(&serde_json::json!({
            "project": spec.name,
            "status": overall,
            "checks": results,
        }))?);
    } else {
        printer.data(&check_table(&results, args.verbose));
    }
    Ok(code)
}
