//! The database library of the MySQL kind ([`crate::kinds`]): connections,
//! versioned migrations ([`migrate`], on sqlx's `Migrator`,
//! `_sqlx_migrations` compatible with sqlx-cli) and the versioned,
//! checksummed seed ([`seed`], recorded in `_flowinfra_seed`). It reports
//! through return values and [`seed::SeedEvent`]s, and prints nothing.
//!
//! - [`manifest`], [`rows`], [`statements`]: pure — the seed manifest and
//!   its checksum, data files into rows with stable ids, batch sizes,
//!   migration files into statements. Tested without a database.
//! - [`probe`]: readiness, one login and `SELECT 1`.
//! - [`migrate`], [`seed`]: talk to the server over one connection.
//! - [`status`]: what `check` reads — migrations in order, seed current,
//!   every seeded row still there with its seeded values.
//! - The seed's run, its drift check and the migration states are
//!   [`crate::database`]'s, shared with PostgreSQL; `session` is this
//!   server's side of them.
//!
//! Concurrency: sqlx's migration lock (`GET_LOCK(name, -1)`) silently locks
//! nothing on MariaDB, so callers hold the project lock
//! ([`crate::lock::ProjectLock`]) instead; nothing here locks.
//!
//! With [`crate::postgres`], the only modules that import sqlx; `generic`
//! holds the sqlx code that names no driver, which the PostgreSQL library
//! reuses as it reuses the manifest and rows.

pub(crate) mod generic;
pub mod manifest;
pub mod migrate;
mod probe;
pub mod rows;
pub mod seed;
mod session;
pub mod statements;
pub mod status;

/// The per-row seed comparison, shared with PostgreSQL.
pub use crate::database::drift;

pub(crate) use probe::{login, probe};

use std::path::PathBuf;

use sqlx::mysql::MySqlConnection;
use sqlx::{ConnectOptions, Connection};

pub use migrate::{MigrationError, MigrationState, MigrationStatus, Migrations};
pub use seed::{SeedAction, SeedError, SeedOptions, SeedReport};

use crate::kinds::vocabulary::{Credentials, Endpoint};
use crate::spec::{KindSettings, Service};

/// An open connection to a mysql-kind service's database, as its application user.
pub struct Database {
    connection: MySqlConnection,
    endpoint: Endpoint,
    /// `@@max_allowed_packet`, read once when rows are first inserted.
    max_allowed_packet: Option<usize>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("endpoint", &self.endpoint).finish()
    }
}

/// Connecting failed. Never carries the password.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to MySQL at {endpoint} as `{user}` on database `{database}`: {reason}")]
pub struct ConnectError {
    pub endpoint: Endpoint,
    pub user: String,
    pub database: String,
    pub reason: String,
}

impl Database {
    /// Logs in as the spec's application user on its database. TLS is off,
    /// as for the readiness probe: a local container over loopback, and MySQL
    /// 8's `caching_sha2_password` goes through sqlx's RSA exchange (`mysql-rsa`).
    ///
    /// # Panics
    ///
    /// When `credentials` are not MySQL's: both come from the same service.
    pub async fn connect(endpoint: &Endpoint, credentials: &Credentials) -> Result<Database, ConnectError> {
        let (user, _, database) = probe::login(credentials);
        let connection = probe::connect_options(endpoint, credentials)
            .connect()
            .await
            .map_err(|error| ConnectError {
                endpoint: endpoint.clone(),
                user: user.to_string(),
                database: database.to_string(),
                reason: server_error(&error),
            })?;
        Ok(Database {
            connection,
            endpoint: endpoint.clone(),
            max_allowed_packet: None,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(crate) fn connection(&mut self) -> &mut MySqlConnection {
        &mut self.connection
    }

    /// The largest statement the server takes, asked once per connection.
    pub(crate) async fn max_allowed_packet(&mut self) -> Result<usize, String> {
        if let Some(bytes) = self.max_allowed_packet {
            return Ok(bytes);
        }
        let bytes: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
            .fetch_one(&mut self.connection)
            .await
            .map_err(|error| server_error(&error))?;
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        self.max_allowed_packet = Some(bytes);
        Ok(bytes)
    }

    /// Says goodbye to the server (keeps "Aborted connection" out of its log).
    pub async fn close(self) {
        let _ = self.connection.close().await;
    }
}

/// A database error as the server said it (`message (error N)`), or the
/// client's description for anything else.
pub(crate) fn server_error(error: &sqlx::Error) -> String {
    if let sqlx::Error::Database(database_error) = error
        && let Some(mysql_error) = database_error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
    {
        return format!("{} (error {})", mysql_error.message(), mysql_error.number());
    }
    crate::error::error_chain(error)
}

/// The migrations and seed directories a mysql-kind service declares.
pub fn directories(service: &Service) -> (Option<PathBuf>, Option<PathBuf>) {
    match service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()) {
        Some(KindSettings::Mysql(settings)) => (settings.migrations.clone(), settings.seed.clone()),
        _ => (None, None),
    }
}
