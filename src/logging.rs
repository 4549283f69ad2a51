//! Tracing set-up, and the guarantee that no log line carries a secret,
//! whatever `RUST_LOG` asks for.
//!
//! flowinfra's own events never format a secret; that is tested. Third-party
//! crates are another matter: at `debug`/`trace`, bollard logs request and
//! response bodies (a container-create body holds `MYSQL_PASSWORD=…`), lapin
//! logs AMQP frames, sqlx logs statements. Their lines pass through
//! [`SecretMask`], which replaces every secret value the loaded spec made
//! known ([`register_secrets`]), in the forms a body or a debug dump spells it:
//! raw, JSON-escaped, Rust-debug-escaped and percent-encoded.
//!
//! Only third-party lines are masked. A short, common password such as
//! `postgres` is also a service name; masking it in flowinfra's own lines
//! would alter values that are not secrets.

use std::io::{self, IsTerminal, Write};
use std::sync::RwLock;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::spec::redact::redact_known_values;

/// How much to log, resolved from the global flags.
#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    /// `-v` count: 0 warnings, 1 debug, 2+ trace (flowinfra's own events).
    pub verbose: u8,
    /// Whether `--no-color`/`NO_COLOR` asked for plain text.
    pub no_color: bool,
}

/// The secret spellings known so far; masked in every third-party line.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Installs the global subscriber: `RUST_LOG`, else the level `-v` asks for,
/// written to stderr with third-party lines masked.
pub fn init(settings: LogSettings) {
    // Dependencies stay silent by default: lapin, for one, logs every refused
    // connection of a readiness probe as an error.
    let default = match settings.verbose {
        0 => "flowinfra=warn",
        1 => "flowinfra=debug",
        _ => "flowinfra=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = !settings.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && io::stderr().is_terminal();
    let own = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .without_time()
        .with_filter(tracing_subscriber::filter::filter_fn(|metadata| {
            is_own(metadata.target())
        }));
    let third_party = tracing_subscriber::fmt::layer()
        .with_writer(SecretMask)
        // The target says which crate spoke; flowinfra's own lines need no such prefix.
        .with_target(true)
        // Escape codes could split a secret and defeat the mask.
        .with_ansi(false)
        .without_time()
        .with_filter(tracing_subscriber::filter::filter_fn(|metadata| {
            !is_own(metadata.target())
        }));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(own)
        .with(third_party)
        .try_init();
}

fn is_own(target: &str) -> bool {
    target == "flowinfra" || target.starts_with("flowinfra::")
}

/// Makes `values` known as secrets, so no later log line shows them.
/// Called once a spec is loaded; values shorter than the redaction minimum
/// are left alone, as everywhere else.
pub fn register_secrets<I, S>(values: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut known = SECRETS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    for value in values {
        for spelling in spellings(value.as_ref()) {
            if !known.contains(&spelling) {
                known.push(spelling);
            }
        }
    }
    // Longest first, so a secret that contains another is hidden whole.
    known.sort_by_key(|spelling| std::cmp::Reverse(spelling.len()));
}

/// Percent-encoding as URL encoders do it: RFC 3986's unreserved characters stay.
const URL_UNRESERVED_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The ways a value appears in a request body, a URL or a debug dump. A
/// body is often JSON printed with `{:?}`, so escapes compose: the JSON form
/// is escaped once more the way Rust's `Debug` for `str` and for bytes do.
fn spellings(value: &str) -> Vec<String> {
    let json = serde_json::to_string(value).unwrap_or_default();
    // `to_string` of a str always quotes it.
    let json = json[1..json.len() - 1].to_string();
    let mut forms = Vec::new();
    for base in [value.to_string(), json] {
        forms.push(base.escape_debug().to_string());
        forms.push(base.escape_default().to_string());
        forms.push(base.as_bytes().escape_ascii().to_string());
        forms.push(base);
    }
    forms.push(utf8_percent_encode(value, NON_ALPHANUMERIC).to_string());
    forms.push(utf8_percent_encode(value, URL_UNRESERVED_KEPT).to_string());
    forms.sort();
    forms.dedup();
    forms
}

/// Masks a formatted log line.
pub fn mask(line: &str) -> String {
    let known = SECRETS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    if known.is_empty() {
        return line.to_string();
    }
    let secrets: Vec<&str> = known.iter().map(String::as_str).collect();
    redact_known_values(line, &secrets)
}

/// A writer for third-party log lines: each event arrives as one write of
/// the whole formatted line, which is masked before it reaches stderr.
#[derive(Debug, Clone, Copy)]
pub struct SecretMask;

impl<'a> MakeWriter<'a> for SecretMask {
    type Writer = MaskingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        MaskingWriter { buffer: Vec::new() }
    }
}

/// Collects one event's text and writes it masked when dropped or flushed.
pub struct MaskingWriter {
    buffer: Vec<u8>,
}

impl Write for MaskingWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let masked = mask(&text);
        self.buffer.clear();
        io::stderr().lock().write_all(masked.as_bytes())
    }
}

impl Drop for MaskingWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The registry is process-wide: each test uses secrets of its own.

    #[test]
    fn a_registered_secret_is_masked_in_every_spelling() {
        register_secrets(["pa ss\"wörd/1"]);
        for line in [
            r#"request: Full { data: "{\"Env\":[\"MYSQL_PASSWORD=pa ss\\\"wörd/1\"]}" }"#,
            "Decoded into string: [\"MYSQL_PASSWORD=pa ss\\\"wörd/1\"]",
            "amqp://admin:pa%20ss%22w%C3%B6rd%2F1@127.0.0.1:5672/",
            "body: b\"pa ss\\\"w\\u{f6}rd/1\"",
            "request: Full { data: b\"{\\\"Env\\\":[\\\"X=pa ss\\\\\\\"w\\xc3\\xb6rd/1\\\"]}\" }",
        ] {
            let masked = mask(line);
            for fragment in ["wörd", "w%C3%B6rd", "w\\u{f6}rd", "xb6rd"] {
                assert!(!masked.contains(fragment), "{masked}");
            }
            assert!(masked.contains("********"), "{masked}");
        }
    }

    #[test]
    fn text_without_a_secret_is_unchanged() {
        register_secrets(["unrelated-s3cret-9"]);
        let line = "bollard::docker: request: GET /v1.41/containers/json image=mysql:8.4";
        assert_eq!(mask(line), line);
    }

    #[test]
    fn short_values_are_not_treated_as_secrets() {
        register_secrets(["abc"]);
        assert_eq!(mask("abc abc"), "abc abc");
    }

    #[test]
    fn flowinfra_targets_are_its_own_and_others_are_not() {
        assert!(is_own("flowinfra"));
        assert!(is_own("flowinfra::engine::containers"));
        assert!(!is_own("flowinfra_helper"));
        assert!(!is_own("bollard::docker"));
        assert!(!is_own("sqlx::query"));
    }
}
