//! Ordering `up` by `depends_on`: every service runs as its own task and
//! publishes its [`Progress`]; a service waits until each dependency's
//! progress satisfies its condition (started, healthy, completed).

use std::collections::BTreeMap;

use tokio::sync::watch;

use super::ServiceFailure;
use crate::events::{Event, EventSink};
use crate::spec::{DependencyCondition, Service};

/// Progress of one service, as its dependants see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    Pending,
    Started,
    Ready,
    Completed,
    Failed,
}

/// Whether a dependency's `progress` lets a service waiting with `condition` go on.
fn satisfies(condition: DependencyCondition, progress: Progress) -> bool {
    match condition {
        DependencyCondition::ServiceStarted => matches!(
            progress,
            Progress::Started | Progress::Ready | Progress::Completed | Progress::Failed
        ),
        DependencyCondition::ServiceHealthy => matches!(progress, Progress::Ready | Progress::Failed),
        DependencyCondition::ServiceCompletedSuccessfully => {
            matches!(progress, Progress::Completed | Progress::Ready | Progress::Failed)
        }
    }
}

/// Waits until every dependency of `service` among `dependencies` has
/// progressed as its condition asks. A required dependency that failed
/// fails this service too.
pub(super) async fn wait_for_dependencies(
    service: &Service,
    dependencies: &BTreeMap<String, watch::Receiver<Progress>>,
    events: &dyn EventSink,
) -> Result<(), ServiceFailure> {
    for (dependency, requirement) in &service.depends_on {
        let Some(receiver) = dependencies.get(dependency) else {
            continue;
        };
        let mut receiver = receiver.clone();
        let satisfied = |progress: &Progress| satisfies(requirement.condition, *progress);
        if !satisfied(&receiver.borrow()) {
            events.emit(Event::WaitingForDependency {
                service: service.name.clone(),
                dependency: dependency.clone(),
            });
        }
        let progress = *receiver
            .wait_for(satisfied)
            .await
            .map_err(|_| ServiceFailure::new(format!("dependency `{dependency}` vanished")))?;
        if progress == Progress::Failed && requirement.required {
            let mut failure = ServiceFailure::new(format!(
                "not started: its dependency `{dependency}` failed (reported above)"
            ));
            failure.failed_dependency = Some(dependency.clone());
            return Err(failure);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_condition_waits_for_the_progress_it_names() {
        use DependencyCondition::*;
        let all = [
            Progress::Pending,
            Progress::Started,
            Progress::Ready,
            Progress::Completed,
            Progress::Failed,
        ];
        let passing = |condition| {
            all.into_iter()
                .filter(|progress| satisfies(condition, *progress))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            passing(ServiceStarted),
            [
                Progress::Started,
                Progress::Ready,
                Progress::Completed,
                Progress::Failed
            ]
        );
        assert_eq!(passing(ServiceHealthy), [Progress::Ready, Progress::Failed]);
        assert_eq!(
            passing(ServiceCompletedSuccessfully),
            [Progress::Ready, Progress::Completed, Progress::Failed]
        );
    }
}
