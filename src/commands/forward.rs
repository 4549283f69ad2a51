//! `flowinfra forward [SERVICE...]`: with a remote engine, hold a local
//! forward of every port the project's running containers publish until
//! Ctrl-C, on the same port numbers when they are free here, so that the
//! addresses `flowinfra env` prints work on this machine.

use std::sync::Arc;

use crate::cli::{ForwardArgs, GlobalArgs};
use crate::engine::{Protocol, RunState};
use crate::error::{EXIT_FAILURE, EXIT_OK};
use crate::kinds::vocabulary::{authority, reachable_host};
use crate::reach::Reach;
use crate::report::{Printer, render_table};

pub async fn run(global: &GlobalArgs, args: &ForwardArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = Arc::new(loaded.spec);
    let selected = crate::stack::select_services(&spec, &args.services)?;
    let engine = super::connect(global).await?;
    let containers = engine.list_containers(&spec.name).await?;
    let running: Vec<_> = containers
        .into_iter()
        .filter(|c| c.status == RunState::Running && c.service.as_ref().is_some_and(|s| selected.contains(s)))
        .collect();
    if running.is_empty() {
        printer.warn(&format!(
            "no running container of project `{}` to forward; start them with `flowinfra up`",
            spec.name
        ));
        return Ok(EXIT_FAILURE);
    }
    let reach = Reach::keeping_ports(&engine, spec.clone());
    let mut rows = Vec::new();
    for container in &running {
        let name = container.service.clone().unwrap_or_default();
        let service = &spec.services[&name];
        let reached = reach.published(service, &container.name, &container.ports).await?;
        for (engine_side, local) in container.ports.iter().zip(&reached) {
            if engine_side.protocol != Protocol::Tcp {
                continue;
            }
            rows.push(vec![
                name.clone(),
                authority(&reachable_host(&local.host_ip), &local.host_port.to_string()),
                authority(
                    &reachable_host(&engine_side.host_ip),
                    &engine_side.host_port.to_string(),
                ),
                engine_side.container_port.to_string(),
            ]);
        }
    }
    printer.data(&render_table(
        &["SERVICE", "LOCAL", "ENGINE HOST", "CONTAINER PORT"],
        &rows,
    ));
    if !reach.is_forwarding() {
        printer.info(&format!(
            "the engine ({}) is on this machine: its published ports are reachable as they are; nothing to forward",
            engine.address()
        ));
        return Ok(EXIT_OK);
    }
    let cost = if engine.forwards_over_ssh() {
        "each new connection is a channel of its ssh login"
    } else {
        "each new connection costs one exec on the engine"
    };
    printer.info(&format!(
        "forwarding through {}; {cost}. Ctrl-C stops",
        engine.describe()
    ));
    tokio::signal::ctrl_c().await?;
    reach.close().await;
    printer.info("forwards closed");
    Ok(EXIT_OK)
}
