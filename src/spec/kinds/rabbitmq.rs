//! `kind: rabbitmq`: the vhost, exchanges, queues and bindings to declare,
//! and the declarations RabbitMQ 4.x refuses ([`refused_since_4_3`],
//! [`never_accepted`]): errors when the image is 4.3 or newer, warnings
//! (at `up`) when its version is unknown or older.

use std::collections::BTreeMap;

use super::{KindRules, SettingsContext, needs_nothing_more};
use crate::spec::error::{Diagnostic, hint_for};
use crate::spec::model::{ArgumentValue, Binding, Exchange, ExchangeType, Kind, KindSettings, Queue, RabbitmqSettings};
use crate::spec::reader::{Fields, Reader};
use crate::spec::yaml::{Node, Value};

pub(super) const RULES: KindRules = KindRules {
    kind: Kind::Rabbitmq,
    settings: &["vhost", "exchanges", "queues", "bindings"],
    read_settings,
    check_service: needs_nothing_more,
};

const EXCHANGE_FIELDS: Fields<'static> = Fields::new("exchange", &["name", "type", "durable"]);
const QUEUE_FIELDS: Fields<'static> = Fields::new("queue", &["name", "durable", "arguments"]);
const BINDING_FIELDS: Fields<'static> = Fields::new("binding", &["exchange", "queue", "routing_key"]);

fn read_settings(r: &mut Reader, node: &Node, context: &SettingsContext<'_>) -> KindSettings {
    let vhost = node
        .get("vhost")
        .and_then(|n| r.non_empty_string(n, "`vhost`"))
        .unwrap_or_else(|| "/".into());
    let exchanges = node.get("exchanges").map(|n| read_exchanges(r, n)).unwrap_or_default();
    let refuses_4_3 = context.image.is_some_and(refuses_what_4_3_refuses);
    let queues = node
        .get("queues")
        .map(|n| read_queues(r, n, refuses_4_3))
        .unwrap_or_default();
    let bindings = node
        .get("bindings")
        .map(|n| read_bindings(r, n, &exchanges, &queues))
        .unwrap_or_default();
    KindSettings::Rabbitmq(RabbitmqSettings {
        vhost,
        exchanges,
        queues,
        bindings,
    })
}

fn read_exchanges(r: &mut Reader, node: &Node) -> Vec<Exchange> {
    let mut exchanges: Vec<Exchange> = Vec::new();
    for item in r.list(node, "`exchanges`") {
        let exchange = match &item.value {
            Value::Scalar { text, .. } => Some(Exchange {
                name: text.clone(),
                exchange_type: ExchangeType::Direct,
                durable: true,
            }),
            Value::Mapping(fields) => {
                r.check_keys(fields, &EXCHANGE_FIELDS);
                let name = item.get("name").and_then(|n| r.non_empty_string(n, "exchange `name`"));
                let exchange_type = match item.get("type") {
                    None => Some(ExchangeType::Direct),
                    Some(n) => match n.as_scalar() {
                        Some("direct") => Some(ExchangeType::Direct),
                        Some("fanout") => Some(ExchangeType::Fanout),
                        Some("topic") => Some(ExchangeType::Topic),
                        Some("headers") => Some(ExchangeType::Headers),
                        other => {
                            r.push(
                                Diagnostic::at(&n.position, format!("unknown exchange type `{}`", other.unwrap_or("")))
                                    .with_hint("use direct, fanout, topic or headers"),
                            );
                            None
                        }
                    },
                };
                let durable = item.get("durable").and_then(|n| r.bool(n, "`durable`")).unwrap_or(true);
                if name.is_none() && item.get("name").is_none() {
                    r.error(&item.position, "an exchange needs a `name`");
                }
                name.zip(exchange_type).map(|(name, exchange_type)| Exchange {
                    name,
                    exchange_type,
                    durable,
                })
            }
            _ => {
                r.error(&item.position, "an exchange must be a name or a mapping");
                None
            }
        };
        let Some(exchange) = exchange else { continue };
        if exchanges.iter().any(|e| e.name == exchange.name) {
            r.error(
                &item.position,
                format!("exchange `{}` is declared twice", exchange.name),
            );
        } else if exchange.name.starts_with("amq.") {
            r.error(
                &item.position,
                format!(
                    "exchange `{}`: names starting with `amq.` are reserved by RabbitMQ",
                    exchange.name
                ),
            );
        } else {
            exchanges.push(exchange);
        }
    }
    exchanges
}

fn read_queues(r: &mut Reader, node: &Node, refuses_4_3: bool) -> Vec<Queue> {
    let mut queues: Vec<Queue> = Vec::new();
    for item in r.list(node, "`queues`") {
        let queue = match &item.value {
            Value::Scalar { text, .. } => Some(Queue {
                name: text.clone(),
                durable: true,
                arguments: BTreeMap::new(),
            }),
            Value::Mapping(fields) => {
                r.check_keys(fields, &QUEUE_FIELDS);
                let name = item.get("name").and_then(|n| r.non_empty_string(n, "queue `name`"));
                if item.get("name").is_none() {
                    r.error(&item.position, "a queue needs a `name`");
                }
                let durable = item.get("durable").and_then(|n| r.bool(n, "`durable`")).unwrap_or(true);
                let arguments = item
                    .get("arguments")
                    .map(|n| read_queue_arguments(r, n))
                    .unwrap_or_default();
                name.map(|name| Queue {
                    name,
                    durable,
                    arguments,
                })
            }
            _ => {
                r.error(&item.position, "a queue must be a name or a mapping");
                None
            }
        };
        let Some(queue) = queue else { continue };
        for rule in never_accepted(&queue) {
            r.push(Diagnostic::at(&item.position, format!("queue `{}`: {rule}", queue.name)).with_hint(QUORUM_HINT));
        }
        if refuses_4_3 {
            for rule in refused_since_4_3(&queue) {
                r.push(
                    Diagnostic::at(&item.position, format!("queue `{}`: {}", queue.name, rule.text))
                        .with_hint(rule.hint),
                );
            }
        }
        if queues.iter().any(|q| q.name == queue.name) {
            r.error(&item.position, format!("queue `{}` is declared twice", queue.name));
        } else {
            queues.push(queue);
        }
    }
    queues
}

/// Bindings must name exchanges and queues declared here (or RabbitMQ's own `amq.*` exchanges).
fn read_bindings(r: &mut Reader, node: &Node, exchanges: &[Exchange], queues: &[Queue]) -> Vec<Binding> {
    let mut bindings = Vec::new();
    for item in r.list(node, "`bindings`") {
        let Some(fields) = r.mapping(item, "a binding") else {
            continue;
        };
        r.check_keys(fields, &BINDING_FIELDS);
        let exchange = item
            .get("exchange")
            .and_then(|n| r.non_empty_string(n, "binding `exchange`"));
        let queue = item.get("queue").and_then(|n| r.non_empty_string(n, "binding `queue`"));
        let routing_key = item
            .get("routing_key")
            .and_then(|n| r.string(n, "`routing_key`"))
            .unwrap_or_default();
        let (Some(exchange), Some(queue)) = (exchange, queue) else {
            r.error(&item.position, "a binding needs `exchange` and `queue`");
            continue;
        };
        if !exchange.starts_with("amq.") && !exchanges.iter().any(|e| e.name == exchange) {
            let hint = hint_for(&exchange, exchanges.iter().map(|e| e.name.as_str()), || {
                "declare it under `exchanges`".to_string()
            });
            r.push(
                Diagnostic::at(
                    &item.get("exchange").expect("read above").position,
                    format!("binding names exchange `{exchange}`, which is not declared"),
                )
                .with_hint(hint),
            );
        }
        if !queues.iter().any(|q| q.name == queue) {
            let hint = hint_for(&queue, queues.iter().map(|q| q.name.as_str()), || {
                "declare it under `queues`".to_string()
            });
            r.push(
                Diagnostic::at(
                    &item.get("queue").expect("read above").position,
                    format!("binding names queue `{queue}`, which is not declared"),
                )
                .with_hint(hint),
            );
        }
        bindings.push(Binding {
            exchange,
            queue,
            routing_key,
        });
    }
    bindings
}

/// Queue arguments keep their YAML type: `x-message-ttl: 60000` is a number to RabbitMQ.
fn read_queue_arguments(r: &mut Reader, node: &Node) -> BTreeMap<String, ArgumentValue> {
    let mut arguments = BTreeMap::new();
    let Some(entries) = r.mapping(node, "queue `arguments`") else {
        return arguments;
    };
    for (key, value) in entries {
        let argument = match &value.value {
            Value::Scalar { text, quoted: false } if text.parse::<i64>().is_ok() => {
                ArgumentValue::Integer(text.parse().unwrap_or_default())
            }
            Value::Scalar { text, quoted: false } if text == "true" || text == "false" => {
                ArgumentValue::Boolean(text == "true")
            }
            Value::Scalar { text, .. } => ArgumentValue::Text(text.clone()),
            _ => {
                r.error(
                    &value.position,
                    format!("queue argument `{}` must be a number, boolean or string", key.name),
                );
                continue;
            }
        };
        arguments.insert(key.name.clone(), argument);
    }
    arguments
}

/// A queue declaration RabbitMQ 4.3 refuses, and what to declare instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub text: &'static str,
    pub hint: &'static str,
}

const QUORUM_HINT: &str =
    "quorum queues have built-in priorities (RabbitMQ 4.0); drop `x-max-priority` or use a classic queue";

/// What RabbitMQ 4.3 refuses in `queue`'s declaration (release notes 4.3.0;
/// docs/images.md). Since 4.3 the broker answers these with INTERNAL_ERROR,
/// which closes the whole connection. flowinfra never declares a queue
/// exclusive, so a non-durable queue is a transient non-exclusive one.
pub(crate) fn refused_since_4_3(queue: &Queue) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    if !queue.durable {
        refusals.push(Refusal {
            text: "RabbitMQ 4.3 refuses a non-durable, non-exclusive queue (deprecated feature `transient_nonexcl_queues`)",
            hint: "declare it `durable: true` (the default)",
        });
    }
    if queue.arguments.contains_key("x-queue-master-locator") {
        refusals.push(Refusal {
            text: "RabbitMQ 4.3 refuses `x-queue-master-locator`",
            hint: "use `x-queue-leader-locator` (client-local or balanced)",
        });
    }
    if queue.arguments.contains_key("x-queue-mode") {
        refusals.push(Refusal {
            text: "RabbitMQ 4.3 refuses `x-queue-mode` (classic queue version 1, and lazy mode with it, is gone)",
            hint: "remove `x-queue-mode`: classic queues keep messages on disk on their own since 3.12",
        });
    }
    let version_1 = match queue.arguments.get("x-queue-version") {
        Some(ArgumentValue::Integer(1)) => true,
        Some(ArgumentValue::Text(text)) => text == "1",
        _ => false,
    };
    if version_1 {
        refusals.push(Refusal {
            text: "RabbitMQ 4.3 refuses `x-queue-version: 1` (classic queue version 1 is gone)",
            hint: "remove `x-queue-version` or set it to 2",
        });
    }
    refusals
}

/// What no RabbitMQ accepts, whatever its version: a quorum queue with
/// `x-max-priority` is refused with PRECONDITION_FAILED (invalid arg).
pub(crate) fn never_accepted(queue: &Queue) -> Vec<&'static str> {
    let quorum = queue.arguments.get("x-queue-type") == Some(&ArgumentValue::Text("quorum".into()));
    if quorum && queue.arguments.contains_key("x-max-priority") {
        vec!["a quorum queue takes no `x-max-priority` (RabbitMQ refuses it with PRECONDITION_FAILED)"]
    } else {
        Vec::new()
    }
}

/// Whether `image` is a RabbitMQ 4.3 or newer by its tag: `4.3-management`,
/// `4.3.5`, `4.4-alpine`, `5`; also `4` and `4-management`, which follow the
/// newest 4.x minor (4.3 on 2026-12-05). Any other tag (`latest`, a local
/// build's `test`, `3.13`, `4.1`) is not known to refuse: `up` warns instead.
pub(crate) fn refuses_what_4_3_refuses(image: &str) -> bool {
    let (_, tag) = crate::image_lifecycle::repository_and_tag(image);
    let version = tag.split('-').next().unwrap_or_default();
    let mut parts = version.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), None) => major >= 4,
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= (4, 3),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(durable: bool, arguments: &[(&str, ArgumentValue)]) -> Queue {
        Queue {
            name: "jobs".into(),
            durable,
            arguments: arguments.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn versions_that_refuse_are_read_from_the_tag() {
        for image in [
            "rabbitmq:4.3-management",
            "rabbitmq:4.3.5",
            "rabbitmq:4.4-management-alpine",
            "rabbitmq:4",
            "rabbitmq:4-management",
            "rabbitmq:5.0",
        ] {
            assert!(refuses_what_4_3_refuses(image), "{image}");
        }
        for image in [
            "rabbitmq:4.1-management",
            "rabbitmq:3.12-management",
            "rabbitmq",
            "rabbitmq:latest",
            "flowinfra-standin/rabbitmq:test",
            "rabbitmq:management",
        ] {
            assert!(!refuses_what_4_3_refuses(image), "{image}");
        }
    }

    #[test]
    fn each_refused_declaration_is_named() {
        assert!(refused_since_4_3(&queue(true, &[])).is_empty());
        let transient = refused_since_4_3(&queue(false, &[]));
        assert_eq!(transient.len(), 1);
        assert!(transient[0].text.contains("non-durable, non-exclusive"));
        let text = |value: &str| ArgumentValue::Text(value.into());
        let arguments = [
            ("x-queue-master-locator", text("min-masters")),
            ("x-queue-mode", text("lazy")),
            ("x-queue-version", ArgumentValue::Integer(1)),
        ];
        let refusals: Vec<&str> = refused_since_4_3(&queue(true, &arguments))
            .iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(refusals.len(), 3, "{refusals:?}");
        assert!(refusals[0].contains("x-queue-master-locator"));
        assert!(refusals[1].contains("x-queue-mode"));
        assert!(refusals[2].contains("x-queue-version: 1"));
        let version_2 = [("x-queue-version", ArgumentValue::Integer(2))];
        assert!(refused_since_4_3(&queue(true, &version_2)).is_empty());
    }

    #[test]
    fn a_quorum_queue_with_a_priority_is_never_accepted() {
        let quorum = ("x-queue-type", ArgumentValue::Text("quorum".into()));
        let priority = ("x-max-priority", ArgumentValue::Integer(5));
        assert_eq!(
            never_accepted(&queue(true, &[quorum.clone(), priority.clone()])).len(),
            1
        );
        assert!(never_accepted(&queue(true, &[quorum])).is_empty());
        assert!(never_accepted(&queue(true, &[priority])).is_empty());
    }
}
