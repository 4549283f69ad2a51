//! Command-line definitions: every flag and subcommand, with its help text,
//! declared once here. Nothing in this module does work; `commands/` turns
//! these raw arguments into settings and runs them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Provision a project's local infrastructure through the Docker Engine API.
///
/// Reads a Compose file with `x-flowinfra` extensions (default
/// `compose/flowinfra.yaml`) and brings up MySQL, RabbitMQ, Redis and S3
/// containers, waits until each is truly ready, migrates, seeds and declares
/// queues and buckets.
#[derive(Debug, Parser)]
#[command(name = "flowinfra", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  flowinfra up\n  flowinfra -f compose/flowinfra.yaml -f compose/offline.yaml up\n  flowinfra seed --clean\n  flowinfra check --verbose"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts. As with `docker compose`, `-f`, `-p`,
/// `--env-file` and `-v` go before the command: after it, `logs -f` means
/// follow and `down -v` means volumes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Stack spec file; repeat to merge several, later files override earlier ones
    /// [default: compose/flowinfra.yaml, or the embedded default stack]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Project name [default: the spec's `name`, else the project directory's name]
    #[arg(short = 'p', long = "project-name", env = "COMPOSE_PROJECT_NAME")]
    pub project_name: Option<String>,

    /// Extra environment file, read after `.env` and before the process environment
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// Docker context to use, as `docker --context` [default: DOCKER_HOST,
    /// DOCKER_CONTEXT, the current context of ~/.docker/config.json, the local socket]
    #[arg(long = "context", value_name = "NAME")]
    pub context: Option<String>,

    /// More detail: `-v` shows debug lines, `-vv` traces. Goes before the
    /// command (`flowinfra -v up`): after `down`, `-v` means --volumes, as in Compose
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only errors and the final summary
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Never colour output (also when NO_COLOR is set)
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan, converge containers, wait for readiness, then migrate, seed and provision
    Up(UpArgs),
    /// Remove the project's containers and network; volumes only with -v
    Down(DownArgs),
    /// Show what `up` would do and why, changing nothing
    Plan(PlanArgs),
    /// List services with state, health, ports and staleness
    #[command(alias = "status")]
    Ps(PsArgs),
    /// Show container logs, prefixed per service
    Logs(LogsArgs),
    /// Run, revert or inspect the versioned sqlx migrations
    Migrate(MigrateArgs),
    /// Apply the seed if it is outdated; --clean wipes seeded tables and reloads
    Seed(SeedArgs),
    /// Verify the running stack, for humans and CI
    Check(CheckArgs),
    /// Print the resolved, merged spec with secrets redacted
    Config(ConfigArgs),
    /// Print connection settings for services that consume this infrastructure
    Env(EnvArgs),
    /// Reach a remote engine's services from this machine: forward every published port until Ctrl-C
    Forward(ForwardArgs),
    /// Print a shell completion script, e.g. `flowinfra completions bash > /etc/bash_completion.d/flowinfra`
    Completions(CompletionsArgs),
    /// Write the stack as manifests for another platform (Kubernetes)
    Render(RenderArgs),
    /// Wait until a service is ready (for init containers in a cluster): a kind by its own protocol, another by its
    /// DNS name, a one-shot by its Job
    Wait(WaitArgs),
    /// Wait for and provision every kind service of the spec, reached by its DNS name (the Job `render kubernetes` writes)
    Provision(ProvisionArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(subcommand)]
    pub target: RenderTarget,
}

#[derive(Debug, Subcommand)]
pub enum RenderTarget {
    /// Manifests for Kubernetes 1.30 to 1.35, a translation report, and the provisioner image's Dockerfile
    Kubernetes(KubernetesArgs),
}

#[derive(Debug, Args)]
pub struct KubernetesArgs {
    /// Write the manifests, the report and provisioner.Dockerfile into DIR
    /// [default: the manifests as one multi-document YAML on stdout]
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// The namespace [default: the project name]
    #[arg(long)]
    pub namespace: Option<String>,
    /// The flowinfra image the init containers run `flowinfra wait` from
    #[arg(long, value_name = "IMAGE", default_value = concat!("flowinfra:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// The provisioner image the provisioning Job runs [default: NAMESPACE-provisioner:latest]
    #[arg(long, value_name = "IMAGE")]
    pub provisioner_image: Option<String>,
    /// Storage requested by each volume claim
    #[arg(long, value_name = "QUANTITY", default_value = "1Gi")]
    pub storage: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("until").required(true).args(["kind", "dns", "job"])))]
pub struct WaitArgs {
    /// The service to wait for; also its host name unless --host is given
    pub service: String,
    /// Its kind: wait until it answers its own protocol with the credentials
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<crate::spec::Kind>,
    /// Wait until the host name resolves (a headless Service lists only ready pods)
    #[arg(long)]
    pub dns: bool,
    /// Wait until the Kubernetes Job SERVICE completed, asking the API with the pod's service account; fail if it failed
    #[arg(long)]
    pub job: bool,
    /// Host name or address [default: SERVICE]
    #[arg(long)]
    pub host: Option<String>,
    /// Port [default: the kind's port]
    #[arg(long)]
    pub port: Option<u16>,
    /// User (MySQL user, RabbitMQ user, S3 access key)
    #[arg(long, env = "FLOWINFRA_USER")]
    pub user: Option<String>,
    /// Password (S3 secret key); prefer the environment variable to the flag
    #[arg(long, env = "FLOWINFRA_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Database (MySQL)
    #[arg(long, env = "FLOWINFRA_DATABASE")]
    pub database: Option<String>,
    /// Virtual host (RabbitMQ) [default: /]
    #[arg(long, env = "FLOWINFRA_VHOST")]
    pub vhost: Option<String>,
    /// Seconds to wait before giving up
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Seconds to wait for each service to answer before giving up
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
}

/// A kind by its name in `x-flowinfra`.
fn parse_kind(name: &str) -> Result<crate::spec::Kind, String> {
    crate::spec::Kind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = crate::spec::Kind::ALL.iter().map(|kind| kind.as_str()).collect();
            format!("unknown kind `{name}`: expected one of {}", names.join(", "))
        })
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Only these services (and what they depend on)
    pub services: Vec<String>,
    /// When to pull images, overriding each service's pull_policy
    #[arg(long, value_enum)]
    pub pull: Option<PullOverride>,
    /// Seconds to wait for each service to become ready
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// Run this one-shot job again although it completed (repeatable)
    #[arg(long, value_name = "JOB")]
    pub rerun: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullOverride {
    Always,
    Missing,
    Never,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the project's named volumes (their data is lost)
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    /// Also remove the images flowinfra built for this project
    #[arg(long)]
    pub rmi: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,
    /// Also compare local image digests with the registry's (without pulling)
    #[arg(long)]
    pub check_upstream: bool,
}

#[derive(Debug, Args)]
pub struct ForwardArgs {
    /// Only these services [default: all]
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
    /// Also compare local image digests with the registry's (without pulling)
    #[arg(long)]
    pub check_upstream: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only this service
    pub service: Option<String>,
    /// Keep streaming new lines
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines from the end of each log
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub action: MigrateAction,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration
    Run,
    /// Revert the latest applied migration, or down to --target
    Revert {
        /// Revert every migration newer than this version
        #[arg(long, value_name = "VERSION")]
        target: Option<i64>,
    },
    /// List migrations with their state
    Info {
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Delete the seeded tables' rows and reload them
    #[arg(long)]
    pub clean: bool,
    /// Allow --clean against a database host that is not loopback
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only these services
    pub services: Vec<String>,
    /// Add row counts, server versions and timings
    #[arg(long)]
    pub verbose: bool,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
    /// Treat warnings as failures
    #[arg(long)]
    pub strict: bool,
    /// Also compare local image digests with the registry's (without pulling); unknown offline, never a failure
    #[arg(long)]
    pub check_upstream: bool,
    /// Seconds each check may take
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print as JSON instead of YAML
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = EnvFormat::Dotenv)]
    pub format: EnvFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
    Dotenv,
    Json,
    Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn file_flag_repeats_in_order() {
        let cli = Cli::try_parse_from(["flowinfra", "-f", "a.yaml", "-f", "b.yaml", "config"]).unwrap();
        assert_eq!(cli.global.files, vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]);
    }
}
