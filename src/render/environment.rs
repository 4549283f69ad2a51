//! A service's environment and arguments as Kubernetes carries them:
//! entries whose names mark them secret (the rules of
//! [`redact::is_secret_name`], the same that keep them out of `config`) go to
//! a Secret, the others to a ConfigMap, and secret values inside `command`
//! or `entrypoint` (`--requirepass …`) move to the Secret too, the argument
//! becoming a `$(KEY)` reference that the kubelet expands from the
//! container's environment.

use std::collections::BTreeMap;

use super::names::variable_name;
use crate::spec::{Service, redact};

/// Where a value the manifests need comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// A key of the service's ConfigMap.
    Config(String),
    /// A key of the service's Secret.
    Secret(String),
    /// Written as it is (a default the image applies, such as RabbitMQ's `guest`).
    Literal(String),
}

/// A service's environment split for Kubernetes, with its arguments
/// rewritten to reference the secrets they held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceEnvironment {
    pub config: BTreeMap<String, String>,
    pub secret: BTreeMap<String, String>,
    /// `command` (Kubernetes `args`), secrets as `$(KEY)`, `$` escaped.
    pub args: Option<Vec<String>>,
    /// `entrypoint` (Kubernetes `command`), likewise.
    pub command: Option<Vec<String>>,
    /// Secret keys that came out of arguments rather than `environment`.
    pub argument_secrets: Vec<String>,
}

impl ServiceEnvironment {
    pub fn of(service: &Service) -> Self {
        let mut environment = ServiceEnvironment::default();
        for (name, value) in &service.environment {
            if redact::is_secret_name(name) {
                environment.secret.insert(name.clone(), value.clone());
            } else {
                environment.config.insert(name.clone(), value.clone());
            }
        }
        environment.command = service
            .entrypoint
            .as_ref()
            .map(|arguments| environment.arguments_referencing_secrets(arguments));
        environment.args = service
            .command
            .as_ref()
            .map(|arguments| environment.arguments_referencing_secrets(arguments));
        environment
    }

    /// Where `value` is found: the environment entry holding exactly it
    /// (a secret one first), else a literal.
    pub fn source_of(&self, value: &str) -> ValueSource {
        if let Some((key, _)) = self.secret.iter().find(|(_, v)| *v == value) {
            return ValueSource::Secret(key.clone());
        }
        if let Some((key, _)) = self.config.iter().find(|(_, v)| *v == value) {
            return ValueSource::Config(key.clone());
        }
        ValueSource::Literal(value.to_string())
    }

    /// `arguments` with each secret part replaced by `$(KEY)` (the value
    /// stored under KEY in the Secret), and every other `$` doubled so the
    /// kubelet's expansion leaves it as it was.
    fn arguments_referencing_secrets(&mut self, arguments: &[String]) -> Vec<String> {
        let redacted = redact::redact_arguments(arguments);
        let mut rewritten = Vec::with_capacity(arguments.len());
        for (index, (original, hidden)) in arguments.iter().zip(&redacted).enumerate() {
            if original == hidden {
                rewritten.push(escape_dollars(original));
                continue;
            }
            let previous = index.checked_sub(1).map(|i| arguments[i].as_str());
            let split = hidden
                .split_once(redact::REDACTED)
                .filter(|(_, after)| !after.contains(redact::REDACTED))
                .and_then(|(before, after)| {
                    let secret = original.strip_prefix(before)?.strip_suffix(after)?;
                    Some((before, secret, after))
                });
            match split {
                Some((before, secret, after)) => {
                    let key = self.secret_key(&key_hint(before, previous), secret);
                    rewritten.push(format!("{}$({key}){}", escape_dollars(before), escape_dollars(after)));
                }
                // Several secrets in one argument (a shell line): the whole argument is the secret.
                None => {
                    let key = self.secret_key(&format!("ARGUMENT_{index}"), original);
                    rewritten.push(format!("$({key})"));
                }
            }
        }
        rewritten
    }

    /// The Secret key holding `value`: an existing entry with that value,
    /// else a new key named after `hint`, suffixed when taken.
    fn secret_key(&mut self, hint: &str, value: &str) -> String {
        if let ValueSource::Secret(key) = self.source_of(value) {
            return key;
        }
        let base = variable_name(hint);
        let mut key = base.clone();
        let mut suffix = 2;
        while self.secret.contains_key(&key) || self.config.contains_key(&key) {
            key = format!("{base}_{suffix}");
            suffix += 1;
        }
        self.secret.insert(key.clone(), value.to_string());
        self.argument_secrets.push(key.clone());
        key
    }
}

/// A key name for a secret argument: the flag it belongs to (`--requirepass x`,
/// `--password=x`, `PASSWORD=x`), else `URL_PASSWORD` for credentials in a URL.
fn key_hint(before: &str, previous: Option<&str>) -> String {
    let flag = if before.is_empty() {
        previous.unwrap_or("")
    } else {
        before
    };
    let name = flag.trim_start_matches('-').trim_end_matches('=');
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        name.to_string()
    } else {
        "URL_PASSWORD".to_string()
    }
}

/// `$` doubled: Kubernetes turns `$$` into `$` and `$(NAME)` into a variable.
pub fn escape_dollars(text: &str) -> String {
    text.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::service;

    #[test]
    fn secret_names_go_to_the_secret_and_the_rest_to_the_config_map() {
        let minio = service(
            "services:\n  s3:\n    image: minio/minio\n    environment:\n      MINIO_ROOT_USER: admin\n      \
             MINIO_ROOT_PASSWORD: s3cret\n      API_KEY: k\n      TZ: UTC\n",
        );
        let environment = ServiceEnvironment::of(&minio);
        assert_eq!(environment.config.keys().collect::<Vec<_>>(), ["MINIO_ROOT_USER", "TZ"]);
        assert_eq!(
            environment.secret.keys().collect::<Vec<_>>(),
            ["API_KEY", "MINIO_ROOT_PASSWORD"]
        );
        assert_eq!(
            environment.source_of("s3cret"),
            ValueSource::Secret("MINIO_ROOT_PASSWORD".into())
        );
        assert_eq!(
            environment.source_of("admin"),
            ValueSource::Config("MINIO_ROOT_USER".into())
        );
        assert_eq!(environment.source_of("guest"), ValueSource::Literal("guest".into()));
    }

    #[test]
    fn a_secret_flag_value_moves_to_the_secret_and_the_argument_references_it() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    command: redis-server --requirepass s3cret --appendonly yes\n",
        );
        let environment = ServiceEnvironment::of(&redis);
        assert_eq!(
            environment.args.unwrap(),
            ["redis-server", "--requirepass", "$(REQUIREPASS)", "--appendonly", "yes"]
        );
        assert_eq!(environment.secret["REQUIREPASS"], "s3cret");
        assert_eq!(environment.argument_secrets, ["REQUIREPASS"]);
    }

    #[test]
    fn flag_equals_and_url_secrets_keep_the_rest_of_the_argument() {
        let app = service(
            "services:\n  app:\n    image: app\n    command: [\"run\", \"--password=p1\", \"mysql://u:p2@db/x\"]\n",
        );
        let environment = ServiceEnvironment::of(&app);
        assert_eq!(
            environment.args.unwrap(),
            ["run", "--password=$(PASSWORD)", "mysql://u:$(URL_PASSWORD)@db/x"]
        );
    }

    #[test]
    fn a_dollar_in_an_argument_survives_the_kubelets_expansion() {
        let app = service("services:\n  app:\n    image: app\n    command: [\"echo\", \"$$(HOME) $$x\"]\n");
        assert_eq!(ServiceEnvironment::of(&app).args.unwrap(), ["echo", "$$(HOME) $$x"]);
    }

    #[test]
    fn a_secret_that_is_also_an_environment_value_reuses_its_key() {
        let redis = service(
            "services:\n  cache:\n    image: redis:7\n    environment:\n      REDIS_PASSWORD: s3cret\n    \
             command: redis-server --requirepass s3cret\n",
        );
        let environment = ServiceEnvironment::of(&redis);
        assert_eq!(environment.args.unwrap()[2], "$(REDIS_PASSWORD)");
        assert!(environment.argument_secrets.is_empty());
    }
}
