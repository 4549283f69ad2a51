//! Build contexts of `build:` services: which files go in (honouring
//! `.dockerignore` as the docker CLI does), their content hash, and the tar
//! sent to the engine.
//!
//! The hash covers exactly what the tar carries: every entry's path, type and
//! permission bits, each file's bytes and each link's target, plus the
//! Dockerfile's path, the build args and the target. It is stored on the
//! built image as `io.flowinfra.context-hash`, so an unchanged context is
//! never rebuilt and a changed one always is — the stale `db-init` image of
//! the Flowlite kit cannot happen.

mod dockerignore;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use self::dockerignore::{DockerIgnore, ParentMatches, PatternError, clean};
use crate::spec::{Build, PullPolicy};

/// The label on a built image holding its context hash (the engine's
/// `LABEL_CONTEXT_HASH`, named here so this module stays pure).
const CONTEXT_HASH_LABEL: &str = "io.flowinfra.context-hash";

/// Whether a `build:` service's image must be built: the one decision
/// `up` acts on and `plan`, `ps` and `check` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildDecision {
    /// The present image was built from this very context.
    Keep,
    Build {
        reason: BuildReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildReason {
    /// `pull_policy: build` builds on every `up` (the engine's cache makes an unchanged one quick).
    PullPolicyBuild,
    NoImage,
    /// The image's context hash differs from the working tree's (or it has none).
    ContextChanged,
}

impl BuildReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildReason::PullPolicyBuild => "pull_policy: build",
            BuildReason::NoImage => "no image yet",
            BuildReason::ContextChanged => "build context changed",
        }
    }
}

/// Decides whether to build, from the service's pull policy, the labels of
/// the image its tag names now (`None`: no such image) and the hash of its
/// context as it is now. Pure.
pub fn build_decision(
    pull_policy: PullPolicy,
    present: Option<&BTreeMap<String, String>>,
    context_hash: &str,
) -> BuildDecision {
    let reason = match present {
        _ if pull_policy == PullPolicy::Build => BuildReason::PullPolicyBuild,
        None => BuildReason::NoImage,
        Some(labels) if labels.get(CONTEXT_HASH_LABEL).map(String::as_str) == Some(context_hash) => {
            return BuildDecision::Keep;
        }
        Some(_) => BuildReason::ContextChanged,
    };
    BuildDecision::Build { reason }
}

/// The entries of one build context, in a stable order.
#[derive(Debug, Clone)]
pub struct BuildContext {
    root: PathBuf,
    /// Paths relative to the root, sorted; directories included.
    entries: Vec<PathBuf>,
    hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildContextError {
    #[error("cannot read build context `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid .dockerignore `{path}`, {error}; fix or remove that line")]
    Ignore { path: PathBuf, error: PatternError },
}

impl BuildContext {
    /// Walks the context, as the docker CLI would send it, and hashes it.
    pub fn collect(build: &Build) -> Result<BuildContext, BuildContextError> {
        let root = build.context.clone();
        let ignore = dockerignore(&root)?.keeping_build_files(&build.dockerfile);
        let mut entries = Vec::new();
        walk(&root, Path::new(""), &ignore, None, &mut entries)?;
        entries.sort();
        let mut hasher = Sha256::new();
        for relative in &entries {
            let path = root.join(relative);
            let read = |source| BuildContextError::Read {
                path: path.clone(),
                source,
            };
            let metadata = std::fs::symlink_metadata(&path).map_err(read)?;
            let file_type = metadata.file_type();
            let (kind, content) = if file_type.is_symlink() {
                let target = std::fs::read_link(&path).map_err(read)?;
                (b'l', target.into_os_string().into_encoded_bytes())
            } else if file_type.is_dir() {
                (b'd', Vec::new())
            } else {
                (b'f', std::fs::read(&path).map_err(read)?)
            };
            hasher.update(relative.as_os_str().as_encoded_bytes());
            hasher.update([0, kind]);
            hasher.update((metadata.permissions().mode() & 0o7777).to_le_bytes());
            hasher.update((content.len() as u64).to_le_bytes());
            hasher.update(&content);
        }
        hasher.update(b"\0dockerfile\0");
        hasher.update(build.dockerfile.as_bytes());
        let args: BTreeMap<&String, &String> = build.args.iter().collect();
        for (name, value) in args {
            hasher.update(format!("\0arg\0{name}={value}").as_bytes());
        }
        if let Some(target) = &build.target {
            hasher.update(format!("\0target\0{target}").as_bytes());
        }
        let hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(BuildContext { root, entries, hash })
    }

    /// SHA-256 of the context, Dockerfile and build args, hex-encoded.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// What the tar holds: paths relative to the root, directories included.
    pub fn entries(&self) -> &[PathBuf] {
        &self.entries
    }

    /// The context as the tar the engine's build endpoint takes.
    pub fn tar(&self) -> Result<Vec<u8>, BuildContextError> {
        let mut archive = tar::Builder::new(Vec::new());
        archive.follow_symlinks(false);
        for relative in &self.entries {
            let path = self.root.join(relative);
            archive
                .append_path_with_name(&path, relative)
                .map_err(|source| BuildContextError::Read {
                    path: path.clone(),
                    source,
                })?;
        }
        archive.into_inner().map_err(|source| BuildContextError::Read {
            path: self.root.clone(),
            source,
        })
    }
}

/// The context's `.dockerignore`, or no patterns when it has none.
fn dockerignore(root: &Path) -> Result<DockerIgnore, BuildContextError> {
    let path = root.join(".dockerignore");
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(DockerIgnore::default()),
        Err(source) => return Err(BuildContextError::Read { path, source }),
    };
    DockerIgnore::parse(&text).map_err(|error| BuildContextError::Ignore { path, error })
}

/// The docker CLI's walk: an excluded directory is skipped whole unless an
/// exception names something inside it; then it is entered but gets no entry
/// of its own.
fn walk(
    root: &Path,
    dir: &Path,
    ignore: &DockerIgnore,
    parent: Option<&ParentMatches>,
    entries: &mut Vec<PathBuf>,
) -> Result<(), BuildContextError> {
    let absolute = root.join(dir);
    let read = |source| BuildContextError::Read {
        path: absolute.clone(),
        source,
    };
    let mut children = std::fs::read_dir(&absolute)
        .map_err(read)?
        .map(|entry| {
            let entry = entry?;
            Ok((entry.file_name(), entry.file_type()?))
        })
        .collect::<Result<Vec<_>, std::io::Error>>()
        .map_err(read)?;
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, file_type) in children {
        let relative = dir.join(&name);
        let slashed = relative.to_string_lossy();
        let (excluded, matches) = ignore.excludes(&slashed, parent);
        let is_dir = file_type.is_dir();
        if excluded {
            if is_dir && ignore.has_exception_inside(&slashed) {
                walk(root, &relative, ignore, Some(&matches), entries)?;
            }
            continue;
        }
        if is_dir {
            walk(root, &relative, ignore, Some(&matches), entries)?;
        }
        entries.push(relative);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(dir: &Path) -> Build {
        Build {
            context: dir.to_path_buf(),
            dockerfile: "Dockerfile".into(),
            args: BTreeMap::new(),
            target: None,
        }
    }

    fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_same_content_hashes_the_same() {
        let a = context(&[("Dockerfile", "FROM x"), ("app/main.py", "print(1)")]);
        let b = context(&[("app/main.py", "print(1)"), ("Dockerfile", "FROM x")]);
        assert_eq!(
            BuildContext::collect(&build(a.path())).unwrap().hash(),
            BuildContext::collect(&build(b.path())).unwrap().hash()
        );
    }

    #[test]
    fn one_changed_byte_changes_the_hash() {
        let a = context(&[("Dockerfile", "FROM x"), ("seed.sql", "INSERT 1")]);
        let before = BuildContext::collect(&build(a.path())).unwrap().hash().to_string();
        std::fs::write(a.path().join("seed.sql"), "INSERT 2").unwrap();
        assert_ne!(BuildContext::collect(&build(a.path())).unwrap().hash(), before);
    }

    #[test]
    fn build_args_change_the_hash() {
        let a = context(&[("Dockerfile", "FROM x")]);
        let plain = BuildContext::collect(&build(a.path())).unwrap().hash().to_string();
        let mut with_arg = build(a.path());
        with_arg.args.insert("SEED_VERSION".into(), "2".into());
        assert_ne!(BuildContext::collect(&with_arg).unwrap().hash(), plain);
    }

    #[test]
    fn dockerignored_files_are_left_out_and_do_not_change_the_hash() {
        let a = context(&[
            ("Dockerfile", "FROM x"),
            (".dockerignore", "*.log\nnode_modules\n!keep.log\n"),
            ("a.log", "1"),
            ("keep.log", "k"),
            ("node_modules/x.js", "x"),
            ("sub/node_modules/y.js", "y"),
        ]);
        let collected = BuildContext::collect(&build(a.path())).unwrap();
        let names: Vec<String> = collected.entries().iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                ".dockerignore",
                "Dockerfile",
                "keep.log",
                "sub",
                "sub/node_modules",
                "sub/node_modules/y.js"
            ]
        );
        let before = collected.hash().to_string();
        std::fs::write(a.path().join("a.log"), "changed").unwrap();
        assert_eq!(BuildContext::collect(&build(a.path())).unwrap().hash(), before);
    }

    #[test]
    fn the_tar_holds_the_included_files() {
        let a = context(&[("Dockerfile", "FROM x"), ("app.txt", "hello")]);
        let tar = BuildContext::collect(&build(a.path())).unwrap().tar().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["Dockerfile", "app.txt"]);
    }

    #[test]
    fn a_permission_change_changes_the_hash() {
        let a = context(&[("Dockerfile", "FROM x"), ("run.sh", "echo")]);
        let before = BuildContext::collect(&build(a.path())).unwrap().hash().to_string();
        std::fs::set_permissions(a.path().join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(BuildContext::collect(&build(a.path())).unwrap().hash(), before);
    }

    #[test]
    fn an_empty_directory_is_sent_and_hashed() {
        let a = context(&[("Dockerfile", "FROM x")]);
        let before = BuildContext::collect(&build(a.path())).unwrap().hash().to_string();
        std::fs::create_dir(a.path().join("uploads")).unwrap();
        let collected = BuildContext::collect(&build(a.path())).unwrap();
        assert_ne!(collected.hash(), before);
        let tar = collected.tar().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let dirs: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.header().entry_type().is_dir())
            .map(|e| e.path().unwrap().display().to_string())
            .collect();
        assert_eq!(dirs, ["uploads"]);
    }

    #[test]
    fn the_build_decision_compares_the_image_label_with_the_context() {
        let labels = |hash: &str| BTreeMap::from([(CONTEXT_HASH_LABEL.to_string(), hash.to_string())]);
        let built = labels("abc");
        assert_eq!(
            build_decision(PullPolicy::Missing, Some(&built), "abc"),
            BuildDecision::Keep
        );
        assert_eq!(
            build_decision(PullPolicy::Missing, Some(&built), "abd"),
            BuildDecision::Build {
                reason: BuildReason::ContextChanged
            }
        );
        // An image built by something else carries no hash: built again.
        assert_eq!(
            build_decision(PullPolicy::Missing, Some(&BTreeMap::new()), "abc"),
            BuildDecision::Build {
                reason: BuildReason::ContextChanged
            }
        );
        assert_eq!(
            build_decision(PullPolicy::Never, None, "abc"),
            BuildDecision::Build {
                reason: BuildReason::NoImage
            }
        );
        assert_eq!(
            build_decision(PullPolicy::Build, Some(&built), "abc"),
            BuildDecision::Build {
                reason: BuildReason::PullPolicyBuild
            }
        );
    }

    #[test]
    fn the_label_name_is_the_engines() {
        assert_eq!(CONTEXT_HASH_LABEL, crate::engine::LABEL_CONTEXT_HASH);
    }

    #[test]
    fn a_bad_dockerignore_line_is_named() {
        let a = context(&[("Dockerfile", "FROM x"), (".dockerignore", "ok\n!\n")]);
        let error = BuildContext::collect(&build(a.path())).unwrap_err().to_string();
        assert!(error.contains(".dockerignore") && error.contains("line 2"), "{error}");
    }
}
