//! What the two database libraries ([`crate::mysql`], [`crate::postgres`])
//! share, written once: the seed's run (decide, verify, load, record) and
//! its per-row drift check with the fingerprint shortcut ([`seed`],
//! [`drift`]), `check`'s reading of both ([`seed::SeedStatus`],
//! [`migrate::verdict_of`]), and how migration files and the rows of
//! `_sqlx_migrations` make each migration's state ([`migrate`]).
//!
//! No driver here: each library implements [`Session`] — a handful of
//! primitives (run SQL, read rows as text, load rows, its SQL spelling) —
//! with its own sqlx driver, and the logic above drives it. The seed's
//! manifest and rows are [`crate::mysql::manifest`] and
//! [`crate::mysql::rows`] (pure, shared by both).

pub mod drift;
pub mod migrate;
pub mod seed;

use std::future::Future;

use crate::mysql::rows::{SeedSource, StreamedTable, TableRows};
use seed::SeedError;

/// Rows as [`Session::texts`] reads them: every column text or NULL.
pub type TextRows = Vec<Vec<Option<String>>>;

/// One open connection to one database, as the shared seed logic drives
/// it. Errors are the server's message as each library words it
/// (`server_error`), ready to be wrapped.
pub trait Session: Send {
    /// The host the connection reaches (is it this machine?).
    fn host(&self) -> &str;

    /// Runs `sql` (one or more statements) for its effect.
    fn execute(&mut self, sql: String) -> impl Future<Output = Result<(), String>> + Send;

    /// Every row of the query `sql`; the SQL casts each column to text ([`Session::text`]).
    fn texts(&mut self, sql: String) -> impl Future<Output = Result<TextRows, String>> + Send;

    /// Which of `tables` exist in the connection's database, in order.
    fn existing_tables(&mut self, tables: &[&str]) -> impl Future<Output = Result<Vec<bool>, String>> + Send;

    /// Inserts `table`'s rows as they are (into a scratch table of this session).
    fn insert_rows(&mut self, table: &TableRows) -> impl Future<Output = Result<(), String>> + Send;

    /// Checks what the load is about to write before it starts (MySQL
    /// names a misspelt column at its file and line); nothing by default.
    fn prepare_load(
        &mut self,
        _source: &SeedSource,
        _tables: &[StreamedTable],
    ) -> impl Future<Output = Result<(), SeedError>> + Send {
        async { Ok(()) }
    }

    /// Loads `table`'s rows inside the load's transaction; with `upsert`,
    /// rows whose identity exists are updated instead.
    fn load_rows(&mut self, table: &StreamedTable, upsert: bool) -> impl Future<Output = Result<(), String>> + Send;

    /// `CREATE TABLE IF NOT EXISTS` of the seed record and its verification.
    fn create_record_tables(&self) -> &'static str;

    /// An identifier, quoted.
    fn quote(&self, identifier: &str) -> String;

    /// A string literal of `text`, whatever it holds (no escaping rules involved).
    fn literal(&self, text: &str) -> String;

    /// `expression` as text.
    fn text(&self, expression: &str) -> String;

    /// NULL-safe equality of two expressions.
    fn same(&self, left: &str, right: &str) -> String;

    /// Equality of two identifying columns, in a form the server joins on
    /// with an index or a hash (a seed of 100,000 rows must not compare
    /// every pair).
    fn same_key(&self, left: &str, right: &str) -> String;

    /// A `TIMESTAMP` column as `YYYY-MM-DD HH:MM:SS` text.
    fn time_text(&self, column: &str) -> String;

    /// The statement that begins a transaction whose reads all see one snapshot.
    fn begin_snapshot(&self) -> &'static str;

    /// Creates `scratch`, a table of this session only, holding `columns` of `real` with their types.
    fn create_scratch(&self, scratch: &str, real: &str, columns: &[String]) -> String;

    /// Drops the scratch tables `scratch`, if they exist.
    fn drop_scratch(&self, scratch: &[String]) -> String;

    /// One row's fingerprint over `columns` (quoted): a number below 2^60, as an SQL expression.
    fn row_hash(&self, columns: &[String]) -> String;

    /// A query of one value: a hash of the definition of `tables`' columns
    /// (names, types, collations). One query for all: the server's catalogue
    /// costs about a millisecond a query on MariaDB.
    fn schema_hash(&self, tables: &[&str]) -> String;
}

/// `SELECT COUNT(*) <from_where>`, and the like: the first text of the first row, as a number.
pub async fn number(session: &mut impl Session, sql: String) -> Result<u64, String> {
    let rows = session.texts(sql).await?;
    let text = rows.first().and_then(|row| row.first()).cloned().flatten();
    text.as_deref()
        .unwrap_or("0")
        .parse::<u64>()
        .map_err(|error| format!("the server answered a count with {text:?}: {error}"))
}
