//! Carrying out a service's planned action on the engine: networks and
//! volumes first, then create, recreate or start its container. A leftover
//! container of this project holding the service's name is replaced.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::ServiceFailure;
use crate::container_spec::container_spec;
use crate::engine::{Engine, EngineError, LABEL_PROJECT, LABEL_SERVICE};
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
    let mut volumes = BTreeSet::new();
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
                        internal: n.internal,
                        enable_ipv6: n.enable_ipv6,
                        attachable: n.attachable,
                        driver_opts: n.driver_opts.clone(),
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
                .map(|volume| volume.name.clone()),
        );
    }
    for (network, options) in &networks {
        engine.ensure_network_with(network, &spec.name, options).await?;
    }
    let results = join_all(volumes.iter().map(|volume| engine.ensure_volume(volume, &spec.name))).await;
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
    match (&planned.action, planned.actual.container.as_ref()) {
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
        (action, existing) => {
            if let (Action::Recreate { reasons }, Some(container)) = (action, existing) {
                events.emit(Event::Recreating {
                    service: name(),
                    reasons: reasons.clone(),
                });
                engine
                    .stop_container(&container.id, Duration::from_secs(10))
                    .await
                    .map_err(engine_failure)?;
                engine.remove_container(&container.id).await.map_err(engine_failure)?;
            } else {
                events.emit(Event::Creating { service: name() });
            }
            create_and_start(engine, spec, service).await.map_err(engine_failure)
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
    let container = container_spec(spec, service);
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
