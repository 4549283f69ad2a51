//! Tables for `ps` and the summary after `up`.

use serde::Serialize;

use crate::converge::ServiceOutcome;
use crate::engine::ContainerState;

/// One line of `ps`, also its JSON schema.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    pub service: String,
    pub container: Option<String>,
    /// `running`, `exited`, …, or `absent` when the service has no container.
    pub state: String,
    pub health: Option<String>,
    pub exit_code: Option<i64>,
    /// `127.0.0.1:3306->3306/tcp`
    pub ports: Vec<String>,
    /// Why the container no longer matches the spec or its image; `None` when current.
    pub stale: Option<String>,
    /// The registry comparison, with `--check-upstream` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

impl ServiceRow {
    pub fn new(service: &str, container: Option<&ContainerState>) -> Self {
        Self {
            service: service.to_string(),
            container: container.map(|c| c.name.clone()),
            state: container.map_or_else(|| "absent".to_string(), |c| c.status.to_string()),
            health: container.and_then(|c| c.health).map(|h| h.to_string()),
            exit_code: container.and_then(|c| c.exit_code),
            ports: container
                .map(|c| {
                    c.ports
                        .iter()
                        .map(|p| format!("{}:{}->{}/{}", p.host_ip, p.host_port, p.container_port, p.protocol))
                        .collect()
                })
                .unwrap_or_default(),
            stale: None,
            upstream: None,
        }
    }
}

/// Left-aligned columns separated by two spaces.
pub fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(index, cell)| format!("{cell:width$}", width = widths[index]))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.iter().map(|row| line(row.clone())));
    out.join("\n")
}

pub fn ps_table(rows: &[ServiceRow]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.service.clone(),
                row.container.clone().unwrap_or_else(|| "-".into()),
                match row.exit_code {
                    Some(code) if row.state == "exited" => format!("exited ({code})"),
                    _ => row.state.clone(),
                },
                row.health.clone().unwrap_or_else(|| "-".into()),
                if row.ports.is_empty() {
                    "-".into()
                } else {
                    row.ports.join(", ")
                },
                row.stale.clone().unwrap_or_else(|| "-".into()),
            ]
            .into_iter()
            .chain(row.upstream.clone())
            .collect()
        })
        .collect();
    let mut header = vec!["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", "STALE"];
    if rows.iter().any(|row| row.upstream.is_some()) {
        header.push("UPSTREAM");
    }
    render_table(&header, &cells)
}

pub fn up_summary_table(outcomes: &[ServiceOutcome]) -> String {
    let cells: Vec<Vec<String>> = outcomes
        .iter()
        .map(|outcome| match &outcome.result {
            Ok(ready) => vec![
                outcome.service.clone(),
                "ready".into(),
                ready.address.clone().unwrap_or_else(|| "-".into()),
                format!("{:.1}s", ready.after.as_secs_f64()),
                outcome.action.to_string(),
            ],
            Err(_) => vec![
                outcome.service.clone(),
                "FAILED".into(),
                "-".into(),
                "-".into(),
                outcome.action.to_string(),
            ],
        })
        .collect();
    render_table(&["SERVICE", "STATE", "ADDRESS", "READY AFTER", "ACTION"], &cells)
}

/// The human table of `check`: status, service, check, reason; details and timings with `verbose`.
pub fn check_table(results: &[crate::check::CheckResult], verbose: bool) -> String {
    let cells: Vec<Vec<String>> = results
        .iter()
        .map(|result| {
            let mut row = vec![
                result.status.as_str().to_uppercase(),
                result.service.clone().unwrap_or_else(|| "-".into()),
                result.check.clone(),
                result.reason.clone(),
            ];
            if verbose {
                row.push(format!("{} ms", result.duration_ms));
                row.push(
                    result
                        .details
                        .iter()
                        .map(|(name, value)| match value {
                            serde_json::Value::String(text) => format!("{name}={text}"),
                            other => format!("{name}={other}"),
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            row
        })
        .collect();
    let mut header = vec!["STATUS", "SERVICE", "CHECK", "REASON"];
    if verbose {
        header.extend(["TIME", "DETAILS"]);
    }
    let failed = results
        .iter()
        .filter(|r| r.status == crate::check::Status::Fail)
        .count();
    let warned = results
        .iter()
        .filter(|r| r.status == crate::check::Status::Warn)
        .count();
    format!(
        "{}\n\n{} checks: {} failed, {} warned",
        render_table(&header, &cells),
        results.len(),
        failed,
        warned
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::check::{CheckResult, Status};

    fn row(service: &str, state: &str, health: Option<&str>, ports: &[&str], stale: Option<&str>) -> ServiceRow {
        ServiceRow {
            service: service.into(),
            container: Some(format!("p-{service}-1")),
            state: state.into(),
            health: health.map(str::to_string),
            exit_code: (state == "exited").then_some(137),
            ports: ports.iter().map(|p| p.to_string()).collect(),
            stale: stale.map(str::to_string),
            upstream: None,
        }
    }

    #[test]
    fn ps_table_reads_as_columns() {
        let rows = [
            row("mysql", "running", Some("healthy"), &["127.0.0.1:3306->3306/tcp"], None),
            row("redis", "exited", None, &[], Some("config changed: environment")),
        ];
        assert_eq!(
            ps_table(&rows),
            "SERVICE  CONTAINER  STATE         HEALTH   PORTS                     STALE\n\
             mysql    p-mysql-1  running       healthy  127.0.0.1:3306->3306/tcp  -\n\
             redis    p-redis-1  exited (137)  -        -                         config changed: environment"
        );
    }

    #[test]
    fn ps_json_has_the_documented_fields() {
        let value = serde_json::to_value(row("mysql", "running", None, &[], None)).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["container", "exit_code", "health", "ports", "service", "stale", "state"]
        );
    }

    fn result(service: Option<&str>, check: &str, status: Status, reason: &str) -> CheckResult {
        CheckResult {
            check: check.into(),
            service: service.map(str::to_string),
            status,
            reason: reason.into(),
            duration_ms: 12,
            details: BTreeMap::from([("server_version".to_string(), serde_json::json!("7.0.15"))]),
        }
    }

    #[test]
    fn check_table_shows_status_reason_and_a_count() {
        let results = [
            result(
                None,
                "engine",
                Status::Ok,
                "Docker engine at unix:///var/run/docker.sock",
            ),
            result(
                Some("redis"),
                "container",
                Status::Fail,
                "p-redis-1 is exited (exit code 0)",
            ),
        ];
        assert_eq!(
            check_table(&results, false),
            "STATUS  SERVICE  CHECK      REASON\n\
             OK      -        engine     Docker engine at unix:///var/run/docker.sock\n\
             FAIL    redis    container  p-redis-1 is exited (exit code 0)\n\
             \n\
             2 checks: 1 failed, 0 warned"
        );
        let verbose = check_table(&results, true);
        assert!(verbose.lines().next().unwrap().ends_with("TIME   DETAILS"), "{verbose}");
        assert!(verbose.contains("12 ms  server_version=7.0.15"), "{verbose}");
    }

    #[test]
    fn check_json_has_the_documented_fields() {
        let value = serde_json::to_value(result(Some("redis"), "protocol", Status::Warn, "x")).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["check", "details", "duration_ms", "reason", "service", "status"]);
        assert_eq!(value["status"], "warn");
    }
}
