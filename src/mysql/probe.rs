//! MySQL (and MariaDB) readiness: log in as the spec's user on its database
//! and run `SELECT 1`; the connect options every connection of flowinfra's uses.
//!
//! The official image first runs a temporary server with networking off to
//! create the database and the user, then restarts for real: a login that
//! succeeds is the signal, anything short of it is "not yet".

use sqlx::ConnectOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode};

use crate::kinds::vocabulary::{Credentials, Endpoint, ProbeError, ProbeSuccess};

/// Server error numbers that answer "who you are, or what you ask for, is
/// refused": they do not heal by waiting, since the entrypoint creates the
/// user and database before the server accepts TCP connections.
const REFUSALS: &[(u16, &str)] = &[
    (1044, "ER_DBACCESS_DENIED_ERROR"),
    (1045, "ER_ACCESS_DENIED_ERROR"),
    (1049, "ER_BAD_DB_ERROR"),
    (1130, "ER_HOST_NOT_PRIVILEGED"),
    (1698, "ER_ACCESS_DENIED_NO_PASSWORD_ERROR"),
];

/// One attempt: connect, authenticate, `SELECT 1`, read `VERSION()`, quit.
pub(crate) async fn probe(endpoint: &Endpoint, credentials: &Credentials) -> Result<ProbeSuccess, ProbeError> {
    super::generic::probe::<MySqlConnection>(&connect_options(endpoint, credentials), "SELECT VERSION()", classify)
        .await
}

/// TLS is off on purpose. flowinfra talks to a container over loopback, and
/// sqlx is built without a TLS backend, so `Preferred` would behave the same
/// today; `Disabled` keeps it so if a TLS feature is ever unified in. Without
/// TLS, MySQL 8.4's `caching_sha2_password` full authentication goes through
/// sqlx's RSA public-key exchange (the `mysql-rsa` feature, enabled in
/// Cargo.toml) — `Disabled` does not prevent it, it is the path that takes
/// it — and MariaDB's `mysql_native_password` needs neither.
pub(super) fn connect_options(endpoint: &Endpoint, credentials: &Credentials) -> MySqlConnectOptions {
    let (user, password, database) = login(credentials);
    MySqlConnectOptions::new()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(user)
        .password(password)
        .database(database)
        .ssl_mode(MySqlSslMode::Disabled)
        .disable_statement_logging()
}

/// The user, password and database of MySQL credentials.
///
/// # Panics
///
/// When `credentials` are not a database's: callers take them from a mysql-kind service.
pub(crate) fn login(credentials: &Credentials) -> (&str, &str, &str) {
    credentials
        .database_login()
        .unwrap_or_else(|| panic!("MySQL credentials expected, got {credentials:?}"))
}

fn classify(error: sqlx::Error) -> ProbeError {
    let refused = |error: &(dyn sqlx::error::DatabaseError + 'static)| {
        error
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|mysql| REFUSALS.iter().any(|(number, _)| *number == mysql.number()))
    };
    super::generic::classify(error, refused, super::server_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_options_target_the_endpoint_without_tls() {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port: 13306,
        };
        let credentials = Credentials::Mysql {
            user: "app".into(),
            password: "secret".into(),
            database: "appdb".into(),
        };
        let options = connect_options(&endpoint, &credentials);
        assert_eq!(options.get_host(), "127.0.0.1");
        assert_eq!(options.get_port(), 13306);
        assert_eq!(options.get_username(), "app");
        assert_eq!(options.get_database(), Some("appdb"));
        assert!(matches!(options.get_ssl_mode(), MySqlSslMode::Disabled));
    }

    #[test]
    fn io_errors_mean_not_ready() {
        let reset = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(matches!(classify(reset), ProbeError::NotReady(_)));
    }
}
