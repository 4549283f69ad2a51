//! `flowinfra plan`: what `up` would do for each service and why. Changes nothing.

use serde::Serialize;

use crate::cli::{GlobalArgs, PlanArgs};
use crate::error::EXIT_OK;
use crate::plan::Action;
use crate::report::{Printer, render_table};
use crate::stack::{plan_stack, select_services};

/// One service in `plan --json`.
#[derive(Debug, Serialize)]
struct PlanEntry {
    service: String,
    #[serde(flatten)]
    action: Action,
    /// Human-readable form of the action and its reasons.
    summary: String,
    /// Registry digest comparison; only with --check-upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = loaded.spec;
    let engine = super::connect(global).await?;
    let selected = select_services(&spec, &[])?;
    super::warn_about_images(&spec, &selected, printer);
    let planned = plan_stack(&engine, &spec, &selected).await?;
    let mut entries = Vec::new();
    for p in planned {
        let upstream = match args.check_upstream {
            true => Some(
                crate::upstream::check(&engine, &spec.services[&p.service].image)
                    .await
                    .to_string(),
            ),
            false => None,
        };
        entries.push(PlanEntry {
            service: p.service,
            summary: p.action.to_string(),
            action: p.action,
            upstream,
        });
    }
    if args.json {
        printer.data(&serde_json::to_string_pretty(
            &serde_json::json!({ "project": spec.name, "services": entries }),
        )?);
    } else {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let mut row = vec![e.service.clone(), e.summary.clone()];
                if let Some(upstream) = &e.upstream {
                    row.push(upstream.clone());
                }
                row
            })
            .collect();
        let header: &[&str] = if args.check_upstream {
            &["SERVICE", "ACTION", "UPSTREAM"]
        } else {
            &["SERVICE", "ACTION"]
        };
        printer.data(&render_table(header, &rows));
    }
    Ok(EXIT_OK)
}
