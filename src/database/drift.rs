//! Does the database still hold what the seed promises — every seeded row,
//! with its seeded values? Rows the application added are no breach of that
//! promise: they are counted, not failed. The same check on either server.
//!
//! The full comparison ([`compare`]) loads the seed's rows into a scratch
//! table per seeded table (visible to this connection only), so the server
//! converts their text exactly as it does for the real load; then, in one
//! snapshot, joins on the identifying columns (the stable UUIDv5 id, or the
//! natural key) find the seeded rows that are missing and those whose
//! columns differ (NULL-safe), and count the rows the seed does not name.
//! Password (`bcrypt`) columns are not compared: hashing them costs
//! bcrypt's work per row on every `check` and `up`.
//!
//! That costs a scratch table, the seed's rows and a few joins per table on
//! every `up` and `check`. So once a comparison finds no breach, `up`
//! records in `_flowinfra_seed_verified` a fingerprint of each table as it
//! was compared (in the same snapshot): its compared columns' definitions,
//! its row count, and the sum of a 60-bit hash of each row's compared
//! columns. The next run computes the fingerprints in one statement, and
//! only when one differs — a row deleted, changed or added, a column
//! redefined — compares row by row again, which is also when its report is
//! needed. Equal fingerprints mean the same compared contents (up to a
//! 2^-60 chance per change), so the same verdict and the same count of
//! added rows as the comparison they were recorded with.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::seed::{SeedError, SeedRecord, VERIFIED_TABLE};
use super::{Session, TextRows};
use crate::mysql::manifest::TableSpec;
use crate::mysql::rows::{self, SeedSource, TableRows};

/// How many missing or changed rows are named per table (the rest are counted).
const NAMED_ROWS: usize = 10;

/// The scratch table the seed's rows of table number `index` are loaded into.
fn scratch_name(index: usize) -> String {
    format!("_flowinfra_seed_compare_{index}")
}

/// The layout of what [`VERIFIED_TABLE`] holds; another layout is ignored.
const VERIFIED_FORMAT: u32 = 1;

/// One seeded table against the seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDrift {
    pub table: String,
    /// Seeded rows that are gone, by natural key (at most [`NAMED_ROWS`]).
    pub missing: Vec<String>,
    pub missing_count: u64,
    /// Seeded rows whose values differ: natural key and the differing columns.
    pub changed: Vec<(String, Vec<String>)>,
    pub changed_count: u64,
    /// Rows the seed does not name (added by the application): information only.
    pub added: u64,
}

impl TableDrift {
    /// Whether a seeded row is missing or changed.
    pub fn breaks_the_seed(&self) -> bool {
        self.missing_count > 0 || self.changed_count > 0
    }
}

impl fmt::Display for TableDrift {
    /// `User email=a@x missing; Role role_name=admin changed (description)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for key in &self.missing {
            parts.push(format!("{} {key} missing", self.table));
        }
        if self.missing_count > self.missing.len() as u64 {
            let more = if self.missing.is_empty() { "" } else { "more " };
            parts.push(format!(
                "{} {more}{} rows missing",
                self.missing_count - self.missing.len() as u64,
                self.table
            ));
        }
        for (key, columns) in &self.changed {
            parts.push(format!("{} {key} changed ({})", self.table, columns.join(", ")));
        }
        if self.changed_count > self.changed.len() as u64 {
            parts.push(format!(
                "{} more {} rows changed",
                self.changed_count - self.changed.len() as u64,
                self.table
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Compares every table of the seed (`tables`, resolved, with their
/// manifest `specs` in the same order) with the database, row by row.
/// Tables that do not exist are skipped: the migrations' check reports
/// those. Also returns each table's fingerprint, taken in the comparison's
/// snapshot, when every table exists.
pub async fn compare(
    session: &mut impl Session,
    specs: &[TableSpec],
    tables: &[TableRows],
) -> Result<(Vec<TableDrift>, Option<Vec<Fingerprint>>), String> {
    let names: Vec<&str> = tables.iter().map(|t| t.table.as_str()).collect();
    let exists = session.existing_tables(&names).await?;
    let compared: Vec<(usize, &TableSpec, &TableRows)> = specs
        .iter()
        .zip(tables)
        .enumerate()
        .filter(|(index, _)| exists[*index])
        .map(|(index, (spec, table))| (index, spec, table))
        .collect();
    let scratch: Vec<String> = compared.iter().map(|(index, _, _)| scratch_name(*index)).collect();
    let outcome = compare_loaded(session, &compared, exists.iter().all(|e| *e)).await;
    // Dropped whatever happened: the connection may be used again.
    let dropped = match scratch.is_empty() {
        true => Ok(()),
        false => {
            let drop = session.drop_scratch(&scratch);
            session.execute(drop).await
        }
    };
    let result = outcome?;
    dropped?;
    Ok(result)
}

async fn compare_loaded(
    session: &mut impl Session,
    compared: &[(usize, &TableSpec, &TableRows)],
    fingerprint: bool,
) -> Result<(Vec<TableDrift>, Option<Vec<Fingerprint>>), String> {
    for (index, _, table) in compared {
        let create = session.create_scratch(&scratch_name(*index), &table.table, &table.columns);
        session.execute(create).await?;
        let scratch = TableRows {
            table: scratch_name(*index),
            ..(*table).clone()
        };
        session.insert_rows(&scratch).await?;
    }
    // The fingerprints and the joins see one snapshot: a fingerprint
    // recorded is of the very contents found to hold the seed.
    let begin = session.begin_snapshot().to_string();
    session.execute(begin).await?;
    let outcome = async {
        let fingerprints = if fingerprint {
            let shapes: Vec<Shape> = compared.iter().map(|(_, spec, table)| Shape::of(spec, table)).collect();
            Some(fingerprints(session, &shapes).await?)
        } else {
            None
        };
        let mut drifts = Vec::new();
        for (index, spec, table) in compared {
            drifts.push(compare_table(session, spec, table, &scratch_name(*index)).await?);
        }
        Ok::<_, String>((drifts, fingerprints))
    }
    .await;
    let end = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = session.execute(end.to_string()).await;
    let outcome = outcome?;
    ended?;
    Ok(outcome)
}

async fn compare_table(
    session: &mut impl Session,
    spec: &TableSpec,
    table: &TableRows,
    scratch: &str,
) -> Result<TableDrift, String> {
    let key_columns: Vec<&String> = if spec.key.iter().all(|key| table.columns.contains(key)) {
        spec.key.iter().collect()
    } else {
        table.identity.iter().collect()
    };
    let compared: Vec<&str> = table
        .update_columns()
        .into_iter()
        .filter(|column| !spec.bcrypt.iter().any(|b| b == column))
        .collect();
    let sql = Joins::new(session, table, scratch, &key_columns, &compared);
    let counts = first_row(session.texts(sql.counts).await?);
    let number = |index: usize| -> u64 {
        counts
            .get(index)
            .cloned()
            .flatten()
            .and_then(|text| text.parse().ok())
            .unwrap_or(0)
    };
    let mut drift = TableDrift {
        table: table.table.clone(),
        missing_count: number(0),
        changed_count: number(1),
        added: number(2),
        ..TableDrift::default()
    };
    let key_text = |row: &[Option<String>]| -> String {
        key_columns
            .iter()
            .zip(row)
            .map(|(column, value)| format!("{column}={}", value.as_deref().unwrap_or("NULL")))
            .collect::<Vec<_>>()
            .join(",")
    };
    if drift.missing_count > 0 {
        for row in session.texts(sql.missing).await? {
            drift.missing.push(key_text(&row));
        }
    }
    if drift.changed_count > 0 {
        for row in session.texts(sql.changed).await? {
            let differing = compared
                .iter()
                .zip(&row[key_columns.len()..])
                .filter(|(_, same)| same.as_deref() != Some("1"))
                .map(|(column, _)| column.to_string())
                .collect();
            drift.changed.push((key_text(&row), differing));
        }
    }
    Ok(drift)
}

/// The statements that compare one table with its scratch copy.
struct Joins {
    /// Missing, changed and added rows, counted in one row.
    counts: String,
    /// The natural keys of (some) missing rows.
    missing: String,
    /// The natural keys of (some) changed rows, then per compared column `1` when it is the same.
    changed: String,
}

impl Joins {
    fn new(session: &impl Session, table: &TableRows, scratch: &str, keys: &[&String], compared: &[&str]) -> Joins {
        let q = |column: &str| session.quote(column);
        let pair = |column: &str| session.same(&format!("d.{}", q(column)), &format!("s.{}", q(column)));
        let key_pair = |column: &str| session.same_key(&format!("d.{}", q(column)), &format!("s.{}", q(column)));
        let real = q(&table.table);
        let same_identity = table
            .identity
            .iter()
            .map(|c| key_pair(c))
            .collect::<Vec<_>>()
            .join(" AND ");
        let same_values = compared.iter().map(|c| pair(c)).collect::<Vec<_>>().join(" AND ");
        let key_select = keys
            .iter()
            .map(|column| session.text(&format!("s.{}", q(column))))
            .collect::<Vec<_>>()
            .join(", ");
        let flags = compared
            .iter()
            .map(|column| format!("CASE WHEN {} THEN '1' ELSE '0' END", pair(column)))
            .collect::<Vec<_>>()
            .join(", ");
        let missing = format!("FROM {scratch} s WHERE NOT EXISTS (SELECT 1 FROM {real} d WHERE {same_identity})");
        let changed = format!("FROM {scratch} s JOIN {real} d ON {same_identity} WHERE NOT ({same_values})");
        let added = format!("FROM {real} d WHERE NOT EXISTS (SELECT 1 FROM {scratch} s WHERE {same_identity})");
        let count = |from_where: &str| format!("(SELECT {} {from_where})", session.text("COUNT(*)"));
        let changed_count = if compared.is_empty() {
            session.text("0")
        } else {
            count(&changed)
        };
        Joins {
            counts: format!("SELECT {}, {changed_count}, {}", count(&missing), count(&added)),
            missing: format!("SELECT {key_select} {missing} LIMIT {NAMED_ROWS}"),
            changed: format!("SELECT {key_select}, {flags} {changed} LIMIT {NAMED_ROWS}"),
        }
    }
}

fn first_row(rows: TextRows) -> Vec<Option<String>> {
    rows.into_iter().next().unwrap_or_default()
}

/// What a table's fingerprint covers: the columns the comparison reads
/// (the identity and the compared values; not bcrypt columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub table: String,
    pub columns: Vec<String>,
}

impl Shape {
    fn of(spec: &TableSpec, table: &TableRows) -> Shape {
        Shape {
            table: table.table.clone(),
            columns: table
                .columns
                .iter()
                .filter(|column| !spec.bcrypt.contains(column))
                .cloned()
                .collect(),
        }
    }
}

/// A table's contents as far as the seed's promise goes:
/// `<columns' definition hash>:<rows>:<sum of row hashes>`.
pub type Fingerprint = String;

/// The row count a fingerprint holds.
fn rows_of(fingerprint: &Fingerprint) -> Option<u64> {
    fingerprint.split(':').nth(1)?.parse().ok()
}

/// The fingerprints of `shapes`' tables now, in one statement (one snapshot).
pub async fn fingerprints(session: &mut impl Session, shapes: &[Shape]) -> Result<Vec<Fingerprint>, String> {
    if shapes.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = shapes.iter().map(|shape| shape.table.as_str()).collect();
    let mut parts = vec![format!("({})", session.schema_hash(&names))];
    for shape in shapes {
        let columns: Vec<String> = shape.columns.iter().map(|c| session.quote(c)).collect();
        let summary = format!(
            "CONCAT(COUNT(*), ':', COALESCE(SUM({}), 0))",
            session.row_hash(&columns)
        );
        parts.push(format!(
            "(SELECT {} FROM {})",
            session.text(&summary),
            session.quote(&shape.table)
        ));
    }
    let row = first_row(session.texts(format!("SELECT {}", parts.join(", "))).await?);
    let Some((Some(schema), tables)) = row.split_first().filter(|(_, tables)| tables.len() == shapes.len()) else {
        return Err(format!(
            "fingerprints: {} values for {} tables",
            row.len(),
            shapes.len()
        ));
    };
    Ok(tables
        .iter()
        .map(|summary| format!("{schema}:{}", summary.as_deref().unwrap_or("NULL")))
        .collect())
}

/// What [`verify`] found: each seeded table against the seed, and the rows
/// of each when its fingerprint was taken (every seeded table exists).
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub drifts: Vec<TableDrift>,
    pub counts: Option<BTreeMap<String, u64>>,
}

fn counts_of(shapes: impl Iterator<Item = (String, Fingerprint)>) -> Option<BTreeMap<String, u64>> {
    shapes
        .map(|(table, fingerprint)| Some((table, rows_of(&fingerprint)?)))
        .collect()
}

/// What `_flowinfra_seed_verified` holds for the recorded seed: each
/// table's shape and fingerprint when its comparison found no breach, and
/// the rows the application had added then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Verified {
    format: u32,
    tables: Vec<VerifiedTable>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VerifiedTable {
    #[serde(flatten)]
    shape: Shape,
    fingerprint: Fingerprint,
    added: u64,
}

/// Every seeded row of the recorded seed `record` (whose version and
/// checksum are `source`'s) against the database: from the fingerprints
/// when they are the ones last verified, otherwise row by row. With
/// `remember` (`up`, holding the project lock), a comparison that finds no
/// breach records its fingerprints; `check` writes nothing.
pub async fn verify(
    session: &mut impl Session,
    source: &SeedSource,
    record: &SeedRecord,
    remember: bool,
) -> Result<Verification, SeedError> {
    let started = std::time::Instant::now();
    if let Some(verified) = last_verified(session, record.id).await {
        let shapes: Vec<Shape> = verified.tables.iter().map(|t| t.shape.clone()).collect();
        // An error (a table or column gone) means: compare row by row, which says what.
        if let Ok(now) = fingerprints(session, &shapes).await
            && now.iter().eq(verified.tables.iter().map(|t| &t.fingerprint))
        {
            tracing::debug!("seed verified by its fingerprints in {:?}", started.elapsed());
            return Ok(Verification {
                counts: counts_of(shapes.into_iter().map(|shape| shape.table).zip(now)),
                drifts: verified
                    .tables
                    .into_iter()
                    .map(|t| TableDrift {
                        table: t.shape.table,
                        added: t.added,
                        ..TableDrift::default()
                    })
                    .collect(),
            });
        }
    }
    let tables = rows::resolve_unhashed(source).map_err(|error| SeedError::Invalid {
        dir: source.dir.clone(),
        source: error,
    })?;
    let (drifts, fingerprints) = compare(session, &source.manifest.tables, &tables)
        .await
        .map_err(SeedError::Compare)?;
    let counts = fingerprints
        .as_ref()
        .and_then(|fingerprints| counts_of(tables.iter().map(|t| t.table.clone()).zip(fingerprints.iter().cloned())));
    if remember
        && breaches(&drifts).is_none()
        && let Some(fingerprints) = fingerprints
    {
        let verified = Verified {
            format: VERIFIED_FORMAT,
            tables: source
                .manifest
                .tables
                .iter()
                .zip(&tables)
                .zip(fingerprints)
                .zip(&drifts)
                .map(|(((spec, table), fingerprint), drift)| VerifiedTable {
                    shape: Shape::of(spec, table),
                    fingerprint,
                    added: drift.added,
                })
                .collect(),
        };
        let json = serde_json::to_string(&verified).expect("fingerprints serialise");
        let sql = format!(
            "DELETE FROM {VERIFIED_TABLE}; INSERT INTO {VERIFIED_TABLE} (seed_id, tables) VALUES ({}, {})",
            record.id,
            session.literal(&json)
        );
        session.execute(sql).await.map_err(SeedError::Record)?;
    }
    tracing::debug!("seeded rows compared row by row in {:?}", started.elapsed());
    Ok(Verification { drifts, counts })
}

/// The verification recorded for the seed run `seed_id`, if any (none when
/// the table does not exist yet: `check` creates nothing).
async fn last_verified(session: &mut impl Session, seed_id: i64) -> Option<Verified> {
    let sql = format!("SELECT tables FROM {VERIFIED_TABLE} WHERE seed_id = {seed_id}");
    let rows = session.texts(sql).await.ok()?;
    let text = rows.into_iter().next()?.into_iter().next()??;
    let verified: Verified = serde_json::from_str(&text).ok()?;
    (verified.format == VERIFIED_FORMAT).then_some(verified)
}

/// The seed's breaches in one line, or `None` when every seeded row is there as seeded.
pub fn breaches(drifts: &[TableDrift]) -> Option<String> {
    let parts: Vec<String> = drifts
        .iter()
        .filter(|drift| drift.breaks_the_seed())
        .map(ToString::to_string)
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Rows the application added, per table, in one line; `None` when there are none.
pub fn added(drifts: &[TableDrift]) -> Option<String> {
    let parts: Vec<String> = drifts
        .iter()
        .filter(|drift| drift.added > 0)
        .map(|drift| format!("{} {}", drift.added, drift.table))
        .collect();
    (!parts.is_empty()).then(|| format!("rows added since seeding (not the seed's): {}", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drift_names_the_table_and_natural_key_of_each_row() {
        let drift = TableDrift {
            table: "User".into(),
            missing: vec!["email=ana@flowlite.co".into()],
            missing_count: 1,
            changed: vec![("email=bo@flowlite.co".into(), vec!["first_name".into()])],
            changed_count: 3,
            added: 2,
        };
        assert!(drift.breaks_the_seed());
        assert_eq!(
            drift.to_string(),
            "User email=ana@flowlite.co missing; User email=bo@flowlite.co changed (first_name); \
             2 more User rows changed"
        );
        assert_eq!(breaches(std::slice::from_ref(&drift)).unwrap(), drift.to_string());
        assert_eq!(
            added(&[drift]).unwrap(),
            "rows added since seeding (not the seed's): 2 User"
        );
    }

    #[test]
    fn added_rows_alone_break_nothing() {
        let drift = TableDrift {
            table: "User".into(),
            added: 1,
            ..TableDrift::default()
        };
        assert!(!drift.breaks_the_seed());
        assert_eq!(breaches(&[drift]), None);
    }
}
