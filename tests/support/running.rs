//! [`Running`]: a flowinfra command in the background whose stderr is read
//! line by line as it is written, so a test can act at a precise moment of
//! `up` — when it prints `mysql: creating`, `waiting for readiness`,
//! `migrating`, `seeding` (plain progress lines, since stderr is a pipe) —
//! and then kill it, interrupt it, or wait for it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub struct Running {
    child: Child,
    lines: Receiver<String>,
    /// Every stderr line read so far.
    transcript: Vec<String>,
}

/// How a background command ended, with everything it wrote to stderr.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    pub stderr: String,
}

impl Running {
    /// Starts `command` with stderr piped and read on a thread of its own.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowinfra starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            transcript: Vec::new(),
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Blocks until a stderr line contains every one of `needles`, and
    /// returns it; fails the test with the transcript when the command ends
    /// first or `timeout` passes.
    pub fn wait_for_line(&mut self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    if needles.iter().all(|needle| line.contains(needle)) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no stderr line with {needles:?} within {timeout:?}; stderr so far:\n{}",
                    self.transcript.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().expect("wait for flowinfra");
                    panic!(
                        "flowinfra ended ({status}) before printing a line with {needles:?}; its stderr:\n{}",
                        self.transcript.join("\n")
                    )
                }
            }
        }
    }

    /// SIGKILL, as `kill -9` or the OOM killer would: no handler runs.
    pub fn kill(mut self) -> Ended {
        self.child.kill().expect("SIGKILL flowinfra");
        self.wait()
    }

    /// SIGINT, as Ctrl-C in a terminal sends it.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-s", "INT", &self.child.id().to_string()])
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -s INT {} failed", self.child.id());
    }

    /// Waits for the command to end; returns its status and whole stderr.
    pub fn wait(mut self) -> Ended {
        let status = self.child.wait().expect("wait for flowinfra");
        // The reader thread ends at EOF, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.transcript.push(line);
        }
        Ended {
            status,
            stderr: self.transcript.join("\n"),
        }
    }
}

impl Drop for Running {
    /// A test that fails half-way must not leave flowinfra running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
