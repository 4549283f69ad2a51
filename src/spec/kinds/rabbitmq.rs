//! `kind: rabbitmq`: the vhost, exchanges, queues and bindings to declare.

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

fn read_settings(r: &mut Reader, node: &Node, _: &SettingsContext<'_>) -> KindSettings {
    let vhost = node
        .get("vhost")
        .and_then(|n| r.non_empty_string(n, "`vhost`"))
        .unwrap_or_else(|| "/".into());
    let exchanges = node.get("exchanges").map(|n| read_exchanges(r, n)).unwrap_or_default();
    let queues = node.get("queues").map(|n| read_queues(r, n)).unwrap_or_default();
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

fn read_queues(r: &mut Reader, node: &Node) -> Vec<Queue> {
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
