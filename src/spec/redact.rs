//! Keeping secrets out of what flowinfra prints: `config`, `plan`, logs and errors.
//!
//! Values are hidden by where they sit, not by what they look like: an
//! environment variable or command-line flag whose name denotes a secret
//! ([`is_secret_name`]), the password part of a URL, and any occurrence of a
//! value already known to be secret ([`redact_known_values`]). The rules err
//! on the side of hiding: a hidden non-secret costs a glance, a shown secret
//! may end up in a bug report.
//!
//! Not here: deciding which values are secret from their content (entropy,
//! key formats), and writing anything. Every function is pure and total: any
//! input gives an answer without panicking.

use std::borrow::Cow;

/// What a hidden value is replaced by. Always the same length, so the output
/// says nothing about the secret's length.
pub const REDACTED: &str = "********";

/// Known secret values shorter than this many characters are not searched
/// for: replacing every `on` or `123` in a text would mangle it.
pub const MINIMUM_KNOWN_SECRET_CHARS: usize = 4;

/// Name fragments that make a name secret wherever they appear, in any case.
/// `REQUIREPASS` and `MASTERAUTH` are Redis's password settings.
const SECRET_FRAGMENTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "REQUIREPASS",
    "MASTERAUTH",
];

/// What may stand glued before `KEY` in one word and still mean a key
/// (`APIKEY`, `ACCESSKEY`); anything else (`MONKEY`, `HOTKEY`) does not.
const KEY_PREFIXES: &[&str] = &[
    "ACCESS",
    "API",
    "APP",
    "AUTH",
    "CLIENT",
    "ENCRYPTION",
    "LICENSE",
    "MASTER",
    "PRIVATE",
    "SECRET",
    "SERVICE",
    "SESSION",
    "SIGNING",
    "SSH",
];

/// True when a variable/key name denotes a secret.
///
/// A name is split into words at `_`, `-`, `.` and other punctuation and at
/// camelCase humps (`dbPassword` is `DB PASSWORD`). It is secret when, in any
/// case:
/// - it contains PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, CREDENTIAL(S),
///   REQUIREPASS or MASTERAUTH anywhere (`MYSQL_ROOT_PASSWORD`, `GITHUB_TOKEN`);
/// - a word is PASS (`RABBITMQ_DEFAULT_PASS`, but not `PASSPORT`, `BYPASS`);
/// - a word is KEY or KEYS (`API_KEY`, `MINIO_SECRET_KEY`, `apiKey`, and also
///   `KEY_PREFIX`, as the rules err on the side of hiding), or ends in KEY
///   after one of a few key-ish prefixes (`APIKEY`, `ACCESSKEY`), but not
///   `MONKEY`, `KEYBOARD` or `KEYSPACE`.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if NOT_SECRET_KEY_NAMES.contains(&upper.as_str()) {
        return false;
    }
    if SECRET_FRAGMENTS.iter().any(|fragment| upper.contains(fragment)) {
        return true;
    }
    split_name_into_words(name).iter().any(|word| is_secret_word(word))
}

/// Names with KEY that hold identifiers, not secrets (message routing, table keys).
const NOT_SECRET_KEY_NAMES: &[&str] = &[
    "ROUTING_KEY",
    "BINDING_KEY",
    "PRIMARY_KEY",
    "FOREIGN_KEY",
    "SORT_KEY",
    "PARTITION_KEY",
];

fn is_secret_word(word: &str) -> bool {
    match word {
        "PASS" | "KEY" | "KEYS" => true,
        _ => word
            .strip_suffix("KEY")
            .is_some_and(|prefix| KEY_PREFIXES.contains(&prefix)),
    }
}

/// Upper-cased words of a name: `RABBITMQ_DEFAULT_PASS` → RABBITMQ, DEFAULT,
/// PASS; `apiKey` → API, KEY; `S3APIKey` → S3API, KEY.
fn split_name_into_words(name: &str) -> Vec<String> {
    let characters: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (index, &character) in characters.iter().enumerate() {
        if !character.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if character.is_uppercase() && index > 0 && !current.is_empty() {
            let previous = characters[index - 1];
            let next_is_lowercase = characters.get(index + 1).is_some_and(|next| next.is_lowercase());
            // `dbPassword` splits before `P`; `APIKey` splits before `K`, the
            // last capital of an acronym that starts a capitalised word.
            let starts_word =
                previous.is_lowercase() || previous.is_numeric() || (previous.is_uppercase() && next_is_lowercase);
            if starts_word {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(character.to_uppercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Replaces the password in URLs with credentials (`scheme://user:pass@host` → `scheme://user:********@host`),
/// anywhere inside the text, possibly several URLs. Leaves other text intact.
///
/// The credentials are what comes between `://` and the last `@` of the
/// authority, which ends at `/`, `?`, `#`, whitespace or a quote, so a
/// password may contain `@` (`mysql://u:p@ss@host/db`) and the host may be an
/// IPv6 literal. The password is what follows the first `:` of the
/// credentials; a URL without one (`mysql://user@host`) or with an empty one
/// is left as it is. A password holding a raw `/`, `?` or `#` is not a valid
/// URL (they must be percent-encoded) and is not recognised.
pub fn redact_url_credentials(text: &str) -> Cow<'_, str> {
    let mut redacted: Option<String> = None;
    let mut copied_up_to = 0;
    let mut search_from = 0;
    while let Some(relative) = text[search_from..].find("://") {
        let authority_start = search_from + relative + "://".len();
        let authority_length = text[authority_start..]
            .find(ends_url_authority)
            .unwrap_or(text.len() - authority_start);
        let authority = &text[authority_start..authority_start + authority_length];
        if let Some(password) = password_range(authority) {
            let password_start = authority_start + password.start;
            let password_end = authority_start + password.end;
            let output = redacted.get_or_insert_with(|| String::with_capacity(text.len()));
            output.push_str(&text[copied_up_to..password_start]);
            output.push_str(REDACTED);
            copied_up_to = password_end;
        }
        // An authority holds no `/`, so the next `://` starts at its last
        // character at the earliest, after any password just hidden.
        search_from = authority_start;
    }
    match redacted {
        Some(mut output) => {
            output.push_str(&text[copied_up_to..]);
            Cow::Owned(output)
        }
        None => Cow::Borrowed(text),
    }
}

fn ends_url_authority(character: char) -> bool {
    matches!(character, '/' | '?' | '#' | '"' | '\'' | '`' | '<' | '>') || character.is_whitespace()
}

/// The byte range of the password inside a URL authority (`user:pass@host:port`), if it has a non-empty one.
fn password_range(authority: &str) -> Option<std::ops::Range<usize>> {
    let credentials_end = authority.rfind('@')?;
    let colon = authority[..credentials_end].find(':')?;
    let password = colon + 1..credentials_end;
    (!password.is_empty()).then_some(password)
}

/// Redacts secret-looking command-line flags' values inside an argument list.
///
/// Returns the list with, for each argument:
/// - `--flag=value` or `-flag=value` whose flag name (without dashes) is
///   secret per [`is_secret_name`] (which covers Redis's `requirepass` and
///   `masterauth`): the value replaced;
/// - `--flag` alone with a secret name: the next argument replaced, unless
///   that looks like another long flag (`mysql --password --host db`, where
///   `--password` asks for the password interactively);
/// - `NAME=value` with a secret name (as given to `env` or `-e`): the value
///   replaced;
/// - anything else: URL passwords replaced; an argument holding whitespace
///   (a shell command given to `sh -c`) is treated as a command line, see
///   [`redact_command_line`].
///
/// Short flags such as `-p` are not touched: `-p` is a port for `redis-cli`.
/// A password glued to one (`mysql -psecret`) is caught by
/// [`redact_known_values`] instead. Empty values stay empty: they hide nothing.
pub fn redact_arguments(args: &[String]) -> Vec<String> {
    let mut redacted = Vec::with_capacity(args.len());
    let mut next_is_secret_value = false;
    for argument in args {
        if std::mem::take(&mut next_is_secret_value) && !looks_like_long_flag(argument) {
            redacted.push(hide_unless_empty(argument));
            continue;
        }
        let (argument, takes_secret_value) = redact_argument(argument);
        next_is_secret_value = takes_secret_value;
        redacted.push(argument);
    }
    redacted
}

/// Redacts one argument on its own; the flag tells whether the next argument is its secret value.
fn redact_argument(argument: &str) -> (String, bool) {
    let without_dashes = argument.trim_start_matches('-');
    let is_flag = without_dashes.len() < argument.len();
    if is_flag {
        match without_dashes.split_once('=') {
            Some((name, value)) if is_secret_name(name) => {
                let flag = &argument[..argument.len() - without_dashes.len() + name.len()];
                return (format!("{flag}={}", hide_unless_empty(value)), false);
            }
            Some(_) => {}
            None => {
                if is_secret_name(without_dashes) {
                    return (argument.to_owned(), true);
                }
            }
        }
    } else if let Some((name, value)) = argument.split_once('=')
        && is_environment_name(name)
        && is_secret_name(name)
    {
        return (format!("{name}={}", hide_unless_empty(value)), false);
    }
    if argument.contains(char::is_whitespace) {
        return (redact_command_line(argument).into_owned(), false);
    }
    (redact_url_credentials(argument).into_owned(), false)
}

fn looks_like_long_flag(argument: &str) -> bool {
    argument
        .strip_prefix("--")
        .and_then(|rest| rest.chars().next())
        .is_some_and(char::is_alphabetic)
}

fn is_environment_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

fn hide_unless_empty(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        REDACTED.to_owned()
    }
}

/// Redacts a command written as one string (`redis-server --requirepass s3cret`),
/// word by word as [`redact_arguments`] does, keeping the spacing.
///
/// Words are split at whitespace without looking at shell quoting, so a quoted
/// secret with spaces in it is only partly caught; [`redact_known_values`]
/// covers that when the value is known.
pub fn redact_command_line(command: &str) -> Cow<'_, str> {
    let word_ranges = word_ranges(command);
    let words: Vec<String> = word_ranges
        .iter()
        .map(|range| command[range.clone()].to_owned())
        .collect();
    let redacted_words = redact_arguments(&words);
    if redacted_words == words {
        return Cow::Borrowed(command);
    }
    let mut output = String::with_capacity(command.len());
    let mut copied_up_to = 0;
    for (range, word) in word_ranges.iter().zip(&redacted_words) {
        output.push_str(&command[copied_up_to..range.start]);
        output.push_str(word);
        copied_up_to = range.end;
    }
    output.push_str(&command[copied_up_to..]);
    Cow::Owned(output)
}

/// Byte ranges of the whitespace-separated words of `text`.
fn word_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut word_start = None;
    for (offset, character) in text.char_indices() {
        match (character.is_whitespace(), word_start) {
            (true, Some(start)) => {
                ranges.push(start..offset);
                word_start = None;
            }
            (false, None) => word_start = Some(offset),
            _ => {}
        }
    }
    if let Some(start) = word_start {
        ranges.push(start..text.len());
    }
    ranges
}

/// Redacts a single `KEY=VALUE` environment entry when KEY is secret, and URL credentials in any value.
///
/// Returns the value to show. An empty value stays empty: it hides nothing and
/// tells the reader the variable is blank.
pub fn redact_env_value(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        hide_unless_empty(value)
    } else {
        redact_url_credentials(value).into_owned()
    }
}

/// Replaces every occurrence of each known secret value in free text, such as
/// a command string after interpolation (`redis-server --requirepass ${REDIS_PASSWORD}`).
///
/// Values shorter than [`MINIMUM_KNOWN_SECRET_CHARS`] characters are ignored
/// to avoid mangling the text. Occurrences that overlap or touch, of one
/// value or of several, become a single [`REDACTED`], so no fragment of a
/// secret survives next to the marker.
pub fn redact_known_values(text: &str, secrets: &[&str]) -> String {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for secret in secrets
        .iter()
        .filter(|secret| secret.chars().count() >= MINIMUM_KNOWN_SECRET_CHARS)
    {
        let mut search_from = 0;
        while let Some(relative) = text[search_from..].find(secret) {
            let start = search_from + relative;
            ranges.push(start..start + secret.len());
            // Step one character, not the whole match, to find overlapping occurrences too.
            search_from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    ranges.sort_by_key(|range| range.start);
    let mut hidden: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match hidden.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => hidden.push(range),
        }
    }
    let mut output = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for range in hidden {
        output.push_str(&text[copied_up_to..range.start]);
        output.push_str(REDACTED);
        copied_up_to = range.end;
    }
    output.push_str(&text[copied_up_to..]);
    output
}

#[cfg(test)]
mod identifier_key_tests {
    use super::is_secret_name;

    #[test]
    fn routing_keys_are_not_secrets() {
        assert!(!is_secret_name("routing_key"));
        assert!(!is_secret_name("PRIMARY_KEY"));
        assert!(is_secret_name("SECRET_KEY"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    // is_secret_name

    #[test]
    fn names_containing_password_are_secret() {
        for name in [
            "MYSQL_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "password",
            "DBPASSWORD",
            "dbPassword",
            "db.password",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn names_containing_passwd_or_passphrase_are_secret() {
        assert!(is_secret_name("LDAP_PASSWD"));
        assert!(is_secret_name("SSH_KEY_PASSPHRASE"));
    }

    #[test]
    fn pass_as_a_whole_word_is_secret() {
        for name in [
            "RABBITMQ_DEFAULT_PASS",
            "PASS",
            "redis_pass",
            "redisPass",
            "DB_PASS_FILE",
            "smtp-pass",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn pass_inside_another_word_is_not_secret() {
        for name in [
            "PASSPORT_NUMBER",
            "BYPASS_CACHE",
            "COMPASS_URL",
            "PASSENGER_COUNT",
            "passthrough",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn names_containing_secret_token_or_credentials_are_secret() {
        for name in [
            "CLIENT_SECRET",
            "GITHUB_TOKEN",
            "accessToken",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AWS_CREDENTIAL",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn key_as_a_word_is_secret() {
        for name in [
            "API_KEY",
            "ACCESS_KEY",
            "MINIO_SECRET_KEY",
            "S3_ACCESS_KEY",
            "KEY",
            "apiKey",
            "signing-key",
            "SSL_KEY",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn key_glued_to_a_key_prefix_is_secret() {
        for name in ["APIKEY", "ACCESSKEY", "PRIVATEKEY", "MAILGUN_APIKEY", "S3APIKey"] {
            assert!(is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn key_inside_an_ordinary_word_is_not_secret() {
        for name in [
            "KEYBOARD_LAYOUT",
            "MONKEY",
            "TURKEY_MODE",
            "HOTKEY",
            "CASSANDRA_KEYSPACE",
            "KEYCLOAK_URL",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn key_words_that_are_not_secret_are_hidden_anyway() {
        // Erring on the side of hiding: telling a key prefix from a key is guesswork.
        assert!(is_secret_name("REDIS_KEY_PREFIX"));
        assert!(is_secret_name("AWS_ACCESS_KEY_ID"));
    }

    #[test]
    fn redis_password_settings_are_secret() {
        assert!(is_secret_name("requirepass"));
        assert!(is_secret_name("masterauth"));
        assert!(is_secret_name("REDIS_REQUIREPASS"));
    }

    #[test]
    fn ordinary_names_are_not_secret() {
        for name in [
            "MYSQL_DATABASE",
            "MYSQL_USER",
            "PORT",
            "HOST",
            "PWD",
            "PATH",
            "RABBITMQ_DEFAULT_USER",
            "",
            "_",
            "--",
        ] {
            assert!(!is_secret_name(name), "{name:?}");
        }
    }

    #[test]
    fn secret_names_are_recognised_in_any_case() {
        assert!(is_secret_name("Mysql_Root_Password"));
        assert!(is_secret_name("api_key"));
        assert!(is_secret_name("Rabbitmq_Default_Pass"));
    }

    #[test]
    fn names_are_split_at_camel_humps_and_punctuation() {
        assert_eq!(split_name_into_words("dbPassword"), ["DB", "PASSWORD"]);
        assert_eq!(split_name_into_words("APIKey"), ["API", "KEY"]);
        assert_eq!(split_name_into_words("s3Key"), ["S3", "KEY"]);
        assert_eq!(
            split_name_into_words("RABBITMQ_DEFAULT_PASS"),
            ["RABBITMQ", "DEFAULT", "PASS"]
        );
        assert_eq!(split_name_into_words("--redis.pass"), ["REDIS", "PASS"]);
    }

    // redact_url_credentials

    #[test]
    fn url_password_is_hidden() {
        assert_eq!(
            redact_url_credentials("mysql://root:s3cret@db:3306/app"),
            "mysql://root:********@db:3306/app"
        );
    }

    #[test]
    fn url_inside_text_is_hidden_and_the_text_kept() {
        assert_eq!(
            redact_url_credentials("connect to amqp://guest:guest@rabbit:5672/%2f now"),
            "connect to amqp://guest:********@rabbit:5672/%2f now"
        );
    }

    #[test]
    fn several_urls_are_all_hidden() {
        assert_eq!(
            redact_url_credentials("a=redis://:pw1@cache b=mysql://u:pw2@db,c=http://x:pw3@h"),
            "a=redis://:********@cache b=mysql://u:********@db,c=http://x:********@h"
        );
    }

    #[test]
    fn url_without_password_is_unchanged() {
        let text = "mysql://user@host/db";
        assert!(matches!(redact_url_credentials(text), Cow::Borrowed(unchanged) if unchanged == text));
    }

    #[test]
    fn url_without_credentials_is_unchanged() {
        for text in [
            "http://localhost:8080/path?a=b@c",
            "s3://bucket/key",
            "http://[::1]:9000/",
            "plain text",
        ] {
            assert_eq!(redact_url_credentials(text), text);
        }
    }

    #[test]
    fn url_with_empty_password_is_unchanged() {
        assert_eq!(redact_url_credentials("redis://user:@cache"), "redis://user:@cache");
    }

    #[test]
    fn url_with_only_a_password_is_hidden() {
        assert_eq!(
            redact_url_credentials("redis://:s3cret@cache:6379/0"),
            "redis://:********@cache:6379/0"
        );
    }

    #[test]
    fn url_password_with_at_signs_is_hidden_up_to_the_last_at() {
        assert_eq!(
            redact_url_credentials("mysql://u:p@ss@host/db"),
            "mysql://u:********@host/db"
        );
        assert_eq!(redact_url_credentials("mysql://u:@@@host"), "mysql://u:********@host");
    }

    #[test]
    fn url_password_with_colons_is_hidden_from_the_first_colon() {
        assert_eq!(
            redact_url_credentials("amqp://user:a:b:c@rabbit"),
            "amqp://user:********@rabbit"
        );
    }

    #[test]
    fn url_with_ipv6_host_is_hidden() {
        assert_eq!(
            redact_url_credentials("postgres://u:p@[2001:db8::1]:5432/db"),
            "postgres://u:********@[2001:db8::1]:5432/db"
        );
    }

    #[test]
    fn url_in_quotes_ends_at_the_quote() {
        assert_eq!(
            redact_url_credentials(r#"{"url":"mysql://u:p@db","next":"a@b"}"#),
            r#"{"url":"mysql://u:********@db","next":"a@b"}"#
        );
    }

    #[test]
    fn at_sign_in_the_path_is_not_taken_for_credentials() {
        let text = "http://localhost:4873/@scope/package";
        assert_eq!(redact_url_credentials(text), text);
    }

    #[test]
    fn url_with_percent_encoded_password_is_hidden() {
        assert_eq!(
            redact_url_credentials("mysql://u:p%40ss%2F@db"),
            "mysql://u:********@db"
        );
    }

    #[test]
    fn url_with_unicode_around_is_hidden() {
        assert_eq!(
            redact_url_credentials("żółw mysql://ü:ñé@db ✓"),
            "żółw mysql://ü:********@db ✓"
        );
    }

    #[test]
    fn url_directly_after_an_authority_ending_in_a_colon_is_hidden() {
        assert_eq!(redact_url_credentials("a://b://u:p@h"), "a://b://u:********@h");
    }

    #[test]
    fn scheme_separator_alone_is_unchanged() {
        for text in ["://", ":///", "x://", "://@", "://:@"] {
            assert_eq!(redact_url_credentials(text), text);
        }
    }

    // redact_arguments

    #[test]
    fn value_after_a_secret_flag_is_hidden() {
        assert_eq!(
            redact_arguments(&strings(&["redis-server", "--requirepass", "s3cret", "--port", "6379"])),
            strings(&["redis-server", "--requirepass", REDACTED, "--port", "6379"])
        );
    }

    #[test]
    fn value_joined_to_a_secret_flag_is_hidden() {
        assert_eq!(
            redact_arguments(&strings(&[
                "redis-server",
                "--requirepass=s3cret",
                "--masterauth=other"
            ])),
            strings(&["redis-server", "--requirepass=********", "--masterauth=********"])
        );
    }

    #[test]
    fn flags_named_like_secret_variables_are_hidden() {
        assert_eq!(
            redact_arguments(&strings(&[
                "mysql",
                "--password",
                "pw",
                "-api-key=k",
                "--auth-token",
                "t"
            ])),
            strings(&[
                "mysql",
                "--password",
                REDACTED,
                "-api-key=********",
                "--auth-token",
                REDACTED
            ])
        );
    }

    #[test]
    fn long_flag_after_a_secret_flag_is_not_taken_as_its_value() {
        assert_eq!(
            redact_arguments(&strings(&["mysql", "--password", "--host", "db"])),
            strings(&["mysql", "--password", "--host", "db"])
        );
    }

    #[test]
    fn value_starting_with_one_dash_after_a_secret_flag_is_hidden() {
        assert_eq!(
            redact_arguments(&strings(&["x", "--password", "-s3cret"])),
            strings(&["x", "--password", REDACTED])
        );
    }

    #[test]
    fn secret_flag_at_the_end_is_kept() {
        assert_eq!(
            redact_arguments(&strings(&["mysql", "--password"])),
            strings(&["mysql", "--password"])
        );
    }

    #[test]
    fn short_port_flag_is_not_taken_for_a_password() {
        let args = strings(&["redis-cli", "-p", "6379", "-h", "cache"]);
        assert_eq!(redact_arguments(&args), args);
    }

    #[test]
    fn ordinary_flags_are_kept() {
        let args = strings(&["mysqld", "--character-set-server=utf8mb4", "--max-connections", "200"]);
        assert_eq!(redact_arguments(&args), args);
    }

    #[test]
    fn secret_environment_assignment_argument_is_hidden() {
        assert_eq!(
            redact_arguments(&strings(&["env", "MYSQL_PASSWORD=pw", "MYSQL_USER=app", "run"])),
            strings(&["env", "MYSQL_PASSWORD=********", "MYSQL_USER=app", "run"])
        );
    }

    #[test]
    fn url_password_in_an_argument_is_hidden() {
        assert_eq!(
            redact_arguments(&strings(&[
                "migrate",
                "--database-url=mysql://u:pw@db/app",
                "mysql://u:pw@db"
            ])),
            strings(&[
                "migrate",
                "--database-url=mysql://u:********@db/app",
                "mysql://u:********@db"
            ])
        );
    }

    #[test]
    fn shell_command_argument_is_redacted_word_by_word() {
        assert_eq!(
            redact_arguments(&strings(&[
                "sh",
                "-c",
                "redis-server --requirepass s3cret  --appendonly yes"
            ])),
            strings(&["sh", "-c", "redis-server --requirepass ********  --appendonly yes"])
        );
    }

    #[test]
    fn empty_secret_values_stay_empty() {
        assert_eq!(
            redact_arguments(&strings(&["--requirepass=", "--password", ""])),
            strings(&["--requirepass=", "--password", ""])
        );
    }

    #[test]
    fn empty_argument_list_gives_an_empty_list() {
        assert!(redact_arguments(&[]).is_empty());
    }

    // redact_command_line

    #[test]
    fn command_line_keeps_its_spacing() {
        assert_eq!(
            redact_command_line("  redis-server\t--requirepass  s3cret\n"),
            "  redis-server\t--requirepass  ********\n"
        );
    }

    #[test]
    fn command_line_without_secrets_is_borrowed() {
        assert!(matches!(
            redact_command_line("redis-server --appendonly yes"),
            Cow::Borrowed(_)
        ));
    }

    // redact_env_value

    #[test]
    fn secret_environment_value_is_hidden() {
        assert_eq!(redact_env_value("MYSQL_ROOT_PASSWORD", "s3cret"), REDACTED);
        assert_eq!(redact_env_value("RABBITMQ_DEFAULT_PASS", "guest"), REDACTED);
    }

    #[test]
    fn empty_secret_environment_value_stays_empty() {
        assert_eq!(redact_env_value("MYSQL_ROOT_PASSWORD", ""), "");
    }

    #[test]
    fn ordinary_environment_value_is_kept() {
        assert_eq!(redact_env_value("MYSQL_DATABASE", "app"), "app");
    }

    #[test]
    fn url_password_in_an_ordinary_environment_value_is_hidden() {
        assert_eq!(
            redact_env_value("DATABASE_URL", "mysql://app:pw@db/app"),
            "mysql://app:********@db/app"
        );
    }

    // redact_known_values

    #[test]
    fn known_value_is_hidden_everywhere() {
        assert_eq!(
            redact_known_values("redis-server --requirepass s3cret; echo s3cret", &["s3cret"]),
            "redis-server --requirepass ********; echo ********"
        );
    }

    #[test]
    fn short_known_values_are_ignored() {
        assert_eq!(redact_known_values("on port 123", &["on", "123"]), "on port 123");
    }

    #[test]
    fn known_value_of_four_characters_is_hidden() {
        assert_eq!(redact_known_values("pw=abcd", &["abcd"]), "pw=********");
    }

    #[test]
    fn overlapping_known_values_become_one_marker() {
        assert_eq!(
            redact_known_values("x secretive y", &["secret", "cretive"]),
            "x ******** y"
        );
    }

    #[test]
    fn overlapping_occurrences_of_one_value_leave_no_fragment() {
        assert_eq!(redact_known_values("ababab!", &["abab"]), "********!");
    }

    #[test]
    fn longer_known_value_wins_over_its_prefix() {
        assert_eq!(
            redact_known_values("pass=hunter22", &["hunter", "hunter22"]),
            "pass=********"
        );
    }

    #[test]
    fn known_unicode_value_is_hidden() {
        assert_eq!(redact_known_values("hasło: żółw✓", &["żółw✓"]), "hasło: ********");
    }

    #[test]
    fn text_without_known_values_is_unchanged() {
        assert_eq!(redact_known_values("nothing here", &["s3cret", ""]), "nothing here");
    }

    proptest! {
        #[test]
        fn secret_name_check_never_panics(name in any::<String>()) {
            let _ = is_secret_name(&name);
        }

        #[test]
        fn url_redaction_never_panics(text in any::<String>()) {
            let _ = redact_url_credentials(&text);
        }

        #[test]
        fn url_redaction_of_url_like_noise_never_panics(text in r"[a-z:/@\[\] ?#'*]{0,40}") {
            let _ = redact_url_credentials(&text);
        }

        #[test]
        fn text_without_scheme_separator_is_borrowed_unchanged(text in any::<String>()) {
            prop_assume!(!text.contains("://"));
            prop_assert!(matches!(redact_url_credentials(&text), Cow::Borrowed(unchanged) if unchanged == text));
        }

        #[test]
        fn url_password_never_shows(
            before in "[a-z ]{0,10}",
            user in "[a-z]{0,6}",
            password in "[A-Za-z0-9@:!%$&*+=;,.~-]{1,12}",
            host in "[a-z]{1,8}|\\[[0-9a-f:]{2,12}\\]",
            after in "(/[a-z]{0,6})?( [a-z]{0,6})?",
        ) {
            let text = format!("{before} mysql://{user}:{password}@{host}{after}");
            let expected = format!("{before} mysql://{user}:{REDACTED}@{host}{after}");
            prop_assert_eq!(redact_url_credentials(&text), expected);
        }

        #[test]
        fn argument_redaction_keeps_the_argument_count(args in proptest::collection::vec(any::<String>(), 0..8)) {
            prop_assert_eq!(redact_arguments(&args).len(), args.len());
        }

        #[test]
        fn command_line_redaction_never_panics(command in any::<String>()) {
            let _ = redact_command_line(&command);
        }

        #[test]
        fn env_value_redaction_never_panics(name in any::<String>(), value in any::<String>()) {
            let _ = redact_env_value(&name, &value);
        }

        #[test]
        fn known_values_never_show(
            text in any::<String>(),
            secrets in proptest::collection::vec("[a-z0-9]{4,8}", 0..4),
        ) {
            let mixed = secrets.iter().fold(text, |mixed, secret| format!("{mixed}{secret}x{secret}"));
            let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let redacted = redact_known_values(&mixed, &secret_refs);
            for secret in &secrets {
                prop_assert!(!redacted.contains(secret.as_str()), "{secret} still in {redacted}");
            }
        }

        #[test]
        fn known_value_redaction_of_arbitrary_values_never_panics(
            text in any::<String>(),
            secrets in proptest::collection::vec(any::<String>(), 0..4),
        ) {
            let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let _ = redact_known_values(&text, &secret_refs);
        }
    }
}
