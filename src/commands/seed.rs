//! `flowinfra seed [--clean] [--allow-remote]`: load the mysql-kind
//! service's seed when it is outdated, or wipe the seeded tables and reload.

use crate::cli::{GlobalArgs, SeedArgs};
use crate::error::{EXIT_OK, UsageError};
use crate::lock::ProjectLock;
use crate::mysql::seed::{self, SeedEvent};
use crate::mysql::{SeedAction, SeedOptions};
use crate::report::Printer;

pub async fn run(global: &GlobalArgs, args: &SeedArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = loaded.spec;
    let service = super::migrate::mysql_service(&spec)?;
    let (_, Some(dir)) = crate::mysql::directories(service) else {
        return Err(UsageError {
            message: format!("service `{}` declares no seed directory", service.name),
            hint: Some("add `seed: DIR` (a directory with manifest.yaml) to its `x-flowinfra`".into()),
        }
        .into());
    };
    let _lock = ProjectLock::acquire(&spec.name, printer).await?;
    let mut database = super::migrate::open_database(&spec, service).await?;
    let options = SeedOptions {
        clean: args.clean,
        allow_remote: args.allow_remote,
    };
    let report = seed::apply(&mut database, &dir, &options, &mut |event| match event {
        SeedEvent::Loading { version } if args.clean => {
            printer.info(&format!(
                "seed: deleting the seeded tables' rows and loading version {version}"
            ));
        }
        SeedEvent::Loading { version } => printer.info(&format!("seed: loading version {version}")),
        SeedEvent::Warning(text) => printer.warn(&text),
    })
    .await?;
    database.close().await;
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
    Ok(EXIT_OK)
}
