//! `flowinfra up`: converge the containers, wait for readiness, report.

use std::sync::Arc;
use std::time::Duration;

use crate::cli::{GlobalArgs, PullOverride, UpArgs};
use crate::converge::{self, UpOptions};
use crate::error::{EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK};
use crate::reach::Reach;
use crate::report::Printer;
use crate::spec::PullPolicy;

pub async fn run(global: &GlobalArgs, args: &UpArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = Arc::new(loaded.spec);
    let engine = Arc::new(super::connect(global).await?);
    if engine.is_remote() {
        printer.info(&format!("engine: {}", engine.describe()));
        warn_remote_binds(&spec, &engine, printer);
    }
    let lock = crate::lock::ProjectLock::acquire(&spec.name, &engine, printer).await?;
    let reach = Arc::new(Reach::new(&engine, spec.clone()));
    let options = UpOptions {
        services: args.services.clone(),
        pull: args.pull.map(|pull| match pull {
            PullOverride::Always => PullPolicy::Always,
            PullOverride::Missing => PullPolicy::Missing,
            PullOverride::Never => PullPolicy::Never,
        }),
        timeout: Duration::from_secs(args.timeout),
        rerun: args.rerun.clone(),
    };
    let outcomes = tokio::select! {
        outcomes = converge::up(engine.clone(), spec.clone(), &options, Arc::new(printer.clone()), reach.clone()) => outcomes?,
        _ = tokio::signal::ctrl_c() => return interrupted(&engine, &spec.name, printer).await,
    };
    if let Ok(reach) = Arc::try_unwrap(reach) {
        reach.close().await;
    }
    lock.release().await;
    printer.up_summary(&spec.name, &outcomes);
    Ok(if outcomes.iter().all(|o| o.result.is_ok()) {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// Ctrl-C: stop where we are and say what is left. Nothing is rolled back:
/// every step of `up` is idempotent, so the next `up` converges from here.
async fn interrupted(engine: &crate::engine::Engine, project: &str, printer: &Printer) -> anyhow::Result<u8> {
    let containers = engine.list_containers(project).await.unwrap_or_default();
    let state: Vec<String> = containers
        .iter()
        .map(|c| format!("{} ({})", c.service.as_deref().unwrap_or(&c.name), c.status))
        .collect();
    printer.warn(&format!(
        "interrupted; left as they are: {}. Run `flowinfra up` again to finish, or `flowinfra down` to remove them",
        if state.is_empty() {
            "no containers".to_string()
        } else {
            state.join(", ")
        }
    ));
    Ok(EXIT_INTERRUPTED)
}

/// A bind mount names a path on the engine's host: with a remote engine,
/// not this machine's files. Said before anything runs.
fn warn_remote_binds(spec: &crate::spec::Spec, engine: &crate::engine::Engine, printer: &Printer) {
    for service in spec.services.values() {
        let volumes = service.volumes.iter().filter_map(|mount| match &mount.source {
            crate::spec::MountSource::Bind { path } => Some((path, &mount.target)),
            _ => None,
        });
        // `file:` secrets and configs are bind mounts too.
        let secrets = service.secrets.iter().map(|m| (spec.secrets.get(&m.source), &m.target));
        let configs = service.configs.iter().map(|m| (spec.configs.get(&m.source), &m.target));
        let files = secrets
            .chain(configs)
            .filter_map(|(object, target)| object.and_then(|o| o.file.as_ref()).map(|path| (path, target)));
        for (path, target) in volumes.chain(files) {
            printer.warn(&format!(
                "service `{}` binds {} to {}: with the remote engine {} that path is on the remote host, \
                 not this machine (copy the files there, or use a named volume)",
                service.name,
                path.display(),
                target,
                engine.address()
            ));
        }
    }
}
