//! The database's state as `check` reports it: are all migrations applied
//! and unchanged, and does the database hold the seed in the working tree?

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::AssertSqlSafe;

use super::Database;
use super::drift::{self, TableDrift};
use super::migrate::{MigrationState, MigrationStatus, Migrations};
use super::rows::{read_source, resolve_unhashed};
use super::seed::{SeedError, SeedRecord, quote, recorded};
use super::server_error;

/// The seed in the working tree against the one the database records.
#[derive(Debug, Clone)]
pub struct SeedStatus {
    pub expected_version: String,
    pub expected_checksum: String,
    pub recorded: Option<SeedRecord>,
    /// Rows now in each seeded table (absent tables are left out).
    pub counts: BTreeMap<String, u64>,
    /// Each seeded table against the seed; compared only when the recorded
    /// seed is the working tree's (otherwise it is stale anyway).
    pub drift: Vec<TableDrift>,
}

impl SeedStatus {
    /// `None` when current; otherwise why not, in one line.
    pub fn staleness(&self) -> Option<String> {
        let Some(recorded) = &self.recorded else {
            return Some("no seed applied; run `flowinfra seed`".into());
        };
        if recorded.version != self.expected_version {
            return Some(format!(
                "seed {} applied, the working tree has {}; run `flowinfra seed`",
                recorded.version, self.expected_version
            ));
        }
        if recorded.checksum != self.expected_checksum {
            return Some(format!(
                "the seed files changed since {} was applied; run `flowinfra seed`",
                recorded.version
            ));
        }
        if let Some(breaches) = drift::breaches(&self.drift) {
            return Some(format!(
                "seeded rows changed since the seed was applied: {breaches}; \
                 `flowinfra up` (or `flowinfra seed`) loads them again"
            ));
        }
        None
    }

    /// Rows the application added to seeded tables, when there are any: information, not a failure.
    pub fn added(&self) -> Option<String> {
        drift::added(&self.drift)
    }
}

/// Reads the seed record and counts the seeded tables' rows.
pub async fn seed_status(database: &mut Database, dir: &Path) -> Result<SeedStatus, SeedError> {
    let source = read_source(dir).map_err(|source| SeedError::Invalid {
        dir: dir.to_path_buf(),
        source,
    })?;
    let recorded = recorded(database).await?;
    let mut counts = BTreeMap::new();
    for table in &source.manifest.tables {
        // The name comes from the manifest and is quoted as an identifier.
        let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(&table.table)));
        if let Ok(count) = sqlx::query_scalar::<_, i64>(sql).fetch_one(database.connection()).await {
            counts.insert(table.table.clone(), count.max(0) as u64);
        }
    }
    let current = recorded
        .as_ref()
        .is_some_and(|r| r.version == source.manifest.version && r.checksum == source.checksum);
    let drift = if current {
        let tables = resolve_unhashed(&source).map_err(|source| SeedError::Invalid {
            dir: dir.to_path_buf(),
            source,
        })?;
        let max_allowed_packet: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
            .fetch_one(database.connection())
            .await
            .map_err(|error| SeedError::Compare(server_error(&error)))?;
        let max_allowed_packet = usize::try_from(max_allowed_packet).unwrap_or(usize::MAX);
        drift::compare(
            database.connection(),
            &source.manifest.tables,
            &tables,
            max_allowed_packet,
        )
        .await
        .map_err(|error| SeedError::Compare(server_error(&error)))?
    } else {
        Vec::new()
    };
    Ok(SeedStatus {
        drift,
        expected_version: source.manifest.version.clone(),
        expected_checksum: source.checksum.clone(),
        recorded,
        counts,
    })
}

/// The latest applied version when every migration is applied and unchanged; otherwise why not.
pub async fn migrations_verdict(database: &mut Database, dir: &Path) -> Result<Option<i64>, String> {
    let migrations = Migrations::load(dir).await.map_err(|e| e.to_string())?;
    let status = migrations.status(database).await.map_err(|e| e.to_string())?;
    verdict_of(&status)
}

/// `check`'s reading of migration statuses, for either database: the
/// latest version when all are applied and unchanged; otherwise why not. Pure.
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
