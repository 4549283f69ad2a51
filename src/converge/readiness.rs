//! When is a service ready? [`readiness`] answers from the spec and the
//! planned action alone, as data ([`Readiness`]); [`wait_until_ready`]
//! polls the container and interprets that answer until it holds, fails
//! for good, or the deadline passes.

use std::time::{Duration, Instant};

use super::{Ready, ServiceFailure};
use crate::engine::{ContainerState, Engine, Health, HealthProbe, PublishedPort, RunState};
use crate::error::error_chain;
use crate::kinds::{self, Credentials, ProbeError, vocabulary::CREDENTIALS_HINT};
use crate::plan::Action;
use crate::spec::{Kind, Service};

/// Readiness probing starts fast and backs off to this.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// How long a plain service (no kind, no healthcheck) must stay running after its start to count as up.
pub const PLAIN_SERVICE_SETTLE: Duration = Duration::from_millis(300);
/// Credentials refused this many times in a row end the wait: it is not a start-up race.
const REFUSALS_BEFORE_GIVING_UP: u32 = 3;
/// One protocol attempt.
const PROBE_ATTEMPT: Duration = Duration::from_secs(2);

/// The signal that a running container is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitFor {
    /// Its kind's protocol answers, with these credentials.
    Protocol { kind: Kind, credentials: Credentials },
    /// Docker's healthcheck reports healthy.
    Healthcheck,
    /// It exits with code 0 (a one-shot job).
    SuccessfulExit,
    /// It is still running this long after it was first seen running: a
    /// command that fails at once is then reported as the failure it is.
    RunningFor(Duration),
    /// It runs.
    Running,
}

/// What "ready" means for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub wait_for: WaitFor,
    /// A one-shot job: exiting with code 0 is its success, whatever `wait_for` says.
    pub exit_zero_is_ready: bool,
}

/// Derives what "ready" means for `service` about to get `action`.
/// `one_shot`: other services wait for it to complete successfully.
pub fn readiness(service: &Service, action: &Action, one_shot: bool) -> Readiness {
    let has_healthcheck = service
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.test.first().map(String::as_str) != Some("NONE"));
    let wait_for = match (service.kind(), kinds::credentials(service)) {
        (Some(kind), Some(credentials)) => WaitFor::Protocol { kind, credentials },
        _ if has_healthcheck => WaitFor::Healthcheck,
        _ if one_shot => WaitFor::SuccessfulExit,
        // A container kept running has long settled.
        _ if matches!(action, Action::Keep | Action::Completed) => WaitFor::Running,
        _ => WaitFor::RunningFor(PLAIN_SERVICE_SETTLE),
    };
    Readiness {
        wait_for,
        exit_zero_is_ready: one_shot,
    }
}

/// A service became ready: when, and the ports its container publishes
/// (what provisioning connects to).
pub(super) struct Became {
    pub ready: Ready,
    pub published: Vec<PublishedPort>,
}

/// Polls container `id` of `service` until `readiness` holds. Started at
/// `started_at` (reported as the time to ready); gives up after `timeout`.
pub(super) async fn wait_until_ready(
    engine: &Engine,
    service: &Service,
    id: &str,
    readiness: &Readiness,
    timeout: Duration,
    started_at: Instant,
) -> Result<Became, ServiceFailure> {
    let deadline = Instant::now() + timeout;
    let mut poll = Poll {
        running_since: None,
        refusals: 0,
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let state = engine
            .inspect_container(id)
            .await
            .map_err(|err| ServiceFailure::new(error_chain(&err)))?
            .ok_or_else(|| ServiceFailure::new("its container disappeared while starting"))?;
        let address = address(service, &state.ports);
        let became = |server_version: Option<String>, address: Option<String>| Became {
            ready: Ready {
                after: started_at.elapsed(),
                address,
                server_version,
            },
            published: state.ports.clone(),
        };
        match state.status {
            RunState::Exited if readiness.exit_zero_is_ready && state.exit_code == Some(0) => {
                return Ok(became(None, None));
            }
            RunState::Exited | RunState::Dead => {
                return Err(ServiceFailure::new(format!(
                    "its container exited with code {} while starting",
                    state.exit_code.map_or_else(|| "unknown".into(), |c| c.to_string())
                ))
                .with_hint(format!(
                    "its last log lines are above; all of them: `flowinfra logs {}`",
                    service.name
                )));
            }
            _ => {}
        }
        if readiness.wait_for == WaitFor::Healthcheck && state.health == Some(Health::Unhealthy) {
            let log = engine
                .container_details(id)
                .await
                .ok()
                .flatten()
                .map(|details| details.health_log)
                .unwrap_or_default();
            return Err(unhealthy(service, &log));
        }
        let last_reason = match poll.attempt(service, &state, &readiness.wait_for).await? {
            Ok(server_version) => return Ok(became(server_version, address)),
            Err(reason) => reason,
        };
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

/// The failure of a service whose healthcheck reports unhealthy: what the
/// check printed last (the engine's `State.Health.Log`) and what to do.
fn unhealthy(service: &Service, log: &[HealthProbe]) -> ServiceFailure {
    let test = service
        .healthcheck
        .as_ref()
        .map(|check| match check.test.split_first() {
            Some((first, rest)) if first == "CMD" || first == "CMD-SHELL" => rest.join(" "),
            _ => check.test.join(" "),
        })
        .unwrap_or_else(|| "the image's HEALTHCHECK".to_string());
    let reason = match log.last() {
        Some(last) => {
            let output = last.output.trim();
            let code = last.exit_code.map_or_else(|| "unknown".to_string(), |c| c.to_string());
            if output.is_empty() {
                format!("its healthcheck reports unhealthy: `{test}` exited {code} and printed nothing")
            } else {
                let quoted: Vec<String> = output.lines().map(|line| format!("  | {line}")).collect();
                format!(
                    "its healthcheck reports unhealthy: `{test}` exited {code}, printing:\n{}",
                    quoted.join("\n")
                )
            }
        }
        None => "its healthcheck reports unhealthy".to_string(),
    };
    ServiceFailure::new(reason).with_hint(format!(
        "the healthcheck runs inside the container: check that `{}` serves what it tests (its log is above), \
         or fix `healthcheck.test` in the spec; then run `flowinfra up` again",
        service.name
    ))
}

/// Where the up summary says a service is reached: a kind's port, else the
/// first port the spec publishes (as the engine bound it), else the first
/// the container publishes.
fn address(service: &Service, published: &[PublishedPort]) -> Option<String> {
    let first_in_spec = || {
        service
            .ports
            .iter()
            .find_map(|port| kinds::vocabulary::published_endpoint(published, port.container_port))
    };
    let first_bound = || {
        published.first().map(|port| kinds::Endpoint {
            host: kinds::vocabulary::reachable_host(&port.host_ip),
            port: port.host_port,
        })
    };
    kinds::endpoint(service, published)
        .or_else(first_in_spec)
        .or_else(first_bound)
        .map(|e| format!("{}:{}", e.host, e.port))
}

/// What the polls so far have seen.
struct Poll {
    running_since: Option<Instant>,
    /// Credential refusals in a row.
    refusals: u32,
}

impl Poll {
    /// One look at a live container: `Ok(Ok(server version))` when ready,
    /// `Ok(Err(why not yet))`, or `Err` when waiting can no longer help.
    async fn attempt(
        &mut self,
        service: &Service,
        state: &ContainerState,
        wait_for: &WaitFor,
    ) -> Result<Result<Option<String>, String>, ServiceFailure> {
        let running = state.status == RunState::Running;
        let not_running = || Err(format!("its container is {}", state.status));
        Ok(match wait_for {
            WaitFor::Healthcheck => match state.health {
                Some(Health::Healthy) => Ok(None),
                Some(Health::Unhealthy) => return Err(unhealthy(service, &[])),
                _ => Err("its healthcheck has not passed yet".to_string()),
            },
            _ if !running => not_running(),
            WaitFor::Protocol { kind, credentials } => {
                let Some(endpoint) = kinds::endpoint(service, &state.ports) else {
                    return Ok(Err("its port is not published yet".to_string()));
                };
                match kinds::probe(*kind, &endpoint, credentials, PROBE_ATTEMPT).await {
                    Ok(success) => Ok(success.server_version),
                    Err(ProbeError::CredentialsRefused(reason)) => {
                        self.refusals += 1;
                        if self.refusals >= REFUSALS_BEFORE_GIVING_UP {
                            return Err(ServiceFailure::new(format!("the credentials were refused: {reason}"))
                                .with_hint(CREDENTIALS_HINT));
                        }
                        Err(reason)
                    }
                    Err(ProbeError::NotReady(reason)) => {
                        self.refusals = 0;
                        Err(reason)
                    }
                }
            }
            WaitFor::SuccessfulExit => Err("still running".to_string()),
            WaitFor::RunningFor(settle) => {
                let since = *self.running_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= *settle {
                    Ok(None)
                } else {
                    Err("just started".to_string())
                }
            }
            WaitFor::Running => Ok(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::RecreateReason;
    use crate::testing::services;

    /// One service of each shape readiness tells apart.
    fn shapes() -> std::collections::BTreeMap<String, Service> {
        services(
            "services:\n  \
             db:\n    image: mysql:8.4\n    ports: ['3306:3306']\n    environment:\n      MYSQL_ROOT_PASSWORD: r\n      \
             MYSQL_DATABASE: app\n      MYSQL_USER: app\n      MYSQL_PASSWORD: p\n    \
             healthcheck: { test: ['CMD', 'true'] }\n    x-flowinfra: { kind: mysql }\n  \
             cache:\n    image: redis:7\n    ports: ['6379:6379']\n    x-flowinfra: { kind: redis }\n  \
             checked:\n    image: nginx\n    healthcheck: { test: ['CMD', 'true'] }\n  \
             unchecked:\n    image: nginx\n    healthcheck: { test: ['NONE'] }\n  \
             plain:\n    image: nginx\n",
        )
    }

    fn actions() -> [Action; 4] {
        [
            Action::Create,
            Action::Recreate {
                reasons: vec![RecreateReason::Unhealthy],
            },
            Action::Start { state: "exited".into() },
            Action::Keep,
        ]
    }

    #[test]
    fn a_kind_waits_for_its_protocol_whatever_its_healthcheck_action_or_role() {
        let shapes = shapes();
        for name in ["db", "cache"] {
            let service = &shapes[name];
            let kind = service.kind().unwrap();
            for action in actions() {
                for one_shot in [false, true] {
                    assert_eq!(
                        readiness(service, &action, one_shot),
                        Readiness {
                            wait_for: WaitFor::Protocol {
                                kind,
                                credentials: kinds::credentials(service).unwrap()
                            },
                            exit_zero_is_ready: one_shot,
                        },
                        "{name} {action} one_shot={one_shot}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_plain_service_with_a_healthcheck_waits_for_healthy() {
        let shapes = shapes();
        for action in actions() {
            for one_shot in [false, true] {
                assert_eq!(
                    readiness(&shapes["checked"], &action, one_shot),
                    Readiness {
                        wait_for: WaitFor::Healthcheck,
                        exit_zero_is_ready: one_shot,
                    },
                    "{action} one_shot={one_shot}"
                );
            }
        }
    }

    #[test]
    fn a_one_shot_job_without_a_healthcheck_waits_for_its_exit() {
        let shapes = shapes();
        for name in ["unchecked", "plain"] {
            for action in actions() {
                assert_eq!(
                    readiness(&shapes[name], &action, true),
                    Readiness {
                        wait_for: WaitFor::SuccessfulExit,
                        exit_zero_is_ready: true,
                    },
                    "{name} {action}"
                );
            }
        }
    }

    #[test]
    fn an_unhealthy_service_shows_what_its_healthcheck_printed_last() {
        let shapes = shapes();
        let probe = |code, output: &str| HealthProbe {
            exit_code: Some(code),
            output: output.into(),
        };
        let failure = unhealthy(
            &shapes["checked"],
            &[probe(0, "ok"), probe(1, "curl: (7) connection refused\n")],
        );
        assert_eq!(
            failure.reason,
            "its healthcheck reports unhealthy: `true` exited 1, printing:\n  | curl: (7) connection refused"
        );
        assert!(failure.hint.unwrap().contains("fix `healthcheck.test`"));
        let silent = unhealthy(&shapes["checked"], &[probe(1, "")]);
        assert_eq!(
            silent.reason,
            "its healthcheck reports unhealthy: `true` exited 1 and printed nothing"
        );
    }

    #[test]
    fn a_plain_service_is_addressed_by_its_first_published_port() {
        let shapes = services(
            "services:\n  web:\n    image: nginx\n    ports: ['127.0.0.1:8081:81', '8080:80']\n  \
             worker:\n    image: nginx\n",
        );
        let bound = |container_port, host_port| PublishedPort {
            host_ip: "127.0.0.1".into(),
            host_port,
            container_port,
            protocol: crate::engine::Protocol::Tcp,
        };
        // The engine lists ports sorted; the spec's first one is meant.
        let published = [bound(80, 8080), bound(81, 8081)];
        assert_eq!(address(&shapes["web"], &published).as_deref(), Some("127.0.0.1:8081"));
        assert_eq!(address(&shapes["worker"], &[]), None);
    }

    #[test]
    fn a_plain_service_started_now_must_stay_up_a_moment_and_a_kept_one_just_run() {
        let shapes = shapes();
        // `healthcheck: { test: [NONE] }` disables the image's healthcheck: a plain service.
        for name in ["unchecked", "plain"] {
            for action in actions() {
                let expected = if action == Action::Keep {
                    WaitFor::Running
                } else {
                    WaitFor::RunningFor(PLAIN_SERVICE_SETTLE)
                };
                assert_eq!(
                    readiness(&shapes[name], &action, false),
                    Readiness {
                        wait_for: expected,
                        exit_zero_is_ready: false,
                    },
                    "{name} {action}"
                );
            }
        }
    }
}
