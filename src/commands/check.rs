//! `flowinfra check`: every check of the running stack, concurrently, with an exit code CI can trust.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::check::{Check, CheckResult, Status, Verdict, exit_code, run_all, stack_checks};
use crate::cli::{CheckArgs, GlobalArgs};
use crate::error::{EXIT_ENGINE_UNREACHABLE, error_chain};
use crate::reach::Reach;
use crate::report::{Printer, check_table};

pub async fn run(global: &GlobalArgs, args: &CheckArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = Arc::new(loaded.spec);
    // An unreachable engine is exit code 3, before any other check; with
    // --json the verdict still goes to stdout (the engine check failed), so
    // CI reading the JSON gets one, and the error goes to stderr as always.
    let started = Instant::now();
    let unreachable = |err: anyhow::Error| -> anyhow::Result<u8> {
        if args.json && crate::error::exit_code(&err) == EXIT_ENGINE_UNREACHABLE {
            let engine = CheckResult {
                check: "engine".into(),
                service: None,
                status: Status::Fail,
                reason: error_chain(err.as_ref()),
                duration_ms: started.elapsed().as_millis() as u64,
                details: Default::default(),
            };
            printer.data(&serde_json::to_string_pretty(&serde_json::json!({
                "project": spec.name,
                "status": "fail",
                "checks": [engine],
            }))?);
        }
        Err(err)
    };
    let engine = match super::connect(global).await {
        Ok(engine) => Arc::new(engine),
        Err(err) => return unreachable(err),
    };
    if args.verbose || engine.is_remote() {
        printer.info(&format!("engine: {}", engine.describe()));
    }
    if args.check_upstream {
        let selected = crate::stack::select_services(&spec, &args.services)?;
        super::warn_about_images(&spec, &selected, printer);
    }
    let reach = Reach::new(&engine, spec.clone());
    let mut checks = match stack_checks(
        engine.clone(),
        spec.clone(),
        &reach,
        &args.services,
        args.check_upstream,
    )
    .await
    {
        Ok(checks) => checks,
        Err(err) => return unreachable(err),
    };
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
    reach.close().await;
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
