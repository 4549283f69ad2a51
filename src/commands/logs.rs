//! `flowinfra logs`: container output, each line prefixed with its service.

use futures_util::StreamExt;
use futures_util::stream::select_all;

use crate::cli::{GlobalArgs, LogsArgs};
use crate::error::{EXIT_OK, UsageError};
use crate::report::Printer;

pub async fn run(global: &GlobalArgs, args: &LogsArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let spec = loaded.spec;
    if let Some(service) = &args.service {
        crate::stack::select_services(&spec, std::slice::from_ref(service))?;
    }
    let engine = super::connect(global).await?;
    let containers: Vec<_> = engine
        .list_containers(&spec.name)
        .await?
        .into_iter()
        .filter(|c| args.service.is_none() || c.service == args.service)
        .collect();
    if containers.is_empty() {
        return Err(UsageError {
            message: match &args.service {
                Some(service) => format!("service `{service}` has no container"),
                None => format!("project `{}` has no containers", spec.name),
            },
            hint: Some("start it with `flowinfra up`".into()),
        }
        .into());
    }
    let width = containers
        .iter()
        .map(|c| c.service.as_deref().unwrap_or("?").len())
        .max()
        .unwrap_or(0);
    let streams = containers.iter().map(|container| {
        let prefix = format!("{:width$} | ", container.service.as_deref().unwrap_or("?"));
        engine
            .container_logs_stream(&container.id, args.follow, args.tail)
            .map(move |line| (prefix.clone(), line))
    });
    let mut merged = select_all(streams.map(Box::pin));
    while let Some((prefix, line)) = merged.next().await {
        let line = line?;
        printer.data(&format!("{prefix}{}", line.text));
    }
    Ok(EXIT_OK)
}
