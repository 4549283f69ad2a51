//! Migrations as both database libraries read them: the states a migration
//! can be in, how the rows of `_sqlx_migrations` and the migration files
//! make those states, what `run` and `revert` refuse, and which migrations
//! they touch. Pure; each library reads the rows and applies migrations
//! with its own driver.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

/// sqlx's bookkeeping table; sqlx-cli reads and writes the same.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationState {
    Applied,
    Pending,
    /// Failed part-way: its row has `success = false`.
    Failed,
    /// A run was killed part-way: the next `migrate run` or `up` resumes it.
    Interrupted,
    /// Applied, but its file has changed since.
    Changed,
    /// Applied, but no file has its version any more.
    Missing,
}

impl MigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Failed => "failed",
            MigrationState::Interrupted => "interrupted",
            MigrationState::Changed => "changed",
            MigrationState::Missing => "missing",
        }
    }
}

/// One line of `migrate info`, also its JSON schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub state: MigrationState,
    /// The up (or only) file, relative to the migrations directory.
    pub file: Option<String>,
    pub reversible: bool,
    /// `YYYY-MM-DD HH:MM:SS` (server time) when applied.
    pub installed_on: Option<String>,
    /// How long applying took, in milliseconds.
    pub execution_ms: Option<i64>,
}

/// A migration applied or reverted now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationChange {
    pub version: i64,
    pub description: String,
    pub duration: Duration,
}

/// A row of `_sqlx_migrations`.
#[derive(Debug, Clone)]
pub struct AppliedRow {
    pub version: i64,
    pub description: String,
    /// `YYYY-MM-DD HH:MM:SS`, server time.
    pub installed_on: String,
    pub success: bool,
    pub checksum: Vec<u8>,
    /// Nanoseconds once applied; sqlx's -1 while applying, flowinfra's -1
    /// for a failure and [`progress_mark`]s while its statements commit.
    pub execution_time: i64,
}

/// The columns of `_sqlx_migrations` as [`applied_rows`] takes them, in
/// order; `installed_on` is the server's expression that writes it as
/// `YYYY-MM-DD HH:MM:SS` text.
pub fn applied_query(installed_on: &str) -> String {
    format!(
        "SELECT version, description, {installed_on}, success, checksum, execution_time \
         FROM {MIGRATIONS_TABLE} ORDER BY version"
    )
}

/// The rows of [`applied_query`], by version.
pub fn applied_rows(rows: Vec<(i64, String, String, bool, Vec<u8>, i64)>) -> BTreeMap<i64, AppliedRow> {
    rows.into_iter()
        .map(
            |(version, description, installed_on, success, checksum, execution_time)| {
                (
                    version,
                    AppliedRow {
                        version,
                        description,
                        installed_on,
                        success,
                        checksum,
                        execution_time,
                    },
                )
            },
        )
        .collect()
}

/// A migration of the files, as the library's migrator resolved it.
#[derive(Debug, Clone, Copy)]
pub struct FileMigration<'a> {
    pub version: i64,
    pub description: &'a str,
    pub checksum: &'a [u8],
    pub reversible: bool,
}

/// Every migration with its state: the files' migrations (`ups`, in
/// version order) against the applied rows, and applied ones whose file is gone.
pub fn statuses<'a>(
    ups: impl Iterator<Item = FileMigration<'a>>,
    files: &MigrationFiles,
    applied: &BTreeMap<i64, AppliedRow>,
) -> Vec<MigrationStatus> {
    let ups: Vec<FileMigration> = ups.collect();
    let mut statuses: Vec<MigrationStatus> = ups
        .iter()
        .map(|migration| {
            let row = applied.get(&migration.version);
            let state = match row {
                None => MigrationState::Pending,
                // Only flowinfra's MySQL library writes progress marks; sqlx's
                // own rows (PostgreSQL's) never look interrupted.
                Some(row)
                    if !row.success
                        && statements_done(row.execution_time).is_some()
                        && row.checksum == migration.checksum =>
                {
                    MigrationState::Interrupted
                }
                Some(row) if !row.success => MigrationState::Failed,
                Some(row) if row.checksum != migration.checksum => MigrationState::Changed,
                Some(_) => MigrationState::Applied,
            };
            MigrationStatus {
                version: migration.version,
                description: migration.description.to_string(),
                state,
                file: files.get(&migration.version).and_then(|(up, _)| up.clone()),
                reversible: migration.reversible,
                installed_on: row.map(|r| r.installed_on.clone()),
                execution_ms: row
                    .filter(|r| r.execution_time >= 0)
                    .map(|r| r.execution_time / 1_000_000),
            }
        })
        .collect();
    for row in applied.values() {
        if !ups.iter().any(|m| m.version == row.version) {
            statuses.push(MigrationStatus {
                version: row.version,
                description: row.description.clone(),
                state: if row.success {
                    MigrationState::Missing
                } else {
                    MigrationState::Failed
                },
                file: None,
                reversible: false,
                installed_on: Some(row.installed_on.clone()),
                execution_ms: (row.execution_time >= 0).then_some(row.execution_time / 1_000_000),
            });
        }
    }
    statuses.sort_by_key(|s| s.version);
    statuses
}

/// The versions `run` applies: pending ones, and interrupted ones it resumes.
pub fn pending_versions(statuses: &[MigrationStatus]) -> Vec<i64> {
    statuses
        .iter()
        .filter(|s| matches!(s.state, MigrationState::Pending | MigrationState::Interrupted))
        .map(|s| s.version)
        .collect()
}

/// What `run` and `revert` refuse to go past. Every message names the
/// migration and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "migration {version} ({description}) was applied, but its file {file} has changed since; \
         refusing to migrate: an applied migration never runs again, so the database would not match the file. \
         Restore the file (e.g. `git checkout -- {file}`) and put the change in a new migration; \
         on a throwaway local database, `flowinfra down -v` then `flowinfra up` rebuilds it from the files"
    )]
    Changed {
        version: i64,
        description: String,
        file: String,
    },

    #[error(
        "migration {version} ({description}) is recorded as applied, but no file in {dir} has that version; \
         restore the file (e.g. from git), or on a throwaway local database run `flowinfra down -v` then `flowinfra up`"
    )]
    Missing {
        version: i64,
        description: String,
        dir: String,
    },

    #[error(
        "migration {version} ({description}) {why}; it is marked failed (success = false) in {MIGRATIONS_TABLE}, \
         and part of it may be applied. Undo that by hand, fix {file}, delete its row \
         (`DELETE FROM {MIGRATIONS_TABLE} WHERE version = {version}`) and run `flowinfra migrate run`; \
         on a throwaway local database, `flowinfra down -v` then `flowinfra up` starts over"
    )]
    Dirty {
        version: i64,
        description: String,
        file: String,
        /// What happened, and why that can leave it partly applied on this server.
        why: &'static str,
    },

    #[error(
        "cannot revert migration {version} ({description}): it has no down file \
         ({version}_<description>.down.sql next to an .up.sql); revert by hand, or with --target {version} stop before it"
    )]
    Irreversible { version: i64, description: String },
}

/// Refuses, in the order sqlx checks (failed first, then missing, then
/// changed), a migration that makes the database disagree with the files.
/// `dirty_because`: what happened to a failed one, and why that may leave
/// it partly applied on this server.
pub fn refuse_inconsistent(
    statuses: &[MigrationStatus],
    dir: &Path,
    files: &MigrationFiles,
    dirty_because: &'static str,
) -> Result<(), Refusal> {
    let first = |state| statuses.iter().find(|s| s.state == state);
    if let Some(failed) = first(MigrationState::Failed) {
        return Err(Refusal::Dirty {
            version: failed.version,
            description: failed.description.clone(),
            file: file_path(dir, files, failed.version, false),
            why: dirty_because,
        });
    }
    if let Some(missing) = first(MigrationState::Missing) {
        return Err(Refusal::Missing {
            version: missing.version,
            description: missing.description.clone(),
            dir: dir.display().to_string(),
        });
    }
    if let Some(changed) = first(MigrationState::Changed) {
        return Err(Refusal::Changed {
            version: changed.version,
            description: changed.description.clone(),
            file: file_path(dir, files, changed.version, false),
        });
    }
    Ok(())
}

/// The applied migrations `revert` undoes, newest first: the latest one, or
/// every one newer than `target`; refused, before any is reverted, when
/// one of them has no down file (`has_down`).
pub fn to_revert(
    statuses: &[MigrationStatus],
    target: Option<i64>,
    has_down: impl Fn(i64) -> bool,
) -> Result<Vec<&MigrationStatus>, Refusal> {
    let applied = statuses.iter().rev().filter(|s| s.state == MigrationState::Applied);
    let chosen: Vec<&MigrationStatus> = match target {
        Some(target) => applied.filter(|s| s.version > target).collect(),
        None => applied.take(1).collect(),
    };
    if let Some(status) = chosen.iter().find(|s| !has_down(s.version)) {
        return Err(Refusal::Irreversible {
            version: status.version,
            description: status.description.clone(),
        });
    }
    Ok(chosen)
}

/// `execution_time` of a row while flowinfra applies its migration: `-2 - N`
/// once its first N statements are committed. sqlx writes -1 while it
/// applies one, and flowinfra -1 for one that failed: both are refused as
/// dirty, never resumed.
pub fn progress_mark(statements_done: usize) -> i64 {
    -2 - i64::try_from(statements_done).unwrap_or(i64::MAX - 2)
}

/// How many statements of an interrupted run are committed, from its row's `execution_time`.
pub fn statements_done(execution_time: i64) -> Option<usize> {
    (execution_time <= -2).then(|| usize::try_from(-2 - execution_time).unwrap_or(usize::MAX))
}

/// Version → (up or simple file, down file) of the migration files in
/// `dir`, named as sqlx names them, for messages.
pub type MigrationFiles = BTreeMap<i64, (Option<String>, Option<String>)>;

/// Lists the migration files of `dir` by version; the reason when it cannot.
pub fn migration_files(dir: &Path) -> Result<MigrationFiles, String> {
    if !dir.is_dir() {
        return Err("no such directory; create it, or fix `x-flowinfra.migrations` in the spec".into());
    }
    let mut files = MigrationFiles::new();
    let entries = std::fs::read_dir(dir).map_err(|error| error.to_string())?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((version, rest)) = name.split_once('_') else {
            continue;
        };
        let (Ok(version), true) = (version.parse::<i64>(), rest.ends_with(".sql")) else {
            continue;
        };
        let slot = files.entry(version).or_default();
        if rest.ends_with(".down.sql") {
            slot.1 = Some(name);
        } else {
            slot.0 = Some(name);
        }
    }
    Ok(files)
}

/// The file of `version` (its down file with `down`) as a user finds it: `<dir>/<file>`.
pub fn file_path(dir: &Path, files: &MigrationFiles, version: i64, down: bool) -> String {
    let name = files
        .get(&version)
        .and_then(|(up, down_file)| if down { down_file.clone() } else { up.clone() })
        .unwrap_or_else(|| format!("{version}_*.sql"));
    dir.join(name).display().to_string()
}

/// `check`'s reading of migration statuses: the latest version when all
/// are applied and unchanged; otherwise why not.
pub fn verdict_of(status: &[MigrationStatus]) -> Result<Option<i64>, String> {
    let problems: Vec<String> = status
        .iter()
        .filter(|m| m.state != MigrationState::Applied)
        .map(|m| format!("{} {}", m.version, m.state.as_str()))
        .collect();
    if problems.is_empty() {
        Ok(status.iter().map(|m| m.version).max())
    } else {
        Err(format!(
            "migrations not in order: {}; see `flowinfra migrate info`",
            problems.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: i64, success: bool, checksum: &[u8], execution_time: i64) -> AppliedRow {
        AppliedRow {
            version,
            description: format!("m{version}"),
            installed_on: "2026-12-05 10:00:00".into(),
            success,
            checksum: checksum.to_vec(),
            execution_time,
        }
    }

    fn file(version: i64, checksum: &[u8]) -> FileMigration<'_> {
        FileMigration {
            version,
            description: "m",
            checksum,
            reversible: false,
        }
    }

    #[test]
    fn progress_marks_count_committed_statements_and_never_read_as_dirty_or_done() {
        assert_eq!(progress_mark(0), -2);
        assert_eq!(statements_done(progress_mark(0)), Some(0));
        assert_eq!(statements_done(progress_mark(7)), Some(7));
        // sqlx's "applying" and flowinfra's "failed" mark, and a finished run's duration.
        assert_eq!(statements_done(-1), None);
        assert_eq!(statements_done(0), None);
        assert_eq!(statements_done(1_500_000), None);
    }

    #[test]
    fn rows_and_files_make_every_state() {
        let applied: BTreeMap<i64, AppliedRow> = [
            row(1, true, b"a", 2_000_000),
            row(2, true, b"old", 1),
            row(3, false, b"c", progress_mark(2)),
            row(4, false, b"d", -1),
            row(9, true, b"z", 1),
        ]
        .into_iter()
        .map(|r| (r.version, r))
        .collect();
        let ups = [
            file(1, b"a"),
            file(2, b"new"),
            file(3, b"c"),
            file(4, b"d"),
            file(5, b"e"),
        ];
        let states: Vec<(i64, MigrationState)> = statuses(ups.into_iter(), &MigrationFiles::new(), &applied)
            .iter()
            .map(|s| (s.version, s.state))
            .collect();
        assert_eq!(
            states,
            [
                (1, MigrationState::Applied),
                (2, MigrationState::Changed),
                (3, MigrationState::Interrupted),
                (4, MigrationState::Failed),
                (5, MigrationState::Pending),
                (9, MigrationState::Missing),
            ]
        );
        let all = statuses(ups.into_iter(), &MigrationFiles::new(), &applied);
        assert_eq!(all[0].execution_ms, Some(2));
        assert_eq!(pending_versions(&all), [3, 5]);
        let refusal = refuse_inconsistent(&all, Path::new("m"), &MigrationFiles::new(), "why").unwrap_err();
        assert!(matches!(refusal, Refusal::Dirty { version: 4, .. }), "{refusal}");
        assert!(
            refusal.to_string().contains("migration 4 (m) why; it is marked failed"),
            "{refusal}"
        );
    }

    #[test]
    fn revert_takes_the_latest_or_everything_after_the_target_and_needs_down_files() {
        let applied: BTreeMap<i64, AppliedRow> = (1..=3).map(|v| (v, row(v, true, b"x", 1))).collect();
        let ups = (1..=3).map(|v| file(v, b"x"));
        let all = statuses(ups, &MigrationFiles::new(), &applied);
        let versions = |chosen: Vec<&MigrationStatus>| chosen.iter().map(|s| s.version).collect::<Vec<_>>();
        assert_eq!(versions(to_revert(&all, None, |_| true).unwrap()), [3]);
        assert_eq!(versions(to_revert(&all, Some(1), |_| true).unwrap()), [3, 2]);
        let refused = to_revert(&all, Some(0), |v| v != 2).unwrap_err();
        assert!(matches!(refused, Refusal::Irreversible { version: 2, .. }), "{refused}");
    }

    #[test]
    fn files_are_named_by_version_for_messages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1_first.up.sql"), "CREATE TABLE a (id INT);").unwrap();
        std::fs::write(dir.path().join("1_first.down.sql"), "DROP TABLE a;").unwrap();
        std::fs::write(dir.path().join("2_second.sql"), "CREATE TABLE b (id INT);").unwrap();
        std::fs::write(dir.path().join("README.md"), "not a migration").unwrap();
        let files = migration_files(dir.path()).unwrap();
        assert!(file_path(dir.path(), &files, 1, false).ends_with("1_first.up.sql"));
        assert!(file_path(dir.path(), &files, 1, true).ends_with("1_first.down.sql"));
        assert!(file_path(dir.path(), &files, 2, false).ends_with("2_second.sql"));
        assert!(file_path(dir.path(), &files, 7, false).ends_with("7_*.sql"));
        let missing = migration_files(Path::new("/nonexistent/migrations")).unwrap_err();
        assert!(missing.contains("x-flowinfra.migrations"), "{missing}");
    }
}
