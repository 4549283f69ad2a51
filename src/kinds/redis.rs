//! Redis readiness: `AUTH` when the spec sets a password, then `PING`
//! answers `PONG` (not `-LOADING`). The only module that imports redis.

use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, ConnectionAddr, ErrorKind, RedisError, ServerErrorKind};

use super::{Endpoint, ProbeError, ProbeSuccess};
use crate::error::error_chain;

/// One attempt. AUTH is sent here rather than by the client's connection
/// set-up so that its answer is classified like any other: redis-rs folds
/// set-up failures into less specific errors.
pub(super) async fn probe(
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
