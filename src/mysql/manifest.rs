//! The seed manifest (`manifest.yaml`), the seed's checksum, stable row ids
//! and the bulk-insert batch size. Pure: text in, data out; no database.
//!
//! ```yaml
//! version: 2025-11-05.2          # a human version; bump it when the data changes
//! tables:                        # in load order: a table after those it references
//!   - table: Role
//!     file: Role.csv             # CSV (header row) or YAML (a list of mappings)
//!     id: id_role                # primary key, derived from the natural key
//!     key: [role_name]           # natural key; default: the id column holds a label
//!   - table: User
//!     file: User.csv
//!     id: id_user
//!     key: [email]
//!     references: { role: Role } # the file names a Role by its key; the row gets its id
//!     bcrypt: [password]         # the file holds the demo password; the row gets a bcrypt hash
//!   - table: Transaction         # a generated table, for load tests
//!     id: id_transaction
//!     generate:
//!       rows: 100000
//!       random_seed: 42
//!       columns:
//!         id_user: { pick: User }
//!         transaction_name: { text: "Compra {n}" }
//!         value: { decimal: [1000, 500000] }
//!         transaction_date: { date: [2025-01-01, 2025-10-31] }
//!         transaction_type: { one_of: [income, expense] }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::spec::error::{Diagnostic, hint_for};
use crate::spec::reader::{Fields, Reader};
use crate::spec::yaml::{self, Node, Value};

/// The manifest's file name inside a seed directory.
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// MySQL's limit on `?` placeholders in one prepared statement.
pub const MAX_PLACEHOLDERS: usize = 65_535;

/// The namespace of every derived row id: ids are UUIDv5 of this namespace
/// and `table` + natural key, so they are the same on every machine and run.
pub const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f0c_5e2a_8d3b_4f61_9a7e_2c4b_1d5f_0e93);

/// The bcrypt cost of seeded passwords: what Spring and passlib default to.
pub const BCRYPT_COST: u32 = 10;

/// A parsed, validated manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub version: String,
    pub tables: Vec<TableSpec>,
}

/// One table of the seed, as the manifest declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub table: String,
    pub source: TableSource,
    /// The primary-key column whose value flowinfra derives from the natural key.
    pub id: Option<String>,
    /// The columns whose values identify a row (before references are resolved).
    pub key: Vec<String>,
    /// Column → the table whose key the column's values name.
    pub references: BTreeMap<String, String>,
    /// Columns holding passwords, stored as bcrypt hashes.
    pub bcrypt: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableSource {
    /// A data file, relative to the seed directory.
    File(PathBuf),
    Generate(GenerateSpec),
}

/// Synthetic rows for load tests: the same rows for the same random seed.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSpec {
    pub rows: u64,
    pub random_seed: u64,
    pub columns: Vec<(String, Generator)>,
}

/// How one generated column gets its values.
#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    /// The id of a random row of an earlier table.
    Pick(String),
    /// A text with `{n}` replaced by the row number (from 1).
    Text(String),
    /// One of these values, at random.
    OneOf(Vec<String>),
    /// An integer in `[min, max]`.
    Integer(i64, i64),
    /// A decimal with two places in `[min, max]`.
    Decimal(i64, i64),
    /// A date (days since 1970-01-01) in `[from, to]`, written `YYYY-MM-DD`.
    Date(i64, i64),
}

impl TableSpec {
    /// The data file, when the table comes from one.
    pub fn file(&self) -> Option<&Path> {
        match &self.source {
            TableSource::File(path) => Some(path),
            TableSource::Generate(_) => None,
        }
    }
}

/// A problem with the seed's files, naming where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct SeedFileError {
    /// `file`, `file:line` or `file:line:column`.
    pub location: String,
    pub message: String,
}

impl SeedFileError {
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            message: message.into(),
        }
    }

    /// A problem found reading a seed YAML file: its position, then the
    /// message with the source line and caret and the hint, as spec errors show them.
    fn from_diagnostic(diagnostic: Diagnostic, text: &str, path: &Path) -> Self {
        let diagnostic = diagnostic.with_source_from(text);
        let location = diagnostic
            .position
            .as_ref()
            .map_or_else(|| path.display().to_string(), ToString::to_string);
        Self::new(location, diagnostic.details().to_string())
    }
}

/// Parses and validates `manifest.yaml`. `path` names the file in errors.
pub fn parse_manifest(text: &str, path: &Path) -> Result<Manifest, SeedFileError> {
    let file: Arc<Path> = Arc::from(path);
    let root = yaml::parse(text, &file).map_err(|d| SeedFileError::from_diagnostic(d, text, path))?;
    let mut reader = Reader::new();
    let manifest = read_manifest(&mut reader, &root);
    match reader.finish(manifest) {
        Ok(Some(manifest)) => Ok(manifest),
        // The first problem: later ones often follow from it.
        Err(diagnostics) => Err(SeedFileError::from_diagnostic(
            diagnostics.into_iter().next().expect("finish fails with a diagnostic"),
            text,
            path,
        )),
        Ok(None) => Err(SeedFileError::new(
            path.display().to_string(),
            "the manifest cannot be read",
        )),
    }
}

const MANIFEST_FIELDS: Fields<'static> = Fields::new("manifest", &["version", "tables"]);
const TABLE_FIELDS: Fields<'static> = Fields::new(
    "table",
    &["table", "file", "generate", "id", "key", "references", "bcrypt"],
);
const GENERATE_FIELDS: Fields<'static> = Fields::new("generate", &["rows", "random_seed", "columns"]);

fn read_manifest(r: &mut Reader, root: &Node) -> Option<Manifest> {
    let entries = r.mapping(root, "the manifest")?;
    r.check_keys(entries, &MANIFEST_FIELDS);
    let Some(version_node) = root.get("version") else {
        r.error(
            &root.position,
            "the manifest has no `version` (e.g. `version: 2025-11-05.1`)",
        );
        return None;
    };
    let version = r.string(version_node, "`version`")?;
    if version.trim().is_empty() {
        r.error(&version_node.position, "`version` is empty");
        return None;
    }
    let Some(tables_node) = root.get("tables") else {
        r.error(&root.position, "the manifest has no `tables` list");
        return None;
    };
    let Value::Sequence(items) = &tables_node.value else {
        r.error(
            &tables_node.position,
            format!("`tables` must be a list, found {}", tables_node.type_name()),
        );
        return None;
    };
    let mut tables: Vec<TableSpec> = Vec::new();
    for item in items {
        let table = read_table(r, item)?;
        check_table(r, &table, &tables, item)?;
        tables.push(table);
    }
    Some(Manifest { version, tables })
}

fn read_table(r: &mut Reader, node: &Node) -> Option<TableSpec> {
    let entries = r.mapping(node, "a table entry")?;
    r.check_keys(entries, &TABLE_FIELDS);
    let Some(table_node) = node.get("table") else {
        r.error(&node.position, "a table entry needs `table: NAME`");
        return None;
    };
    let table = r.string(table_node, "`table`")?;
    let source = match (node.get("file"), node.get("generate")) {
        (Some(file), None) => TableSource::File(PathBuf::from(r.string(file, "`file`")?)),
        (None, Some(generate)) => TableSource::Generate(read_generate(r, generate)?),
        (Some(_), Some(_)) => {
            r.error(
                &node.position,
                format!("table `{table}` has both `file` and `generate`; give one"),
            );
            return None;
        }
        (None, None) => {
            r.error(
                &node.position,
                format!("table `{table}` needs `file: DATA_FILE` (CSV or YAML) or `generate:`"),
            );
            return None;
        }
    };
    let id = match node.get("id") {
        Some(id) => Some(r.string(id, "`id`")?),
        None => None,
    };
    let key = match node.get("key") {
        Some(key) => r.string_list(key, "`key`"),
        None => id.iter().cloned().collect(),
    };
    let mut references = BTreeMap::new();
    if let Some(references_node) = node.get("references") {
        let Some(entries) = references_node.as_mapping() else {
            r.error(
                &references_node.position,
                "`references` maps columns to tables, e.g. `{ id_user: User }`",
            );
            return None;
        };
        for (column, target) in entries {
            references.insert(column.name.clone(), r.string(target, "a referenced table")?);
        }
    }
    let bcrypt = node
        .get("bcrypt")
        .map(|n| r.string_list(n, "`bcrypt`"))
        .unwrap_or_default();
    Some(TableSpec {
        table,
        source,
        id,
        key,
        references,
        bcrypt,
    })
}

/// Checks what can be checked without the data: keys, references to earlier tables.
fn check_table(r: &mut Reader, table: &TableSpec, earlier: &[TableSpec], node: &Node) -> Option<()> {
    let name = &table.table;
    let mut refuse = |message: String| {
        r.error(&node.position, message);
        None
    };
    if earlier.iter().any(|t| &t.table == name) {
        return refuse(format!(
            "table `{name}` appears twice; give each table once, with one data file"
        ));
    }
    if table.key.is_empty() {
        return refuse(format!(
            "table `{name}` needs `id` (a derived primary key) or `key` (the columns that identify a row)"
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(duplicate) = table.key.iter().find(|column| !seen.insert(*column)) {
        return refuse(format!("table `{name}` lists key column `{duplicate}` twice"));
    }
    let mut referenced: Vec<(&str, &str)> = table
        .references
        .iter()
        .map(|(column, target)| (column.as_str(), target.as_str()))
        .collect();
    if let TableSource::Generate(generate) = &table.source {
        if table.id.is_none() {
            return refuse(format!(
                "generated table `{name}` needs `id`: its rows have no natural key"
            ));
        }
        let picks = generate
            .columns
            .iter()
            .filter_map(|(column, generator)| match generator {
                Generator::Pick(target) => Some((column.as_str(), target.as_str())),
                _ => None,
            });
        referenced.splice(0..0, picks);
    }
    for (column, target) in referenced {
        if let Some(problem) = reference_problem(table, column, target, earlier) {
            return refuse(problem);
        }
    }
    Some(())
}

/// Why `table.column` cannot refer to `target`, if it cannot.
fn reference_problem(table: &TableSpec, column: &str, target: &str, earlier: &[TableSpec]) -> Option<String> {
    let Some(referenced) = earlier.iter().find(|t| t.table == target) else {
        return Some(format!(
            "`{}.{column}` refers to table `{target}`, which is not listed before `{}`; \
             list tables in load order, each after the tables it refers to",
            table.table, table.table
        ));
    };
    if referenced.id.is_none() || referenced.key.len() != 1 {
        return Some(format!(
            "`{}.{column}` refers to `{target}`, which needs an `id` and a one-column `key` to be referred to",
            table.table
        ));
    }
    None
}

fn read_generate(r: &mut Reader, node: &Node) -> Option<GenerateSpec> {
    let entries = r.mapping(node, "`generate`")?;
    r.check_keys(entries, &GENERATE_FIELDS);
    let mut number = |name: &str| -> Option<u64> {
        let Some(value) = node.get(name) else {
            r.error(&node.position, format!("`generate` needs `{name}`"));
            return None;
        };
        let parsed = r.string(value, &format!("`{name}`"))?.replace('_', "").parse().ok();
        if parsed.is_none() {
            r.error(&value.position, format!("`{name}` must be a whole number"));
        }
        parsed
    };
    let rows = number("rows")?;
    let random_seed = number("random_seed")?;
    let Some(columns_node) = node.get("columns") else {
        r.error(&node.position, "`generate` needs `columns`");
        return None;
    };
    let Some(entries) = columns_node.as_mapping() else {
        r.error(&columns_node.position, "`columns` maps column names to generators");
        return None;
    };
    let mut columns = Vec::new();
    for (key, value) in entries {
        columns.push((key.name.clone(), read_generator(r, value)?));
    }
    if columns.is_empty() {
        r.error(&columns_node.position, "`columns` is empty");
        return None;
    }
    Some(GenerateSpec {
        rows,
        random_seed,
        columns,
    })
}

fn read_generator(r: &mut Reader, node: &Node) -> Option<Generator> {
    const KINDS: &[&str] = &["pick", "text", "one_of", "integer", "decimal", "date"];
    let Some([(kind, value)]) = node.as_mapping() else {
        r.error(
            &node.position,
            format!("a generator is a mapping with one of: {}", KINDS.join(", ")),
        );
        return None;
    };
    let what = format!("`{}`", kind.name);
    let mut range = |parse: &dyn Fn(&str) -> Option<i64>| -> Option<(i64, i64)> {
        let items = r.string_list(value, &what);
        let bounds: Option<Vec<i64>> = items.iter().map(|item| parse(item)).collect();
        match bounds.as_deref() {
            Some([min, max]) if min <= max => Some((*min, *max)),
            _ => {
                r.error(&value.position, format!("{what} takes [min, max] with min <= max"));
                None
            }
        }
    };
    Some(match kind.name.as_str() {
        "pick" => Generator::Pick(r.string(value, "`pick`")?),
        "text" => Generator::Text(r.string(value, "`text`")?),
        "one_of" => {
            let values = r.string_list(value, "`one_of`");
            if values.is_empty() {
                r.error(&value.position, "`one_of` needs at least one value");
                return None;
            }
            Generator::OneOf(values)
        }
        "integer" => {
            let (min, max) = range(&|text| text.parse().ok())?;
            Generator::Integer(min, max)
        }
        "decimal" => {
            let (min, max) = range(&|text| text.parse().ok())?;
            Generator::Decimal(min, max)
        }
        "date" => {
            let (from, to) = range(&parse_date)?;
            Generator::Date(from, to)
        }
        other => {
            let hint = hint_for(other, KINDS.iter().copied(), || {
                format!("generators are: {}", KINDS.join(", "))
            });
            r.push(Diagnostic::at(&kind.position, format!("unknown generator `{other}`")).with_hint(hint));
            return None;
        }
    })
}

/// The Julian day of 1970-01-01: generated dates count days from it.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;
const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year padding:none]-[month padding:none]-[day padding:none]");

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<i64> {
    let date = time::Date::parse(text.trim(), DATE_FORMAT).ok()?;
    Some(i64::from(date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY))
}

/// `YYYY-MM-DD` of a day count since 1970-01-01, as [`parse_date`] gives them.
pub fn format_date(days: i64) -> String {
    let date = i32::try_from(days)
        .ok()
        .and_then(|days| time::Date::from_julian_day(days + UNIX_EPOCH_JULIAN_DAY).ok())
        .expect("generated dates lie between two dates parse_date read");
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).expect("a calendar date formats")
}

/// The seed's content checksum: SHA-256 (hex) over each file's name and
/// content, manifest first, then the data files in manifest order. Line
/// endings are normalised to `\n` first, so a checkout with CRLF (Windows,
/// `core.autocrlf`) gives the same checksum as one with LF.
pub fn checksum(files: &[(String, Vec<u8>)]) -> String {
    let mut hasher = Sha256::new();
    for (name, content) in files {
        let content = normalise_line_endings(content);
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `\r\n` and lone `\r` become `\n`.
pub fn normalise_line_endings(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let mut bytes = content.iter().peekable();
    while let Some(&byte) = bytes.next() {
        if byte == b'\r' {
            if bytes.peek() == Some(&&b'\n') {
                bytes.next();
            }
            out.push(b'\n');
        } else {
            out.push(byte);
        }
    }
    out
}

/// The primary key of the row of `table` whose natural key is `key`: a
/// UUIDv5, so the same row gets the same id on every machine and every run.
pub fn derive_id(table: &str, key: &[&str]) -> String {
    // The unit separator cannot appear in a CSV or YAML value by accident,
    // so ("a b", "c") and ("a", "b c") never collide.
    let mut name = String::from(table);
    for part in key {
        name.push('\u{1f}');
        name.push_str(part);
    }
    Uuid::new_v5(&ID_NAMESPACE, name.as_bytes()).hyphenated().to_string()
}

/// How many rows one multi-row INSERT carries: as many as fit both MySQL's
/// 65,535 placeholders and half of `max_allowed_packet` (the other half is
/// headroom for the protocol's per-value overhead, which this estimates at
/// 11 bytes: type, length prefix, null bitmap). At least one.
pub fn rows_per_statement(columns: usize, widest_row_bytes: usize, max_allowed_packet: usize) -> usize {
    let columns = columns.max(1);
    let by_placeholders = MAX_PLACEHOLDERS / columns;
    let row_bytes = widest_row_bytes + columns * 11;
    let by_packet = (max_allowed_packet / 2) / row_bytes.max(1);
    by_placeholders.min(by_packet).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, SeedFileError> {
        parse_manifest(text, Path::new("seeds/manifest.yaml"))
    }

    const FLOWLITE_LIKE: &str = "\
version: 2025-11-05.2
tables:
  - table: Role
    file: Role.csv
    id: id_role
    key: [role_name]
  - table: User
    file: User.yaml
    id: id_user
    key: [email]
    references: { role: Role }
    bcrypt: [password]
  - table: UserInfo
    file: UserInfo.csv
    key: [id_user]
    references: { id_user: User }
  - table: Transaction
    id: id_transaction
    generate:
      rows: 1_000
      random_seed: 7
      columns:
        id_user: { pick: User }
        name: { text: 'Compra {n}' }
        value: { decimal: [1000, 5000] }
        day: { date: [2025-01-01, 2025-01-31] }
        kind: { one_of: [income, expense] }
";

    #[test]
    fn a_manifest_lists_tables_in_load_order_with_keys_and_references() {
        let manifest = parse(FLOWLITE_LIKE).unwrap();
        assert_eq!(manifest.version, "2025-11-05.2");
        let names: Vec<&str> = manifest.tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["Role", "User", "UserInfo", "Transaction"]);
        let user = &manifest.tables[1];
        assert_eq!(user.file(), Some(Path::new("User.yaml")));
        assert_eq!(user.id.as_deref(), Some("id_user"));
        assert_eq!(user.key, ["email"]);
        assert_eq!(user.references["role"], "Role");
        assert_eq!(user.bcrypt, ["password"]);
        let TableSource::Generate(generate) = &manifest.tables[3].source else {
            panic!("Transaction is generated");
        };
        assert_eq!(generate.rows, 1000);
        assert_eq!(generate.random_seed, 7);
        assert_eq!(generate.columns[0], ("id_user".into(), Generator::Pick("User".into())));
        assert_eq!(
            generate.columns[3].1,
            Generator::Date(parse_date("2025-01-01").unwrap(), parse_date("2025-01-31").unwrap())
        );
    }

    #[test]
    fn the_key_defaults_to_the_id_column_holding_a_label() {
        let manifest = parse("version: '1'\ntables:\n  - { table: Batch, file: b.csv, id: id_batch }\n").unwrap();
        assert_eq!(manifest.tables[0].key, ["id_batch"]);
    }

    #[test]
    fn a_reference_to_a_table_listed_later_is_refused_with_its_position() {
        let error = parse(
            "version: '1'\ntables:\n  - { table: User, file: u.csv, id: id_user, references: { role: Role } }\n  \
             - { table: Role, file: r.csv, id: id_role }\n",
        )
        .unwrap_err();
        assert!(error.location.ends_with("manifest.yaml:3:5"), "{error}");
        assert!(
            error
                .message
                .contains("refers to table `Role`, which is not listed before `User`"),
            "{error}"
        );
    }

    #[test]
    fn misspelled_fields_get_a_suggestion() {
        let error =
            parse("version: '1'\ntables:\n  - { table: Role, file: r.csv, id: id_role, refrences: {} }\n").unwrap_err();
        assert!(error.message.starts_with("unknown table field `refrences`"), "{error}");
        assert!(error.message.ends_with("= hint: did you mean `references`?"), "{error}");
    }

    #[test]
    fn errors_show_the_line_with_a_caret_under_the_problem() {
        let error = parse("version: '1'\ntables:\n  - table: Role\n    file: r.csv\n    id: [id_role]\n").unwrap_err();
        assert!(error.location.ends_with("seeds/manifest.yaml:5:9"), "{error}");
        assert_eq!(
            error.message,
            "`id` must be a string, found a list\n   |\n 5 |     id: [id_role]\n   |         ^"
        );
    }

    #[test]
    fn yaml_syntax_errors_name_their_position_once() {
        let error = parse("version: '1'\ntables: [\n").unwrap_err();
        assert!(error.location.starts_with("seeds/manifest.yaml:"), "{error}");
        assert!(error.message.starts_with("invalid YAML"), "{error}");
        assert!(!error.message.contains("manifest.yaml"), "{error}");
    }

    #[test]
    fn a_manifest_without_version_or_with_a_duplicate_table_is_refused() {
        assert!(parse("tables: []\n").unwrap_err().message.contains("no `version`"));
        let error = parse(
            "version: '1'\ntables:\n  - { table: Role, file: r.csv, id: id_role }\n  \
             - { table: Role, file: r2.csv, id: id_role }\n",
        )
        .unwrap_err();
        assert!(error.message.contains("appears twice"), "{error}");
    }

    #[test]
    fn a_table_needs_exactly_one_source_and_a_key() {
        let both = parse("version: '1'\ntables:\n  - { table: T, file: t.csv, id: id, generate: {} }\n");
        assert!(both.unwrap_err().message.contains("both `file` and `generate`"));
        let neither = parse("version: '1'\ntables:\n  - { table: T, id: id }\n");
        assert!(neither.unwrap_err().message.contains("needs `file"));
        let keyless = parse("version: '1'\ntables:\n  - { table: T, file: t.csv }\n");
        assert!(keyless.unwrap_err().message.contains("needs `id`"));
    }

    #[test]
    fn checksum_ignores_line_endings_but_not_content() {
        let lf = checksum(&[("manifest.yaml".into(), b"version: 1\ntables: []\n".to_vec())]);
        let crlf = checksum(&[("manifest.yaml".into(), b"version: 1\r\ntables: []\r\n".to_vec())]);
        let cr = checksum(&[("manifest.yaml".into(), b"version: 1\rtables: []\r".to_vec())]);
        assert_eq!(lf, crlf);
        assert_eq!(lf, cr);
        let edited = checksum(&[("manifest.yaml".into(), b"version: 2\ntables: []\n".to_vec())]);
        assert_ne!(lf, edited);
        assert_eq!(lf.len(), 64);
    }

    #[test]
    fn checksum_tells_which_file_holds_which_content() {
        let a = checksum(&[("a.csv".into(), b"x".to_vec()), ("b.csv".into(), b"y".to_vec())]);
        let swapped = checksum(&[("a.csv".into(), b"y".to_vec()), ("b.csv".into(), b"x".to_vec())]);
        let merged = checksum(&[("a.csv".into(), b"xy".to_vec()), ("b.csv".into(), Vec::new())]);
        assert_ne!(a, swapped);
        assert_ne!(a, merged);
    }

    #[test]
    fn derived_ids_are_stable_uuids_that_depend_on_table_and_key() {
        let juan = derive_id("User", &["juan.perez@example.com"]);
        // Pinned: changing the derivation would give every seeded row a new id.
        assert_eq!(juan, derive_id("User", &["juan.perez@example.com"]));
        assert_eq!(juan.len(), 36);
        assert_eq!(Uuid::parse_str(&juan).unwrap().get_version_num(), 5);
        assert_ne!(juan, derive_id("UserInfo", &["juan.perez@example.com"]));
        assert_ne!(derive_id("T", &["a b", "c"]), derive_id("T", &["a", "b c"]));
        assert_eq!(derive_id("Role", &["ADMIN"]), "8661efd9-848e-52aa-a5b5-42c8baab1790");
    }

    #[test]
    fn batches_respect_placeholders_and_packet_size() {
        // Nine narrow columns: the placeholder limit decides.
        assert_eq!(rows_per_statement(9, 200, 64 << 20), 65_535 / 9);
        // Wide rows in a small packet: the packet decides.
        let rows = rows_per_statement(9, 10_000, 1 << 20);
        assert_eq!(rows, (1 << 19) / (10_000 + 99));
        assert!(rows * (10_000 + 99) <= 1 << 19);
        // A row wider than the budget still goes, alone.
        assert_eq!(rows_per_statement(3, 10 << 20, 1 << 20), 1);
        // Never more placeholders than MySQL allows.
        for columns in 1..40 {
            assert!(rows_per_statement(columns, 1, usize::MAX / 4) * columns <= MAX_PLACEHOLDERS);
        }
    }

    #[test]
    fn dates_round_trip() {
        for text in ["1970-01-01", "2024-02-29", "2025-11-05", "1999-12-31"] {
            assert_eq!(format_date(parse_date(text).unwrap()), text);
        }
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2025-02-29"), None);
        assert_eq!(parse_date("2025-13-01"), None);
        assert_eq!(parse_date("2025-1-5"), parse_date("2025-01-05"));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(parse_date("not a date"), None);
    }
}
