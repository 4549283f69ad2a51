//! [`FlowliteStack`]: the repository's Flowlite spec (`compose/flowinfra.yaml`
//! with the offline stand-ins of `compose/offline.yaml`) on a project of its
//! own with free loopback ports, run through the real `flowinfra` binary.
//! Extra `-f` files override parts of it (e.g. temporary migrations and
//! seed directories); [`FlowliteStack::of_spec`] runs another spec (a test
//! fixture such as the traffic-system stack) the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;

use sqlx::{Connection, MySqlConnection};

use super::{Flowinfra, Output, Running, TestProject, free_port};

/// The variables the Flowlite spec publishes its ports with.
const PORT_VARIABLES: &[&str] = &[
    "MYSQL_PORT",
    "RABBITMQ_PORT",
    "RABBITMQ_MANAGEMENT_PORT",
    "REDIS_PORT",
    "MINIO_PORT",
    "MINIO_CONSOLE_PORT",
];

/// The Flowlite spec with the offline stand-ins, relative to the repository.
pub const FLOWLITE_SPEC: &[&str] = &["compose/flowinfra.yaml", "compose/offline.yaml"];

/// The MySQL application user of `.env.example`, which the spec defaults to.
pub const MYSQL_USER: &str = "flowlite_user";
pub const MYSQL_PASSWORD: &str = "flowlite_password";
pub const MYSQL_DATABASE: &str = "flowlite_db";

pub struct FlowliteStack {
    pub project: TestProject,
    pub env: BTreeMap<String, String>,
    /// The spec files, relative to the repository: the Flowlite spec and the
    /// offline override, unless [`FlowliteStack::of_spec`] named others.
    pub spec: Vec<PathBuf>,
    /// Spec files merged after the Flowlite spec and the offline override.
    pub overrides: Vec<PathBuf>,
}

impl FlowliteStack {
    pub fn new(test: &str) -> Self {
        Self::of_spec(test, FLOWLITE_SPEC)
    }

    /// Another stack run the same way, from `files` (relative to the
    /// repository, e.g. a fixture and its offline override) instead of the
    /// Flowlite spec. It must publish its ports with the Flowlite spec's
    /// variables (`REDIS_PORT`, `RABBITMQ_PORT`, …), which get free ports.
    pub fn of_spec(test: &str, files: &[&str]) -> Self {
        Self::on_project(TestProject::new(test), files)
    }

    /// The stack of `files` on `project`, e.g. a [`TestProject::named`] one.
    pub fn on_project(project: TestProject, files: &[&str]) -> Self {
        let env = PORT_VARIABLES
            .iter()
            .map(|variable| (variable.to_string(), free_port().to_string()))
            .collect();
        Self {
            project,
            env,
            spec: files.iter().map(PathBuf::from).collect(),
            overrides: Vec::new(),
        }
    }

    /// Adds a spec file merged over the Flowlite spec.
    pub fn with_override(mut self, file: &Path) -> Self {
        self.overrides.push(file.to_path_buf());
        self
    }

    pub fn port(&self, variable: &str) -> u16 {
        self.env[variable].parse().unwrap()
    }

    /// `flowinfra -f … -p <project> ARGS` from the repository root, with the
    /// stack's ports in its environment: add to it, then run or start it.
    pub fn command(&self, args: &[&str]) -> Flowinfra {
        let mut command = Flowinfra::new();
        for file in self.spec.iter().chain(&self.overrides) {
            command = command.arg("-f").arg(file);
        }
        command.args(["-p", &self.project.name]).args(args).envs(&self.env)
    }

    /// `flowinfra … ARGS`, waited for.
    pub fn flowinfra(&self, args: &[&str]) -> Output {
        self.command(args).run()
    }

    pub fn flowinfra_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        self.command(args).envs(extra_env.iter().copied()).run()
    }

    /// `flowinfra … ARGS` started in the background, stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn()
    }

    /// `flowinfra … ARGS` started in the background, its stderr watched line by line.
    pub fn start(&self, args: &[&str]) -> Running {
        self.command(args).start()
    }

    pub fn start_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Running {
        self.command(args).envs(extra_env.iter().copied()).start()
    }

    /// The project's containers by service name.
    pub async fn container_ids(&self) -> BTreeMap<String, String> {
        super::engine()
            .await
            .list_containers(&self.project.name)
            .await
            .expect("list the project's containers")
            .into_iter()
            .map(|container| (container.service.unwrap_or_default(), container.id))
            .collect()
    }

    /// The MySQL URL of the application user on the published port.
    pub fn mysql_url(&self) -> String {
        format!(
            "mysql://{MYSQL_USER}:{MYSQL_PASSWORD}@127.0.0.1:{}/{MYSQL_DATABASE}",
            self.port("MYSQL_PORT")
        )
    }

    /// A connection as the application user, which must be accepted now.
    pub async fn mysql(&self) -> MySqlConnection {
        MySqlConnection::connect(&self.mysql_url())
            .await
            .unwrap_or_else(|error| panic!("mysql refuses the app user: {error}"))
    }
}

/// Fails the test with both output streams unless the command exited 0.
/// These three take any process's output (a [`Output`] derefs to one), for
/// tests that also run other programs.
pub fn assert_success(output: &std::process::Output, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "`{what}` failed\n{}",
        super::transcript(output.status.code(), &stdout(output), &stderr(output))
    );
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
