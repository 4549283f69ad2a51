//! The remote-engine lab (scripts/remote-test-env.sh) from the tests' side:
//! [`RemoteLab::start`] builds one (two "laptop" network namespaces, sshd and
//! a TLS terminator in front of this machine's engine) and removes it on
//! drop; [`RemoteLab::child`] runs one scenario of the current test binary
//! inside a laptop, where the engine socket is hidden and the engine's
//! 127.0.0.1 is not this 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/remote-test-env.sh");

/// Environment variable naming the scenario a child runs.
pub const SCENARIO_VAR: &str = "FLOWINFRA_REMOTE_SCENARIO";

/// One lab; removed on drop.
#[derive(Debug)]
pub struct RemoteLab {
    pub n: u32,
    pub dir: PathBuf,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl RemoteLab {
    /// Builds a lab on a free subnet (10.250.N.0/29), failing the test with
    /// the script's output when it cannot.
    pub fn start() -> RemoteLab {
        let base = std::process::id();
        for _ in 0..250 {
            let n = (base + NEXT.fetch_add(1, Ordering::SeqCst)) % 240 + 10;
            let output = Command::new("bash")
                .args([SCRIPT, "up", &n.to_string()])
                .stdin(Stdio::null())
                .output()
                .expect("run scripts/remote-test-env.sh (needs bash)");
            match output.status.code() {
                Some(0) => {
                    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
                    return RemoteLab { n, dir };
                }
                Some(75) => continue,
                _ => panic!(
                    "the remote-engine lab did not start (these tests need root, ip, sshd and stunnel; \
                     the script installs the last two with apt):\n{}",
                    String::from_utf8_lossy(&output.stderr)
                ),
            }
        }
        panic!("no free lab number in 10..250");
    }

    /// The engine host's address as laptop `a` or `b` sees it.
    pub fn host(&self, laptop: &str) -> String {
        match laptop {
            "a" => format!("10.250.{}.1", self.n),
            _ => format!("10.250.{}.5", self.n),
        }
    }

    pub fn ssh_address(&self, laptop: &str) -> String {
        format!("ssh://root@{}", self.host(laptop))
    }

    pub fn tls_address(&self, laptop: &str) -> String {
        format!("tcp://{}:2376", self.host(laptop))
    }

    /// The client's TLS files (ca.pem, cert.pem, key.pem) and the rest.
    pub fn tls_dir(&self) -> PathBuf {
        self.dir.join("tls")
    }

    /// Runs `scenario` of this test binary on `laptop` with `home` (a, b or
    /// wrong) and exactly `env` (plus PATH and HOME), waiting for it.
    pub fn child(&self, laptop: &str, home: &str, scenario: &str, env: &[(&str, String)]) -> Output {
        self.spawn_child(laptop, home, scenario, env)
            .wait_with_output()
            .expect("wait for the child")
    }

    /// Like [`RemoteLab::child`], without waiting; stdout and stderr piped.
    pub fn spawn_child(&self, laptop: &str, home: &str, scenario: &str, env: &[(&str, String)]) -> std::process::Child {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut command = Command::new("bash");
        command
            .args([SCRIPT, "run", &self.n.to_string(), laptop, home, "--"])
            .arg(exe)
            .args([
                "--exact",
                "remote_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", "/root")
            .env(SCENARIO_VAR, scenario)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        command.spawn().expect("start a child in the lab")
    }

    /// `flowinfra ARGS` on `laptop` with `home`, run from the repository
    /// with exactly `env` plus PATH, HOME, NO_COLOR and a temporary
    /// directory of the laptop's own (two machines share no file lock).
    pub fn flowinfra(&self, laptop: &str, home: &str, args: &[&str], env: &[(String, String)]) -> Command {
        let tmp = self.dir.join(format!("tmp-{laptop}"));
        std::fs::create_dir_all(&tmp).unwrap();
        let mut command = Command::new("bash");
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([SCRIPT, "run", &self.n.to_string(), laptop, home, "--"])
            .arg(env!("CARGO_BIN_EXE_flowinfra"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", "/root")
            .env("NO_COLOR", "1")
            .env("TMPDIR", &tmp)
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null());
        command
    }

    /// A Docker config directory with one context `name` at `host`, its TLS
    /// files copied from `tls_from` (when given), as `docker context create` writes it.
    pub fn config_with_context(&self, name: &str, host: &str, tls_from: Option<&Path>) -> PathBuf {
        use sha2::{Digest, Sha256};
        let config = self.dir.join(format!("docker-config-{name}"));
        let id = format!("{:x}", Sha256::digest(name.as_bytes()));
        let meta = config.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {"Description": "flowinfra lab"},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if let Some(from) = tls_from {
            let tls = config.join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&tls).unwrap();
            for file in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::copy(from.join(file), tls.join(file)).unwrap();
            }
        }
        std::fs::write(
            config.join("config.json"),
            serde_json::json!({"currentContext": name}).to_string(),
        )
        .unwrap();
        config
    }
}

impl Drop for RemoteLab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args([SCRIPT, "down", &self.n.to_string()])
            .stdin(Stdio::null())
            .status();
    }
}

/// A child's stdout and stderr, for assertion messages.
pub fn output_text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
