//! The MySQL kind (MySQL or MariaDB). Credentials: the application user
//! (`MYSQL_USER`/`MYSQL_PASSWORD`) on `MYSQL_DATABASE`. Readiness: that
//! user logs in and runs `SELECT 1`. Provisioning: pending migrations, then
//! the seed when it is outdated; `check` verifies both.
//!
//! The database work itself — connections, migrations, seeds — is
//! [`crate::mysql`]'s, the library that holds sqlx; this kind turns a spec
//! service into its calls and their outcomes into events.

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
use crate::mysql::seed;
use crate::mysql::{Database, Migrations, SeedOptions, directories};
use crate::spec::{Kind, Service};

/// The MySQL kind, as registered in [`super::PLUGINS`].
pub(super) struct Mysql;

impl KindPlugin for Mysql {
    fn kind(&self) -> Kind {
        Kind::Mysql
    }

    fn credentials(&self, service: &Service) -> Option<Credentials> {
        Some(Credentials::Mysql {
            user: variable(service, "MYSQL_USER")?,
            password: variable(service, "MYSQL_PASSWORD")?,
            database: variable(service, "MYSQL_DATABASE")?,
        })
    }

    fn probe<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        credentials: &'a Credentials,
        _attempt_timeout: Duration,
    ) -> BoxFuture<'a, Result<ProbeSuccess, ProbeError>> {
        Box::pin(crate::mysql::probe(endpoint, credentials))
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
        let (migrations, seed) = directories(target.service);
        let mut checks = Vec::new();
        if let Some(dir) = migrations {
            let (endpoint, credentials) = (target.endpoint.clone(), target.credentials.clone());
            let body = async move {
                let mut database = match Database::connect(&endpoint, &credentials).await {
                    Ok(database) => database,
                    Err(err) => return Verdict::fail(err.to_string()),
                };
                let verdict = migrations_verdict(crate::mysql::status::migrations_verdict(&mut database, &dir).await);
                database.close().await;
                verdict
            };
            checks.push(Verification::new("migrations", body));
        }
        if let Some(dir) = seed {
            let (endpoint, credentials) = (target.endpoint.clone(), target.credentials.clone());
            let body = async move {
                let mut database = match Database::connect(&endpoint, &credentials).await {
                    Ok(database) => database,
                    Err(err) => return Verdict::fail(err.to_string()),
                };
                let status = crate::mysql::status::seed_status(&mut database, &dir).await;
                database.close().await;
                seed_verdict(status)
            };
            checks.push(Verification::new("seed", body));
        }
        checks
    }

    fn consumer_settings(
        &self,
        _service: &Service,
        credentials: Credentials,
        address: &ConsumerAddress,
    ) -> Vec<(&'static str, String)> {
        let (user, password, database) = crate::mysql::login(&credentials);
        let tail = url_tail(user, password, address, database);
        vec![
            ("DATABASE_URL", format!("mysql://{tail}")),
            ("DATABASE_URL_AIOMYSQL", format!("mysql+aiomysql://{tail}")),
            ("DATABASE_URL_PYMYSQL", format!("mysql+pymysql://{tail}")),
            ("MYSQL_HOST", address.host.clone()),
            ("MYSQL_PORT", address.port.clone()),
            ("MYSQL_DATABASE", database.to_string()),
            ("MYSQL_USER", user.to_string()),
            ("MYSQL_PASSWORD", password.to_string()),
        ]
    }
}

/// What `up` does once a mysql-kind service is ready: run pending
/// migrations, then apply the seed when none is recorded or it changed.
/// The caller holds the project lock.
async fn migrate_and_seed(target: &Target<'_>, events: &dyn EventSink) -> anyhow::Result<()> {
    let service = &target.service.name;
    let (migrations_dir, seed_dir) = directories(target.service);
    if migrations_dir.is_none() && seed_dir.is_none() {
        return Ok(());
    }
    let mut database = Database::connect(&target.endpoint, &target.credentials).await?;
    if let Some(dir) = &migrations_dir {
        let migrations = Migrations::load(dir).await?;
        let pending = migrations.pending(&mut database).await?;
        if !pending.is_empty() {
            events.emit(Event::Migrating {
                service: service.clone(),
                pending,
            });
            migrations.run(&mut database).await?;
        }
    }
    if let Some(dir) = &seed_dir {
        let report = seed::apply(&mut database, dir, &SeedOptions::default(), &mut |event| {
            events.emit(seed_event(service, event))
        })
        .await?;
        seed_loaded(service, report, events);
    }
    database.close().await;
    Ok(())
}

/// Connects to the database of a mysql-kind `service` through its running
/// `container`, as its application user: what `migrate` and `seed` work on.
pub async fn open_database(service: &Service, container: &ContainerState) -> anyhow::Result<Database> {
    let endpoint = super::endpoint(service, &container.ports).with_context(|| {
        format!(
            "the container of service `{}` publishes no host port for 3306; recreate it with `flowinfra up`",
            service.name
        )
    })?;
    let credentials = super::credentials(service).with_context(|| {
        format!(
            "service `{}` lacks MYSQL_USER, MYSQL_PASSWORD or MYSQL_DATABASE",
            service.name
        )
    })?;
    Ok(Database::connect(&endpoint, &credentials).await?)
}
