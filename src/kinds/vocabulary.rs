//! The words every kind and its callers share: where a service is reached
//! ([`Endpoint`], [`published_endpoint`]), who logs in ([`Credentials`]),
//! what a probe, a provisioning and a verification return. A leaf: it
//! imports no kind, so each kind and the code that calls kinds depend on it
//! and not on each other.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use futures_util::future::BoxFuture;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::engine::{Protocol, PublishedPort};

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
        authority(&self.host, &self.port.to_string())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

/// `host:port`, with brackets around an IPv6 address.
pub fn authority(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Where this machine reaches `container_port` of a container that
/// publishes `published` (as the engine reports it, so ephemeral host ports
/// work). `None` when that port is not published over TCP.
pub fn published_endpoint(published: &[PublishedPort], container_port: u16) -> Option<Endpoint> {
    published
        .iter()
        .find(|port| port.container_port == container_port && port.protocol == Protocol::Tcp)
        .map(|port| Endpoint {
            host: reachable_host(&port.host_ip),
            port: port.host_port,
        })
}

/// The address that reaches a port bound on `host_ip`: loopback for the
/// wildcards (`::1` for `::`, since an IPv6-only bind is not reached on
/// 127.0.0.1 where `net.ipv6.bindv6only` is set), the address itself
/// otherwise.
pub fn reachable_host(host_ip: &str) -> String {
    match host_ip {
        "" | "0.0.0.0" => "127.0.0.1".into(),
        "::" => "::1".into(),
        other => other.into(),
    }
}

/// Who a kind logs in as, read from the service's spec the way the
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
    /// `POSTGRES_USER` (default `postgres`) with `POSTGRES_PASSWORD` on
    /// `POSTGRES_DB` (default the user): the image creates them on its
    /// socket-only first-start server, so a TCP login is the readiness signal.
    Postgres {
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
    /// `MINIO_ROOT_USER`/`MINIO_ROOT_PASSWORD`, signing for a region.
    S3 {
        access_key: String,
        secret_key: String,
        region: String,
    },
}

impl Credentials {
    /// The user, password and database of a database kind's credentials.
    pub fn database_login(&self) -> Option<(&str, &str, &str)> {
        match self {
            Credentials::Mysql {
                user,
                password,
                database,
            }
            | Credentials::Postgres {
                user,
                password,
                database,
            } => Some((user, password, database)),
            _ => None,
        }
    }
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
            Credentials::Postgres { user, database, .. } => f
                .debug_struct("Postgres")
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

/// What provisioning did, one line's worth ([`crate::report`] words it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionReport {
    /// RabbitMQ: everything the spec declares now exists on `vhost`.
    Topology {
        vhost: String,
        exchanges: usize,
        queues: usize,
        bindings: usize,
    },
    /// S3: every declared bucket exists with its declared policy.
    Buckets {
        ready: usize,
        created: usize,
        policies_set: usize,
        policies_removed: usize,
    },
}

/// What to do when credentials that a volume was initialised with no longer match.
pub const CREDENTIALS_HINT: &str = "check the passwords in .env against the ones the service's volume was initialised with; \
                                    `flowinfra down -v` resets the data (and loses it)";

/// Why provisioning failed. Messages name the object and never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    /// An object exists with other settings than declared, and flowinfra
    /// never deletes one (a RabbitMQ queue's arguments, an exchange's type).
    #[error("{description}")]
    Conflict { description: String, hint: String },
    /// The server refused the service's credentials (or their permissions).
    #[error("the credentials were refused: {0}")]
    CredentialsRefused(String),
    /// `what` was being done, `reason` is what the server or the network said.
    #[error("{what} failed: {reason}")]
    Failed { what: String, reason: String },
    /// Several declarations failed; each is listed.
    #[error("{} declarations failed:{}", .0.len(), .0.iter().map(|error| format!("\n  - {error}")).collect::<String>())]
    Several(Vec<ProvisionError>),
    /// A failure the kind's own library describes, with its causes, on one line.
    #[error("{0}")]
    Described(String),
}

impl ProvisionError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ProvisionError::Conflict { hint, .. } => Some(hint.clone()),
            ProvisionError::CredentialsRefused(_) => Some(CREDENTIALS_HINT.into()),
            ProvisionError::Failed { .. } | ProvisionError::Described(_) => None,
            ProvisionError::Several(errors) => errors.iter().find_map(ProvisionError::hint),
        }
    }
}

/// A verdict's grade, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

/// What one check found, before `check` adds its name and timing.
pub struct Verdict {
    pub status: Status,
    pub reason: String,
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Verdict {
    fn new(status: Status, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            details: BTreeMap::new(),
        }
    }
    pub fn ok(reason: impl Into<String>) -> Self {
        Self::new(Status::Ok, reason)
    }
    pub fn warn(reason: impl Into<String>) -> Self {
        Self::new(Status::Warn, reason)
    }
    pub fn fail(reason: impl Into<String>) -> Self {
        Self::new(Status::Fail, reason)
    }
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::new(Status::Skipped, reason)
    }
    pub fn detail(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(name.to_string(), value.into());
        self
    }
}

/// A kind's check of what it provisioned (`migrations`, `queues`, …), for `check` to run.
pub struct Verification {
    /// The check's name in `check`'s output.
    pub check: &'static str,
    pub body: BoxFuture<'static, Verdict>,
}

impl Verification {
    pub fn new(check: &'static str, body: impl Future<Output = Verdict> + Send + 'static) -> Self {
        Self {
            check,
            body: Box::pin(body),
        }
    }
}

/// Where a consumer reaches a service, as `env` writes it. `port` is empty
/// when the engine picks the host port (only known once the container runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerAddress {
    pub host: String,
    pub port: String,
    /// `host:port`, IPv6 hosts in brackets.
    pub authority: String,
}

/// Characters left as they are in URL user info; everything else is escaped.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` percent-encoded for the user-info or path part of a URL.
pub fn url_encode(text: &str) -> String {
    utf8_percent_encode(text, USERINFO).to_string()
}
