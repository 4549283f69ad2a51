//! RabbitMQ over its protocols: readiness — an AMQP 0-9-1 connection with
//! the spec's credentials on its vhost opens a channel — and provisioning —
//! the spec's exchanges, queues and bindings declared over AMQP. The only
//! module that imports lapin, and the only user of the management API
//! (HTTP, reqwest).
//!
//! The management listener comes up before AMQP, so only AMQP says the
//! broker is ready for the services that use it.
//!
//! Declarations are idempotent: RabbitMQ accepts a declaration equal to what
//! exists. One that differs (a queue's arguments, an exchange's type) is
//! refused with PRECONDITION_FAILED, which also closes the channel; the
//! refusal is reported with both sides (the existing queue read from the
//! management API when the container publishes it) and the remaining
//! declarations go on over a fresh channel. Nothing is ever deleted.

use std::collections::BTreeMap;
use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::{AMQPAuthority, AMQPUri, AMQPUserInfo};
use lapin::{Channel, Connection, ConnectionProperties, ErrorKind, ExchangeKind};
use serde_json::Value;

use super::RABBITMQ_MANAGEMENT_PORT;
use crate::error::error_chain;
use crate::kinds::vocabulary::{Endpoint, ProbeError, ProbeSuccess, ProvisionError, ProvisionReport};
use crate::spec::kinds::rabbitmq::refused_since_4_3;
use crate::spec::{ArgumentValue, Exchange, ExchangeType, Queue, RabbitmqSettings};

/// The whole topology is declared within this; a healthy broker needs milliseconds.
const PROVISION_TIMEOUT: Duration = Duration::from_secs(60);
/// One management API request.
const MANAGEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// One attempt: connect (protocol header, SASL PLAIN, tune, open the vhost),
/// open a channel, close. lapin has no connect timeout of its own: the
/// caller bounds the attempt.
pub(super) async fn probe(endpoint: &Endpoint, login: &Login<'_>) -> Result<ProbeSuccess, ProbeError> {
    let connection = Connection::connect_uri(
        amqp_uri(endpoint, login.user, login.password, login.vhost),
        ConnectionProperties::default(),
    )
    .await
    .map_err(classify)?;
    let opened = connection.create_channel().await.map(drop).map_err(classify);
    // Close politely so the broker logs a normal close, not a dropped client.
    let _ = connection.close(200, "flowinfra readiness probe done".into()).await;
    opened?;
    Ok(ProbeSuccess {
        // lapin reads the broker's product and version in `connection.start`
        // but does not expose them.
        server_version: None,
    })
}

/// The URI as a struct, so user, password and vhost need no percent-encoding
/// and the password never sits in a string that an error could quote.
fn amqp_uri(endpoint: &Endpoint, user: &str, password: &str, vhost: &str) -> AMQPUri {
    AMQPUri {
        authority: AMQPAuthority {
            userinfo: AMQPUserInfo {
                username: user.to_string(),
                password: password.to_string(),
            },
            host: endpoint.host.clone(),
            port: endpoint.port,
        },
        vhost: vhost.to_string(),
        ..AMQPUri::default()
    }
}

/// ACCESS_REFUSED (403) is a login the broker rejected; NOT_ALLOWED (530) on
/// `connection.open` is a vhost that is missing or closed to this user.
/// Neither heals by waiting. Everything else — refused or reset sockets, a
/// handshake cut short, CONNECTION_FORCED during a restart — is "not yet".
fn classify(error: lapin::Error) -> ProbeError {
    if let ErrorKind::ProtocolError(amqp) = error.kind() {
        let message = amqp.get_message().to_string();
        return match amqp.kind() {
            AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED) | AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED) => {
                ProbeError::CredentialsRefused(message)
            }
            _ => ProbeError::NotReady(message),
        };
    }
    ProbeError::NotReady(error_chain(&error))
}

/// Who provisioning logs in as, and where.
pub(super) struct Login<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub vhost: &'a str,
}

/// Declares the spec's exchanges, then queues, then bindings on the login's
/// vhost. Every declaration is attempted; those refused are reported
/// together. `management` is where the management API is published, used
/// only to show an existing queue's arguments when they conflict.
pub(super) async fn declare(
    endpoint: &Endpoint,
    management: Option<&Endpoint>,
    login: &Login<'_>,
    settings: &RabbitmqSettings,
) -> Result<ProvisionReport, ProvisionError> {
    let declare = async {
        let connection = Connection::connect_uri(
            amqp_uri(endpoint, login.user, login.password, login.vhost),
            ConnectionProperties::default(),
        )
        .await
        .map_err(|error| connection_failure(error, endpoint))?;
        let outcome = declare_all(&connection, endpoint, management, login, settings).await;
        let _ = connection.close(200, "flowinfra provisioning done".into()).await;
        outcome
    };
    tokio::time::timeout(PROVISION_TIMEOUT, declare)
        .await
        .unwrap_or_else(|_| {
            Err(ProvisionError::Failed {
                what: format!("declaring the RabbitMQ topology at {endpoint}"),
                reason: format!("no answer within {}s", PROVISION_TIMEOUT.as_secs()),
            })
        })
}

/// What `check` verifies without changing anything: each declared exchange
/// and queue exists (passive declares). Returns what is missing.
pub(super) async fn missing(
    endpoint: &Endpoint,
    login: &Login<'_>,
    settings: &RabbitmqSettings,
) -> Result<Vec<String>, ProvisionError> {
    let connection = Connection::connect_uri(
        amqp_uri(endpoint, login.user, login.password, login.vhost),
        ConnectionProperties::default(),
    )
    .await
    .map_err(|error| connection_failure(error, endpoint))?;
    let mut channel = ReopeningChannel {
        connection: &connection,
        open: None,
    };
    let mut missing = Vec::new();
    for exchange in &settings.exchanges {
        let passive = ExchangeDeclareOptions {
            passive: true,
            ..ExchangeDeclareOptions::default()
        };
        let declared = channel
            .get(endpoint)
            .await?
            .exchange_declare(
                exchange.name.as_str().into(),
                exchange_kind(exchange.exchange_type),
                passive,
                FieldTable::default(),
            )
            .await;
        if declared.is_err() {
            channel.open = None;
            missing.push(format!("exchange `{}`", exchange.name));
        }
    }
    for queue in &settings.queues {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = channel
            .get(endpoint)
            .await?
            .queue_declare(queue.name.as_str().into(), passive, FieldTable::default())
            .await;
        if declared.is_err() {
            channel.open = None;
            missing.push(format!("queue `{}`", queue.name));
        }
    }
    let _ = connection.close(200, "flowinfra check done".into()).await;
    Ok(missing)
}

async fn declare_all(
    connection: &Connection,
    endpoint: &Endpoint,
    management: Option<&Endpoint>,
    login: &Login<'_>,
    settings: &RabbitmqSettings,
) -> Result<ProvisionReport, ProvisionError> {
    let mut channel = ReopeningChannel { connection, open: None };
    let mut failures = Vec::new();
    for exchange in &settings.exchanges {
        let outcome = channel
            .get(endpoint)
            .await?
            .exchange_declare(
                ShortString::from(exchange.name.as_str()),
                exchange_kind(exchange.exchange_type),
                ExchangeDeclareOptions {
                    durable: exchange.durable,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await;
        if let Err(error) = outcome {
            let failure = match precondition_failed(&error) {
                Some(broker) => exchange_conflict(&exchange.name, login.vhost, &describe_exchange(exchange), &broker),
                None => declaration_failure(format!("declaring exchange `{}`", exchange.name), &error),
            };
            channel.after_failure(failure, &mut failures)?;
        }
    }
    for queue in &settings.queues {
        let outcome = channel
            .get(endpoint)
            .await?
            .queue_declare(
                ShortString::from(queue.name.as_str()),
                QueueDeclareOptions {
                    durable: queue.durable,
                    ..QueueDeclareOptions::default()
                },
                queue_arguments(&queue.arguments),
            )
            .await;
        if let Err(error) = outcome {
            let failure = match precondition_failed(&error) {
                Some(broker) => QueueConflict {
                    queue: queue.name.clone(),
                    vhost: login.vhost.to_string(),
                    declared: describe_declared_queue(queue),
                    existing: existing_queue(management, login, &queue.name).await,
                    broker,
                }
                .into_error(),
                None => match internal_error(&error) {
                    Some(broker) => refused_by_4_x(queue, &broker),
                    None => declaration_failure(format!("declaring queue `{}`", queue.name), &error),
                },
            };
            channel.after_failure(failure, &mut failures)?;
        }
    }
    for binding in &settings.bindings {
        let outcome = channel
            .get(endpoint)
            .await?
            .queue_bind(
                ShortString::from(binding.queue.as_str()),
                ShortString::from(binding.exchange.as_str()),
                ShortString::from(binding.routing_key.as_str()),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await;
        if let Err(error) = outcome {
            let what = format!(
                "binding queue `{}` to exchange `{}` with routing key `{}`",
                binding.queue, binding.exchange, binding.routing_key
            );
            channel.after_failure(declaration_failure(what, &error), &mut failures)?;
        }
    }
    if !failures.is_empty() {
        return Err(all_of(failures));
    }
    Ok(ProvisionReport::Topology {
        vhost: login.vhost.to_string(),
        exchanges: settings.exchanges.len(),
        queues: settings.queues.len(),
        bindings: settings.bindings.len(),
    })
}

/// A declared queue that differs from the one RabbitMQ has.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueueConflict {
    queue: String,
    vhost: String,
    /// The declaration, e.g. `durable with {x-message-ttl: 30000}`.
    declared: String,
    /// The existing queue in the same words, as the management API
    /// describes it; or why it could not be read.
    existing: Result<String, String>,
    /// RabbitMQ's own reply text.
    broker: String,
}

impl QueueConflict {
    fn into_error(self) -> ProvisionError {
        let mut description = format!(
            "queue `{}` already exists with other arguments: declared {}, but the existing queue is ",
            self.queue, self.declared
        );
        match &self.existing {
            Ok(existing) => description.push_str(existing),
            Err(unknown) => description.push_str(&format!("different ({unknown})")),
        }
        description.push_str(&format!(" (RabbitMQ: {})", self.broker));
        ProvisionError::Conflict {
            description,
            hint: format!(
                "RabbitMQ cannot change the arguments of an existing queue, and flowinfra never deletes one: \
                 declare the existing arguments again, or delete the queue yourself (its messages are lost), \
                 e.g. `rabbitmqctl delete_queue -p {} {}` in its container, then run `flowinfra up` again; \
                 a RabbitMQ policy (`rabbitmqctl set_policy`) can change TTLs and limits of a live queue",
                self.vhost, self.queue
            ),
        }
    }
}

/// RabbitMQ refused an exchange declaration: it exists with another type or durability.
fn exchange_conflict(exchange: &str, vhost: &str, declared: &str, broker: &str) -> ProvisionError {
    ProvisionError::Conflict {
        description: format!(
            "exchange `{exchange}` already exists with other settings: declared {declared} (RabbitMQ: {broker})"
        ),
        hint: format!(
            "RabbitMQ cannot change an existing exchange, and flowinfra never deletes one: declare `{exchange}` \
             as it exists, or delete it yourself on vhost {vhost} (the management UI, or \
             `rabbitmqadmin -V {vhost} delete exchange name={exchange}`), then run `flowinfra up` again"
        ),
    }
}

/// One failure as itself, several as a list.
fn all_of(mut failures: Vec<ProvisionError>) -> ProvisionError {
    if failures.len() == 1 {
        failures.remove(0)
    } else {
        ProvisionError::Several(failures)
    }
}

/// The channel declarations go over. A refused declaration closes it (that
/// is AMQP's way of reporting a channel error): the next one opens a fresh
/// channel on the same connection.
struct ReopeningChannel<'a> {
    connection: &'a Connection,
    open: Option<Channel>,
}

impl ReopeningChannel<'_> {
    async fn get(&mut self, endpoint: &Endpoint) -> Result<&Channel, ProvisionError> {
        if !self.open.as_ref().is_some_and(|channel| channel.status().connected()) {
            let channel = self
                .connection
                .create_channel()
                .await
                .map_err(|error| connection_failure(error, endpoint))?;
            self.open = Some(channel);
        }
        Ok(self.open.as_ref().expect("a channel was just opened"))
    }

    /// Records a refused declaration and carries on, unless the connection
    /// itself went down with it: then nothing else can be declared, and
    /// what failed so far is the outcome.
    fn after_failure(
        &mut self,
        failure: ProvisionError,
        failures: &mut Vec<ProvisionError>,
    ) -> Result<(), ProvisionError> {
        self.open = None;
        failures.push(failure);
        if self.connection.status().connected() {
            Ok(())
        } else {
            Err(all_of(std::mem::take(failures)))
        }
    }
}

/// RabbitMQ's reply text when `error` is PRECONDITION_FAILED (406): the
/// object exists and differs from the declaration.
fn precondition_failed(error: &lapin::Error) -> Option<String> {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) if *amqp.kind() == AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED) => {
            Some(amqp.get_message().to_string())
        }
        _ => None,
    }
}

/// RabbitMQ's reply text when `error` is INTERNAL_ERROR (541), a
/// connection-level error: since 4.3 the broker answers a deprecated
/// declaration so, closing the connection.
fn internal_error(error: &lapin::Error) -> Option<String> {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) if *amqp.kind() == AMQPErrorKind::Hard(AMQPHardError::INTERNALERROR) => {
            Some(amqp.get_message().to_string())
        }
        _ => None,
    }
}

/// A queue declaration that closed the connection with INTERNAL_ERROR:
/// names the queue and the RabbitMQ 4.x rule it breaks (when the spec
/// shows one), with what to declare instead.
fn refused_by_4_x(queue: &Queue, broker: &str) -> ProvisionError {
    let rules = refused_since_4_3(queue);
    let description = format!(
        "RabbitMQ refused to declare queue `{}` and closed the connection (INTERNAL_ERROR: {broker})",
        queue.name
    );
    let hint = if rules.is_empty() {
        "RabbitMQ 4.3 refuses deprecated features with INTERNAL_ERROR (transient non-exclusive queues, \
         `x-queue-master-locator`, `x-queue-mode`); the broker's message above names the one"
            .to_string()
    } else {
        let named: Vec<String> = rules
            .iter()
            .map(|rule| format!("{}: {}", rule.text, rule.hint))
            .collect();
        named.join("; ")
    };
    ProvisionError::Conflict { description, hint }
}

/// Any other refusal: RabbitMQ's reply text when it gave one
/// (ACCESS_REFUSED for a name the user may not configure or a reserved
/// `amq.` name, NOT_FOUND for a binding to a missing exchange).
fn declaration_failure(what: String, error: &lapin::Error) -> ProvisionError {
    let reason = match error.kind() {
        ErrorKind::ProtocolError(amqp) => amqp.get_message().to_string(),
        _ => error_chain(error),
    };
    ProvisionError::Failed { what, reason }
}

/// Connecting or opening a channel failed: a refused login or vhost is
/// named as such (readiness let these credentials in moments ago, so it is
/// rare), anything else is reported with its cause.
fn connection_failure(error: lapin::Error, endpoint: &Endpoint) -> ProvisionError {
    match classify(error) {
        ProbeError::CredentialsRefused(reason) => ProvisionError::CredentialsRefused(reason),
        ProbeError::NotReady(reason) => ProvisionError::Failed {
            what: format!("connecting to RabbitMQ at {endpoint}"),
            reason,
        },
    }
}

fn exchange_kind(exchange_type: ExchangeType) -> ExchangeKind {
    match exchange_type {
        ExchangeType::Direct => ExchangeKind::Direct,
        ExchangeType::Fanout => ExchangeKind::Fanout,
        ExchangeType::Topic => ExchangeKind::Topic,
        ExchangeType::Headers => ExchangeKind::Headers,
    }
}

/// A queue's `arguments` as an AMQP field table. Integers that fit go as
/// 32-bit signed (`I`, what pika and most clients send), larger ones as
/// 64-bit (`l`); RabbitMQ compares arguments by value within the integer
/// class, so either matches a queue declared by another client. Strings are
/// long strings (`S`), as RabbitMQ requires for `x-dead-letter-exchange`,
/// `x-queue-type`, `x-overflow`...
fn queue_arguments(arguments: &BTreeMap<String, ArgumentValue>) -> FieldTable {
    let mut table = FieldTable::default();
    for (name, value) in arguments {
        let value = match value {
            ArgumentValue::Integer(number) => match i32::try_from(*number) {
                Ok(small) => AMQPValue::LongInt(small),
                Err(_) => AMQPValue::LongLongInt(*number),
            },
            ArgumentValue::Boolean(flag) => AMQPValue::Boolean(*flag),
            ArgumentValue::Text(text) => AMQPValue::LongString(LongString::from(text.as_str())),
        };
        table.insert(ShortString::from(name.as_str()), value);
    }
    table
}

fn describe_exchange(exchange: &Exchange) -> String {
    let durability = if exchange.durable { "durable" } else { "transient" };
    format!("a {durability} {} exchange", exchange.exchange_type.as_str())
}

fn describe_declared_queue(queue: &Queue) -> String {
    let arguments = queue
        .arguments
        .iter()
        .map(|(name, value)| {
            let value = serde_json::to_value(value).expect("an argument value serialises");
            (name.clone(), value)
        })
        .collect();
    describe_queue(queue.durable, false, false, &arguments)
}

/// `durable with {x-message-ttl: 60000, x-dead-letter-exchange: "dlx"}`,
/// `transient, auto-delete with no arguments`: the same words for what the
/// spec declares and what the management API reports, so the two read side
/// by side.
fn describe_queue(durable: bool, auto_delete: bool, exclusive: bool, arguments: &BTreeMap<String, Value>) -> String {
    let mut text = String::from(if durable { "durable" } else { "transient" });
    if auto_delete {
        text.push_str(", auto-delete");
    }
    if exclusive {
        text.push_str(", exclusive");
    }
    if arguments.is_empty() {
        text.push_str(" with no arguments");
    } else {
        let pairs: Vec<String> = arguments
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        text.push_str(&format!(" with {{{}}}", pairs.join(", ")));
    }
    text
}

/// The existing queue, described as [`describe_queue`] does, read from the
/// management API (`GET /api/queues/VHOST/NAME`); the reason it is unknown
/// otherwise.
async fn existing_queue(management: Option<&Endpoint>, login: &Login<'_>, queue: &str) -> Result<String, String> {
    let management = management.ok_or_else(|| {
        format!("its arguments could not be read: the management API port {RABBITMQ_MANAGEMENT_PORT} is not published")
    })?;
    let unreadable = |reason: String| format!("its arguments could not be read from the management API: {reason}");
    let url = queue_url(management, login.vhost, queue).map_err(unreadable)?;
    let client = reqwest::Client::builder()
        .timeout(MANAGEMENT_TIMEOUT)
        .build()
        .map_err(|error| unreadable(error_chain(&error)))?;
    let response = client
        .get(url)
        .basic_auth(login.user, Some(login.password))
        .send()
        .await
        .map_err(|error| unreadable(error_chain(&error)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(unreadable(format!("HTTP {status}")));
    }
    let body = response.text().await.map_err(|error| unreadable(error_chain(&error)))?;
    describe_management_queue(&body).ok_or_else(|| unreadable("the answer is not a queue".into()))
}

/// `http://HOST:PORT/api/queues/VHOST/NAME`, each segment percent-encoded
/// (the default vhost `/` becomes `%2F`).
fn queue_url(management: &Endpoint, vhost: &str, queue: &str) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(&format!("http://{}/api/queues", management.authority()))
        .map_err(|error| error.to_string())?;
    url.path_segments_mut()
        .map_err(|()| "the management address cannot carry a path".to_string())?
        .push(vhost)
        .push(queue);
    Ok(url)
}

/// A management API queue object, described as [`describe_queue`] does.
fn describe_management_queue(body: &str) -> Option<String> {
    let queue: Value = serde_json::from_str(body).ok()?;
    let flag = |name: &str| queue.get(name).and_then(Value::as_bool).unwrap_or(false);
    let arguments = match queue.get("arguments") {
        Some(Value::Object(arguments)) => arguments.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        // An empty table comes back as `[]` from some versions.
        Some(Value::Array(items)) if items.is_empty() => BTreeMap::new(),
        _ => return None,
    };
    Some(describe_queue(
        queue.get("durable")?.as_bool()?,
        flag("auto_delete"),
        flag("exclusive"),
        &arguments,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_on_a_transient_queue_names_the_queue_and_the_4_3_rule() {
        let queue = Queue {
            name: "scratch".into(),
            durable: false,
            arguments: BTreeMap::new(),
        };
        let broker = "INTERNAL_ERROR - Feature `transient_nonexcl_queues` is deprecated.";
        let error = refused_by_4_x(&queue, broker);
        assert_eq!(
            error.to_string(),
            format!("RabbitMQ refused to declare queue `scratch` and closed the connection (INTERNAL_ERROR: {broker})")
        );
        let hint = error.hint().expect("a hint");
        assert!(
            hint.contains("RabbitMQ 4.3 refuses a non-durable, non-exclusive queue"),
            "{hint}"
        );
        assert!(hint.contains("durable: true"), "{hint}");
    }

    #[test]
    fn a_queue_conflict_names_the_queue_and_both_argument_sets() {
        let error = QueueConflict {
            queue: "orders".into(),
            vhost: "/".into(),
            declared: "durable with {x-message-ttl: 30000}".into(),
            existing: Ok("durable with {x-message-ttl: 60000}".into()),
            broker: "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl'".into(),
        }
        .into_error();
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
        let error = QueueConflict {
            queue: "orders".into(),
            vhost: "/".into(),
            declared: "durable with no arguments".into(),
            existing: Err("the management API port 15672 is not published".into()),
            broker: "PRECONDITION_FAILED - inequivalent arg 'durable'".into(),
        }
        .into_error();
        assert!(
            error
                .to_string()
                .contains("but the existing queue is different (the management API port 15672 is not published)"),
            "{error}"
        );
    }

    #[test]
    fn an_exchange_conflict_names_both_sides_and_how_to_resolve_it() {
        let error = exchange_conflict("events", "orders", "a durable topic exchange", "PRECONDITION_FAILED");
        assert_eq!(
            error.to_string(),
            "exchange `events` already exists with other settings: declared a durable topic exchange \
             (RabbitMQ: PRECONDITION_FAILED)"
        );
        assert!(
            error
                .hint()
                .unwrap()
                .contains("rabbitmqadmin -V orders delete exchange name=events")
        );
    }

    #[test]
    fn several_failures_are_listed_one_per_line() {
        let failed = |what: &str| ProvisionError::Failed {
            what: what.into(),
            reason: "boom".into(),
        };
        let error = all_of(vec![failed("a"), failed("b")]);
        assert_eq!(
            error.to_string(),
            "2 declarations failed:\n  - a failed: boom\n  - b failed: boom"
        );
        assert_eq!(all_of(vec![failed("a")]).to_string(), "a failed: boom");
    }

    #[test]
    fn uri_carries_credentials_and_vhost_verbatim() {
        let endpoint = Endpoint {
            host: "::1".into(),
            port: 15672,
        };
        let uri = amqp_uri(&endpoint, "app@corp", "p/ss:w%rd", "/");
        assert_eq!(uri.authority.userinfo.username, "app@corp");
        assert_eq!(uri.authority.userinfo.password, "p/ss:w%rd");
        assert_eq!(uri.authority.host, "::1");
        assert_eq!(uri.authority.port, 15672);
        assert_eq!(uri.vhost, "/");
    }

    #[test]
    fn arguments_become_amqp_values_of_the_types_rabbitmq_checks() {
        let arguments = BTreeMap::from([
            ("x-message-ttl".to_string(), ArgumentValue::Integer(60_000)),
            ("x-max-length-bytes".to_string(), ArgumentValue::Integer(8_000_000_000)),
            ("x-single-active-consumer".to_string(), ArgumentValue::Boolean(true)),
            ("x-dead-letter-exchange".to_string(), ArgumentValue::Text("dlx".into())),
        ]);
        let table = queue_arguments(&arguments);
        let value = |name: &str| table.inner().get(&ShortString::from(name)).cloned();
        assert_eq!(value("x-message-ttl"), Some(AMQPValue::LongInt(60_000)));
        assert_eq!(value("x-max-length-bytes"), Some(AMQPValue::LongLongInt(8_000_000_000)));
        assert_eq!(value("x-single-active-consumer"), Some(AMQPValue::Boolean(true)));
        assert_eq!(
            value("x-dead-letter-exchange"),
            Some(AMQPValue::LongString(LongString::from("dlx")))
        );
        assert_eq!(table.inner().len(), 4);
        assert!(queue_arguments(&BTreeMap::new()).inner().is_empty());
    }

    #[test]
    fn declared_and_existing_queues_are_described_alike() {
        let declared = Queue {
            name: "orders".into(),
            durable: true,
            arguments: BTreeMap::from([
                ("x-message-ttl".to_string(), ArgumentValue::Integer(30_000)),
                ("x-dead-letter-exchange".to_string(), ArgumentValue::Text("dlx".into())),
            ]),
        };
        assert_eq!(
            describe_declared_queue(&declared),
            r#"durable with {x-dead-letter-exchange: "dlx", x-message-ttl: 30000}"#
        );
        let management = r#"{"name":"orders","vhost":"/","durable":true,"auto_delete":false,"exclusive":false,
            "arguments":{"x-message-ttl":60000,"x-dead-letter-exchange":"dlx"},"messages":3}"#;
        assert_eq!(
            describe_management_queue(management).as_deref(),
            Some(r#"durable with {x-dead-letter-exchange: "dlx", x-message-ttl: 60000}"#)
        );
        let transient = r#"{"durable":false,"auto_delete":true,"arguments":[]}"#;
        assert_eq!(
            describe_management_queue(transient).as_deref(),
            Some("transient, auto-delete with no arguments")
        );
        assert_eq!(describe_management_queue(r#"{"error":"Object Not Found"}"#), None);
    }

    #[test]
    fn the_queue_url_encodes_the_vhost_and_the_name() {
        let management = Endpoint {
            host: "127.0.0.1".into(),
            port: 15672,
        };
        assert_eq!(
            queue_url(&management, "/", "infractions.detected").unwrap().as_str(),
            "http://127.0.0.1:15672/api/queues/%2F/infractions.detected"
        );
        assert_eq!(
            queue_url(&management, "team/a", "a b#c").unwrap().as_str(),
            "http://127.0.0.1:15672/api/queues/team%2Fa/a%20b%23c"
        );
    }

    #[test]
    fn exchanges_are_described_by_durability_and_type() {
        let exchange = Exchange {
            name: "events".into(),
            exchange_type: ExchangeType::Topic,
            durable: true,
        };
        assert_eq!(describe_exchange(&exchange), "a durable topic exchange");
    }
}
