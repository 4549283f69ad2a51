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

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Row};

use super::quote;
pub use crate::database::seed::{
    SEED_TABLE, SeedAction, SeedError, SeedEvent, SeedOptions, SeedRecord, SeedReport, apply, forget, recorded,
};
use crate::mysql::rows::{GeneratedTable, StreamedTable};

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
    table: &StreamedTable,
    upsert: bool,
) -> Result<(), sqlx::Error> {
    if table.row_count() == 0 {
        return Ok(());
    }
    let target = quote(table.table());
    let columns: Vec<String> = table.columns().iter().map(|c| quote(c)).collect();
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
    copy_rows(connection, &copy_statement(&copy_into, &column_list), table.into()).await?;
    if upsert {
        sqlx::raw_sql(AssertSqlSafe(upsert_statement(
            table.table(),
            table.columns(),
            table.identity(),
        )))
        .execute(&mut *connection)
        .await?;
        sqlx::raw_sql(AssertSqlSafe(format!("DROP TABLE {STAGING_TABLE}")))
            .execute(&mut *connection)
            .await?;
    }
    advance_sequences(connection, table.table(), table.columns()).await
}

/// `COPY t (a, b) FROM STDIN`, text format (tab-separated, `\N` for NULL).
pub fn copy_statement(table: &str, column_list: &str) -> String {
    format!("COPY {table} ({column_list}) FROM STDIN")
}

/// The rows a COPY sends: listed ones, or a generated table's recipe.
#[derive(Clone, Copy)]
pub(super) enum CopySource<'a> {
    Listed(&'a [Vec<Option<String>>]),
    Generated(&'a GeneratedTable),
}

impl<'a> From<&'a StreamedTable> for CopySource<'a> {
    fn from(table: &'a StreamedTable) -> Self {
        match table {
            StreamedTable::Rows(rows) => CopySource::Listed(&rows.rows),
            StreamedTable::Generated(generated) => CopySource::Generated(generated),
        }
    }
}

/// Streams `table`'s rows in COPY's text format, a chunk at a time: a
/// generated table's rows are made into the chunk as it fills, so memory
/// stays one chunk whatever the row count.
pub(super) async fn copy_rows(
    connection: &mut PgConnection,
    statement: &str,
    source: CopySource<'_>,
) -> Result<(), sqlx::Error> {
    let mut copy = connection.copy_in_raw(statement).await?;
    let mut buffer = String::with_capacity(COPY_CHUNK_BYTES + 64 * 1024);
    let mut listed = match source {
        CopySource::Listed(rows) => Some(rows.iter()),
        CopySource::Generated(_) => None,
    };
    let mut generated = match source {
        CopySource::Generated(generated) => Some(generated.rows()),
        CopySource::Listed(_) => None,
    };
    loop {
        let more = match (&mut listed, &mut generated) {
            (Some(rows), _) => rows.next().map(|row| encode_row(row, &mut buffer)).is_some(),
            (_, Some(rows)) => {
                rows.next_with(|column, value| {
                    if column > 0 {
                        buffer.push('\t');
                    }
                    encode_value(value, &mut buffer);
                }) && {
                    buffer.push('\n');
                    true
                }
            }
            (None, None) => false,
        };
        if buffer.len() >= COPY_CHUNK_BYTES || (!more && !buffer.is_empty()) {
            if let Err(error) = copy.send(buffer.as_bytes()).await {
                let _ = copy.abort("flowinfra: sending seed rows failed").await;
                return Err(error);
            }
            buffer.clear();
        }
        if !more {
            break;
        }
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
            Some(text) => encode_value(text, out),
        }
    }
    out.push('\n');
}

/// One value in COPY's text format, its separators escaped. Most values
/// need no escape: those are copied whole.
fn encode_value(text: &str, out: &mut String) {
    if !text.contains(['\\', '\t', '\n', '\r']) {
        out.push_str(text);
        return;
    }
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

/// `INSERT INTO t (a, b) SELECT a, b FROM staging ON CONFLICT (id) DO UPDATE SET b = EXCLUDED.b`.
pub fn upsert_statement(table: &str, columns: &[String], identity: &[String]) -> String {
    let update: Vec<&String> = columns.iter().filter(|c| !identity.contains(c)).collect();
    let identity: Vec<String> = identity.iter().map(|c| quote(c)).collect();
    let columns: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let action = if update.is_empty() {
        "DO NOTHING".to_string()
    } else {
        format!(
            "DO UPDATE SET {}",
            update
                .iter()
                .map(|c| format!("{0} = EXCLUDED.{0}", quote(c)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "INSERT INTO {} ({1}) SELECT {1} FROM {STAGING_TABLE} ON CONFLICT ({2}) {action}",
        quote(table),
        columns.join(", "),
        identity.join(", ")
    )
}

/// Moves the sequences of the loaded serial or identity columns past the
/// largest loaded value, so the application's next insert does not collide
/// with a seeded id (MySQL's AUTO_INCREMENT does this by itself).
///
/// One simple-protocol query per table finds the columns that own a
/// sequence. Asking column by column cost a round trip each, and a prepared
/// query's round trip waited about 40 ms for the server's delayed ACK (sqlx
/// leaves Nagle's algorithm on): 2 s of a 100,000-row seed's 9.
async fn advance_sequences(connection: &mut PgConnection, table: &str, columns: &[String]) -> Result<(), sqlx::Error> {
    let names: Vec<String> = columns.iter().map(|c| literal(c)).collect();
    let find = format!(
        "SELECT c, s FROM (SELECT c, pg_get_serial_sequence({}, c) AS s FROM unnest(ARRAY[{}]::text[]) AS c) AS found \
         WHERE s IS NOT NULL",
        literal(&quote(table)),
        names.join(", ")
    );
    let sequences = sqlx::raw_sql(AssertSqlSafe(find)).fetch_all(&mut *connection).await?;
    for row in sequences {
        let column: String = row.try_get(0)?;
        let sequence: String = row.try_get(1)?;
        let sql = format!(
            "SELECT setval({}::regclass, GREATEST((SELECT max({}) FROM {}), 1))",
            literal(&sequence),
            quote(&column),
            quote(table)
        );
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *connection).await?;
    }
    Ok(())
}

/// A SQL string literal (`standard_conforming_strings`, on since PostgreSQL 9.1).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
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
        let columns = ["id".to_string(), "email".into(), "role".into()];
        let identity = ["id".to_string()];
        assert_eq!(
            upsert_statement("User", &columns, &identity),
            "INSERT INTO \"User\" (\"id\", \"email\", \"role\") SELECT \"id\", \"email\", \"role\" \
             FROM _flowinfra_seed_staging ON CONFLICT (\"id\") DO UPDATE SET \"email\" = EXCLUDED.\"email\", \
             \"role\" = EXCLUDED.\"role\""
        );
        assert!(upsert_statement("User", &identity, &identity).ends_with("ON CONFLICT (\"id\") DO NOTHING"));
    }
}
