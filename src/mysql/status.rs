//! The database's state as `check` reports it: are all migrations applied
//! and unchanged, and does the database hold the seed in the working tree?

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::AssertSqlSafe;

use super::Database;
use super::migrate::{MigrationState, MigrationStatus, Migrations};
use super::rows::read_source;
use super::seed::{SeedError, SeedRecord, quote, recorded};

/// The seed in the working tree against the one the database records.
#[derive(Debug, Clone)]
pub struct SeedStatus {
    pub expected_version: String,
    pub expected_checksum: String,
    pub recorded: Option<SeedRecord>,
    /// Rows now in each seeded table (absent tables are left out).
    pub counts: BTreeMap<String, u64>,
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
        let drifted: Vec<String> = recorded
            .rows
            .iter()
            .filter(|(table, rows)| self.counts.get(*table) != Some(*rows))
            .map(|(table, rows)| {
                format!(
                    "{table} has {} rows, the seed {rows}",
                    self.counts.get(table).copied().unwrap_or(0)
                )
            })
            .collect();
        if !drifted.is_empty() {
            return Some(format!(
                "rows changed by hand: {}; run `flowinfra seed --clean`",
                drifted.join(", ")
            ));
        }
        None
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
    Ok(SeedStatus {
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
