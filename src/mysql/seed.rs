//! The seed, applied: `_flowinfra_seed` records what was loaded (version,
//! content checksum, time, duration, rows per table), so `up` loads the
//! seed only when none is recorded or it changed, and says when the content
//! changed but the version did not.
//!
//! Every run is one transaction: the rows of every table and the record
//! commit together or not at all, so a server killed mid-load leaves the
//! previous state. Rows go in as multi-row INSERTs sized under
//! `max_allowed_packet` and MySQL's 65,535 placeholders, each shape prepared
//! once. A plain apply upserts by primary key (ids are stable: derived from
//! natural keys), leaving rows the seed does not name alone; `--clean`
//! first deletes every row of the seeded tables, children before parents.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection, MySqlConnection};

use super::manifest::{SeedFileError, rows_per_statement};
use super::rows::{self, TableRows};
use super::{Database, server_error};

/// flowinfra's record of applied seeds, one row per run.
pub const SEED_TABLE: &str = "_flowinfra_seed";

const CREATE_SEED_TABLE: &str = "CREATE TABLE IF NOT EXISTS _flowinfra_seed (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    version VARCHAR(255) NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    duration_ms BIGINT NOT NULL,
    row_counts TEXT NOT NULL,
    clean BOOLEAN NOT NULL
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci";

#[derive(Debug, Clone, Default)]
pub struct SeedOptions {
    /// Delete the seeded tables' rows and reload, even when the seed is current.
    pub clean: bool,
    /// Allow `clean` against a host that is not loopback.
    pub allow_remote: bool,
}

/// What happens while a seed runs, for the caller to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedEvent {
    /// Rows are about to be loaded.
    Loading {
        version: String,
    },
    Warning(String),
}

/// A seed that was applied, as `_flowinfra_seed` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedRecord {
    pub version: String,
    pub checksum: String,
    /// `YYYY-MM-DD HH:MM:SS`, server time.
    pub applied_at: String,
    pub duration_ms: i64,
    pub rows: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedAction {
    /// The recorded seed has this version and checksum: nothing done.
    Current { applied_at: String },
    Applied {
        previous: Option<SeedRecord>,
        cleaned: bool,
        /// The content differs from the recorded seed of the same version.
        changed_without_version: bool,
    },
}

/// What a seed run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub action: SeedAction,
    pub version: String,
    pub checksum: String,
    /// Rows loaded per table, in load order (empty when nothing was done).
    pub rows: Vec<(String, u64)>,
    pub duration: Duration,
}

impl SeedReport {
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, count)| count).sum()
    }
}

/// Why a seed run failed. After any failure the database holds what it held before.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the seed in {dir} cannot be loaded; fix the file and run again")]
    Invalid {
        dir: PathBuf,
        #[source]
        source: SeedFileError,
    },

    #[error(
        "refusing `seed --clean` against {host}, which is not this machine: it deletes every row of the seeded tables; \
         pass --allow-remote if that database is yours to wipe"
    )]
    RemoteClean { host: String },

    #[error("reading or writing the seed record ({SEED_TABLE}) failed: {0}")]
    Record(String),

    #[error(
        "--clean could not delete the rows of table `{table}`: {reason}; nothing was changed (one transaction). \
         If another table's rows refer to them, delete those first or add that table to the seed"
    )]
    Delete { table: String, reason: String },

    #[error(
        "loading table `{table}` failed: {reason}; nothing was changed (the seed loads in one transaction). \
         Check the table's data file against the schema (are all migrations applied? `flowinfra migrate info`)"
    )]
    Load { table: String, reason: String },
}

/// Applies the seed in `dir` when it is outdated (or always, with `clean`).
pub async fn apply(
    database: &mut Database,
    dir: &Path,
    options: &SeedOptions,
    on_event: &mut (dyn FnMut(SeedEvent) + Send),
) -> Result<SeedReport, SeedError> {
    let source = read_for_run(dir, &database.endpoint().host, options)?;
    let connection = database.connection();
    sqlx::raw_sql(CREATE_SEED_TABLE)
        .execute(&mut *connection)
        .await
        .map_err(record_error)?;
    let previous = latest_record(connection).await?;
    let changed_without_version = match decide(dir, &source, previous.as_ref(), options, on_event) {
        Decision::Current(report) => return Ok(report),
        Decision::Load {
            changed_without_version,
        } => changed_without_version,
    };
    let version = source.manifest.version.clone();
    let invalid = |source: SeedFileError| SeedError::Invalid {
        dir: dir.to_path_buf(),
        source,
    };
    let tables = rows::resolve(&source).map_err(invalid)?;
    on_event(SeedEvent::Loading {
        version: version.clone(),
    });
    let started = Instant::now();
    let max_allowed_packet: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
        .fetch_one(&mut *connection)
        .await
        .map_err(record_error)?;
    let max_allowed_packet = usize::try_from(max_allowed_packet).unwrap_or(usize::MAX);

    let mut transaction = connection.begin().await.map_err(record_error)?;
    if options.clean {
        for table in tables.iter().rev() {
            sqlx::raw_sql(AssertSqlSafe(format!("DELETE FROM {}", quote(&table.table))))
                .execute(&mut *transaction)
                .await
                .map_err(|error| SeedError::Delete {
                    table: table.table.clone(),
                    reason: server_error(&error),
                })?;
        }
    }
    let mut counts = Vec::new();
    for table in &tables {
        insert_rows(&mut transaction, table, max_allowed_packet, !options.clean)
            .await
            .map_err(|error| SeedError::Load {
                table: table.table.clone(),
                reason: server_error(&error),
            })?;
        counts.push((table.table.clone(), table.rows.len() as u64));
    }
    let duration = started.elapsed();
    let row_counts: BTreeMap<&str, u64> = counts.iter().map(|(t, c)| (t.as_str(), *c)).collect();
    sqlx::query(
        "INSERT INTO _flowinfra_seed (version, checksum, duration_ms, row_counts, clean) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&version)
    .bind(&source.checksum)
    .bind(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
    .bind(serde_json::to_string(&row_counts).expect("counts serialise"))
    .bind(options.clean)
    .execute(&mut *transaction)
    .await
    .map_err(record_error)?;
    transaction.commit().await.map_err(record_error)?;
    Ok(SeedReport {
        action: SeedAction::Applied {
            previous,
            cleaned: options.clean,
            changed_without_version,
        },
        version,
        checksum: source.checksum,
        rows: counts,
        duration: started.elapsed(),
    })
}

/// The first step of a seed run on any server: read the seed in `dir`, and
/// refuse `--clean` against a host that is not this machine.
pub fn read_for_run(dir: &Path, host: &str, options: &SeedOptions) -> Result<rows::SeedSource, SeedError> {
    let source = rows::read_source(dir).map_err(|source| SeedError::Invalid {
        dir: dir.to_path_buf(),
        source,
    })?;
    if options.clean && !options.allow_remote && !is_loopback(host) {
        return Err(SeedError::RemoteClean { host: host.to_string() });
    }
    Ok(source)
}

/// What a seed run does, given the seed recorded last.
#[derive(Debug)]
pub enum Decision {
    /// The recorded seed has this version and checksum (and no `--clean`): nothing to do.
    Current(SeedReport),
    Load {
        changed_without_version: bool,
    },
}

/// Decides whether `source` is loaded; warns through `on_event` when its
/// content changed but its version did not. Pure.
pub fn decide(
    dir: &Path,
    source: &rows::SeedSource,
    previous: Option<&SeedRecord>,
    options: &SeedOptions,
    on_event: &mut (dyn FnMut(SeedEvent) + Send),
) -> Decision {
    let version = &source.manifest.version;
    let same_version = previous.is_some_and(|p| &p.version == version);
    let same_content = previous.is_some_and(|p| p.checksum == source.checksum);
    if same_version && same_content && !options.clean {
        return Decision::Current(SeedReport {
            action: SeedAction::Current {
                applied_at: previous.map(|p| p.applied_at.clone()).unwrap_or_default(),
            },
            version: version.clone(),
            checksum: source.checksum.clone(),
            rows: Vec::new(),
            duration: Duration::ZERO,
        });
    }
    let changed_without_version = same_version && !same_content;
    if changed_without_version {
        on_event(SeedEvent::Warning(format!(
            "the seed's content changed but its version ({version}) did not: applying it anyway; \
             bump `version` in {} so everyone sees the seed changed",
            dir.join(super::manifest::MANIFEST_FILE).display()
        )));
    }
    Decision::Load {
        changed_without_version,
    }
}

/// The most recently applied seed, if any.
pub async fn recorded(database: &mut Database) -> Result<Option<SeedRecord>, SeedError> {
    let connection = database.connection();
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(SEED_TABLE)
    .fetch_one(&mut *connection)
    .await
    .map_err(record_error)?;
    if exists == 0 {
        return Ok(None);
    }
    latest_record(connection).await
}

/// Clears the seed record, so the next run loads the seed again (after a
/// migration revert, the seeded tables may be gone). Returns whether there
/// was one.
pub async fn forget(database: &mut Database) -> Result<bool, SeedError> {
    if recorded(database).await?.is_none() {
        return Ok(false);
    }
    sqlx::raw_sql("DELETE FROM _flowinfra_seed")
        .execute(database.connection())
        .await
        .map_err(record_error)?;
    Ok(true)
}

async fn latest_record(connection: &mut MySqlConnection) -> Result<Option<SeedRecord>, SeedError> {
    let row: Option<(String, String, String, i64, String)> = sqlx::query_as(
        "SELECT version, checksum, DATE_FORMAT(applied_at, '%Y-%m-%d %H:%i:%s'), duration_ms, row_counts \
         FROM _flowinfra_seed ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(connection)
    .await
    .map_err(record_error)?;
    Ok(
        row.map(|(version, checksum, applied_at, duration_ms, row_counts)| SeedRecord {
            version,
            checksum,
            applied_at,
            duration_ms,
            rows: serde_json::from_str(&row_counts).unwrap_or_default(),
        }),
    )
}

/// Inserts `table`'s rows in multi-row batches; with `upsert`, a row whose
/// key exists updates it instead (`VALUES(col)` works on MySQL and MariaDB;
/// MySQL's row alias does not exist on MariaDB).
async fn insert_rows(
    connection: &mut MySqlConnection,
    table: &TableRows,
    max_allowed_packet: usize,
    upsert: bool,
) -> Result<(), sqlx::Error> {
    if table.rows.is_empty() {
        return Ok(());
    }
    let per_statement = rows_per_statement(table.columns.len(), table.widest_row_bytes(), max_allowed_packet);
    let mut statement_for = BTreeMap::new();
    for chunk in table.rows.chunks(per_statement) {
        // At most two shapes (full batches and the last one): each is
        // prepared once and reused from the connection's statement cache.
        let sql = statement_for
            .entry(chunk.len())
            .or_insert_with(|| insert_statement(table, chunk.len(), upsert))
            .clone();
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            for value in row {
                query = query.bind(value.as_deref());
            }
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// `INSERT INTO t (a, b) VALUES (?, ?), … [ON DUPLICATE KEY UPDATE b = VALUES(b)]`.
pub fn insert_statement(table: &TableRows, rows: usize, upsert: bool) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
    let tuple = format!("({})", vec!["?"; columns.len()].join(", "));
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        quote(&table.table),
        columns.join(", "),
        vec![tuple.as_str(); rows].join(", ")
    );
    if upsert {
        let updates: Vec<String> = match table.update_columns().as_slice() {
            // Nothing to update: a no-op assignment keeps the statement an upsert.
            [] => vec![format!("{0} = {0}", columns[0])],
            update => update
                .iter()
                .map(|column| format!("{0} = VALUES({0})", quote(column)))
                .collect(),
        };
        sql.push_str(" ON DUPLICATE KEY UPDATE ");
        sql.push_str(&updates.join(", "));
    }
    sql
}

/// A backquoted identifier (`User` and `Transaction` are reserved words).
pub fn quote(identifier: &str) -> String {
    format!("`{}`", identifier.replace('`', "``"))
}

/// Whether `host` is this machine: a loopback address or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn record_error(error: sqlx::Error) -> SeedError {
    SeedError::Record(server_error(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], identity: &[&str]) -> TableRows {
        TableRows {
            table: "User".into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            identity: identity.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn inserts_are_multi_row_with_backquoted_names() {
        let sql = insert_statement(&table(&["id_user", "email"], &["id_user"]), 2, false);
        assert_eq!(sql, "INSERT INTO `User` (`id_user`, `email`) VALUES (?, ?), (?, ?)");
    }

    #[test]
    fn upserts_update_everything_but_the_identity_with_values() {
        let sql = insert_statement(&table(&["id_user", "email", "role"], &["id_user"]), 1, true);
        assert_eq!(
            sql,
            "INSERT INTO `User` (`id_user`, `email`, `role`) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE `email` = VALUES(`email`), `role` = VALUES(`role`)"
        );
        let only_keys = insert_statement(&table(&["a", "b"], &["a", "b"]), 1, true);
        assert!(only_keys.ends_with("ON DUPLICATE KEY UPDATE `a` = `a`"), "{only_keys}");
    }

    #[test]
    fn identifiers_with_backquotes_are_escaped() {
        assert_eq!(quote("odd`name"), "`odd``name`");
    }

    #[test]
    fn only_loopback_hosts_count_as_this_machine() {
        for host in ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.0.0.5", "192.168.1.10", "db.example.com", "::", "0.0.0.0"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
