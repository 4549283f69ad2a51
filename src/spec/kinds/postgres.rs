//! `kind: postgres`: the migrations and seed of `POSTGRES_DB`, further
//! `databases:` in the same server, and the credentials flowinfra logs in
//! with (the official image's `POSTGRES_USER`/`POSTGRES_PASSWORD`/`POSTGRES_DB`).

use super::{KindRules, SettingsContext};
use crate::spec::error::Diagnostic;
use crate::spec::model::{Kind, KindSettings, PostgresDatabase, PostgresSettings, Service};
use crate::spec::reader::{Fields, Reader};
use crate::spec::validate::read_existing_dir;
use crate::spec::yaml::{Node, Position, Value};

pub(super) const RULES: KindRules = KindRules {
    kind: Kind::Postgres,
    settings: &["migrations", "seed", "databases"],
    read_settings,
    check_service,
};

const DATABASE_FIELDS: Fields<'static> = Fields::new("database", &["name", "owner", "migrations", "seed"]);

/// PostgreSQL's identifier limit (NAMEDATALEN - 1): longer names are cut silently by the server.
const MAX_IDENTIFIER_BYTES: usize = 63;

fn read_settings(r: &mut Reader, node: &Node, context: &SettingsContext<'_>) -> KindSettings {
    let dir = |r: &mut Reader, node: &Node, key: &str, what: &str| {
        node.get(key)
            .and_then(|n| read_existing_dir(r, n, what, context.project_dir))
    };
    let migrations = dir(r, node, "migrations", "migrations directory");
    let seed = dir(r, node, "seed", "seed directory");
    let mut databases: Vec<PostgresDatabase> = Vec::new();
    if let Some(list) = node.get("databases") {
        if migrations.is_some() || seed.is_some() {
            r.push(
                Diagnostic::at(
                    &list.position,
                    "`databases` and a top-level `migrations`/`seed` cannot be mixed",
                )
                .with_hint("list POSTGRES_DB under `databases` too, with its own `migrations` and `seed`"),
            );
        }
        for item in r.list(list, "`databases`") {
            let Value::Mapping(fields) = &item.value else {
                r.error(&item.position, "a database must be a mapping with a `name`");
                continue;
            };
            r.check_keys(fields, &DATABASE_FIELDS);
            let Some(name) = item.get("name").and_then(|n| identifier(r, n, "database `name`")) else {
                if item.get("name").is_none() {
                    r.error(&item.position, "a database needs a `name`");
                }
                continue;
            };
            let owner = item.get("owner").and_then(|n| identifier(r, n, "database `owner`"));
            let database = PostgresDatabase {
                owner,
                migrations: dir(r, item, "migrations", "migrations directory"),
                seed: dir(r, item, "seed", "seed directory"),
                name,
            };
            if databases.iter().any(|d| d.name == database.name) {
                r.error(&item.position, format!("database `{}` is listed twice", database.name));
            } else {
                databases.push(database);
            }
        }
    }
    KindSettings::Postgres(PostgresSettings {
        migrations,
        seed,
        databases,
    })
}

fn identifier(r: &mut Reader, node: &Node, what: &str) -> Option<String> {
    let name = r.non_empty_string(node, what)?;
    if name.len() > MAX_IDENTIFIER_BYTES {
        r.push(
            Diagnostic::at(
                &node.position,
                format!("{what} `{name}` is longer than PostgreSQL's {MAX_IDENTIFIER_BYTES} bytes"),
            )
            .with_hint("PostgreSQL would cut it short silently; choose a shorter name"),
        );
        return None;
    }
    Some(name)
}

fn check_service(r: &mut Reader, service: &Service, position: &Position) {
    let set = |name: &str| service.environment.get(name).is_some_and(|v| !v.is_empty());
    let trust = service
        .environment
        .get("POSTGRES_HOST_AUTH_METHOD")
        .is_some_and(|v| v == "trust");
    if !set("POSTGRES_PASSWORD") && !trust {
        r.push(
            Diagnostic::at(
                position,
                format!(
                    "service `{}` of kind postgres needs environment POSTGRES_PASSWORD",
                    service.name
                ),
            )
            .with_hint(
                "the PostgreSQL image refuses to initialise without one (unless POSTGRES_HOST_AUTH_METHOD=trust); \
                 set it under `environment:`, e.g. POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::{KindSettings, LoadOptions};

    fn load(x: &str, env: &str) -> Result<KindSettings, String> {
        let text = format!(
            "services:\n  db:\n    image: postgres:16\n    ports: ['5432:5432']\n    environment:\n{env}    x-flowinfra:\n{x}"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stack.yaml"), text).unwrap();
        let options = LoadOptions {
            files: vec!["stack.yaml".into()],
            working_dir: dir.path().to_path_buf(),
            ..LoadOptions::default()
        };
        crate::spec::load(&options)
            .map(|loaded| loaded.spec.services["db"].flowinfra.clone().unwrap().settings.unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_password_is_required_unless_trust() {
        let error = load("      kind: postgres\n", "      POSTGRES_USER: app\n").unwrap_err();
        assert!(error.contains("needs environment POSTGRES_PASSWORD"), "{error}");
        load("      kind: postgres\n", "      POSTGRES_HOST_AUTH_METHOD: trust\n").unwrap();
        load("      kind: postgres\n", "      POSTGRES_PASSWORD: secret\n").unwrap();
    }

    #[test]
    fn databases_are_read_with_their_owners_and_checked() {
        let settings = load(
            "      kind: postgres\n      databases:\n        - name: one\n        - { name: two, owner: svc }\n",
            "      POSTGRES_PASSWORD: secret\n",
        )
        .unwrap();
        let KindSettings::Postgres(settings) = settings else {
            panic!()
        };
        assert_eq!(settings.databases.len(), 2);
        assert_eq!(settings.databases[1].owner.as_deref(), Some("svc"));
        let twice = load(
            "      kind: postgres\n      databases: [{ name: one }, { name: one }]\n",
            "      POSTGRES_PASSWORD: secret\n",
        )
        .unwrap_err();
        assert!(twice.contains("database `one` is listed twice"), "{twice}");
        let unnamed = load(
            "      kind: postgres\n      databases: [{ owner: x }]\n",
            "      POSTGRES_PASSWORD: secret\n",
        )
        .unwrap_err();
        assert!(unnamed.contains("a database needs a `name`"), "{unnamed}");
    }
}
