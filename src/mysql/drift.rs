//! Does the database still hold what the seed promises — every seeded row,
//! with its seeded values? Rows the application added are no breach of that
//! promise: they are counted, not failed.
//!
//! The seed's rows are loaded into a temporary copy of each table
//! (`CREATE TEMPORARY TABLE … LIKE`, visible to this connection only), so the
//! server converts their text exactly as it does for the real load; then two
//! joins on the identifying columns (the stable UUIDv5 id, or the natural
//! key) find the seeded rows that are missing and those whose columns
//! differ (`<=>`, NULL-safe), and a third counts the rows the seed does not
//! name. Password (`bcrypt`) columns are not compared: hashing them costs
//! bcrypt's work per row on every `check` and `up`.

use std::fmt;

use sqlx::{AssertSqlSafe, MySqlConnection, Row};

use super::manifest::TableSpec;
use super::rows::TableRows;
use super::seed::{insert_rows, quote};

/// The temporary table a seeded table's rows are loaded into for comparison.
const SCRATCH_TABLE: &str = "_flowinfra_seed_compare";

/// How many missing or changed rows are named per table (the rest are counted).
const NAMED_ROWS: usize = 10;

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
/// manifest `specs` in the same order) with the database. Tables that do
/// not exist are skipped: the migrations' check reports those.
pub async fn compare(
    connection: &mut MySqlConnection,
    specs: &[TableSpec],
    tables: &[TableRows],
    max_allowed_packet: usize,
) -> Result<Vec<TableDrift>, sqlx::Error> {
    let mut drifts = Vec::new();
    for (spec, table) in specs.iter().zip(tables) {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(&table.table)
        .fetch_one(&mut *connection)
        .await?;
        if exists == 0 {
            continue;
        }
        let drift = compare_table(connection, spec, table, max_allowed_packet).await;
        // Dropped whatever happened: the connection may be used again.
        sqlx::raw_sql(AssertSqlSafe(format!("DROP TEMPORARY TABLE IF EXISTS {SCRATCH_TABLE}")))
            .execute(&mut *connection)
            .await?;
        drifts.push(drift?);
    }
    Ok(drifts)
}

async fn compare_table(
    connection: &mut MySqlConnection,
    spec: &TableSpec,
    table: &TableRows,
    max_allowed_packet: usize,
) -> Result<TableDrift, sqlx::Error> {
    let real = quote(&table.table);
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP TEMPORARY TABLE IF EXISTS {SCRATCH_TABLE}; CREATE TEMPORARY TABLE {SCRATCH_TABLE} LIKE {real}"
    )))
    .execute(&mut *connection)
    .await?;
    let scratch = TableRows {
        table: SCRATCH_TABLE.to_string(),
        ..table.clone()
    };
    insert_rows(connection, &scratch, max_allowed_packet, false).await?;

    let same_identity = table
        .identity
        .iter()
        .map(|column| format!("d.{0} <=> s.{0}", quote(column)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let key_columns: Vec<&String> = if spec.key.iter().all(|key| table.columns.contains(key)) {
        spec.key.iter().collect()
    } else {
        table.identity.iter().collect()
    };
    let key_select = key_columns
        .iter()
        .map(|column| format!("CAST(s.{} AS CHAR)", quote(column)))
        .collect::<Vec<_>>()
        .join(", ");
    let key_text = |row: &sqlx::mysql::MySqlRow| -> Result<String, sqlx::Error> {
        let mut parts = Vec::new();
        for (index, column) in key_columns.iter().enumerate() {
            let value: Option<String> = row.try_get(index)?;
            parts.push(format!("{column}={}", value.as_deref().unwrap_or("NULL")));
        }
        Ok(parts.join(","))
    };

    let mut drift = TableDrift {
        table: table.table.clone(),
        ..TableDrift::default()
    };
    let missing = format!("FROM {SCRATCH_TABLE} s WHERE NOT EXISTS (SELECT 1 FROM {real} d WHERE {same_identity})");
    drift.missing_count = count(connection, &missing).await?;
    if drift.missing_count > 0 {
        let sql = format!("SELECT {key_select} {missing} LIMIT {NAMED_ROWS}");
        for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *connection).await? {
            drift.missing.push(key_text(&row)?);
        }
    }

    let compared: Vec<&str> = table
        .update_columns()
        .into_iter()
        .filter(|column| !spec.bcrypt.iter().any(|b| b == column))
        .collect();
    if !compared.is_empty() {
        let same_values = compared
            .iter()
            .map(|column| format!("d.{0} <=> s.{0}", quote(column)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let changed = format!("FROM {SCRATCH_TABLE} s JOIN {real} d ON {same_identity} WHERE NOT ({same_values})");
        drift.changed_count = count(connection, &changed).await?;
        if drift.changed_count > 0 {
            let flags = compared
                .iter()
                .map(|column| format!("CAST(d.{0} <=> s.{0} AS SIGNED)", quote(column)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT {key_select}, {flags} {changed} LIMIT {NAMED_ROWS}");
            for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *connection).await? {
                let mut differing = Vec::new();
                for (offset, column) in compared.iter().enumerate() {
                    let same: i64 = row.try_get(key_columns.len() + offset)?;
                    if same == 0 {
                        differing.push(column.to_string());
                    }
                }
                drift.changed.push((key_text(&row)?, differing));
            }
        }
    }

    let same_identity_reversed = same_identity.clone();
    drift.added = count(
        connection,
        &format!("FROM {real} d WHERE NOT EXISTS (SELECT 1 FROM {SCRATCH_TABLE} s WHERE {same_identity_reversed})"),
    )
    .await?;
    Ok(drift)
}

/// `SELECT COUNT(*) <from_where>`.
async fn count(connection: &mut MySqlConnection, from_where: &str) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) {from_where}")))
        .fetch_one(&mut *connection)
        .await?;
    Ok(count.max(0) as u64)
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
