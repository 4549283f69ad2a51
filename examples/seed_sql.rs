//! Prints a seed as the SQL dump a `mysql` client would import: the seeded
//! tables emptied, then multi-row INSERTs of about 1 MiB each (mysqldump's
//! `--extended-insert` with its default `net_buffer_length`), all in one
//! transaction. `scripts/bench.sh` (case `seed`) times `flowinfra seed
//! --clean` against `mysql < dump.sql` on the same rows.
//!
//!   cargo run --release --example seed_sql -- SEED_DIR > dump.sql

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use flowinfra::mysql::rows::{read_source, resolve};
use flowinfra::mysql::seed::quote;

/// About mysqldump's default statement size.
const STATEMENT_BYTES: usize = 1 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: seed_sql SEED_DIR")?;
    let source = read_source(&dir)?;
    let tables = resolve(&source)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    writeln!(out, "SET autocommit = 0;")?;
    for table in tables.iter().rev() {
        writeln!(out, "DELETE FROM {};", quote(&table.table))?;
    }
    for table in &tables {
        let head = format!(
            "INSERT INTO {} ({}) VALUES ",
            quote(&table.table),
            table.columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
        );
        let mut statement = String::new();
        for row in &table.rows {
            let values: Vec<String> = row.iter().map(|value| literal(value.as_deref())).collect();
            let tuple = format!("({})", values.join(", "));
            if !statement.is_empty() && statement.len() + tuple.len() > STATEMENT_BYTES {
                writeln!(out, "{statement};")?;
                statement.clear();
            }
            if statement.is_empty() {
                statement.push_str(&head);
            } else {
                statement.push_str(", ");
            }
            statement.push_str(&tuple);
        }
        if !statement.is_empty() {
            writeln!(out, "{statement};")?;
        }
    }
    writeln!(out, "COMMIT;")?;
    out.flush()?;
    Ok(())
}

/// A SQL string literal (or NULL), escaped as mysqldump escapes.
fn literal(value: Option<&str>) -> String {
    let Some(value) = value else {
        return "NULL".into();
    };
    let mut text = String::with_capacity(value.len() + 2);
    text.push('\'');
    for c in value.chars() {
        match c {
            '\'' => text.push_str("\\'"),
            '\\' => text.push_str("\\\\"),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '\0' => text.push_str("\\0"),
            c => text.push(c),
        }
    }
    text.push('\'');
    text
}
