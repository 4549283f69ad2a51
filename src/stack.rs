//! The project as it stands, read-only: which services a command is about
//! ([`select_services`]) and what `up` would do to each, planned from the
//! engine's containers and images ([`plan_stack`]), and which are one-shot
//! jobs ([`jobs`]). Shared by `up`, `plan`, `ps` and `check`; changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use crate::build_context::{BuildContext, BuildDecision, BuildReason, build_decision};
use crate::container_spec::{LABEL_SHARED_WITH, config_hash, field_hashes, shared_services};
use crate::engine::{ContainerState, Engine, EngineError};
use crate::error::UsageError;
use crate::plan::{
    Action, Actual, Desired, parse_shared_label, plan_service, recreate_if_networks_missing, recreate_sharers,
};
use crate::spec::{DependencyCondition, Service, Spec};

/// The services to bring up: those named (all when none) and what they depend on.
pub fn select_services(spec: &Spec, names: &[String]) -> Result<BTreeSet<String>, UsageError> {
    let mut selected = BTreeSet::new();
    let mut stack: Vec<String> = if names.is_empty() {
        spec.services.keys().cloned().collect()
    } else {
        names.to_vec()
    };
    while let Some(name) = stack.pop() {
        let Some(service) = spec.services.get(&name) else {
            let suggestion = crate::spec::error::did_you_mean(&name, spec.services.keys().map(String::as_str));
            return Err(UsageError {
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

/// The services that are one-shot jobs: those others wait on with
/// `service_completed_successfully`, and those marked `x-flowinfra: { job: true }`.
/// A job is done once its current container exited 0.
pub fn jobs(spec: &Spec) -> BTreeSet<String> {
    let awaited = spec
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == DependencyCondition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.clone());
    let marked = spec
        .services
        .values()
        .filter(|s| s.is_marked_job())
        .map(|s| s.name.clone());
    awaited.chain(marked).collect()
}

/// One service's planned action and the state it was planned from.
#[derive(Debug, Clone)]
pub struct PlannedService {
    pub service: String,
    pub action: Action,
    pub actual: Actual,
}

/// A service's image as planning sees it.
#[derive(Debug, Clone, Default)]
pub struct ImageState {
    /// The ID its reference resolves to now; `None` when absent.
    pub id: Option<String>,
    /// For `build:` services: the build decision says its context changed.
    pub build_context_changed: bool,
}

/// Reads the actual state (one container listing, one image inspection per
/// service; for `build:` services, their build context read and hashed) and
/// plans every selected service. Changes nothing: nothing is built.
pub async fn plan_stack(
    engine: &Engine,
    spec: &Spec,
    selected: &BTreeSet<String>,
) -> anyhow::Result<Vec<PlannedService>> {
    let images = join_all(selected.iter().map(|name| async move {
        let service = &spec.services[name];
        (name.clone(), image_state(engine, service).await)
    }))
    .await;
    let mut known = BTreeMap::new();
    for (name, image) in images {
        known.insert(name, image?);
    }
    Ok(plan_with_images(engine, spec, known, &BTreeSet::new()).await?)
}

/// The image of `service` now and, for a `build:` service, whether `up`
/// would build it because its context changed — the same
/// [`build_decision`] `up` acts on, read-only. Only `build:` services pay
/// for reading their context.
async fn image_state(engine: &Engine, service: &Service) -> anyhow::Result<ImageState> {
    let context = service.build.clone().map(|build| {
        // Reading and hashing files is blocking work: off the async threads,
        // while the engine answers the inspection.
        tokio::task::spawn_blocking(move || BuildContext::collect(&build))
    });
    let present = engine.inspect_image(&service.image).await?;
    let build_context_changed = match context {
        Some(collecting) => {
            let context = collecting.await??;
            let decision = build_decision(
                service.pull_policy,
                present.as_ref().map(|image| &image.labels),
                context.hash(),
            );
            decision
                == BuildDecision::Build {
                    reason: BuildReason::ContextChanged,
                }
        }
        None => false,
    };
    Ok(ImageState {
        id: present.map(|image| image.id),
        build_context_changed,
    })
}

/// Plans the services of `images` (service → its image now); `rerun`: the
/// jobs asked to run again.
pub async fn plan_with_images(
    engine: &Engine,
    spec: &Spec,
    images: BTreeMap<String, ImageState>,
    rerun: &BTreeSet<String>,
) -> Result<Vec<PlannedService>, EngineError> {
    // Sorted by name: a service's own container (`…-1`) comes before one a
    // killed recreate left set aside (`…-1-replaced`), and is the one planned.
    let mut containers: BTreeMap<String, ContainerState> = BTreeMap::new();
    for container in engine.list_containers(&spec.name).await? {
        if let Some(service) = container.service.clone() {
            containers.entry(service).or_insert(container);
        }
    }
    let jobs = jobs(spec);
    let mut planned: Vec<PlannedService> = Vec::new();
    for (name, image) in images {
        let service = &spec.services[&name];
        let desired = Desired {
            service: name.clone(),
            config_hash: config_hash(spec, service),
            field_hashes: field_hashes(spec, service),
            job: jobs.contains(&name),
            rerun: rerun.contains(&name),
        };
        let actual = Actual {
            container: containers.get(&name).cloned(),
            image_id: image.id,
            build_context_changed: image.build_context_changed,
        };
        let mut action = plan_service(&desired, &actual);
        if let Some(container) = &actual.container
            && service.network_mode.is_none()
        {
            let wanted: Vec<String> = service
                .networks
                .keys()
                .filter_map(|key| spec.networks.get(key))
                .map(|network| network.name.clone())
                .collect();
            recreate_if_networks_missing(&mut action, container, &wanted);
        }
        planned.push(PlannedService {
            service: name,
            action,
            actual,
        });
    }
    recreate_sharers_of_new_containers(spec, &containers, &mut planned);
    Ok(planned)
}

/// A service sharing a namespace or the volumes of another's container
/// follows that container: recreated when it is (see [`crate::plan::recreate_sharers`]).
fn recreate_sharers_of_new_containers(
    spec: &Spec,
    containers: &BTreeMap<String, ContainerState>,
    planned: &mut [PlannedService],
) {
    let shares: BTreeMap<String, Vec<String>> = planned
        .iter()
        .map(|p| (p.service.clone(), shared_services(&spec.services[&p.service])))
        .filter(|(_, shared)| !shared.is_empty())
        .collect();
    if shares.is_empty() {
        return;
    }
    let recorded = shares
        .keys()
        .map(|service| {
            let label = containers
                .get(service)
                .and_then(|container| container.labels.get(LABEL_SHARED_WITH));
            (
                service.clone(),
                label.map(|l| parse_shared_label(l)).unwrap_or_default(),
            )
        })
        .collect();
    let current = containers
        .iter()
        .map(|(service, container)| (service.clone(), container.id.clone()))
        .collect();
    let mut actions: BTreeMap<String, Action> = planned.iter().map(|p| (p.service.clone(), p.action.clone())).collect();
    recreate_sharers(&mut actions, &shares, &recorded, &current);
    for p in planned.iter_mut() {
        if let Some(action) = actions.remove(&p.service) {
            p.action = action;
        }
    }
}
