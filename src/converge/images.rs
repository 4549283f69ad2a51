//! The image each service runs: present and current before any container
//! is touched — pulled as its pull policy says, or built again when its
//! build context changed (the superseded image is removed after `up`).

use std::collections::BTreeMap;

use crate::build_context::BuildContext;
use crate::engine::{BuildRequest, Engine, EngineError, LABEL_CONTEXT_HASH, LABEL_PROJECT, LABEL_SERVICE};
use crate::events::{Event, EventSink};
use crate::spec::{PullPolicy, Service};

/// The image a service will run, and one it replaced.
pub(super) struct EnsuredImage {
    pub id: String,
    /// An image this project built earlier, to remove once no container uses it.
    pub superseded: Option<String>,
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
        events.emit(Event::Building {
            service: service.name.clone(),
            image: service.image.clone(),
            reason: why,
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
