//! Secrets stay out of the logs whatever `RUST_LOG` asks for: third-party
//! crates log request bodies, AMQP frames and SQL at `debug`/`trace`.

mod support;

use support::{FlowliteStack, assert_success};

/// Passwords with characters that JSON, Rust's `Debug` and URLs each spell
/// differently, so every escaped form is exercised.
const PASSWORDS: &[(&str, &str)] = &[
    ("MYSQL_ROOT_PASSWORD", "Root\"Leak/Pw%1"),
    ("MYSQL_PASSWORD", "App@Leak:Pw/2"),
    ("RABBITMQ_PASSWORD", "Amqp@Leak%Pw3"),
    ("REDIS_PASSWORD", "Redis@Leak/Pw4"),
    ("MINIO_ROOT_PASSWORD", "S3@Leak/Pw%5x"),
];

#[test]
fn no_password_appears_in_up_check_or_seed_output_under_rust_log_trace() {
    let mut stack = FlowliteStack::new("secrets-in-logs");
    stack.env.extend(
        PASSWORDS
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string())),
    );
    let trace = [("RUST_LOG", "trace")];
    let mut everything = String::new();
    for args in [&["up"][..], &["check", "--verbose"], &["seed", "--clean"]] {
        let output = stack.flowinfra_with(args, &trace);
        assert_success(&output, &args.join(" "));
        everything.push_str(&String::from_utf8_lossy(&output.stdout));
        everything.push_str(&String::from_utf8_lossy(&output.stderr));
    }

    // The logs did carry the bodies that hold the passwords: masked.
    assert!(everything.contains("bollard"), "no third-party trace lines were logged");
    assert!(everything.contains("********"), "nothing was masked");
    for (name, password) in PASSWORDS {
        let encoded = percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC).to_string();
        for form in [password.to_string(), encoded, password.escape_debug().to_string()] {
            let leaks = everything
                .lines()
                .filter(|line| line.contains(&form))
                .collect::<Vec<_>>();
            assert!(
                leaks.is_empty(),
                "{name} appears as {form:?} in {} lines, e.g.:\n{}",
                leaks.len(),
                leaks[0]
            );
        }
    }
}
