//! Migrations and the seed as a user meets them: `up`, `migrate` and `seed`
//! run through the real binary against the MariaDB stand-in (built by
//! scripts/build-test-images.sh). Every test works on temporary copies of
//! the repository's `migrations/` and `seeds/`, pointed at by a third `-f`
//! spec file, so it may edit them freely.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::{Connection, MySqlConnection};
use support::{FLOWLITE_TABLES, FlowliteStack, assert_success, flowlite_on_copies, row_counts, stderr, stdout};

/// The Flowlite schema's migration: the first one.
const SCHEMA_VERSION: &str = "20251105000001";
const SCHEMA_UP_FILE: &str = "20251105000001_flowlite_schema.up.sql";
/// Every primary key of every seeded table, sorted.
async fn primary_keys(connection: &mut MySqlConnection) -> BTreeMap<String, Vec<String>> {
    let key_columns = [
        ("Role", "id_role"),
        ("User", "id_user"),
        ("UserInfo", "id_user"),
        ("Bank", "id_bank"),
        ("TransactionCategory", "id_category"),
        ("TransactionBatch", "id_batch"),
        ("Transaction", "id_transaction"),
        ("InsightCategory", "id_category"),
        ("Insights", "id_insight"),
    ];
    let mut keys = BTreeMap::new();
    for (table, column) in key_columns {
        let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {column} FROM `{table}` ORDER BY {column}"
        )))
        .fetch_all(&mut *connection)
        .await
        .unwrap();
        keys.insert(table.to_string(), ids);
    }
    keys
}

fn migration_states(stack: &FlowliteStack) -> Vec<(i64, String)> {
    let info = stack.flowinfra(&["migrate", "info", "--json"]);
    assert_success(&info, "migrate info --json");
    let statuses: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["version"].as_i64().unwrap(), s["state"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn a_fresh_up_migrates_and_seeds_and_a_second_up_or_seed_changes_nothing() {
    let (stack, files) = flowlite_on_copies("mysql-fresh-up");
    let up = stack.flowinfra(&["up", "mysql"]);
    assert_success(&up, "up mysql");
    let text = stderr(&up);
    assert!(text.contains("mysql: migrating (1 pending: 20251105000001)"), "{text}");
    assert!(text.contains("mysql: seeding (version 2025-11-05.2)"), "{text}");

    let mut mysql = stack.mysql().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
    )
    .fetch_all(&mut mysql)
    .await
    .unwrap();
    for table in FLOWLITE_TABLES.iter().chain(&["_sqlx_migrations", "_flowinfra_seed"]) {
        assert!(tables.iter().any(|t| t == table), "table {table} missing: {tables:?}");
    }
    let expected = files.expected_counts();
    assert_eq!(row_counts(&mut mysql).await, expected);
    assert_eq!(expected["User"], 3);

    // The record: version, checksum of these files, rows per table.
    let (version, checksum, row_counts): (String, String, String) =
        sqlx::query_as("SELECT version, checksum, row_counts FROM _flowinfra_seed ORDER BY id DESC LIMIT 1")
            .fetch_one(&mut mysql)
            .await
            .unwrap();
    assert_eq!(version, "2025-11-05.2");
    assert_eq!(
        checksum,
        flowinfra::mysql::rows::read_source(&files.seeds()).unwrap().checksum
    );
    let recorded: BTreeMap<String, i64> = serde_json::from_str(&row_counts).unwrap();
    assert_eq!(recorded, expected);

    assert_eq!(
        migration_states(&stack),
        [(SCHEMA_VERSION.parse().unwrap(), "applied".to_string())]
    );

    let again = stack.flowinfra(&["up", "mysql"]);
    assert_success(&again, "second up");
    assert!(!stderr(&again).contains("migrating"), "{}", stderr(&again));
    assert!(!stderr(&again).contains("seeding"), "{}", stderr(&again));
    let seed = stack.flowinfra(&["seed"]);
    assert_success(&seed, "seed");
    assert!(
        stderr(&seed).contains("seed 2025-11-05.2 is current"),
        "{}",
        stderr(&seed)
    );
    let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _flowinfra_seed")
        .fetch_one(&mut mysql)
        .await
        .unwrap();
    assert_eq!(records, 1, "a current seed is not loaded again");
}

#[tokio::test]
async fn a_demo_users_stored_hash_verifies_with_python_bcrypt() {
    let (stack, _files) = flowlite_on_copies("mysql-bcrypt");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");
    let mut mysql = stack.mysql().await;
    let hash: String = sqlx::query_scalar("SELECT password FROM `User` WHERE email = 'juan.perez@example.com'")
        .fetch_one(&mut mysql)
        .await
        .unwrap();
    assert!(hash.starts_with("$2b$"), "{hash}");

    // Python's bcrypt package, as the Flowlite services use it, in a venv of its own.
    let venv = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv.path())
        .status()
        .expect("python3 runs (this test verifies hashes with Python's bcrypt)");
    assert!(status.success(), "python3 -m venv failed");
    let pip = std::process::Command::new(venv.path().join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "bcrypt"])
        .output()
        .unwrap();
    assert!(pip.status.success(), "pip install bcrypt failed: {}", stderr(&pip));
    let verify = |password: &str| {
        std::process::Command::new(venv.path().join("bin/python"))
            .args([
                "-c",
                "import sys, bcrypt; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()))",
                password,
                &hash,
            ])
            .output()
            .unwrap()
    };
    let right = verify("password123");
    assert_eq!(stdout(&right).trim(), "True", "{}", stderr(&right));
    let wrong = verify("password124");
    assert_eq!(stdout(&wrong).trim(), "False", "{}", stderr(&wrong));
}

#[tokio::test]
async fn edited_seed_data_loads_with_a_warning_without_a_new_version_and_quietly_with_one() {
    let (stack, files) = flowlite_on_copies("mysql-seed-edit");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");

    files.edit(
        &files.seeds().join("UserInfo.csv"),
        "+57 300 555 0101",
        "+57 300 555 9999",
    );
    let up = stack.flowinfra(&["up", "mysql"]);
    assert_success(&up, "up after an edit without a version bump");
    let text = stderr(&up);
    assert!(
        text.contains("warning: mysql: the seed's content changed but its version (2025-11-05.2) did not"),
        "{text}"
    );
    assert!(text.contains("mysql: seeding"), "{text}");
    let mut mysql = stack.mysql().await;
    let phone: String = sqlx::query_scalar(
        "SELECT i.telefono FROM UserInfo i JOIN `User` u ON u.id_user = i.id_user WHERE u.email = 'juan.perez@example.com'",
    )
    .fetch_one(&mut mysql)
    .await
    .unwrap();
    assert_eq!(phone, "+57 300 555 9999");
    assert_eq!(row_counts(&mut mysql).await, files.expected_counts());

    files.edit(&files.seeds().join("Bank.csv"), "Nequi\n", "Nequi\nBanco Popular\n");
    files.edit(
        &files.seeds().join("manifest.yaml"),
        "version: 2025-11-05.2",
        "version: 2025-11-05.3",
    );
    let bumped = stack.flowinfra(&["up", "mysql"]);
    assert_success(&bumped, "up after a version bump");
    let text = stderr(&bumped);
    assert!(text.contains("mysql: seeding (version 2025-11-05.3)"), "{text}");
    assert!(!text.contains("warning"), "{text}");
    assert_eq!(row_counts(&mut mysql).await, files.expected_counts());

    let seed = stack.flowinfra(&["seed"]);
    assert_success(&seed, "seed when current");
    assert!(stderr(&seed).contains("is current"), "{}", stderr(&seed));
}

#[tokio::test]
async fn seed_clean_twice_gives_identical_counts_and_primary_keys() {
    let (stack, files) = flowlite_on_copies("mysql-seed-clean");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");
    let mut mysql = stack.mysql().await;
    let seeded_keys = primary_keys(&mut mysql).await;
    // A row the seed does not name: --clean removes it.
    sqlx::query("INSERT INTO Bank (id_bank, bank_name) VALUES (UUID(), 'Banco Local de Pruebas')")
        .execute(&mut mysql)
        .await
        .unwrap();

    let first = stack.flowinfra(&["seed", "--clean"]);
    assert_success(&first, "seed --clean");
    assert!(
        stderr(&first).contains("deleting the seeded tables' rows"),
        "{}",
        stderr(&first)
    );
    let counts_after_first = row_counts(&mut mysql).await;
    let keys_after_first = primary_keys(&mut mysql).await;
    assert_success(&stack.flowinfra(&["seed", "--clean"]), "second seed --clean");
    assert_eq!(row_counts(&mut mysql).await, counts_after_first);
    assert_eq!(primary_keys(&mut mysql).await, keys_after_first);
    assert_eq!(counts_after_first, files.expected_counts());
    assert_eq!(keys_after_first, seeded_keys, "re-seeding gives the same primary keys");
}

#[tokio::test]
async fn a_server_killed_mid_seed_leaves_no_partial_rows_and_the_next_seed_succeeds() {
    const GENERATED: i64 = 300_000;
    let (stack, files) = flowlite_on_copies("mysql-seed-killed");
    files.generate_transactions(GENERATED as u64);
    let mut up = stack.spawn(&["up", "mysql"]);
    // Wait until the seed's INSERTs into `Transaction` run, then kill the server.
    let url = stack.mysql_url();
    support::wait_for("the seed to insert transactions", Duration::from_secs(180), || {
        let url = url.clone();
        async move {
            let mut watcher = MySqlConnection::connect(&url).await.ok()?;
            let inserting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO `Transaction`%'",
            )
            .fetch_one(&mut watcher)
            .await
            .ok()?;
            (inserting > 0).then_some(())
        }
    })
    .await;
    let engine = support::engine().await;
    let container = stack.project.container_name("mysql");
    engine.stop_container(&container, Duration::ZERO).await.unwrap();
    let status = up.wait().unwrap();
    assert!(!status.success(), "up should fail when its server is killed");

    engine.start_container(&container).await.unwrap();
    let mut mysql = support::wait_for("mysql to accept logins again", Duration::from_secs(120), || {
        let url = url.clone();
        async move { MySqlConnection::connect(&url).await.ok() }
    })
    .await;
    let after_kill = row_counts(&mut mysql).await;
    assert!(
        after_kill.values().all(|&count| count == 0),
        "partial rows remain: {after_kill:?}"
    );
    let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _flowinfra_seed")
        .fetch_one(&mut mysql)
        .await
        .unwrap();
    assert_eq!(records, 0, "no seed is recorded");

    let seed = stack.flowinfra(&["seed"]);
    assert_success(&seed, "seed after the kill");
    let loaded = row_counts(&mut mysql).await;
    assert_eq!(loaded, files.expected_counts());
    assert_eq!(loaded["Transaction"], GENERATED);
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused_by_migrate_run_and_up_naming_it() {
    let (stack, files) = flowlite_on_copies("mysql-migration-changed");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");
    files.edit(
        &files.migrations().join(SCHEMA_UP_FILE),
        "CREATE TABLE Role (",
        "-- an afterthought\nCREATE TABLE Role (",
    );
    for args in [&["migrate", "run"][..], &["up", "mysql"][..]] {
        let output = stack.flowinfra(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
        let text = stderr(&output);
        assert!(
            text.contains("migration 20251105000001 (flowlite schema) was applied, but its file"),
            "{args:?}: {text}"
        );
        assert!(text.contains(SCHEMA_UP_FILE), "{args:?}: {text}");
        assert!(text.contains("has changed since"), "{args:?}: {text}");
        assert!(!text.contains("flowlite_password"), "the password leaked: {text}");
    }
    assert_eq!(
        migration_states(&stack),
        [(SCHEMA_VERSION.parse().unwrap(), "changed".to_string())]
    );
}

#[tokio::test]
async fn a_migration_failing_part_way_is_reported_with_its_statement_and_shown_failed() {
    let (stack, files) = flowlite_on_copies("mysql-migration-dirty");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");
    std::fs::write(
        files.migrations().join("20251106000001_bank_code.sql"),
        "ALTER TABLE Bank ADD COLUMN code VARCHAR(10) NULL;\n\
         CREATE INDEX ix_bank_code ON Bank (code);\n\
         ALTER TABLE Bank ADD COLUMN code VARCHAR(10) NULL;\n",
    )
    .unwrap();
    let run = stack.flowinfra(&["migrate", "run"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let text = stderr(&run);
    assert!(
        text.contains("migration 20251106000001 (bank code) failed at statement 3 of 3"),
        "{text}"
    );
    assert!(text.contains("20251106000001_bank_code.sql:3"), "{text}");
    assert!(
        text.contains("`ALTER TABLE Bank ADD COLUMN code VARCHAR(10) NULL`"),
        "{text}"
    );
    assert!(text.contains("Duplicate column name 'code' (error 1060)"), "{text}");
    assert!(text.contains("statements 1 to 2 stay applied"), "{text}");

    assert_eq!(
        migration_states(&stack),
        [
            (SCHEMA_VERSION.parse().unwrap(), "applied".to_string()),
            (20251106000001, "failed".to_string())
        ]
    );
    let info = stack.flowinfra(&["migrate", "info"]);
    assert!(stdout(&info).contains("failed"), "{}", stdout(&info));
    let up = stack.flowinfra(&["up", "mysql"]);
    assert_eq!(up.status.code(), Some(1), "{}", stderr(&up));
    assert!(
        stderr(&up).contains("migration 20251106000001 (bank code) failed part-way in an earlier run"),
        "{}",
        stderr(&up)
    );
}

#[tokio::test]
async fn migrate_revert_drops_the_schema_and_the_next_up_rebuilds_and_reseeds_it() {
    let (stack, files) = flowlite_on_copies("mysql-revert");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");
    let mut mysql = stack.mysql().await;
    // sqlx-cli reads the same bookkeeping: one successful row with a SHA-384 checksum.
    let (success, checksum): (bool, Vec<u8>) =
        sqlx::query_as("SELECT success, checksum FROM _sqlx_migrations WHERE version = 20251105000001")
            .fetch_one(&mut mysql)
            .await
            .unwrap();
    assert!(success);
    assert_eq!(checksum.len(), 48);

    let revert = stack.flowinfra(&["migrate", "revert"]);
    assert_success(&revert, "migrate revert");
    assert!(
        stderr(&revert).contains("reverted 20251105000001 (flowlite schema)"),
        "{}",
        stderr(&revert)
    );
    assert!(
        stderr(&revert).contains("the seed record was cleared"),
        "{}",
        stderr(&revert)
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'User'",
    )
    .fetch_one(&mut mysql)
    .await
    .unwrap();
    assert_eq!(left, 0, "the schema is gone");
    assert_eq!(
        migration_states(&stack),
        [(SCHEMA_VERSION.parse().unwrap(), "pending".to_string())]
    );

    let up = stack.flowinfra(&["up", "mysql"]);
    assert_success(&up, "up after revert");
    assert!(stderr(&up).contains("mysql: seeding"), "{}", stderr(&up));
    assert_eq!(row_counts(&mut mysql).await, files.expected_counts());
}

/// Issue 16 item 3: a recreate onto a host port another program holds keeps
/// the old container: it is stopped only for as long as the new one takes to
/// fail, then started again, and the error names the port and says so.
#[tokio::test]
async fn a_recreate_onto_a_taken_port_keeps_the_old_container_serving() {
    let (mut stack, _files) = flowlite_on_copies("mysql-port-taken");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");
    let old_ids = stack.container_ids().await;
    let old_port = stack.port("MYSQL_PORT");

    // Another program holds the port the spec now asks for.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    stack.env.insert("MYSQL_PORT".into(), taken.to_string());
    let up = stack.flowinfra(&["up", "mysql"]);
    let text = stderr(&up);
    assert_eq!(up.status.code(), Some(1), "up onto a taken port must fail\n{text}");
    assert!(
        text.contains(&format!("host port 127.0.0.1:{taken}")),
        "the port is not named\n{text}"
    );
    assert!(
        text.contains("old container"),
        "the error does not say what became of the old container\n{text}"
    );
    assert!(
        text.contains("kept running"),
        "the error does not say the old container kept running\n{text}"
    );

    // The old container, not a new one, is still serving on the old port.
    let ids = stack.container_ids().await;
    assert_eq!(
        ids.get("mysql"),
        old_ids.get("mysql"),
        "the mysql container was replaced"
    );
    assert_eq!(ids.len(), old_ids.len(), "a container was left behind: {ids:?}");
    stack.env.insert("MYSQL_PORT".into(), old_port.to_string());
    let mut mysql = support::wait_for("the old mysql to serve again", Duration::from_secs(60), || {
        let url = stack.mysql_url();
        async move { MySqlConnection::connect(&url).await.ok() }
    })
    .await;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM `User`")
        .fetch_one(&mut mysql)
        .await
        .unwrap();
    assert_eq!(users, 3, "the old container serves the seeded database");
    drop(squatter);
}

fn seed_check(stack: &FlowliteStack) -> (Option<i32>, serde_json::Value) {
    let check = stack.flowinfra(&["check", "mysql", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&check.stdout)
        .unwrap_or_else(|e| panic!("check --json is JSON ({e}):\n{}", stdout(&check)));
    let seed = value["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == "mysql" && c["check"] == "seed")
        .unwrap_or_else(|| panic!("no seed check: {value:#}"))
        .clone();
    (check.status.code(), seed)
}

/// Issue 16 item 4: `check` verifies what the seed promises (every seeded
/// row, with its seeded values), not row counts; rows the application adds
/// are information. A seeded row deleted or changed is named by table and
/// natural key, and `up` loads it again, so `up` and `check` agree.
#[tokio::test]
async fn check_holds_in_daily_use_and_up_restores_seeded_rows_changed_by_hand() {
    let (stack, _files) = flowlite_on_copies("mysql-daily-use");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql");
    let mut mysql = stack.mysql().await;
    // A warm `up` compares row by row once and records the fingerprints it
    // found (issue 12): later runs compare those, and rows again only when one differs.
    assert_success(&stack.flowinfra(&["up", "mysql"]), "warm up mysql");
    let verified = || async {
        let mut mysql = stack.mysql().await;
        sqlx::query_scalar::<_, String>("SELECT CAST(tables AS CHAR) FROM _flowinfra_seed_verified")
            .fetch_all(&mut mysql)
            .await
            .unwrap()
    };
    let recorded = verified().await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let (code, seed) = seed_check(&stack);
    assert_eq!((code, &seed["status"]), (Some(0), &"ok".into()), "{seed:#}");

    // The application signs up a user: not a breach of the seed.
    sqlx::query(
        "INSERT INTO `User` (id_user, username, email, password, role, active) \
         SELECT UUID(), 'app.user', 'app.user@example.com', 'x', id_role, 1 FROM Role WHERE role_name = 'USER'",
    )
    .execute(&mut mysql)
    .await
    .unwrap();
    let (code, seed) = seed_check(&stack);
    assert_eq!(code, Some(0), "an application row fails check: {seed:#}");
    assert_eq!(seed["status"], "ok", "{seed:#}");
    let reason = seed["reason"].as_str().unwrap();
    assert!(
        reason.contains("rows added since seeding") && reason.contains("1 User"),
        "{seed:#}"
    );
    // `check` writes nothing; `up` records the new fingerprints, with the
    // added row, and `check` reads the same verdict from them.
    assert_eq!(verified().await, recorded, "check wrote a verification");
    assert_success(&stack.flowinfra(&["up", "mysql"]), "up mysql with an added row");
    let recorded_again = verified().await;
    assert_ne!(recorded_again, recorded, "up did not record the new contents");
    let (code, seed) = seed_check(&stack);
    assert_eq!(code, Some(0), "{seed:#}");
    assert_eq!(
        seed["reason"], reason,
        "the fingerprints' verdict differs from the comparison's"
    );
    // A non-seeded column changed by the application is no breach either.
    sqlx::query("UPDATE `User` SET password = 'rehashed' WHERE email = 'admin@flowlite.com'")
        .execute(&mut mysql)
        .await
        .unwrap();
    let (code, seed) = seed_check(&stack);
    assert_eq!(code, Some(0), "a changed bcrypt column fails check: {seed:#}");

    // A seeded user deleted and another's name changed by hand: both named.
    sqlx::raw_sql(
        "SET FOREIGN_KEY_CHECKS = 0; DELETE FROM `User` WHERE email = 'maria.lopez@example.com'; \
         SET FOREIGN_KEY_CHECKS = 1; UPDATE `User` SET username = 'root' WHERE email = 'admin@flowlite.com'",
    )
    .execute(&mut mysql)
    .await
    .unwrap();
    let (code, seed) = seed_check(&stack);
    assert_eq!(code, Some(1), "a deleted seeded row passes check: {seed:#}");
    let reason = seed["reason"].as_str().unwrap();
    assert!(
        reason.contains("User email=maria.lopez@example.com missing"),
        "{seed:#}"
    );
    assert!(
        reason.contains("User email=admin@flowlite.com changed (username)"),
        "{seed:#}"
    );

    // `up` sees the same and loads the seed's rows again.
    let up = stack.flowinfra(&["up", "mysql"]);
    assert_success(&up, "up mysql after rows changed by hand");
    let text = stderr(&up);
    assert!(text.contains("User email=maria.lopez@example.com missing"), "{text}");
    let (code, seed) = seed_check(&stack);
    assert_eq!(code, Some(0), "check after up: {seed:#}");
    let restored: Vec<(String, String)> =
        sqlx::query_as("SELECT CAST(username AS CHAR), CAST(email AS CHAR) FROM `User` ORDER BY email")
            .fetch_all(&mut mysql)
            .await
            .unwrap();
    assert_eq!(
        restored.len(),
        4,
        "the seeded users and the application's: {restored:?}"
    );
    assert!(
        restored.contains(&("admin".into(), "admin@flowlite.com".into())),
        "{restored:?}"
    );
    assert!(
        restored.iter().any(|(_, email)| email == "maria.lopez@example.com"),
        "{restored:?}"
    );
    assert!(
        restored.iter().any(|(_, email)| email == "app.user@example.com"),
        "{restored:?}"
    );
}

/// Issue 16 item 5a/5b: a misspelt seed header is caught before loading,
/// naming the file, the header's line, the column and the real one; `up`
/// says provisioning failed (the server is fine) and shows no server log.
#[tokio::test]
async fn a_misspelt_seed_column_is_named_at_its_header_and_up_says_provisioning_failed() {
    let (stack, files) = flowlite_on_copies("mysql-seed-typo");
    let data = files.seeds().join("UserInfo.csv");
    files.edit(&data, ",telefono,", ",telefonoo,");
    let up = stack.flowinfra(&["up", "mysql"]);
    assert_eq!(up.status.code(), Some(1), "{}", stderr(&up));
    let text = stderr(&up);
    assert!(
        text.contains(&format!(
            "{}:2: column `telefonoo` is not a column of table `UserInfo` (did you mean `telefono`?)",
            data.display()
        )),
        "{text}"
    );
    assert!(!text.contains("Unknown column"), "the server found it first: {text}");
    assert!(
        text.contains("service `mysql` is running, but provisioning it failed"),
        "{text}"
    );
    assert!(!text.contains("is not ready"), "{text}");
    assert!(!text.contains("lines of its log"), "the server's log is shown: {text}");

    // Nothing was loaded: the seed is not recorded and UserInfo is empty.
    let mut mysql = stack.mysql().await;
    let infos: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM UserInfo")
        .fetch_one(&mut mysql)
        .await
        .unwrap();
    assert_eq!(infos, 0);
}
