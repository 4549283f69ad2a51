//! Fuzzing the spec loader with property tests: whatever bytes or YAML a
//! spec file holds, the loader answers with a spec or an error, never a
//! panic. Each test runs `FLOWINFRA_FUZZ_CASES` cases (default 2048, what CI
//! runs: about a second in all) and reports the count on stderr even when
//! passing, so `scripts/test.sh` shows it:
//!
//! ```text
//! spec_fuzz: arbitrary_yaml_never_panics: fuzzed 2048 cases, no panic
//! ```
//!
//! A longer run, in release mode for speed:
//!
//! ```sh
//! FLOWINFRA_FUZZ_CASES=100000 cargo test --release --test spec_fuzz
//! ```
//!
//! Inputs are random on every run; `PROPTEST_RNG_SEED=N` repeats a run. A
//! failure is shrunk to a minimal input, printed, and saved in
//! `tests/spec_fuzz.proptest-regressions` (commit it), which is replayed
//! first ever after.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use flowinfra::spec::{self, LoadOptions};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestRunner};

fn cases() -> u32 {
    std::env::var("FLOWINFRA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048)
}

/// Runs `body` on `cases()` values of `strategy` (proptest: a failure is
/// shrunk and reported), then says how many ran. The line goes to the
/// process's stderr directly, past the test harness's capture, so
/// `scripts/test.sh` shows it for a passing test too.
fn fuzz<S: Strategy>(test: &str, strategy: S, body: impl Fn(S::Value)) {
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        source_file: Some(file!()),
        ..ProptestConfig::default()
    };
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    if let Err(failure) = runner.run(&strategy, |value| {
        body(value);
        Ok(())
    }) {
        panic!("{test}: {failure}");
    }
    let _ = writeln!(std::io::stderr(), "spec_fuzz: {test}: fuzzed {cases} cases, no panic");
}

fn load_bytes(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), bytes).unwrap();
    let options = LoadOptions {
        files: vec![PathBuf::from("spec.yaml")],
        project_name: None,
        env_files: Vec::new(),
        working_dir: dir.path().to_path_buf(),
        process_env: BTreeMap::from([("SET".into(), "value".into())]),
    };
    // Either outcome is fine; rendering the error must not panic either.
    if let Err(err) = spec::load(&options) {
        let _ = err.to_string();
    }
}

/// Keys drawn mostly from the spec's own vocabulary, so generated trees reach deep validation paths.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "services", "volumes", "networks", "name", "image", "build", "context", "command", "entrypoint",
            "environment", "env_file", "ports", "healthcheck", "test", "interval", "depends_on", "condition",
            "restart", "labels", "pull_policy", "profiles", "x-flowinfra", "kind", "queues", "buckets", "policy",
            "bindings", "exchanges", "target", "published", "source", "type", "<<", "db", "mysql",
        ])
        .prop_map(str::to_string),
        1 => "[a-z_${}:-]{0,8}",
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("mysql".to_string()),
        Just("3306:3306".to_string()),
        Just("${SET}".to_string()),
        Just("${UNSET:?boom}".to_string()),
        Just("10s".to_string()),
        Just("s3".to_string()),
        Just("[CMD, true]".to_string()),
        Just("data:/data".to_string()),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
    ]
}

fn yaml_tree() -> impl Strategy<Value = String> {
    let leaf = scalar();
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((key(), inner), 0..6).prop_map(|entries| {
                let body: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

#[test]
fn arbitrary_bytes_never_panic() {
    fuzz(
        "arbitrary_bytes_never_panic",
        prop::collection::vec(any::<u8>(), 0..512),
        |bytes| load_bytes(&bytes),
    );
}

#[test]
fn arbitrary_yaml_never_panics() {
    fuzz("arbitrary_yaml_never_panics", yaml_tree(), |tree| {
        load_bytes(tree.as_bytes())
    });
}

#[test]
fn arbitrary_services_never_panic() {
    fuzz(
        "arbitrary_services_never_panic",
        prop::collection::vec((key(), yaml_tree()), 0..4),
        |services| {
            let body: Vec<String> = services.into_iter().map(|(k, v)| format!("  {k:?}: {v}")).collect();
            load_bytes(format!("services:\n{}\n", body.join("\n")).as_bytes());
        },
    );
}
