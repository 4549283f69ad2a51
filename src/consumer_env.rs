//! Connection settings for the services that consume this infrastructure
//! (`flowinfra env`), derived from the resolved spec. Pure.
//!
//! Names follow the reference services' own variables (`DATABASE_URL`,
//! `RABBITMQ_HOST`, `REDIS_PASSWORD`, …); each kind names its own
//! ([`crate::kinds::consumer_settings`]). When a spec has two services of
//! one kind, each one's settings are prefixed with its service name.

use std::collections::BTreeMap;

use crate::spec::{Kind, Spec};

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
        for (name, value) in crate::kinds::consumer_settings(service) {
            all.insert(format!("{prefix}{name}"), value);
        }
    }
    all
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
