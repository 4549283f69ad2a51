//! The `flowinfra` binary as a user meets it: exit codes, where output goes,
//! and what the messages say. These need no engine.

mod support;

use std::path::Path;

use support::{Flowinfra, Output};

/// `flowinfra ARGS` run in `dir`.
fn flowinfra(dir: &Path, args: &[&str]) -> Output {
    Flowinfra::new().current_dir(dir).args(args).run()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every value of a variable in `.env.example` whose name marks it as secret.
fn example_secrets() -> Vec<String> {
    std::fs::read_to_string(repo().join(".env.example"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| flowinfra::spec::redact::is_secret_name(name))
        .map(|(_, value)| value.to_string())
        .collect()
}

#[test]
fn config_on_the_shipped_spec_prints_yaml_without_secrets() {
    let stdout = flowinfra(repo(), &["config"]).success().stdout();
    assert!(stdout.contains("mysql:8.4"), "{stdout}");
    assert!(stdout.contains("batch_processed"), "{stdout}");
    let secrets = example_secrets();
    assert!(
        secrets.len() >= 4,
        "expected several secrets in .env.example: {secrets:?}"
    );
    for secret in secrets {
        assert!(
            !stdout.contains(&secret),
            "`{secret}` leaked into config output:\n{stdout}"
        );
    }
}

#[test]
fn config_json_parses_and_hides_secrets() {
    let value = flowinfra(repo(), &["config", "--json"]).success().json();
    assert_eq!(value["services"]["mysql"]["environment"]["MYSQL_PASSWORD"], "********");
    assert_eq!(value["services"]["mysql"]["environment"]["MYSQL_USER"], "flowlite_user");
    let redis_command = value["services"]["redis"]["command"].as_array().unwrap();
    assert!(redis_command.iter().all(|arg| arg != "flowlite_redis_pass_2024"));
}

#[test]
fn config_on_a_broken_spec_exits_2_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "services:\n  db:\n    image: mysql\n    portz: ['3306:3306']\n",
    )
    .unwrap();
    let output = flowinfra(dir.path(), &["-f", "spec.yaml", "config"]).failure(2);
    assert!(output.stdout.is_empty(), "errors go to stderr only");
    let stderr = output.stderr();
    assert!(
        stderr.contains("error: spec.yaml:4:5: unknown service field `portz`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: did you mean `ports`?"), "{stderr}");
}

#[test]
fn config_json_shows_the_model_after_include_extends_and_merge_tags() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "db/compose.yml",
        "services:\n  db:\n    image: mysql:8.4\n    environment: {MYSQL_DATABASE: app}\n",
    );
    write(
        "spec.yaml",
        "include: [db/compose.yml]\nservices:\n  base:\n    image: busybox:1\n    environment: {A: '1', B: '2'}\n    ports: ['8080']\n  app:\n    extends: base\n    environment: !override {C: '3'}\n    command: [\n      sleep, '1'\n    ]\n",
    );
    write("override.yaml", "services:\n  base:\n    ports: !reset []\n");
    let value = flowinfra(
        dir.path(),
        &["-f", "spec.yaml", "-f", "override.yaml", "config", "--json"],
    )
    .success()
    .json();
    let services = &value["services"];
    assert_eq!(services["db"]["image"], "mysql:8.4", "{value}");
    assert_eq!(services["app"]["image"], "busybox:1");
    assert_eq!(services["app"]["environment"], serde_json::json!({"C": "3"}));
    assert_eq!(services["app"]["command"], serde_json::json!(["sleep", "1"]));
    assert_eq!(services["app"]["ports"].as_array().map(Vec::len), Some(1), "{value}");
    assert!(
        services["base"]["ports"].as_array().is_none_or(Vec::is_empty),
        "the override file reset base's ports: {value}"
    );
}

#[test]
fn a_missing_spec_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = flowinfra(dir.path(), &["-f", "nope.yaml", "config"]).failure(2);
    assert!(output.stderr().contains("cannot read spec file `nope.yaml`"));
}

#[test]
fn a_missing_required_variable_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "services:\n  a:\n    image: x:${TAG:?set TAG}\n",
    )
    .unwrap();
    let output = flowinfra(dir.path(), &["-f", "spec.yaml", "config"]).failure(2);
    assert!(
        output
            .stderr()
            .contains("spec.yaml:3:14: required variable TAG is not set: set TAG")
    );
}

#[test]
fn dotenv_next_to_the_project_overrides_spec_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("compose")).unwrap();
    std::fs::write(
        dir.path().join("compose/flowinfra.yaml"),
        "services:\n  a:\n    image: x:${TAG:-default}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".env"), "TAG=from-dotenv\n").unwrap();
    let value = flowinfra(dir.path(), &["config", "--json"]).success().json();
    assert_eq!(value["services"]["a"]["image"], "x:from-dotenv");
}

#[test]
fn project_name_flag_names_the_project() {
    let value = flowinfra(repo(), &["-p", "demo", "config", "--json"]).json();
    assert_eq!(value["name"], "demo");
    assert_eq!(value["volumes"]["mysql_data"]["name"], "demo_mysql_data");
}

#[test]
fn usage_errors_exit_2() {
    flowinfra(repo(), &["up", "--no-such-flag"]).failure(2);
}

#[test]
fn env_prints_connection_settings_in_every_format() {
    let stdout = flowinfra(repo(), &["env"]).success().stdout();
    assert!(
        stdout.contains("DATABASE_URL=mysql://flowlite_user:flowlite_password@127.0.0.1:3306/flowlite_db"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "DATABASE_URL_AIOMYSQL=mysql+aiomysql://flowlite_user:flowlite_password@127.0.0.1:3306/flowlite_db"
        )
    );
    assert!(stdout.contains("DATABASE_URL_PYMYSQL=mysql+pymysql://"));
    assert!(stdout.contains("RABBITMQ_QUEUE=batch_processed"));
    assert!(stdout.contains("REDIS_PASSWORD=flowlite_redis_pass_2024"));
    assert!(stdout.contains("S3_ENDPOINT_URL=http://127.0.0.1:9000"));

    let value = flowinfra(repo(), &["env", "--format", "json"]).json();
    assert_eq!(value["REDIS_URL"], "redis://:flowlite_redis_pass_2024@127.0.0.1:6379/0");

    let shell = flowinfra(repo(), &["env", "--format", "shell"]);
    assert!(shell.stdout().contains("export MYSQL_USER='flowlite_user'"));
}

#[test]
fn no_command_but_env_prints_a_secret_from_env_example() {
    let secrets = example_secrets();
    for args in [&["config"][..], &["config", "--json"], &["env"]] {
        let output = flowinfra(repo(), args);
        let all = format!("{}{}", output.stdout(), output.stderr());
        let leaked: Vec<&String> = secrets.iter().filter(|s| all.contains(s.as_str())).collect();
        if args == ["env"] {
            assert!(!leaked.is_empty(), "env should print the credentials it is asked for");
        } else {
            assert!(leaked.is_empty(), "{args:?} leaked {leaked:?}");
        }
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef flowinfra"),
        ("fish", "complete -c flowinfra"),
    ] {
        let output = flowinfra(repo(), &["completions", shell]).success();
        assert!(output.stdout().contains(marker), "{shell}");
    }
}

#[test]
fn help_documents_every_command_with_examples() {
    let help = flowinfra(repo(), &["--help"]).stdout();
    for command in [
        "up",
        "down",
        "plan",
        "ps",
        "logs",
        "migrate",
        "seed",
        "check",
        "config",
        "env",
        "completions",
    ] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} missing from --help:\n{help}"
        );
    }
    assert!(help.contains("Examples:"));
}
