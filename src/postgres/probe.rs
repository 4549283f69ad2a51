//! PostgreSQL readiness: a TCP login as the spec's user on its database and
//! `SELECT 1`; the connect options every connection of flowinfra's uses.
//!
//! On first start the official image runs a temporary server with
//! `listen_addresses=''` (the unix socket only) to create the user and
//! database and run `/docker-entrypoint-initdb.d`, then stops it and starts
//! the real server. A TCP login cannot reach the temporary server, so a
//! successful one means the init scripts are done (the e2e test
//! `the_temporary_init_server_is_not_mistaken_for_readiness` holds us to it).

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection};

use crate::error::error_chain;
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
    let mut connection: PgConnection = connect_options(endpoint, credentials)
        .connect()
        .await
        .map_err(classify)?;
    sqlx::query("SELECT 1")
        .execute(&mut connection)
        .await
        .map_err(classify)?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut connection)
        .await
        .map_err(classify)?;
    let _ = connection.close().await;
    Ok(ProbeSuccess {
        server_version: Some(version),
    })
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
/// When `credentials` are not PostgreSQL's: callers take them from a postgres-kind service.
pub(crate) fn login(credentials: &Credentials) -> (&str, &str, &str) {
    let Credentials::Postgres {
        user,
        password,
        database,
    } = credentials
    else {
        panic!("PostgreSQL credentials expected, got {credentials:?}");
    };
    (user, password, database)
}

fn classify(error: sqlx::Error) -> ProbeError {
    if let sqlx::Error::Database(database_error) = &error
        && let Some(pg_error) = database_error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
    {
        let code = pg_error.code();
        let message = format!("{} (SQLSTATE {code})", pg_error.message());
        return if REFUSALS.iter().any(|(refused, _)| *refused == code) {
            ProbeError::CredentialsRefused(message)
        } else {
            // 57P03 cannot_connect_now (starting up or shutting down) and the rest.
            ProbeError::NotReady(message)
        };
    }
    ProbeError::NotReady(error_chain(&error))
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
