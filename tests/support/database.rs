//! [`DatabaseFiles`]: temporary copies of the repository's `migrations/` and
//! `seeds/` with a spec override pointing the Flowlite mysql service at them,
//! so a test may edit them (e.g. swap the demo transactions for many
//! generated ones) — and what the database must then hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqlx::MySqlConnection;

use super::FlowliteStack;

/// The Flowlite schema's tables, in the seed's load order.
pub const FLOWLITE_TABLES: [&str; 9] = [
    "Role",
    "User",
    "UserInfo",
    "Bank",
    "TransactionCategory",
    "TransactionBatch",
    "Transaction",
    "InsightCategory",
    "Insights",
];

/// The Flowlite stack on fresh copies of the migrations and seed.
pub fn flowlite_on_copies(test: &str) -> (FlowliteStack, DatabaseFiles) {
    let files = DatabaseFiles::copy_of_repository();
    let stack = FlowliteStack::new(test).with_override(&files.override_file());
    (stack, files)
}

pub struct DatabaseFiles {
    dir: tempfile::TempDir,
}

impl DatabaseFiles {
    pub fn copy_of_repository() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in ["migrations", "seeds"] {
            copy_dir(&repository.join(name), &dir.path().join(name));
        }
        std::fs::write(
            dir.path().join("override.yaml"),
            format!(
                "services:\n  mysql:\n    x-flowinfra:\n      kind: mysql\n      migrations: {}\n      seed: {}\n",
                dir.path().join("migrations").display(),
                dir.path().join("seeds").display()
            ),
        )
        .unwrap();
        Self { dir }
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    pub fn seeds(&self) -> PathBuf {
        self.dir.path().join("seeds")
    }

    /// The spec file to merge over the Flowlite spec.
    pub fn override_file(&self) -> PathBuf {
        self.dir.path().join("override.yaml")
    }

    /// Replaces the demo transactions with `rows` generated ones (the seed
    /// manifest's `generate:`), so loading the seed takes long enough to be
    /// interrupted.
    pub fn generate_transactions(&self, rows: u64) {
        let path = self.seeds().join("manifest.yaml");
        let manifest = std::fs::read_to_string(&path).unwrap();
        let start = manifest
            .find("  - table: Transaction\n")
            .expect("the manifest loads Transaction");
        let end = manifest
            .find("  - table: InsightCategory\n")
            .expect("the manifest loads InsightCategory after Transaction");
        let generated = format!(
            "  - table: Transaction\n    id: id_transaction\n    generate:\n      rows: {rows}\n      random_seed: 42\n      \
             columns:\n        id_user: {{ pick: User }}\n        id_bank: {{ pick: Bank }}\n        \
             id_category: {{ pick: TransactionCategory }}\n        id_batch: {{ pick: TransactionBatch }}\n        \
             transaction_name: {{ text: 'Compra sintetica {{n}}' }}\n        value: {{ decimal: [1000, 2000000] }}\n        \
             transaction_date: {{ date: [2025-01-01, 2025-10-31] }}\n        \
             transaction_type: {{ one_of: [income, expense] }}\n\n"
        );
        std::fs::write(&path, format!("{}{generated}{}", &manifest[..start], &manifest[end..])).unwrap();
    }

    /// Replaces `from` with `to` in a seed or migration file, failing when `from` is absent.
    pub fn edit(&self, file: &Path, from: &str, to: &str) {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains(from), "{} has no `{from}`", file.display());
        std::fs::write(file, text.replacen(from, to, 1)).unwrap();
    }

    /// Rows per table the seed loads, as flowinfra reads the files.
    pub fn expected_counts(&self) -> BTreeMap<String, i64> {
        let source = flowinfra::mysql::rows::read_source(&self.seeds()).unwrap();
        flowinfra::mysql::rows::resolve(&source)
            .unwrap()
            .into_iter()
            .map(|table| (table.table, table.rows.len() as i64))
            .collect()
    }

    /// The migration versions in the migrations directory, in order.
    pub fn migration_versions(&self) -> Vec<i64> {
        let mut versions: Vec<i64> = std::fs::read_dir(self.migrations())
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                let version = name.split_once('_')?.0.parse().ok()?;
                name.ends_with(".sql").then_some(version)
            })
            .collect();
        versions.sort_unstable();
        versions.dedup();
        versions
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Rows per Flowlite table.
pub async fn row_counts(connection: &mut MySqlConnection) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for table in FLOWLITE_TABLES {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM `{table}`")))
            .fetch_one(&mut *connection)
            .await
            .unwrap_or_else(|error| panic!("count the rows of {table}: {error}"));
        counts.insert(table.to_string(), count);
    }
    counts
}
