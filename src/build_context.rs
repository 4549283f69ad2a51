//! Build contexts of `build:` services: which files go in (honouring
//! `.dockerignore`), their content hash, and the tar sent to the engine.
//!
//! The hash covers every included file's path, executable bit and bytes,
//! the Dockerfile's path, the build args and the target. It is stored on the
//! built image as `io.flowinfra.context-hash`, so an unchanged context is
//! never rebuilt and a changed one always is — the stale `db-init` image of
//! the Flowlite kit cannot happen.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use sha2::{Digest, Sha256};

use crate::spec::Build;

/// The files of one build context, in a stable order.
#[derive(Debug, Clone)]
pub struct BuildContext {
    root: PathBuf,
    /// Paths relative to the root, sorted.
    files: Vec<PathBuf>,
    hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildContextError {
    #[error("cannot read build context `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid .dockerignore in `{path}`: {message}")]
    Ignore { path: PathBuf, message: String },
}

impl BuildContext {
    /// Walks the context and hashes it.
    pub fn collect(build: &Build) -> Result<BuildContext, BuildContextError> {
        let root = build.context.clone();
        let ignore = dockerignore(&root)?;
        let mut files = Vec::new();
        walk(&root, &root, &ignore, &mut files)?;
        files.sort();
        let mut hasher = Sha256::new();
        for relative in &files {
            let path = root.join(relative);
            let metadata = std::fs::symlink_metadata(&path).map_err(|source| BuildContextError::Read {
                path: path.clone(),
                source,
            })?;
            let content = if metadata.file_type().is_symlink() {
                std::fs::read_link(&path).map(|target| target.into_os_string().into_encoded_bytes())
            } else {
                std::fs::read(&path)
            }
            .map_err(|source| BuildContextError::Read {
                path: path.clone(),
                source,
            })?;
            let executable = metadata.permissions().mode() & 0o111 != 0;
            hasher.update(relative.as_os_str().as_encoded_bytes());
            hasher.update([0, u8::from(executable)]);
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
        Ok(BuildContext { root, files, hash })
    }

    /// SHA-256 of the context, Dockerfile and build args, hex-encoded.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The context as the tar the engine's build endpoint takes.
    pub fn tar(&self) -> Result<Vec<u8>, BuildContextError> {
        let mut archive = tar::Builder::new(Vec::new());
        archive.follow_symlinks(false);
        for relative in &self.files {
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

/// `.dockerignore` patterns are relative to the context root (unlike
/// `.gitignore`, a bare `foo` matches only at the root), so each pattern is
/// anchored before it goes to the gitignore matcher.
fn dockerignore(root: &Path) -> Result<Gitignore, BuildContextError> {
    let path = root.join(".dockerignore");
    let mut builder = GitignoreBuilder::new(root);
    if let Ok(text) = std::fs::read_to_string(&path) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negated, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
            let anchored = if pattern.starts_with("**") {
                pattern.to_string()
            } else {
                format!("/{pattern}")
            };
            let anchored = if negated { format!("!{anchored}") } else { anchored };
            builder
                .add_line(None, &anchored)
                .map_err(|err| BuildContextError::Ignore {
                    path: path.clone(),
                    message: err.to_string(),
                })?;
        }
    }
    builder.build().map_err(|err| BuildContextError::Ignore {
        path,
        message: err.to_string(),
    })
}

fn walk(root: &Path, dir: &Path, ignore: &Gitignore, files: &mut Vec<PathBuf>) -> Result<(), BuildContextError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BuildContextError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| BuildContextError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|source| BuildContextError::Read {
            path: path.clone(),
            source,
        })?;
        let is_dir = file_type.is_dir();
        if ignore.matched_path_or_any_parents(&path, is_dir).is_ignore() {
            continue;
        }
        if is_dir {
            walk(root, &path, ignore, files)?;
        } else {
            files.push(path.strip_prefix(root).expect("walked inside the root").to_path_buf());
        }
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
        let names: Vec<String> = collected.files().iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [".dockerignore", "Dockerfile", "keep.log", "sub/node_modules/y.js"]
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
}
