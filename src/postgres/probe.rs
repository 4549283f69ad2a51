//! PostgreSQL readiness: a TCP login as the spec's user on its database and
//! `SELECT 1`; the connect options every connection of flowinfra's uses.
//!
//! On first start the official image runs a temporary server with
//! `listen_addresses=''` (the unix socket only) to create the user and
//! database and run `/docker-entrypoint-initdb.d`, then stops it and starts
//! the real server. A TCP login cannot reach the temporary server, so a
//! successful one means the init scripts are done (the e2e test
//! `the_temporary_init_server_is_not_mistaken_for_readiness` holds us to it).

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgSslMode};

use crate::kinds::vocabulary::{Credentials, Endpoint, ProbeError, ProbeSuccess};

/// SQLSTATEs that answer "who you are, or what you ask for, is refused":
/// they do not heal by waiting, since the entrypoint creates the user and
/// database before the server listens on TCP.
const REFUSALS: &[(&str, &str)] = &[
    ("28P01", "invalid_password"),
    ("28000", "invalid_authorization_specification"),
    ("3D000", "invalid_catalog_name (no such database)"),
    ("42501", "insufficient_privilege"),
];

/// One attempt: connect over TCP, authenticate, `SELECT 1`, read the version, terminate.
pub(crate) async fn probe(endpoint: &Endpoint, credentials: &Credentials) -> Result<ProbeSuccess, ProbeError> {
    crate::mysql::generic::probe::<PgConnection>(
        &connect_options(endpoint, credentials),
        "SHOW server_version",
        classify,
    )
    .await
}

/// TLS is off: flowinfra talks to a container over loopback, and sqlx is
/// built without a TLS backend (`Prefer` would fall back the same way).
pub(super) fn connect_options(endpoint: &Endpoint, credentials: &Credentials) -> PgConnectOptions {
    let (user, password, database) = login(credentials);
    PgConnectOptions::new_without_pgpass()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(user)
        .password(password)
        .database(database)
        .ssl_mode(PgSslMode::Disable)
        .application_name("flowinfra")
        .disable_statement_logging()
}

/// The user, password and database of PostgreSQL credentials.
///
/// # Panics
///
/// When `credentials` are not a database's: callers take them from a postgres-kind service.
pub(crate) fn login(credentials: &Credentials) -> (&str, &str, &str) {
    credentials
        .database_login()
        .unwrap_or_else(|| panic!("PostgreSQL credentials expected, got {credentials:?}"))
}

/// 57P03 cannot_connect_now (starting up or shutting down) and the rest are "not yet".
fn classify(error: sqlx::Error) -> ProbeError {
    let refused = |error: &(dyn sqlx::error::DatabaseError + 'static)| {
        error
            .try_downcast_ref::<PgDatabaseError>()
            .is_some_and(|pg| REFUSALS.iter().any(|(code, _)| *code == pg.code()))
    };
    crate::mysql::generic::classify(error, refused, super::server_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_options_target_the_endpoint_without_tls() {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port: 15432,
        };
        let credentials = Credentials::Postgres {
            user: "app".into(),
            password: "secret".into(),
            database: "appdb".into(),
        };
        let options = connect_options(&endpoint, &credentials);
        assert_eq!(options.get_host(), "127.0.0.1");
        assert_eq!(options.get_port(), 15432);
        assert_eq!(options.get_username(), "app");
        assert_eq!(options.get_database(), Some("appdb"));
        assert!(matches!(options.get_ssl_mode(), PgSslMode::Disable));
    }

    #[test]
    fn io_errors_mean_not_ready() {
        let reset = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(matches!(classify(reset), ProbeError::NotReady(_)));
    }
}
