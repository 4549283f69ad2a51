//! The MySQL (and MariaDB) side of the shared seed logic
//! ([`crate::database::Session`]): this server's SQL spelling and its
//! primitives, over the library's one connection.

use super::Database;
use super::rows::{SeedSource, StreamedTable, TableRows};
use super::seed::{CREATE_RECORD_TABLES, SeedError, insert_rows, quote};
use super::server_error;
use crate::database::{Session, TextRows};

impl Session for Database {
    fn host(&self) -> &str {
        &self.endpoint().host
    }

    async fn execute(&mut self, sql: String) -> Result<(), String> {
        let done = super::generic::execute(self.connection(), sql).await;
        done.map_err(|error| server_error(&error))
    }

    async fn texts(&mut self, sql: String) -> Result<TextRows, String> {
        let rows = super::generic::texts(self.connection(), sql).await;
        rows.map_err(|error| server_error(&error))
    }

    async fn existing_tables(&mut self, tables: &[&str]) -> Result<Vec<bool>, String> {
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        let flags: Vec<String> = tables
            .iter()
            .map(|table| {
                format!(
                    "CAST((SELECT COUNT(*) FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {}) AS CHAR)",
                    self.literal(table)
                )
            })
            .collect();
        let rows = self.texts(format!("SELECT {}", flags.join(", "))).await?;
        let row = rows.into_iter().next().unwrap_or_default();
        Ok(row
            .iter()
            .map(|count| count.as_deref().is_some_and(|c| c != "0"))
            .collect())
    }

    async fn insert_rows(&mut self, table: &TableRows) -> Result<(), String> {
        let max_allowed_packet = self.max_allowed_packet().await?;
        insert_rows(self.connection(), table, max_allowed_packet, false)
            .await
            .map_err(|error| server_error(&error))
    }

    async fn prepare_load(&mut self, source: &SeedSource, tables: &[StreamedTable]) -> Result<(), SeedError> {
        super::seed::check_columns(self.connection(), source, tables).await
    }

    async fn load_rows(&mut self, table: &StreamedTable, upsert: bool) -> Result<(), String> {
        let max_allowed_packet = self.max_allowed_packet().await?;
        insert_rows(self.connection(), &table.to_rows(), max_allowed_packet, upsert)
            .await
            .map_err(|error| server_error(&error))
    }

    fn create_record_tables(&self) -> &'static str {
        CREATE_RECORD_TABLES
    }

    fn quote(&self, identifier: &str) -> String {
        quote(identifier)
    }

    /// A hex literal with a character-set introducer: no escaping, whatever
    /// `sql_mode` says of backslashes, and coercible like any string literal.
    fn literal(&self, text: &str) -> String {
        if text.is_empty() {
            return "''".into();
        }
        let hex: String = text.bytes().map(|byte| format!("{byte:02X}")).collect();
        format!("_utf8mb4 X'{hex}'")
    }

    fn text(&self, expression: &str) -> String {
        format!("CAST({expression} AS CHAR)")
    }

    fn same(&self, left: &str, right: &str) -> String {
        format!("{left} <=> {right}")
    }

    /// `<=>` too: MySQL looks it up in an index as it does `=`.
    fn same_key(&self, left: &str, right: &str) -> String {
        format!("{left} <=> {right}")
    }

    fn time_text(&self, column: &str) -> String {
        format!("DATE_FORMAT({column}, '%Y-%m-%d %H:%i:%s')")
    }

    fn begin_snapshot(&self) -> &'static str {
        // A consistent snapshot needs REPEATABLE READ, whatever the server's default.
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION WITH CONSISTENT SNAPSHOT"
    }

    /// `LIKE`: every column as the real table has it, so the server converts
    /// the seed's text as the real load does.
    fn create_scratch(&self, scratch: &str, real: &str, _columns: &[String]) -> String {
        format!(
            "DROP TEMPORARY TABLE IF EXISTS {scratch}; CREATE TEMPORARY TABLE {scratch} LIKE {}",
            quote(real)
        )
    }

    fn drop_scratch(&self, scratch: &[String]) -> String {
        format!("DROP TEMPORARY TABLE IF EXISTS {}", scratch.join(", "))
    }

    /// 60 bits of the MD5 of the row's values, each with its length (NULL apart).
    fn row_hash(&self, columns: &[String]) -> String {
        let values: Vec<String> = columns
            .iter()
            .map(|column| format!("IFNULL(CONCAT(LENGTH({column}), ':', {column}), 'N')"))
            .collect();
        format!(
            "CAST(CONV(LEFT(MD5(CONCAT_WS(',', {})), 15), 16, 10) AS UNSIGNED)",
            values.join(", ")
        )
    }

    fn schema_hash(&self, tables: &[&str]) -> String {
        let names: Vec<String> = tables.iter().map(|table| self.literal(table)).collect();
        format!(
            "SELECT CAST(COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS(' ', TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, \
             COLUMN_TYPE, IFNULL(COLLATION_NAME, ''))), 15), 16, 10) AS UNSIGNED)), 0) AS CHAR) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ({})",
            names.join(", ")
        )
    }
}
