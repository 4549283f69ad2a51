//! `flowinfra ps`: each service's container, state, health and ports.

use crate::cli::{GlobalArgs, PsArgs};
use crate::error::EXIT_OK;
use crate::plan::Action;
use crate::report::{Printer, ServiceRow};

pub async fn run(global: &GlobalArgs, args: &PsArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = loaded.spec;
    let engine = super::connect(global).await?;
    if engine.is_chosen() {
        printer.info(&format!("engine: {}", engine.describe()));
    }
    let selected = crate::stack::select_services(&spec, &[])?;
    super::warn_about_images(&spec, &selected, printer);
    let planned = crate::stack::plan_stack(&engine, &spec, &selected).await?;
    let containers = engine.list_containers(&spec.name).await?;
    let mut rows = Vec::new();
    for planned in planned {
        let mut row = ServiceRow::new(&planned.service, planned.actual.container.as_ref());
        row.stale = match &planned.action {
            Action::Recreate { reasons } => {
                Some(reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
            }
            _ => None,
        };
        if args.check_upstream {
            row.upstream = Some(
                crate::upstream::check(&engine, &spec.services[&planned.service].image)
                    .await
                    .to_string(),
            );
        }
        rows.push(row);
    }
    // Containers of the project whose service left the spec still show, so they are not forgotten.
    for container in containers
        .iter()
        .filter(|c| c.service.as_ref().is_none_or(|s| !spec.services.contains_key(s)))
    {
        rows.push(ServiceRow::new(
            container.service.as_deref().unwrap_or("?"),
            Some(container),
        ));
    }
    if args.json {
        printer.data(&serde_json::to_string_pretty(&rows)?);
    } else {
        printer.data(&crate::report::ps_table(&rows));
    }
    Ok(EXIT_OK)
}
