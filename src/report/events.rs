//! The core's events in words: which are a service's progress steps, which
//! end its line, which are warnings or plain messages.

use std::fmt;

use crate::events::Event;
use crate::kinds::ProvisionReport;

/// How one event shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A service's progress (`creating`, `waiting for readiness`, …).
    Step { service: String, text: String },
    /// A service's last progress line (`ready in 3.2s`, `FAILED`).
    Finish { service: String, text: String },
    /// A status message.
    Info(String),
    /// A warning, shown even with `--quiet`.
    Warning(String),
}

/// Words `event` as the line it shows as.
pub fn line(event: Event) -> Line {
    let step = |service: String, text: String| Line::Step { service, text };
    match event {
        Event::WaitingForLock { project } => Line::Info(format!(
            "waiting for another flowinfra command on project `{project}` to finish…"
        )),
        Event::WaitingForEngineLock { project, holder } => Line::Info(format!(
            "waiting for {holder}, which holds project `{project}` on the engine…"
        )),
        Event::Building { service, image, reason } => step(service, format!("building {image} ({reason})")),
        Event::Pulling { service, image } => step(service, format!("pulling {image}")),
        Event::SupersededImageRemoved { image } => {
            Line::Info(format!("removed superseded image {}", crate::plan::short_id(&image)))
        }
        Event::WaitingForDependency { service, dependency } => step(service, format!("waiting for {dependency}")),
        Event::Starting { service } => step(service, "starting".into()),
        Event::Creating { service } => step(service, "creating".into()),
        Event::Recreating { service, reasons } => {
            let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
            step(service, format!("recreating ({})", reasons.join("; ")))
        }
        Event::WaitingForReadiness { service } => step(service, "waiting for readiness".into()),
        Event::Migrating { service, pending } => {
            let versions: Vec<String> = pending.iter().map(i64::to_string).collect();
            step(
                service,
                format!("migrating ({} pending: {})", pending.len(), versions.join(", ")),
            )
        }
        Event::Seeding { service, version } => step(service, format!("seeding (version {version})")),
        Event::SeedLoaded {
            service,
            version,
            rows,
            duration,
        } => step(
            service,
            format!("seed {version} loaded: {rows} rows in {:.1}s", duration.as_secs_f64()),
        ),
        Event::Provisioned { service, report } => step(service, report.to_string()),
        Event::Warning { service, text } => Line::Warning(format!("{service}: {text}")),
        Event::Ready { service, after } => Line::Finish {
            service,
            text: format!("ready in {:.1}s", after.as_secs_f64()),
        },
        Event::Failed { service } => Line::Finish {
            service,
            text: "FAILED".into(),
        },
    }
}

impl fmt::Display for ProvisionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisionReport::Topology {
                vhost,
                exchanges,
                queues,
                bindings,
            } => {
                let parts: Vec<String> = [(*exchanges, "exchange"), (*queues, "queue"), (*bindings, "binding")]
                    .into_iter()
                    .filter(|(count, _)| *count > 0)
                    .map(|(count, noun)| count_of(count, noun, &format!("{noun}s")))
                    .collect();
                write!(f, "declared {} on vhost {vhost}", join_words(&parts))
            }
            ProvisionReport::Buckets {
                ready,
                created,
                policies_set,
                policies_removed,
            } => {
                write!(f, "{} ready", count_of(*ready, "bucket", "buckets"))?;
                let mut changes = Vec::new();
                if *created > 0 {
                    changes.push(format!("{created} created"));
                }
                if *policies_set > 0 {
                    changes.push(format!("{} set", count_of(*policies_set, "policy", "policies")));
                }
                if *policies_removed > 0 {
                    changes.push(format!("{} removed", count_of(*policies_removed, "policy", "policies")));
                }
                if !changes.is_empty() {
                    write!(f, " ({})", changes.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// `1 policy`, `2 policies`.
fn count_of(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::plan::RecreateReason;

    #[test]
    fn topology_report_lists_what_was_declared() {
        let report = ProvisionReport::Topology {
            vhost: "/".into(),
            exchanges: 0,
            queues: 5,
            bindings: 0,
        };
        assert_eq!(report.to_string(), "declared 5 queues on vhost /");
        let report = ProvisionReport::Topology {
            vhost: "orders".into(),
            exchanges: 1,
            queues: 2,
            bindings: 3,
        };
        assert_eq!(
            report.to_string(),
            "declared 1 exchange, 2 queues and 3 bindings on vhost orders"
        );
    }

    #[test]
    fn bucket_report_says_what_changed() {
        let unchanged = ProvisionReport::Buckets {
            ready: 3,
            created: 0,
            policies_set: 0,
            policies_removed: 0,
        };
        assert_eq!(unchanged.to_string(), "3 buckets ready");
        let fresh = ProvisionReport::Buckets {
            ready: 3,
            created: 3,
            policies_set: 2,
            policies_removed: 1,
        };
        assert_eq!(
            fresh.to_string(),
            "3 buckets ready (3 created, 2 policies set, 1 policy removed)"
        );
    }

    #[test]
    fn progress_events_read_as_the_steps_of_their_service() {
        let step = |text: &str| Line::Step {
            service: "db".into(),
            text: text.into(),
        };
        assert_eq!(
            line(Event::Recreating {
                service: "db".into(),
                reasons: vec![
                    RecreateReason::ConfigChanged {
                        fields: vec!["environment".into()]
                    },
                    RecreateReason::Unhealthy
                ],
            }),
            step("recreating (config changed: environment; container is unhealthy)")
        );
        assert_eq!(
            line(Event::Migrating {
                service: "db".into(),
                pending: vec![1, 2],
            }),
            step("migrating (2 pending: 1, 2)")
        );
        assert_eq!(
            line(Event::SeedLoaded {
                service: "db".into(),
                version: "2024.1".into(),
                rows: 40,
                duration: Duration::from_millis(1300),
            }),
            step("seed 2024.1 loaded: 40 rows in 1.3s")
        );
        assert_eq!(
            line(Event::Ready {
                service: "db".into(),
                after: Duration::from_millis(3210),
            }),
            Line::Finish {
                service: "db".into(),
                text: "ready in 3.2s".into()
            }
        );
        assert_eq!(
            line(Event::Warning {
                service: "db".into(),
                text: "the seed changed".into(),
            }),
            Line::Warning("db: the seed changed".into())
        );
    }
}
