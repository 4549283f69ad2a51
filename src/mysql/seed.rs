//! The seed on MySQL (and MariaDB): the shared run ([`crate::database::seed`]:
//! `_flowinfra_seed` records what was loaded — version, content checksum,
//! time, duration, rows per table —, so `up` loads the seed only when none is
//! recorded, it changed, or a seeded row was deleted or changed) with this
//! server's load.
//!
//! Every load is one transaction: the rows of every table and the record
//! commit together or not at all, so a server killed mid-load leaves the
//! previous state. Rows go in as multi-row INSERTs sized under
//! `max_allowed_packet` and MySQL's 65,535 placeholders, each shape prepared
//! once. A plain apply upserts by primary key (ids are stable: derived from
//! natural keys), leaving rows the seed does not name alone; `--clean`
//! first deletes every row of the seeded tables, children before parents.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, MySqlConnection};

use super::manifest::rows_per_statement;
use super::rows::{self, TableRows};
use super::server_error;
pub use crate::database::seed::{
    Decision, SEED_TABLE, SeedAction, SeedError, SeedEvent, SeedOptions, SeedRecord, SeedReport, VERIFIED_TABLE, apply,
    decide, forget, is_loopback, read_for_run, recorded,
};

/// The seed record and its verification, created when missing.
pub(super) const CREATE_RECORD_TABLES: &str = "CREATE TABLE IF NOT EXISTS _flowinfra_seed (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    version VARCHAR(255) NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    duration_ms BIGINT NOT NULL,
    row_counts TEXT NOT NULL,
    clean BOOLEAN NOT NULL
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS _flowinfra_seed_verified (
    seed_id BIGINT NOT NULL PRIMARY KEY,
    tables MEDIUMTEXT NOT NULL
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci";

/// Checks every column the seed writes against the table's columns
/// (information_schema) before loading, so a misspelt header names its file
/// and line rather than reaching the server as "Unknown column". A table
/// that does not exist is left to the load, whose error says to migrate.
pub(super) async fn check_columns(
    connection: &mut MySqlConnection,
    source: &rows::SeedSource,
    tables: &[rows::StreamedTable],
) -> Result<(), SeedError> {
    for (spec, table) in source.manifest.tables.iter().zip(tables) {
        let existing: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(table.table())
        .fetch_all(&mut *connection)
        .await
        .map_err(record_error)?;
        if existing.is_empty() {
            continue;
        }
        // MySQL's column names are not case-sensitive.
        let Some(unknown) = table
            .columns()
            .iter()
            .find(|column| !existing.iter().any(|e| e.eq_ignore_ascii_case(column)))
        else {
            continue;
        };
        let manifest = source.dir.join(super::manifest::MANIFEST_FILE).display().to_string();
        let location = match spec.file() {
            _ if spec.id.as_deref() == Some(unknown.as_str()) => {
                format!("{manifest} (`id:` of table `{}`)", table.table())
            }
            Some(file)
                if file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")) =>
            {
                source.dir.join(file).display().to_string()
            }
            Some(file) => {
                let name = file.to_string_lossy();
                let content = source.files.iter().find(|(n, _)| *n == name).map(|(_, c)| c.as_slice());
                let line = rows::csv_header_line(content.unwrap_or_default());
                format!("{}:{line}", source.dir.join(file).display())
            }
            None => format!("{manifest} (`generate:` of table `{}`)", table.table()),
        };
        let hint = crate::spec::error::hint_for(unknown, existing.iter().map(String::as_str), || {
            format!("its columns: {}", existing.join(", "))
        });
        return Err(SeedError::UnknownColumn {
            location,
            table: table.table().to_string(),
            column: unknown.clone(),
            hint,
        });
    }
    Ok(())
}

/// Inserts `table`'s rows in multi-row batches; with `upsert`, a row whose
/// key exists updates it instead (`VALUES(col)` works on MySQL and MariaDB;
/// MySQL's row alias does not exist on MariaDB).
pub(super) async fn insert_rows(
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
}
