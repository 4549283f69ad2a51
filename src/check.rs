//! `check`: a verdict on the running stack. Every check runs concurrently
//! under its own timeout and ends ok, warn, fail or skipped with a one-line
//! reason; `--verbose` details (versions, row counts, timings) ride along.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, join_all};
use serde::Serialize;

use crate::engine::{ContainerState, Engine, Health, RunState};
use crate::kinds;
use crate::plan::Action;
use crate::spec::{Service, Spec};
use crate::stack::{PlannedService, plan_stack, select_services};
use crate::upstream::Upstream;

pub use crate::kinds::{Status, Verdict};

/// One check's verdict: the `check --json` schema's array element.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// e.g. `container`, `image`, `protocol`, `migrations`, `seed`, `queues`, `buckets`.
    pub check: String,
    /// The service checked; `None` for stack-wide checks (the engine).
    pub service: Option<String>,
    pub status: Status,
    pub reason: String,
    pub duration_ms: u64,
    /// Versions, row counts, …: shown with `--verbose`, always in JSON.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

/// One check to run: its name, service, and body.
pub struct Check {
    pub check: String,
    pub service: Option<String>,
    pub body: BoxFuture<'static, Verdict>,
}

impl Check {
    pub fn new(check: &str, service: Option<&str>, body: impl Future<Output = Verdict> + Send + 'static) -> Self {
        Self {
            check: check.to_string(),
            service: service.map(str::to_string),
            body: Box::pin(body),
        }
    }
}

/// Runs every check concurrently, each bounded by `timeout`.
pub async fn run_all(checks: Vec<Check>, timeout: Duration) -> Vec<CheckResult> {
    let tasks = checks.into_iter().map(|check| async move {
        let started = Instant::now();
        let verdict = tokio::time::timeout(timeout, check.body)
            .await
            .unwrap_or_else(|_| Verdict::fail(format!("no answer within {}s", timeout.as_secs())));
        CheckResult {
            check: check.check,
            service: check.service,
            status: verdict.status,
            reason: verdict.reason,
            duration_ms: started.elapsed().as_millis() as u64,
            details: verdict.details,
        }
    });
    let mut results = join_all(tasks).await;
    // Grouped per service, in the order the checks were built (stable sort).
    results.sort_by(|a, b| a.service.cmp(&b.service));
    results
}

/// The checks every service gets from the engine's view: container state
/// (a one-shot job's: did it complete) and staleness.
pub fn container_checks(engine: &Arc<Engine>, spec: &Spec, planned: &[PlannedService]) -> Vec<Check> {
    let jobs = crate::stack::jobs(spec);
    let mut checks = Vec::new();
    for planned in planned {
        let container = planned.actual.container.clone();
        let has_kind = spec.services[&planned.service].kind().is_some();
        if jobs.contains(&planned.service) {
            let engine = engine.clone();
            let service = planned.service.clone();
            checks.push(Check::new("container", Some(&planned.service), async move {
                // When it finished: only an inspection says, and only a completed job needs it.
                let finished_at = match &container {
                    Some(c) if c.status == RunState::Exited && c.exit_code == Some(0) => engine
                        .container_details(&c.id)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|details| details.finished_at),
                    _ => None,
                };
                job_verdict(&service, container.as_ref(), finished_at.as_deref())
            }));
        } else {
            checks.push(Check::new("container", Some(&planned.service), async move {
                container_verdict(container.as_ref(), has_kind)
            }));
        }
        let action = planned.action.clone();
        let image = spec.services[&planned.service].image.clone();
        checks.push(Check::new("image", Some(&planned.service), async move {
            match action {
                Action::Recreate { reasons } => {
                    let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                    Verdict::warn(format!("stale: {}; `flowinfra up` recreates it", reasons.join("; ")))
                }
                Action::Create => Verdict::skipped("no container"),
                _ => Verdict::ok(format!("{image} is current")),
            }
        }));
    }
    checks
}

/// Per service, whether the registry holds a newer image than the local
/// one: a warning when it does, skipped when that cannot be known (offline,
/// a built image), so that no registry is ever needed to pass.
pub fn upstream_checks(engine: &Arc<Engine>, spec: &Spec, planned: &[PlannedService]) -> Vec<Check> {
    planned
        .iter()
        .map(|planned| {
            let engine = engine.clone();
            let image = spec.services[&planned.service].image.clone();
            Check::new("upstream", Some(&planned.service), async move {
                upstream_verdict(&image, crate::upstream::check(&engine, &image).await)
            })
        })
        .collect()
}

fn upstream_verdict(image: &str, upstream: Upstream) -> Verdict {
    match upstream {
        Upstream::UpToDate => Verdict::ok(format!("{image} is the registry's latest")),
        Upstream::Newer { .. } => Verdict::warn(format!("{image}: {upstream}; `flowinfra up --pull always` pulls it")),
        Upstream::Unknown { .. } => Verdict::skipped(format!("{image}: {upstream}")),
    }
}

/// A container's state as `check` judges it. For a kind, readiness is its
/// protocol (the `protocol` check), not Docker's healthcheck: one that has
/// not reported yet — its first run comes an `interval` after the start, so
/// often after `up` is done — is no reason to warn.
fn container_verdict(container: Option<&ContainerState>, has_kind: bool) -> Verdict {
    let Some(container) = container else {
        return Verdict::fail("no container; run `flowinfra up`");
    };
    match (container.status, container.health) {
        (RunState::Running, Some(Health::Unhealthy)) => {
            Verdict::fail(format!("{} is running but unhealthy", container.name))
        }
        (RunState::Running, Some(Health::Starting)) if has_kind => Verdict::ok(format!(
            "{} is running (its healthcheck has not reported yet)",
            container.name
        )),
        (RunState::Running, Some(Health::Starting)) => Verdict::warn(format!("{} is still starting", container.name)),
        (RunState::Running, _) => Verdict::ok(format!("{} is running", container.name)),
        (state, _) => Verdict::fail(format!(
            "{} is {state}{}",
            container.name,
            container
                .exit_code
                .map(|code| format!(" (exit code {code})"))
                .unwrap_or_default()
        )),
    }
}

/// A one-shot job's container as `check` judges it: done when it exited 0,
/// failed when it exited otherwise. `finished_at`: RFC 3339, from the engine.
fn job_verdict(service: &str, container: Option<&ContainerState>, finished_at: Option<&str>) -> Verdict {
    let Some(container) = container else {
        return Verdict::fail("no container; run `flowinfra up`");
    };
    match (container.status, container.exit_code) {
        (RunState::Exited, Some(0)) => Verdict::ok(match finished_at.and_then(utc_time) {
            Some(when) => format!("completed, exit 0, {when}"),
            None => "completed, exit 0".to_string(),
        }),
        (RunState::Exited | RunState::Dead, code) => Verdict::fail(format!(
            "job {} failed: exit code {}; see `flowinfra logs {service}`, then `flowinfra up` runs it again",
            container.name,
            code.map_or_else(|| "unknown".to_string(), |code| code.to_string())
        )),
        (RunState::Running | RunState::Restarting, _) => {
            Verdict::warn(format!("job {} is still running", container.name))
        }
        (state, _) => Verdict::fail(format!("job {} is {state}; run `flowinfra up`", container.name)),
    }
}

/// `2026-12-05T07:40:01.123456789Z` → `2026-12-05 07:40:01 UTC`.
fn utc_time(rfc3339: &str) -> Option<String> {
    let time = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time.to_offset(time::UtcOffset::UTC).format(format).ok()
}

/// The protocol check of a kind: the same handshake readiness uses, with the server's version.
pub fn protocol_check(service: &Service, container: Option<&ContainerState>) -> Option<Check> {
    let kind = service.kind()?;
    let credentials = kinds::credentials(service)?;
    let endpoint = container
        .filter(|c| c.status == RunState::Running)
        .and_then(|c| kinds::endpoint(service, &c.ports));
    let name = service.name.clone();
    Some(Check::new("protocol", Some(&service.name), async move {
        let Some(endpoint) = endpoint else {
            return Verdict::skipped("container not running");
        };
        match kinds::probe(kind, &endpoint, &credentials, Duration::from_secs(5)).await {
            Ok(success) => {
                let verdict = Verdict::ok(format!("{} answers on {}", kind.as_str(), endpoint));
                match success.server_version {
                    Some(version) => verdict.detail("server_version", version),
                    None => verdict,
                }
            }
            Err(kinds::ProbeError::CredentialsRefused(reason)) => {
                Verdict::fail(format!("{name}: the credentials were refused ({reason})"))
            }
            Err(kinds::ProbeError::NotReady(reason)) => Verdict::fail(format!("{name} does not answer: {reason}")),
        }
    }))
}

/// Gathers the actual state once and builds every check for the selected
/// services; the upstream ones only when asked. Services' ports are dialled
/// through `reach`, which must outlive the checks.
pub async fn stack_checks(
    engine: Arc<Engine>,
    spec: Arc<Spec>,
    reach: &crate::reach::Reach,
    services: &[String],
    check_upstream: bool,
) -> anyhow::Result<Vec<Check>> {
    let selected = select_services(&spec, services)?;
    let planned = plan_stack(&engine, &spec, &selected).await?;
    let mut checks = container_checks(&engine, &spec, &planned);
    if check_upstream {
        checks.extend(upstream_checks(&engine, &spec, &planned));
    }
    for planned in &planned {
        let service = &spec.services[&planned.service];
        let container = match planned.actual.container.as_ref() {
            // Probes and verifications dial the ports as this machine reaches them.
            Some(container) if container.status == RunState::Running && service.kind().is_some() => {
                match reach.container(service, container).await {
                    Ok(reached) => Some(reached),
                    Err(error) => {
                        let reason = crate::error::error_chain(&error);
                        checks.push(Check::new("forward", Some(&service.name), async move {
                            Verdict::fail(format!("cannot reach its ports through the engine: {reason}"))
                        }));
                        continue;
                    }
                }
            }
            other => other.cloned(),
        };
        checks.extend(protocol_check(service, container.as_ref()));
        checks.extend(kind_checks(service, container.as_ref()));
    }
    Ok(checks)
}

/// What each kind provisions, checked ([`kinds::verifications`]):
/// migrations and seed, exchanges and queues, buckets and their policies.
fn kind_checks(service: &Service, container: Option<&ContainerState>) -> Vec<Check> {
    let Some(container) = container.filter(|c| c.status == RunState::Running) else {
        return Vec::new();
    };
    kinds::verifications(service, &container.ports)
        .into_iter()
        .map(|verification| Check {
            check: verification.check.to_string(),
            service: Some(service.name.clone()),
            body: verification.body,
        })
        .collect()
}

/// The overall verdict: the worst status, warnings counting as failures with `strict`.
pub fn exit_code(results: &[CheckResult], strict: bool) -> u8 {
    let worst = results.iter().map(|r| r.status).max().unwrap_or(Status::Ok);
    match worst {
        Status::Fail => crate::error::EXIT_FAILURE,
        Status::Warn if strict => crate::error::EXIT_FAILURE,
        _ => crate::error::EXIT_OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(health: Option<Health>) -> ContainerState {
        ContainerState {
            id: "c1".into(),
            name: "p-db-1".into(),
            service: Some("db".into()),
            image_id: "sha256:aaaaaaaaaaaaaaaa".into(),
            image_ref: "mysql:8.4".into(),
            labels: BTreeMap::new(),
            status: RunState::Running,
            exit_code: None,
            health,
            ports: Vec::new(),
            networks: Vec::new(),
        }
    }

    #[test]
    fn a_kind_whose_healthcheck_has_not_reported_yet_is_ok() {
        let verdict = container_verdict(Some(&running(Some(Health::Starting))), true);
        assert_eq!(verdict.status, Status::Ok);
        assert_eq!(
            verdict.reason,
            "p-db-1 is running (its healthcheck has not reported yet)"
        );
    }

    #[test]
    fn a_plain_service_still_starting_warns_and_an_unhealthy_one_fails() {
        let starting = running(Some(Health::Starting));
        assert_eq!(container_verdict(Some(&starting), false).status, Status::Warn);
        let unhealthy = running(Some(Health::Unhealthy));
        assert_eq!(container_verdict(Some(&unhealthy), true).status, Status::Fail);
        assert_eq!(container_verdict(None, true).status, Status::Fail);
    }

    fn exited(code: i64) -> ContainerState {
        ContainerState {
            status: RunState::Exited,
            exit_code: Some(code),
            name: "p-init-1".into(),
            ..running(None)
        }
    }

    #[test]
    fn a_job_that_exited_0_is_ok_with_its_time_and_one_that_failed_fails() {
        let done = job_verdict("init", Some(&exited(0)), Some("2026-12-05T07:40:01.123456789Z"));
        assert_eq!(done.status, Status::Ok);
        assert_eq!(done.reason, "completed, exit 0, 2026-12-05 07:40:01 UTC");
        let failed = job_verdict("init", Some(&exited(3)), None);
        assert_eq!(failed.status, Status::Fail);
        assert_eq!(
            failed.reason,
            "job p-init-1 failed: exit code 3; see `flowinfra logs init`, then `flowinfra up` runs it again"
        );
        assert_eq!(job_verdict("init", None, None).status, Status::Fail);
        assert_eq!(job_verdict("init", Some(&running(None)), None).status, Status::Warn);
    }

    #[test]
    fn a_newer_upstream_image_warns_and_names_the_fix() {
        let verdict = upstream_verdict(
            "redis:7",
            Upstream::Newer {
                digest: "sha256:def0123456789".into(),
            },
        );
        assert_eq!(verdict.status, Status::Warn);
        assert_eq!(
            verdict.reason,
            "redis:7: newer image in registry (def012345678); `flowinfra up --pull always` pulls it"
        );
    }

    #[test]
    fn an_unknown_upstream_is_skipped_never_a_failure() {
        let verdict = upstream_verdict(
            "redis:7",
            Upstream::Unknown {
                why: "registry not reachable".into(),
            },
        );
        assert_eq!(verdict.status, Status::Skipped);
        assert_eq!(verdict.reason, "redis:7: unknown (registry not reachable)");
        assert_eq!(upstream_verdict("redis:7", Upstream::UpToDate).status, Status::Ok);
    }
}
