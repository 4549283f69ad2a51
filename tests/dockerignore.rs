//! `.dockerignore` against the reference implementation: for each case the
//! same context is built twice on the real engine, once by the docker CLI
//! (which applies `.dockerignore` on the client side; the engine applies
//! none) and once from flowinfra's build-context tar through flowinfra's
//! engine module, and the files that arrive in `/ctx` must be the same. The
//! CLI is the test's oracle only; flowinfra never calls it.
//!
//! Also end to end: an exception inside an excluded directory is in the
//! image `up` builds, and a `.dockerignore` listing the Dockerfile builds.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use flowinfra::build_context::BuildContext;
use flowinfra::engine::{BuildRequest, Engine};
use flowinfra::spec::Build;
use futures_util::future::join_all;
use support::{TestProject, busybox_image};

struct Case {
    name: &'static str,
    dockerignore: &'static str,
    /// Files to create (a trailing `/` makes an empty directory).
    files: &'static [&'static str],
    dockerfile: &'static str,
}

const fn case(name: &'static str, dockerignore: &'static str, files: &'static [&'static str]) -> Case {
    Case {
        name,
        dockerignore,
        files,
        dockerfile: "Dockerfile",
    }
}

const CASES: &[Case] = &[
    case(
        "exception-in-excluded-dir",
        "docs\n!docs/openapi.yaml\n",
        &["docs/a.md", "docs/openapi.yaml", "docs/sub/b.yaml", "app.py"],
    ),
    case(
        "build-files-listed",
        "Dockerfile\n.dockerignore\n",
        &["app.py", "sub/Dockerfile"],
    ),
    case(
        "star-md-root-only",
        "*.md\n",
        &["README.md", "docs/a.md", "docs/sub/b.md", "x.mdx"],
    ),
    case(
        "double-star-md",
        "**/*.md\n",
        &["README.md", "docs/a.md", "docs/sub/b.md", "x.mdx"],
    ),
    case(
        "leading-slash",
        "/build\n/src/gen\n",
        &["build/out.o", "src/gen/x.rs", "src/build/y", "src/lib.rs"],
    ),
    case(
        "dot-slash-and-trailing-slash",
        "./dist/\n./src//tmp/\n",
        &["dist/a.js", "src/tmp/x", "src/main.js", "lib/dist/b.js"],
    ),
    case(
        "nested-dirs",
        "a/b\n",
        &["a/b/c/d.txt", "a/b.txt", "a/x/b/e.txt", "b/f.txt"],
    ),
    case(
        "node-modules-root-vs-any-depth",
        "node_modules\n**/cache\n",
        &[
            "node_modules/x.js",
            "web/node_modules/y.js",
            "cache/1",
            "web/cache/2",
            "web/app.js",
        ],
    ),
    case(
        "comments-and-blank-lines",
        "# docs\n\n   \n  #notacomment\n#secret.txt\n",
        &["#notacomment", "docs/a.md", "secret.txt", "# docs"],
    ),
    case(
        "trailing-and-leading-spaces",
        "secret.txt   \n   logs  \n! logs/keep.txt  \n",
        &["secret.txt", "logs/a.log", "logs/keep.txt", "public.txt"],
    ),
    case(
        "dot-dot-cleaning",
        "x/../tmp\n../outside\nsrc/../../etc\n",
        &["tmp/a", "x/tmp/b", "etc/c", "src/d"],
    ),
    case(
        "everything-but-a-dir",
        "*\n!src\n",
        &["src/a/b.rs", "src/c.rs", "docs/x", "README"],
    ),
    case(
        "everything-but-a-file-in-a-dir",
        "*\n!src/keep.txt\n",
        &["src/keep.txt", "src/drop.txt", "other/keep.txt"],
    ),
    case(
        "parent-exception-not-inherited",
        "**/*.txt\n!d\n",
        &["d/a.txt", "d/b.go", "c.txt", "e/f.txt"],
    ),
    case(
        "glob-exception-does-not-enter-excluded-dir",
        "docs\n!**/*.yaml\n",
        &["docs/openapi.yaml", "docs/a.md", "spec.yaml"],
    ),
    case(
        "classes-and-question-mark",
        "log[0-9].txt\n?.tmp\nv[^0-9]\n",
        &["log1.txt", "logx.txt", "a.tmp", "ab.tmp", "v1", "vx"],
    ),
    case(
        "exclude-reinclude-exclude",
        "*.log\n!keep*.log\nkeep-not.log\n",
        &["a.log", "keep1.log", "keep-not.log", "sub/b.log"],
    ),
    case(
        "trailing-double-star",
        "foo/**\ntmp**\n",
        &["foo/a", "foo/b/c", "tmpfile", "tmp/x", "temp"],
    ),
    case(
        "empty-directories",
        "ignored/\n",
        &["empty/", "ignored/", "keep/inner/", "a"],
    ),
    Case {
        name: "dockerfile-in-excluded-dir",
        dockerignore: "build\n",
        files: &["build/other", "build/sub/x", "app.py"],
        dockerfile: "build/app.Dockerfile",
    },
];

#[tokio::test]
async fn dockerignore_sends_what_the_docker_cli_sends() {
    let engine = support::engine().await;
    let base = busybox_image(&engine).await;
    let run = format!("{}-{}", std::process::id(), unique());
    let outcomes = join_all(CASES.iter().map(|case| compare(&engine, &base, &run, case))).await;
    let failures: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from the docker CLI:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

async fn compare(engine: &Engine, base: &str, run: &str, case: &Case) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    for file in case.files {
        let path = dir.path().join(file);
        if file.ends_with('/') {
            std::fs::create_dir_all(&path).unwrap();
        } else {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, file).unwrap();
        }
    }
    let dockerfile = dir.path().join(case.dockerfile);
    std::fs::create_dir_all(dockerfile.parent().unwrap()).unwrap();
    std::fs::write(&dockerfile, format!("FROM {base}\nCOPY . /ctx\n")).unwrap();
    std::fs::write(dir.path().join(".dockerignore"), case.dockerignore).unwrap();

    let cli_image = format!("flowinfra-test/ctx-cli-{}-{run}", case.name);
    let ours_image = format!("flowinfra-test/ctx-ours-{}-{run}", case.name);
    let _cleanup = RemoveImages(vec![cli_image.clone(), ours_image.clone()]);

    {
        let (dir, dockerfile, image) = (dir.path().to_path_buf(), case.dockerfile, cli_image.clone());
        tokio::task::spawn_blocking(move || cli_build(&dir, dockerfile, &image))
            .await
            .unwrap()?;
    }

    let build = Build {
        context: dir.path().to_path_buf(),
        dockerfile: case.dockerfile.to_string(),
        args: BTreeMap::new(),
        target: None,
    };
    let context = BuildContext::collect(&build).map_err(|e| format!("{}: collect: {e}", case.name))?;
    let request = BuildRequest {
        reference: ours_image.clone(),
        dockerfile: case.dockerfile.to_string(),
        args: BTreeMap::new(),
        target: None,
        labels: BTreeMap::new(),
    };
    engine
        .build_image(context.tar().unwrap(), &request)
        .await
        .map_err(|e| format!("{}: flowinfra's build failed: {e}", case.name))?;

    let (cli_files, ours_files) = {
        let (a, b) = (cli_image.clone(), ours_image.clone());
        tokio::task::spawn_blocking(move || (list(&a, "/ctx"), list(&b, "/ctx")))
            .await
            .unwrap()
    };
    if cli_files != ours_files {
        return Err(format!(
            "{}: .dockerignore {:?}\n  docker CLI: {cli_files:?}\n  flowinfra:  {ours_files:?}",
            case.name, case.dockerignore
        ));
    }
    // The pure walk agrees too: every file the CLI delivered is an entry,
    // and every file entry arrived (the engine drops a Dockerfile and
    // `.dockerignore` the patterns exclude after reading them).
    let build_files = [case.dockerfile, ".dockerignore"];
    let entries: Vec<String> = context
        .entries()
        .iter()
        .filter(|entry| !dir.path().join(entry).is_dir())
        .map(|entry| entry.to_string_lossy().into_owned())
        .filter(|entry| !build_files.contains(&entry.as_str()))
        .collect();
    let delivered: Vec<String> = cli_files
        .iter()
        .filter(|path| !path.ends_with('/'))
        .filter(|path| !build_files.contains(&path.as_str()))
        .cloned()
        .collect();
    if entries != delivered {
        return Err(format!(
            "{}: entries {entries:?} but the CLI delivered {delivered:?}",
            case.name
        ));
    }
    println!("{}: {} paths agree", case.name, cli_files.len());
    Ok(())
}

/// Builds with the CLI's classic builder (the engine's own; BuildKit needs
/// a plug-in this machine lacks).
fn cli_build(dir: &Path, dockerfile: &str, image: &str) -> Result<(), String> {
    let output = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-f", dockerfile, "-t", image, "."])
        .current_dir(dir)
        .output()
        .expect("run the docker CLI (the reference implementation)");
    if !output.status.success() {
        return Err(format!(
            "{image}: docker build failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// The paths under `dir` in `image`, relative, directories ending in `/`,
/// sorted.
fn list(image: &str, dir: &str) -> Vec<String> {
    let script = format!(
        "cd {dir} && /bin/busybox find . -mindepth 1 -type d -exec echo {{}}/ \\; \
         && /bin/busybox find . -mindepth 1 ! -type d"
    );
    let output = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--entrypoint",
            "/bin/busybox",
            image,
            "sh",
            "-c",
            &script,
        ])
        .output()
        .expect("run the docker CLI");
    assert!(
        output.status.success(),
        "list /ctx of {image}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut paths: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.trim_start_matches("./").to_string())
        .collect();
    paths.sort();
    paths
}

struct RemoveImages(Vec<String>);

impl Drop for RemoveImages {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f"]).args(&self.0).output();
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000
}

/// End to end through `up`: the exception is in the image, and a
/// `.dockerignore` that lists the Dockerfile and itself still builds.
#[tokio::test]
async fn up_builds_with_exceptions_and_a_dockerignore_listing_the_dockerfile() {
    let engine = support::engine().await;
    let base = busybox_image(&engine).await;
    let project = TestProject::new("dockerignore-up");
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("app");
    std::fs::create_dir_all(context.join("docs")).unwrap();
    std::fs::write(context.join("docs/openapi.yaml"), "openapi: 3.1.0\n").unwrap();
    std::fs::write(context.join("docs/notes.md"), "private\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nCOPY . /app\nCMD [\"sleep\", \"3600\"]\n"),
    )
    .unwrap();
    std::fs::write(
        context.join(".dockerignore"),
        "Dockerfile\n.dockerignore\ndocs\n!docs/openapi.yaml\n",
    )
    .unwrap();
    let image = format!("flowinfra-test/dockerignore-{}:latest", project.name);
    std::fs::write(
        dir.path().join("spec.yaml"),
        format!("services:\n  api:\n    build: ./app\n    image: {image}\n"),
    )
    .unwrap();
    let _cleanup = RemoveImages(vec![image.clone()]);

    let up = Command::new(env!("CARGO_BIN_EXE_flowinfra"))
        .current_dir(dir.path())
        .args(["-f", "spec.yaml", "-p", &project.name, "up"])
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "up failed: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    let listing = list(&image, "/app");
    assert_eq!(listing, ["docs/", "docs/openapi.yaml"], "files in /app");
    drop(project);
}

/// Labels cost no build step: BuildKit writes them into the image config,
/// where the classic builder commits one `LABEL` step per label. A context
/// whose `.dockerignore` excludes its Dockerfile takes the classic builder
/// (which keeps it out of the image) and is labelled all the same.
#[tokio::test]
async fn labels_are_set_without_build_steps() {
    let engine = support::engine().await;
    let base = busybox_image(&engine).await;
    for (name, dockerignore, label_steps) in [("buildkit", "notes.md\n", 0), ("classic", "Dockerfile\n", 2)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), format!("FROM {base}\nCOPY . /ctx\n")).unwrap();
        std::fs::write(dir.path().join(".dockerignore"), dockerignore).unwrap();
        std::fs::write(dir.path().join("app.txt"), name).unwrap();
        let image = format!("flowinfra-test/labels-{name}-{}-{}", std::process::id(), unique());
        let _cleanup = RemoveImages(vec![image.clone()]);
        let build = Build {
            context: dir.path().to_path_buf(),
            dockerfile: "Dockerfile".into(),
            args: BTreeMap::new(),
            target: None,
        };
        let labels = BTreeMap::from([
            ("io.flowinfra.test-a".to_string(), "1".to_string()),
            ("io.flowinfra.test-b".to_string(), "2".to_string()),
        ]);
        let request = BuildRequest {
            reference: image.clone(),
            dockerfile: "Dockerfile".into(),
            args: BTreeMap::new(),
            target: None,
            labels: labels.clone(),
        };
        let context = BuildContext::collect(&build).unwrap();
        let built = engine.build_image(context.tar().unwrap(), &request).await.unwrap();
        for (key, value) in &labels {
            assert_eq!(built.labels.get(key), Some(value), "{name}: labels {:?}", built.labels);
        }
        let history = Command::new("docker")
            .args(["history", "--no-trunc", "--format", "{{.CreatedBy}}", &image])
            .output()
            .unwrap();
        let history = String::from_utf8_lossy(&history.stdout);
        let steps = history.lines().filter(|line| line.contains("LABEL")).count();
        assert_eq!(steps, label_steps, "{name}: history\n{history}");
    }
}
