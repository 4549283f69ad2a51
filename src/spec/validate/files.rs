//! A service's `secrets` and `configs`: which top-level entry each names and
//! where it appears in the container, as Compose v2 places them without
//! Swarm (secrets under `/run/secrets/`, configs under `/`).

use std::collections::BTreeMap;

use crate::spec::error::{Diagnostic, hint_for};
use crate::spec::model::{FileMount, FileObject};
use crate::spec::reader::{Fields, Reader};
use crate::spec::yaml::{Node, Value};

/// How one of the two kinds is named and placed.
pub(super) struct Kind {
    /// `secret` or `config`.
    what: &'static str,
    /// Where a target without a leading `/` (or none) goes.
    directory: &'static str,
}

pub(super) const SECRETS: Kind = Kind {
    what: "secret",
    directory: "/run/secrets/",
};
pub(super) const CONFIGS: Kind = Kind {
    what: "config",
    directory: "/",
};

const REFERENCE_FIELDS: &[&str] = &["source", "target", "uid", "gid", "mode"];

/// The entries of a service's `secrets` or `configs` list: a name, or
/// `{source, target, uid, gid, mode}`.
pub(super) fn file_mounts(
    r: &mut Reader,
    node: &Node,
    service: &str,
    kind: Kind,
    declared: &BTreeMap<String, FileObject>,
) -> Vec<FileMount> {
    let what = kind.what;
    let mut mounts = Vec::new();
    for item in r.list(node, &format!("`{what}s`")) {
        let (source, target, uid, gid, mode) = match &item.value {
            Value::Mapping(entries) => {
                r.check_keys(entries, &Fields::new(what, REFERENCE_FIELDS).with_extensions());
                let text = |r: &mut Reader, field: &str| {
                    item.get(field)
                        .and_then(|n| r.non_empty_string(n, &format!("{what} `{field}`")))
                };
                let Some(source) = text(r, "source") else {
                    r.error(&item.position, format!("a {what} entry needs `source`"));
                    continue;
                };
                let mode = item.get("mode").and_then(|n| file_mode(r, n));
                (source, text(r, "target"), text(r, "uid"), text(r, "gid"), mode)
            }
            _ => match r.non_empty_string(item, &format!("an item of `{what}s`")) {
                Some(source) => (source, None, None, None, None),
                None => continue,
            },
        };
        let Some(object) = declared.get(&source) else {
            let hint = hint_for(&source, declared.keys().map(String::as_str), || {
                format!("declare it under the top-level `{what}s:` with a `file:`")
            });
            r.push(
                Diagnostic::at(
                    &item.position,
                    format!("service `{service}` uses {what} `{source}`, which is not declared"),
                )
                .with_hint(hint),
            );
            continue;
        };
        if object.external {
            r.push(
                Diagnostic::at(
                    &item.position,
                    format!("service `{service}` uses the external {what} `{source}`, which only Swarm provides"),
                )
                .with_hint(format!(
                    "Compose without Swarm refuses it at `up` too; give the {what} a `file:` (or `environment:`) source"
                )),
            );
            continue;
        }
        if let Some(variable) = &object.environment
            && object.environment_value.is_none()
        {
            r.push(
                Diagnostic::at(
                    &item.position,
                    format!("service `{service}` uses {what} `{source}`, whose variable `{variable}` is not set"),
                )
                .with_hint(format!("set `{variable}` in the environment or in .env")),
            );
            continue;
        }
        if object.file.is_some() && (uid.is_some() || gid.is_some() || mode.is_some()) {
            // A bind-mounted file keeps its owner and mode on the host.
            r.warn(format!(
                "service `{service}`: {what} `{source}`: `uid`, `gid` and `mode` are ignored for a `file:` {what}, \
                 as in Compose (the file is mounted as it is on the host)"
            ));
        }
        let target = match target {
            Some(target) if target.starts_with('/') => target,
            Some(target) => format!("{}{target}", kind.directory),
            None => format!("{}{source}", kind.directory),
        };
        if target.split('/').any(|part| part == "..") {
            r.error(
                &item.position,
                format!("{what} target `{target}` must not contain `..`"),
            );
            continue;
        }
        mounts.push(FileMount {
            source,
            target,
            uid,
            gid,
            mode,
        });
    }
    mounts
}

/// `mode: 0440` (octal, as Compose reads it) or `mode: 288`.
fn file_mode(r: &mut Reader, node: &Node) -> Option<u32> {
    let text = r.string(node, "`mode`")?;
    let parsed = match text.strip_prefix("0o").or_else(|| text.strip_prefix('0')) {
        Some(octal) if !octal.is_empty() => u32::from_str_radix(octal, 8).ok(),
        _ => text.parse::<u32>().ok(),
    };
    if parsed.is_none_or(|mode| mode > 0o7777) {
        r.error(
            &node.position,
            format!("`mode` must be file permissions such as 0440, found `{text}`"),
        );
        return None;
    }
    parsed
}

/// Content from `environment` or `content` is copied into the container,
/// which a read-only root filesystem refuses: said here, at the service.
pub(super) fn check_copied_into_read_only(
    r: &mut Reader,
    node: &Node,
    service: &str,
    declared: &BTreeMap<String, FileObject>,
    mounts: &[FileMount],
    what: &str,
) {
    for mount in mounts {
        let copied = declared.get(&mount.source).is_some_and(|object| object.file.is_none());
        if copied {
            let position = node.get("read_only").unwrap_or(node).position.clone();
            r.push(
                Diagnostic::at(
                    &position,
                    format!(
                        "service `{service}` is `read_only`, so its {what} `{}` cannot be written into it",
                        mount.source
                    ),
                )
                .with_hint(format!(
                    "give the {what} a `file:` source (mounted, not written), as Compose requires too"
                )),
            );
        }
    }
}
