//! [`Flowinfra`]: the one way tests run the `flowinfra` binary — a builder
//! for its arguments, environment and working directory — and [`Output`],
//! what a finished run left: exit code and both streams, with assertions
//! that print the whole transcript when they fail.
//!
//! Every run starts from the same ground: the repository as working
//! directory, `NO_COLOR=1` (tests read plain text), and no inherited
//! `COMPOSE_PROJECT_NAME` (it would rename the project under the test).

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::Running;

pub struct Flowinfra {
    command: Command,
}

impl Flowinfra {
    pub fn new() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_flowinfra"));
        command
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .env_remove("COMPOSE_PROJECT_NAME")
            .env("NO_COLOR", "1");
        Self { command }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    pub fn envs<I, K, V>(mut self, variables: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.command.envs(variables);
        self
    }

    /// Runs without `name` in the environment, whatever the test process has.
    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(name);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Runs to the end and captures both streams.
    pub fn run(mut self) -> Output {
        let line = self.command_line();
        let output = self.command.output().expect("the flowinfra binary runs");
        Output {
            command: line,
            inner: output,
        }
    }

    /// Starts in the background, its stderr watched line by line.
    pub fn start(self) -> Running {
        Running::start(self.command)
    }

    /// Starts in the background with stderr piped, for a test that reads it itself.
    pub fn spawn(mut self) -> Child {
        self.command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowinfra starts")
    }

    /// `flowinfra ARGS`, for failure messages.
    fn command_line(&self) -> String {
        std::iter::once("flowinfra".into())
            .chain(self.command.get_args().map(|arg| arg.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Default for Flowinfra {
    fn default() -> Self {
        Self::new()
    }
}

/// A finished run. Derefs to [`std::process::Output`] so tests may still
/// read `status` and the raw bytes.
#[derive(Debug)]
pub struct Output {
    command: String,
    inner: std::process::Output,
}

impl Output {
    /// The exit code; `None` when a signal ended the process.
    pub fn code(&self) -> Option<i32> {
        self.inner.status.code()
    }

    /// Fails the test with the transcript unless the run exited 0.
    #[track_caller]
    pub fn success(self) -> Self {
        self.expect_code(0)
    }

    /// Fails the test with the transcript unless the run exited with `code`.
    #[track_caller]
    pub fn failure(self, code: i32) -> Self {
        assert_ne!(code, 0, "failure(0): use success()");
        self.expect_code(code)
    }

    #[track_caller]
    fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            Some(code),
            "`{}` exited {:?}, expected {code}\n{}",
            self.command,
            self.code(),
            self.transcript()
        );
        self
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.inner.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.inner.stderr).into_owned()
    }

    /// Stdout parsed as JSON, failing the test with the transcript when it is not.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.inner.stdout)
            .unwrap_or_else(|error| panic!("`{}` printed no JSON ({error})\n{}", self.command, self.transcript()))
    }

    /// Exit code and both streams, as snapshots and failure messages show them.
    pub fn transcript(&self) -> String {
        transcript(self.code(), &self.stdout(), &self.stderr())
    }
}

/// The text form of a run: what a snapshot stores, so stdout and stderr are
/// told apart and the exit code is part of what is compared.
pub fn transcript(code: Option<i32>, stdout: &str, stderr: &str) -> String {
    let code = code.map_or_else(|| "none (signal)".to_string(), |code| code.to_string());
    format!("exit code: {code}\n----- stdout -----\n{stdout}----- stderr -----\n{stderr}")
}

impl std::ops::Deref for Output {
    type Target = std::process::Output;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}
