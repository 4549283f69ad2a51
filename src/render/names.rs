//! Kubernetes names and labels derived from the project and its services.
//! Compose names allow `_`, `.` and capitals; Kubernetes objects want
//! lowercase DNS labels, and Services (whose names become the DNS names
//! other pods use) must also start with a letter.

use std::collections::BTreeMap;

/// The longest DNS label (RFC 1123), the limit of namespace and Service names.
const MAX_LABEL: usize = 63;

/// `text` as a DNS label: lowercase, every other character a `-`, no `-` at
/// either end, at most 63 characters. May be empty or start with a digit:
/// [`is_dns_1035_label`] tells whether a Service may carry it.
pub fn dns_label(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    let mut label: String = trimmed.chars().take(MAX_LABEL).collect();
    while label.ends_with('-') {
        label.pop();
    }
    label
}

/// What a Service name must be: a DNS label that starts with a letter.
pub fn is_dns_1035_label(name: &str) -> bool {
    name.len() <= MAX_LABEL
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The labels of every object rendered for `service` (or for the project
/// as a whole when `service` is `None`).
pub fn labels(project: &str, service: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("app.kubernetes.io/part-of".to_string(), label_value(project)),
        ("app.kubernetes.io/managed-by".to_string(), "flowinfra".to_string()),
        ("io.flowinfra.project".to_string(), label_value(project)),
    ]);
    if let Some(service) = service {
        labels.insert("app.kubernetes.io/name".into(), label_value(service));
        labels.insert("io.flowinfra.service".into(), label_value(service));
    }
    labels
}

/// The labels that select `service`'s pods: project and service, the two
/// that never change for a service (a selector is immutable once applied).
pub fn selector(project: &str, service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("io.flowinfra.project".to_string(), label_value(project)),
        ("io.flowinfra.service".to_string(), label_value(service)),
    ])
}

/// A label value: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut value: String = trimmed.chars().take(MAX_LABEL).collect();
    while value.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        value.pop();
    }
    value
}

/// An environment variable name made of `text`: uppercase letters, digits and `_`.
pub fn variable_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_names_become_dns_labels() {
        assert_eq!(dns_label("mysql"), "mysql");
        assert_eq!(dns_label("My_DB.primary"), "my-db-primary");
        assert_eq!(dns_label("-x-"), "x");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn a_service_name_must_start_with_a_letter() {
        assert!(is_dns_1035_label("postgres-auth"));
        assert!(!is_dns_1035_label("1db"));
        assert!(!is_dns_1035_label("db_1"));
        assert!(!is_dns_1035_label(""));
    }

    #[test]
    fn every_object_carries_the_project_and_service_labels() {
        let labels = labels("flowlite", Some("mysql"));
        assert_eq!(labels["app.kubernetes.io/name"], "mysql");
        assert_eq!(labels["app.kubernetes.io/part-of"], "flowlite");
        assert_eq!(labels["io.flowinfra.project"], "flowlite");
        assert_eq!(labels["io.flowinfra.service"], "mysql");
        assert_eq!(selector("flowlite", "mysql").len(), 2);
    }

    #[test]
    fn variable_names_are_upper_snake_case() {
        assert_eq!(variable_name("postgres-auth"), "POSTGRES_AUTH");
        assert_eq!(variable_name("requirepass"), "REQUIREPASS");
        assert_eq!(variable_name("1x"), "_1X");
    }
}
