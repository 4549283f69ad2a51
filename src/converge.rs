//! Executing `up`: make the engine match the plan, then wait until every
//! service is truly ready. Independent services proceed in parallel;
//! `depends_on` conditions gate each service on its dependencies' progress.
//!
//! A service that fails is reported with its reason and the tail of its log;
//! the others carry on, so a failed `up` leaves what was healthy running.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::watch;

use crate::build_context::BuildContext;
use crate::container_spec::{container_spec, field_hashes};
use crate::engine::{
    BuildRequest, ContainerState, Engine, EngineError, Health, LABEL_CONTEXT_HASH, LABEL_PROJECT, LABEL_SERVICE,
    RunState,
};
use crate::error::error_chain;
use crate::kinds::{self, ProbeError};
use crate::plan::{Action, Actual, Desired, plan_service};
use crate::report::Printer;
use crate::spec::{DependencyCondition, PullPolicy, Service, Spec};

/// How many log lines of a failed container are shown.
pub const LOG_TAIL_LINES: usize = 30;
/// Readiness probing starts fast and backs off to this.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// How long a plain service (no kind, no healthcheck) must stay running after its start to count as up.
const PLAIN_SERVICE_SETTLE: Duration = Duration::from_millis(300);
/// How long a container name may stay taken by a create still in flight (of a killed `up`).
const LEFTOVER_WAIT: Duration = Duration::from_secs(10);
/// Credentials refused this many times in a row end the wait: it is not a start-up race.
const REFUSALS_BEFORE_GIVING_UP: u32 = 3;

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub services: Vec<String>,
    /// Overrides every service's pull policy.
    pub pull: Option<PullPolicy>,
    /// Readiness deadline for services whose spec sets none.
    pub timeout: Duration,
}

/// What happened to one service.
#[derive(Debug)]
pub struct ServiceOutcome {
    pub service: String,
    pub action: Action,
    pub result: Result<Ready, ServiceFailure>,
}

#[derive(Debug, Clone)]
pub struct Ready {
    pub after: Duration,
    pub address: Option<String>,
    pub server_version: Option<String>,
}

/// Why a service did not become ready, with the evidence.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct ServiceFailure {
    pub reason: String,
    pub hint: Option<String>,
    pub log_tail: Vec<String>,
}

impl ServiceFailure {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            hint: None,
            log_tail: Vec::new(),
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Progress of one service, as its dependants see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Pending,
    Started,
    Ready,
    Completed,
    Failed,
}

/// The services to bring up: those named (all when none) and what they depend on.
pub fn select_services(spec: &Spec, names: &[String]) -> Result<BTreeSet<String>, crate::error::UsageError> {
    let mut selected = BTreeSet::new();
    let mut stack: Vec<String> = if names.is_empty() {
        spec.services.keys().cloned().collect()
    } else {
        names.to_vec()
    };
    while let Some(name) = stack.pop() {
        let Some(service) = spec.services.get(&name) else {
            let suggestion = crate::spec::error::did_you_mean(&name, spec.services.keys().map(String::as_str));
            return Err(crate::error::UsageError {
                message: format!("no service named `{name}` in the spec"),
                hint: Some(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "services are: {}",
                        spec.services.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                }),
            });
        };
        if selected.insert(name) {
            stack.extend(
                service
                    .depends_on
                    .keys()
                    .filter(|d| spec.services.contains_key(*d))
                    .cloned(),
            );
        }
    }
    Ok(selected)
}

/// Brings the selected services to ready. Returns one outcome per service.
pub async fn up(
    engine: Arc<Engine>,
    spec: Arc<Spec>,
    options: &UpOptions,
    printer: &Printer,
) -> anyhow::Result<Vec<ServiceOutcome>> {
    let selected = select_services(&spec, &options.services)?;
    ensure_networks_and_volumes(&engine, &spec, &selected).await?;

    let images = join_all(selected.iter().map(|name| {
        let engine = engine.clone();
        let service = spec.services[name].clone();
        let pull = options.pull;
        let printer = printer.clone();
        let project = spec.name.clone();
        async move {
            (
                service.name.clone(),
                ensure_image(&engine, &project, &service, pull, &printer).await,
            )
        }
    }))
    .await;
    let mut superseded = Vec::new();
    let mut image_ids = BTreeMap::new();
    for (name, result) in images {
        let ensured = result?;
        superseded.extend(ensured.superseded);
        image_ids.insert(name, Some(ensured.id));
    }
    // The images were just inspected: planning reuses their IDs (the warm path counts engine calls).
    let planned = plan_with_images(&engine, &spec, image_ids).await?;

    let mut senders = BTreeMap::new();
    let mut receivers = BTreeMap::new();
    for name in &selected {
        let (sender, receiver) = watch::channel(Progress::Pending);
        senders.insert(name.clone(), sender);
        receivers.insert(name.clone(), receiver);
    }
    let receivers = Arc::new(receivers);
    // Services others wait on with `service_completed_successfully` are one-shot jobs: exiting 0 is their success.
    let one_shot: BTreeSet<String> = spec
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == DependencyCondition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.clone())
        .collect();

    let tasks = planned.into_iter().map(
        |PlannedService {
             service: name,
             action,
             actual,
         }| {
            let service = spec.services[&name].clone();
            let sender = senders.remove(&name).expect("one sender per service");
            let receivers = receivers.clone();
            let engine = engine.clone();
            let spec = spec.clone();
            let printer = printer.clone();
            let timeout = service
                .flowinfra
                .as_ref()
                .and_then(|x| x.ready_timeout)
                .unwrap_or(options.timeout);
            let one_shot = one_shot.contains(&name);
            async move {
                let result = run_service(
                    &engine,
                    &spec,
                    &service,
                    &action,
                    actual.container.as_ref(),
                    &receivers,
                    &sender,
                    timeout,
                    one_shot,
                    &printer,
                )
                .await;
                let _ = sender.send(match &result {
                    Ok(_) if one_shot => Progress::Completed,
                    Ok(_) => Progress::Ready,
                    Err(_) => Progress::Failed,
                });
                ServiceOutcome {
                    service: service.name.clone(),
                    action,
                    result,
                }
            }
        },
    );
    let handles: Vec<_> = tasks.map(tokio::spawn).collect();
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await?);
    }
    for image in superseded {
        match engine.remove_image(&image).await {
            Ok(()) => printer.info(&format!("removed superseded image {}", crate::plan::short_id(&image))),
            Err(err) => tracing::warn!("superseded image {} kept: {err}", crate::plan::short_id(&image)),
        }
    }
    Ok(outcomes)
}

/// One service's planned action and the state it was planned from.
#[derive(Debug, Clone)]
pub struct PlannedService {
    pub service: String,
    pub action: Action,
    pub actual: Actual,
}

/// Reads the actual state (one container listing, one image inspection per
/// service) and plans every selected service. Changes nothing.
pub async fn plan_stack(
    engine: &Engine,
    spec: &Spec,
    selected: &BTreeSet<String>,
) -> Result<Vec<PlannedService>, EngineError> {
    let image_ids = join_all(selected.iter().map(|name| async move {
        let image = &spec.services[name].image;
        (
            name.clone(),
            engine.inspect_image(image).await.map(|info| info.map(|i| i.id)),
        )
    }))
    .await;
    let mut known = BTreeMap::new();
    for (name, image_id) in image_ids {
        known.insert(name, image_id?);
    }
    plan_with_images(engine, spec, known).await
}

/// Plans the services of `image_ids` (service → the ID its image reference resolves to now).
async fn plan_with_images(
    engine: &Engine,
    spec: &Spec,
    image_ids: BTreeMap<String, Option<String>>,
) -> Result<Vec<PlannedService>, EngineError> {
    let containers: BTreeMap<String, ContainerState> = engine
        .list_containers(&spec.name)
        .await?
        .into_iter()
        .filter_map(|container| Some((container.service.clone()?, container)))
        .collect();
    let mut planned = Vec::new();
    for (name, image_id) in image_ids {
        let service = &spec.services[&name];
        let desired = Desired {
            service: name.clone(),
            config_hash: crate::container_spec::config_hash(spec, service),
            field_hashes: field_hashes(spec, service),
        };
        let actual = Actual {
            container: containers.get(&name).cloned(),
            image_id,
        };
        planned.push(PlannedService {
            service: name,
            action: plan_service(&desired, &actual),
            actual,
        });
    }
    Ok(planned)
}

async fn ensure_networks_and_volumes(
    engine: &Engine,
    spec: &Spec,
    selected: &BTreeSet<String>,
) -> Result<(), EngineError> {
    let mut networks = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    for name in selected {
        let service = &spec.services[name];
        networks.extend(
            service
                .networks
                .keys()
                .filter_map(|key| spec.networks.get(key))
                .filter(|n| !n.external)
                .map(|n| n.name.clone()),
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
    for network in &networks {
        engine.ensure_network(network, &spec.name).await?;
    }
    let results = join_all(volumes.iter().map(|volume| engine.ensure_volume(volume, &spec.name))).await;
    results.into_iter().collect()
}

/// Makes sure the service's image is present and current: pulled as its
/// policy says, or built when its build context changed. Returns the ID of an
/// image this build superseded, to remove once no container uses it.
/// The image a service will run, and one it replaced.
struct EnsuredImage {
    id: String,
    /// An image this project built earlier, to remove once no container uses it.
    superseded: Option<String>,
}

async fn ensure_image(
    engine: &Engine,
    project: &str,
    service: &Service,
    pull: Option<PullPolicy>,
    printer: &Printer,
) -> anyhow::Result<EnsuredImage> {
    let present = engine.inspect_image(&service.image).await?;
    if let Some(build) = &service.build {
        let context = BuildContext::collect(build)?;
        let built_hash = present.as_ref().and_then(|image| image.labels.get(LABEL_CONTEXT_HASH));
        let why = match (&present, built_hash) {
            _ if service.pull_policy == PullPolicy::Build => "pull_policy: build",
            (None, _) => "no image yet",
            (Some(image), Some(hash)) if hash == context.hash() => {
                return Ok(EnsuredImage {
                    id: image.id.clone(),
                    superseded: None,
                });
            }
            _ => "build context changed",
        };
        printer.step(&service.name, &format!("building {} ({why})", service.image));
        let request = BuildRequest {
            reference: service.image.clone(),
            dockerfile: build.dockerfile.clone(),
            args: build.args.clone(),
            target: build.target.clone(),
            labels: BTreeMap::from([
                (LABEL_PROJECT.to_string(), project.to_string()),
                (LABEL_SERVICE.to_string(), service.name.clone()),
                (LABEL_CONTEXT_HASH.to_string(), context.hash().to_string()),
            ]),
        };
        let built = engine.build_image(context.tar()?, &request).await?;
        // Only an image this project built is ours to remove.
        let superseded = present
            .filter(|old| old.id != built.id && old.labels.get(LABEL_PROJECT).map(String::as_str) == Some(project))
            .map(|old| old.id);
        return Ok(EnsuredImage {
            id: built.id,
            superseded,
        });
    }
    let policy = pull.unwrap_or(service.pull_policy);
    match (policy, present) {
        (PullPolicy::Always, _) | (PullPolicy::Missing, None) => {
            printer.step(&service.name, &format!("pulling {}", service.image));
            let pulled = engine.pull_image(&service.image, &mut |_| {}).await?;
            Ok(EnsuredImage {
                id: pulled.id,
                superseded: None,
            })
        }
        (PullPolicy::Never | PullPolicy::Build, None) => Err(EngineError::ImageUnavailable {
            reference: service.image.clone(),
            reason: format!(
                "it is not present locally and service `{}` has pull_policy: never",
                service.name
            ),
        }
        .into()),
        (_, Some(image)) => Ok(EnsuredImage {
            id: image.id,
            superseded: None,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_service(
    engine: &Engine,
    spec: &Spec,
    service: &Service,
    action: &Action,
    existing: Option<&ContainerState>,
    receivers: &BTreeMap<String, watch::Receiver<Progress>>,
    sender: &watch::Sender<Progress>,
    timeout: Duration,
    one_shot: bool,
    printer: &Printer,
) -> Result<Ready, ServiceFailure> {
    let started_at = Instant::now();
    wait_for_dependencies(service, receivers, printer).await?;
    let id = apply_action(engine, spec, service, action, existing, printer).await?;
    let _ = sender.send(Progress::Started);
    if !matches!(action, Action::Keep) {
        printer.step(&service.name, "waiting for readiness");
    }
    // A container just started must stay up a moment before a plain service counts as running.
    let settle = !matches!(action, Action::Keep);
    let ready = wait_until_ready(engine, service, &id, timeout, started_at, one_shot, settle).await;
    let provisioned = match ready {
        Ok(ready) => provision(engine, service, &id, printer).await.map(|()| ready),
        Err(failure) => Err(failure),
    };
    match provisioned {
        Ok(ready) => {
            printer.finish(&service.name, &format!("ready in {:.1}s", ready.after.as_secs_f64()));
            Ok(ready)
        }
        Err(mut failure) => {
            printer.finish(&service.name, "FAILED");
            failure.log_tail = engine
                .container_logs_tail(&id, LOG_TAIL_LINES)
                .await
                .unwrap_or_default();
            Err(failure)
        }
    }
}

/// What a kind provisions once it is ready: migrations and seed, topology, buckets.
async fn provision(engine: &Engine, service: &Service, id: &str, printer: &Printer) -> Result<(), ServiceFailure> {
    if service.kind() == Some(crate::spec::Kind::Mysql) {
        provision_mysql(engine, service, id, printer).await?;
    }
    provision_topology_and_buckets(engine, service, id, printer).await
}

async fn wait_for_dependencies(
    service: &Service,
    receivers: &BTreeMap<String, watch::Receiver<Progress>>,
    printer: &Printer,
) -> Result<(), ServiceFailure> {
    for (dependency, requirement) in &service.depends_on {
        let Some(receiver) = receivers.get(dependency) else {
            continue;
        };
        let mut receiver = receiver.clone();
        let satisfied = |progress: &Progress| match requirement.condition {
            DependencyCondition::ServiceStarted => matches!(
                progress,
                Progress::Started | Progress::Ready | Progress::Completed | Progress::Failed
            ),
            DependencyCondition::ServiceHealthy => matches!(progress, Progress::Ready | Progress::Failed),
            DependencyCondition::ServiceCompletedSuccessfully => {
                matches!(progress, Progress::Completed | Progress::Ready | Progress::Failed)
            }
        };
        if !satisfied(&receiver.borrow()) {
            printer.step(&service.name, &format!("waiting for {dependency}"));
        }
        let progress = *receiver
            .wait_for(satisfied)
            .await
            .map_err(|_| ServiceFailure::new(format!("dependency `{dependency}` vanished")))?;
        if progress == Progress::Failed && requirement.required {
            return Err(ServiceFailure::new(format!(
                "not started: its dependency `{dependency}` failed"
            )));
        }
    }
    Ok(())
}

/// Carries out the planned action; returns the container ID to watch.
async fn apply_action(
    engine: &Engine,
    spec: &Spec,
    service: &Service,
    action: &Action,
    existing: Option<&ContainerState>,
    printer: &Printer,
) -> Result<String, ServiceFailure> {
    let engine_failure = |err: EngineError| {
        let hint = err.hint();
        let failure = ServiceFailure::new(error_chain(&err));
        match hint {
            Some(hint) => failure.with_hint(hint),
            None => failure,
        }
    };
    match (action, existing) {
        (Action::Keep, Some(container)) => Ok(container.id.clone()),
        (Action::Start { .. }, Some(container)) => {
            printer.step(&service.name, "starting");
            match engine.start_container(&container.id).await {
                Ok(()) => Ok(container.id.clone()),
                // Gone since it was listed: the engine rolled back the create
                // of an `up` killed mid-request. An inspection now may still
                // find it on its way out; creating waits for its name to be free.
                Err(EngineError::ContainerGone { .. }) => {
                    printer.step(&service.name, "creating");
                    create_and_start(engine, spec, service).await.map_err(engine_failure)
                }
                Err(err) => Err(engine_failure(err)),
            }
        }
        (action, existing) => {
            if let (Action::Recreate { .. }, Some(container)) = (action, existing) {
                printer.step(
                    &service.name,
                    &format!(
                        "recreating ({})",
                        action
                            .to_string()
                            .trim_start_matches("recreate (")
                            .trim_end_matches(')')
                    ),
                );
                engine
                    .stop_container(&container.id, Duration::from_secs(10))
                    .await
                    .map_err(engine_failure)?;
                engine.remove_container(&container.id).await.map_err(engine_failure)?;
            } else {
                printer.step(&service.name, "creating");
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

/// Polls until the service answers its own protocol (kinds), reports healthy
/// (plain services with a healthcheck) or runs (the rest).
async fn wait_until_ready(
    engine: &Engine,
    service: &Service,
    id: &str,
    timeout: Duration,
    started_at: Instant,
    one_shot: bool,
    settle: bool,
) -> Result<Ready, ServiceFailure> {
    let deadline = Instant::now() + timeout;
    let mut running_since: Option<Instant> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut last_reason;
    let mut refusals = 0;
    let credentials = kinds::credentials(service);
    loop {
        let state = engine
            .inspect_container(id)
            .await
            .map_err(|err| ServiceFailure::new(error_chain(&err)))?
            .ok_or_else(|| ServiceFailure::new("its container disappeared while starting"))?;
        match state.status {
            RunState::Exited if one_shot && state.exit_code == Some(0) => {
                return Ok(Ready {
                    after: started_at.elapsed(),
                    address: None,
                    server_version: None,
                });
            }
            RunState::Exited | RunState::Dead => {
                return Err(ServiceFailure::new(format!(
                    "its container exited with code {} while starting",
                    state.exit_code.map_or_else(|| "unknown".into(), |c| c.to_string())
                ))
                .with_hint(format!("see its log below, or run `flowinfra logs {}`", service.name)));
            }
            _ => {}
        }
        let address = endpoint_for(service, &state).map(|e| format!("{}:{}", e.host, e.port));
        let attempt = match (service.kind(), &credentials, endpoint_for(service, &state)) {
            (Some(kind), Some(credentials), Some(endpoint)) if state.status == RunState::Running => {
                match kinds::probe(kind, &endpoint, credentials, Duration::from_secs(2)).await {
                    Ok(success) => Ok(Some(success.server_version)),
                    Err(ProbeError::CredentialsRefused(reason)) => {
                        refusals += 1;
                        if refusals >= REFUSALS_BEFORE_GIVING_UP {
                            return Err(ServiceFailure::new(format!("the credentials were refused: {reason}")).with_hint(
                                "check the passwords in .env against the ones the service's volume was initialised with; \
                                 `flowinfra down -v` resets the data (and loses it)",
                            ));
                        }
                        Err(reason)
                    }
                    Err(ProbeError::NotReady(reason)) => {
                        refusals = 0;
                        Err(reason)
                    }
                }
            }
            (Some(_), _, None) => Err("its port is not published yet".to_string()),
            _ if service
                .healthcheck
                .as_ref()
                .is_some_and(|h| h.test.first().map(String::as_str) != Some("NONE")) =>
            {
                match state.health {
                    Some(Health::Healthy) => Ok(None),
                    Some(Health::Unhealthy) => {
                        return Err(ServiceFailure::new("its healthcheck reports unhealthy"));
                    }
                    _ => Err("its healthcheck has not passed yet".to_string()),
                }
            }
            // A plain service counts once it has stayed up a moment: a command
            // that fails at once is then reported as the failure it is.
            _ if state.status == RunState::Running && one_shot => Err("still running".to_string()),
            _ if state.status == RunState::Running && settle => {
                let since = *running_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= PLAIN_SERVICE_SETTLE {
                    Ok(None)
                } else {
                    Err("just started".to_string())
                }
            }
            _ if state.status == RunState::Running => Ok(None),
            _ => Err(format!("its container is {}", state.status)),
        };
        match attempt {
            Ok(server_version) => {
                return Ok(Ready {
                    after: started_at.elapsed(),
                    address,
                    server_version: server_version.flatten(),
                });
            }
            Err(reason) => last_reason = reason,
        }
        if Instant::now() + backoff > deadline {
            return Err(
                ServiceFailure::new(format!("not ready after {}s: {last_reason}", timeout.as_secs())).with_hint(
                    "raise the deadline with `up --timeout SECONDS` or `x-flowinfra: { ready_timeout: 5m }`",
                ),
            );
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Runs pending migrations and loads the seed when outdated, once a
/// mysql-kind service is ready ([`crate::mysql::provision`]).
async fn provision_mysql(
    engine: &Engine,
    service: &Service,
    id: &str,
    printer: &Printer,
) -> Result<(), ServiceFailure> {
    let state = engine
        .inspect_container(id)
        .await
        .map_err(|err| ServiceFailure::new(error_chain(&err)))?
        .ok_or_else(|| ServiceFailure::new("its container disappeared before migrating"))?;
    let (Some(endpoint), Some(credentials)) = (endpoint_for(service, &state), kinds::credentials(service)) else {
        return Ok(());
    };
    crate::mysql::provision(service, &endpoint, &credentials, printer)
        .await
        .map(|_| ())
        .map_err(|err| ServiceFailure::new(error_chain(&err)))
}

/// Declares RabbitMQ's exchanges, queues and bindings, or S3's buckets and
/// policies, once such a service is ready ([`kinds::provision`]; nothing for
/// other kinds).
async fn provision_topology_and_buckets(
    engine: &Engine,
    service: &Service,
    id: &str,
    printer: &Printer,
) -> Result<(), ServiceFailure> {
    if !matches!(
        service.kind(),
        Some(crate::spec::Kind::Rabbitmq | crate::spec::Kind::S3)
    ) {
        return Ok(());
    }
    let state = engine
        .inspect_container(id)
        .await
        .map_err(|err| ServiceFailure::new(error_chain(&err)))?
        .ok_or_else(|| ServiceFailure::new("its container disappeared before provisioning"))?;
    match kinds::provision(service, &state.ports).await {
        Ok(Some(report)) => printer.step(&service.name, &report.to_string()),
        Ok(None) => {}
        Err(err) => {
            let failure = ServiceFailure::new(err.to_string());
            return Err(match err.hint() {
                Some(hint) => failure.with_hint(hint),
                None => failure,
            });
        }
    }
    Ok(())
}

/// Where this machine reaches a kind's port, read from the running container
/// (so ephemeral host ports work). Wildcard binds are reached on loopback.
pub fn endpoint_for(service: &Service, state: &ContainerState) -> Option<kinds::Endpoint> {
    let port = service.kind()?.default_port();
    let published = state
        .ports
        .iter()
        .find(|p| p.container_port == port && p.protocol == crate::engine::Protocol::Tcp)?;
    let host = match published.host_ip.as_str() {
        "0.0.0.0" | "" => "127.0.0.1".to_string(),
        "::" => "::1".to_string(),
        other => other.to_string(),
    };
    Some(kinds::Endpoint {
        host,
        port: published.host_port,
    })
}
