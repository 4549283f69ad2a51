//! Kinds: the services flowinfra speaks to in their own protocol — MySQL,
//! RabbitMQ, Redis and S3 — how it decides that one is ready, and what it
//! provisions in it once it is.
//!
//! From a spec [`Service`], [`credentials`] and [`endpoint`] work out (purely)
//! who to log in as and where; [`probe`] makes one readiness attempt over the
//! real protocol and says either ready ([`ProbeSuccess`]), not yet
//! ([`ProbeError::NotReady`]) or never with these credentials
//! ([`ProbeError::CredentialsRefused`]). Retrying, back-off and deadlines are
//! the caller's.
//!
//! [`provision`] then applies the service's `x-flowinfra` declarations:
//! RabbitMQ's exchanges, queues and bindings, S3's buckets and their
//! policies ([`bucket_policy`] builds the documents, purely).
//!
//! A TCP connect is never readiness: Docker's userland proxy accepts on a
//! published port before anything listens inside, then resets. Every probe
//! completes its protocol's handshake and one request.
//!
//! Each kind's client crate is imported by its module only: `rabbitmq.rs`
//! (lapin, and reqwest for the management API), `redis.rs` (redis), `s3.rs`
//! (rust-s3); MySQL's probe lives with the rest of sqlx in [`crate::mysql`].

pub mod bucket_policy;
mod provision;
mod rabbitmq;
mod redis;
mod s3;

pub use provision::{ProvisionError, ProvisionReport, QueueConflict, RABBITMQ_MANAGEMENT_PORT, provision, verify};

use std::fmt;
use std::time::Duration;

use crate::spec::{Kind, KindSettings, Service, format_duration};

/// Where this machine reaches a service: a loopback (or the spec's) address
/// and the host port publishing the kind's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// An IP address or host name; IPv6 addresses without brackets.
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// `host:port`, with brackets around an IPv6 address, as URLs need it.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

/// Who a probe logs in as, read from the service's spec the way the
/// official images read it. Validation guarantees the variables a kind
/// needs. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The application user (`MYSQL_USER`/`MYSQL_PASSWORD`) on
    /// `MYSQL_DATABASE`: the image creates them before it accepts TCP
    /// connections, so their login is the readiness signal.
    Mysql {
        user: String,
        password: String,
        database: String,
    },
    /// `RABBITMQ_DEFAULT_USER`/`_PASS` (the image's `guest`/`guest` when
    /// unset) on the `x-flowinfra` vhost.
    Rabbitmq {
        user: String,
        password: String,
        vhost: String,
    },
    /// The `--requirepass` argument of the service's `redis-server` command.
    Redis { password: Option<String> },
    /// `MINIO_ROOT_USER`/`MINIO_ROOT_PASSWORD`, signing for [`S3_REGION`].
    S3 {
        access_key: String,
        secret_key: String,
        region: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HIDDEN: &str = "<redacted>";
        match self {
            Credentials::Mysql { user, database, .. } => f
                .debug_struct("Mysql")
                .field("user", user)
                .field("password", &HIDDEN)
                .field("database", database)
                .finish(),
            Credentials::Rabbitmq { user, vhost, .. } => f
                .debug_struct("Rabbitmq")
                .field("user", user)
                .field("password", &HIDDEN)
                .field("vhost", vhost)
                .finish(),
            Credentials::Redis { password } => f
                .debug_struct("Redis")
                .field("password", &password.as_ref().map(|_| HIDDEN))
                .finish(),
            Credentials::S3 { access_key, region, .. } => f
                .debug_struct("S3")
                .field("access_key", access_key)
                .field("secret_key", &HIDDEN)
                .field("region", region)
                .finish(),
        }
    }
}

/// The region S3 requests are signed for; MinIO's default.
pub const S3_REGION: &str = "us-east-1";

/// The credentials a probe of `service` logs in with; `None` for a plain
/// service, or when a variable its kind needs is missing (validation
/// reports that first).
pub fn credentials(service: &Service) -> Option<Credentials> {
    let settings = &service.flowinfra.as_ref()?.settings;
    let env = |name: &str| service.environment.get(name).filter(|value| !value.is_empty()).cloned();
    match settings {
        KindSettings::Mysql(_) => Some(Credentials::Mysql {
            user: env("MYSQL_USER")?,
            password: env("MYSQL_PASSWORD")?,
            database: env("MYSQL_DATABASE")?,
        }),
        KindSettings::Rabbitmq(rabbitmq) => Some(Credentials::Rabbitmq {
            user: env("RABBITMQ_DEFAULT_USER").unwrap_or_else(|| "guest".into()),
            password: env("RABBITMQ_DEFAULT_PASS").unwrap_or_else(|| "guest".into()),
            vhost: rabbitmq.vhost.clone(),
        }),
        KindSettings::Redis(_) => Some(Credentials::Redis {
            password: service.command.as_deref().and_then(redis_requirepass),
        }),
        KindSettings::S3(_) => Some(Credentials::S3 {
            access_key: env("MINIO_ROOT_USER")?,
            secret_key: env("MINIO_ROOT_PASSWORD")?,
            region: S3_REGION.into(),
        }),
    }
}

/// The password a `redis-server` command line sets: the last
/// `--requirepass X` or `--requirepass=X` (redis applies its arguments in
/// order). An empty value means no password, as in redis.
fn redis_requirepass(command: &[String]) -> Option<String> {
    let mut password = None;
    let mut arguments = command.iter();
    while let Some(argument) = arguments.next() {
        let Some(option) = argument.strip_prefix("--") else {
            continue;
        };
        let (name, inline_value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (option, None),
        };
        // Redis reads configuration directives case-insensitively.
        if name.eq_ignore_ascii_case("requirepass") {
            password = inline_value.or_else(|| arguments.next().cloned());
        }
    }
    password.filter(|password| !password.is_empty())
}

/// Where a probe of `service` connects, when the spec fixes the host port
/// publishing [`Kind::default_port`]. `None` for a plain service, when the
/// spec does not publish that port, or when the engine picks the host port:
/// then ask the engine for it and use [`endpoint_with_port`].
pub fn endpoint(service: &Service) -> Option<Endpoint> {
    let port = service.published_port(service.kind()?.default_port())?;
    endpoint_with_port(service, port.host_port.filter(|&port| port != 0)?)
}

/// Where a probe of `service` connects, given the host port that publishes
/// [`Kind::default_port`] (as the engine reports it). The address is the
/// spec's, with a wildcard bind reached on loopback. `None` for a plain
/// service or when the spec does not publish that port.
pub fn endpoint_with_port(service: &Service, host_port: u16) -> Option<Endpoint> {
    let port = service.published_port(service.kind()?.default_port())?;
    Some(Endpoint {
        host: reachable_host(&port.host_ip),
        port: host_port,
    })
}

/// The address that reaches a port bound on `host_ip`: loopback for the
/// wildcards (`::1` for `::`, since an IPv6-only bind is not reached on
/// 127.0.0.1 where `net.ipv6.bindv6only` is set), the address itself
/// otherwise.
fn reachable_host(host_ip: &str) -> String {
    match host_ip {
        "" | "0.0.0.0" => "127.0.0.1".into(),
        "::" => "::1".into(),
        other => other.into(),
    }
}

/// A successful readiness attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSuccess {
    /// What the server says it is, e.g. `10.11.6-MariaDB-0+deb12u1`,
    /// `redis 7.0.15`, or an S3 server's `Server` header. `None` when the
    /// protocol does not say (RabbitMQ: lapin keeps the server properties to
    /// itself).
    pub server_version: Option<String>,
}

/// Why a readiness attempt failed. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Not ready yet: refused or reset, handshake cut short, no answer in
    /// time, still loading or initialising, a 5xx... Try again.
    #[error("not ready: {0}")]
    NotReady(String),
    /// The server answered and refused these credentials (or the database,
    /// vhost or host they are for). Waiting will not change that: the data
    /// was most likely initialised with other settings.
    #[error("credentials were refused: {0}")]
    CredentialsRefused(String),
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
    let attempt = async {
        match (kind, credentials) {
            (
                Kind::Mysql,
                Credentials::Mysql {
                    user,
                    password,
                    database,
                },
            ) => crate::mysql::probe(endpoint, user, password, database).await,
            (Kind::Rabbitmq, Credentials::Rabbitmq { user, password, vhost }) => {
                rabbitmq::probe(endpoint, user, password, vhost).await
            }
            (Kind::Redis, Credentials::Redis { password }) => {
                redis::probe(endpoint, password.as_deref(), attempt_timeout).await
            }
            (
                Kind::S3,
                Credentials::S3 {
                    access_key,
                    secret_key,
                    region,
                },
            ) => s3::probe(endpoint, access_key, secret_key, region, attempt_timeout).await,
            (kind, credentials) => panic!("a {} probe was given {credentials:?}", kind.as_str()),
        }
    };
    match tokio::time::timeout(attempt_timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Err(ProbeError::NotReady(format!(
            "no complete answer from {endpoint} within {}",
            format_duration(attempt_timeout)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{LoadOptions, load};

    /// The services of a spec file, loaded as `flowinfra` loads it.
    fn services(yaml: &str) -> std::collections::BTreeMap<String, Service> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stack.yaml"), yaml).unwrap();
        let options = LoadOptions {
            files: vec!["stack.yaml".into()],
            working_dir: dir.path().to_path_buf(),
            ..LoadOptions::default()
        };
        load(&options)
            .unwrap_or_else(|error| panic!("spec should load:\n{error}"))
            .spec
            .services
    }

    fn service(yaml: &str) -> Service {
        services(yaml).into_values().next().unwrap()
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
    fn redis_requirepass_accepts_both_argument_forms_and_the_last_one_wins() {
        let args = |line: &str| line.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            redis_requirepass(&args("redis-server --requirepass=a")),
            Some("a".into())
        );
        assert_eq!(
            redis_requirepass(&args("redis-server --requirepass a --requirepass=b")),
            Some("b".into())
        );
        assert_eq!(
            redis_requirepass(&args("redis-server --REQUIREPASS c")),
            Some("c".into())
        );
        assert_eq!(
            redis_requirepass(&args("redis-server --requirepass a --requirepass=")),
            None
        );
        assert_eq!(redis_requirepass(&args("redis-server --appendonly yes")), None);
        assert_eq!(redis_requirepass(&args("redis-server --requirepass")), None);
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

    #[test]
    fn plain_services_have_no_credentials_and_no_endpoint() {
        let web = service("services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n");
        assert_eq!(credentials(&web), None);
        assert_eq!(endpoint(&web), None);
        assert_eq!(endpoint_with_port(&web, 8080), None);
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
    fn endpoint_is_the_published_host_port_of_the_kind_port() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['127.0.0.1:16379:6379', '127.0.0.1:18001:8001']\n    \
             x-flowinfra: { kind: redis }\n",
        );
        assert_eq!(
            endpoint(&redis),
            Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 16379
            })
        );
    }

    #[test]
    fn endpoint_reaches_wildcard_binds_on_loopback() {
        let specs = services(
            "services:\n  any4:\n    image: redis:7\n    ports: ['0.0.0.0:16379:6379']\n    x-flowinfra: { kind: redis }\n  \
             any6:\n    image: redis:7\n    ports: ['[::]:16380:6379']\n    x-flowinfra: { kind: redis }\n  \
             local6:\n    image: redis:7\n    ports: ['[::1]:16381:6379']\n    x-flowinfra: { kind: redis }\n",
        );
        let host = |name: &str| endpoint(&specs[name]).unwrap().host;
        assert_eq!(host("any4"), "127.0.0.1");
        assert_eq!(host("any6"), "::1");
        assert_eq!(host("local6"), "::1");
        assert_eq!(endpoint(&specs["local6"]).unwrap().authority(), "[::1]:16381");
    }

    #[test]
    fn endpoint_of_an_ephemeral_host_port_waits_for_the_engine() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['127.0.0.1::6379']\n    x-flowinfra: { kind: redis }\n",
        );
        assert_eq!(endpoint(&redis), None);
        assert_eq!(
            endpoint_with_port(&redis, 49153),
            Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 49153
            })
        );
    }

    #[test]
    fn endpoint_is_none_when_the_kind_port_is_not_published() {
        let mut redis = service(
            "services:\n  cache:\n    image: redis:7\n    ports: ['6379:6379']\n    x-flowinfra: { kind: redis }\n",
        );
        // Validation insists on it; a service built otherwise may still lack it.
        redis.ports.clear();
        assert_eq!(endpoint(&redis), None);
        assert_eq!(endpoint_with_port(&redis, 6379), None);
    }
}
