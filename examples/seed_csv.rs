//! Writes a seed as what a `psql` user would load by hand: one CSV file per
//! table (the rows flowinfra loads, ids, references and bcrypt hashes in
//! place) and a `load.psql` script that empties the seeded tables and
//! `\copy`s each file in, all in one transaction. `scripts/bench.sh` (case
//! `pgseed`) times `flowinfra seed --clean` against `psql -f load.psql` on
//! the same rows.
//!
//!   cargo run --release --example seed_csv -- SEED_DIR OUT_DIR
//!   psql -v ON_ERROR_STOP=1 -f OUT_DIR/load.psql

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use flowinfra::mysql::rows::{StreamedTable, read_source, resolve_streamed};
use flowinfra::postgres::quote;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: seed_csv SEED_DIR OUT_DIR".into());
    };
    std::fs::create_dir_all(&out)?;
    let out = std::fs::canonicalize(&out)?;
    let source = read_source(&dir)?;
    let tables = resolve_streamed(&source)?;
    let mut script = BufWriter::new(std::fs::File::create(out.join("load.psql"))?);
    writeln!(script, "BEGIN;")?;
    for table in tables.iter().rev() {
        writeln!(script, "DELETE FROM {};", quote(table.table()))?;
    }
    for (index, table) in tables.iter().enumerate() {
        if table.row_count() == 0 {
            continue;
        }
        let file = out.join(format!("{index:02}_{}.csv", table.table()));
        write_csv(table, &file)?;
        let columns: Vec<String> = table.columns().iter().map(|c| quote(c)).collect();
        writeln!(
            script,
            "\\copy {} ({}) FROM '{}' WITH (FORMAT csv)",
            quote(table.table()),
            columns.join(", "),
            file.display().to_string().replace('\'', "''")
        )?;
    }
    writeln!(script, "COMMIT;")?;
    script.flush()?;
    Ok(())
}

/// The rows in CSV as PostgreSQL's `FORMAT csv` reads them: NULL is an
/// unquoted empty field, so an empty string is quoted.
fn write_csv(table: &StreamedTable, path: &std::path::Path) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut line = String::new();
    match table {
        StreamedTable::Rows(rows) => {
            for row in &rows.rows {
                line.clear();
                for (index, value) in row.iter().enumerate() {
                    if index > 0 {
                        line.push(',');
                    }
                    if let Some(value) = value {
                        field(value, &mut line);
                    }
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
        }
        StreamedTable::Generated(generated) => {
            let mut rows = generated.rows();
            loop {
                line.clear();
                let more = rows.next_with(|index, value| {
                    if index > 0 {
                        line.push(',');
                    }
                    field(value, &mut line);
                });
                if !more {
                    break;
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
        }
    }
    out.flush()
}

fn field(value: &str, line: &mut String) {
    if value.is_empty() || value.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&value.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(value);
    }
}
