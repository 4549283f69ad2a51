//! `flowinfra migrate run | revert [--target V] | info [--json]`: the
//! database service's sqlx migrations (kind mysql, or kind postgres: each
//! of its databases in turn), against its running container.

use crate::cli::{GlobalArgs, MigrateAction, MigrateArgs};
use crate::engine::Engine;
use crate::error::{EXIT_OK, UsageError};
use crate::lock::ProjectLock;
use crate::mysql::migrate::{MigrationChange, MigrationStatus};
use crate::mysql::{Database, MigrationState, Migrations};
use crate::reach::Reach;
use crate::report::{Printer, render_table};
use crate::spec::{Kind, Service, Spec};

pub async fn run(global: &GlobalArgs, args: &MigrateArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = std::sync::Arc::new(loaded.spec);
    let service = database_service(&spec)?;
    let engine = super::connect(global).await?;
    let reach = Reach::new(&engine, spec.clone());
    let outcome = if service.kind() == Some(Kind::Postgres) {
        run_postgres(&engine, &reach, &spec, service, args, printer).await
    } else {
        run_mysql(&engine, &reach, &spec, service, args, printer).await
    };
    reach.close().await;
    outcome
}

/// `migrate` on a mysql-kind service.
async fn run_mysql(
    engine: &Engine,
    reach: &Reach,
    spec: &Spec,
    service: &Service,
    args: &MigrateArgs,
    printer: &Printer,
) -> anyhow::Result<u8> {
    let (Some(dir), _) = crate::mysql::directories(service) else {
        return Err(UsageError {
            message: format!("service `{}` declares no migrations directory", service.name),
            hint: Some("add `migrations: DIR` to its `x-flowinfra`".into()),
        }
        .into());
    };
    let migrations = Migrations::load(&dir).await?;
    let lock = match &args.action {
        MigrateAction::Info { .. } => None,
        _ => Some(ProjectLock::acquire(&spec.name, engine, printer).await?),
    };
    let mut database = open_database(engine, reach, spec, service).await?;
    match &args.action {
        MigrateAction::Run => {
            let applied = migrations.run(&mut database).await?;
            report_changes(printer, &applied, "applied", "migrations: all applied, nothing to do");
        }
        MigrateAction::Revert { target } => {
            let reverted = migrations.revert(&mut database, *target).await?;
            report_changes(printer, &reverted, "reverted", "migrations: nothing to revert");
            if !reverted.is_empty() && crate::mysql::seed::forget(&mut database).await? {
                printer.info("the seed record was cleared: the next `flowinfra up` or `flowinfra seed` loads it again");
            }
        }
        MigrateAction::Info { json } => {
            let statuses = migrations.status(&mut database).await?;
            print_info(printer, &statuses, *json)?;
        }
    }
    database.close().await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    Ok(EXIT_OK)
}

/// `migrate` on a postgres-kind service: every declared database in turn
/// (`POSTGRES_DB`, or each of `databases:`), each under sqlx's advisory lock.
async fn run_postgres(
    engine: &Engine,
    reach: &Reach,
    spec: &Spec,
    service: &Service,
    args: &MigrateArgs,
    printer: &Printer,
) -> anyhow::Result<u8> {
    let container = running_container(engine, reach, spec, service).await?;
    let (endpoint, credentials, plans) = crate::kinds::open_postgres_databases(service, &container).await?;
    let plans: Vec<_> = plans.into_iter().filter(|plan| plan.migrations.is_some()).collect();
    if plans.is_empty() {
        return Err(UsageError {
            message: format!("service `{}` declares no migrations directory", service.name),
            hint: Some("add `migrations: DIR` to its `x-flowinfra` (or to an entry of its `databases:`)".into()),
        }
        .into());
    }
    let lock = match &args.action {
        MigrateAction::Info { .. } => None,
        _ => Some(ProjectLock::acquire(&spec.name, engine, printer).await?),
    };
    let several = plans.len() > 1;
    // `info --json` is one document: with `databases:`, an object keyed by
    // database (also when only one has migrations, so its shape does not
    // depend on the count); with POSTGRES_DB alone, its array, as MySQL's.
    let keyed = matches!(
        service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()),
        Some(crate::spec::KindSettings::Postgres(settings)) if !settings.databases.is_empty()
    );
    let mut infos = serde_json::Map::new();
    for plan in &plans {
        let dir = plan.migrations.as_ref().expect("filtered above");
        let migrations = crate::postgres::Migrations::load(dir).await?;
        let mut database =
            crate::postgres::Database::connect(&endpoint, &credentials, Some(&plan.name), plan.owner.as_deref())
                .await?;
        let outcome: anyhow::Result<()> = async {
            if several && !matches!(args.action, MigrateAction::Info { json: true }) {
                printer.info(&format!("database {}:", plan.name));
            }
            match &args.action {
                MigrateAction::Run => {
                    let applied = migrations.run(&mut database).await?;
                    report_changes(printer, &applied, "applied", "migrations: all applied, nothing to do");
                }
                MigrateAction::Revert { target } => {
                    let reverted = migrations.revert(&mut database, *target).await?;
                    report_changes(printer, &reverted, "reverted", "migrations: nothing to revert");
                    if !reverted.is_empty() && crate::postgres::seed::forget(&mut database).await? {
                        printer.info(
                            "the seed record was cleared: the next `flowinfra up` or `flowinfra seed` loads it again",
                        );
                    }
                }
                MigrateAction::Info { json } => {
                    let statuses = migrations.status(&mut database).await?;
                    if *json && keyed {
                        infos.insert(plan.name.clone(), serde_json::to_value(&statuses)?);
                    } else {
                        print_info(printer, &statuses, *json)?;
                    }
                }
            }
            Ok(())
        }
        .await;
        database.close().await;
        outcome?;
    }
    if keyed && matches!(args.action, MigrateAction::Info { json: true }) {
        printer.data(&serde_json::to_string_pretty(&infos)?);
    }
    if let Some(lock) = lock {
        lock.release().await;
    }
    Ok(EXIT_OK)
}

/// `migrate info`: a table (or JSON) of the migrations and their states.
fn print_info(printer: &Printer, statuses: &[MigrationStatus], json: bool) -> anyhow::Result<()> {
    if json {
        printer.data(&serde_json::to_string_pretty(statuses)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|status| {
            vec![
                status.version.to_string(),
                status.description.clone(),
                status.state.as_str().to_string(),
                status.installed_on.clone().unwrap_or_else(|| "-".into()),
                status.file.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    printer.data(&render_table(
        &["VERSION", "DESCRIPTION", "STATE", "INSTALLED ON", "FILE"],
        &rows,
    ));
    let attention = statuses
        .iter()
        .filter(|s| {
            !matches!(
                s.state,
                MigrationState::Applied | MigrationState::Pending | MigrationState::Interrupted
            )
        })
        .count();
    if attention > 0 {
        printer.warn(&format!(
            "{attention} migration(s) need attention: `flowinfra migrate run` says what to do"
        ));
    }
    Ok(())
}

/// One line per migration applied or reverted (`verb`), or `none` when there was nothing to do.
fn report_changes(printer: &Printer, changes: &[MigrationChange], verb: &str, none: &str) {
    if changes.is_empty() {
        printer.info(none);
    }
    for change in changes {
        printer.info(&format!(
            "{verb} {} ({}) in {:.2}s",
            change.version,
            change.description,
            change.duration.as_secs_f64()
        ));
    }
}

/// The spec's one database service (kind mysql or postgres).
pub(super) fn database_service(spec: &Spec) -> anyhow::Result<&Service> {
    let services: Vec<&Service> = spec
        .services
        .values()
        .filter(|service| matches!(service.kind(), Some(Kind::Mysql | Kind::Postgres)))
        .collect();
    match services.as_slice() {
        [service] => Ok(service),
        [] => Err(UsageError {
            message: "the spec has no service of kind mysql or postgres".into(),
            hint: Some(
                "give the database service `x-flowinfra: { kind: mysql, migrations: DIR, seed: DIR }` \
                 (or kind: postgres)"
                    .into(),
            ),
        }
        .into()),
        several => Err(UsageError {
            message: format!(
                "the spec has several database services ({}); flowinfra migrates and seeds one",
                several.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
            hint: Some("keep `x-flowinfra.kind: mysql` or `postgres` on one of them".into()),
        }
        .into()),
    }
}

/// Connects to `service`'s running container as its application user,
/// through `reach` (which must outlive the connection).
pub(super) async fn open_database(
    engine: &Engine,
    reach: &Reach,
    spec: &Spec,
    service: &Service,
) -> anyhow::Result<Database> {
    let container = running_container(engine, reach, spec, service).await?;
    crate::kinds::open_database(service, &container).await
}

/// `service`'s running container, its ports as this machine reaches them.
pub(super) async fn running_container(
    engine: &Engine,
    reach: &Reach,
    spec: &Spec,
    service: &Service,
) -> anyhow::Result<crate::engine::ContainerState> {
    let container =
        engine.list_containers(&spec.name).await?.into_iter().find(|c| {
            c.service.as_deref() == Some(service.name.as_str()) && c.status == crate::engine::RunState::Running
        });
    let Some(container) = container else {
        anyhow::bail!(
            "service `{0}` of project `{1}` is not running: start it with `flowinfra up {0}`",
            service.name,
            spec.name
        );
    };
    Ok(reach.container(service, &container).await?)
}
