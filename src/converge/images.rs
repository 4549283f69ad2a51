//! The image each service runs: present and current before any container
//! is touched — pulled as its pull policy says, or built again when its
//! build context changed (the superseded image is removed after `up`).

use std::collections::BTreeMap;

use crate::build_context::{BuildContext, BuildDecision, BuildReason, build_decision};
use crate::engine::{BuildRequest, Engine, EngineError, LABEL_CONTEXT_HASH, LABEL_PROJECT, LABEL_SERVICE};
use crate::events::{Event, EventSink};
use crate::spec::{PullPolicy, Service};

/// The image a service will run, and one it replaced.
pub(super) struct EnsuredImage {
    pub id: String,
    /// An image this project built earlier, to remove once no container uses it.
    pub superseded: Option<String>,
    /// It was built because its build context changed (a reason to recreate, as `plan` says).
    pub context_changed: bool,
}

/// Makes sure the service's image is present and current: pulled as its
/// policy says, or built when its build context changed.
pub(super) async fn ensure_image(
    engine: &Engine,
    project: &str,
    service: &Service,
    pull: Option<PullPolicy>,
    events: &dyn EventSink,
) -> anyhow::Result<EnsuredImage> {
    let present = engine.inspect_image(&service.image).await?;
    if let Some(build) = &service.build {
        let context = BuildContext::collect(build)?;
        let labels = present.as_ref().map(|image| &image.labels);
        let why = match build_decision(service.pull_policy, labels, context.hash()) {
            BuildDecision::Keep => {
                let image = present.expect("kept only when present");
                return Ok(EnsuredImage {
                    id: image.id,
                    superseded: None,
                    context_changed: false,
                });
            }
            BuildDecision::Build { reason } => reason,
        };
        events.emit(Event::Building {
            service: service.name.clone(),
            image: service.image.clone(),
            reason: why.as_str(),
        });
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
            context_changed: why == BuildReason::ContextChanged,
        });
    }
    let policy = pull.unwrap_or(service.pull_policy);
    match (policy, present) {
        (PullPolicy::Always, _) | (PullPolicy::Missing, None) => {
            events.emit(Event::Pulling {
                service: service.name.clone(),
                image: service.image.clone(),
            });
            let pulled = engine.pull_image(&service.image, &mut |_| {}).await?;
            Ok(EnsuredImage {
                id: pulled.id,
                superseded: None,
                context_changed: false,
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
            context_changed: false,
        }),
    }
}
