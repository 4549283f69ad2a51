//! Readers for value forms Compose uses in many places: durations, commands
//! (a list, or a string split like a shell would) and paths relative to the
//! file that names them. Each reports its problem at the node.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::spec::error::Diagnostic;
use crate::spec::reader::Reader;
use crate::spec::syntax::{parse_duration, resolve_path};
use crate::spec::yaml::{Node, Value};

pub(crate) fn read_duration(r: &mut Reader, node: &Node, what: &str) -> Option<Duration> {
    let text = r.string(node, what)?;
    match parse_duration(&text) {
        Ok(duration) => Some(duration),
        Err(reason) => {
            r.push(
                Diagnostic::at(
                    &node.position,
                    format!("invalid duration `{text}` for {what}: {reason}"),
                )
                .with_hint("write durations as Compose does, e.g. 500ms, 10s, 1m30s, 2h"),
            );
            None
        }
    }
}

/// A list of strings, or one string split like a shell would (Compose's `command: a b c`).
pub(super) fn read_command(r: &mut Reader, node: &Node, what: &str) -> Option<Vec<String>> {
    match &node.value {
        Value::Scalar { text, .. } => match shlex::split(text) {
            Some(words) => Some(words),
            None => {
                r.error(&node.position, format!("{what} has an unterminated quote"));
                None
            }
        },
        Value::Sequence(items) => {
            let item_what = format!("an item of {what}");
            items.iter().map(|item| r.string(item, &item_what)).collect()
        }
        Value::Null => Some(Vec::new()),
        Value::Mapping(_) => {
            r.error(
                &node.position,
                format!("{what} must be a string or a list of strings, found a mapping"),
            );
            None
        }
    }
}

/// A path written in the spec, resolved against the directory of the file that wrote it.
pub(super) fn read_path(r: &mut Reader, node: &Node, what: &str, project_dir: &Path) -> Option<PathBuf> {
    let text = r.non_empty_string(node, what)?;
    Some(resolve_path(&text, &node.position, project_dir))
}

pub(crate) fn read_existing_dir(r: &mut Reader, node: &Node, what: &str, project_dir: &Path) -> Option<PathBuf> {
    let path = read_path(r, node, what, project_dir)?;
    if !path.is_dir() {
        r.push(
            Diagnostic::at(
                &node.position,
                format!("{what} `{}` is not a directory", path.display()),
            )
            .with_hint("paths are relative to the spec file that names them"),
        );
        return None;
    }
    Some(path)
}
