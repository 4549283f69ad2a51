//! Provisioning: what a ready service gets beyond readiness, from its
//! `x-flowinfra` settings — RabbitMQ's exchanges, queues and bindings, S3's
//! buckets and their anonymous-access policies. MySQL's migrations and seed
//! live in [`crate::mysql`]; Redis takes everything from its command line.
//!
//! Provisioning is additive and idempotent: declaring what exists changes
//! nothing, and nothing the spec no longer names is deleted. A declaration
//! the server refuses because the existing object differs is reported with
//! both sides, never "fixed" by deleting the object.

use std::fmt;

use crate::engine::{Protocol, PublishedPort};
use crate::spec::{KindSettings, Service};

use super::{Credentials, Endpoint, credentials, rabbitmq, reachable_host, s3};

/// RabbitMQ's management API (HTTP) port inside the container.
pub const RABBITMQ_MANAGEMENT_PORT: u16 = 15672;

/// What provisioning did, one line's worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionReport {
    /// RabbitMQ: everything the spec declares now exists on `vhost`.
    Topology {
        vhost: String,
        exchanges: usize,
        queues: usize,
        bindings: usize,
    },
    /// S3: every declared bucket exists with its declared policy.
    Buckets {
        ready: usize,
        created: usize,
        policies_set: usize,
        policies_removed: usize,
    },
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
                    .map(|(count, noun)| plural(count, noun))
                    .collect();
                write!(f, "declared {} on vhost {vhost}", join_words(&parts))
            }
            ProvisionReport::Buckets {
                ready,
                created,
                policies_set,
                policies_removed,
            } => {
                write!(f, "{} ready", plural(*ready, "bucket"))?;
                let mut changes = Vec::new();
                if *created > 0 {
                    changes.push(format!("{created} created"));
                }
                if *policies_set > 0 {
                    changes.push(format!("{} set", plural_policy(*policies_set)));
                }
                if *policies_removed > 0 {
                    changes.push(format!("{} removed", plural_policy(*policies_removed)));
                }
                if !changes.is_empty() {
                    write!(f, " ({})", changes.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn plural_policy(count: usize) -> String {
    if count == 1 {
        "1 policy".into()
    } else {
        format!("{count} policies")
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

/// Why provisioning failed. Messages name the object and never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    /// RabbitMQ answered PRECONDITION_FAILED: the queue exists with other
    /// arguments (or durability).
    #[error("{0}")]
    QueueConflict(Box<QueueConflict>),
    /// RabbitMQ answered PRECONDITION_FAILED for an exchange: it exists with
    /// another type or durability.
    #[error("exchange `{exchange}` already exists with other settings: declared {declared} (RabbitMQ: {broker})")]
    ExchangeConflict {
        exchange: String,
        vhost: String,
        declared: String,
        broker: String,
    },
    /// The server refused the service's credentials (or their permissions).
    #[error("the credentials were refused: {0}")]
    CredentialsRefused(String),
    /// Anything else: `what` was being done, `reason` is what the server or the network said.
    #[error("{what} failed: {reason}")]
    Failed { what: String, reason: String },
    /// Several declarations failed; each is listed.
    #[error("{} declarations failed:{}", .0.len(), .0.iter().map(|error| format!("\n  - {error}")).collect::<String>())]
    Several(Vec<ProvisionError>),
}

impl ProvisionError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ProvisionError::QueueConflict(conflict) => Some(format!(
                "RabbitMQ cannot change the arguments of an existing queue, and flowinfra never deletes one: \
                 declare the existing arguments again, or delete the queue yourself (its messages are lost), \
                 e.g. `rabbitmqctl delete_queue -p {} {}` in its container, then run `flowinfra up` again; \
                 a RabbitMQ policy (`rabbitmqctl set_policy`) can change TTLs and limits of a live queue",
                conflict.vhost, conflict.queue
            )),
            ProvisionError::ExchangeConflict { exchange, vhost, .. } => Some(format!(
                "RabbitMQ cannot change an existing exchange, and flowinfra never deletes one: declare `{exchange}` \
                 as it exists, or delete it yourself on vhost {vhost} (the management UI, or \
                 `rabbitmqadmin -V {vhost} delete exchange name={exchange}`), then run `flowinfra up` again"
            )),
            ProvisionError::CredentialsRefused(_) => Some(
                "check the passwords in .env against the ones the service's volume was initialised with; \
                 `flowinfra down -v` resets the data (and loses it)"
                    .into(),
            ),
            ProvisionError::Failed { .. } => None,
            ProvisionError::Several(errors) => errors.iter().find_map(ProvisionError::hint),
        }
    }
}

/// A declared queue that differs from the one RabbitMQ has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConflict {
    pub queue: String,
    pub vhost: String,
    /// The declaration, e.g. `durable with {x-message-ttl: 30000}`.
    pub declared: String,
    /// The existing queue in the same words, as the management API
    /// describes it; or why it could not be read.
    pub existing: Result<String, String>,
    /// RabbitMQ's own reply text.
    pub broker: String,
}

impl fmt::Display for QueueConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue `{}` already exists with other arguments: declared {}, but the existing queue is ",
            self.queue, self.declared
        )?;
        match &self.existing {
            Ok(existing) => f.write_str(existing)?,
            Err(unknown) => write!(f, "different ({unknown})")?,
        }
        write!(f, " (RabbitMQ: {})", self.broker)
    }
}

/// Applies what `service`'s `x-flowinfra` declares — RabbitMQ topology, S3
/// buckets and policies — once the service is ready. `published` is where
/// the engine publishes the container's ports (wildcard binds are reached on
/// loopback). `Ok(None)` when the kind has nothing to provision here (mysql,
/// redis, plain services) or the spec declares nothing.
pub async fn provision(
    service: &Service,
    published: &[PublishedPort],
) -> Result<Option<ProvisionReport>, ProvisionError> {
    let Some(flowinfra) = &service.flowinfra else {
        return Ok(None);
    };
    let Some(credentials) = credentials(service) else {
        return Ok(None);
    };
    let endpoint_of = |container_port: u16| published_endpoint(published, container_port);
    let kind_port = flowinfra.settings.kind().default_port();
    match (&flowinfra.settings, &credentials) {
        (KindSettings::Rabbitmq(settings), Credentials::Rabbitmq { user, password, vhost }) => {
            if settings.exchanges.is_empty() && settings.queues.is_empty() && settings.bindings.is_empty() {
                return Ok(None);
            }
            let endpoint = endpoint_of(kind_port).ok_or_else(|| not_published(service, kind_port))?;
            let management = endpoint_of(RABBITMQ_MANAGEMENT_PORT);
            let login = rabbitmq::Login { user, password, vhost };
            rabbitmq::declare_topology(&endpoint, management.as_ref(), &login, settings)
                .await
                .map(Some)
        }
        (
            KindSettings::S3(settings),
            Credentials::S3 {
                access_key,
                secret_key,
                region,
            },
        ) => {
            if settings.buckets.is_empty() {
                return Ok(None);
            }
            let endpoint = endpoint_of(kind_port).ok_or_else(|| not_published(service, kind_port))?;
            s3::ensure_buckets(&endpoint, access_key, secret_key, region, &settings.buckets)
                .await
                .map(Some)
        }
        _ => Ok(None),
    }
}

/// Checks, without changing anything, that what `service`'s `x-flowinfra`
/// declares is in place. `Ok(None)` when the kind declares nothing to check;
/// otherwise what was checked and the differences found.
pub async fn verify(
    service: &Service,
    published: &[PublishedPort],
) -> Result<Option<(String, Vec<String>)>, ProvisionError> {
    let (Some(flowinfra), Some(credentials)) = (&service.flowinfra, credentials(service)) else {
        return Ok(None);
    };
    let endpoint_of = |container_port: u16| published_endpoint(published, container_port);
    let kind_port = flowinfra.settings.kind().default_port();
    match (&flowinfra.settings, &credentials) {
        (KindSettings::Rabbitmq(settings), Credentials::Rabbitmq { user, password, vhost }) => {
            if settings.exchanges.is_empty() && settings.queues.is_empty() {
                return Ok(None);
            }
            let endpoint = endpoint_of(kind_port).ok_or_else(|| not_published(service, kind_port))?;
            let login = rabbitmq::Login { user, password, vhost };
            let missing = rabbitmq::missing_topology(&endpoint, &login, settings).await?;
            let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
            let what = match settings.exchanges.len() {
                0 => count(settings.queues.len(), "queue"),
                n => format!("{}, {}", count(n, "exchange"), count(settings.queues.len(), "queue")),
            };
            Ok(Some((
                what,
                missing.into_iter().map(|m| format!("{m} is missing")).collect(),
            )))
        }
        (
            KindSettings::S3(settings),
            Credentials::S3 {
                access_key,
                secret_key,
                region,
            },
        ) => {
            if settings.buckets.is_empty() {
                return Ok(None);
            }
            let endpoint = endpoint_of(kind_port).ok_or_else(|| not_published(service, kind_port))?;
            let differences =
                s3::bucket_differences(&endpoint, access_key, secret_key, region, &settings.buckets).await?;
            Ok(Some((
                format!("{} buckets with their policies", settings.buckets.len()),
                differences,
            )))
        }
        _ => Ok(None),
    }
}

/// Where this machine reaches `container_port` of a container publishing `published`.
fn published_endpoint(published: &[PublishedPort], container_port: u16) -> Option<Endpoint> {
    published
        .iter()
        .find(|port| port.container_port == container_port && port.protocol == Protocol::Tcp)
        .map(|port| Endpoint {
            host: reachable_host(&port.host_ip),
            port: port.host_port,
        })
}

fn not_published(service: &Service, port: u16) -> ProvisionError {
    ProvisionError::Failed {
        what: format!("reaching service `{}`", service.name),
        reason: format!("its container port {port} is not published"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_queue_conflict_names_the_queue_and_both_argument_sets() {
        let error = ProvisionError::QueueConflict(Box::new(QueueConflict {
            queue: "orders".into(),
            vhost: "/".into(),
            declared: "durable with {x-message-ttl: 30000}".into(),
            existing: Ok("durable with {x-message-ttl: 60000}".into()),
            broker: "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl'".into(),
        }));
        assert_eq!(
            error.to_string(),
            "queue `orders` already exists with other arguments: declared durable with {x-message-ttl: 30000}, \
             but the existing queue is durable with {x-message-ttl: 60000} \
             (RabbitMQ: PRECONDITION_FAILED - inequivalent arg 'x-message-ttl')"
        );
        assert!(error.hint().unwrap().contains("rabbitmqctl delete_queue -p / orders"));
    }

    #[test]
    fn a_queue_conflict_without_the_management_api_says_why_the_existing_side_is_unknown() {
        let error = ProvisionError::QueueConflict(Box::new(QueueConflict {
            queue: "orders".into(),
            vhost: "/".into(),
            declared: "durable with no arguments".into(),
            existing: Err("the management API port 15672 is not published".into()),
            broker: "PRECONDITION_FAILED - inequivalent arg 'durable'".into(),
        }));
        assert!(
            error
                .to_string()
                .contains("but the existing queue is different (the management API port 15672 is not published)"),
            "{error}"
        );
    }

    #[test]
    fn several_failures_are_listed_one_per_line() {
        let failed = |what: &str| ProvisionError::Failed {
            what: what.into(),
            reason: "boom".into(),
        };
        let error = ProvisionError::Several(vec![failed("a"), failed("b")]);
        assert_eq!(
            error.to_string(),
            "2 declarations failed:\n  - a failed: boom\n  - b failed: boom"
        );
    }
}
