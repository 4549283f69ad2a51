//! Executing `up`: make the engine match the plan, then wait until every
//! service is truly ready, then provision it. Independent services proceed
//! in parallel; `depends_on` conditions gate each service on its
//! dependencies' progress. Progress is reported as [`Event`]s.
//!
//! - [`crate::stack`]: which services, and the plan for each (read-only).
//! - [`images`]: each service's image, pulled or built.
//! - [`apply`]: networks, volumes, and each container created, recreated or started.
//! - [`readiness`]: what "ready" means per service (data), and the wait for it.
//! - [`scheduling`]: dependency order between the services' tasks.
//!
//! A service that fails is reported with its reason and the tail of its log;
//! the others carry on, so a failed `up` leaves what was healthy running.

mod apply;
pub use apply::run_pre_stop;
mod images;
pub mod readiness;
mod scheduling;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::error::UsageError;
use crate::error::error_chain;
use crate::events::{Event, EventSink};
use crate::plan::Action;
use crate::reach::Reach;
use crate::spec::{PullPolicy, Service, Spec};
use crate::stack::{ImageState, PlannedService, plan_with_images, select_services};
use scheduling::Progress;

/// How many log lines of a failed container are shown.
pub const LOG_TAIL_LINES: usize = 30;

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub services: Vec<String>,
    /// Overrides every service's pull policy.
    pub pull: Option<PullPolicy>,
    /// Readiness deadline for services whose spec sets none.
    pub timeout: Duration,
    /// Jobs to run again although they completed (`up --rerun`).
    pub rerun: Vec<String>,
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
    /// The service became ready and provisioning it (migrations, seed,
    /// queues, buckets) failed: the server is not the problem, so its log
    /// is not shown.
    pub provisioning: bool,
    /// Not started because this dependency failed: its failure is the root
    /// cause, reported before this one.
    pub failed_dependency: Option<String>,
}

impl ServiceFailure {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            hint: None,
            log_tail: Vec::new(),
            provisioning: false,
            failed_dependency: None,
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The error's text with its causes, and its hint when it has one.
    fn from_error(error: &dyn std::error::Error, hint: Option<String>) -> Self {
        Self {
            hint,
            ..Self::new(error_chain(error))
        }
    }
}

/// Brings the selected services to ready. Returns one outcome per service.
///
/// Services' ports are reached through `reach` (forwarded when the engine
/// is remote) for readiness probes and provisioning.
pub async fn up(
    engine: Arc<Engine>,
    spec: Arc<Spec>,
    options: &UpOptions,
    events: Arc<dyn EventSink>,
    reach: Arc<Reach>,
) -> anyhow::Result<Vec<ServiceOutcome>> {
    let rerun = rerun_jobs(&spec, &options.rerun)?;
    let mut names = options.services.clone();
    // A job asked to re-run is brought up with what it depends on, whatever else was named.
    if !names.is_empty() {
        names.extend(rerun.iter().cloned());
    }
    let selected = select_services(&spec, &names)?;
    refuse_port_clashes(&spec, &selected)?;
    apply::ensure_networks_and_volumes(&engine, &spec, &selected).await?;

    let images = join_all(selected.iter().map(|name| {
        let (engine, events) = (engine.clone(), events.clone());
        let service = spec.services[name].clone();
        let pull = options.pull;
        let project = spec.name.clone();
        async move {
            let ensured = images::ensure_image(&engine, &project, &service, pull, events.as_ref()).await;
            (service.name.clone(), ensured)
        }
    }))
    .await;
    let mut superseded = Vec::new();
    let mut image_ids = BTreeMap::new();
    for (name, result) in images {
        let ensured = result?;
        superseded.extend(ensured.superseded);
        image_ids.insert(
            name,
            ImageState {
                id: Some(ensured.id),
                build_context_changed: ensured.context_changed,
            },
        );
    }
    // The images were just inspected: planning reuses their IDs (the warm path counts engine calls).
    let planned = plan_with_images(&engine, &spec, image_ids, &rerun).await?;

    let mut senders = BTreeMap::new();
    let mut receivers = BTreeMap::new();
    for name in &selected {
        let (sender, receiver) = watch::channel(Progress::Pending);
        senders.insert(name.clone(), sender);
        receivers.insert(name.clone(), receiver);
    }
    let dependencies = Arc::new(receivers);
    let one_shot = crate::stack::jobs(&spec);
    let handles: Vec<_> = planned
        .into_iter()
        .map(|planned| {
            let service = spec.services[&planned.service].clone();
            let task = ServiceTask {
                timeout: service
                    .flowinfra
                    .as_ref()
                    .and_then(|x| x.ready_timeout)
                    .unwrap_or(options.timeout),
                one_shot: one_shot.contains(&planned.service),
                progress: senders.remove(&planned.service).expect("one sender per service"),
                dependencies: dependencies.clone(),
                engine: engine.clone(),
                spec: spec.clone(),
                events: events.clone(),
                reach: reach.clone(),
                service,
                planned,
            };
            tokio::spawn(task.run())
        })
        .collect();
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await?);
    }
    for image in superseded {
        match engine.remove_image(&image).await {
            Ok(()) => events.emit(Event::SupersededImageRemoved { image }),
            Err(err) => tracing::warn!("superseded image {} kept: {err}", crate::plan::short_id(&image)),
        }
    }
    Ok(outcomes)
}

/// Two selected services publishing one host port cannot both start: said
/// before anything changes. (The spec allows it: such services usually sit
/// in different profiles, and Compose accepts the file.)
fn refuse_port_clashes(spec: &Spec, selected: &BTreeSet<String>) -> Result<(), UsageError> {
    let clashes = crate::spec::validate::host_port_clashes(selected.iter().map(|name| &spec.services[name]));
    match clashes.first() {
        None => Ok(()),
        Some(clash) => Err(UsageError {
            message: format!("{clash}, and `up` would start both"),
            hint: Some(
                "start only one of them (name the services to `up`, or enable one's profile with \
                 COMPOSE_PROFILES), or give one of them another host port"
                    .to_string(),
            ),
        }),
    }
}

/// The jobs `up --rerun` names; naming a service that is no job is a usage error.
fn rerun_jobs(spec: &Spec, names: &[String]) -> Result<BTreeSet<String>, UsageError> {
    let jobs = crate::stack::jobs(spec);
    let mut rerun = BTreeSet::new();
    for name in names {
        select_services(spec, std::slice::from_ref(name))?;
        if !jobs.contains(name) {
            return Err(UsageError {
                message: format!("`--rerun {name}`: service `{name}` is not a one-shot job"),
                hint: Some(format!(
                    "--rerun runs a completed job again; a job is marked `x-flowinfra: {{ job: true }}` or \
                     awaited with `condition: service_completed_successfully`. To replace the container of \
                     `{name}`, run `flowinfra down` and `flowinfra up`"
                )),
            });
        }
        rerun.insert(name.clone());
    }
    Ok(rerun)
}

/// Everything one service's turn of `up` needs; it runs as its own task.
struct ServiceTask {
    engine: Arc<Engine>,
    spec: Arc<Spec>,
    events: Arc<dyn EventSink>,
    reach: Arc<Reach>,
    service: Service,
    planned: PlannedService,
    /// Readiness deadline.
    timeout: Duration,
    /// Other services wait for this one to complete successfully.
    one_shot: bool,
    /// Where this service publishes its progress to its dependants.
    progress: watch::Sender<Progress>,
    /// Every selected service's progress.
    dependencies: Arc<BTreeMap<String, watch::Receiver<Progress>>>,
}

impl ServiceTask {
    async fn run(self) -> ServiceOutcome {
        let result = self.converge().await;
        let _ = self.progress.send(match &result {
            Ok(_) if self.one_shot => Progress::Completed,
            Ok(_) => Progress::Ready,
            Err(_) => Progress::Failed,
        });
        ServiceOutcome {
            service: self.service.name.clone(),
            action: self.planned.action,
            result,
        }
    }

    /// Waits for its dependencies, applies its action, waits until ready, provisions.
    async fn converge(&self) -> Result<Ready, ServiceFailure> {
        let (engine, service, action) = (self.engine.as_ref(), &self.service, &self.planned.action);
        let events = self.events.as_ref();
        let started_at = Instant::now();
        scheduling::wait_for_dependencies(service, &self.dependencies, events).await?;
        let id = apply::apply_action(engine, &self.spec, service, &self.planned, events).await?;
        let _ = self.progress.send(Progress::Started);
        if !matches!(action, Action::Keep | Action::Completed) {
            events.emit(Event::WaitingForReadiness {
                service: service.name.clone(),
            });
        }
        let readiness = readiness::readiness(service, action, self.one_shot);
        let became =
            readiness::wait_until_ready(engine, &self.reach, service, &id, &readiness, self.timeout, started_at).await;
        let provisioned = match became {
            Ok(became) => crate::kinds::provision(service, &became.published, events)
                .await
                .map(|()| became.ready)
                .map_err(|err| ServiceFailure {
                    provisioning: true,
                    ..ServiceFailure::from_error(&err, err.hint())
                }),
            Err(failure) => Err(failure),
        };
        match provisioned {
            Ok(ready) => {
                events.emit(Event::Ready {
                    service: service.name.clone(),
                    after: ready.after,
                });
                Ok(ready)
            }
            Err(mut failure) => {
                events.emit(Event::Failed {
                    service: service.name.clone(),
                });
                if !failure.provisioning {
                    failure.log_tail = engine
                        .container_logs_tail(&id, LOG_TAIL_LINES)
                        .await
                        .unwrap_or_default();
                }
                Err(failure)
            }
        }
    }
}
