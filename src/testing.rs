//! Fixtures shared by the crate's unit tests.

use std::collections::BTreeMap;

use crate::spec::{LoadOptions, Service, load};

/// The services of a spec file, loaded as `flowinfra` loads it.
pub fn services(yaml: &str) -> BTreeMap<String, Service> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), yaml).unwrap();
    let options = LoadOptions {
        files: vec!["stack.yaml".into()],
        working_dir: dir.path().to_path_buf(),
        ..LoadOptions::default()
    };
    load(&options)
        .unwrap_or_else(|error| panic!("spec should load:\n{error}"))
        .spec
        .services
}

/// The one service of a spec file.
pub fn service(yaml: &str) -> Service {
    services(yaml).into_values().next().unwrap()
}
