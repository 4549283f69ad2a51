//! `plan` and `ps` against the engine warn about a service whose image is
//! past its end of life (the shipped lifecycle table, offline) and still
//! succeed. The image need not be present: `pull_policy: never` keeps both
//! commands from pulling, and neither creates anything.

mod support;

use support::{Flowinfra, TestProject};

const SPEC: &str = "services:
  db:
    image: mysql:8.0
    pull_policy: never
  cache:
    image: redis:8.10
    pull_policy: never
";

#[test]
fn plan_and_ps_warn_about_an_end_of_life_image_and_succeed() {
    let project = TestProject::new("lifecycle-warning");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), SPEC).unwrap();
    for command in ["plan", "ps"] {
        let output = Flowinfra::new()
            .current_dir(dir.path())
            .args(["-f", "compose.yaml", "-p", &project.name, command])
            .run()
            .success();
        let warnings: Vec<String> = output
            .stderr()
            .lines()
            .filter(|line| line.starts_with("warning:"))
            .map(str::to_string)
            .collect();
        assert_eq!(
            warnings,
            ["warning: db: image mysql:8.0 is past its end of life since 2026-04-30; use mysql:8.4 instead"],
            "{command}: {}",
            output.transcript()
        );
        assert!(
            output.stdout().contains("create (no container)") || command == "ps",
            "{}",
            output.transcript()
        );
    }
}
