//! Carrying out a service's planned action on the engine: networks and
//! volumes first, then create, recreate or start its container. A leftover
//! container of this project holding the service's name is replaced.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::ServiceFailure;
use crate::container_spec::{container_name, container_spec};
use crate::engine::{Engine, EngineError, LABEL_PROJECT, LABEL_SERVICE};
use crate::error::error_chain;
use crate::events::{Event, EventSink};
use crate::plan::Action;
use crate::spec::{Service, Spec};
use crate::stack::PlannedService;

/// How long a container name may stay taken by a create still in flight (of a killed `up`).
const LEFTOVER_WAIT: Duration = Duration::from_secs(10);

/// Creates the networks and volumes the selected services use, unless they exist.
pub(super) async fn ensure_networks_and_volumes(
    engine: &Engine,
    spec: &Spec,
    selected: &BTreeSet<String>,
) -> Result<(), EngineError> {
    let mut networks = std::collections::BTreeMap::new();
    let mut volumes = std::collections::BTreeMap::new();
    for name in selected {
        let service = &spec.services[name];
        networks.extend(
            service
                .networks
                .keys()
                .filter_map(|key| spec.networks.get(key))
                .filter(|n| !n.external)
                .map(|n| {
                    let options = crate::engine::NetworkOptions {
                        driver: n.driver.clone(),
                        internal: n.internal,
                        enable_ipv6: n.enable_ipv6,
                        attachable: n.attachable,
                        driver_opts: n.driver_opts.clone(),
                        ipam: n.ipam.as_ref().map(|ipam| crate::engine::IpamOptions {
                            driver: ipam.driver.clone(),
                            pools: ipam
                                .config
                                .iter()
                                .map(|pool| crate::engine::IpamPoolOptions {
                                    subnet: pool.subnet.clone(),
                                    ip_range: pool.ip_range.clone(),
                                    gateway: pool.gateway.clone(),
                                    aux_addresses: pool.aux_addresses.clone(),
                                })
                                .collect(),
                            options: ipam.options.clone(),
                        }),
                    };
                    (n.name.clone(), options)
                }),
        );
        volumes.extend(
            service
                .volumes
                .iter()
                .filter_map(|mount| match &mount.source {
                    crate::spec::MountSource::Volume { name } => spec.volumes.get(name),
                    _ => None,
                })
                .filter(|volume| !volume.external)
                .map(|volume| {
                    let options = crate::engine::VolumeOptions {
                        driver: volume.driver.clone(),
                        driver_opts: volume.driver_opts.clone(),
                    };
                    (volume.name.clone(), options)
                }),
        );
    }
    for (network, options) in &networks {
        engine.ensure_network_with(network, &spec.name, options).await?;
    }
    let results = join_all(
        volumes
            .iter()
            .map(|(volume, options)| engine.ensure_volume_with(volume, &spec.name, options)),
    )
    .await;
    results.into_iter().collect()
}

/// Carries out the planned action; returns the container ID to watch.
pub(super) async fn apply_action(
    engine: &Engine,
    spec: &Spec,
    service: &Service,
    planned: &PlannedService,
    events: &dyn EventSink,
) -> Result<String, ServiceFailure> {
    let name = || service.name.clone();
    let engine_failure = |err: EngineError| ServiceFailure::from_error(&err, err.hint());
    let id = match (&planned.action, planned.actual.container.as_ref()) {
        (Action::Keep | Action::Completed, Some(container)) => Ok(container.id.clone()),
        (Action::Start { .. }, Some(container)) => {
            events.emit(Event::Starting { service: name() });
            match engine.start_container(&container.id).await {
                Ok(()) => Ok(container.id.clone()),
                // Gone since it was listed: the engine rolled back the create
                // of an `up` killed mid-request. An inspection now may still
                // find it on its way out; creating waits for its name to be free.
                Err(EngineError::ContainerGone { .. }) => {
                    events.emit(Event::Creating { service: name() });
                    create_and_start(engine, spec, service).await.map_err(engine_failure)
                }
                Err(err) => Err(engine_failure(err)),
            }
        }
        (Action::Recreate { reasons }, Some(container)) => {
            events.emit(Event::Recreating {
                service: name(),
                reasons: reasons.clone(),
            });
            recreate(engine, spec, service, &container.id).await
        }
        _ => {
            events.emit(Event::Creating { service: name() });
            create_and_start(engine, spec, service).await.map_err(engine_failure)
        }
    }?;
    if !matches!(planned.action, Action::Keep | Action::Completed) {
        run_post_start(engine, service, &id).await?;
    }
    Ok(id)
}

/// Runs the service's `post_start` hooks in its just started container, in
/// order; one that fails fails the service, with its output.
async fn run_post_start(engine: &Engine, service: &Service, id: &str) -> Result<(), ServiceFailure> {
    for hook in &service.post_start {
        let outcome = engine
            .exec_in_container(id, &crate::container_spec::hook_exec(hook), 3)
            .await
            .map_err(|err| ServiceFailure::from_error(&err, err.hint()))?;
        if outcome.exit_code != Some(0) {
            let command = crate::spec::redact::redact_arguments(&hook.command).join(" ");
            let code = outcome
                .exit_code
                .map_or_else(|| "with an unknown code".to_string(), |code| code.to_string());
            let said = if outcome.output.is_empty() {
                String::new()
            } else {
                format!(": {}", outcome.output.join(" / "))
            };
            return Err(
                ServiceFailure::new(format!("its post_start hook `{command}` exited {code}{said}"))
                    .with_hint("fix the hook's command, or remove it from `post_start`"),
            );
        }
    }
    Ok(())
}

/// Runs the service's `pre_stop` hooks in its running container `id`
/// before it is stopped. A failing hook does not keep the container: it is
/// said, and the stop goes on, as Compose does. Returns what went wrong.
pub async fn run_pre_stop(engine: &Engine, service: &Service, id: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for hook in &service.pre_stop {
        let command = crate::spec::redact::redact_arguments(&hook.command).join(" ");
        match engine
            .exec_in_container(id, &crate::container_spec::hook_exec(hook), 3)
            .await
        {
            Ok(outcome) if outcome.exit_code == Some(0) => {}
            Ok(outcome) => problems.push(format!(
                "service `{}`: its pre_stop hook `{command}` exited {}",
                service.name,
                outcome
                    .exit_code
                    .map_or_else(|| "with an unknown code".to_string(), |code| code.to_string())
            )),
            Err(err) => problems.push(format!(
                "service `{}`: its pre_stop hook `{command}` could not run: {}",
                service.name,
                error_chain(&err)
            )),
        }
    }
    problems
}

/// Replaces the service's running container `old` with a new one, keeping
/// the old one until the new one has started.
///
/// The old container is stopped (it may hold the very host port, the data
/// volume and the network alias the new one needs: two MySQL servers must
/// never share a data directory) and renamed aside to `<name>-replaced`;
/// the new one is created under the service's name and started. Only then
/// is the old one removed. When the new one cannot be created or started —
/// a host port taken by another program, most often — it is removed, and
/// the old one gets its name back and is started again, and the error says
/// so. A container left aside by a killed run is ours and is removed before
/// another is set aside.
async fn recreate(engine: &Engine, spec: &Spec, service: &Service, old: &str) -> Result<String, ServiceFailure> {
    let engine_failure = |err: EngineError| ServiceFailure::from_error(&err, err.hint());
    let name = container_name(spec, service);
    let aside = format!("{name}-replaced");
    // The service's `stop_grace_period`, as Compose waits it; 10 s otherwise.
    let grace = service
        .runtime
        .stop_grace_period
        .map_or(Duration::from_secs(10), |seconds| {
            Duration::from_secs(seconds.max(0) as u64)
        });
    if !service.pre_stop.is_empty()
        && engine
            .inspect_container(old)
            .await
            .map_err(engine_failure)?
            .is_some_and(|state| state.status == crate::engine::RunState::Running)
    {
        for problem in run_pre_stop(engine, service, old).await {
            tracing::warn!("{problem}");
        }
    }
    engine.stop_container(old, grace).await.map_err(engine_failure)?;
    if let Some(stale) = engine.inspect_container(&aside).await.map_err(engine_failure)?
        && stale.id != old
        && stale.labels.get(LABEL_PROJECT) == Some(&spec.name)
        && stale.labels.get(LABEL_SERVICE) == Some(&service.name)
    {
        engine.remove_container(&stale.id).await.map_err(engine_failure)?;
    }
    match engine.rename_container(old, &aside).await {
        Ok(()) => {}
        // Gone since it was listed: a killed `up`'s create the engine rolled
        // back. Nothing is left to replace or to restore.
        Err(EngineError::ContainerGone { .. }) => {
            return create_and_start(engine, spec, service).await.map_err(engine_failure);
        }
        Err(err) => return Err(engine_failure(err)),
    }
    match create_and_start(engine, spec, service).await {
        Ok(id) => {
            if let Err(err) = engine.remove_container(old).await {
                // The new container runs; the old, stopped one is only clutter.
                tracing::warn!(container = %aside, "the replaced container could not be removed: {err}");
            }
            Ok(id)
        }
        Err(err) => {
            let restored = async {
                engine.rename_container(old, &name).await?;
                engine.start_container(old).await
            }
            .await;
            let mut failure = engine_failure(err);
            failure.reason = match restored {
                Ok(()) => format!(
                    "{}; the new container could not start, so the old container {name} was started again \
                     and kept running with its previous settings",
                    failure.reason
                ),
                Err(restore) => format!(
                    "{}; the new container could not start, and the old container (now {aside}) could not be \
                     started again either: {}",
                    failure.reason,
                    error_chain(&restore)
                ),
            };
            Err(failure)
        }
    }
}

/// Creates the service's container and starts it. One that cannot start
/// (port taken) is removed, so the next `up` starts clean.
async fn create_and_start(engine: &Engine, spec: &Spec, service: &Service) -> Result<String, EngineError> {
    let id = create_replacing_leftover(engine, spec, service).await?;
    if let Err(err) = engine.start_container(&id).await {
        let _ = engine.remove_container(&id).await;
        return Err(err);
    }
    Ok(id)
}

/// Creates the service's container. A container of the same name that
/// carries this project's and service's labels is a leftover of ours — e.g.
/// created by the engine for an `up` that was killed mid-request, after this
/// run listed the project's containers — and is replaced; any other is not
/// touched. While such a create is still in flight the name is taken but
/// nothing can be inspected yet: that is waited for, up to [`LEFTOVER_WAIT`].
async fn create_replacing_leftover(engine: &Engine, spec: &Spec, service: &Service) -> Result<String, EngineError> {
    let mut container = container_spec(spec, service);
    let shared = crate::container_spec::shared_services(service);
    if !shared.is_empty() {
        // Which containers this one shares with: a later plan recreates it
        // when one of them is replaced. They run already (dependencies).
        let mut ids = Vec::new();
        for other in &shared {
            let name = spec
                .services
                .get(other)
                .map(|s| container_name(spec, s))
                .unwrap_or_default();
            if let Some(state) = engine.inspect_container(&name).await? {
                ids.push(format!("{other}={}", state.id));
            }
        }
        container
            .labels
            .insert(crate::container_spec::LABEL_SHARED_WITH.into(), ids.join(","));
    }
    let deadline = Instant::now() + LEFTOVER_WAIT;
    loop {
        match engine.create_container(&container).await {
            Err(EngineError::ContainerNameInUse { name }) => {
                let existing = engine.inspect_container(&name).await?;
                let ours = existing.as_ref().is_some_and(|state| {
                    state.labels.get(LABEL_PROJECT) == Some(&spec.name)
                        && state.labels.get(LABEL_SERVICE) == Some(&service.name)
                });
                match existing {
                    _ if Instant::now() >= deadline => return Err(EngineError::ContainerNameInUse { name }),
                    Some(state) if ours => {
                        tracing::debug!(container = %name, "replacing a leftover container of this project");
                        engine.remove_container(&state.id).await?;
                        // A removal already under way returns at once: let it finish.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    None => tokio::time::sleep(Duration::from_millis(100)).await,
                    Some(_) => return Err(EngineError::ContainerNameInUse { name }),
                }
            }
            other => return other,
        }
    }
}
