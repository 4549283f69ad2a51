//! sqlx code that names no driver, written once for both database
//! libraries (the PostgreSQL library reuses it, as it reuses the seed
//! manifest and rows): the readiness probe's round trips, how a probe's
//! error is classified, the two primitives of [`crate::database::Session`]
//! that only run SQL, and a directory of migrations as sqlx resolves it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqlx::migrate::{Migration, Migrator};
use sqlx::{ColumnIndex, Connection, Database, Decode, Executor, Row, Type};

use crate::database::TextRows;
use crate::database::migrate::{
    AppliedRow, FileMigration, MigrationFiles, MigrationStatus, Refusal, file_path, migration_files,
    refuse_inconsistent, statuses,
};
use crate::error::error_chain;
use crate::kinds::vocabulary::{ProbeError, ProbeSuccess};

/// One readiness attempt: connect, authenticate, `SELECT 1`, read the
/// server's version (`version_sql`), quit. Statements go unprepared: one
/// round trip each.
pub(crate) async fn probe<C>(
    options: &C::Options,
    version_sql: &'static str,
    classify: fn(sqlx::Error) -> ProbeError,
) -> Result<ProbeSuccess, ProbeError>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'r> String: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
{
    let mut connection = C::connect_with(options).await.map_err(classify)?;
    sqlx::raw_sql("SELECT 1")
        .execute(&mut connection)
        .await
        .map_err(classify)?;
    let rows = sqlx::raw_sql(version_sql)
        .fetch_all(&mut connection)
        .await
        .map_err(classify)?;
    let version = rows
        .first()
        .map(|row| row.try_get::<String, _>(0))
        .transpose()
        .map_err(classify)?;
    // A clean goodbye keeps "Aborted connection" warnings out of the server
    // log; the server was ready either way.
    let _ = connection.close().await;
    Ok(ProbeSuccess {
        server_version: version,
    })
}

/// A probe's error: the server refusing who logs in or what it asks for
/// (`refused`, by the server's code) does not heal by waiting; anything
/// else is "not yet". `server_error` words the server's errors.
pub(crate) fn classify(
    error: sqlx::Error,
    refused: impl Fn(&(dyn sqlx::error::DatabaseError + 'static)) -> bool,
    server_error: fn(&sqlx::Error) -> String,
) -> ProbeError {
    match &error {
        sqlx::Error::Database(database_error) if refused(database_error.as_ref()) => {
            ProbeError::CredentialsRefused(server_error(&error))
        }
        sqlx::Error::Database(_) => ProbeError::NotReady(server_error(&error)),
        _ => ProbeError::NotReady(error_chain(&error)),
    }
}

/// Runs `sql` (one or more statements, unprepared) for its effect.
pub(crate) async fn execute<C>(connection: &mut C, sql: String) -> Result<(), sqlx::Error>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(connection)
        .await
        .map(|_| ())
}

/// Every row of the query `sql` (unprepared: one round trip), each column
/// read as text; the SQL casts them.
pub(crate) async fn texts<C>(connection: &mut C, sql: String) -> Result<TextRows, sqlx::Error>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'r> String: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
{
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_all(connection).await?;
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|index| row.try_get::<Option<String>, _>(index))
                .collect()
        })
        .collect()
}

/// The migration files of one directory, as sqlx's `Migrator` resolves
/// them, with their file names for messages.
#[derive(Debug)]
pub(crate) struct MigrationSet {
    pub(crate) dir: PathBuf,
    pub(crate) migrator: Migrator,
    /// Version → (up or simple file, down file).
    pub(crate) files: MigrationFiles,
}

impl MigrationSet {
    /// Reads the migration files of `dir` (sqlx's `Migrator::new`); the reason when it cannot.
    pub(crate) async fn load(dir: &Path) -> Result<MigrationSet, String> {
        let files = migration_files(dir)?;
        let migrator = Migrator::new(dir.to_path_buf())
            .await
            .map_err(|error| error.to_string())?;
        Ok(MigrationSet {
            dir: dir.to_path_buf(),
            migrator,
            files,
        })
    }

    /// The up (and simple) migrations, by version.
    pub(crate) fn ups(&self) -> impl Iterator<Item = &Migration> {
        self.migrator.iter().filter(|m| m.migration_type.is_up_migration())
    }

    pub(crate) fn down(&self, version: i64) -> Option<&Migration> {
        self.migrator
            .iter()
            .find(|m| m.version == version && m.migration_type.is_down_migration())
    }

    /// The file of `version` as a user finds it: `<dir>/<file>`.
    pub(crate) fn file(&self, version: i64, down: bool) -> String {
        file_path(&self.dir, &self.files, version, down)
    }

    /// Every migration with its state, given the rows of `_sqlx_migrations`.
    pub(crate) fn statuses(&self, applied: &BTreeMap<i64, AppliedRow>) -> Vec<MigrationStatus> {
        let ups = self.ups().map(|migration| FileMigration {
            version: migration.version,
            description: &migration.description,
            checksum: &migration.checksum,
            reversible: migration.migration_type.is_reversible(),
        });
        statuses(ups, &self.files, applied)
    }

    /// Refuses what `run` and `revert` must not go past ([`refuse_inconsistent`]).
    pub(crate) fn refuse_inconsistent(
        &self,
        statuses: &[MigrationStatus],
        dirty_because: &'static str,
    ) -> Result<(), Refusal> {
        refuse_inconsistent(statuses, &self.dir, &self.files, dirty_because)
    }
}
