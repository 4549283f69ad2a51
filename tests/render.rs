//! `flowinfra render kubernetes` from the real binary: golden snapshots of
//! the Flowlite stack's manifests and translation report, every rendered
//! object validated against the official OpenAPI schemas of Kubernetes 1.30
//! and 1.35 (scripts/k8s-validate.sh, strict), and the refusals.
//!
//! The snapshots hold the Flowlite spec's default passwords (base64 in the
//! Secrets): they are the documented demo values of `.env.example`.

mod support;

use std::path::Path;
use std::process::Command;

use support::{Flowinfra, Output};

/// `render kubernetes ARGS` of the Flowlite spec, as project `flowlite`.
fn render_flowlite(args: &[&str]) -> Output {
    Flowinfra::new()
        .args(["-f", "compose/flowinfra.yaml", "-p", "flowlite", "render", "kubernetes"])
        .args(args)
        .run()
}

fn snapshot_settings(what: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(what);
    settings.set_omit_expression(true);
    settings
}

/// `render kubernetes ARGS` of an example's spec file, as its own project.
fn render_example(file: &str, args: &[&str]) -> Output {
    Flowinfra::new()
        .args(["-f", file, "render", "kubernetes"])
        .args(args)
        .run()
}

/// `render kubernetes ARGS` of a spec file as project `project`.
fn render_project(file: &str, project: &str, args: &[&str]) -> Output {
    Flowinfra::new()
        .args(["-f", file, "-p", project, "render", "kubernetes"])
        .args(args)
        .run()
}

/// Runs scripts/k8s-validate.sh on `files` (1.30 and 1.35).
fn validate(files: &[&Path]) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s-validate.sh"))
        .args(files)
        .output()
        .expect("run scripts/k8s-validate.sh")
}

#[test]
fn flowlite_renders_as_kubernetes_manifests() {
    let output = render_flowlite(&[]).success();
    snapshot_settings("flowinfra -p flowlite render kubernetes (stdout)").bind(|| {
        insta::assert_snapshot!("render_flowlite_manifests", output.stdout());
    });
}

#[test]
fn flowlite_translation_report_names_every_field() {
    let output = render_flowlite(&[]).success();
    snapshot_settings("flowinfra -p flowlite render kubernetes (stderr)").bind(|| {
        insta::assert_snapshot!("render_flowlite_report", output.stderr());
    });
}

#[test]
fn the_output_folder_holds_manifests_report_and_provisioner_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("k8s");
    std::fs::create_dir_all(&output).unwrap();
    // Left by an earlier render of a service since removed: must go.
    let stale = output.join("10-gone.yaml");
    std::fs::write(
        &stale,
        "metadata:\n  labels:\n    app.kubernetes.io/managed-by: flowinfra\n",
    )
    .unwrap();
    // Not flowinfra's: must stay.
    std::fs::write(output.join("10-mine.yaml"), "kind: ConfigMap\n").unwrap();
    render_flowlite(&["--output", output.to_str().unwrap()]).success();
    let mut names: Vec<String> = std::fs::read_dir(&output)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "00-namespace.yaml",
            "10-mine.yaml",
            "10-minio.yaml",
            "10-mysql.yaml",
            "10-rabbitmq.yaml",
            "10-redis.yaml",
            "20-provision.yaml",
            "provisioner.Dockerfile",
            "translation-report.txt",
        ]
    );
    let dockerfile = std::fs::read_to_string(output.join("provisioner.Dockerfile")).unwrap();
    snapshot_settings("provisioner.Dockerfile of the Flowlite stack").bind(|| {
        insta::assert_snapshot!("render_flowlite_provisioner_dockerfile", dockerfile);
    });
    let report = std::fs::read_to_string(output.join("translation-report.txt")).unwrap();
    assert!(report.starts_with("minio:\n  image "), "{report}");
}

#[test]
fn every_rendered_object_is_valid_for_kubernetes_1_30_and_1_35() {
    let dir = tempfile::tempdir().unwrap();
    render_flowlite(&["--output", dir.path().to_str().unwrap()]).success();
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6);
    let paths: Vec<&Path> = files.iter().map(|path| path.as_path()).collect();
    let validation = validate(&paths);
    let stderr = String::from_utf8_lossy(&validation.stderr);
    assert_eq!(
        validation.status.code(),
        Some(0),
        "{stderr}\n{}",
        String::from_utf8_lossy(&validation.stdout)
    );
    assert!(
        stderr.contains("Kubernetes 1.30.0: every object of 6 file(s) is valid"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Kubernetes 1.35.0: every object of 6 file(s) is valid"),
        "{stderr}"
    );
}

#[test]
fn the_validation_fails_on_a_field_broken_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = render_flowlite(&[]).success().stdout();
    // A misspelled field (strict: unknown fields are errors) and a wrong type.
    for (from, to, expected) in [
        (
            "  serviceName: mysql-headless",
            "  serviceNam: mysql-headless",
            "'serviceNam' was unexpected",
        ),
        (
            "  backoffLimit: 6",
            "  backoffLimit: six",
            "'six' is not of type 'integer'",
        ),
    ] {
        assert!(manifests.contains(from), "{from}");
        let broken = dir.path().join("broken.yaml");
        std::fs::write(&broken, manifests.replacen(from, to, 1)).unwrap();
        let validation = validate(&[&broken]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&validation.stdout),
            String::from_utf8_lossy(&validation.stderr)
        );
        assert_eq!(validation.status.code(), Some(1), "{text}");
        assert!(text.contains(expected), "{text}");
    }
}

#[test]
fn a_bind_mount_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        "services:\n  web:\n    image: nginx:1.27\n    volumes: ['./site:/usr/share/nginx/html']\n",
    )
    .unwrap();
    let output = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "stack.yaml", "-p", "site", "render", "kubernetes"])
        .run()
        .failure(2);
    assert_eq!(output.stdout(), "");
    let stderr = output.stderr();
    assert!(
        stderr.starts_with(
            "error: the stack cannot run in Kubernetes as it is:\n  - service `web`: it mounts the local path "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "/site at /usr/share/nginx/html read-write, and no cluster node has that path; use a named volume for \
             what it writes; mount files it only reads with `:ro`, and render ships them in a ConfigMap (up to 1 MiB)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: `flowinfra render kubernetes` renders what a cluster can run"),
        "{stderr}"
    );
}

#[test]
fn network_mode_host_is_refused_by_the_spec_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        "services:\n  web:\n    image: nginx:1.27\n    network_mode: host\n",
    )
    .unwrap();
    let output = Flowinfra::new()
        .current_dir(dir.path())
        .args(["-f", "stack.yaml", "render", "kubernetes"])
        .run()
        .failure(2);
    assert!(output.stderr().contains("network_mode"), "{}", output.stderr());
}

/// The examples modelled on the reference systems, each rendered, snapshot
/// (manifests and report) and validated for both versions.
const EXAMPLES: &[(&str, &str)] = &[
    ("traffic_system", "examples/traffic-system/compose.yaml"),
    ("agrovet", "examples/agrovet/compose.yaml"),
    ("agrovet_single_server", "examples/agrovet/single-server.yaml"),
];

#[test]
fn the_reference_examples_render_as_kubernetes_manifests() {
    for (name, file) in EXAMPLES {
        let output = render_example(file, &[]).success();
        snapshot_settings(&format!("flowinfra -f {file} render kubernetes (stdout)")).bind(|| {
            insta::assert_snapshot!(format!("render_{name}_manifests"), output.stdout());
        });
        snapshot_settings(&format!("flowinfra -f {file} render kubernetes (stderr)")).bind(|| {
            insta::assert_snapshot!(format!("render_{name}_report"), output.stderr());
        });
    }
}

#[test]
fn the_init_folders_of_the_examples_travel_in_config_maps() {
    for (file, init) in [
        (
            "examples/traffic-system/compose.yaml",
            "examples/traffic-system/postgres/init/01-extensions.sql",
        ),
        (
            "examples/agrovet/single-server.yaml",
            "examples/agrovet/single-server-init/01-media-role.sql",
        ),
    ] {
        let manifests = render_example(file, &[]).success().stdout();
        let sql = std::fs::read_to_string(init).unwrap();
        let config_map = manifests
            .split("---\n")
            .find(|document| document.contains("name: postgres-files-1\n") && document.contains("kind: ConfigMap"))
            .unwrap_or_else(|| panic!("no ConfigMap postgres-files-1 in {file}"));
        let key = Path::new(init).file_name().unwrap().to_str().unwrap();
        assert!(config_map.contains(&format!("\n  {key}: |\n")), "{config_map}");
        for line in sql.lines().filter(|line| !line.is_empty()) {
            assert!(
                config_map.contains(&format!("\n    {line}\n")),
                "{line:?} not in {config_map}"
            );
        }
    }
}

#[test]
fn every_rendered_object_of_the_examples_is_valid_for_kubernetes_1_30_and_1_35() {
    for (_, file) in EXAMPLES {
        let dir = tempfile::tempdir().unwrap();
        render_example(file, &["--output", dir.path().to_str().unwrap()]).success();
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        files.sort();
        let paths: Vec<&Path> = files.iter().map(|path| path.as_path()).collect();
        let validation = validate(&paths);
        let stderr = String::from_utf8_lossy(&validation.stderr);
        assert_eq!(
            validation.status.code(),
            Some(0),
            "{file}: {stderr}\n{}",
            String::from_utf8_lossy(&validation.stdout)
        );
        for version in ["1.30.0", "1.35.0"] {
            let line = format!("Kubernetes {version}: every object of {} file(s) is valid", files.len());
            assert!(stderr.contains(&line), "{file}: {stderr}");
        }
    }
}

#[test]
fn every_depends_on_condition_becomes_a_valid_init_container_and_the_report_names_it() {
    let file = "tests/fixtures/render/depends-on.yaml";
    let dir = tempfile::tempdir().unwrap();
    let output = render_project(file, "shop", &[]).success();
    snapshot_settings(&format!("flowinfra -f {file} render kubernetes (stderr)")).bind(|| {
        insta::assert_snapshot!("render_depends_on_report", output.stderr());
    });
    let manifests = output.stdout();
    for args in [
        "- wait\n            - db\n            - \"--kind\"\n            - postgres\n",
        "- wait\n            - migrate\n            - \"--job\"\n",
        "- wait\n            - worker\n            - \"--dns\"\n            - \"--host\"\n            - worker-headless\n",
        "- wait\n            - web\n            - \"--dns\"\n            - \"--host\"\n            - web-headless\n",
    ] {
        assert!(
            manifests.contains(args),
            "no init container with {args:?} in:\n{manifests}"
        );
    }
    render_project(file, "shop", &["--output", dir.path().to_str().unwrap()]).success();
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.iter().any(|path| path.ends_with("05-flowinfra-wait.yaml")),
        "{files:?}"
    );
    let paths: Vec<&Path> = files.iter().map(|path| path.as_path()).collect();
    let validation = validate(&paths);
    let stderr = String::from_utf8_lossy(&validation.stderr);
    assert_eq!(
        validation.status.code(),
        Some(0),
        "{stderr}\n{}",
        String::from_utf8_lossy(&validation.stdout)
    );
}
