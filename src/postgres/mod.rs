//! The database library of the PostgreSQL kind ([`crate::kinds`]):
//! connections, versioned migrations ([`migrate`], sqlx's own PostgreSQL
//! bookkeeping in `_sqlx_migrations` under sqlx's advisory lock, as sqlx-cli
//! does it), and the seed ([`seed`], loaded with `COPY … FROM STDIN`,
//! recorded in `_flowinfra_seed`). It reports through return values and
//! [`SeedEvent`]s, and prints nothing.
//!
//! What does not depend on the server is shared rather than copied: the
//! seed manifest and its rows ([`crate::mysql::manifest`],
//! [`crate::mysql::rows`]: stable UUIDv5 ids, bcrypt, generated tables),
//! and [`crate::database`]'s seed run, per-row drift check, `check`
//! reading and migration states, which `session` drives on this server.
//!
//! - [`probe`]: readiness, one TCP login and `SELECT 1`.
//! - [`migrate`], [`seed`]: talk to the server over one connection.
//! - [`status`]: what `check` reads.
//!
//! The only module that imports sqlx's PostgreSQL driver.

pub mod migrate;
mod probe;
pub mod seed;
mod session;
pub mod status;

pub(crate) use probe::{login, probe};

use std::path::PathBuf;

use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};

pub use crate::database::seed::{SeedAction, SeedEvent, SeedOptions, SeedReport};
pub use migrate::Migrations;

use crate::kinds::vocabulary::{Credentials, Endpoint};
use crate::spec::{KindSettings, Service};

/// An open connection to one database of a postgres-kind service.
pub struct Database {
    connection: PgConnection,
    endpoint: Endpoint,
    name: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("endpoint", &self.endpoint)
            .field("name", &self.name)
            .finish()
    }
}

/// Connecting failed. Never carries the password.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to PostgreSQL at {endpoint} as `{user}` on database `{database}`: {reason}")]
pub struct ConnectError {
    pub endpoint: Endpoint,
    pub user: String,
    pub database: String,
    pub reason: String,
}

/// One database of a postgres-kind service, as `x-flowinfra` declares it:
/// `POSTGRES_DB` with the top-level `migrations`/`seed`, or an entry of `databases:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabasePlan {
    pub name: String,
    /// The role that owns it and runs its migrations and seed (`SET ROLE`).
    pub owner: Option<String>,
    pub migrations: Option<PathBuf>,
    pub seed: Option<PathBuf>,
}

impl Database {
    /// Logs in as the credentials' user on `database` (the credentials'
    /// own database when `None`); with `role`, acts as that role
    /// (`SET ROLE`), so what migrations create belongs to it.
    ///
    /// # Panics
    ///
    /// When `credentials` are not PostgreSQL's: both come from the same service.
    pub async fn connect(
        endpoint: &Endpoint,
        credentials: &Credentials,
        database: Option<&str>,
        role: Option<&str>,
    ) -> Result<Database, ConnectError> {
        let (user, _, default_database) = probe::login(credentials);
        let name = database.unwrap_or(default_database).to_string();
        let failed = |reason: String| ConnectError {
            endpoint: endpoint.clone(),
            user: user.to_string(),
            database: name.clone(),
            reason,
        };
        let mut connection = probe::connect_options(endpoint, credentials)
            .database(&name)
            .connect()
            .await
            .map_err(|error| failed(server_error(&error)))?;
        if let Some(role) = role {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET ROLE {}", quote(role))))
                .execute(&mut connection)
                .await
                .map_err(|error| failed(format!("cannot act as role `{role}`: {}", server_error(&error))))?;
        }
        Ok(Database {
            connection,
            endpoint: endpoint.clone(),
            name,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn connection(&mut self) -> &mut PgConnection {
        &mut self.connection
    }

    /// Says goodbye to the server.
    pub async fn close(self) {
        let _ = self.connection.close().await;
    }
}

/// Creates each database of `plans` that does not exist yet (owned by its
/// `owner`, when given), connected as the service's user to its own
/// database. Returns the names created. `CREATE DATABASE` cannot run in a
/// transaction; a concurrent creator is told apart by its error code.
pub async fn create_missing(database: &mut Database, plans: &[DatabasePlan]) -> Result<Vec<String>, String> {
    let mut created = Vec::new();
    for plan in plans {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&plan.name)
            .fetch_one(database.connection())
            .await
            .map_err(|error| server_error(&error))?;
        if exists {
            continue;
        }
        let mut sql = format!("CREATE DATABASE {}", quote(&plan.name));
        if let Some(owner) = &plan.owner {
            sql.push_str(&format!(" OWNER {}", quote(owner)));
        }
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(database.connection())
            .await
        {
            Ok(_) => created.push(plan.name.clone()),
            // 42P04 duplicate_database: someone else created it meanwhile.
            Err(error) if sql_state(&error).as_deref() == Some("42P04") => {}
            Err(error) => {
                return Err(format!(
                    "cannot create database `{}`{}: {}; the user logging in needs CREATEDB \
                     (POSTGRES_USER is a superuser in the official image)",
                    plan.name,
                    plan.owner
                        .as_ref()
                        .map(|o| format!(" owned by `{o}`"))
                        .unwrap_or_default(),
                    server_error(&error)
                ));
            }
        }
    }
    Ok(created)
}

/// A database error as the server said it (`message (SQLSTATE code)`), or
/// the client's description for anything else.
pub(crate) fn server_error(error: &sqlx::Error) -> String {
    if let sqlx::Error::Database(database_error) = error
        && let Some(pg_error) = database_error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
    {
        let mut text = format!("{} (SQLSTATE {})", pg_error.message(), pg_error.code());
        if let Some(detail) = pg_error.detail() {
            text.push_str(&format!("; {detail}"));
        }
        return text;
    }
    crate::error::error_chain(error)
}

/// The SQLSTATE of a server error.
pub(crate) fn sql_state(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(database_error) => database_error.code().map(|code| code.into_owned()),
        _ => None,
    }
}

/// A double-quoted identifier.
pub fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The databases a postgres-kind service declares, in order: `POSTGRES_DB`
/// (`database`) with the top-level migrations and seed, or each of `databases:`.
pub fn plans(service: &Service, database: &str) -> Vec<DatabasePlan> {
    let Some(KindSettings::Postgres(settings)) = service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()) else {
        return Vec::new();
    };
    if !settings.databases.is_empty() {
        return settings
            .databases
            .iter()
            .map(|d| DatabasePlan {
                name: d.name.clone(),
                owner: d.owner.clone(),
                migrations: d.migrations.clone(),
                seed: d.seed.clone(),
            })
            .collect();
    }
    if settings.migrations.is_none() && settings.seed.is_none() {
        return Vec::new();
    }
    vec![DatabasePlan {
        name: database.to_string(),
        owner: None,
        migrations: settings.migrations.clone(),
        seed: settings.seed.clone(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_double_quoted_and_escaped() {
        assert_eq!(quote("User"), "\"User\"");
        assert_eq!(quote("odd\"name"), "\"odd\"\"name\"");
    }
}
