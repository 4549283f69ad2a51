//! Versioned migrations: sqlx migration files (`<VERSION>_<DESCRIPTION>.sql`
//! or reversible `.up.sql`/`.down.sql`) loaded at run time with sqlx's
//! `Migrator::new`, so a `git pull` needs no rebuild, and recorded in
//! `_sqlx_migrations` exactly as sqlx does it, so `sqlx migrate info` and
//! flowinfra agree on what is applied.
//!
//! Applying follows sqlx's bookkeeping (a row with `success = FALSE`, the
//! migration, then `success = TRUE`, in one transaction), with one
//! difference: statements run one at a time ([`super::statements`]). MySQL
//! commits DDL implicitly, so a migration that fails part-way leaves the
//! statements before the failing one applied and its row marked failed
//! ("dirty"); running statement by statement lets flowinfra say which
//! statement failed, with the server's error, and what to do.
//!
//! Checksums are sqlx's (SHA-384 of the file as it is): an applied
//! migration whose file changed is refused, naming it.
//!
//! A run that is killed part-way (SIGKILL, Ctrl-C, the server restarted)
//! is not a failure: with autocommit off, each statement commits together
//! with a progress mark in its row's `execution_time` ([`progress_mark`]),
//! so the next run resumes after the last committed statement instead of
//! refusing a "dirty" migration. Only a DDL statement can commit without
//! its mark (it commits itself): resuming, that one statement is run again
//! and an error saying its effect is already there ([`already_applied`])
//! counts as done.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx::migrate::{Migrate, Migration};
use sqlx::{AssertSqlSafe, Connection};

use super::generic::MigrationSet;
use super::statements::{Statement, split_statements};
use super::{Database, server_error};
use crate::database::migrate::{
    AppliedRow, applied_query, applied_rows, pending_versions, progress_mark, statements_done, to_revert,
};
pub use crate::database::migrate::{
    MIGRATIONS_TABLE, MigrationChange, MigrationFiles, MigrationState, MigrationStatus, Refusal, file_path,
    migration_files,
};

/// Why a failed migration may be partly applied on MySQL ([`Refusal::Dirty`]).
const DIRTY_BECAUSE: &str = "failed part-way in an earlier run, and MySQL does not roll back DDL";

/// How much of a failing statement a message quotes.
const STATEMENT_SUMMARY_CHARS: usize = 160;

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

    #[error("{0}")]
    Failed(Box<FailedMigration>),

    #[error(
        "cannot revert migration {} ({}) in {}: statement {} (line {}) `{}` failed: {}; the migration stays \
         recorded as failed: fix the down file and the database by hand",
        .0.version, .0.description, .0.file, .0.statement_number, .0.statement_line, .0.statement, .0.server_error
    )]
    RevertFailed(Box<FailedMigration>),
}

/// A migration (or its revert) stopped by a failing statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMigration {
    pub version: i64,
    pub description: String,
    pub file: String,
    /// 1-based.
    pub statement_number: usize,
    pub statement_count: usize,
    pub statement_line: usize,
    pub statement: String,
    pub server_error: String,
    /// The migration's row stayed, marked failed: DDL before (or at) the
    /// failing statement was committed.
    pub partial: bool,
}

impl std::fmt::Display for FailedMigration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let FailedMigration {
            version,
            description,
            file,
            statement_number: number,
            statement_count: count,
            statement_line: line,
            statement,
            server_error,
            partial,
        } = self;
        write!(
            f,
            "migration {version} ({description}) failed at statement {number} of {count} ({file}:{line}): \
             `{statement}`: {server_error}"
        )?;
        if !partial {
            return write!(
                f,
                ". Nothing of it was applied: fix the file and run `flowinfra migrate run` again"
            );
        }
        let before = match number {
            1 => "no statement before it ran, but MySQL committed the migration's bookkeeping row".to_string(),
            2 => "statement 1 stays applied (MySQL does not roll back DDL)".to_string(),
            n => format!("statements 1 to {} stay applied (MySQL does not roll back DDL)", n - 1),
        };
        write!(
            f,
            ". The migration is only partly applied: {before}, and it is marked failed in {MIGRATIONS_TABLE}. \
             Undo what it did by hand, fix the file, delete its row \
             (`DELETE FROM {MIGRATIONS_TABLE} WHERE version = {version}`), then run `flowinfra migrate run`; \
             on a throwaway local database, `flowinfra down -v` then `flowinfra up` starts over"
        )
    }
}

/// The migrations of one directory, as sqlx resolves them.
#[derive(Debug)]
pub struct Migrations {
    set: MigrationSet,
}

impl Migrations {
    /// Reads the migration files of `dir` (sqlx's `Migrator::new`).
    pub async fn load(dir: &Path) -> Result<Migrations, MigrationError> {
        let mut set = MigrationSet::load(dir).await.map_err(|reason| MigrationError::Load {
            dir: dir.to_path_buf(),
            reason,
        })?;
        // sqlx's lock is a no-op on MariaDB; callers hold the project lock.
        set.migrator.set_locking(false);
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

    /// The versions `run` would apply, after the same checks `run` makes:
    /// refuses when a migration failed part-way, changed or went missing.
    pub async fn pending(&self, database: &mut Database) -> Result<Vec<i64>, MigrationError> {
        let statuses = self.status(database).await?;
        self.set.refuse_inconsistent(&statuses, DIRTY_BECAUSE)?;
        Ok(pending_versions(&statuses))
    }

    /// Applies every pending migration in version order, resuming an
    /// interrupted one; stops at the first failure.
    pub async fn run(&self, database: &mut Database) -> Result<Vec<MigrationChange>, MigrationError> {
        let pending = self.pending(database).await?;
        let rows = read_applied(database).await?;
        let mut applied = Vec::new();
        for migration in self.set.ups().filter(|m| pending.contains(&m.version)) {
            let resume_after = rows
                .get(&migration.version)
                .and_then(|row| statements_done(row.execution_time));
            let outcome = self.apply(database, migration, resume_after).await;
            // Back to the session's default whatever happened: the seed runs on this connection next.
            let _ = sqlx::raw_sql("SET autocommit = 1").execute(database.connection()).await;
            let duration = outcome?;
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
        let statuses = self.status(database).await?;
        self.set.refuse_inconsistent(&statuses, DIRTY_BECAUSE)?;
        let to_revert = to_revert(&statuses, target, |version| self.set.down(version).is_some())?;
        let mut reverted = Vec::new();
        for status in to_revert {
            let down = self.set.down(status.version).expect("checked above");
            let duration = self.revert_one(database, down).await?;
            reverted.push(MigrationChange {
                version: status.version,
                description: status.description.clone(),
                duration,
            });
        }
        Ok(reverted)
    }

    /// sqlx's `apply`, statement by statement, each committed with its
    /// progress mark; `resume_after` statements of an interrupted run are
    /// already committed. The caller turns autocommit back on.
    async fn apply(
        &self,
        database: &mut Database,
        migration: &Migration,
        resume_after: Option<usize>,
    ) -> Result<Duration, MigrationError> {
        let statements = split_statements(migration.sql.as_str());
        let started = Instant::now();
        let connection = database.connection();
        // Not BEGIN: after a DDL statement's implicit commit MySQL would go
        // back to autocommit, and a later statement would commit apart from its mark.
        sqlx::raw_sql("SET autocommit = 0")
            .execute(&mut *connection)
            .await
            .map_err(db_error)?;
        if resume_after.is_none() {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {MIGRATIONS_TABLE} ( version, description, success, checksum, execution_time ) \
                 VALUES ( ?, ?, FALSE, ?, ? )"
            )))
            .bind(migration.version)
            .bind(&*migration.description)
            .bind(&*migration.checksum)
            .bind(progress_mark(0))
            .execute(&mut *connection)
            .await
            .map_err(db_error)?;
        }
        let first = resume_after.unwrap_or(0);
        for (index, statement) in statements.iter().enumerate().skip(first) {
            let connection = database.connection();
            if let Err(error) = sqlx::raw_sql(AssertSqlSafe(statement.text.clone()))
                .execute(&mut *connection)
                .await
            {
                // The statement a killed run sent last may have committed before its mark.
                let done_before = resume_after.is_some() && index == first && already_applied(&error);
                if !done_before {
                    let server_error = server_error(&error);
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await;
                    // A failure is not an interruption: the next run refuses it instead of resuming.
                    let _ = sqlx::query(AssertSqlSafe(format!(
                        "UPDATE {MIGRATIONS_TABLE} SET execution_time = -1 WHERE version = ? AND success = FALSE"
                    )))
                    .bind(migration.version)
                    .execute(&mut *connection)
                    .await;
                    let _ = sqlx::raw_sql("COMMIT").execute(&mut *connection).await;
                    let partial = row_success(database, migration.version).await? == Some(false);
                    return Err(self.failed(migration, &statements, index, statement, server_error, partial));
                }
            }
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE {MIGRATIONS_TABLE} SET execution_time = ? WHERE version = ?"
            )))
            .bind(progress_mark(index + 1))
            .bind(migration.version)
            .execute(&mut *connection)
            .await
            .map_err(db_error)?;
        }
        let elapsed = started.elapsed();
        let connection = database.connection();
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {MIGRATIONS_TABLE} SET success = TRUE, execution_time = ? WHERE version = ?"
        )))
        .bind(i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX))
        .bind(migration.version)
        .execute(&mut *connection)
        .await
        .map_err(db_error)?;
        sqlx::raw_sql("COMMIT")
            .execute(&mut *connection)
            .await
            .map_err(db_error)?;
        Ok(elapsed)
    }

    fn failed(
        &self,
        migration: &Migration,
        statements: &[Statement],
        index: usize,
        statement: &Statement,
        server_error: String,
        partial: bool,
    ) -> MigrationError {
        MigrationError::Failed(Box::new(FailedMigration {
            version: migration.version,
            description: migration.description.to_string(),
            file: self.set.file(migration.version, false),
            statement_number: index + 1,
            statement_count: statements.len(),
            statement_line: statement.line,
            statement: statement.summary(STATEMENT_SUMMARY_CHARS),
            server_error,
            partial,
        }))
    }

    /// sqlx's `revert`, statement by statement.
    async fn revert_one(&self, database: &mut Database, down: &Migration) -> Result<Duration, MigrationError> {
        let statements = split_statements(down.sql.as_str());
        let started = Instant::now();
        let mut transaction = database.connection().begin().await.map_err(db_error)?;
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {MIGRATIONS_TABLE} SET success = FALSE WHERE version = ?"
        )))
        .bind(down.version)
        .execute(&mut *transaction)
        .await
        .map_err(db_error)?;
        for (index, statement) in statements.iter().enumerate() {
            if let Err(error) = sqlx::raw_sql(AssertSqlSafe(statement.text.clone()))
                .execute(&mut *transaction)
                .await
            {
                let server_error = server_error(&error);
                let _ = transaction.rollback().await;
                return Err(MigrationError::RevertFailed(Box::new(FailedMigration {
                    version: down.version,
                    description: down.description.to_string(),
                    file: self.set.file(down.version, true),
                    statement_number: index + 1,
                    statement_count: statements.len(),
                    statement_line: statement.line,
                    statement: statement.summary(STATEMENT_SUMMARY_CHARS),
                    server_error,
                    partial: true,
                })));
            }
        }
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {MIGRATIONS_TABLE} WHERE version = ?"
        )))
        .bind(down.version)
        .execute(&mut *transaction)
        .await
        .map_err(db_error)?;
        transaction.commit().await.map_err(db_error)?;
        Ok(started.elapsed())
    }
}

/// Whether a server error says the statement's effect is already there:
/// what a DDL statement that committed before its progress mark answers
/// when run again (table, column, key, foreign key, database, trigger or
/// routine exists; or, for a DROP, is already gone).
fn already_applied(error: &sqlx::Error) -> bool {
    const ALREADY_THERE: [u16; 10] = [1007, 1008, 1050, 1051, 1060, 1061, 1091, 1304, 1359, 1826];
    let sqlx::Error::Database(database_error) = error else {
        return false;
    };
    database_error
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|mysql| ALREADY_THERE.contains(&mysql.number()))
}

fn db_error(error: sqlx::Error) -> MigrationError {
    MigrationError::Database(server_error(&error))
}

/// The rows of `_sqlx_migrations`, creating the table as sqlx does when absent.
async fn read_applied(database: &mut Database) -> Result<BTreeMap<i64, AppliedRow>, MigrationError> {
    let connection = database.connection();
    connection
        .ensure_migrations_table(MIGRATIONS_TABLE)
        .await
        .map_err(|error| MigrationError::Database(error.to_string()))?;
    let rows = sqlx::query_as(AssertSqlSafe(applied_query(
        "DATE_FORMAT(installed_on, '%Y-%m-%d %H:%i:%s')",
    )))
    .fetch_all(&mut *connection)
    .await
    .map_err(db_error)?;
    Ok(applied_rows(rows))
}

/// `success` of a migration's row, `None` when it has none.
async fn row_success(database: &mut Database, version: i64) -> Result<Option<bool>, MigrationError> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT success FROM {MIGRATIONS_TABLE} WHERE version = ?"
    )))
    .bind(version)
    .fetch_optional(database.connection())
    .await
    .map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_failure_says_which_statements_stay_applied_and_what_to_do() {
        let error = MigrationError::Failed(Box::new(FailedMigration {
            version: 20251105000002,
            description: "add index".into(),
            file: "migrations/20251105000002_add_index.sql".into(),
            statement_number: 3,
            statement_count: 4,
            statement_line: 9,
            statement: "CREATE INDEX ix ON t (c)".into(),
            server_error: "Duplicate key name 'ix' (error 1061)".into(),
            partial: true,
        }));
        let text = error.to_string();
        assert!(
            text.contains("migration 20251105000002 (add index) failed at statement 3 of 4"),
            "{text}"
        );
        assert!(text.contains("migrations/20251105000002_add_index.sql:9"), "{text}");
        assert!(
            text.contains("`CREATE INDEX ix ON t (c)`: Duplicate key name 'ix' (error 1061)"),
            "{text}"
        );
        assert!(text.contains("statements 1 to 2 stay applied"), "{text}");
        assert!(
            text.contains("DELETE FROM _sqlx_migrations WHERE version = 20251105000002"),
            "{text}"
        );
    }

    #[test]
    fn a_clean_failure_says_nothing_was_applied() {
        let error = MigrationError::Failed(Box::new(FailedMigration {
            version: 2,
            description: "x".into(),
            file: "m/2_x.sql".into(),
            statement_number: 1,
            statement_count: 1,
            statement_line: 1,
            statement: "SELEC 1".into(),
            server_error: "syntax error (error 1064)".into(),
            partial: false,
        }));
        assert!(error.to_string().contains("Nothing of it was applied"), "{error}");
    }

    #[tokio::test]
    async fn files_are_named_by_version_for_messages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1_first.up.sql"), "CREATE TABLE a (id INT);").unwrap();
        std::fs::write(dir.path().join("1_first.down.sql"), "DROP TABLE a;").unwrap();
        std::fs::write(dir.path().join("2_second.sql"), "CREATE TABLE b (id INT);").unwrap();
        std::fs::write(dir.path().join("README.md"), "not a migration").unwrap();
        let migrations = Migrations::load(dir.path()).await.unwrap();
        assert!(migrations.set.file(1, false).ends_with("1_first.up.sql"));
        assert!(migrations.set.file(1, true).ends_with("1_first.down.sql"));
        assert!(migrations.set.file(2, false).ends_with("2_second.sql"));
        assert_eq!(migrations.set.ups().map(|m| m.version).collect::<Vec<_>>(), [1, 2]);
        assert!(migrations.set.down(1).is_some());
        assert!(migrations.set.down(2).is_none());
    }

    #[tokio::test]
    async fn a_missing_directory_is_named() {
        let error = Migrations::load(Path::new("/nonexistent/migrations"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("/nonexistent/migrations"), "{error}");
        assert!(error.to_string().contains("x-flowinfra.migrations"), "{error}");
    }
}
