//! The database's state as `check` reports it: are all migrations applied
//! and unchanged, and does the database hold the seed in the working tree?
//! The reading is [`crate::database`]'s, the same for PostgreSQL.

use std::path::Path;

use super::Database;
use super::migrate::Migrations;
use super::seed::SeedError;
pub use crate::database::migrate::verdict_of;
pub use crate::database::seed::SeedStatus;

/// Reads the seed record, counts the seeded tables' rows and compares them with the seed.
pub async fn seed_status(database: &mut Database, dir: &Path) -> Result<SeedStatus, SeedError> {
    crate::database::seed::seed_status(database, dir).await
}

/// The latest applied version when every migration is applied and unchanged; otherwise why not.
pub async fn migrations_verdict(database: &mut Database, dir: &Path) -> Result<Option<i64>, String> {
    let migrations = Migrations::load(dir).await.map_err(|e| e.to_string())?;
    let status = migrations.status(database).await.map_err(|e| e.to_string())?;
    verdict_of(&status)
}
