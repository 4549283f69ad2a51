//! One database's state as `check` reports it: are all migrations applied
//! and unchanged, and does it hold the seed in the working tree? The
//! staleness rule is the MySQL kind's ([`SeedStatus`]).

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::AssertSqlSafe;

use super::migrate::Migrations;
use super::seed::{SeedError, recorded};
use super::{Database, quote};
use crate::mysql::rows::read_source;
pub use crate::mysql::status::SeedStatus;

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
    crate::mysql::status::verdict_of(&status)
}
