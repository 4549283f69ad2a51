//! The planner: desired state (from the spec) against actual state (from the
//! engine) gives one action per service, with the reason. Pure: it takes data
//! and returns data, so every reason is unit-tested without an engine.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::container_spec::{LABEL_CONFIG_FIELDS, parse_field_hashes};
use crate::engine::{ContainerState, Health, LABEL_CONFIG_HASH, RunState};

/// What the spec wants for one service.
#[derive(Debug, Clone)]
pub struct Desired {
    pub service: String,
    pub config_hash: String,
    pub field_hashes: BTreeMap<String, String>,
    /// A one-shot job: done, not to be started again, once it exited 0.
    pub job: bool,
    /// Run the job again although it completed (`up --rerun`).
    pub rerun: bool,
}

/// What the engine has for one service.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    pub container: Option<ContainerState>,
    /// The ID the service's image reference resolves to now; `None` when the image is absent.
    pub image_id: Option<String>,
    /// Its build context no longer matches the image's context hash
    /// ([`crate::build_context::build_decision`]).
    pub build_context_changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// No container yet.
    Create,
    /// The container no longer matches; volumes are kept.
    Recreate { reasons: Vec<RecreateReason> },
    /// The container matches but is stopped.
    Start { state: String },
    /// Nothing to do.
    Keep,
    /// A one-shot job whose current container exited 0: nothing to run.
    Completed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RecreateReason {
    ConfigChanged {
        fields: Vec<String>,
    },
    /// The files, Dockerfile or build args of its `build:` changed since its image was built.
    BuildContextChanged,
    ImageChanged {
        old: String,
        new: String,
    },
    Unhealthy,
    /// A completed job asked to run again (`up --rerun`).
    RerunAsked,
    /// It is not connected to these networks of its spec (created before
    /// flowinfra connected every network, or disconnected since).
    NetworksMissing {
        networks: Vec<String>,
    },
    /// It shares the network, IPC or PID namespace or the volumes of these
    /// services' containers, which are new (or about to be).
    SharedContainerReplaced {
        services: Vec<String>,
    },
}

impl fmt::Display for RecreateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecreateReason::ConfigChanged { fields } if fields.is_empty() => write!(f, "config changed"),
            RecreateReason::ConfigChanged { fields } => write!(f, "config changed: {}", fields.join(", ")),
            RecreateReason::ImageChanged { old, new } => {
                write!(f, "image changed: {} → {}", short_id(old), short_id(new))
            }
            RecreateReason::BuildContextChanged => write!(f, "build context changed"),
            RecreateReason::Unhealthy => write!(f, "container is unhealthy"),
            RecreateReason::RerunAsked => write!(f, "re-run asked"),
            RecreateReason::NetworksMissing { networks } => {
                write!(f, "not connected to {}", networks.join(", "))
            }
            RecreateReason::SharedContainerReplaced { services } => {
                let names: Vec<String> = services.iter().map(|name| format!("`{name}`")).collect();
                write!(f, "the container of {} it shares with is new", names.join(", "))
            }
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Create => write!(f, "create (no container)"),
            Action::Recreate { reasons } => {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                write!(f, "recreate ({})", reasons.join("; "))
            }
            Action::Start { state } => write!(f, "start (container is {state})"),
            Action::Keep => write!(f, "keep (up to date)"),
            Action::Completed => write!(f, "keep (job completed, exit 0)"),
        }
    }
}

/// `sha256:0123456789ab…` → `0123456789ab`.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// Decides what to do for one service.
pub fn plan_service(desired: &Desired, actual: &Actual) -> Action {
    let Some(container) = &actual.container else {
        return Action::Create;
    };
    let mut reasons = Vec::new();
    if container.labels.get(LABEL_CONFIG_HASH) != Some(&desired.config_hash) {
        let old = container
            .labels
            .get(LABEL_CONFIG_FIELDS)
            .map(|label| parse_field_hashes(label))
            .unwrap_or_default();
        let fields = desired
            .field_hashes
            .iter()
            .filter(|(field, hash)| old.get(*field) != Some(*hash))
            .map(|(field, _)| field.clone())
            .collect();
        reasons.push(RecreateReason::ConfigChanged { fields });
    }
    if actual.build_context_changed {
        reasons.push(RecreateReason::BuildContextChanged);
    }
    if let Some(image_id) = &actual.image_id
        && *image_id != container.image_id
    {
        reasons.push(RecreateReason::ImageChanged {
            old: container.image_id.clone(),
            new: image_id.clone(),
        });
    }
    if container.health == Some(Health::Unhealthy) {
        reasons.push(RecreateReason::Unhealthy);
    }
    let running = matches!(container.status, RunState::Running | RunState::Restarting);
    // A job still running is waited for, not started twice.
    if desired.rerun && !running {
        reasons.push(RecreateReason::RerunAsked);
    }
    if !reasons.is_empty() {
        return Action::Recreate { reasons };
    }
    match container.status {
        _ if running => Action::Keep,
        RunState::Exited if desired.job && container.exit_code == Some(0) => Action::Completed,
        other => Action::Start {
            state: other.to_string(),
        },
    }
}

/// Recreates every service whose container shares a namespace or the
/// volumes of another service's container (`shares`: service → those
/// services) when that container is new: planned to be created or
/// recreated, or not the one recorded when this container was created
/// (`recorded`: service → shared service → container ID; `current`: each
/// service's container ID now). Repeats until nothing changes, since a
/// recreated service makes its own sharers stale. A completed job stays
/// completed.
pub fn recreate_sharers(
    actions: &mut BTreeMap<String, Action>,
    shares: &BTreeMap<String, Vec<String>>,
    recorded: &BTreeMap<String, BTreeMap<String, String>>,
    current: &BTreeMap<String, String>,
) {
    let replaced = |action: Option<&Action>| matches!(action, Some(Action::Create | Action::Recreate { .. }));
    loop {
        let mut changed = false;
        for (service, shared) in shares {
            if matches!(actions.get(service), None | Some(Action::Create | Action::Completed)) {
                continue;
            }
            let stale: Vec<String> = shared
                .iter()
                .filter(|other| {
                    replaced(actions.get(*other))
                        || recorded.get(service).and_then(|ids| ids.get(*other)) != current.get(*other)
                })
                .cloned()
                .collect();
            if stale.is_empty() {
                continue;
            }
            let reason = RecreateReason::SharedContainerReplaced { services: stale };
            let action = actions.get_mut(service).expect("checked above");
            match action {
                Action::Recreate { reasons } => {
                    if reasons.contains(&reason) {
                        continue;
                    }
                    reasons.retain(|r| !matches!(r, RecreateReason::SharedContainerReplaced { .. }));
                    reasons.push(reason);
                }
                _ => *action = Action::Recreate { reasons: vec![reason] },
            }
            changed = true;
        }
        if !changed {
            return;
        }
    }
}

/// Adds [`RecreateReason::NetworksMissing`] to `action` when `container`
/// lacks any of `wanted` (network names). A container being created, or
/// already recreated, needs nothing more; a completed job stays completed.
pub fn recreate_if_networks_missing(action: &mut Action, container: &ContainerState, wanted: &[String]) {
    if matches!(action, Action::Create | Action::Completed) {
        return;
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|network| !container.networks.contains(network))
        .cloned()
        .collect();
    if missing.is_empty() {
        return;
    }
    let reason = RecreateReason::NetworksMissing { networks: missing };
    match action {
        Action::Recreate { reasons } => reasons.push(reason),
        _ => *action = Action::Recreate { reasons: vec![reason] },
    }
}

/// Reads a `shared=container-id,...` label back.
pub fn parse_shared_label(label: &str) -> BTreeMap<String, String> {
    parse_field_hashes(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        Desired {
            service: "db".into(),
            config_hash: "h1".into(),
            field_hashes: BTreeMap::from([("environment".into(), "e1".into()), ("image".into(), "i1".into())]),
            job: false,
            rerun: false,
        }
    }

    fn container(status: RunState, health: Option<Health>) -> ContainerState {
        ContainerState {
            id: "c1".into(),
            name: "p-db-1".into(),
            service: Some("db".into()),
            image_id: "sha256:aaaaaaaaaaaaaaaa".into(),
            image_ref: "mysql:8.4".into(),
            labels: BTreeMap::from([
                (LABEL_CONFIG_HASH.to_string(), "h1".to_string()),
                (LABEL_CONFIG_FIELDS.to_string(), "environment=e1,image=i1".to_string()),
            ]),
            status,
            exit_code: None,
            health,
            ports: Vec::new(),
            networks: Vec::new(),
        }
    }

    fn actual(container: ContainerState) -> Actual {
        Actual {
            image_id: Some(container.image_id.clone()),
            container: Some(container),
            build_context_changed: false,
        }
    }

    #[test]
    fn a_missing_container_is_created() {
        assert_eq!(plan_service(&desired(), &Actual::default()), Action::Create);
    }

    #[test]
    fn a_matching_running_container_is_kept() {
        assert_eq!(
            plan_service(&desired(), &actual(container(RunState::Running, Some(Health::Healthy)))),
            Action::Keep
        );
    }

    #[test]
    fn a_changed_field_recreates_and_is_named() {
        let mut want = desired();
        want.config_hash = "h2".into();
        want.field_hashes.insert("environment".into(), "e2".into());
        let action = plan_service(&want, &actual(container(RunState::Running, None)));
        assert_eq!(
            action,
            Action::Recreate {
                reasons: vec![RecreateReason::ConfigChanged {
                    fields: vec!["environment".into()]
                }]
            }
        );
        assert_eq!(action.to_string(), "recreate (config changed: environment)");
    }

    #[test]
    fn a_moved_image_recreates_with_both_ids() {
        let mut state = actual(container(RunState::Running, None));
        state.image_id = Some("sha256:bbbbbbbbbbbbbbbb".into());
        let action = plan_service(&desired(), &state);
        assert_eq!(
            action.to_string(),
            "recreate (image changed: aaaaaaaaaaaa → bbbbbbbbbbbb)"
        );
    }

    #[test]
    fn an_unhealthy_container_is_recreated() {
        let action = plan_service(
            &desired(),
            &actual(container(RunState::Running, Some(Health::Unhealthy))),
        );
        assert_eq!(
            action,
            Action::Recreate {
                reasons: vec![RecreateReason::Unhealthy]
            }
        );
    }

    #[test]
    fn an_exited_container_is_started() {
        let action = plan_service(&desired(), &actual(container(RunState::Exited, None)));
        assert_eq!(action, Action::Start { state: "exited".into() });
    }

    #[test]
    fn a_container_without_labels_is_recreated_naming_every_field() {
        let mut bare = container(RunState::Running, None);
        bare.labels.clear();
        let action = plan_service(&desired(), &actual(bare));
        assert_eq!(
            action,
            Action::Recreate {
                reasons: vec![RecreateReason::ConfigChanged {
                    fields: vec!["environment".into(), "image".into()]
                }]
            }
        );
    }

    fn exited(code: i64) -> ContainerState {
        let mut state = container(RunState::Exited, None);
        state.exit_code = Some(code);
        state
    }

    fn job() -> Desired {
        Desired { job: true, ..desired() }
    }

    #[test]
    fn a_job_that_exited_0_is_completed_and_one_that_failed_runs_again() {
        assert_eq!(plan_service(&job(), &actual(exited(0))), Action::Completed);
        assert_eq!(Action::Completed.to_string(), "keep (job completed, exit 0)");
        assert_eq!(
            plan_service(&job(), &actual(exited(2))),
            Action::Start { state: "exited".into() }
        );
        // Not a job: an exited container is started, whatever its code.
        assert_eq!(
            plan_service(&desired(), &actual(exited(0))),
            Action::Start { state: "exited".into() }
        );
    }

    #[test]
    fn a_completed_job_runs_again_when_its_config_changed_or_when_asked() {
        let mut changed = job();
        changed.config_hash = "h2".into();
        assert!(matches!(
            plan_service(&changed, &actual(exited(0))),
            Action::Recreate { .. }
        ));
        let rerun = Desired { rerun: true, ..job() };
        assert_eq!(
            plan_service(&rerun, &actual(exited(0))),
            Action::Recreate {
                reasons: vec![RecreateReason::RerunAsked]
            }
        );
        // A job still running is left to finish.
        assert_eq!(
            plan_service(&rerun, &actual(container(RunState::Running, None))),
            Action::Keep
        );
    }

    #[test]
    fn a_container_missing_a_network_of_its_spec_is_recreated_naming_it() {
        let mut state = container(RunState::Running, None);
        state.networks = vec!["p_back".into()];
        let mut action = Action::Keep;
        recreate_if_networks_missing(&mut action, &state, &["p_back".into(), "p_front".into()]);
        assert_eq!(action.to_string(), "recreate (not connected to p_front)");
        let mut kept = Action::Keep;
        recreate_if_networks_missing(&mut kept, &state, &["p_back".into()]);
        assert_eq!(kept, Action::Keep);
    }

    #[test]
    fn a_service_sharing_a_replaced_container_is_recreated_in_turn() {
        let mut actions = BTreeMap::from([
            (
                "db".to_string(),
                Action::Recreate {
                    reasons: vec![RecreateReason::Unhealthy],
                },
            ),
            ("proxy".to_string(), Action::Keep),
            ("sidecar".to_string(), Action::Start { state: "exited".into() }),
            ("other".to_string(), Action::Keep),
        ]);
        // proxy joins db's network namespace; sidecar takes proxy's volumes.
        let shares = BTreeMap::from([
            ("proxy".to_string(), vec!["db".to_string()]),
            ("sidecar".to_string(), vec!["proxy".to_string()]),
        ]);
        let recorded = BTreeMap::from([
            (
                "proxy".to_string(),
                BTreeMap::from([("db".to_string(), "c-db".to_string())]),
            ),
            (
                "sidecar".to_string(),
                BTreeMap::from([("proxy".to_string(), "c-proxy".to_string())]),
            ),
        ]);
        let current = BTreeMap::from([
            ("db".to_string(), "c-db".to_string()),
            ("proxy".to_string(), "c-proxy".to_string()),
        ]);
        recreate_sharers(&mut actions, &shares, &recorded, &current);
        assert_eq!(
            actions["proxy"].to_string(),
            "recreate (the container of `db` it shares with is new)"
        );
        assert!(
            matches!(&actions["sidecar"], Action::Recreate { .. }),
            "{:?}",
            actions["sidecar"]
        );
        assert_eq!(actions["other"], Action::Keep);

        // Nothing replaced and the recorded containers current: kept.
        let mut kept = BTreeMap::from([("db".to_string(), Action::Keep), ("proxy".to_string(), Action::Keep)]);
        recreate_sharers(&mut kept, &shares, &recorded, &current);
        assert_eq!(kept["proxy"], Action::Keep);

        // The shared container changed since this one was made (a run that failed half-way).
        let moved = BTreeMap::from([("db".to_string(), "c-db-2".to_string())]);
        recreate_sharers(&mut kept, &shares, &recorded, &moved);
        assert!(matches!(&kept["proxy"], Action::Recreate { .. }));
    }

    #[test]
    fn a_changed_build_context_recreates_and_is_named() {
        let mut state = actual(container(RunState::Running, None));
        state.build_context_changed = true;
        let action = plan_service(&desired(), &state);
        assert_eq!(
            action,
            Action::Recreate {
                reasons: vec![RecreateReason::BuildContextChanged]
            }
        );
        assert_eq!(action.to_string(), "recreate (build context changed)");
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(
            json["reasons"][0],
            serde_json::json!({ "reason": "build_context_changed" })
        );
    }
}
