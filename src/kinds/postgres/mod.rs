//! The PostgreSQL kind. Credentials: `POSTGRES_USER` (default `postgres`)
//! with `POSTGRES_PASSWORD` on `POSTGRES_DB` (default the user), as the
//! official image reads them. Readiness: that user logs in over TCP and
//! runs `SELECT 1` (the image's first-start server listens on its socket
//! only, so it is never mistaken for the real one). Provisioning: each
//! declared database — `POSTGRES_DB`, or every entry of `databases:`,
//! created when missing — gets its pending migrations, then its seed when
//! outdated; `check` verifies both, per database.
//!
//! The database work is [`crate::postgres`]'s, the library that holds
//! sqlx's PostgreSQL driver; this kind turns a spec service into its calls
//! and their outcomes into events.

use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;

use super::database::{migrations_verdict, seed_event, seed_loaded, seed_verdict, url_tail};
use super::{
    ConsumerAddress, Credentials, Endpoint, KindPlugin, ProbeError, ProbeSuccess, ProvisionError, Target, Verdict,
    Verification, variable,
};
use crate::engine::ContainerState;
use crate::error::error_chain;
use crate::events::{Event, EventSink};
use crate::postgres::seed;
use crate::postgres::{Database, DatabasePlan, Migrations, SeedOptions, plans};
use crate::spec::{Kind, Service};

/// The PostgreSQL kind, as registered in [`super::PLUGINS`].
pub(super) struct Postgres;

/// The official image's default superuser.
const DEFAULT_USER: &str = "postgres";

impl KindPlugin for Postgres {
    fn kind(&self) -> Kind {
        Kind::Postgres
    }

    fn credentials(&self, service: &Service) -> Option<Credentials> {
        let user = variable(service, "POSTGRES_USER").unwrap_or_else(|| DEFAULT_USER.into());
        let database = variable(service, "POSTGRES_DB").unwrap_or_else(|| user.clone());
        // With POSTGRES_HOST_AUTH_METHOD=trust no password is needed (nor checked).
        let password = variable(service, "POSTGRES_PASSWORD").unwrap_or_default();
        Some(Credentials::Postgres {
            user,
            password,
            database,
        })
    }

    fn probe<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        credentials: &'a Credentials,
        _attempt_timeout: Duration,
    ) -> BoxFuture<'a, Result<ProbeSuccess, ProbeError>> {
        Box::pin(crate::postgres::probe(endpoint, credentials))
    }

    fn provision<'a>(
        &'a self,
        target: &'a Target<'a>,
        events: &'a dyn EventSink,
    ) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move {
            migrate_and_seed(target, events)
                .await
                .map_err(|err| ProvisionError::Described(error_chain(err.as_ref())))
        })
    }

    fn verifications(&self, target: &Target<'_>) -> Vec<Verification> {
        let (_, _, default_database) = crate::postgres::login(&target.credentials);
        let plans = plans(target.service, default_database);
        let with_migrations: Vec<DatabasePlan> = plans.iter().filter(|p| p.migrations.is_some()).cloned().collect();
        let with_seed: Vec<DatabasePlan> = plans.iter().filter(|p| p.seed.is_some()).cloned().collect();
        let several = plans.len() > 1;
        let mut checks = Vec::new();
        if !with_migrations.is_empty() {
            let (endpoint, credentials) = (target.endpoint.clone(), target.credentials.clone());
            checks.push(Verification::new(
                "migrations",
                per_database(endpoint, credentials, with_migrations, several, check_migrations),
            ));
        }
        if !with_seed.is_empty() {
            let (endpoint, credentials) = (target.endpoint.clone(), target.credentials.clone());
            checks.push(Verification::new(
                "seed",
                per_database(endpoint, credentials, with_seed, several, check_seed),
            ));
        }
        checks
    }

    fn consumer_settings(
        &self,
        _service: &Service,
        credentials: Credentials,
        address: &ConsumerAddress,
    ) -> Vec<(&'static str, String)> {
        let (user, password, database) = crate::postgres::login(&credentials);
        let tail = url_tail(user, password, address, database);
        vec![
            ("DATABASE_URL", format!("postgresql://{tail}")),
            ("DATABASE_URL_PSYCOPG", format!("postgresql+psycopg://{tail}")),
            ("DATABASE_URL_ASYNCPG", format!("postgresql+asyncpg://{tail}")),
            ("PGHOST", address.host.clone()),
            ("PGPORT", address.port.clone()),
            ("PGDATABASE", database.to_string()),
            ("PGUSER", user.to_string()),
            ("PGPASSWORD", password.to_string()),
        ]
    }
}

/// One check over several databases: each database's verdict, joined; it
/// fails when any fails. With one database its verdict stands as it is.
async fn per_database<F, Fut>(
    endpoint: Endpoint,
    credentials: Credentials,
    plans: Vec<DatabasePlan>,
    several: bool,
    verdict_of: F,
) -> Verdict
where
    F: Fn(Database, DatabasePlan) -> Fut,
    Fut: std::future::Future<Output = (Verdict, Option<Database>)>,
{
    let mut reasons = Vec::new();
    let mut details = serde_json::Map::new();
    let mut all_ok = true;
    let mut single = None;
    for plan in plans {
        let verdict = match Database::connect(&endpoint, &credentials, Some(&plan.name), plan.owner.as_deref()).await {
            Ok(database) => {
                let (verdict, database) = verdict_of(database, plan.clone()).await;
                if let Some(database) = database {
                    database.close().await;
                }
                verdict
            }
            Err(err) => Verdict::fail(err.to_string()),
        };
        all_ok &= verdict.status == super::Status::Ok;
        reasons.push(if several {
            format!("{}: {}", plan.name, verdict.reason)
        } else {
            verdict.reason.clone()
        });
        details.insert(
            plan.name.clone(),
            serde_json::to_value(&verdict.details).unwrap_or_default(),
        );
        single = Some(verdict);
    }
    if !several && let Some(verdict) = single {
        return verdict;
    }
    let reason = reasons.join("; ");
    let verdict = if all_ok {
        Verdict::ok(reason)
    } else {
        Verdict::fail(reason)
    };
    verdict.detail("databases", serde_json::Value::Object(details))
}

async fn check_migrations(mut database: Database, plan: DatabasePlan) -> (Verdict, Option<Database>) {
    let dir = plan.migrations.expect("filtered on migrations");
    let verdict = migrations_verdict(crate::postgres::status::migrations_verdict(&mut database, &dir).await);
    (verdict, Some(database))
}

async fn check_seed(mut database: Database, plan: DatabasePlan) -> (Verdict, Option<Database>) {
    let dir = plan.seed.expect("filtered on seed");
    let verdict = seed_verdict(crate::postgres::status::seed_status(&mut database, &dir).await);
    (verdict, Some(database))
}

/// What `up` does once a postgres-kind service is ready: create the
/// declared databases that are missing, then for each run pending
/// migrations and apply the seed when none is recorded or it changed.
/// The caller holds the project lock.
async fn migrate_and_seed(target: &Target<'_>, events: &dyn EventSink) -> anyhow::Result<()> {
    let service = &target.service.name;
    let (_, _, default_database) = crate::postgres::login(&target.credentials);
    let plans = plans(target.service, default_database);
    if plans.is_empty() {
        return Ok(());
    }
    if plans.iter().any(|plan| plan.name != default_database) {
        let mut admin = Database::connect(&target.endpoint, &target.credentials, None, None).await?;
        let created = crate::postgres::create_missing(&mut admin, &plans).await;
        admin.close().await;
        created.map_err(anyhow::Error::msg)?;
    }
    for plan in &plans {
        // With several databases, progress names the one it is about.
        let label = if plans.len() > 1 {
            format!("{service} ({})", plan.name)
        } else {
            service.clone()
        };
        let mut database = Database::connect(
            &target.endpoint,
            &target.credentials,
            Some(&plan.name),
            plan.owner.as_deref(),
        )
        .await?;
        let outcome = migrate_and_seed_one(&mut database, plan, &label, events).await;
        database.close().await;
        outcome.with_context(|| format!("database `{}`", plan.name))?;
    }
    Ok(())
}

async fn migrate_and_seed_one(
    database: &mut Database,
    plan: &DatabasePlan,
    service: &str,
    events: &dyn EventSink,
) -> anyhow::Result<()> {
    if let Some(dir) = &plan.migrations {
        let migrations = Migrations::load(dir).await?;
        let pending = migrations.pending(database).await?;
        if !pending.is_empty() {
            events.emit(Event::Migrating {
                service: service.to_string(),
                pending,
            });
            migrations.run(database).await?;
        }
    }
    if let Some(dir) = &plan.seed {
        let report = seed::apply(database, dir, &SeedOptions::default(), &mut |event| {
            events.emit(seed_event(service, event))
        })
        .await?;
        seed_loaded(service, report, events);
    }
    Ok(())
}

/// The databases of a postgres-kind `service` through its running
/// `container`: each plan with an open connection, for `migrate` and `seed`.
pub async fn open_databases(
    service: &Service,
    container: &ContainerState,
) -> anyhow::Result<(Endpoint, Credentials, Vec<DatabasePlan>)> {
    let endpoint = super::endpoint(service, &container.ports).with_context(|| {
        format!(
            "the container of service `{}` publishes no host port for 5432; recreate it with `flowinfra up`",
            service.name
        )
    })?;
    let credentials = super::credentials(service).context("a postgres service always has credentials")?;
    let (_, _, default_database) = crate::postgres::login(&credentials);
    let plans = plans(service, default_database);
    Ok((endpoint, credentials, plans))
}
