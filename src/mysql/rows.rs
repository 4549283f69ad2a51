//! Seed rows: the data files read (CSV or YAML), primary keys derived from
//! natural keys, references resolved to the referenced rows' ids, passwords
//! hashed with bcrypt, generated tables generated. No database; the only I/O
//! is reading the seed directory ([`read_source`]).
//!
//! Data files are for people to edit:
//! - CSV: a header row naming the columns, then one row per line; an empty
//!   field is NULL; lines starting with `#` are comments.
//! - YAML (`.yaml`/`.yml`): a list of mappings, column → value; every row
//!   names every column; `null` or `~` is NULL; `true`/`false` are 1/0.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{
    self, BCRYPT_COST, GenerateSpec, Generator, MANIFEST_FILE, Manifest, SeedFileError, TableSource, TableSpec,
    derive_id,
};
use crate::spec::yaml::{self, Value};

/// A seed directory as read from disk: the manifest, every file's bytes
/// (for the checksum) and the checksum.
#[derive(Debug, Clone)]
pub struct SeedSource {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// `(name relative to the seed directory, content)`: the manifest first,
    /// then the data files in manifest order.
    pub files: Vec<(String, Vec<u8>)>,
    pub checksum: String,
}

/// One table's rows, ready to insert: every value is text or NULL, and the
/// server converts text to the column's type.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// The columns that identify a row (the derived id, or the natural key
    /// when there is none): an upsert leaves them alone.
    pub identity: Vec<String>,
}

impl TableRows {
    /// Bytes of the longest row's values, to size insert batches.
    pub fn widest_row_bytes(&self) -> usize {
        self.rows
            .iter()
            .map(|row| row.iter().map(|value| value.as_ref().map_or(0, String::len)).sum())
            .max()
            .unwrap_or(0)
    }

    /// The columns an upsert updates: all but the identifying ones.
    pub fn update_columns(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|column| !self.identity.contains(column))
            .map(String::as_str)
            .collect()
    }
}

/// Reads the manifest and data files of the seed in `dir` and computes the checksum.
pub fn read_source(dir: &Path) -> Result<SeedSource, SeedFileError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = std::fs::read(&manifest_path).map_err(|error| {
        SeedFileError::new(
            manifest_path.display().to_string(),
            format!("cannot read the seed manifest: {error}"),
        )
    })?;
    let manifest = manifest::parse_manifest(&String::from_utf8_lossy(&text), &manifest_path)?;
    let mut files = vec![(MANIFEST_FILE.to_string(), text)];
    for table in &manifest.tables {
        if let Some(file) = table.file() {
            let path = dir.join(file);
            let content = std::fs::read(&path).map_err(|error| {
                SeedFileError::new(
                    path.display().to_string(),
                    format!("cannot read the data file of table `{}`: {error}", table.table),
                )
            })?;
            files.push((file.to_string_lossy().into_owned(), content));
        }
    }
    let checksum = manifest::checksum(&files);
    Ok(SeedSource {
        dir: dir.to_path_buf(),
        manifest,
        files,
        checksum,
    })
}

/// A data file's columns and rows, values as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTable {
    pub columns: Vec<String>,
    pub rows: Vec<RawRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// `file:line`, for errors.
    pub location: String,
    pub values: Vec<Option<String>>,
}

/// Every table's rows, in manifest order, with ids, references and hashes in place.
pub fn resolve(source: &SeedSource) -> Result<Vec<TableRows>, SeedFileError> {
    resolve_with(source, true)
}

/// Every table's rows as [`resolve`] gives them, but with passwords left as
/// written, not hashed: for comparing the other columns with the database
/// (`check`, and `up` on a current seed) without bcrypt's cost per row.
pub fn resolve_unhashed(source: &SeedSource) -> Result<Vec<TableRows>, SeedFileError> {
    resolve_with(source, false)
}

fn resolve_with(source: &SeedSource, hash_passwords: bool) -> Result<Vec<TableRows>, SeedFileError> {
    Ok(resolve_tables(source, hash_passwords)?
        .into_iter()
        .map(StreamedTable::into_rows)
        .collect())
}

/// Every table as [`resolve`] gives it, except that a generated table is
/// its recipe ([`GeneratedTable`]), whose rows are made as they are read:
/// a loader streaming them holds one row at a time, whatever the count.
/// The rows are the same, value for value, as [`resolve`]'s.
pub fn resolve_streamed(source: &SeedSource) -> Result<Vec<StreamedTable>, SeedFileError> {
    resolve_tables(source, true)
}

fn resolve_tables(source: &SeedSource, hash_passwords: bool) -> Result<Vec<StreamedTable>, SeedFileError> {
    let mut resolver = Resolver {
        hash_passwords,
        ..Resolver::default()
    };
    let mut tables = Vec::new();
    for spec in &source.manifest.tables {
        let table = match &spec.source {
            TableSource::File(file) => {
                let name = file.to_string_lossy().into_owned();
                let content = source
                    .files
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, content)| content.as_slice())
                    .unwrap_or_default();
                let location = source.dir.join(file).display().to_string();
                let raw = parse_data_file(content, &location)?;
                StreamedTable::Rows(resolver.resolve_file_table(spec, raw, &location)?)
            }
            TableSource::Generate(generate) => StreamedTable::Generated(resolver.generate(spec, generate)?),
        };
        tables.push(table);
    }
    Ok(tables)
}

/// One table of [`resolve_streamed`]: rows in memory (a data file's: people
/// write those), or a generated table's recipe.
#[derive(Debug, Clone)]
pub enum StreamedTable {
    Rows(TableRows),
    Generated(GeneratedTable),
}

impl StreamedTable {
    pub fn table(&self) -> &str {
        match self {
            StreamedTable::Rows(rows) => &rows.table,
            StreamedTable::Generated(generated) => &generated.table,
        }
    }

    pub fn columns(&self) -> &[String] {
        match self {
            StreamedTable::Rows(rows) => &rows.columns,
            StreamedTable::Generated(generated) => &generated.columns,
        }
    }

    /// The columns that identify a row (see [`TableRows::identity`]).
    pub fn identity(&self) -> &[String] {
        match self {
            StreamedTable::Rows(rows) => &rows.identity,
            StreamedTable::Generated(generated) => &generated.identity,
        }
    }

    pub fn row_count(&self) -> u64 {
        match self {
            StreamedTable::Rows(rows) => rows.rows.len() as u64,
            StreamedTable::Generated(generated) => generated.rows,
        }
    }

    /// Every row in memory, borrowed when they already are.
    pub fn to_rows(&self) -> std::borrow::Cow<'_, TableRows> {
        match self {
            StreamedTable::Rows(rows) => std::borrow::Cow::Borrowed(rows),
            StreamedTable::Generated(_) => std::borrow::Cow::Owned(self.clone().into_rows()),
        }
    }

    /// Every row in memory.
    pub fn into_rows(self) -> TableRows {
        match self {
            StreamedTable::Rows(rows) => rows,
            StreamedTable::Generated(generated) => {
                let mut rows = Vec::with_capacity(usize::try_from(generated.rows).unwrap_or(0).min(10_000_000));
                let mut generator = generated.rows();
                loop {
                    let mut row = Vec::with_capacity(generated.columns.len());
                    if !generator.next_with(|_, value| row.push(Some(value.to_string()))) {
                        break;
                    }
                    rows.push(row);
                }
                TableRows {
                    table: generated.table,
                    columns: generated.columns,
                    rows,
                    identity: generated.identity,
                }
            }
        }
    }
}

/// A generated table (`generate:` in the manifest), its rows not yet made.
#[derive(Debug, Clone)]
pub struct GeneratedTable {
    pub table: String,
    /// The id column, then the generated ones.
    pub columns: Vec<String>,
    pub identity: Vec<String>,
    pub rows: u64,
    random_seed: u64,
    generators: Vec<ColumnGenerator>,
}

/// A [`Generator`] with its picks' candidates resolved.
#[derive(Debug, Clone)]
enum ColumnGenerator {
    Pick(Candidates),
    Text(String),
    OneOf(Vec<String>),
    Integer(i64, i64),
    Decimal(i64, i64),
    Date(i64, i64),
}

/// The ids a generated column picks from: an earlier table's.
#[derive(Debug, Clone)]
enum Candidates {
    /// A data file's rows' ids, in row order.
    Listed(std::sync::Arc<Vec<String>>),
    /// A generated table's: row `n`'s id is derived from `#n`, so none is kept.
    Generated { table: String, rows: u64 },
}

impl Candidates {
    fn len(&self) -> u64 {
        match self {
            Candidates::Listed(ids) => ids.len() as u64,
            Candidates::Generated { rows, .. } => *rows,
        }
    }
}

impl GeneratedTable {
    /// Its rows, made one at a time.
    pub fn rows(&self) -> GeneratedRows<'_> {
        GeneratedRows {
            table: self,
            random: SplitMix64(self.random_seed),
            next: 1,
            scratch: String::new(),
        }
    }
}

/// The rows of a [`GeneratedTable`], in order; the same for the same random seed.
pub struct GeneratedRows<'a> {
    table: &'a GeneratedTable,
    random: SplitMix64,
    /// The number of the next row, from 1.
    next: u64,
    scratch: String,
}

impl GeneratedRows<'_> {
    /// Makes the next row, handing `value(column index, text)` each of its
    /// values in column order (none is NULL); false when every row is made.
    /// Allocates nothing per row but what a `text` template's replacement needs.
    pub fn next_with(&mut self, mut value: impl FnMut(usize, &str)) -> bool {
        let n = self.next;
        if n > self.table.rows {
            return false;
        }
        self.next += 1;
        let scratch = &mut self.scratch;
        generated_id(&self.table.table, n, scratch, &mut value, 0);
        for (index, generator) in self.table.generators.iter().enumerate() {
            let column = index + 1;
            let random = &mut self.random;
            match generator {
                ColumnGenerator::Pick(Candidates::Listed(ids)) => {
                    value(column, &ids[random.below(ids.len() as u64) as usize]);
                }
                ColumnGenerator::Pick(Candidates::Generated { table, rows }) => {
                    let pick = random.below(*rows) + 1;
                    generated_id(table, pick, scratch, &mut value, column);
                }
                ColumnGenerator::Text(template) => {
                    scratch.clear();
                    let mut parts = template.split("{n}");
                    scratch.push_str(parts.next().unwrap_or_default());
                    for part in parts {
                        write_number(scratch, n);
                        scratch.push_str(part);
                    }
                    value(column, scratch);
                }
                ColumnGenerator::OneOf(values) => value(column, &values[random.below(values.len() as u64) as usize]),
                ColumnGenerator::Integer(min, max) => {
                    scratch.clear();
                    write_number(scratch, random.between(*min, *max));
                    value(column, scratch);
                }
                ColumnGenerator::Decimal(min, max) => {
                    let cents = random.between(min * 100, max * 100);
                    scratch.clear();
                    if cents < 0 {
                        scratch.push('-');
                    }
                    write_number(scratch, cents.abs() / 100);
                    scratch.push('.');
                    let fraction = cents.abs() % 100;
                    if fraction < 10 {
                        scratch.push('0');
                    }
                    write_number(scratch, fraction);
                    value(column, scratch);
                }
                ColumnGenerator::Date(from, to) => value(column, &manifest::format_date(random.between(*from, *to))),
            }
        }
        true
    }
}

/// The id of generated row `n` of `table`: [`derive_id`]`(table, ["#n"])`,
/// written without allocating.
fn generated_id(table: &str, n: u64, scratch: &mut String, value: &mut impl FnMut(usize, &str), column: usize) {
    scratch.clear();
    scratch.push_str(table);
    scratch.push('\u{1f}');
    scratch.push('#');
    write_number(scratch, n);
    let mut encoded = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v5(&manifest::ID_NAMESPACE, scratch.as_bytes())
        .hyphenated()
        .encode_lower(&mut encoded);
    value(column, id);
}

fn write_number(out: &mut String, number: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "{number}");
}

/// Parses a data file by its extension: YAML for `.yaml`/`.yml`, CSV otherwise.
pub fn parse_data_file(content: &[u8], location: &str) -> Result<RawTable, SeedFileError> {
    let lower = location.to_ascii_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        parse_yaml_rows(&String::from_utf8_lossy(content), location)
    } else {
        parse_csv(content, location)
    }
}

/// A CSV data file: a header row, then rows; empty fields are NULL.
pub fn parse_csv(content: &[u8], location: &str) -> Result<RawTable, SeedFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .comment(Some(b'#'))
        .from_reader(content);
    let csv_error = |error: csv::Error| {
        let line = error.position().map(|p| format!(":{}", p.line())).unwrap_or_default();
        SeedFileError::new(format!("{location}{line}"), format!("invalid CSV: {error}"))
    };
    let columns: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|name| name.trim().to_string())
        .collect();
    check_columns(&columns, location)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        rows.push(RawRow {
            location: format!("{location}:{line}"),
            values: record
                .iter()
                .map(|value| (!value.is_empty()).then(|| value.to_string()))
                .collect(),
        });
    }
    Ok(RawTable { columns, rows })
}

/// The line (from 1) of a CSV data file's header: the first line that is
/// neither blank nor a `#` comment, as [`parse_csv`] reads it.
pub fn csv_header_line(content: &[u8]) -> usize {
    content
        .split(|&byte| byte == b'\n')
        .position(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            !line.is_empty() && !line.starts_with(b"#")
        })
        .map_or(1, |index| index + 1)
}

/// A YAML data file: a list of mappings from column to value.
pub fn parse_yaml_rows(text: &str, location: &str) -> Result<RawTable, SeedFileError> {
    let file: std::sync::Arc<Path> = std::sync::Arc::from(Path::new(location));
    let root = yaml::parse(text, &file).map_err(|diagnostic| SeedFileError::new(location, diagnostic.to_string()))?;
    let items = match &root.value {
        Value::Sequence(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            return Err(SeedFileError::new(
                root.position.to_string(),
                "a YAML data file is a list of rows, each a mapping from column to value",
            ));
        }
    };
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        for (key, _) in item.as_mapping().unwrap_or_default() {
            if !columns.contains(&key.name) {
                columns.push(key.name.clone());
            }
        }
    }
    check_columns(&columns, location)?;
    let mut rows = Vec::new();
    for item in items {
        let entries = item.as_mapping().ok_or_else(|| {
            SeedFileError::new(
                item.position.to_string(),
                format!(
                    "a row must be a mapping from column to value, found {}",
                    item.type_name()
                ),
            )
        })?;
        let mut values = Vec::with_capacity(columns.len());
        for column in &columns {
            let Some((_, node)) = entries.iter().find(|(key, _)| &key.name == column) else {
                return Err(SeedFileError::new(
                    item.position.to_string(),
                    format!(
                        "this row has no `{column}`; every row names every column (write `{column}: null` for NULL)"
                    ),
                ));
            };
            values.push(match &node.value {
                Value::Null => None,
                Value::Scalar { text, quoted: false } if text.eq_ignore_ascii_case("true") => Some("1".into()),
                Value::Scalar { text, quoted: false } if text.eq_ignore_ascii_case("false") => Some("0".into()),
                Value::Scalar { text, .. } => Some(text.clone()),
                _ => {
                    return Err(SeedFileError::new(
                        node.position.to_string(),
                        format!("`{column}` must be a single value, found {}", node.type_name()),
                    ));
                }
            });
        }
        rows.push(RawRow {
            location: item.position.to_string(),
            values,
        });
    }
    Ok(RawTable { columns, rows })
}

fn check_columns(columns: &[String], location: &str) -> Result<(), SeedFileError> {
    if columns.iter().any(String::is_empty) {
        return Err(SeedFileError::new(location, "a column has an empty name"));
    }
    for (index, column) in columns.iter().enumerate() {
        if columns[..index].contains(column) {
            return Err(SeedFileError::new(location, format!("column `{column}` appears twice")));
        }
    }
    Ok(())
}

/// What earlier tables left for later ones to refer to.
#[derive(Default)]
struct Resolver {
    /// Table → natural key → id.
    ids_by_key: HashMap<String, HashMap<String, String>>,
    /// Table → its ids, for generated picks.
    ids: HashMap<String, Candidates>,
    /// Whether `bcrypt` columns are hashed (see [`resolve_unhashed`]).
    hash_passwords: bool,
}

impl Resolver {
    fn resolve_file_table(
        &mut self,
        spec: &TableSpec,
        raw: RawTable,
        location: &str,
    ) -> Result<TableRows, SeedFileError> {
        let table = &spec.table;
        let position = |column: &str| raw.columns.iter().position(|c| c == column);
        let require = |column: &str, role: &str| {
            position(column).ok_or_else(|| {
                SeedFileError::new(
                    location,
                    format!(
                        "{role} `{column}` of table `{table}` is not a column of this file (its columns: {})",
                        raw.columns.join(", ")
                    ),
                )
            })
        };
        let key_positions = spec
            .key
            .iter()
            .map(|column| require(column, "key column"))
            .collect::<Result<Vec<_>, _>>()?;
        let references = spec
            .references
            .iter()
            .map(|(column, target)| Ok((require(column, "reference column")?, column, target)))
            .collect::<Result<Vec<_>, SeedFileError>>()?;
        let bcrypt = spec
            .bcrypt
            .iter()
            .map(|column| Ok((require(column, "bcrypt column")?, column)))
            .collect::<Result<Vec<_>, SeedFileError>>()?;
        let mut columns = raw.columns.clone();
        // The derived id goes first when the file has no column for it.
        let id_position = spec.id.as_ref().map(|id| {
            position(id).unwrap_or_else(|| {
                columns.insert(0, id.clone());
                usize::MAX
            })
        });
        let mut keys: HashMap<String, (String, String)> = HashMap::new();
        let mut ids = Vec::new();
        let mut rows = Vec::with_capacity(raw.rows.len());
        for row in raw.rows {
            let parts = key_positions
                .iter()
                .zip(&spec.key)
                .map(|(&index, column)| {
                    row.values[index]
                        .clone()
                        .ok_or_else(|| SeedFileError::new(&row.location, format!("key column `{column}` is empty")))
                })
                .collect::<Result<Vec<String>, _>>()?;
            let key = parts.join("\u{1f}");
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let id = derive_id(table, &parts);
            if let Some((_, first)) = keys.get(&key) {
                return Err(SeedFileError::new(
                    &row.location,
                    format!(
                        "a second `{table}` row with key ({}); the first is at {first}",
                        parts.join(", ")
                    ),
                ));
            }
            let mut values = row.values.clone();
            for &(index, column, target) in &references {
                if let Some(name) = &values[index] {
                    let resolved = self
                        .ids_by_key
                        .get(target)
                        .and_then(|keys| keys.get(name))
                        .ok_or_else(|| {
                            SeedFileError::new(
                                &row.location,
                                format!("`{column}` names `{name}`, which is not a `{target}` row of the seed"),
                            )
                        })?;
                    values[index] = Some(resolved.clone());
                }
            }
            for &(index, column) in bcrypt.iter().filter(|_| self.hash_passwords) {
                if let Some(password) = &values[index] {
                    values[index] = Some(hash_password(password, table, &key, column));
                }
            }
            match id_position {
                Some(usize::MAX) => values.insert(0, Some(id.clone())),
                Some(index) => values[index] = Some(id.clone()),
                None => {}
            }
            keys.insert(key, (id.clone(), row.location.clone()));
            ids.push(id);
            rows.push(values);
        }
        if spec.id.is_some() {
            self.ids_by_key.insert(
                table.clone(),
                keys.into_iter().map(|(key, (id, _))| (key, id)).collect(),
            );
            self.ids
                .insert(table.clone(), Candidates::Listed(std::sync::Arc::new(ids)));
        }
        Ok(TableRows {
            table: table.clone(),
            columns,
            rows,
            identity: match &spec.id {
                Some(id) => vec![id.clone()],
                None => spec.key.clone(),
            },
        })
    }

    fn generate(&mut self, spec: &TableSpec, generate: &GenerateSpec) -> Result<GeneratedTable, SeedFileError> {
        let id_column = spec
            .id
            .clone()
            .expect("the manifest requires `id` for generated tables");
        let mut columns = vec![id_column.clone()];
        columns.extend(generate.columns.iter().map(|(name, _)| name.clone()));
        let generators = generate
            .columns
            .iter()
            .map(|(column, generator)| {
                Ok(match generator {
                    Generator::Pick(target) => {
                        let candidates = self
                            .ids
                            .get(target)
                            .filter(|ids| ids.len() > 0 || generate.rows == 0)
                            .ok_or_else(|| {
                                SeedFileError::new(
                                    MANIFEST_FILE,
                                    format!(
                                        "`{}.{column}` picks from `{target}`, which has no rows in the seed",
                                        spec.table
                                    ),
                                )
                            })?;
                        ColumnGenerator::Pick(candidates.clone())
                    }
                    Generator::Text(template) => ColumnGenerator::Text(template.clone()),
                    Generator::OneOf(values) => ColumnGenerator::OneOf(values.clone()),
                    Generator::Integer(min, max) => ColumnGenerator::Integer(*min, *max),
                    Generator::Decimal(min, max) => ColumnGenerator::Decimal(*min, *max),
                    Generator::Date(from, to) => ColumnGenerator::Date(*from, *to),
                })
            })
            .collect::<Result<Vec<_>, SeedFileError>>()?;
        self.ids.insert(
            spec.table.clone(),
            Candidates::Generated {
                table: spec.table.clone(),
                rows: generate.rows,
            },
        );
        Ok(GeneratedTable {
            table: spec.table.clone(),
            columns,
            identity: vec![id_column],
            rows: generate.rows,
            random_seed: generate.random_seed,
            generators,
        })
    }
}

/// A bcrypt (`$2b$`) hash of a demo password. The salt is derived from the
/// row, so re-seeding stores the same hash: fine for demo data, never for
/// real passwords. A value that already is a bcrypt hash is kept as it is.
pub fn hash_password(password: &str, table: &str, key: &str, column: &str) -> String {
    if is_bcrypt_hash(password) {
        return password.to_string();
    }
    let digest = Sha256::digest(format!("flowinfra seed salt\u{1f}{table}\u{1f}{key}\u{1f}{column}").as_bytes());
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    bcrypt::hash_with_salt(password, BCRYPT_COST, salt)
        .expect("the bcrypt cost is valid")
        .format_for_version(bcrypt::Version::TwoB)
}

fn is_bcrypt_hash(value: &str) -> bool {
    value.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| value.starts_with(prefix))
}

/// A small, fixed pseudo-random generator: the same seed gives the same rows
/// with every version of flowinfra and its dependencies.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn between(&mut self, min: i64, max: i64) -> i64 {
        let span = (max - min) as u64 + 1;
        min + self.below(span) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seed directory with these files, read as flowinfra reads it.
    fn source(files: &[(&str, &str)]) -> (tempfile::TempDir, SeedSource) {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let source = read_source(dir.path()).unwrap();
        (dir, source)
    }

    const MANIFEST: &str = "\
version: '1'
tables:
  - { table: Role, file: Role.csv, id: id_role, key: [role_name] }
  - { table: User, file: User.yaml, id: id_user, key: [email], references: { role: Role }, bcrypt: [password] }
  - { table: UserInfo, file: UserInfo.csv, key: [id_user], references: { id_user: User } }
";

    fn flowlite_like() -> (tempfile::TempDir, SeedSource) {
        source(&[
            ("manifest.yaml", MANIFEST),
            ("Role.csv", "role_name\n# the roles\nADMIN\nUSER\n"),
            (
                "User.yaml",
                "- { email: a@example.com, password: secret, role: ADMIN, active: true }\n\
                 - { email: b@example.com, password: secret, role: USER, active: false }\n",
            ),
            (
                "UserInfo.csv",
                "id_user,telefono\na@example.com,\"300, ext 1\"\nb@example.com,\n",
            ),
        ])
    }

    #[test]
    fn rows_get_derived_ids_and_resolved_references() {
        let (_dir, source) = flowlite_like();
        let tables = resolve(&source).unwrap();
        let roles = &tables[0];
        assert_eq!(roles.columns, ["id_role", "role_name"]);
        assert_eq!(
            roles.rows[0],
            [Some(derive_id("Role", &["ADMIN"])), Some("ADMIN".into())]
        );
        let users = &tables[1];
        assert_eq!(users.columns, ["id_user", "email", "password", "role", "active"]);
        let admin = &users.rows[0];
        assert_eq!(admin[0], Some(derive_id("User", &["a@example.com"])));
        assert_eq!(admin[3], Some(derive_id("Role", &["ADMIN"])));
        assert_eq!(admin[4].as_deref(), Some("1"));
        assert_eq!(users.rows[1][4].as_deref(), Some("0"));
        let info = &tables[2];
        assert_eq!(info.columns, ["id_user", "telefono"]);
        assert_eq!(info.rows[0][0], Some(derive_id("User", &["a@example.com"])));
        assert_eq!(info.rows[0][1].as_deref(), Some("300, ext 1"));
        assert_eq!(info.rows[1][1], None, "an empty CSV field is NULL");
        assert_eq!(info.identity, ["id_user"]);
        assert_eq!(info.update_columns(), ["telefono"]);
    }

    #[test]
    fn the_csv_header_is_the_first_line_neither_blank_nor_a_comment() {
        assert_eq!(csv_header_line(b"a,b\n1,2\n"), 1);
        assert_eq!(csv_header_line(b"# users\r\n\r\nid,name\r\n1,x\r\n"), 3);
        assert_eq!(csv_header_line(b""), 1);
    }

    #[test]
    fn passwords_become_verifiable_bcrypt_hashes_that_stay_the_same() {
        let (_dir, source) = flowlite_like();
        let first = resolve(&source).unwrap();
        let hash = first[1].rows[0][2].clone().unwrap();
        assert!(hash.starts_with("$2b$10$"), "{hash}");
        assert!(bcrypt::verify("secret", &hash).unwrap());
        assert!(!bcrypt::verify("wrong", &hash).unwrap());
        // Same row, same hash; another row with the same password, another salt.
        assert_eq!(resolve(&source).unwrap()[1].rows[0][2], Some(hash.clone()));
        assert_ne!(first[1].rows[1][2], Some(hash.clone()));
        // A value that already is a bcrypt hash is kept.
        assert_eq!(hash_password(&hash, "User", "x", "password"), hash);
    }

    #[test]
    fn a_reference_to_a_row_not_in_the_seed_names_the_file_and_line() {
        let (_dir, source) = source(&[
            ("manifest.yaml", MANIFEST),
            ("Role.csv", "role_name\nADMIN\n"),
            (
                "User.yaml",
                "- { email: a@example.com, password: x, role: ROOT, active: true }\n",
            ),
            ("UserInfo.csv", "id_user\n"),
        ]);
        let error = resolve(&source).unwrap_err();
        assert!(error.location.ends_with("User.yaml:1:3"), "{error}");
        assert!(
            error.message.contains("`role` names `ROOT`, which is not a `Role` row"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_and_empty_keys_are_refused() {
        let (_dir, duplicate) = source(&[
            (
                "manifest.yaml",
                "version: '1'\ntables:\n  - { table: Role, file: Role.csv, id: id_role, key: [role_name] }\n",
            ),
            ("Role.csv", "role_name\nADMIN\nUSER\nADMIN\n"),
        ]);
        let error = resolve(&duplicate).unwrap_err();
        assert!(error.location.ends_with("Role.csv:4"), "{error}");
        assert!(error.message.contains("the first is at"), "{error}");
        assert!(error.message.contains("Role.csv:2"), "{error}");
        let (_dir, empty) = source(&[
            (
                "manifest.yaml",
                "version: '1'\ntables:\n  - { table: Role, file: Role.csv, id: id_role, key: [role_name] }\n",
            ),
            ("Role.csv", "role_name,note\n,x\n"),
        ]);
        assert!(
            resolve(&empty)
                .unwrap_err()
                .message
                .contains("key column `role_name` is empty")
        );
    }

    #[test]
    fn a_missing_key_column_lists_the_file_columns() {
        let (_dir, source) = source(&[
            (
                "manifest.yaml",
                "version: '1'\ntables:\n  - { table: Role, file: Role.csv, id: id_role, key: [name] }\n",
            ),
            ("Role.csv", "role_name\nADMIN\n"),
        ]);
        let error = resolve(&source).unwrap_err();
        assert!(
            error
                .message
                .contains("key column `name` of table `Role` is not a column"),
            "{error}"
        );
        assert!(error.message.contains("its columns: role_name"), "{error}");
    }

    #[test]
    fn a_label_in_the_id_column_becomes_the_derived_id() {
        let (_dir, source) = source(&[
            (
                "manifest.yaml",
                "version: '1'\ntables:\n  - { table: Batch, file: Batch.csv, id: id_batch }\n",
            ),
            ("Batch.csv", "id_batch,process_status\nbatch-1,completed\n"),
        ]);
        let tables = resolve(&source).unwrap();
        assert_eq!(tables[0].columns, ["id_batch", "process_status"]);
        assert_eq!(tables[0].rows[0][0], Some(derive_id("Batch", &["batch-1"])));
    }

    #[test]
    fn yaml_rows_must_name_every_column() {
        let error = parse_yaml_rows("- { a: 1, b: 2 }\n- { a: 3 }\n", "t.yaml").unwrap_err();
        assert!(error.message.contains("this row has no `b`"), "{error}");
        assert!(error.location.ends_with("t.yaml:2:3"), "{error}");
    }

    #[test]
    fn csv_rows_with_the_wrong_number_of_fields_are_refused_with_their_line() {
        let error = parse_csv(b"a,b\n1,2\n3\n", "t.csv").unwrap_err();
        assert!(error.location.ends_with("t.csv:3"), "{error}");
    }

    #[test]
    fn generated_rows_are_the_same_for_the_same_random_seed() {
        let manifest = "version: '1'\ntables:\n  - { table: Role, file: Role.csv, id: id_role, key: [role_name] }\n  \
                        - table: Event\n    id: id_event\n    generate:\n      rows: 500\n      random_seed: 42\n      \
                        columns:\n        role: { pick: Role }\n        name: { text: 'event {n}' }\n        \
                        amount: { decimal: [-5, 5] }\n        day: { date: [2025-01-01, 2025-01-31] }\n        \
                        kind: { one_of: [a, b] }\n        size: { integer: [1, 3] }\n";
        let (_dir, source) = source(&[("manifest.yaml", manifest), ("Role.csv", "role_name\nADMIN\nUSER\n")]);
        let first = resolve(&source).unwrap();
        assert_eq!(first, resolve(&source).unwrap());
        let events = &first[1];
        assert_eq!(
            events.columns,
            ["id_event", "role", "name", "amount", "day", "kind", "size"]
        );
        assert_eq!(events.rows.len(), 500);
        assert_eq!(events.rows[0][0], Some(derive_id("Event", &["#1"])));
        assert_eq!(events.rows[499][2].as_deref(), Some("event 500"));
        let roles = [derive_id("Role", &["ADMIN"]), derive_id("Role", &["USER"])];
        for row in &events.rows {
            assert!(roles.contains(row[1].as_ref().unwrap()));
            let amount: f64 = row[3].as_ref().unwrap().parse().unwrap();
            assert!((-5.0..=5.0).contains(&amount));
            assert!(row[4].as_ref().unwrap().starts_with("2025-01-"));
            assert!(["1", "2", "3"].contains(&row[6].as_deref().unwrap()));
        }
        // Both choices and both roles appear.
        assert!(events.rows.iter().any(|r| r[5].as_deref() == Some("a")));
        assert!(events.rows.iter().any(|r| r[5].as_deref() == Some("b")));
        assert!(events.rows.iter().any(|r| r[1].as_ref() == Some(&roles[1])));
    }

    #[test]
    fn streamed_generated_rows_are_resolves_rows_also_when_picking_from_a_generated_table() {
        let manifest = "version: '1'\ntables:\n  - { table: Role, file: Role.csv, id: id_role, key: [role_name] }\n  \
                        - table: Event\n    id: id_event\n    generate:\n      rows: 300\n      random_seed: 42\n      \
                        columns:\n        role: { pick: Role }\n        name: { text: 'event {n} of {n}' }\n        \
                        amount: { decimal: [-5, 5] }\n        size: { integer: [-3, 3] }\n  \
                        - table: Ticket\n    id: id_ticket\n    generate:\n      rows: 200\n      random_seed: 9\n      \
                        columns:\n        event: { pick: Event }\n        kind: { one_of: [a, b] }\n";
        let (_dir, source) = source(&[("manifest.yaml", manifest), ("Role.csv", "role_name\nADMIN\nUSER\n")]);
        let resolved = resolve(&source).unwrap();
        let streamed = resolve_streamed(&source).unwrap();
        assert!(matches!(streamed[1], StreamedTable::Generated(_)));
        assert_eq!(streamed[2].row_count(), 200);
        let materialised: Vec<TableRows> = streamed.into_iter().map(StreamedTable::into_rows).collect();
        assert_eq!(materialised, resolved);
        let event_ids: Vec<String> = (1..=300).map(|n| derive_id("Event", &[&format!("#{n}")])).collect();
        for row in &resolved[2].rows {
            assert!(event_ids.contains(row[1].as_ref().unwrap()), "{row:?}");
        }
        assert_eq!(resolved[1].rows[6][2].as_deref(), Some("event 7 of 7"));
    }

    #[test]
    fn the_flowlite_seed_resolves_and_its_demo_passwords_verify() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let source = read_source(&dir).unwrap_or_else(|error| panic!("{error}"));
        let tables = resolve(&source).unwrap_or_else(|error| panic!("{error}"));
        let names: Vec<&str> = tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(
            names,
            [
                "Role",
                "User",
                "UserInfo",
                "Bank",
                "TransactionCategory",
                "TransactionBatch",
                "Transaction",
                "InsightCategory",
                "Insights"
            ]
        );
        let users = &tables[1];
        let column = |name: &str| users.columns.iter().position(|c| c == name).unwrap();
        // The README documents these credentials.
        for (email, password) in [
            ("juan.perez@example.com", "password123"),
            ("maria.lopez@example.com", "password123"),
            ("admin@flowlite.com", "admin123"),
        ] {
            let row = users
                .rows
                .iter()
                .find(|row| row[column("email")].as_deref() == Some(email))
                .unwrap_or_else(|| panic!("demo user {email} is seeded"));
            let hash = row[column("password")].as_deref().unwrap();
            assert!(bcrypt::verify(password, hash).unwrap(), "{email}'s hash verifies");
        }
        // Category labels are the ML classifier's: underscores, no accents, no spaces.
        let categories = &tables[4];
        assert!(
            categories
                .rows
                .iter()
                .any(|r| r[1].as_deref() == Some("Alimentacion_Restaurantes"))
        );
        for row in &categories.rows {
            let label = row[1].as_deref().unwrap();
            assert!(label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{label}");
        }
    }

    #[test]
    fn the_checksum_covers_data_files_independently_of_line_endings() {
        let (_lf_dir, lf) = flowlite_like();
        let (_crlf_dir, crlf) = source(&[
            ("manifest.yaml", &MANIFEST.replace('\n', "\r\n")),
            ("Role.csv", "role_name\r\n# the roles\r\nADMIN\r\nUSER\r\n"),
            (
                "User.yaml",
                "- { email: a@example.com, password: secret, role: ADMIN, active: true }\r\n\
                 - { email: b@example.com, password: secret, role: USER, active: false }\r\n",
            ),
            (
                "UserInfo.csv",
                "id_user,telefono\r\na@example.com,\"300, ext 1\"\r\nb@example.com,\r\n",
            ),
        ]);
        assert_eq!(lf.checksum, crlf.checksum);
        std::fs::write(lf.dir.join("Role.csv"), "role_name\nADMIN\nUSER\nPREMIUM_USER\n").unwrap();
        assert_ne!(read_source(&lf.dir).unwrap().checksum, lf.checksum);
    }
}
