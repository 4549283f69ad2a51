//! The one Kubernetes API call flowinfra makes, from inside a pod: reading
//! a Job until it completed, for `flowinfra wait SERVICE --job` (the init
//! container of a service that depends on a one-shot with
//! `service_completed_successfully`). A pod cannot see a Job's completion
//! any other way: a finished pod leaves no DNS name and no port behind.
//!
//! It uses what the kubelet mounts into every pod whose service account it
//! automounts (token, CA, namespace) and `KUBERNETES_SERVICE_HOST`/`_PORT`;
//! the rendered Role grants `get` on Jobs in the namespace, nothing more.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;

use super::in_cluster::WaitError;
use crate::spec::format_duration;

/// Where the kubelet mounts the pod's service account.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// One API request.
const REQUEST: Duration = Duration::from_secs(10);

/// The API server as the pod reaches it.
pub struct InCluster {
    base: String,
    token: String,
    namespace: String,
    client: reqwest::Client,
}

impl InCluster {
    /// From the pod's environment and its service account folder.
    pub fn from_pod(dir: &Path) -> Result<Self, WaitError> {
        let not_in_pod = |reason: String| WaitError::NoApi { reason };
        let host = std::env::var("KUBERNETES_SERVICE_HOST")
            .map_err(|_| not_in_pod("KUBERNETES_SERVICE_HOST is not set: this is not a Kubernetes pod".into()))?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
        let read = |file: &str| {
            let path: PathBuf = dir.join(file);
            std::fs::read(&path).map_err(|error| {
                not_in_pod(format!(
                    "cannot read {} ({error}): the pod has no service account token mounted",
                    path.display()
                ))
            })
        };
        let token = String::from_utf8_lossy(&read("token")?).trim().to_string();
        crate::logging::register_secrets(std::iter::once(&token));
        let namespace = String::from_utf8_lossy(&read("namespace")?).trim().to_string();
        let ca = reqwest::Certificate::from_pem(&read("ca.crt")?).map_err(|error| {
            not_in_pod(format!(
                "the service account's ca.crt is not a PEM certificate: {error}"
            ))
        })?;
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(REQUEST)
            .build()
            .map_err(|error| not_in_pod(format!("cannot set up TLS: {error}")))?;
        Ok(InCluster {
            base: base_url(&host, &port),
            token,
            namespace,
            client,
        })
    }

    /// The Job `name` of the pod's namespace; `None` while it does not exist.
    async fn job(&self, name: &str) -> Result<Option<Job>, Attempt> {
        let url = format!("{}/apis/batch/v1/namespaces/{}/jobs/{name}", self.base, self.namespace);
        let response = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|error| Attempt::Retry(format!("GET {url}: {error}")))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = response.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Attempt::Refused(format!("{status}: {}", body.trim())));
        }
        if !status.is_success() {
            return Err(Attempt::Retry(format!("GET {url}: {status}: {}", body.trim())));
        }
        serde_json::from_str(&body)
            .map(Some)
            .map_err(|error| Attempt::Retry(format!("GET {url}: not a Job ({error})")))
    }
}

enum Attempt {
    Retry(String),
    Refused(String),
}

/// `https://HOST:PORT`, an IPv6 address in brackets.
fn base_url(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    }
}

/// Where a Job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    Succeeded,
    Failed(String),
}

/// A Job's state from its status: its `Complete` or `Failed` condition,
/// or a succeeded pod (a one-shot has one completion).
pub fn job_state(job: &Job) -> JobState {
    let Some(status) = &job.status else {
        return JobState::Running;
    };
    for condition in status.conditions.iter().flatten() {
        if condition.status != "True" {
            continue;
        }
        match condition.type_.as_str() {
            "Complete" => return JobState::Succeeded,
            "Failed" => {
                let reason = [condition.reason.as_deref(), condition.message.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                return JobState::Failed(if reason.is_empty() {
                    "no reason given".into()
                } else {
                    reason
                });
            }
            _ => {}
        }
    }
    if status.succeeded.unwrap_or(0) >= 1 {
        JobState::Succeeded
    } else {
        JobState::Running
    }
}

/// Reads the Job `name` until it completed (`Ok`), failed, the API refused
/// to show it, or `timeout` passed.
pub async fn wait_for_job(api: &InCluster, name: &str, timeout: Duration) -> Result<(), WaitError> {
    let deadline = Instant::now() + timeout;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let last = match api.job(name).await {
            Ok(Some(job)) => match job_state(&job) {
                JobState::Succeeded => return Ok(()),
                JobState::Failed(reason) => {
                    return Err(WaitError::JobFailed {
                        job: name.to_string(),
                        reason,
                    });
                }
                JobState::Running => "it has not completed yet".to_string(),
            },
            Ok(None) => format!("there is no Job {name} in namespace {} yet", api.namespace),
            Err(Attempt::Refused(reason)) => {
                return Err(WaitError::ApiRefused {
                    job: name.to_string(),
                    reason,
                });
            }
            Err(Attempt::Retry(reason)) => reason,
        };
        if Instant::now() + backoff >= deadline {
            return Err(WaitError::JobTimeout {
                job: name.to_string(),
                waited: format_duration(timeout),
                last,
            });
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: serde_json::Value) -> Job {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}, "status": status
        }))
        .unwrap()
    }

    #[test]
    fn a_job_is_done_when_complete_or_a_pod_succeeded_and_failed_with_its_reason() {
        assert_eq!(job_state(&job(serde_json::json!({"active": 1}))), JobState::Running);
        assert_eq!(
            job_state(&job(serde_json::json!({
                "succeeded": 1,
                "conditions": [{"type": "Complete", "status": "True"}]
            }))),
            JobState::Succeeded
        );
        assert_eq!(
            job_state(&job(serde_json::json!({"succeeded": 1}))),
            JobState::Succeeded
        );
        assert_eq!(
            job_state(&job(serde_json::json!({
                "failed": 4,
                "conditions": [
                    {"type": "Complete", "status": "False"},
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit"}
                ]
            }))),
            JobState::Failed("BackoffLimitExceeded: Job has reached the specified backoff limit".into())
        );
    }

    #[test]
    fn ipv6_api_addresses_are_bracketed() {
        assert_eq!(base_url("10.96.0.1", "443"), "https://10.96.0.1:443");
        assert_eq!(base_url("fd00::1", "443"), "https://[fd00::1]:443");
    }

    #[test]
    fn outside_a_pod_the_error_says_so() {
        // SAFETY of the check: only reads the variable; tests never set it.
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            return;
        }
        let error = InCluster::from_pod(Path::new(SERVICE_ACCOUNT_DIR)).err().unwrap();
        assert_eq!(
            error.to_string(),
            "cannot reach the Kubernetes API: KUBERNETES_SERVICE_HOST is not set: this is not a Kubernetes pod"
        );
    }
}
