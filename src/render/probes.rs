//! Readiness as Kubernetes probes. A kind service gets a startup and a
//! readiness probe doing, with the image's own tools, what its kind's
//! protocol probe does (`flowinfra wait` does the real thing, for the pods
//! that depend on it). A plain service's Compose `healthcheck` becomes the
//! same two probes. No liveness probe: Docker never restarts an unhealthy
//! container either.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::environment::{ServiceEnvironment, ValueSource};
use crate::kinds::Credentials;
use crate::spec::{Healthcheck, Kind, Service};

/// How often a kind's probes run.
const KIND_PERIOD_SECONDS: i32 = 5;
/// How long `up` waits for a kind by default; the startup probe allows as much.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Compose's healthcheck defaults (Compose Specification).
const COMPOSE_INTERVAL: Duration = Duration::from_secs(30);
const COMPOSE_TIMEOUT: Duration = Duration::from_secs(30);
const COMPOSE_RETRIES: u32 = 3;

/// A container's probes and what they check, for the translation report.
#[derive(Debug, Clone, PartialEq)]
pub struct Probes {
    pub startup: Probe,
    pub readiness: Probe,
    pub description: String,
}

/// The in-image probe of a kind service: `None` when its credentials are
/// unknown (validation reports that).
pub fn kind_probes(service: &Service, kind: Kind, environment: &ServiceEnvironment) -> Option<Probes> {
    let credentials = crate::kinds::credentials(service)?;
    let variable = |value: &str| shell_value(&environment.source_of(value));
    let (action, timeout, description) = match (kind, &credentials) {
        (
            Kind::Mysql,
            Credentials::Mysql {
                user,
                password,
                database,
            },
        ) => (
            exec_shell(format!(
                "MYSQL_PWD={} mysql --protocol=TCP -h 127.0.0.1 -u {} -D {} -e 'SELECT 1'",
                variable(password),
                variable(user),
                variable(database)
            )),
            5,
            "exec `mysql -e 'SELECT 1'` as the application user over TCP (the temporary first-start server \
             listens on no TCP port); `flowinfra wait` logs in the same way with its own client"
                .to_string(),
        ),
        (Kind::Postgres, Credentials::Postgres { user, database, .. }) => (
            exec_shell(format!(
                "pg_isready -h 127.0.0.1 -U {} -d {}",
                variable(user),
                variable(database)
            )),
            5,
            "exec `pg_isready` over TCP (the temporary first-start server listens on its socket only); it does \
             not log in, `flowinfra wait` logs in as the user and runs `SELECT 1`"
                .to_string(),
        ),
        (Kind::Rabbitmq, Credentials::Rabbitmq { .. }) => (
            exec_shell("rabbitmq-diagnostics -q check_port_connectivity".to_string()),
            15,
            "exec `rabbitmq-diagnostics -q check_port_connectivity`: the listeners accept connections; unlike \
             `flowinfra wait` (AMQP login and a channel) it does not log in"
                .to_string(),
        ),
        (Kind::Redis, Credentials::Redis { password }) => {
            let auth = password
                .as_deref()
                .map(|password| format!("REDISCLI_AUTH={} ", variable(password)))
                .unwrap_or_default();
            (
                exec_shell(format!("[ \"$({auth}redis-cli -h 127.0.0.1 ping)\" = PONG ]")),
                5,
                "exec `redis-cli ping` with the password, PONG expected (not LOADING), as `flowinfra wait` does"
                    .to_string(),
            )
        }
        (Kind::S3, Credentials::S3 { .. }) => {
            let backend = crate::kinds::s3_backends::of_service(service);
            (
                ProbeAction::HttpGet {
                    path: backend.ready_path,
                    port: kind.default_port(),
                },
                5,
                format!(
                    "httpGet {}, the {} backend's readiness route (503 until the server can serve); \
                     `flowinfra wait` signs a ListBuckets, which any S3 server answers",
                    backend.ready_path, backend.name
                ),
            )
        }
        (kind, credentials) => panic!("kind {} was given {credentials:?}", kind.as_str()),
    };
    let ready_timeout = service
        .flowinfra
        .as_ref()
        .and_then(|x| x.ready_timeout)
        .unwrap_or(DEFAULT_READY_TIMEOUT);
    let startup_failures = (ready_timeout.as_secs().div_ceil(KIND_PERIOD_SECONDS as u64) as i32).max(1);
    Some(Probes {
        startup: action.probe(KIND_PERIOD_SECONDS, timeout, startup_failures),
        readiness: action.probe(KIND_PERIOD_SECONDS, timeout, 3),
        description,
    })
}

/// A plain service's healthcheck as probes: `None` without one (or `NONE`).
/// The startup probe allows `start_period` plus the retries; readiness
/// fails after `retries` failed checks, as Docker's `unhealthy` does.
pub fn healthcheck_probes(healthcheck: &Healthcheck) -> Option<Probes> {
    let (first, rest) = healthcheck.test.split_first()?;
    let action = match first.as_str() {
        "CMD" if !rest.is_empty() => ProbeAction::Exec(rest.to_vec()),
        "CMD-SHELL" if !rest.is_empty() => exec_shell(rest.join(" ")),
        _ => return None,
    };
    let interval = healthcheck.interval.unwrap_or(COMPOSE_INTERVAL);
    let startup_interval = healthcheck.start_interval.unwrap_or(interval);
    let timeout = seconds(healthcheck.timeout.unwrap_or(COMPOSE_TIMEOUT));
    let retries = healthcheck.retries.unwrap_or(COMPOSE_RETRIES).max(1) as i32;
    let start_period = healthcheck.start_period.unwrap_or_default();
    let startup_failures = start_period.as_secs().div_ceil(seconds(startup_interval) as u64) as i32 + retries;
    Some(Probes {
        startup: action.probe(seconds(startup_interval), timeout, startup_failures),
        readiness: action.probe(seconds(interval), timeout, retries),
        description: format!(
            "startup and readiness probes running `{}` every {}s",
            rest.join(" "),
            seconds(interval)
        ),
    })
}

enum ProbeAction {
    Exec(Vec<String>),
    HttpGet { path: &'static str, port: u16 },
}

impl ProbeAction {
    fn probe(&self, period: i32, timeout: i32, failure_threshold: i32) -> Probe {
        let mut probe = Probe {
            period_seconds: Some(period),
            timeout_seconds: Some(timeout),
            failure_threshold: Some(failure_threshold),
            ..Probe::default()
        };
        match self {
            ProbeAction::Exec(command) => {
                probe.exec = Some(ExecAction {
                    command: Some(command.clone()),
                })
            }
            ProbeAction::HttpGet { path, port } => {
                probe.http_get = Some(HTTPGetAction {
                    path: Some(path.to_string()),
                    port: IntOrString::Int(i32::from(*port)),
                    ..HTTPGetAction::default()
                })
            }
        }
        probe
    }
}

fn exec_shell(line: String) -> ProbeAction {
    ProbeAction::Exec(vec!["sh".into(), "-c".into(), line])
}

/// A credential in a shell line: the variable holding it (the container
/// has its ConfigMap and Secret as environment), else the value quoted.
fn shell_value(source: &ValueSource) -> String {
    match source {
        ValueSource::Config(key) | ValueSource::Secret(key) => format!("\"${key}\""),
        ValueSource::Literal(value) => shlex::try_quote(value)
            .map(|quoted| quoted.into_owned())
            .unwrap_or_else(|_| "''".into()),
    }
}

/// Whole seconds, at least 1 (Kubernetes' unit and minimum).
fn seconds(duration: Duration) -> i32 {
    (duration.as_millis().div_ceil(1000) as i32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::service;

    fn exec_line(probe: &Probe) -> String {
        probe.exec.as_ref().unwrap().command.as_ref().unwrap().join(" ")
    }

    #[test]
    fn mysql_logs_in_as_the_application_user_from_the_environment() {
        let mysql = service(
            "services:\n  db:\n    image: mysql:8.4\n    ports: ['3306']\n    environment:\n      MYSQL_ROOT_PASSWORD: r\n      \
             MYSQL_DATABASE: app\n      MYSQL_USER: app_user\n      MYSQL_PASSWORD: app-secret\n    x-flowinfra: { kind: mysql }\n",
        );
        let probes = kind_probes(&mysql, Kind::Mysql, &ServiceEnvironment::of(&mysql)).unwrap();
        let line = exec_line(&probes.readiness);
        assert!(line.contains("MYSQL_PWD=\"$MYSQL_PASSWORD\""), "{line}");
        assert!(line.contains("-u \"$MYSQL_USER\" -D \"$MYSQL_DATABASE\""), "{line}");
        assert!(!line.contains("app-secret"), "{line}");
        assert_eq!(probes.startup.failure_threshold, Some(24), "120 s in 5 s periods");
    }

    #[test]
    fn redis_pings_with_the_password_its_command_sets() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['6379']\n    command: redis-server --requirepass s3cret\n    \
             x-flowinfra: { kind: redis, ready_timeout: 30s }\n",
        );
        let probes = kind_probes(&redis, Kind::Redis, &ServiceEnvironment::of(&redis)).unwrap();
        assert_eq!(
            exec_line(&probes.readiness),
            "sh -c [ \"$(REDISCLI_AUTH=\"$REQUIREPASS\" redis-cli -h 127.0.0.1 ping)\" = PONG ]"
        );
        assert_eq!(probes.startup.failure_threshold, Some(6));
    }

    #[test]
    fn s3_gets_an_http_probe_on_the_cluster_health_path() {
        let minio = service(
            "services:\n  s3:\n    image: minio/minio\n    ports: ['9000']\n    environment:\n      MINIO_ROOT_USER: u\n      \
             MINIO_ROOT_PASSWORD: p\n    x-flowinfra: { kind: s3 }\n",
        );
        let probes = kind_probes(&minio, Kind::S3, &ServiceEnvironment::of(&minio)).unwrap();
        let http = probes.readiness.http_get.unwrap();
        assert_eq!(http.path.as_deref(), Some("/minio/health/cluster"));
        assert_eq!(http.port, IntOrString::Int(9000));
    }

    #[test]
    fn a_healthcheck_becomes_startup_and_readiness_probes_with_its_timing() {
        let web = service(
            "services:\n  web:\n    image: nginx\n    healthcheck:\n      test: [\"CMD-SHELL\", \"curl -f localhost\"]\n      \
             interval: 10s\n      timeout: 1500ms\n      retries: 4\n      start_period: 30s\n",
        );
        let probes = healthcheck_probes(web.healthcheck.as_ref().unwrap()).unwrap();
        assert_eq!(exec_line(&probes.readiness), "sh -c curl -f localhost");
        assert_eq!(probes.readiness.period_seconds, Some(10));
        assert_eq!(probes.readiness.timeout_seconds, Some(2));
        assert_eq!(probes.readiness.failure_threshold, Some(4));
        assert_eq!(probes.startup.failure_threshold, Some(3 + 4));
    }

    #[test]
    fn cmd_healthchecks_run_without_a_shell_and_none_disables() {
        let web = service("services:\n  web:\n    image: nginx\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n");
        let probes = healthcheck_probes(web.healthcheck.as_ref().unwrap()).unwrap();
        assert_eq!(exec_line(&probes.startup), "true");
        assert_eq!(probes.readiness.period_seconds, Some(30));
        let off = service("services:\n  web:\n    image: nginx\n    healthcheck:\n      test: [\"NONE\"]\n");
        assert!(healthcheck_probes(off.healthcheck.as_ref().unwrap()).is_none());
    }
}
