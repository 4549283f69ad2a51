//! RabbitMQ readiness: an AMQP 0-9-1 connection with the spec's credentials
//! on its vhost opens a channel. The only module that imports lapin.
//!
//! The management listener comes up before AMQP, so only AMQP says the
//! broker is ready for the services that use it.

use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::uri::{AMQPAuthority, AMQPUri, AMQPUserInfo};
use lapin::{Connection, ConnectionProperties, ErrorKind};

use super::{Endpoint, ProbeError, ProbeSuccess, describe};

/// One attempt: connect (protocol header, SASL PLAIN, tune, open the vhost),
/// open a channel, close. lapin has no connect timeout of its own: the
/// caller bounds the attempt.
pub(super) async fn probe(
    endpoint: &Endpoint,
    user: &str,
    password: &str,
    vhost: &str,
) -> Result<ProbeSuccess, ProbeError> {
    let connection = Connection::connect_uri(
        amqp_uri(endpoint, user, password, vhost),
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
    ProbeError::NotReady(describe(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
