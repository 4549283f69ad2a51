//! The Compose corpus (tests/fixtures/compose-corpus/): 45 published Compose
//! files, each loaded with `flowinfra config` from its own folder as its
//! project would (`-p corpus`, no `COMPOSE_*` variables). Every file Compose
//! v2 accepts must load, except the known gaps `expectations.toml` lists under
//! `[flowinfra_refuses]` with the error flowinfra prints; the files Compose v2
//! refuses must be refused with the error `[flowinfra_error]` gives. Pure: no
//! engine involved.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::Flowinfra;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose-corpus")
}

#[derive(serde::Deserialize)]
struct Expectations {
    fail: BTreeMap<String, toml::Value>,
    main: BTreeMap<String, String>,
    flowinfra_error: BTreeMap<String, String>,
    #[serde(default)]
    flowinfra_refuses: BTreeMap<String, String>,
}

/// The compose file of a corpus folder: the one `[main]` names, else its only one.
fn main_file(folder: &Path, expectations: &Expectations) -> PathBuf {
    let name = folder.file_name().unwrap().to_string_lossy().into_owned();
    if let Some(main) = expectations.main.get(&name) {
        return folder.join(main);
    }
    let files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml"))
        .collect();
    assert_eq!(files.len(), 1, "{name}: expected one compose file, found {files:?}");
    files.into_iter().next().unwrap()
}

fn config(file: &Path) -> support::Output {
    let mut run = Flowinfra::new()
        .current_dir(file.parent().unwrap())
        .args(["-p", "corpus", "-f"])
        .arg(file.file_name().unwrap())
        .arg("config");
    for (name, _) in std::env::vars() {
        if name.starts_with("COMPOSE_") {
            run = run.env_remove(name);
        }
    }
    run.run()
}

#[test]
fn flowinfra_loads_what_compose_v2_loads() {
    let text = std::fs::read_to_string(corpus().join("expectations.toml")).unwrap();
    let expectations: Expectations = toml::from_str(&text).unwrap();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 45, "the corpus has 45 folders");
    for name in expectations.fail.keys() {
        assert!(
            expectations.flowinfra_error.contains_key(name),
            "expectations.toml: [fail.\"{name}\"] has no [flowinfra_error] entry"
        );
    }

    let mut problems = Vec::new();
    let (mut accepted, mut expected_to_load) = (0, 0);
    for folder in &folders {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let file = main_file(folder, &expectations);
        let output = config(&file);
        let stderr = output.stderr();
        if let Some(error) = expectations.flowinfra_error.get(&name) {
            if output.status.success() || !stderr.contains(error.as_str()) {
                problems.push(format!(
                    "{name}: Compose v2 refuses it; flowinfra should fail saying `{error}`\n{}",
                    output.transcript()
                ));
            }
            continue;
        }
        expected_to_load += 1;
        if output.status.success() {
            accepted += 1;
        }
        match (expectations.flowinfra_refuses.get(&name), output.status.success()) {
            (None, true) => {}
            (None, false) => problems.push(format!(
                "{name}: Compose v2 accepts it, flowinfra refuses it\n{}",
                output.transcript()
            )),
            (Some(_), true) => problems.push(format!(
                "{name}: now loads; remove it from [flowinfra_refuses] in expectations.toml"
            )),
            (Some(error), false) if !stderr.contains(error.as_str()) => problems.push(format!(
                "{name}: [flowinfra_refuses] says the error is `{error}`, flowinfra said\n{}",
                output.transcript()
            )),
            (Some(_), false) => {}
        }
    }
    println!("flowinfra accepts {accepted} of the {expected_to_load} corpus files Compose v2 accepts");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert_eq!(
        accepted,
        expected_to_load - expectations.flowinfra_refuses.len(),
        "every file not listed as a gap loads"
    );
}
