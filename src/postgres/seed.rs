//! The seed on PostgreSQL: the shared run ([`crate::database::seed`]: the
//! same manifest, rows, record, decision and per-row drift check as the
//! MySQL kind's) with this server's load, `COPY … FROM STDIN`.
//!
//! Every load is one transaction: the rows of every table and the
//! `_flowinfra_seed` record commit together or not at all. Rows stream to
//! the server in COPY's text format, in chunks, never as INSERTs; the server
//! casts each text value to its column's type (uuid, boolean — `1`/`0` as
//! well as `true`/`false` —, jsonb, timestamps…). A plain apply upserts by
//! the rows' identity (stable ids derived from natural keys): each table's
//! rows go into a temporary table first, then `INSERT … SELECT … ON
//! CONFLICT (identity) DO UPDATE`; `--clean` deletes every row of the
//! seeded tables (children first) and copies straight into them. Serial
//! and identity columns' sequences move past the loaded ids afterwards.

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::quote;
pub use crate::database::seed::{
    SEED_TABLE, SeedAction, SeedError, SeedEvent, SeedOptions, SeedRecord, SeedReport, apply, forget, recorded,
};
use crate::mysql::rows::TableRows;

/// The seed record and its verification, created when missing.
pub(super) const CREATE_RECORD_TABLES: &str = "CREATE TABLE IF NOT EXISTS _flowinfra_seed (
    id BIGSERIAL PRIMARY KEY,
    version VARCHAR(255) NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    duration_ms BIGINT NOT NULL,
    row_counts TEXT NOT NULL,
    clean BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS _flowinfra_seed_verified (
    seed_id BIGINT NOT NULL PRIMARY KEY,
    tables TEXT NOT NULL
)";

/// The temporary table an upsert copies into.
const STAGING_TABLE: &str = "_flowinfra_seed_staging";

/// How many bytes of COPY data go to the server per message.
const COPY_CHUNK_BYTES: usize = 256 * 1024;

/// Copies `table`'s rows in; with `upsert`, through a staging table so
/// that rows whose identity exists are updated instead.
pub(super) async fn load_table(
    connection: &mut PgConnection,
    table: &TableRows,
    upsert: bool,
) -> Result<(), sqlx::Error> {
    if table.rows.is_empty() {
        return Ok(());
    }
    let target = quote(&table.table);
    let columns: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
    let column_list = columns.join(", ");
    let copy_into = if upsert {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE TEMP TABLE {STAGING_TABLE} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP"
        )))
        .execute(&mut *connection)
        .await?;
        STAGING_TABLE.to_string()
    } else {
        target.clone()
    };
    copy_rows(connection, &copy_statement(&copy_into, &column_list), &table.rows).await?;
    if upsert {
        sqlx::raw_sql(AssertSqlSafe(upsert_statement(table)))
            .execute(&mut *connection)
            .await?;
        sqlx::raw_sql(AssertSqlSafe(format!("DROP TABLE {STAGING_TABLE}")))
            .execute(&mut *connection)
            .await?;
    }
    advance_sequences(connection, table).await
}

/// `COPY t (a, b) FROM STDIN`, text format (tab-separated, `\N` for NULL).
pub fn copy_statement(table: &str, column_list: &str) -> String {
    format!("COPY {table} ({column_list}) FROM STDIN")
}

/// Streams `rows` in COPY's text format, a chunk at a time.
pub(super) async fn copy_rows(
    connection: &mut PgConnection,
    statement: &str,
    rows: &[Vec<Option<String>>],
) -> Result<(), sqlx::Error> {
    let mut copy = connection.copy_in_raw(statement).await?;
    let mut buffer = String::with_capacity(COPY_CHUNK_BYTES + 4096);
    for row in rows {
        encode_row(row, &mut buffer);
        if buffer.len() >= COPY_CHUNK_BYTES {
            if let Err(error) = copy.send(buffer.as_bytes()).await {
                let _ = copy.abort("flowinfra: sending seed rows failed").await;
                return Err(error);
            }
            buffer.clear();
        }
    }
    if !buffer.is_empty()
        && let Err(error) = copy.send(buffer.as_bytes()).await
    {
        let _ = copy.abort("flowinfra: sending seed rows failed").await;
        return Err(error);
    }
    copy.finish().await?;
    Ok(())
}

/// One row in COPY's text format: values separated by tabs, NULL as `\N`,
/// backslash, tab, newline and carriage return escaped.
pub fn encode_row(row: &[Option<String>], out: &mut String) {
    for (index, value) in row.iter().enumerate() {
        if index > 0 {
            out.push('\t');
        }
        match value {
            None => out.push_str("\\N"),
            Some(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

/// `INSERT INTO t (a, b) SELECT a, b FROM staging ON CONFLICT (id) DO UPDATE SET b = EXCLUDED.b`.
pub fn upsert_statement(table: &TableRows) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
    let identity: Vec<String> = table.identity.iter().map(|c| quote(c)).collect();
    let action = match table.update_columns().as_slice() {
        [] => "DO NOTHING".to_string(),
        update => format!(
            "DO UPDATE SET {}",
            update
                .iter()
                .map(|c| format!("{0} = EXCLUDED.{0}", quote(c)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "INSERT INTO {} ({1}) SELECT {1} FROM {STAGING_TABLE} ON CONFLICT ({2}) {action}",
        quote(&table.table),
        columns.join(", "),
        identity.join(", ")
    )
}

/// Moves the sequences of the loaded serial or identity columns past the
/// largest loaded value, so the application's next insert does not collide
/// with a seeded id (MySQL's AUTO_INCREMENT does this by itself).
async fn advance_sequences(connection: &mut PgConnection, table: &TableRows) -> Result<(), sqlx::Error> {
    for column in &table.columns {
        let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, $2)")
            .bind(quote(&table.table))
            .bind(column)
            .fetch_one(&mut *connection)
            .await?;
        if let Some(sequence) = sequence {
            let sql = format!(
                "SELECT setval($1::regclass, GREATEST((SELECT max({0}) FROM {1}), 1))",
                quote(column),
                quote(&table.table)
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(sequence)
                .execute(&mut *connection)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_separators_and_marks_nulls() {
        let mut out = String::new();
        encode_row(
            &[
                Some("a\tb".into()),
                None,
                Some("back\\slash\nline\r".into()),
                Some(String::new()),
            ],
            &mut out,
        );
        assert_eq!(out, "a\\tb\t\\N\tback\\\\slash\\nline\\r\t\n");
    }

    #[test]
    fn upserts_update_everything_but_the_identity() {
        let table = TableRows {
            table: "User".into(),
            columns: vec!["id".into(), "email".into(), "role".into()],
            rows: Vec::new(),
            identity: vec!["id".into()],
        };
        assert_eq!(
            upsert_statement(&table),
            "INSERT INTO \"User\" (\"id\", \"email\", \"role\") SELECT \"id\", \"email\", \"role\" \
             FROM _flowinfra_seed_staging ON CONFLICT (\"id\") DO UPDATE SET \"email\" = EXCLUDED.\"email\", \
             \"role\" = EXCLUDED.\"role\""
        );
        let keys_only = TableRows {
            columns: vec!["id".into()],
            ..table
        };
        assert!(upsert_statement(&keys_only).ends_with("ON CONFLICT (\"id\") DO NOTHING"));
    }
}
