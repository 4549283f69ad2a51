//! Connection settings for the services that consume this infrastructure
//! (`flowinfra env`), derived from the resolved spec. Pure.
//!
//! Names follow the reference services' own variables (`DATABASE_URL`,
//! `RABBITMQ_HOST`, `REDIS_PASSWORD`, …). When a spec has two services of
//! one kind, each one's settings are prefixed with its service name.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::kinds::{self, Credentials};
use crate::spec::{Kind, KindSettings, Service, Spec};

/// Characters left as they are in URL user info; everything else is escaped.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Every setting, in a stable order.
pub fn settings(spec: &Spec) -> BTreeMap<String, String> {
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for service in spec.services.values() {
        if let Some(kind) = service.kind() {
            *counts.entry(kind).or_default() += 1;
        }
    }
    let mut all = BTreeMap::new();
    for service in spec.services.values() {
        let Some(kind) = service.kind() else { continue };
        let prefix = if counts[&kind] > 1 {
            format!("{}_", env_name(&service.name))
        } else {
            String::new()
        };
        for (name, value) in service_settings(service) {
            all.insert(format!("{prefix}{name}"), value);
        }
    }
    all
}

fn service_settings(service: &Service) -> Vec<(String, String)> {
    let (Some(credentials), Some(kind)) = (kinds::credentials(service), service.kind()) else {
        return Vec::new();
    };
    let (host, port) = match kinds::endpoint(service) {
        Some(endpoint) => (endpoint.host, endpoint.port.to_string()),
        // An ephemeral host port is only known once the container runs.
        None => ("127.0.0.1".to_string(), String::new()),
    };
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let enc = |text: &str| utf8_percent_encode(text, USERINFO).to_string();
    let mut out: Vec<(&str, String)> = Vec::new();
    match (kind, credentials) {
        (
            Kind::Mysql,
            Credentials::Mysql {
                user,
                password,
                database,
            },
        ) => {
            let tail = format!("{}:{}@{authority}/{}", enc(&user), enc(&password), enc(&database));
            out.push(("DATABASE_URL", format!("mysql://{tail}")));
            out.push(("DATABASE_URL_AIOMYSQL", format!("mysql+aiomysql://{tail}")));
            out.push(("DATABASE_URL_PYMYSQL", format!("mysql+pymysql://{tail}")));
            out.push(("MYSQL_HOST", host.clone()));
            out.push(("MYSQL_PORT", port.clone()));
            out.push(("MYSQL_DATABASE", database));
            out.push(("MYSQL_USER", user));
            out.push(("MYSQL_PASSWORD", password));
        }
        (Kind::Rabbitmq, Credentials::Rabbitmq { user, password, vhost }) => {
            out.push((
                "RABBITMQ_URL",
                format!("amqp://{}:{}@{authority}/{}", enc(&user), enc(&password), enc(&vhost)),
            ));
            out.push(("RABBITMQ_HOST", host.clone()));
            out.push(("RABBITMQ_PORT", port.clone()));
            out.push(("RABBITMQ_USER", user));
            out.push(("RABBITMQ_PASSWORD", password));
            out.push(("RABBITMQ_VHOST", vhost));
            if let Some(management) = service.published_port(15672).and_then(|p| p.host_port) {
                out.push(("RABBITMQ_MANAGEMENT_URL", format!("http://{host}:{management}")));
            }
            if let Some(KindSettings::Rabbitmq(settings)) = service.flowinfra.as_ref().map(|x| &x.settings) {
                let queues: Vec<&str> = settings.queues.iter().map(|q| q.name.as_str()).collect();
                if queues.len() == 1 {
                    out.push(("RABBITMQ_QUEUE", queues[0].to_string()));
                }
                if !queues.is_empty() {
                    out.push(("RABBITMQ_QUEUES", queues.join(",")));
                }
            }
        }
        (Kind::Redis, Credentials::Redis { password }) => {
            let database = match service.flowinfra.as_ref().map(|x| &x.settings) {
                Some(KindSettings::Redis(settings)) => settings.databases.first().copied().unwrap_or(0),
                _ => 0,
            };
            let auth = password.as_deref().map(|p| format!(":{}@", enc(p))).unwrap_or_default();
            out.push(("REDIS_URL", format!("redis://{auth}{authority}/{database}")));
            out.push(("REDIS_HOST", host.clone()));
            out.push(("REDIS_PORT", port.clone()));
            out.push(("REDIS_PASSWORD", password.unwrap_or_default()));
            out.push(("REDIS_DB", database.to_string()));
        }
        (
            Kind::S3,
            Credentials::S3 {
                access_key,
                secret_key,
                region,
            },
        ) => {
            out.push(("S3_ENDPOINT_URL", format!("http://{authority}")));
            out.push(("MINIO_ENDPOINT", authority.clone()));
            out.push(("AWS_ACCESS_KEY_ID", access_key.clone()));
            out.push(("AWS_SECRET_ACCESS_KEY", secret_key.clone()));
            out.push(("MINIO_ACCESS_KEY", access_key));
            out.push(("MINIO_SECRET_KEY", secret_key));
            out.push(("AWS_REGION", region));
            if let Some(KindSettings::S3(settings)) = service.flowinfra.as_ref().map(|x| &x.settings)
                && !settings.buckets.is_empty()
            {
                out.push((
                    "S3_BUCKETS",
                    settings
                        .buckets
                        .iter()
                        .map(|b| b.name.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ));
            }
        }
        _ => {}
    }
    out.into_iter().map(|(name, value)| (name.to_string(), value)).collect()
}

fn env_name(service: &str) -> String {
    service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `KEY=value` lines, quoting values a dotenv parser would otherwise misread.
pub fn to_dotenv(settings: &BTreeMap<String, String>) -> String {
    settings
        .iter()
        .map(|(name, value)| {
            if value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:/@%+,".contains(c))
            {
                format!("{name}={value}")
            } else {
                format!("{name}='{}'", value.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `export KEY='value'` lines for `eval "$(flowinfra env --format shell)"`.
pub fn to_shell(settings: &BTreeMap<String, String>) -> String {
    settings
        .iter()
        .map(|(name, value)| format!("export {name}='{}'", value.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        let settings = BTreeMap::from([("A".to_string(), "it's".to_string())]);
        assert_eq!(to_shell(&settings), "export A='it'\\''s'");
        assert_eq!(to_dotenv(&settings), "A='it'\\''s'");
    }

    #[test]
    fn plain_values_stay_unquoted_in_dotenv() {
        let settings = BTreeMap::from([("URL".to_string(), "mysql://u:p@127.0.0.1:3306/db".to_string())]);
        assert_eq!(to_dotenv(&settings), "URL=mysql://u:p@127.0.0.1:3306/db");
    }
}
