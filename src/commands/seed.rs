//! `flowinfra seed [--clean] [--allow-remote]`: load the database
//! service's seed when it is outdated, or wipe the seeded tables and reload
//! (kind mysql, or kind postgres: each of its databases with a seed).

use crate::cli::{GlobalArgs, SeedArgs};
use crate::error::{EXIT_OK, UsageError};
use crate::lock::ProjectLock;
use crate::mysql::seed::{self, SeedEvent};
use crate::mysql::{SeedAction, SeedOptions, SeedReport};
use crate::reach::Reach;
use crate::report::Printer;

pub async fn run(global: &GlobalArgs, args: &SeedArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = loaded.spec;
    let service = super::migrate::database_service(&spec)?;
    let engine = super::connect(global).await?;
    let options = SeedOptions {
        clean: args.clean,
        allow_remote: args.allow_remote,
        // The forward's address is 127.0.0.1, but the data is the engine's.
        remote_engine: engine.is_remote().then(|| engine.address().to_string()),
    };
    let reach = Reach::new(&engine, std::sync::Arc::new(spec.clone()));
    let outcome = if service.kind() == Some(crate::spec::Kind::Postgres) {
        run_postgres(&engine, &reach, &spec, service, args, &options, printer).await
    } else {
        run_mysql(&engine, &reach, &spec, service, args, &options, printer).await
    };
    reach.close().await;
    outcome
}

/// `seed` on a mysql-kind service.
async fn run_mysql(
    engine: &crate::engine::Engine,
    reach: &Reach,
    spec: &crate::spec::Spec,
    service: &crate::spec::Service,
    args: &SeedArgs,
    options: &SeedOptions,
    printer: &Printer,
) -> anyhow::Result<u8> {
    let (_, Some(dir)) = crate::mysql::directories(service) else {
        return Err(UsageError {
            message: format!("service `{}` declares no seed directory", service.name),
            hint: Some("add `seed: DIR` (a directory with manifest.yaml) to its `x-flowinfra`".into()),
        }
        .into());
    };
    let lock = ProjectLock::acquire(&spec.name, engine, printer).await?;
    let mut database = super::migrate::open_database(engine, reach, spec, service).await?;
    let report = seed::apply(&mut database, &dir, options, &mut |event| {
        on_event(printer, args, event)
    })
    .await;
    database.close().await;
    lock.release().await;
    print_report(printer, &report?);
    Ok(EXIT_OK)
}

/// `seed` on a postgres-kind service: each declared database with a seed, in turn.
async fn run_postgres(
    engine: &crate::engine::Engine,
    reach: &Reach,
    spec: &crate::spec::Spec,
    service: &crate::spec::Service,
    args: &SeedArgs,
    options: &SeedOptions,
    printer: &Printer,
) -> anyhow::Result<u8> {
    let container = super::migrate::running_container(engine, reach, spec, service).await?;
    let (endpoint, credentials, plans) = crate::kinds::open_postgres_databases(service, &container).await?;
    let plans: Vec<_> = plans.into_iter().filter(|plan| plan.seed.is_some()).collect();
    if plans.is_empty() {
        return Err(UsageError {
            message: format!("service `{}` declares no seed directory", service.name),
            hint: Some("add `seed: DIR` (a directory with manifest.yaml) to its `x-flowinfra` or a database".into()),
        }
        .into());
    }
    let lock = ProjectLock::acquire(&spec.name, engine, printer).await?;
    for plan in &plans {
        if plans.len() > 1 {
            printer.info(&format!("database {}:", plan.name));
        }
        let dir = plan.seed.as_ref().expect("filtered above");
        let mut database =
            crate::postgres::Database::connect(&endpoint, &credentials, Some(&plan.name), plan.owner.as_deref())
                .await?;
        let report =
            crate::postgres::seed::apply(&mut database, dir, options, &mut |event| on_event(printer, args, event))
                .await;
        database.close().await;
        print_report(printer, &report?);
    }
    lock.release().await;
    Ok(EXIT_OK)
}

fn on_event(printer: &Printer, args: &SeedArgs, event: SeedEvent) {
    match event {
        SeedEvent::Loading { version } if args.clean => {
            printer.info(&format!(
                "seed: deleting the seeded tables' rows and loading version {version}"
            ));
        }
        SeedEvent::Loading { version } => printer.info(&format!("seed: loading version {version}")),
        SeedEvent::Warning(text) => printer.warn(&text),
    }
}

fn print_report(printer: &Printer, report: &SeedReport) {
    match &report.action {
        SeedAction::Current { applied_at } => printer.info(&format!(
            "seed {} is current (applied {applied_at}); nothing to do. `flowinfra seed --clean` reloads it",
            report.version
        )),
        SeedAction::Applied { previous, cleaned, .. } => {
            let tables: Vec<String> = report
                .rows
                .iter()
                .map(|(table, count)| format!("{table} {count}"))
                .collect();
            printer.info(&format!(
                "seed {} loaded in {:.2}s: {} rows ({})",
                report.version,
                report.duration.as_secs_f64(),
                report.total_rows(),
                tables.join(", ")
            ));
            if previous.is_some() && !cleaned {
                printer.info(
                    "rows were upserted by id: rows that earlier seeds loaded but this one does not name stay; \
                     `flowinfra seed --clean` makes the tables hold exactly this seed",
                );
            }
        }
    }
}
