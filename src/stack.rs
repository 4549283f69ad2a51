//! The project as it stands, read-only: which services a command is about
//! ([`select_services`]) and what `up` would do to each, planned from the
//! engine's containers and images ([`plan_stack`]). Shared by `up`, `plan`,
//! `ps` and `check`; changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use crate::container_spec::{config_hash, field_hashes};
use crate::engine::{ContainerState, Engine, EngineError};
use crate::error::UsageError;
use crate::plan::{Action, Actual, Desired, plan_service};
use crate::spec::Spec;

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
pub async fn plan_with_images(
    engine: &Engine,
    spec: &Spec,
    image_ids: BTreeMap<String, Option<String>>,
) -> Result<Vec<PlannedService>, EngineError> {
    // Sorted by name: a service's own container (`…-1`) comes before one a
    // killed recreate left set aside (`…-1-replaced`), and is the one planned.
    let mut containers: BTreeMap<String, ContainerState> = BTreeMap::new();
    for container in engine.list_containers(&spec.name).await? {
        if let Some(service) = container.service.clone() {
            containers.entry(service).or_insert(container);
        }
    }
    let mut planned = Vec::new();
    for (name, image_id) in image_ids {
        let service = &spec.services[&name];
        let desired = Desired {
            service: name.clone(),
            config_hash: config_hash(spec, service),
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
