//! The seed's run on either server, written once: read the seed, decide
//! whether it loads (none recorded, changed, or `--clean`), and when the
//! recorded seed is current verify that the database still holds every
//! seeded row as seeded ([`super::drift::verify`]), loading again to restore
//! what was deleted or changed; then it loads the rows (each table through
//! the library's [`Session::load_rows`]) and records the run in
//! `_flowinfra_seed`, in one transaction.
//! `check` reads the same record and drift ([`seed_status`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Session;
use super::drift::{self, TableDrift};
use crate::mysql::manifest::SeedFileError;
use crate::mysql::rows::{self, SeedSource, StreamedTable};

/// flowinfra's record of applied seeds, one row per run.
pub const SEED_TABLE: &str = "_flowinfra_seed";

/// The fingerprints of the seeded tables' contents last verified against
/// the recorded seed (one row, keyed by the `_flowinfra_seed` row's id).
pub const VERIFIED_TABLE: &str = "_flowinfra_seed_verified";

#[derive(Debug, Clone, Default)]
pub struct SeedOptions {
    /// Delete the seeded tables' rows and reload, even when the seed is current.
    pub clean: bool,
    /// Allow `clean` against a host that is not loopback.
    pub allow_remote: bool,
    /// The remote engine's address when the database runs on one: `clean`
    /// then counts as remote whatever address it is reached on (a forward
    /// listens on this machine's loopback).
    pub remote_engine: Option<String>,
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
    /// Its row's id in `_flowinfra_seed`.
    #[serde(skip)]
    pub id: i64,
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

    #[error("comparing the database's seeded rows with the seed failed: {0}")]
    Compare(String),

    #[error(
        "{location}: column `{column}` is not a column of table `{table}` ({hint}); nothing was loaded. \
         Fix the name, or add the column with a migration"
    )]
    UnknownColumn {
        /// `file:line` of a CSV header, the file for YAML, the manifest for a derived id or generated column.
        location: String,
        table: String,
        column: String,
        /// "did you mean `x`?", or the table's columns.
        hint: String,
    },

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
    session: &mut impl Session,
    dir: &Path,
    options: &SeedOptions,
    on_event: &mut (dyn FnMut(SeedEvent) + Send),
) -> Result<SeedReport, SeedError> {
    let source = read_for_run(dir, session.host(), options)?;
    // DDL only when needed: on a warm `up` both tables exist, and a
    // catalogue lookup is cheaper than `CREATE TABLE IF NOT EXISTS`.
    let exist = session
        .existing_tables(&[SEED_TABLE, VERIFIED_TABLE])
        .await
        .map_err(SeedError::Record)?;
    if exist != [true, true] {
        let create = session.create_record_tables().to_string();
        session.execute(create).await.map_err(SeedError::Record)?;
    }
    let previous = latest_record(session).await?;
    let version = source.manifest.version.clone();
    let invalid = |source: SeedFileError| SeedError::Invalid {
        dir: dir.to_path_buf(),
        source,
    };
    let changed_without_version = match (decide(dir, &source, previous.as_ref(), options, on_event), &previous) {
        (Decision::Current(report), Some(record)) => {
            // Recorded as applied: is every seeded row still there as seeded?
            // A row deleted or changed by hand is restored (the load upserts on
            // stable keys), so `up` and `check` agree; added rows are left alone.
            let drifts = drift::verify(session, &source, record, true).await?.drifts;
            match drift::breaches(&drifts) {
                None => return Ok(*report),
                Some(breaches) => on_event(SeedEvent::Warning(format!(
                    "seeded rows changed since seed {version} was applied: {breaches}; loading the seed again \
                     to restore them"
                ))),
            }
            false
        }
        (Decision::Current(report), None) => return Ok(*report),
        (
            Decision::Load {
                changed_without_version,
            },
            _,
        ) => changed_without_version,
    };
    // Generated tables stay recipes: their rows are made as they are sent.
    let tables = rows::resolve_streamed(&source).map_err(invalid)?;
    on_event(SeedEvent::Loading {
        version: version.clone(),
    });
    let started = Instant::now();
    let counts = load(session, &source, &tables, options, started).await?;
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

/// Loads `tables` and records the run in one transaction: the rows of
/// every table and the record commit together or not at all, so a server
/// killed mid-load leaves the previous state. `--clean` first deletes every
/// row of the seeded tables, children before parents.
async fn load(
    session: &mut impl Session,
    source: &SeedSource,
    tables: &[StreamedTable],
    options: &SeedOptions,
    started: Instant,
) -> Result<Vec<(String, u64)>, SeedError> {
    session.prepare_load(source, tables).await?;
    session.execute("BEGIN".into()).await.map_err(SeedError::Record)?;
    let outcome = async {
        if options.clean {
            for table in tables.iter().rev() {
                let sql = format!("DELETE FROM {}", session.quote(table.table()));
                session.execute(sql).await.map_err(|reason| SeedError::Delete {
                    table: table.table().to_string(),
                    reason,
                })?;
            }
        }
        let mut counts = Vec::new();
        for table in tables {
            session
                .load_rows(table, !options.clean)
                .await
                .map_err(|reason| SeedError::Load {
                    table: table.table().to_string(),
                    reason,
                })?;
            counts.push((table.table().to_string(), table.row_count()));
        }
        let row_counts: BTreeMap<&str, u64> = counts.iter().map(|(t, c)| (t.as_str(), *c)).collect();
        let sql = format!(
            "INSERT INTO {SEED_TABLE} (version, checksum, duration_ms, row_counts, clean) VALUES ({}, {}, {}, {}, {})",
            session.literal(&source.manifest.version),
            session.literal(&source.checksum),
            i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            session.literal(&serde_json::to_string(&row_counts).expect("counts serialise")),
            if options.clean { "TRUE" } else { "FALSE" },
        );
        session.execute(sql).await.map_err(SeedError::Record)?;
        Ok(counts)
    }
    .await;
    match outcome {
        Ok(counts) => {
            session.execute("COMMIT".into()).await.map_err(SeedError::Record)?;
            Ok(counts)
        }
        Err(error) => {
            let _ = session.execute("ROLLBACK".into()).await;
            Err(error)
        }
    }
}

/// The most recently applied seed, if any.
pub async fn recorded(session: &mut impl Session) -> Result<Option<SeedRecord>, SeedError> {
    let exists = session
        .existing_tables(&[SEED_TABLE])
        .await
        .map_err(SeedError::Record)?;
    if exists != [true] {
        return Ok(None);
    }
    latest_record(session).await
}

/// Clears the seed record, so the next run loads the seed again (after a
/// migration revert, the seeded tables may be gone). Returns whether there
/// was one.
pub async fn forget(session: &mut impl Session) -> Result<bool, SeedError> {
    if recorded(session).await?.is_none() {
        return Ok(false);
    }
    let tables = session
        .existing_tables(&[SEED_TABLE, VERIFIED_TABLE])
        .await
        .map_err(SeedError::Record)?;
    for (table, exists) in [SEED_TABLE, VERIFIED_TABLE].into_iter().zip(tables) {
        if exists {
            session
                .execute(format!("DELETE FROM {table}"))
                .await
                .map_err(SeedError::Record)?;
        }
    }
    Ok(true)
}

async fn latest_record(session: &mut impl Session) -> Result<Option<SeedRecord>, SeedError> {
    let sql = format!(
        "SELECT {}, version, checksum, {}, {}, row_counts FROM {SEED_TABLE} ORDER BY id DESC LIMIT 1",
        session.text("id"),
        session.time_text("applied_at"),
        session.text("duration_ms"),
    );
    let rows = session.texts(sql).await.map_err(SeedError::Record)?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let [id, version, checksum, applied_at, duration_ms, row_counts]: [Option<String>; 6] = row
        .try_into()
        .map_err(|_| SeedError::Record(format!("{SEED_TABLE}: unexpected columns")))?;
    let text = |value: Option<String>| value.unwrap_or_default();
    Ok(Some(SeedRecord {
        id: text(id).parse().unwrap_or_default(),
        version: text(version),
        checksum: text(checksum),
        applied_at: text(applied_at),
        duration_ms: text(duration_ms).parse().unwrap_or_default(),
        rows: serde_json::from_str(&text(row_counts)).unwrap_or_default(),
    }))
}

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

/// What `check` reads: the seed record, the seeded tables' row counts, and
/// — when the recorded seed is the working tree's — every seeded row
/// against the seed. Writes nothing.
pub async fn seed_status(session: &mut impl Session, dir: &Path) -> Result<SeedStatus, SeedError> {
    let source = rows::read_source(dir).map_err(|source| SeedError::Invalid {
        dir: dir.to_path_buf(),
        source,
    })?;
    let recorded = recorded(session).await?;
    let verification = match &recorded {
        Some(record) if record.version == source.manifest.version && record.checksum == source.checksum => {
            drift::verify(session, &source, record, false).await?
        }
        _ => drift::Verification::default(),
    };
    let counts = match verification.counts {
        Some(counts) => counts,
        None => row_counts(session, &source).await?,
    };
    let drift = verification.drifts;
    Ok(SeedStatus {
        drift,
        expected_version: source.manifest.version.clone(),
        expected_checksum: source.checksum.clone(),
        recorded,
        counts,
    })
}

/// Rows now in each seeded table (absent tables are left out), in one statement.
async fn row_counts(session: &mut impl Session, source: &SeedSource) -> Result<BTreeMap<String, u64>, SeedError> {
    let names: Vec<&str> = source.manifest.tables.iter().map(|t| t.table.as_str()).collect();
    let existing = session.existing_tables(&names).await.map_err(SeedError::Record)?;
    let present: Vec<&str> = names
        .iter()
        .zip(existing)
        .filter(|(_, e)| *e)
        .map(|(t, _)| *t)
        .collect();
    let mut counts = BTreeMap::new();
    if present.is_empty() {
        return Ok(counts);
    }
    let sql = format!(
        "SELECT {}",
        present
            .iter()
            .map(|table| format!("(SELECT {} FROM {})", session.text("COUNT(*)"), session.quote(table)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let row = session.texts(sql).await.map_err(SeedError::Record)?;
    for (table, count) in present.iter().zip(row.into_iter().next().unwrap_or_default()) {
        counts.insert(table.to_string(), count.and_then(|c| c.parse().ok()).unwrap_or(0));
    }
    Ok(counts)
}

/// The first step of a seed run on any server: read the seed in `dir`, and
/// refuse `--clean` against a host that is not this machine.
pub fn read_for_run(dir: &Path, host: &str, options: &SeedOptions) -> Result<SeedSource, SeedError> {
    let source = rows::read_source(dir).map_err(|source| SeedError::Invalid {
        dir: dir.to_path_buf(),
        source,
    })?;
    if options.clean && !options.allow_remote {
        // A forward's address is 127.0.0.1, but the data is the remote engine's.
        if let Some(engine) = &options.remote_engine {
            return Err(SeedError::RemoteClean {
                host: format!("the database on the remote engine {engine}"),
            });
        }
        if !is_loopback(host) {
            return Err(SeedError::RemoteClean { host: host.to_string() });
        }
    }
    Ok(source)
}

/// What a seed run does, given the seed recorded last.
#[derive(Debug)]
pub enum Decision {
    /// The recorded seed has this version and checksum (and no `--clean`): nothing to do.
    Current(Box<SeedReport>),
    Load {
        changed_without_version: bool,
    },
}

/// Decides whether `source` is loaded; warns through `on_event` when its
/// content changed but its version did not. Pure.
pub fn decide(
    dir: &Path,
    source: &SeedSource,
    previous: Option<&SeedRecord>,
    options: &SeedOptions,
    on_event: &mut (dyn FnMut(SeedEvent) + Send),
) -> Decision {
    let version = &source.manifest.version;
    let same_version = previous.is_some_and(|p| &p.version == version);
    let same_content = previous.is_some_and(|p| p.checksum == source.checksum);
    if same_version && same_content && !options.clean {
        return Decision::Current(Box::new(SeedReport {
            action: SeedAction::Current {
                applied_at: previous.map(|p| p.applied_at.clone()).unwrap_or_default(),
            },
            version: version.clone(),
            checksum: source.checksum.clone(),
            rows: Vec::new(),
            duration: Duration::ZERO,
        }));
    }
    let changed_without_version = same_version && !same_content;
    if changed_without_version {
        on_event(SeedEvent::Warning(format!(
            "the seed's content changed but its version ({version}) did not: applying it anyway; \
             bump `version` in {} so everyone sees the seed changed",
            dir.join(crate::mysql::manifest::MANIFEST_FILE).display()
        )));
    }
    Decision::Load {
        changed_without_version,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
