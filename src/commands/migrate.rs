//! `flowinfra migrate run | revert [--target V] | info [--json]`: the
//! mysql-kind service's sqlx migrations, against its running container.

use crate::cli::{GlobalArgs, MigrateAction, MigrateArgs};
use crate::error::{EXIT_OK, UsageError};
use crate::lock::ProjectLock;
use crate::mysql::migrate::MigrationChange;
use crate::mysql::{Database, MigrationState, Migrations};
use crate::report::{Printer, render_table};
use crate::spec::{Kind, Service, Spec};

pub async fn run(global: &GlobalArgs, args: &MigrateArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = loaded.spec;
    let service = mysql_service(&spec)?;
    let (Some(dir), _) = crate::mysql::directories(service) else {
        return Err(UsageError {
            message: format!("service `{}` declares no migrations directory", service.name),
            hint: Some("add `migrations: DIR` to its `x-flowinfra`".into()),
        }
        .into());
    };
    let migrations = Migrations::load(&dir).await?;
    let _lock = match &args.action {
        MigrateAction::Info { .. } => None,
        _ => Some(ProjectLock::acquire(&spec.name, printer).await?),
    };
    let mut database = open_database(&spec, service).await?;
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
            if *json {
                printer.data(&serde_json::to_string_pretty(&statuses)?);
            } else {
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
            }
        }
    }
    database.close().await;
    Ok(EXIT_OK)
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

/// The spec's one mysql-kind service.
pub(super) fn mysql_service(spec: &Spec) -> anyhow::Result<&Service> {
    let services: Vec<&Service> = spec
        .services
        .values()
        .filter(|service| service.kind() == Some(Kind::Mysql))
        .collect();
    match services.as_slice() {
        [service] => Ok(service),
        [] => Err(UsageError {
            message: "the spec has no service of kind mysql".into(),
            hint: Some("give the database service `x-flowinfra: { kind: mysql, migrations: DIR, seed: DIR }`".into()),
        }
        .into()),
        several => Err(UsageError {
            message: format!(
                "the spec has several services of kind mysql ({}); flowinfra migrates and seeds one",
                several.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
            hint: Some("keep `x-flowinfra.kind: mysql` on one of them".into()),
        }
        .into()),
    }
}

/// Connects to `service`'s running container as its application user.
pub(super) async fn open_database(spec: &Spec, service: &Service) -> anyhow::Result<Database> {
    let engine = super::connect().await?;
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
    crate::kinds::open_database(service, &container).await
}
