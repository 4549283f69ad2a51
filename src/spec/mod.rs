//! The stack spec: a Compose file with `x-flowinfra` extensions.
//!
//! Loading goes file by file: parse YAML into a tree that remembers where
//! every node came from ([`yaml`]), interpolate variables in scalar values
//! ([`interpolate`]), merge the files as Compose does ([`merge`]), then
//! validate the merged tree into the typed model ([`model`], [`validate`]).
//! Before merging, each file imports the models it names in `include`
//! ([`include`]) and applies its services' `extends` ([`extends`]), as
//! Compose v2 does. [`load`] drives this and, with those two, is the only
//! part that reads files; [`redact`] keeps secrets out of anything printed.
//!
//! Validation reads the tree through [`reader`] (typed reads with positions
//! and "did you mean", shared with the seed manifest), takes field names
//! from [`fields`] (which the README's tables are checked against), parses
//! value syntax with [`syntax`], and leaves each `x-flowinfra` kind to its
//! module under [`kinds`].

pub mod error;
mod extends;
pub mod fields;
mod include;
pub mod interpolate;
pub(crate) mod kinds;
pub mod load;
pub mod merge;
pub mod model;
pub mod reader;
pub mod redact;
pub mod syntax;
pub mod validate;
pub mod yaml;

pub use error::{Diagnostic, SpecError};
pub use load::{LoadOptions, Loaded, load};
pub use model::*;

impl Loaded {
    /// Every secret value known to this spec: variables and container
    /// environment entries whose names mark them as secret, the values
    /// of secret flags in commands (`redis-server --requirepass …`), and the
    /// contents of secrets read from variables.
    pub fn secret_values(&self) -> Vec<String> {
        let from_variables = self
            .variables
            .iter()
            .filter(|(name, _)| redact::is_secret_name(name))
            .map(|(_, v)| v.clone());
        let from_services = self
            .spec
            .services
            .values()
            .flat_map(|service| service.environment.iter())
            .filter(|(name, _)| redact::is_secret_name(name))
            .map(|(_, v)| v.clone());
        let from_arguments = self
            .spec
            .services
            .values()
            .flat_map(|service| service.command.iter().chain(service.entrypoint.iter()))
            .flat_map(|arguments| secret_arguments(arguments));
        // A secret's content from a variable is secret whatever the variable's name.
        let from_secrets = self
            .spec
            .secrets
            .values()
            .filter_map(|secret| secret.environment_value.clone());
        let mut values: Vec<String> = from_variables
            .chain(from_services)
            .chain(from_arguments)
            .chain(from_secrets)
            .filter(|v| !v.is_empty())
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// The spec as JSON with its secrets replaced by [`redact::REDACTED`]:
    /// values of secret-named fields (`MYSQL_PASSWORD`), secret flags in
    /// argument lists and command strings (`--requirepass x`, `-pX`), and
    /// passwords in URLs. Nothing else changes: a secret value that happens to
    /// occur inside another value (`mysql` in `image: mysql:8`) is not masked
    /// there, because masking must never alter a value that is not a secret.
    ///
    /// One exception knows the values: a known secret glued to a short flag
    /// (`mysqladmin -p${MYSQL_ROOT_PASSWORD}`) is masked as a whole word, since
    /// `-p` alone cannot say it takes a password.
    pub fn redacted_json(&self) -> serde_json::Value {
        let secrets = self.secret_values();
        let mut value = serde_json::to_value(&self.spec).expect("the spec model serialises");
        redact_json(&mut value, None, &secrets);
        value
    }
}

/// The secret parts of an argument list: what [`redact::redact_arguments`]
/// hides, recovered by comparing each argument with its redacted form.
fn secret_arguments(arguments: &[String]) -> Vec<String> {
    let redacted = redact::redact_arguments(arguments);
    arguments
        .iter()
        .zip(&redacted)
        .filter(|(original, redacted)| original != redacted)
        .filter_map(|(original, redacted)| {
            // One hidden part per argument: `--flag=********`, `NAME=********`,
            // `scheme://user:********@host`, or the whole argument.
            let (before, after) = redacted.split_once(redact::REDACTED)?;
            original
                .strip_prefix(before)
                .and_then(|rest| rest.strip_suffix(after))
                .map(str::to_string)
        })
        .collect()
}

/// `text` with every whitespace-separated word that is a short flag glued to
/// a known secret (`-psecret`) masked after the flag.
fn redact_glued_short_flags(text: &str, secrets: &[String]) -> String {
    let glued = |word: &str| {
        let mut characters = word.chars();
        characters.next() == Some('-')
            && characters.next().is_some_and(|c| c.is_ascii_alphabetic())
            && secrets.iter().any(|secret| !secret.is_empty() && &word[2..] == secret)
    };
    if !text.split_whitespace().any(glued) {
        return text.to_string();
    }
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        output.push_str(&rest[..start]);
        let word_end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |end| start + end);
        let word = &rest[start..word_end];
        if glued(word) {
            output.push_str(&word[..2]);
            output.push_str(redact::REDACTED);
        } else {
            output.push_str(word);
        }
        rest = &rest[word_end..];
    }
    output.push_str(rest);
    output
}

fn redact_json(value: &mut serde_json::Value, key: Option<&str>, secrets: &[String]) {
    match value {
        serde_json::Value::String(text) => {
            *text = match key {
                Some(name) if redact::is_secret_name(name) && !text.is_empty() => redact::REDACTED.to_string(),
                _ => redact_glued_short_flags(
                    &redact::redact_command_line(&redact::redact_url_credentials(text)),
                    secrets,
                ),
            };
        }
        serde_json::Value::Array(items) => {
            let texts: Option<Vec<String>> = items.iter().map(|item| item.as_str().map(str::to_string)).collect();
            if let Some(texts) = texts {
                // Argument lists (`command`) carry secrets as flag values.
                *items = redact::redact_arguments(&texts)
                    .into_iter()
                    .map(serde_json::Value::String)
                    .collect();
            }
            items.iter_mut().for_each(|item| redact_json(item, None, secrets));
        }
        serde_json::Value::Object(entries) => {
            for (name, item) in entries.iter_mut() {
                redact_json(item, Some(name), secrets);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::secret_arguments;

    fn arguments(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn secret_flag_values_are_found_in_every_form() {
        let found = secret_arguments(&arguments(&[
            "redis-server",
            "--requirepass",
            "s3cret-one",
            "--masterauth=s3cret-two",
            "PASSWORD=s3cret-three",
            "mysql://app:s3cret-four@db:3306/app",
            "--appendonly",
            "yes",
        ]));
        assert_eq!(found, ["s3cret-one", "s3cret-two", "s3cret-three", "s3cret-four"]);
    }

    #[test]
    fn arguments_without_secrets_give_nothing() {
        assert!(secret_arguments(&arguments(&["mysqld", "--port", "3306", "-p", "x"])).is_empty());
    }
}
