//! Kinds: the services flowinfra speaks to in their own protocol — MySQL,
//! PostgreSQL, RabbitMQ, Redis and S3. Each kind is one folder that knows, for a spec
//! [`Service`] of its kind, everything flowinfra does with it: its
//! credentials, its readiness probe, what `up` provisions in it, what
//! `check` verifies, and the settings `env` gives its consumers. This
//! module registers them ([`PLUGINS`]) and dispatches to them; the words
//! they share live in [`vocabulary`], which imports no kind.
//!
//! A TCP connect is never readiness: Docker's userland proxy accepts on a
//! published port before anything listens inside, then resets. Every probe
//! completes its protocol's handshake and one request. Retrying, back-off
//! and deadlines are the caller's.
//!
//! Each kind's client crate is imported by its folder only: `rabbitmq/`
//! (lapin, and reqwest for the management API), `redis/` (redis), `s3/`
//! (rust-s3). MySQL's kind drives [`crate::mysql`], the database library
//! that holds sqlx's MySQL driver; PostgreSQL's drives [`crate::postgres`].

mod database;
mod mysql;
mod postgres;
mod rabbitmq;
mod redis;
mod s3;
pub mod vocabulary;

pub use mysql::open_database;
pub use postgres::open_databases as open_postgres_databases;
pub use rabbitmq::RABBITMQ_MANAGEMENT_PORT;
pub use s3::{S3_REGION, backends as s3_backends, bucket_policy};
pub use vocabulary::{
    ConsumerAddress, Credentials, Endpoint, ProbeError, ProbeSuccess, ProvisionError, ProvisionReport, Status, Verdict,
    Verification, published_endpoint,
};

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::engine::PublishedPort;
use crate::events::EventSink;
use crate::spec::{Kind, Service, format_duration};

/// Everything flowinfra does with one kind of service. Implemented once per
/// kind folder and registered in [`PLUGINS`].
pub trait KindPlugin: Send + Sync {
    /// The spec's kind this plugin serves.
    fn kind(&self) -> Kind;

    /// Who `service` logs in as, read from its spec as the official image
    /// reads it; `None` when a variable the kind needs is missing
    /// (validation reports that first).
    fn credentials(&self, service: &Service) -> Option<Credentials>;

    /// One readiness attempt over the kind's protocol. The caller bounds it
    /// in time; `credentials` are this kind's.
    fn probe<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        credentials: &'a Credentials,
        attempt_timeout: Duration,
    ) -> BoxFuture<'a, Result<ProbeSuccess, ProbeError>>;

    /// What `up` applies once the service is ready (migrations and seed,
    /// topology, buckets), reporting progress as events. Nothing by default.
    fn provision<'a>(
        &'a self,
        _target: &'a Target<'a>,
        _events: &'a dyn EventSink,
    ) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async { Ok(()) })
    }

    /// The checks `check` runs on what this kind provisions. None by default.
    fn verifications(&self, _target: &Target<'_>) -> Vec<Verification> {
        Vec::new()
    }

    /// The settings `env` gives the services that consume this one, by name.
    fn consumer_settings(
        &self,
        service: &Service,
        credentials: Credentials,
        address: &ConsumerAddress,
    ) -> Vec<(&'static str, String)>;
}

/// Every kind flowinfra supports. A new kind is a folder under `kinds/`
/// and one line here.
pub const PLUGINS: &[&dyn KindPlugin] = &[
    &mysql::Mysql,
    &postgres::Postgres,
    &rabbitmq::Rabbitmq,
    &redis::Redis,
    &s3::S3,
];

/// The plugin serving `kind`.
pub fn plugin(kind: Kind) -> &'static dyn KindPlugin {
    *PLUGINS
        .iter()
        .find(|plugin| plugin.kind() == kind)
        .unwrap_or_else(|| panic!("kind {} has no plugin in kinds::PLUGINS", kind.as_str()))
}

/// A kind's service as its running container shows it: who to log in as,
/// and where. What provisioning and verification work on.
pub struct Target<'a> {
    pub service: &'a Service,
    pub credentials: Credentials,
    /// Where the kind's port ([`Kind::default_port`]) is reached.
    pub endpoint: Endpoint,
    /// Every port the container publishes (some kinds use more than one).
    pub published: &'a [PublishedPort],
}

impl<'a> Target<'a> {
    /// `None` for a plain service, when a credential is missing, or when the
    /// container does not publish the kind's port.
    pub fn new(service: &'a Service, published: &'a [PublishedPort]) -> Option<Target<'a>> {
        Some(Target {
            service,
            credentials: credentials(service)?,
            endpoint: endpoint(service, published)?,
            published,
        })
    }
}

/// The credentials a probe of `service` logs in with; `None` for a plain
/// service, or when a variable its kind needs is missing.
pub fn credentials(service: &Service) -> Option<Credentials> {
    plugin(service.kind()?).credentials(service)
}

/// Where this machine reaches `service`'s kind port, given the ports its
/// container publishes (as the engine reports them). `None` for a plain
/// service or when the port is not published.
pub fn endpoint(service: &Service, published: &[PublishedPort]) -> Option<Endpoint> {
    published_endpoint(published, service.kind()?.default_port())
}

/// Where a consumer reaches `service` according to its spec alone (`env`
/// runs without the engine): the spec's address, a wildcard bind reached on
/// loopback. `None` for a plain service, when the spec does not publish the
/// kind port, or when the engine picks the host port.
pub fn spec_endpoint(service: &Service) -> Option<Endpoint> {
    let port = service.published_port(service.kind()?.default_port())?;
    Some(Endpoint {
        host: vocabulary::reachable_host(&port.host_ip),
        port: port.host_port.filter(|&port| port != 0)?,
    })
}

/// Makes one readiness attempt against `endpoint`, bounded by
/// `attempt_timeout` (running out of it is [`ProbeError::NotReady`]).
///
/// # Panics
///
/// When `credentials` are not of `kind`: both come from the same service.
pub async fn probe(
    kind: Kind,
    endpoint: &Endpoint,
    credentials: &Credentials,
    attempt_timeout: Duration,
) -> Result<ProbeSuccess, ProbeError> {
    let attempt = plugin(kind).probe(endpoint, credentials, attempt_timeout);
    match tokio::time::timeout(attempt_timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Err(ProbeError::NotReady(format!(
            "no complete answer from {endpoint} within {}",
            format_duration(attempt_timeout)
        ))),
    }
}

/// Applies what `service`'s `x-flowinfra` declares once it is ready.
/// Nothing for plain services.
pub async fn provision(
    service: &Service,
    published: &[PublishedPort],
    events: &dyn EventSink,
) -> Result<(), ProvisionError> {
    match Target::new(service, published) {
        Some(target) => {
            plugin(target.service.kind().expect("a target has a kind"))
                .provision(&target, events)
                .await
        }
        None => Ok(()),
    }
}

/// The checks of what `service`'s kind provisioned, for a running container.
pub fn verifications(service: &Service, published: &[PublishedPort]) -> Vec<Verification> {
    match Target::new(service, published) {
        Some(target) => plugin(target.service.kind().expect("a target has a kind")).verifications(&target),
        None => Vec::new(),
    }
}

/// The settings `env` gives consumers of `service`; empty for a plain service.
pub fn consumer_settings(service: &Service) -> Vec<(String, String)> {
    let (Some(kind), Some(credentials)) = (service.kind(), credentials(service)) else {
        return Vec::new();
    };
    let (host, port) = match spec_endpoint(service) {
        Some(endpoint) => (endpoint.host, endpoint.port.to_string()),
        // An ephemeral host port is only known once the container runs.
        None => ("127.0.0.1".to_string(), String::new()),
    };
    let address = ConsumerAddress {
        authority: vocabulary::authority(&host, &port),
        host,
        port,
    };
    plugin(kind)
        .consumer_settings(service, credentials, &address)
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// The value of environment variable `name` in `service`'s spec; an empty
/// value counts as unset, as the official images treat it.
fn variable(service: &Service, name: &str) -> Option<String> {
    service.environment.get(name).filter(|value| !value.is_empty()).cloned()
}

/// A kind was handed another kind's credentials: a bug, both come from one service.
fn wrong_credentials(kind: Kind, credentials: &Credentials) -> ! {
    panic!("a {} operation was given {credentials:?}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Protocol;
    use crate::testing::{service, services};

    #[test]
    fn every_kind_has_exactly_one_plugin() {
        for kind in Kind::ALL {
            assert_eq!(
                PLUGINS.iter().filter(|plugin| plugin.kind() == kind).count(),
                1,
                "{}",
                kind.as_str()
            );
        }
        assert_eq!(PLUGINS.len(), Kind::ALL.len());
    }

    #[test]
    fn mysql_credentials_are_the_application_user_on_its_database() {
        let mysql = service(
            "services:\n  db:\n    image: mysql:8.4\n    ports: ['3306:3306']\n    environment:\n      MYSQL_ROOT_PASSWORD: root-secret\n      \
             MYSQL_DATABASE: app\n      MYSQL_USER: app_user\n      MYSQL_PASSWORD: app-secret\n    \
             x-flowinfra: { kind: mysql }\n",
        );
        assert_eq!(
            credentials(&mysql),
            Some(Credentials::Mysql {
                user: "app_user".into(),
                password: "app-secret".into(),
                database: "app".into(),
            })
        );
    }

    #[test]
    fn rabbitmq_credentials_default_to_guest_on_the_root_vhost() {
        let rabbitmq = service(
            "services:\n  mq:\n    image: rabbitmq:3.12\n    ports: ['5672:5672']\n    x-flowinfra: { kind: rabbitmq }\n",
        );
        assert_eq!(
            credentials(&rabbitmq),
            Some(Credentials::Rabbitmq {
                user: "guest".into(),
                password: "guest".into(),
                vhost: "/".into(),
            })
        );
    }

    #[test]
    fn rabbitmq_credentials_use_the_default_user_and_the_configured_vhost() {
        let rabbitmq = service(
            "services:\n  mq:\n    image: rabbitmq:3.12\n    ports: ['5672:5672']\n    environment:\n      RABBITMQ_DEFAULT_USER: admin\n      \
             RABBITMQ_DEFAULT_PASS: mq-secret\n    x-flowinfra: { kind: rabbitmq, vhost: orders }\n",
        );
        assert_eq!(
            credentials(&rabbitmq),
            Some(Credentials::Rabbitmq {
                user: "admin".into(),
                password: "mq-secret".into(),
                vhost: "orders".into(),
            })
        );
    }

    #[test]
    fn redis_password_comes_from_requirepass_in_the_command() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['6379:6379']\n    command: redis-server --requirepass s3cret --appendonly yes\n    \
             x-flowinfra: { kind: redis }\n",
        );
        assert_eq!(
            credentials(&redis),
            Some(Credentials::Redis {
                password: Some("s3cret".into())
            })
        );
    }

    #[test]
    fn redis_without_a_command_has_no_password() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['6379:6379']\n    x-flowinfra: { kind: redis }\n",
        );
        assert_eq!(credentials(&redis), Some(Credentials::Redis { password: None }));
    }

    #[test]
    fn s3_credentials_are_the_minio_root_user_in_us_east_1() {
        let minio = service(
            "services:\n  s3:\n    image: minio/minio\n    ports: ['9000:9000']\n    command: server /data\n    environment:\n      \
             MINIO_ROOT_USER: minio-user\n      MINIO_ROOT_PASSWORD: minio-secret\n    x-flowinfra: { kind: s3 }\n",
        );
        assert_eq!(
            credentials(&minio),
            Some(Credentials::S3 {
                access_key: "minio-user".into(),
                secret_key: "minio-secret".into(),
                region: "us-east-1".into(),
            })
        );
    }

    fn published(host_ip: &str, host_port: u16, container_port: u16) -> PublishedPort {
        PublishedPort {
            host_ip: host_ip.into(),
            host_port,
            container_port,
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn plain_services_have_no_credentials_and_no_endpoint() {
        let web = service("services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n");
        assert_eq!(credentials(&web), None);
        assert_eq!(spec_endpoint(&web), None);
        assert_eq!(endpoint(&web, &[published("127.0.0.1", 8080, 80)]), None);
        assert!(consumer_settings(&web).is_empty());
    }

    #[test]
    fn debug_output_hides_passwords() {
        let all = [
            Credentials::Mysql {
                user: "u".into(),
                password: "hunter2".into(),
                database: "d".into(),
            },
            Credentials::Rabbitmq {
                user: "u".into(),
                password: "hunter2".into(),
                vhost: "/".into(),
            },
            Credentials::Redis {
                password: Some("hunter2".into()),
            },
            Credentials::S3 {
                access_key: "u".into(),
                secret_key: "hunter2".into(),
                region: S3_REGION.into(),
            },
        ];
        for credentials in all {
            let text = format!("{credentials:?}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn spec_endpoint_is_the_published_host_port_of_the_kind_port() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['127.0.0.1:16379:6379', '127.0.0.1:18001:8001']\n    \
             x-flowinfra: { kind: redis }\n",
        );
        assert_eq!(
            spec_endpoint(&redis),
            Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 16379
            })
        );
    }

    #[test]
    fn spec_endpoint_reaches_wildcard_binds_on_loopback() {
        let specs = services(
            "services:\n  any4:\n    image: redis:7\n    ports: ['0.0.0.0:16379:6379']\n    x-flowinfra: { kind: redis }\n  \
             any6:\n    image: redis:7\n    ports: ['[::]:16380:6379']\n    x-flowinfra: { kind: redis }\n  \
             local6:\n    image: redis:7\n    ports: ['[::1]:16381:6379']\n    x-flowinfra: { kind: redis }\n",
        );
        let host = |name: &str| spec_endpoint(&specs[name]).unwrap().host;
        assert_eq!(host("any4"), "127.0.0.1");
        assert_eq!(host("any6"), "::1");
        assert_eq!(host("local6"), "::1");
        assert_eq!(spec_endpoint(&specs["local6"]).unwrap().authority(), "[::1]:16381");
    }

    #[test]
    fn an_ephemeral_host_port_is_known_from_the_engine_only() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['127.0.0.1::6379']\n    x-flowinfra: { kind: redis }\n",
        );
        assert_eq!(spec_endpoint(&redis), None);
        assert_eq!(
            endpoint(&redis, &[published("0.0.0.0", 49153, 6379)]),
            Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 49153
            })
        );
        assert_eq!(
            endpoint(&redis, &[published("::", 49154, 6379)]).map(|e| e.authority()),
            Some("[::1]:49154".into())
        );
    }

    #[test]
    fn endpoint_is_none_when_the_kind_port_is_not_published() {
        let mut redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['6379:6379']\n    x-flowinfra: { kind: redis }\n",
        );
        assert_eq!(endpoint(&redis, &[published("127.0.0.1", 18001, 8001)]), None);
        // Validation insists on it; a service built otherwise may still lack it.
        redis.ports.clear();
        assert_eq!(spec_endpoint(&redis), None);
    }
}
