//! The PostgreSQL side of the shared seed logic ([`crate::database::Session`]):
//! this server's SQL spelling and its primitives, over the library's one
//! connection.

use super::seed::{CREATE_RECORD_TABLES, CopySource, copy_rows, copy_statement, load_table};
use super::{Database, quote, server_error};
use crate::database::{Session, TextRows};
use crate::mysql::rows::{StreamedTable, TableRows};

impl Session for Database {
    fn host(&self) -> &str {
        &self.endpoint().host
    }

    async fn execute(&mut self, sql: String) -> Result<(), String> {
        let done = crate::mysql::generic::execute(self.connection(), sql).await;
        done.map_err(|error| server_error(&error))
    }

    async fn texts(&mut self, sql: String) -> Result<TextRows, String> {
        let rows = crate::mysql::generic::texts(self.connection(), sql).await;
        rows.map_err(|error| server_error(&error))
    }

    async fn existing_tables(&mut self, tables: &[&str]) -> Result<Vec<bool>, String> {
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        let flags: Vec<String> = tables
            .iter()
            .map(|table| format!("(to_regclass(quote_ident({})) IS NOT NULL)::text", self.literal(table)))
            .collect();
        let rows = self.texts(format!("SELECT {}", flags.join(", "))).await?;
        let row = rows.into_iter().next().unwrap_or_default();
        Ok(row.iter().map(|flag| flag.as_deref() == Some("true")).collect())
    }

    async fn insert_rows(&mut self, table: &TableRows) -> Result<(), String> {
        let columns: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
        copy_rows(
            self.connection(),
            &copy_statement(&quote(&table.table), &columns.join(", ")),
            CopySource::Listed(&table.rows),
        )
        .await
        .map_err(|error| server_error(&error))
    }

    async fn load_rows(&mut self, table: &StreamedTable, upsert: bool) -> Result<(), String> {
        load_table(self.connection(), table, upsert)
            .await
            .map_err(|error| server_error(&error))
    }

    fn create_record_tables(&self) -> &'static str {
        CREATE_RECORD_TABLES
    }

    fn quote(&self, identifier: &str) -> String {
        quote(identifier)
    }

    /// Decoded from hex: no escaping rules involved.
    fn literal(&self, text: &str) -> String {
        let hex: String = text.bytes().map(|byte| format!("{byte:02x}")).collect();
        format!("convert_from('\\x{hex}'::bytea, 'UTF8')")
    }

    fn text(&self, expression: &str) -> String {
        format!("({expression})::text")
    }

    fn same(&self, left: &str, right: &str) -> String {
        format!("{left} IS NOT DISTINCT FROM {right}")
    }

    /// `=`: PostgreSQL hashes or indexes it, never `IS NOT DISTINCT FROM`
    /// (a nested loop over every pair). Identifying columns hold no NULL
    /// (primary keys; a natural key with a NULL never matches an upsert either).
    fn same_key(&self, left: &str, right: &str) -> String {
        format!("{left} = {right}")
    }

    fn time_text(&self, column: &str) -> String {
        format!("to_char({column}, 'YYYY-MM-DD HH24:MI:SS')")
    }

    fn begin_snapshot(&self) -> &'static str {
        "BEGIN ISOLATION LEVEL REPEATABLE READ"
    }

    /// Only the seed's columns, with their types and collations, and no
    /// constraints or defaults: a serial column's default would draw from
    /// the real table's sequence.
    fn create_scratch(&self, scratch: &str, real: &str, columns: &[String]) -> String {
        let columns: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        format!(
            "DROP TABLE IF EXISTS pg_temp.{scratch}; CREATE TEMP TABLE {scratch} AS SELECT {} FROM {} WITH NO DATA",
            columns.join(", "),
            quote(real)
        )
    }

    fn drop_scratch(&self, scratch: &[String]) -> String {
        let names: Vec<String> = scratch.iter().map(|name| format!("pg_temp.{name}")).collect();
        format!("DROP TABLE IF EXISTS {}", names.join(", "))
    }

    /// 60 bits of the MD5 of the row's values as a row literal (quoted, NULL apart).
    fn row_hash(&self, columns: &[String]) -> String {
        format!(
            "('x' || left(md5(ROW({})::text), 15))::bit(60)::bigint",
            columns.join(", ")
        )
    }

    fn schema_hash(&self, tables: &[&str]) -> String {
        let names: Vec<String> = tables
            .iter()
            .map(|table| format!("to_regclass(quote_ident({}))", self.literal(table)))
            .collect();
        format!(
            "SELECT md5(string_agg(attrelid::regclass::text || ' ' || attname || ' ' || \
             format_type(atttypid, atttypmod) || ' ' || attcollation::text, ',' ORDER BY attrelid, attnum)) \
             FROM pg_attribute WHERE attrelid IN ({}) AND attnum > 0 AND NOT attisdropped",
            names.join(", ")
        )
    }
}
