//! The RabbitMQ kind. Credentials: `RABBITMQ_DEFAULT_USER`/`_PASS` (the
//! image's `guest`/`guest` when unset) on the `x-flowinfra` vhost.
//! Readiness: an AMQP connection opens a channel. Provisioning: the spec's
//! exchanges, queues and bindings ([`topology`]); `check` verifies that the
//! exchanges and queues exist.

mod topology;

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::vocabulary::url_encode;
use super::{
    ConsumerAddress, Credentials, Endpoint, KindPlugin, ProbeError, ProbeSuccess, ProvisionError, Target, Verdict,
    Verification, published_endpoint, variable, wrong_credentials,
};
use crate::events::{Event, EventSink};
use crate::spec::kinds::rabbitmq::refused_since_4_3;
use crate::spec::{Kind, KindSettings, RabbitmqSettings, Service};

/// RabbitMQ's management API (HTTP) port inside the container.
pub const RABBITMQ_MANAGEMENT_PORT: u16 = 15672;

/// The RabbitMQ kind, as registered in [`super::PLUGINS`].
pub(super) struct Rabbitmq;

impl KindPlugin for Rabbitmq {
    fn kind(&self) -> Kind {
        Kind::Rabbitmq
    }

    fn credentials(&self, service: &Service) -> Option<Credentials> {
        Some(Credentials::Rabbitmq {
            user: variable(service, "RABBITMQ_DEFAULT_USER").unwrap_or_else(|| "guest".into()),
            password: variable(service, "RABBITMQ_DEFAULT_PASS").unwrap_or_else(|| "guest".into()),
            vhost: settings(service)?.vhost.clone(),
        })
    }

    fn probe<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        credentials: &'a Credentials,
        _attempt_timeout: Duration,
    ) -> BoxFuture<'a, Result<ProbeSuccess, ProbeError>> {
        let login = login(credentials);
        Box::pin(async move { topology::probe(endpoint, &login).await })
    }

    fn provision<'a>(
        &'a self,
        target: &'a Target<'a>,
        events: &'a dyn EventSink,
    ) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move {
            let Some(settings) = settings(target.service) else {
                return Ok(());
            };
            if settings.exchanges.is_empty() && settings.queues.is_empty() && settings.bindings.is_empty() {
                return Ok(());
            }
            // A 4.3+ image had these refused by validation already; for an
            // image whose version flowinfra cannot tell, say what 4.3 refuses.
            for queue in &settings.queues {
                for rule in refused_since_4_3(queue) {
                    events.emit(Event::Warning {
                        service: target.service.name.clone(),
                        text: format!(
                            "queue `{}`: {} ({}); declared anyway, as this image's version is not known to be 4.3+",
                            queue.name, rule.text, rule.hint
                        ),
                    });
                }
            }
            let management = published_endpoint(target.published, RABBITMQ_MANAGEMENT_PORT);
            let report = topology::declare(
                &target.endpoint,
                management.as_ref(),
                &login(&target.credentials),
                settings,
            )
            .await?;
            events.emit(Event::Provisioned {
                service: target.service.name.clone(),
                report,
            });
            Ok(())
        })
    }

    fn verifications(&self, target: &Target<'_>) -> Vec<Verification> {
        let settings = settings(target.service).cloned().unwrap_or_default();
        let endpoint = target.endpoint.clone();
        let credentials = target.credentials.clone();
        let body = async move {
            if settings.exchanges.is_empty() && settings.queues.is_empty() {
                return Verdict::skipped("nothing declared");
            }
            let missing = match topology::missing(&endpoint, &login(&credentials), &settings).await {
                Ok(missing) => missing,
                Err(err) => return Verdict::fail(err.to_string()),
            };
            if missing.is_empty() {
                let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
                let what = match settings.exchanges.len() {
                    0 => count(settings.queues.len(), "queue"),
                    n => format!("{}, {}", count(n, "exchange"), count(settings.queues.len(), "queue")),
                };
                Verdict::ok(format!("{what} present"))
            } else {
                let missing: Vec<String> = missing.into_iter().map(|m| format!("{m} is missing")).collect();
                Verdict::fail(missing.join("; "))
            }
        };
        vec![Verification::new("queues", body)]
    }

    fn consumer_settings(
        &self,
        service: &Service,
        credentials: Credentials,
        address: &ConsumerAddress,
    ) -> Vec<(&'static str, String)> {
        let Credentials::Rabbitmq { user, password, vhost } = credentials else {
            wrong_credentials(self.kind(), &credentials)
        };
        let mut out = vec![
            (
                "RABBITMQ_URL",
                format!(
                    "amqp://{}:{}@{}/{}",
                    url_encode(&user),
                    url_encode(&password),
                    address.authority,
                    url_encode(&vhost)
                ),
            ),
            ("RABBITMQ_HOST", address.host.clone()),
            ("RABBITMQ_PORT", address.port.clone()),
            ("RABBITMQ_USER", user),
            ("RABBITMQ_PASSWORD", password),
            ("RABBITMQ_VHOST", vhost),
        ];
        if let Some(management) = service
            .published_port(RABBITMQ_MANAGEMENT_PORT)
            .and_then(|p| p.host_port)
        {
            out.push((
                "RABBITMQ_MANAGEMENT_URL",
                format!("http://{}:{management}", address.host),
            ));
        }
        if let Some(settings) = settings(service) {
            let queues: Vec<&str> = settings.queues.iter().map(|q| q.name.as_str()).collect();
            if queues.len() == 1 {
                out.push(("RABBITMQ_QUEUE", queues[0].to_string()));
            }
            if !queues.is_empty() {
                out.push(("RABBITMQ_QUEUES", queues.join(",")));
            }
        }
        out
    }
}

fn settings(service: &Service) -> Option<&RabbitmqSettings> {
    match service.flowinfra.as_ref()?.settings.as_ref()? {
        KindSettings::Rabbitmq(settings) => Some(settings),
        _ => None,
    }
}

/// Who to log in as, borrowed from the service's credentials.
fn login(credentials: &Credentials) -> topology::Login<'_> {
    let Credentials::Rabbitmq { user, password, vhost } = credentials else {
        wrong_credentials(Kind::Rabbitmq, credentials)
    };
    topology::Login { user, password, vhost }
}
