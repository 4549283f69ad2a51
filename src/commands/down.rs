//! `flowinfra down`: remove the project's containers and networks; volumes
//! only with `-v`, built images only with `--rmi`.

use std::time::Duration;

use futures_util::future::join_all;

use crate::cli::{DownArgs, GlobalArgs};
use crate::error::EXIT_OK;
use crate::report::Printer;

pub async fn run(global: &GlobalArgs, args: &DownArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = loaded.spec;
    let engine = super::connect(global).await?;
    let lock = crate::lock::ProjectLock::acquire(&spec.name, &engine, printer).await?;
    let containers = engine.list_containers(&spec.name).await?;
    let removals = join_all(containers.iter().map(|container| {
        let (engine, spec) = (&engine, &spec);
        async move {
            // The service's `stop_grace_period`, as Compose waits it; 10 s otherwise.
            let grace = container
                .service
                .as_ref()
                .and_then(|service| spec.services.get(service))
                .and_then(|service| service.runtime.stop_grace_period)
                .map_or(Duration::from_secs(10), |seconds| {
                    Duration::from_secs(seconds.max(0) as u64)
                });
            let service = container
                .service
                .as_ref()
                .and_then(|service| spec.services.get(service));
            if let Some(service) = service
                && container.status == crate::engine::RunState::Running
            {
                for problem in crate::converge::run_pre_stop(engine, service, &container.id).await {
                    printer.warn(&problem);
                }
            }
            engine.stop_container(&container.id, grace).await?;
            engine.remove_container(&container.id).await?;
            printer.info(&format!(
                "{}: removed container {}",
                container.service.as_deref().unwrap_or("?"),
                container.name
            ));
            Ok::<_, crate::engine::EngineError>(())
        }
    }))
    .await;
    removals.into_iter().collect::<Result<Vec<()>, _>>()?;
    for network in engine.list_networks(&spec.name).await? {
        if engine.remove_network(&network).await? {
            printer.info(&format!("removed network {network}"));
        }
    }
    if args.rmi {
        for image in engine.list_images(&spec.name).await? {
            engine.remove_image(&image.id).await?;
            printer.info(&format!(
                "removed image {}",
                image.repo_tags.first().unwrap_or(&image.id)
            ));
        }
    }
    if args.volumes {
        for volume in engine.list_volumes(&spec.name).await? {
            if engine.remove_volume(&volume).await? {
                printer.info(&format!("removed volume {volume}"));
            }
        }
    } else if !engine.list_volumes(&spec.name).await?.is_empty() {
        printer.info("volumes kept (their data survives); `flowinfra down -v` removes them");
    }
    lock.release().await;
    Ok(EXIT_OK)
}
