//! `flowinfra wait SERVICE --kind KIND`: one kind service's own protocol
//! probe, retried until it answers, for init containers in a cluster.
//! Needs no spec and no engine: host, port and credentials come from flags
//! or `FLOWINFRA_*` variables.

use std::time::Duration;

use crate::cli::WaitArgs;
use crate::error::{EXIT_OK, UsageError};
use crate::kinds::Endpoint;
use crate::render::in_cluster::{CredentialFields, wait_until_ready};
use crate::report::Printer;

pub async fn run(args: &WaitArgs, printer: &Printer) -> anyhow::Result<u8> {
    let fields = CredentialFields {
        user: args.user.clone(),
        password: args.password.clone(),
        database: args.database.clone(),
        vhost: args.vhost.clone(),
    };
    crate::logging::register_secrets(args.password.iter());
    let credentials = fields.credentials(args.kind).map_err(|message| UsageError {
        message,
        hint: Some("give the credentials the service's image was started with".into()),
    })?;
    let endpoint = Endpoint {
        host: args.host.clone().unwrap_or_else(|| args.service.clone()),
        port: args.port.unwrap_or(args.kind.default_port()),
    };
    let success = wait_until_ready(
        &args.service,
        args.kind,
        &endpoint,
        &credentials,
        Duration::from_secs(args.timeout),
    )
    .await?;
    let version = success.server_version.map(|v| format!(" ({v})")).unwrap_or_default();
    printer.info(&format!("{} is ready at {endpoint}{version}", args.service));
    Ok(EXIT_OK)
}
