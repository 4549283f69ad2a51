//! Read-only bind mounts of small local files as ConfigMaps.
//!
//! No cluster node has the project's folders, but a folder of a few small
//! files the container only reads — the SQL a PostgreSQL image runs from
//! `/docker-entrypoint-initdb.d`, a configuration file — travels well in a
//! ConfigMap mounted at the same place. ConfigMaps hold at most 1 MiB
//! (Kubernetes refuses bigger ones), have flat keys and are read-only, so
//! a writable mount, a folder with subfolders or more than 1 MiB is
//! refused with what to do instead (see docs/decisions.md, issue 19).

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::ByteString;

/// The most a ConfigMap can hold: Kubernetes refuses a bigger object.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;

/// The files of one bind mount, ready to become a ConfigMap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountedFiles {
    /// UTF-8 files by name.
    pub data: BTreeMap<String, String>,
    /// Other files by name (`binaryData`).
    pub binary: BTreeMap<String, ByteString>,
    /// Files with an execute bit (the postgres image runs an executable
    /// `*.sh` and only sources the others): mounted with mode 0755.
    pub executable: Vec<String>,
    /// The mount is one file (mounted with `subPath`), not a folder.
    pub single_file: Option<String>,
    /// Every byte of every file.
    pub bytes: usize,
}

impl MountedFiles {
    pub fn count(&self) -> usize {
        self.data.len() + self.binary.len()
    }
}

/// A path of this machine that is not files at all (a socket, a device):
/// nothing to ship, the pod must do without it.
pub const NOT_FILES: &str = "neither a file nor a folder (a socket or a device)";

/// Reads the files at `path` (a file or a folder of files) for a
/// ConfigMap, or says why they cannot be one.
pub fn read(path: &Path) -> Result<MountedFiles, String> {
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => format!("{} does not exist", path.display()),
        _ => format!("cannot read {}: {error}", path.display()),
    })?;
    let mut files = MountedFiles::default();
    if metadata.is_file() {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        add(&mut files, &name, path)?;
        files.single_file = Some(name);
    } else if !metadata.is_dir() {
        return Err(format!(
            "{} is {NOT_FILES}, which no cluster node shares",
            path.display()
        ));
    } else {
        let entries = std::fs::read_dir(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file = entry.path();
            // Follows symbolic links, as the bind mount would.
            if std::fs::metadata(&file).is_ok_and(|metadata| metadata.is_dir()) {
                return Err(format!("it holds the folder {name}, and a ConfigMap has no folders"));
            }
            add(&mut files, &name, &file)?;
        }
    }
    if files.bytes > CONFIG_MAP_LIMIT {
        return Err(format!(
            "its files hold {} bytes, more than the 1 MiB ({CONFIG_MAP_LIMIT} bytes) a ConfigMap can hold",
            files.bytes
        ));
    }
    Ok(files)
}

fn add(files: &mut MountedFiles, name: &str, path: &Path) -> Result<(), String> {
    if !is_key(name) {
        return Err(format!(
            "`{name}` cannot be a ConfigMap key (letters, digits, `-`, `_` and `.` only)"
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    files.bytes += bytes.len();
    if is_executable(path) {
        files.executable.push(name.to_string());
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            files.data.insert(name.to_string(), text);
        }
        Err(error) => {
            files.binary.insert(name.to_string(), ByteString(error.into_bytes()));
        }
    }
    Ok(())
}

/// A ConfigMap key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
fn is_key(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|metadata| metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_small_files_reads_as_text_and_binary_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("01-init.sql"), "CREATE EXTENSION pg_trgm;\n").unwrap();
        std::fs::write(dir.path().join("logo.bin"), [0xff, 0xfe, 0x00]).unwrap();
        let files = read(dir.path()).unwrap();
        assert_eq!(files.data["01-init.sql"], "CREATE EXTENSION pg_trgm;\n");
        assert_eq!(files.binary["logo.bin"], ByteString(vec![0xff, 0xfe, 0x00]));
        assert_eq!(files.count(), 2);
        assert_eq!(files.bytes, 29);
        assert_eq!(files.single_file, None);
    }

    #[cfg(unix)]
    #[test]
    fn an_executable_script_is_noted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("10-setup.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(read(dir.path()).unwrap().executable, ["10-setup.sh"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_is_refused_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let error = read(&socket).unwrap_err();
        assert!(
            error.ends_with(
                "engine.sock is neither a file nor a folder (a socket or a device), which no cluster node shares"
            ),
            "{error}"
        );
    }

    #[test]
    fn one_file_is_a_single_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nginx.conf"), "events {}\n").unwrap();
        let files = read(&dir.path().join("nginx.conf")).unwrap();
        assert_eq!(files.single_file.as_deref(), Some("nginx.conf"));
        assert_eq!(files.data.len(), 1);
    }

    #[test]
    fn more_than_a_config_map_holds_is_refused_with_the_size() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.sql"), vec![b'x'; CONFIG_MAP_LIMIT + 1]).unwrap();
        let error = read(dir.path()).unwrap_err();
        assert!(
            error.contains("1048577 bytes, more than the 1 MiB (1048576 bytes) a ConfigMap can hold"),
            "{error}"
        );
    }

    #[test]
    fn subfolders_missing_paths_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        assert!(read(dir.path()).unwrap_err().contains("holds the folder nested"));
        assert!(
            read(&dir.path().join("missing"))
                .unwrap_err()
                .ends_with("/missing does not exist")
        );
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("a file.sql"), "").unwrap();
        assert!(
            read(other.path())
                .unwrap_err()
                .contains("`a file.sql` cannot be a ConfigMap key")
        );
    }
}
