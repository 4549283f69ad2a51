//! `flowinfra wait SERVICE`, for init containers in a cluster: `--kind
//! KIND` probes a kind service's own protocol until it answers, `--dns`
//! waits until a name resolves (a headless Service lists only ready pods),
//! `--job` reads a Kubernetes Job until it completed. Needs no spec and no
//! engine: host, port and credentials come from flags or `FLOWINFRA_*`
//! variables, the API from the pod's service account.

use std::path::Path;
use std::time::Duration;

use crate::cli::WaitArgs;
use crate::error::{EXIT_OK, UsageError};
use crate::kinds::Endpoint;
use crate::render::in_cluster::{CredentialFields, wait_until_ready, wait_until_resolves};
use crate::render::kube_api::{InCluster, SERVICE_ACCOUNT_DIR, wait_for_job};
use crate::report::Printer;

pub async fn run(args: &WaitArgs, printer: &Printer) -> anyhow::Result<u8> {
    let timeout = Duration::from_secs(args.timeout);
    let host = args.host.clone().unwrap_or_else(|| args.service.clone());
    if args.job {
        let api = InCluster::from_pod(Path::new(SERVICE_ACCOUNT_DIR))?;
        wait_for_job(&api, &args.service, timeout).await?;
        printer.info(&format!("the Job {} completed", args.service));
        return Ok(EXIT_OK);
    }
    let Some(kind) = args.kind else {
        let addresses = wait_until_resolves(&args.service, &host, timeout).await?;
        let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        printer.info(&format!(
            "{} is ready: {host} resolves to {}",
            args.service,
            addresses.join(", ")
        ));
        return Ok(EXIT_OK);
    };
    let fields = CredentialFields {
        user: args.user.clone(),
        password: args.password.clone(),
        database: args.database.clone(),
        vhost: args.vhost.clone(),
    };
    crate::logging::register_secrets(args.password.iter());
    let credentials = fields.credentials(kind).map_err(|message| UsageError {
        message,
        hint: Some("give the credentials the service's image was started with".into()),
    })?;
    let endpoint = Endpoint {
        host,
        port: args.port.unwrap_or(kind.default_port()),
    };
    let success = wait_until_ready(&args.service, kind, &endpoint, &credentials, timeout).await?;
    let version = success.server_version.map(|v| format!(" ({v})")).unwrap_or_default();
    printer.info(&format!("{} is ready at {endpoint}{version}", args.service));
    Ok(EXIT_OK)
}
