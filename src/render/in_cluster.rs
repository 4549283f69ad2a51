//! What the rendered manifests run inside the cluster, where flowinfra has
//! no Docker engine and reaches services by their DNS names: `flowinfra
//! wait` (one kind service's protocol probe until it answers) and
//! `flowinfra provision` (every kind service of a spec, waited for, then
//! provisioned as `up` provisions it). Both go through the kinds' plugins,
//! so readiness and provisioning are the very code `up` runs.

use std::time::{Duration, Instant};

use crate::engine::{Protocol, PublishedPort};
use crate::events::{Event, EventSink};
use crate::kinds::{self, Credentials, Endpoint, ProbeError, ProbeSuccess, ProvisionError, S3_REGION, Target};
use crate::spec::{Kind, Spec, format_duration};

/// Probing backs off from this to [`MAX_BACKOFF`], as `up` does.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// One protocol attempt.
const ATTEMPT: Duration = Duration::from_secs(2);
/// Refusals in a row that end a wait: by then it is not a start-up race.
const REFUSALS_BEFORE_GIVING_UP: u32 = 3;

/// A kind's credentials as separate values, the way `flowinfra wait` takes
/// them from flags or the environment and the manifests hand them over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialFields {
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub vhost: Option<String>,
}

impl From<&Credentials> for CredentialFields {
    fn from(credentials: &Credentials) -> Self {
        match credentials.clone() {
            Credentials::Mysql {
                user,
                password,
                database,
            } => CredentialFields {
                user: Some(user),
                password: Some(password),
                database: Some(database),
                vhost: None,
            },
            Credentials::Postgres {
                user,
                password,
                database,
            } => CredentialFields {
                user: Some(user),
                password: Some(password),
                database: Some(database),
                vhost: None,
            },
            Credentials::Rabbitmq { user, password, vhost } => CredentialFields {
                user: Some(user),
                password: Some(password),
                database: None,
                vhost: Some(vhost),
            },
            Credentials::Redis { password } => CredentialFields {
                password,
                ..CredentialFields::default()
            },
            Credentials::S3 {
                access_key, secret_key, ..
            } => CredentialFields {
                user: Some(access_key),
                password: Some(secret_key),
                ..CredentialFields::default()
            },
        }
    }
}

impl CredentialFields {
    /// The credentials of `kind`, with the defaults its image applies
    /// (RabbitMQ's `guest` on `/`); an error names what is missing.
    pub fn credentials(self, kind: Kind) -> Result<Credentials, String> {
        let required = |value: Option<String>, what: &str| {
            value.ok_or_else(|| format!("a {} service needs {what}", kind.as_str()))
        };
        Ok(match kind {
            Kind::Mysql => Credentials::Mysql {
                user: required(self.user, "--user (FLOWINFRA_USER)")?,
                password: required(self.password, "--password (FLOWINFRA_PASSWORD)")?,
                database: required(self.database, "--database (FLOWINFRA_DATABASE)")?,
            },
            Kind::Postgres => {
                // The image's defaults: user `postgres`, database named after the user.
                let user = self.user.unwrap_or_else(|| "postgres".into());
                Credentials::Postgres {
                    database: self.database.unwrap_or_else(|| user.clone()),
                    password: self.password.unwrap_or_default(),
                    user,
                }
            }
            Kind::Rabbitmq => Credentials::Rabbitmq {
                user: self.user.unwrap_or_else(|| "guest".into()),
                password: self.password.unwrap_or_else(|| "guest".into()),
                vhost: self.vhost.unwrap_or_else(|| "/".into()),
            },
            Kind::Redis => Credentials::Redis {
                password: self.password.filter(|password| !password.is_empty()),
            },
            Kind::S3 => Credentials::S3 {
                access_key: required(self.user, "--user (FLOWINFRA_USER, the access key)")?,
                secret_key: required(self.password, "--password (FLOWINFRA_PASSWORD, the secret key)")?,
                region: S3_REGION.into(),
            },
        })
    }
}

/// Why a wait ended without the service being ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    #[error("{service} ({kind} at {endpoint}) was not ready after {waited}: {last}")]
    Timeout {
        service: String,
        kind: &'static str,
        endpoint: String,
        waited: String,
        last: String,
    },
    #[error("{service} ({kind} at {endpoint}) refused the credentials: {reason}")]
    CredentialsRefused {
        service: String,
        kind: &'static str,
        endpoint: String,
        reason: String,
    },
    #[error("{service}: {host} did not resolve after {waited} (no ready pod behind it): {last}")]
    NotResolved {
        service: String,
        host: String,
        waited: String,
        last: String,
    },
    #[error("the Job {job} failed: {reason}")]
    JobFailed { job: String, reason: String },
    #[error("the Job {job} had not completed after {waited}: {last}")]
    JobTimeout { job: String, waited: String, last: String },
    #[error(
        "the Kubernetes API refused to show the Job {job} ({reason}); the pod needs the service account \
         `flowinfra-wait` that `render kubernetes` writes (get on jobs)"
    )]
    ApiRefused { job: String, reason: String },
    #[error("cannot reach the Kubernetes API: {reason}")]
    NoApi { reason: String },
}

/// Resolves `host` until it has an address or `timeout` passes. A headless
/// Service's name resolves to its ready pods only, so this waits until the
/// service behind it is ready (started, or healthy when it has a readiness
/// probe); on a Compose network the name resolves once the container runs.
pub async fn wait_until_resolves(
    service: &str,
    host: &str,
    timeout: Duration,
) -> Result<Vec<std::net::IpAddr>, WaitError> {
    let deadline = Instant::now() + timeout;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let last = match tokio::time::timeout(ATTEMPT, tokio::net::lookup_host((host, 0))).await {
            Ok(Ok(addresses)) => {
                let addresses: Vec<std::net::IpAddr> = addresses.map(|address| address.ip()).collect();
                if !addresses.is_empty() {
                    return Ok(addresses);
                }
                "no address".to_string()
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {}", format_duration(ATTEMPT)),
        };
        if Instant::now() + backoff >= deadline {
            return Err(WaitError::NotResolved {
                service: service.to_string(),
                host: host.to_string(),
                waited: format_duration(timeout),
                last,
            });
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Probes `service` (a kind at `endpoint`) until it answers its protocol,
/// the credentials are refused several times in a row, or `timeout` passes.
pub async fn wait_until_ready(
    service: &str,
    kind: Kind,
    endpoint: &Endpoint,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<ProbeSuccess, WaitError> {
    let deadline = Instant::now() + timeout;
    let mut backoff = FIRST_BACKOFF;
    let mut refusals = 0;
    loop {
        let outcome = kinds::probe(kind, endpoint, credentials, ATTEMPT).await;
        let last = match outcome {
            Ok(success) => return Ok(success),
            Err(ProbeError::CredentialsRefused(reason)) => {
                refusals += 1;
                if refusals >= REFUSALS_BEFORE_GIVING_UP {
                    return Err(WaitError::CredentialsRefused {
                        service: service.to_string(),
                        kind: kind.as_str(),
                        endpoint: endpoint.to_string(),
                        reason,
                    });
                }
                reason
            }
            Err(ProbeError::NotReady(reason)) => {
                refusals = 0;
                reason
            }
        };
        if Instant::now() + backoff >= deadline {
            return Err(WaitError::Timeout {
                service: service.to_string(),
                kind: kind.as_str(),
                endpoint: endpoint.to_string(),
                waited: format_duration(timeout),
                last,
            });
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// What provisioning one service came to.
#[derive(Debug)]
pub struct ProvisionOutcome {
    pub service: String,
    pub result: Result<(), ProvisionFailure>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionFailure {
    #[error(transparent)]
    NotReady(#[from] WaitError),
    #[error("{0}")]
    Provision(#[from] ProvisionError),
    #[error("its credentials are incomplete in the spec")]
    NoCredentials,
}

/// Waits for every kind service of `spec` at its DNS name (the service's
/// name, as a Kubernetes Service or a Compose network alias resolves it)
/// and provisions it, one after the other. Plain services are skipped.
pub async fn provision(spec: &Spec, timeout: Duration, events: &dyn EventSink) -> Vec<ProvisionOutcome> {
    let mut outcomes = Vec::new();
    for service in spec.services.values() {
        let Some(kind) = service.kind() else { continue };
        let started = Instant::now();
        let result = async {
            let credentials = kinds::credentials(service).ok_or(ProvisionFailure::NoCredentials)?;
            let endpoint = Endpoint {
                host: service.name.clone(),
                port: kind.default_port(),
            };
            events.emit(Event::WaitingForReadiness {
                service: service.name.clone(),
            });
            wait_until_ready(&service.name, kind, &endpoint, &credentials, timeout).await?;
            // Every port the spec lists, reached on the Service at the same port number.
            let published: Vec<PublishedPort> = service
                .ports
                .iter()
                .map(|port| PublishedPort {
                    host_ip: service.name.clone(),
                    host_port: port.container_port,
                    container_port: port.container_port,
                    protocol: Protocol::Tcp,
                })
                .collect();
            let target = Target {
                service,
                credentials,
                endpoint,
                published: &published,
            };
            kinds::plugin(kind).provision(&target, events).await?;
            Ok(())
        }
        .await;
        events.emit(match &result {
            Ok(()) => Event::Ready {
                service: service.name.clone(),
                after: started.elapsed(),
            },
            Err(_) => Event::Failed {
                service: service.name.clone(),
            },
        });
        outcomes.push(ProvisionOutcome {
            service: service.name.clone(),
            result,
        });
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip_through_their_fields() {
        let all = [
            (
                Kind::Mysql,
                Credentials::Mysql {
                    user: "u".into(),
                    password: "p".into(),
                    database: "d".into(),
                },
            ),
            (
                Kind::Rabbitmq,
                Credentials::Rabbitmq {
                    user: "u".into(),
                    password: "p".into(),
                    vhost: "v".into(),
                },
            ),
            (
                Kind::Redis,
                Credentials::Redis {
                    password: Some("p".into()),
                },
            ),
            (Kind::Redis, Credentials::Redis { password: None }),
            (
                Kind::S3,
                Credentials::S3 {
                    access_key: "a".into(),
                    secret_key: "s".into(),
                    region: S3_REGION.into(),
                },
            ),
        ];
        for (kind, credentials) in all {
            assert_eq!(CredentialFields::from(&credentials).credentials(kind), Ok(credentials));
        }
    }

    #[test]
    fn missing_fields_are_named_and_rabbitmq_defaults_to_guest() {
        let error = CredentialFields::default().credentials(Kind::Mysql).unwrap_err();
        assert!(error.contains("--user (FLOWINFRA_USER)"), "{error}");
        assert_eq!(
            CredentialFields::default().credentials(Kind::Rabbitmq),
            Ok(Credentials::Rabbitmq {
                user: "guest".into(),
                password: "guest".into(),
                vhost: "/".into()
            })
        );
    }

    #[tokio::test]
    async fn a_name_that_resolves_is_ready_and_one_that_does_not_times_out() {
        let addresses = wait_until_resolves("local", "localhost", Duration::from_secs(2))
            .await
            .unwrap();
        assert!(addresses.iter().any(|address| address.is_loopback()), "{addresses:?}");
        // `.invalid` never resolves (RFC 2606).
        let error = wait_until_resolves("api", "api-headless.invalid", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("api: api-headless.invalid did not resolve after 300ms (no ready pod behind it): "),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_wait_on_nothing_listening_times_out_with_the_last_reason() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port,
        };
        let error = wait_until_ready(
            "cache",
            Kind::Redis,
            &endpoint,
            &Credentials::Redis { password: None },
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "cache (redis at 127.0.0.1:{port}) was not ready after 300ms: "
            )),
            "{text}"
        );
    }
}
