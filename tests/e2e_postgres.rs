//! The PostgreSQL kind as a user meets it: `up`, `migrate`, `seed`, `check`
//! and `env` run through the real binary against the PostgreSQL stand-in
//! (`flowinfra-standin/postgres:test`, built by scripts/build-test-images.sh,
//! which runs the official image's entrypoint contract). Most tests work on a
//! stack of their own in a temporary directory (spec, migrations, seed,
//! init scripts), so they may edit its files freely; the last two bring up
//! the repository's examples.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use support::{Flowinfra, Output, TestProject, assert_success, free_port, stderr, stdout};

const USER: &str = "shop";
const PASSWORD: &str = "shop-secret!";
const DATABASE: &str = "shop_db";

const SCHEMA: &str = "\
CREATE TABLE customer (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE,
    password text NOT NULL,
    active boolean NOT NULL,
    profile jsonb
);
CREATE TABLE purchase (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customer (id),
    label text NOT NULL,
    amount numeric(10, 2) NOT NULL
);
CREATE TABLE counter (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
";

const MANIFEST: &str = "\
version: 2026-12-01.1
tables:
  - table: customer
    file: customer.yaml
    id: id
    key: [email]
    bcrypt: [password]
  - table: counter
    file: counter.csv
    key: [id]
  - table: purchase
    id: id
    generate:
      rows: 50
      random_seed: 7
      columns:
        customer_id: { pick: customer }
        label: { text: \"Purchase {n}\" }
        amount: { decimal: [1, 500] }
";

const CUSTOMERS: &str = "\
- { email: ana@example.com, password: ana-pass, active: true, profile: '{\"tier\": \"gold\", \"tags\": [\"a\\tb\"]}' }
- { email: bo@example.com, password: bo-pass, active: false, profile: null }
";

const COUNTERS: &str = "id,name\n1,first\n2,second\n";

/// A PostgreSQL stack of one test: a spec in a temporary directory, with its
/// migrations, seed and init scripts next to it, on a free port.
struct PgStack {
    project: TestProject,
    dir: tempfile::TempDir,
    port: u16,
}

impl PgStack {
    fn new(test: &str) -> Self {
        Self::with_environment(test, &format!("POSTGRES_PASSWORD: ${{PG_PASSWORD:-{PASSWORD}}}"))
    }

    fn with_environment(test: &str, password_line: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let spec = format!(
            "services:\n  db:\n    image: flowinfra-standin/postgres:test\n    pull_policy: never\n    environment:\n      \
             POSTGRES_USER: {USER}\n      {password_line}\n      POSTGRES_DB: {DATABASE}\n    ports:\n      \
             - \"127.0.0.1:{port}:5432\"\n    volumes:\n      - data:/var/lib/postgresql/data\n      \
             - ./init:/docker-entrypoint-initdb.d:ro\n    x-flowinfra:\n      kind: postgres\n      \
             migrations: ./migrations\n      seed: ./seeds\nvolumes:\n  data:\n"
        );
        std::fs::write(dir.path().join("stack.yaml"), spec).unwrap();
        for sub in ["migrations", "seeds", "init"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("migrations/1_schema.sql"), SCHEMA).unwrap();
        std::fs::write(dir.path().join("seeds/manifest.yaml"), MANIFEST).unwrap();
        std::fs::write(dir.path().join("seeds/customer.yaml"), CUSTOMERS).unwrap();
        std::fs::write(dir.path().join("seeds/counter.csv"), COUNTERS).unwrap();
        Self {
            project: TestProject::new(test),
            dir,
            port,
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn command(&self, args: &[&str]) -> Flowinfra {
        Flowinfra::new()
            .arg("-f")
            .arg(self.path("stack.yaml"))
            .args(["-p", &self.project.name])
            .args(args)
    }

    fn flowinfra(&self, args: &[&str]) -> Output {
        self.command(args).run()
    }

    fn url(&self) -> String {
        format!(
            "postgresql://{USER}:{}@127.0.0.1:{}/{DATABASE}",
            PASSWORD.replace('!', "%21"),
            self.port
        )
    }

    async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url())
            .await
            .unwrap_or_else(|error| panic!("postgres refuses {USER}: {error}"))
    }
}

async fn ids(connection: &mut PgConnection, table: &str) -> Vec<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id::text FROM {table} ORDER BY id")))
        .fetch_all(connection)
        .await
        .unwrap()
}

async fn count(connection: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(connection)
        .await
        .unwrap()
}

async fn table_exists(connection: &mut PgConnection, table: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn up_from_nothing_migrates_and_seeds_with_copy_and_a_second_up_changes_nothing() {
    let stack = PgStack::new("pg-fresh-up");
    let up = stack.flowinfra(&["up"]);
    assert_success(&up, "up");
    let text = stderr(&up);
    assert!(text.contains("db: migrating (1 pending: 1)"), "{text}");
    assert!(text.contains("db: seeding (version 2026-12-01.1)"), "{text}");

    let mut db = stack.connect().await;
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM customer").await, 2);
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM purchase").await, 50);
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM counter").await, 2);
    // Text cast by COPY into uuid, boolean, jsonb (with an escaped tab), numeric.
    let (active, tier, tag): (bool, String, String) = sqlx::query_as(
        "SELECT active, profile->>'tier', profile->'tags'->>0 FROM customer WHERE email = 'ana@example.com'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert!(active);
    assert_eq!((tier.as_str(), tag.as_str()), ("gold", "a\tb"));
    let bo_profile: Option<String> =
        sqlx::query_scalar("SELECT profile::text FROM customer WHERE email = 'bo@example.com'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(bo_profile, None, "an empty YAML value is NULL");
    let hash: String = sqlx::query_scalar("SELECT password FROM customer WHERE email = 'ana@example.com'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(hash.starts_with("$2b$"), "{hash}");
    // Stable UUIDv5 ids, as the MySQL kind derives them.
    let ana_id: String = sqlx::query_scalar("SELECT id::text FROM customer WHERE email = 'ana@example.com'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(
        ana_id,
        flowinfra::mysql::manifest::derive_id("customer", &["ana@example.com"])
    );
    // The serial column's sequence moved past the seeded ids.
    let next: i32 = sqlx::query_scalar("INSERT INTO counter (name) VALUES ('third') RETURNING id")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(next, 3);
    sqlx::query("DELETE FROM counter WHERE id = 3")
        .execute(&mut db)
        .await
        .unwrap();
    // sqlx's own bookkeeping, as sqlx-cli reads it.
    let (version, success): (i64, bool) = sqlx::query_as("SELECT version, success FROM _sqlx_migrations")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!((version, success), (1, true));

    let again = stack.flowinfra(&["up"]);
    assert_success(&again, "second up");
    assert!(!stderr(&again).contains("migrating"), "{}", stderr(&again));
    assert!(!stderr(&again).contains("seeding"), "{}", stderr(&again));
    assert!(stderr(&again).contains("keep (up to date)"), "{}", stderr(&again));
    let seed = stack.flowinfra(&["seed"]);
    assert_success(&seed, "seed");
    assert!(
        stderr(&seed).contains("seed 2026-12-01.1 is current"),
        "{}",
        stderr(&seed)
    );
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM _flowinfra_seed").await, 1);

    let info = stack.flowinfra(&["migrate", "info", "--json"]);
    assert_success(&info, "migrate info --json");
    let statuses: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(statuses[0]["state"], "applied", "{statuses}");
}

#[tokio::test]
async fn seed_clean_keeps_ids_stable_and_check_fails_on_a_missing_seed_row() {
    let stack = PgStack::new("pg-clean");
    assert_success(&stack.flowinfra(&["up"]), "up");
    let mut db = stack.connect().await;
    let before = (ids(&mut db, "customer").await, ids(&mut db, "purchase").await);

    let check = stack.flowinfra(&["check", "--json"]);
    assert_success(&check, "check --json on a fresh stack");

    // A seeded row deleted by hand: check fails, naming the seed and the table.
    sqlx::query("DELETE FROM purchase WHERE id = (SELECT id FROM purchase ORDER BY id LIMIT 1)")
        .execute(&mut db)
        .await
        .unwrap();
    let check = stack.flowinfra(&["check", "--json"]);
    assert_ne!(check.status.code(), Some(0), "check passed with a seed row missing");
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let seed_check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "seed")
        .unwrap_or_else(|| panic!("no seed check in {report}"));
    assert_eq!(seed_check["status"], "fail", "{seed_check}");
    let reason = seed_check["reason"].as_str().unwrap();
    assert!(reason.contains("purchase"), "{reason}");

    let clean = stack.flowinfra(&["seed", "--clean"]);
    assert_success(&clean, "seed --clean");
    let after = (ids(&mut db, "customer").await, ids(&mut db, "purchase").await);
    assert_eq!(before, after, "seed --clean must reload the same ids");
    assert_success(&stack.flowinfra(&["check", "--json"]), "check after seed --clean");
}

/// The seed check of `check --json`: its status and reason.
fn seed_check(stack: &PgStack) -> (Option<i32>, serde_json::Value) {
    let check = stack.flowinfra(&["check", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout)
        .unwrap_or_else(|e| panic!("check --json is JSON ({e}):\n{}", stdout(&check)));
    let seed = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "seed")
        .unwrap_or_else(|| panic!("no seed check in {report}"))
        .clone();
    (check.status.code(), seed)
}

/// Issue 12: the PostgreSQL kind checks the seed row by row, as the MySQL
/// kind does — a seeded value changed by hand is named by table, natural
/// key and column; rows the application adds are information — and `up`
/// loads the seed's rows again.
#[tokio::test]
async fn check_names_a_changed_seeded_value_and_up_restores_it() {
    let stack = PgStack::new("pg-changed-value");
    assert_success(&stack.flowinfra(&["up"]), "up");
    // The warm `up` compares row by row once and records the fingerprints.
    assert_success(&stack.flowinfra(&["up"]), "warm up");
    let mut db = stack.connect().await;
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM _flowinfra_seed_verified").await, 1);
    let (code, seed) = seed_check(&stack);
    assert_eq!((code, &seed["status"]), (Some(0), &"ok".into()), "{seed}");

    // The application adds a customer: not a breach.
    sqlx::query(
        "INSERT INTO customer (id, email, password, active) VALUES (gen_random_uuid(), 'app@example.com', 'x', true)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let (code, seed) = seed_check(&stack);
    assert_eq!(code, Some(0), "an application row fails check: {seed}");
    let reason = seed["reason"].as_str().unwrap();
    assert!(
        reason.contains("rows added since seeding (not the seed's): 1 customer"),
        "{seed}"
    );

    // A seeded value changed by hand: named, with its column.
    sqlx::query("UPDATE customer SET active = NOT active WHERE email = 'bo@example.com'")
        .execute(&mut db)
        .await
        .unwrap();
    let (code, seed) = seed_check(&stack);
    assert_ne!(code, Some(0), "check passed with a seeded value changed: {seed}");
    assert_eq!(seed["status"], "fail", "{seed}");
    let reason = seed["reason"].as_str().unwrap();
    assert!(
        reason.contains("customer email=bo@example.com changed (active)"),
        "{seed}"
    );

    // `up` sees the same and loads the seed's rows again.
    let up = stack.flowinfra(&["up"]);
    assert_success(&up, "up after a value changed by hand");
    assert!(
        stderr(&up).contains("customer email=bo@example.com changed (active)"),
        "{}",
        stderr(&up)
    );
    let active: bool = sqlx::query_scalar("SELECT active FROM customer WHERE email = 'bo@example.com'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(!active, "the seeded value is back");
    let (code, seed) = seed_check(&stack);
    assert_eq!(code, Some(0), "check after up: {seed}");
}

#[tokio::test]
async fn an_edited_applied_migration_is_refused_by_name() {
    let stack = PgStack::new("pg-edited");
    assert_success(&stack.flowinfra(&["up"]), "up");
    let file = stack.path("migrations/1_schema.sql");
    std::fs::write(&file, format!("{SCHEMA}\nCREATE TABLE sneaky (id int);\n")).unwrap();
    for args in [&["up"][..], &["migrate", "run"][..]] {
        let refused = stack.flowinfra(args);
        assert_ne!(refused.status.code(), Some(0), "{args:?} accepted an edited migration");
        let text = stderr(&refused);
        assert!(
            text.contains("migration 1 (schema) was applied, but its file") && text.contains("1_schema.sql"),
            "{args:?}: {text}"
        );
    }
    let mut db = stack.connect().await;
    assert!(!table_exists(&mut db, "sneaky").await);
}

#[tokio::test]
async fn a_failing_migration_leaves_no_partial_ddl_and_says_so() {
    let stack = PgStack::new("pg-failing");
    assert_success(&stack.flowinfra(&["up"]), "up");
    std::fs::write(
        stack.path("migrations/2_broken.sql"),
        "CREATE TABLE half_done (id int);\nALTER TABLE customer ADD COLUMN nickname text;\n\
         CREATE TABLE broken (\n  id intt\n);\n",
    )
    .unwrap();
    let failed = stack.flowinfra(&["migrate", "run"]);
    assert_ne!(failed.status.code(), Some(0), "a broken migration was accepted");
    let text = stderr(&failed);
    assert!(text.contains("migration 2 (broken) failed at"), "{text}");
    assert!(text.contains("2_broken.sql:4"), "the failing line is named: {text}");
    assert!(text.contains("nothing of it was applied"), "{text}");

    let mut db = stack.connect().await;
    assert!(!table_exists(&mut db, "half_done").await, "partial DDL left behind");
    let nickname: i64 = count(
        &mut db,
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'customer' AND column_name = 'nickname'",
    )
    .await;
    assert_eq!(nickname, 0, "the ALTER before the failure was rolled back");
    assert_eq!(
        count(&mut db, "SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 2").await,
        0
    );

    // Fixed, it applies.
    std::fs::write(
        stack.path("migrations/2_broken.sql"),
        "CREATE TABLE half_done (id int);\n",
    )
    .unwrap();
    assert_success(&stack.flowinfra(&["migrate", "run"]), "migrate run after the fix");
    assert!(table_exists(&mut db, "half_done").await);
}

#[tokio::test]
async fn refused_credentials_are_named_not_a_timeout() {
    let stack = PgStack::new("pg-refused");
    assert_success(&stack.flowinfra(&["up"]), "up");
    // The data volume keeps the first password; the spec now says another.
    let up = stack
        .command(&["up", "--timeout", "60"])
        .env("PG_PASSWORD", "not-the-password")
        .run();
    assert_ne!(up.status.code(), Some(0), "up accepted a wrong password");
    let text = format!("{}{}", stderr(&up), stdout(&up));
    assert!(
        text.contains("service `db` is not ready: the credentials were refused"),
        "{text}"
    );
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains("not-the-password"), "the password is printed: {text}");
    assert!(!text.contains("not ready after"), "reported as a time-out: {text}");
}

#[tokio::test]
async fn the_temporary_init_server_is_not_mistaken_for_readiness() {
    let stack = PgStack::new("pg-init");
    // The image runs this on its socket-only first-start server; readiness
    // must come after it, so the marker is there and the migration that
    // needs it succeeds.
    std::fs::write(
        stack.path("init/01-slow.sql"),
        "SELECT pg_sleep(6);\nCREATE TABLE init_marker (done boolean NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(
        stack.path("migrations/2_needs_marker.sql"),
        "INSERT INTO init_marker VALUES (true);\n",
    )
    .unwrap();
    let up = stack.flowinfra(&["up"]);
    assert_success(&up, "up with a slow init script");
    let mut db = stack.connect().await;
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM init_marker").await, 1);
}

/// A venv with psycopg from PyPI, made once per machine.
fn psycopg_python() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"));
    let venv = cache.join("flowinfra/venv-pg");
    let python = venv.join("bin/python");
    let ready = std::process::Command::new(&python)
        .args(["-c", "import psycopg"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let status = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs (this test connects with Python's psycopg)");
        assert!(status.success(), "python3 -m venv failed");
        let pip = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "psycopg[binary]"])
            .output()
            .unwrap();
        assert!(pip.status.success(), "pip install psycopg failed: {}", stderr(&pip));
    }
    python
}

#[tokio::test]
async fn env_urls_and_pg_variables_connect_with_psycopg() {
    let stack = PgStack::new("pg-env");
    assert_success(&stack.flowinfra(&["up"]), "up");
    let env = stack.flowinfra(&["env", "--format", "json"]);
    assert_success(&env, "env --format json");
    let settings: serde_json::Value = serde_json::from_slice(&env.stdout).unwrap();
    let db = &settings;
    let url = db["DATABASE_URL"].as_str().unwrap_or_else(|| panic!("{settings}"));
    assert!(url.starts_with("postgresql://"), "{url}");
    assert!(
        db["DATABASE_URL_PSYCOPG"]
            .as_str()
            .unwrap()
            .starts_with("postgresql+psycopg://"),
        "{db}"
    );
    assert!(
        db["DATABASE_URL_ASYNCPG"]
            .as_str()
            .unwrap()
            .starts_with("postgresql+asyncpg://"),
        "{db}"
    );
    let python = psycopg_python();
    let script = "import os, psycopg\n\
                  url = os.environ['URL'].replace('postgresql+psycopg://', 'postgresql://')\n\
                  with psycopg.connect(url) as c:\n    print(c.execute('SELECT count(*) FROM customer').fetchone()[0])\n\
                  with psycopg.connect('') as c:\n    print(c.execute('SELECT current_user, current_database()').fetchone())\n";
    let mut command = std::process::Command::new(python);
    command.args(["-c", script]);
    command.env("URL", db["DATABASE_URL_PSYCOPG"].as_str().unwrap());
    for name in ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"] {
        command.env(
            name,
            db[name].as_str().unwrap_or_else(|| panic!("{name} missing: {db}")),
        );
    }
    let output = command.output().unwrap();
    assert_success(&output, "psycopg connects with env's settings");
    assert_eq!(stdout(&output), format!("2\n('{USER}', '{DATABASE}')\n"));
}

fn example_command(project: &TestProject, files: &[&str], env: &BTreeMap<&str, String>, args: &[&str]) -> Output {
    let mut command = Flowinfra::new();
    for file in files {
        command = command.arg("-f").arg(Path::new(file));
    }
    command
        .args(["-p", &project.name])
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .run()
}

#[tokio::test]
async fn the_traffic_system_example_comes_up_and_queries_see_its_seed() {
    let project = TestProject::new("pg-traffic");
    let files = [
        "examples/traffic-system/compose.yaml",
        "examples/traffic-system/offline.yaml",
    ];
    let env: BTreeMap<&str, String> = [
        "POSTGRES_PORT",
        "REDIS_PORT",
        "RABBITMQ_PORT",
        "RABBITMQ_MANAGEMENT_PORT",
        "MINIO_PORT",
        "MINIO_CONSOLE_PORT",
    ]
    .into_iter()
    .map(|name| (name, free_port().to_string()))
    .collect();
    let up = example_command(&project, &files, &env, &["up"]);
    assert_success(&up, "up traffic-system");
    let url = format!(
        "postgresql://postgres:postgres123%21@127.0.0.1:{}/traffic_system",
        env["POSTGRES_PORT"]
    );
    let mut db = PgConnection::connect(&url).await.unwrap();
    let (plate, speed): (String, f64) = sqlx::query_as(
        "SELECT v.license_plate, i.detected_speed::float8 FROM infractions_infraction i \
         JOIN vehicles_vehicle v ON v.id = i.vehicle_id ORDER BY i.detected_speed DESC LIMIT 1",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!((plate.as_str(), speed), ("ABC-123", 95.5));
    let again = example_command(&project, &files, &env, &["up"]);
    assert_success(&again, "second up");
    assert!(!stderr(&again).contains("seeding"), "{}", stderr(&again));
}

#[tokio::test]
async fn the_agrovet_single_server_example_creates_its_databases_and_seeds_them() {
    let project = TestProject::new("pg-agrovet");
    let files = [
        "examples/agrovet/single-server.yaml",
        "examples/agrovet/single-server-offline.yaml",
    ];
    let env: BTreeMap<&str, String> = ["DB_PORT", "REDIS_PORT"]
        .into_iter()
        .map(|name| (name, free_port().to_string()))
        .collect();
    let up = example_command(&project, &files, &env, &["up"]);
    assert_success(&up, "up agrovet single-server");
    let text = stderr(&up);
    assert!(text.contains("postgres (profiles_db): seeding"), "{text}");
    let connect = |database: &str| {
        format!(
            "postgresql://agrovet:agrovet_dev@127.0.0.1:{}/{database}",
            env["DB_PORT"]
        )
    };
    let mut media = PgConnection::connect(&connect("media_db")).await.unwrap();
    let owners: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&mut media)
            .await
            .unwrap();
    assert_eq!(owners, ["media_service"], "media_db's tables belong to its owner role");
    for database in ["auth_db", "profiles_db", "chat_db"] {
        let mut db = PgConnection::connect(&connect(database)).await.unwrap();
        let seeded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _flowinfra_seed")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(seeded, 1, "{database} was seeded once");
    }
    let check = example_command(&project, &files, &env, &["check"]);
    assert_success(&check, "check agrovet single-server");
}

/// Rows of the seeded tables, by table.
async fn seeded_counts(connection: &mut PgConnection) -> BTreeMap<&'static str, i64> {
    let mut counts = BTreeMap::new();
    for table in ["customer", "counter", "purchase"] {
        counts.insert(table, count(connection, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    counts
}

#[tokio::test]
async fn a_server_killed_mid_seed_leaves_all_or_nothing_and_the_next_seed_succeeds() {
    const GENERATED: i64 = 400_000;
    let stack = PgStack::new("pg-seed-killed");
    // Enough purchases that COPY runs for a while; customers and counters load before them.
    std::fs::write(
        stack.path("seeds/manifest.yaml"),
        MANIFEST.replace("rows: 50", &format!("rows: {GENERATED}")),
    )
    .unwrap();
    let mut up = stack.command(&["up"]).start();
    up.wait_for_line(&["db: seeding"], Duration::from_secs(240));
    // The moment comes from the server: the seed's COPY of purchases (into
    // the upsert's staging table) has rows in, so customers and counters are
    // loaded, uncommitted.
    let url = stack.url();
    support::wait_for("the seed's COPY of purchases", Duration::from_secs(120), || {
        let url = url.clone();
        async move {
            let mut watcher = PgConnection::connect(&url).await.ok()?;
            let copied: Option<i64> = sqlx::query_scalar("SELECT max(tuples_processed) FROM pg_stat_progress_copy")
                .fetch_one(&mut watcher)
                .await
                .ok()?;
            copied.filter(|&rows| rows >= 1_000)
        }
    })
    .await;
    let engine = support::engine().await;
    let container = stack.project.container_name("db");
    // SIGKILL: the server gets no chance to finish anything.
    engine.stop_container(&container, Duration::ZERO).await.unwrap();
    let killed = up.wait();
    assert!(
        !killed.status.success(),
        "up succeeded although its server was killed mid-seed:\n{}",
        killed.stderr
    );

    engine.start_container(&container).await.unwrap();
    let mut db = support::wait_for("postgres to accept logins again", Duration::from_secs(120), || {
        let url = url.clone();
        async move { PgConnection::connect(&url).await.ok() }
    })
    .await;
    let after_kill = seeded_counts(&mut db).await;
    assert!(
        after_kill.values().all(|&rows| rows == 0),
        "the killed seed left partial rows: {after_kill:?}"
    );
    assert_eq!(
        count(&mut db, "SELECT COUNT(*) FROM _flowinfra_seed").await,
        0,
        "the killed seed is recorded"
    );

    let seed = stack.flowinfra(&["seed"]);
    assert_success(&seed, "seed after the kill");
    assert_eq!(
        seeded_counts(&mut db).await,
        BTreeMap::from([("counter", 2), ("customer", 2), ("purchase", GENERATED)])
    );
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM _flowinfra_seed").await, 1);
}

#[tokio::test]
async fn migrate_info_json_with_several_databases_is_one_document_keyed_by_database() {
    let stack = PgStack::new("pg-info-json");
    // The same server, its databases declared under `databases:`: two with
    // migrations, one without (not listed: it has nothing to report).
    let spec = |with_migrations: &[&str]| {
        let databases: String = ["one_db", "two_db", "three_db"]
            .iter()
            .map(|name| {
                if with_migrations.contains(name) {
                    format!("        - {{ name: {name}, migrations: ./migrations }}\n")
                } else {
                    format!("        - {{ name: {name} }}\n")
                }
            })
            .collect();
        std::fs::read_to_string(stack.path("stack.yaml")).unwrap().replace(
            "      migrations: ./migrations\n      seed: ./seeds\n",
            &format!("      databases:\n{databases}"),
        )
    };
    std::fs::write(stack.path("several.yaml"), spec(&["one_db", "two_db"])).unwrap();
    std::fs::write(stack.path("one.yaml"), spec(&["two_db"])).unwrap();
    let with = |file: &str, args: &[&str]| {
        Flowinfra::new()
            .arg("-f")
            .arg(stack.path(file))
            .args(["-p", &stack.project.name])
            .args(args)
            .run()
    };
    assert_success(&with("several.yaml", &["up"]), "up with several databases");

    let info = with("several.yaml", &["migrate", "info", "--json"]);
    assert_success(&info, "migrate info --json");
    let document: serde_json::Value = serde_json::from_slice(&info.stdout)
        .unwrap_or_else(|error| panic!("not one JSON document ({error}):\n{}", stdout(&info)));
    let databases: Vec<&String> = document
        .as_object()
        .unwrap_or_else(|| panic!("not an object keyed by database: {document}"))
        .keys()
        .collect();
    assert_eq!(databases, ["one_db", "two_db"], "{document}");
    for database in ["one_db", "two_db"] {
        let migrations = document[database].as_array().unwrap();
        assert_eq!(migrations.len(), 1, "{document}");
        assert_eq!(migrations[0]["version"], 1, "{document}");
        assert_eq!(migrations[0]["state"], "applied", "{document}");
    }

    // One database with migrations under `databases:`: the same shape.
    let info = with("one.yaml", &["migrate", "info", "--json"]);
    assert_success(&info, "migrate info --json, one database with migrations");
    let document: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(document["two_db"][0]["state"], "applied", "{document}");
    assert_eq!(document.as_object().map(|o| o.len()), Some(1), "{document}");
}
