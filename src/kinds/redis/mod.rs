//! The Redis kind. Credentials: the `--requirepass` of the service's
//! `redis-server` command. Readiness: `AUTH` when the spec sets a password,
//! then `PING` answers `PONG` (not `-LOADING`). Nothing to provision or
//! verify beyond the protocol. The only module that imports redis.

use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, ConnectionAddr, ErrorKind, RedisError, ServerErrorKind};
use futures_util::future::BoxFuture;

use super::vocabulary::url_encode;
use super::{ConsumerAddress, Credentials, Endpoint, KindPlugin, ProbeError, ProbeSuccess, wrong_credentials};
use crate::error::error_chain;
use crate::spec::{Kind, KindSettings, Service};

/// The Redis kind, as registered in [`super::PLUGINS`].
pub(super) struct Redis;

impl KindPlugin for Redis {
    fn kind(&self) -> Kind {
        Kind::Redis
    }

    fn credentials(&self, service: &Service) -> Option<Credentials> {
        Some(Credentials::Redis {
            password: service.command.as_deref().and_then(requirepass),
        })
    }

    fn probe<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        credentials: &'a Credentials,
        attempt_timeout: Duration,
    ) -> BoxFuture<'a, Result<ProbeSuccess, ProbeError>> {
        let Credentials::Redis { password } = credentials else {
            wrong_credentials(self.kind(), credentials)
        };
        Box::pin(probe(endpoint, password.as_deref(), attempt_timeout))
    }

    fn consumer_settings(
        &self,
        service: &Service,
        credentials: Credentials,
        address: &ConsumerAddress,
    ) -> Vec<(&'static str, String)> {
        let Credentials::Redis { password } = credentials else {
            wrong_credentials(self.kind(), &credentials)
        };
        let database = match service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()) {
            Some(KindSettings::Redis(settings)) => settings.databases.first().copied().unwrap_or(0),
            _ => 0,
        };
        let auth = password
            .as_deref()
            .map(|p| format!(":{}@", url_encode(p)))
            .unwrap_or_default();
        vec![
            ("REDIS_URL", format!("redis://{auth}{}/{database}", address.authority)),
            ("REDIS_HOST", address.host.clone()),
            ("REDIS_PORT", address.port.clone()),
            ("REDIS_PASSWORD", password.unwrap_or_default()),
            ("REDIS_DB", database.to_string()),
        ]
    }
}

/// The password a `redis-server` command line sets: the last
/// `--requirepass X` or `--requirepass=X` (redis applies its arguments in
/// order). An empty value means no password, as in redis.
fn requirepass(command: &[String]) -> Option<String> {
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

/// One attempt. AUTH is sent here rather than by the client's connection
/// set-up so that its answer is classified like any other: redis-rs folds
/// set-up failures into less specific errors.
async fn probe(
    endpoint: &Endpoint,
    password: Option<&str>,
    attempt_timeout: Duration,
) -> Result<ProbeSuccess, ProbeError> {
    let client = Client::open(ConnectionAddr::Tcp(endpoint.host.clone(), endpoint.port)).map_err(classify)?;
    // redis-rs's own defaults (1 s to connect, 0.5 s per response) would cut
    // the attempt shorter than the caller asked for.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(attempt_timeout))
        .set_response_timeout(Some(attempt_timeout));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(classify)?;
    if let Some(password) = password {
        ::redis::cmd("AUTH")
            .arg(password)
            .query_async::<()>(&mut connection)
            .await
            .map_err(classify)?;
    }
    let pong: String = ::redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .map_err(classify)?;
    if pong != "PONG" {
        return Err(ProbeError::NotReady(format!("PING answered {pong:?}")));
    }
    Ok(ProbeSuccess {
        server_version: server_version(&mut connection).await,
    })
}

/// `redis <redis_version>` from `INFO server`; `None` if the server keeps it
/// to itself (INFO can be renamed or denied by ACLs).
async fn server_version(connection: &mut MultiplexedConnection) -> Option<String> {
    let info: String = ::redis::cmd("INFO").arg("server").query_async(connection).await.ok()?;
    version_from_info(&info)
}

fn version_from_info(info: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.trim_end().strip_prefix("redis_version:"))
        .map(|version| format!("redis {version}"))
}

/// `LOADING` (a dataset still loading) and every transport failure mean "not
/// yet". WRONGPASS (bad password), NOAUTH (a password is required and the
/// spec has none), NOPERM (the user may not PING) and AUTH against a server
/// without a password are refusals.
fn classify(error: RedisError) -> ProbeError {
    let message = error_chain(&error);
    if error.kind() == ErrorKind::Server(ServerErrorKind::BusyLoading) {
        return ProbeError::NotReady(message);
    }
    let refused = error.kind() == ErrorKind::AuthenticationFailed
        || matches!(error.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
        || error
            .detail()
            .is_some_and(|detail| detail.contains("without any password configured"));
    if refused {
        ProbeError::CredentialsRefused(message)
    } else {
        ProbeError::NotReady(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_requirepass_accepts_both_argument_forms_and_the_last_one_wins() {
        let args = |line: &str| line.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(requirepass(&args("redis-server --requirepass=a")), Some("a".into()));
        assert_eq!(
            requirepass(&args("redis-server --requirepass a --requirepass=b")),
            Some("b".into())
        );
        assert_eq!(requirepass(&args("redis-server --REQUIREPASS c")), Some("c".into()));
        assert_eq!(requirepass(&args("redis-server --requirepass a --requirepass=")), None);
        assert_eq!(requirepass(&args("redis-server --appendonly yes")), None);
        assert_eq!(requirepass(&args("redis-server --requirepass")), None);
    }

    #[test]
    fn version_comes_from_the_redis_version_line() {
        let info = "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n";
        assert_eq!(version_from_info(info), Some("redis 7.0.15".into()));
        assert_eq!(version_from_info("# Server\r\n"), None);
    }

    #[test]
    fn loading_is_not_ready_and_auth_failures_are_refusals() {
        let loading = RedisError::from((
            ErrorKind::Server(ServerErrorKind::BusyLoading),
            "Redis is loading the dataset in memory",
        ));
        assert!(matches!(classify(loading), ProbeError::NotReady(_)));
        let auth = RedisError::from((ErrorKind::AuthenticationFailed, "Password authentication failed"));
        assert!(matches!(classify(auth), ProbeError::CredentialsRefused(_)));
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(matches!(classify(io), ProbeError::NotReady(_)));
    }
}
