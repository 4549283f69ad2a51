//! Versioned migrations on PostgreSQL: the same files as the MySQL kind
//! (`<VERSION>_<DESCRIPTION>.sql`, reversible `.up.sql`/`.down.sql`),
//! loaded at run time with sqlx's `Migrator::new`, applied with sqlx's own
//! PostgreSQL `Migrate` implementation under its advisory lock
//! (`pg_advisory_lock`, as sqlx-cli takes it), and recorded in
//! `_sqlx_migrations` exactly as sqlx does: `sqlx migrate info` and
//! flowinfra agree on what is applied.
//!
//! PostgreSQL runs DDL inside transactions, and sqlx applies each
//! migration and its `_sqlx_migrations` row in one: a migration that fails
//! leaves nothing behind, so there is no "dirty" state to repair (only a
//! file marked `-- no-transaction` can leave one). Failure messages say so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqlx::AssertSqlSafe;
use sqlx::migrate::{Migrate, MigrateError, Migration};
use sqlx::postgres::{PgDatabaseError, PgErrorPosition};

use super::{Database, server_error};
use crate::database::migrate::{AppliedRow, applied_query, applied_rows, pending_versions, to_revert};
pub use crate::database::migrate::{MIGRATIONS_TABLE, MigrationChange, MigrationState, MigrationStatus, Refusal};
use crate::mysql::generic::MigrationSet;

/// Why a failed migration may be partly applied on PostgreSQL ([`Refusal::Dirty`]):
/// sqlx runs every other migration in one transaction.
const DIRTY_BECAUSE: &str = "failed outside a transaction (`-- no-transaction`)";

/// Why migrating failed or was refused. Every message names the migration
/// and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read the migrations in {dir}: {reason}")]
    Load { dir: PathBuf, reason: String },

    #[error("reading the migration state from {MIGRATIONS_TABLE} failed: {0}")]
    Database(String),

    #[error(transparent)]
    Refused(#[from] Refusal),

    #[error(
        "migration {version} ({description}) failed at {file}:{line}: {server_error}. PostgreSQL ran it in one \
         transaction, which was rolled back: nothing of it was applied (no table, no row in {MIGRATIONS_TABLE}). \
         Fix the file and run `flowinfra migrate run` again"
    )]
    Failed {
        version: i64,
        description: String,
        file: String,
        line: usize,
        server_error: String,
    },

    #[error(
        "cannot revert migration {version} ({description}) with {file}:{line}: {server_error}; the revert ran in \
         one transaction and was rolled back, so the migration stays applied. Fix the down file and run again"
    )]
    RevertFailed {
        version: i64,
        description: String,
        file: String,
        line: usize,
        server_error: String,
    },
}

/// The migrations of one directory, as sqlx resolves them.
#[derive(Debug)]
pub struct Migrations {
    set: MigrationSet,
}

impl Migrations {
    /// Reads the migration files of `dir` (sqlx's `Migrator::new`).
    pub async fn load(dir: &Path) -> Result<Migrations, MigrationError> {
        let set = MigrationSet::load(dir).await.map_err(|reason| MigrationError::Load {
            dir: dir.to_path_buf(),
            reason,
        })?;
        Ok(Migrations { set })
    }

    pub fn dir(&self) -> &Path {
        &self.set.dir
    }

    /// Every migration with its state: the files' migrations in version
    /// order, and applied ones whose file is gone.
    pub async fn status(&self, database: &mut Database) -> Result<Vec<MigrationStatus>, MigrationError> {
        let applied = read_applied(database).await?;
        Ok(self.set.statuses(&applied))
    }

    /// The versions `run` would apply, after the same checks `run` makes.
    pub async fn pending(&self, database: &mut Database) -> Result<Vec<i64>, MigrationError> {
        let statuses = self.status(database).await?;
        self.set.refuse_inconsistent(&statuses, DIRTY_BECAUSE)?;
        Ok(pending_versions(&statuses))
    }

    /// Applies every pending migration in version order under sqlx's
    /// advisory lock; stops at the first failure.
    pub async fn run(&self, database: &mut Database) -> Result<Vec<MigrationChange>, MigrationError> {
        lock(database).await?;
        let outcome = self.run_locked(database).await;
        unlock(database).await;
        outcome
    }

    async fn run_locked(&self, database: &mut Database) -> Result<Vec<MigrationChange>, MigrationError> {
        let pending = self.pending(database).await?;
        let mut applied = Vec::new();
        for migration in self.set.ups().filter(|m| pending.contains(&m.version)) {
            let duration = database
                .connection()
                .apply(MIGRATIONS_TABLE, migration)
                .await
                .map_err(|error| {
                    let (line, server_error) = located(&error, migration);
                    MigrationError::Failed {
                        version: migration.version,
                        description: migration.description.to_string(),
                        file: self.set.file(migration.version, false),
                        line,
                        server_error,
                    }
                })?;
            applied.push(MigrationChange {
                version: migration.version,
                description: migration.description.to_string(),
                duration,
            });
        }
        Ok(applied)
    }

    /// Reverts applied migrations newest first: the latest one, or every one
    /// newer than `target`. Each needs a down file.
    pub async fn revert(
        &self,
        database: &mut Database,
        target: Option<i64>,
    ) -> Result<Vec<MigrationChange>, MigrationError> {
        lock(database).await?;
        let outcome = self.revert_locked(database, target).await;
        unlock(database).await;
        outcome
    }

    async fn revert_locked(
        &self,
        database: &mut Database,
        target: Option<i64>,
    ) -> Result<Vec<MigrationChange>, MigrationError> {
        let statuses = self.status(database).await?;
        self.set.refuse_inconsistent(&statuses, DIRTY_BECAUSE)?;
        let to_revert = to_revert(&statuses, target, |version| self.set.down(version).is_some())?;
        let mut reverted = Vec::new();
        for status in to_revert {
            let down = self.set.down(status.version).expect("checked above");
            let duration = database
                .connection()
                .revert(MIGRATIONS_TABLE, down)
                .await
                .map_err(|error| {
                    let (line, server_error) = located(&error, down);
                    MigrationError::RevertFailed {
                        version: status.version,
                        description: status.description.clone(),
                        file: self.set.file(status.version, true),
                        line,
                        server_error,
                    }
                })?;
            reverted.push(MigrationChange {
                version: status.version,
                description: status.description.clone(),
                duration,
            });
        }
        Ok(reverted)
    }
}

/// sqlx's advisory lock on the current database, as sqlx-cli takes it.
async fn lock(database: &mut Database) -> Result<(), MigrationError> {
    database
        .connection()
        .lock()
        .await
        .map_err(|error| MigrationError::Database(format!("taking the migration lock failed: {error}")))
}

async fn unlock(database: &mut Database) {
    // Session-level: closing the connection releases it too.
    let _ = database.connection().unlock().await;
}

/// The line of the migration file where the server located the error (1
/// when it did not), and the server's error.
fn located(error: &MigrateError, migration: &Migration) -> (usize, String) {
    let sqlx_error = match error {
        MigrateError::Execute(error) | MigrateError::ExecuteMigration(error, _) => error,
        other => return (1, other.to_string()),
    };
    let line = match sqlx_error {
        sqlx::Error::Database(database_error) => database_error
            .try_downcast_ref::<PgDatabaseError>()
            .and_then(PgDatabaseError::position)
            .and_then(|position| match position {
                PgErrorPosition::Original(at) => Some(line_of(migration.sql.as_str(), at)),
                PgErrorPosition::Internal { .. } => None,
            })
            .unwrap_or(1),
        _ => 1,
    };
    (line, server_error(sqlx_error))
}

/// The 1-based line holding the 1-based character `position` of `sql`.
pub fn line_of(sql: &str, position: usize) -> usize {
    1 + sql
        .chars()
        .take(position.saturating_sub(1))
        .filter(|c| *c == '\n')
        .count()
}

/// The rows of `_sqlx_migrations`, creating the table as sqlx does when absent.
async fn read_applied(database: &mut Database) -> Result<BTreeMap<i64, AppliedRow>, MigrationError> {
    let connection = database.connection();
    connection
        .ensure_migrations_table(MIGRATIONS_TABLE)
        .await
        .map_err(|error| MigrationError::Database(error.to_string()))?;
    let rows = sqlx::query_as(AssertSqlSafe(applied_query(
        "to_char(installed_on, 'YYYY-MM-DD HH24:MI:SS')",
    )))
    .fetch_all(&mut *connection)
    .await
    .map_err(|error| MigrationError::Database(server_error(&error)))?;
    Ok(applied_rows(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_positions_become_file_lines() {
        let sql = "CREATE TABLE a (id INT);\nCREATE TABLE b (\n  id INTT\n);";
        let at = sql.find("INTT").unwrap() + 1;
        assert_eq!(line_of(sql, at), 3);
        assert_eq!(line_of(sql, 1), 1);
    }

    #[test]
    fn a_failure_says_nothing_was_applied() {
        let error = MigrationError::Failed {
            version: 2,
            description: "broken".into(),
            file: "migrations/2_broken.sql".into(),
            line: 3,
            server_error: "type \"intt\" does not exist (SQLSTATE 42704)".into(),
        };
        let text = error.to_string();
        assert!(
            text.contains("migration 2 (broken) failed at migrations/2_broken.sql:3"),
            "{text}"
        );
        assert!(text.contains("nothing of it was applied"), "{text}");
    }
}
