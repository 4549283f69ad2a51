//! Fuzzing the spec loader with property tests: whatever bytes or YAML a
//! spec file holds, the loader answers with a spec or an error, never a
//! panic; alias-heavy documents (anchors of aliases of aliases, merge keys)
//! stay within the alias bound instead of exhausting memory; a flow
//! collection closed at (or left of) its key's indentation reads exactly as
//! the same text with the bracket indented, positions included. Each test runs
//! `FLOWINFRA_FUZZ_CASES` cases (default 2048, what CI runs: a few seconds
//! each in a debug build, the alias-heavy one longest as its documents
//! expand to up to 100,000 nodes) and reports the count on stderr even when
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
            "extends", "service", "file", "include", "path", "project_directory",
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
        Just("db".to_string()),
        Just("spec.yaml".to_string()),
        Just("!reset".to_string()),
        Just("!override [db]".to_string()),
        Just("!custom x".to_string()),
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

/// One level of anchors: a list of aliases to the level before, a mapping of
/// them, or (when the level before is a mapping) a mapping merging them with
/// `<<`. Returns the line and whether the level is a mapping.
fn alias_level(level: usize, width: usize, form: u8, previous_is_mapping: bool) -> (String, bool) {
    let previous = format!("*l{}", level - 1);
    match form % 3 {
        0 => (
            format!("x-l{level}: &l{level} [{}]", vec![previous; width].join(", ")),
            false,
        ),
        2 if previous_is_mapping => (
            format!(
                "x-l{level}: &l{level} {{<<: [{}], own{level}: x}}",
                vec![previous; width].join(", ")
            ),
            true,
        ),
        _ => {
            let entries: Vec<String> = (0..width).map(|n| format!("k{n}: {previous}")).collect();
            (format!("x-l{level}: &l{level} {{{}}}", entries.join(", ")), true)
        }
    }
}

/// Documents of nested aliases, many far past the bound, used where a
/// service reads them.
fn alias_document() -> impl Strategy<Value = String> {
    let width = prop_oneof![2 => 1..4usize, 3 => 6..10usize];
    let levels = prop::collection::vec((width, any::<u8>()), 2..6);
    let base = prop_oneof![
        Just(("[a, b, c]", false)),
        Just(("{A: '1', B: '2'}", true)),
        Just(("{kind: mysql}", true)),
        Just(("'${SET}'", false)),
    ];
    let field = prop::sample::select(vec!["environment", "command", "labels", "x-flowinfra", "ports", "<<"]);
    (base, levels, field).prop_map(|((base, mut is_mapping), levels, field)| {
        let mut text = format!("x-l0: &l0 {base}\n");
        for (index, (width, form)) in levels.iter().enumerate() {
            let (line, mapping) = alias_level(index + 1, *width, *form, is_mapping);
            is_mapping = mapping;
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(&format!(
            "services:\n  app:\n    image: busybox\n    {field}: *l{}\n",
            levels.len()
        ));
        text
    })
}

#[test]
fn alias_heavy_documents_never_panic_nor_blow_up() {
    fuzz(
        "alias_heavy_documents_never_panic_nor_blow_up",
        alias_document(),
        |text| {
            let started = std::time::Instant::now();
            load_bytes(text.as_bytes());
            // Generous for a debug build on a busy machine; an unbounded
            // expansion of these documents takes minutes and gigabytes.
            let elapsed = started.elapsed();
            assert!(elapsed < std::time::Duration::from_secs(5), "took {elapsed:?}:\n{text}");
        },
    );
}

/// A flow collection under `depth` levels of keys, its items on their own
/// lines, closed on a line of its own indented `close` spaces; a sibling key
/// follows it.
fn flow_document(depth: usize, items: &[String], mapping: bool, close: usize) -> String {
    let mut text = String::new();
    for level in 0..depth {
        text.push_str(&format!("{}k{level}:\n", "  ".repeat(level)));
    }
    let indent = "  ".repeat(depth);
    let (open, end) = if mapping { ('{', '}') } else { ('[', ']') };
    text.push_str(&format!("{indent}flow: {open}\n"));
    for (index, item) in items.iter().enumerate() {
        let item = if mapping {
            format!("m{index}: {item}")
        } else {
            item.clone()
        };
        text.push_str(&format!("{indent}    {item},\n"));
    }
    text.push_str(&format!("{}{end}\n{indent}after: x\n", " ".repeat(close)));
    text
}

#[test]
fn a_closing_bracket_at_its_keys_indentation_reads_as_one_indented_deeper() {
    // Defect 1's re-indenting keeps every node where it was: the tree, with
    // its positions, is the tree of the same text with the bracket indented.
    // Valid flow items only (quoted text with brackets in it, words, nested
    // flows), so that the deeper-indented document always loads.
    let item = prop_oneof![
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
        "[a-z][a-z0-9]{0,6}",
        Just("[a, ']', \"}\"]".to_string()),
        Just("{x: ']'}".to_string()),
    ];
    let strategy = (
        0..4usize,
        prop::collection::vec(item, 1..5),
        any::<bool>(),
        any::<prop::sample::Index>(),
    );
    fuzz(
        "a_closing_bracket_at_its_keys_indentation_reads_as_one_indented_deeper",
        strategy,
        |(depth, items, mapping, close)| {
            let key_indent = 2 * depth;
            let close = close.index(key_indent + 1);
            let file = std::sync::Arc::from(std::path::Path::new("spec.yaml"));
            let deeper = spec::yaml::parse(&flow_document(depth, &items, mapping, key_indent + 2), &file);
            let at_key = spec::yaml::parse(&flow_document(depth, &items, mapping, close), &file);
            let deeper = deeper.expect("the document with the bracket indented loads");
            match at_key {
                Ok(at_key) => assert_eq!(deeper, at_key),
                Err(err) => panic!(
                    "closed at column {}: {err}\n{}",
                    close + 1,
                    flow_document(depth, &items, mapping, close)
                ),
            }
        },
    );
}
