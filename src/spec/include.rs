//! Top-level `include`, as Compose v2 reads it: each entry names a Compose
//! model (a file, or a file and its override files) that is loaded on its
//! own — its own project directory, its own `.env`, its own `include`s — and
//! whose resources (services, volumes, networks, secrets, configs) are then
//! copied into the including file, before that file's `extends` and before
//! it is merged with the other `-f` files.
//!
//! Forms: `- path` (a string), or `- {path, project_directory, env_file}`
//! where `path` and `env_file` are a string or a list. These paths are
//! relative to the including file's directory; the paths inside an
//! included model are relative to its project directory (the included
//! file's directory, or `project_directory`). A resource the including file also
//! defines is a conflict, refused as Compose refuses it, unless both define
//! it identically (a model included twice).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Diagnostic, SpecError, hint_for};
use super::load::{Loader, ParsedFile, read_env_file, shown};
use super::merge::same_value;
use super::syntax::normalize_lexically;
use super::yaml::{Key, Node, Position, Value};

const ENTRY_FIELDS: &[&str] = &["path", "project_directory", "env_file"];

/// The resources an included model contributes, and how to name one.
const RESOURCES: &[(&str, &str)] = &[
    ("services", "service"),
    ("volumes", "volume"),
    ("networks", "network"),
    ("secrets", "secret"),
    ("configs", "config"),
];

/// One `include` entry, its paths resolved.
struct Entry {
    position: Position,
    files: Vec<(PathBuf, Position)>,
    project_directory: Option<PathBuf>,
    env_files: Option<Vec<(PathBuf, Position)>>,
}

/// Imports the models `parsed`'s top-level `include` names into it, and
/// removes the `include` key. `including` are the files whose `include`
/// led to `parsed` (a file met again is a cycle).
pub(super) fn apply(
    loader: &mut Loader,
    parsed: &mut ParsedFile,
    variables: &BTreeMap<String, String>,
    including: &[Arc<Path>],
) -> Result<(), SpecError> {
    let Value::Mapping(entries) = &mut parsed.tree.value else {
        return Ok(());
    };
    let Some(index) = entries.iter().position(|(key, _)| key.name == "include") else {
        return Ok(());
    };
    let (_, node) = entries.remove(index);
    let items: &[Node] = match &node.value {
        Value::Sequence(items) => items,
        Value::Null => &[],
        _ => {
            return Err(Diagnostic::at(&node.position, "`include` must be a list")
                .with_hint("list the files to include: `include: [path/compose.yaml]`, or entries `{path, project_directory, env_file}`")
                .into());
        }
    };
    let mut chain: Vec<Arc<Path>> = including.to_vec();
    chain.push(parsed.file.clone());
    for item in items {
        let entry = read_entry(item, loader)?;
        let imported = load_entry(loader, &entry, variables, &chain)?;
        import(&mut parsed.tree, imported, &entry)?;
    }
    Ok(())
}

fn read_entry(item: &Node, loader: &Loader) -> Result<Entry, SpecError> {
    let paths = |node: &Node, what: &str| -> Result<Vec<(PathBuf, Position)>, SpecError> {
        let items: Vec<&Node> = match &node.value {
            Value::Sequence(items) => items.iter().collect(),
            _ => vec![node],
        };
        items
            .into_iter()
            .map(|item| match item.as_scalar().filter(|text| !text.trim().is_empty()) {
                Some(text) => Ok((
                    loader.resolve_local(text, &item.position, &format!("the include's {what}"))?,
                    item.position.clone(),
                )),
                None => Err(SpecError::from(
                    Diagnostic::at(&item.position, format!("an include's {what} must be a path"))
                        .with_hint("write a file name relative to this file, e.g. `db/compose.yaml`"),
                )),
            })
            .collect()
    };
    match &item.value {
        Value::Scalar { .. } => Ok(Entry {
            position: item.position.clone(),
            files: paths(item, "`path`")?,
            project_directory: None,
            env_files: None,
        }),
        Value::Mapping(fields) => {
            if let Some((key, _)) = fields
                .iter()
                .find(|(key, _)| !ENTRY_FIELDS.contains(&key.name.as_str()))
            {
                return Err(
                    Diagnostic::at(&key.position, format!("unknown include field `{}`", key.name))
                        .with_hint(hint_for(&key.name, ENTRY_FIELDS.iter().copied(), || {
                            format!("include fields are: {}", ENTRY_FIELDS.join(", "))
                        }))
                        .into(),
                );
            }
            let Some(path) = item.get("path") else {
                return Err(
                    Diagnostic::at(&item.position, "an include entry needs `path`: the file to include")
                        .with_hint("write `- path: dir/compose.yaml`, or just `- dir/compose.yaml`")
                        .into(),
                );
            };
            let files = paths(path, "`path`")?;
            if files.is_empty() {
                return Err(Diagnostic::at(&path.position, "an include's `path` lists no file")
                    .with_hint("list the file to include, then any override files for it")
                    .into());
            }
            let project_directory = match item.get("project_directory") {
                Some(node) => Some(paths(node, "`project_directory`")?.remove(0).0),
                None => None,
            };
            let env_files = match item.get("env_file") {
                Some(node) => Some(paths(node, "`env_file`")?),
                None => None,
            };
            Ok(Entry {
                position: item.position.clone(),
                files,
                project_directory,
                env_files,
            })
        }
        _ => Err(Diagnostic::at(
            &item.position,
            "an include entry must be a path or a mapping with `path`",
        )
        .with_hint("write `- dir/compose.yaml`, or `- {path: dir/compose.yaml, env_file: dir/.env}`")
        .into()),
    }
}

/// Loads the model an entry names, with its own variables: the including
/// model's, and for names those do not set, the entry's `env_file`s (or the
/// included project directory's `.env`), as Compose does.
fn load_entry(
    loader: &mut Loader,
    entry: &Entry,
    variables: &BTreeMap<String, String>,
    chain: &[Arc<Path>],
) -> Result<Node, SpecError> {
    let (main, main_position) = &entry.files[0];
    let main = &normalize_lexically(main);
    if let Some(start) = chain.iter().position(|file| normalize_lexically(file) == *main) {
        let names: Vec<String> = chain[start..]
            .iter()
            .chain(std::iter::once(&Arc::from(main.as_path())))
            .map(|file| format!("`{}`", shown(file)))
            .collect();
        return Err(
            Diagnostic::at(main_position, format!("include cycle: {}", names.join(" includes ")))
                .with_hint("a file cannot include itself, directly or through the files it includes")
                .into(),
        );
    }
    let project_directory = entry
        .project_directory
        .clone()
        .unwrap_or_else(|| main.parent().map(Path::to_path_buf).unwrap_or_default());
    let env_files: Vec<(PathBuf, Option<&Position>)> = match &entry.env_files {
        // `/dev/null` stands for "no env file", as in Compose.
        Some(files) => files
            .iter()
            .filter(|(path, _)| path.as_path() != Path::new("/dev/null"))
            .map(|(path, position)| (path.clone(), Some(position)))
            .collect(),
        None => {
            let dotenv = project_directory.join(".env");
            if dotenv.is_file() {
                vec![(dotenv, None)]
            } else {
                Vec::new()
            }
        }
    };
    let mut from_files = BTreeMap::new();
    for (path, position) in env_files {
        if !path.is_file()
            && let Some(position) = position
        {
            return Err(
                Diagnostic::at(position, format!("env file `{}` does not exist", shown(&path)))
                    .with_hint("an include's `env_file` is relative to the directory of the file that includes it")
                    .into(),
            );
        }
        read_env_file(&path, &mut from_files)?;
    }
    let mut included_variables = variables.clone();
    for (name, value) in from_files {
        included_variables.entry(name).or_insert(value);
    }
    let mut files = Vec::new();
    for (path, position) in &entry.files {
        let text = loader.read_text(path, position, "included file")?;
        files.push((Arc::from(path.as_path()), text));
    }
    let outer = std::mem::replace(&mut loader.model_dir, entry.project_directory.clone());
    let model = loader.load_model(files, &included_variables, chain);
    loader.model_dir = outer;
    let mut model = model?;
    if let Some(directory) = &entry.project_directory {
        rebase_relative_paths(&mut model, directory);
    }
    Ok(model)
}

/// Makes the relative paths of an included model relative to its explicit
/// `project_directory` (written as absolute paths), as Compose resolves
/// them; without one they stay relative to the files that hold them, which
/// is the included file's directory. The fields are the ones that hold host
/// paths: build contexts, env files, bind mounts, `label_file`, the `file`
/// of secrets and configs, and `x-flowinfra`'s migrations and seed directories.
fn rebase_relative_paths(model: &mut Node, directory: &Path) {
    let Value::Mapping(sections) = &mut model.value else {
        return;
    };
    for (section, node) in sections.iter_mut() {
        let Value::Mapping(entries) = &mut node.value else {
            continue;
        };
        for (_, resource) in entries.iter_mut() {
            match section.name.as_str() {
                "services" => rebase_service(resource, directory),
                "secrets" | "configs" => rebase_field(resource, "file", directory),
                _ => {}
            }
        }
    }
}

fn rebase_service(service: &mut Node, directory: &Path) {
    let Value::Mapping(fields) = &mut service.value else {
        return;
    };
    for (key, value) in fields.iter_mut() {
        match key.name.as_str() {
            "build" => rebase_field(value, "context", directory),
            "env_file" | "label_file" => for_each_item(value, |item| match &item.value {
                Value::Mapping(_) => rebase_field(item, "path", directory),
                _ => rebase_scalar(item, directory),
            }),
            "volumes" => for_each_item(value, |item| {
                // A named volume's `source` is a name, not a path.
                let bind = item.get("type").and_then(Node::as_scalar) == Some("bind");
                match &mut item.value {
                    Value::Scalar { text, .. } => {
                        let (source, rest) = text.split_once(':').unwrap_or((text.as_str(), ""));
                        if source.starts_with('.') && !rest.is_empty() {
                            *text = format!("{}:{rest}", rebased(source, directory));
                        }
                    }
                    Value::Mapping(_) if bind => rebase_field(item, "source", directory),
                    _ => {}
                }
            }),
            "x-flowinfra" => {
                rebase_field(value, "migrations", directory);
                rebase_field(value, "seed", directory);
                if let Some(Value::Sequence(databases)) = value.value_mut("databases") {
                    for database in databases {
                        rebase_field(database, "migrations", directory);
                        rebase_field(database, "seed", directory);
                    }
                }
            }
            _ => {}
        }
    }
}

fn for_each_item(node: &mut Node, mut each: impl FnMut(&mut Node)) {
    match &mut node.value {
        Value::Sequence(items) => items.iter_mut().for_each(each),
        _ => each(node),
    }
}

/// Rebases the scalar at `field` of a mapping.
fn rebase_field(node: &mut Node, field: &str, directory: &Path) {
    if let Value::Mapping(entries) = &mut node.value
        && let Some((_, value)) = entries.iter_mut().find(|(key, _)| key.name == field)
    {
        rebase_scalar(value, directory);
    }
}

fn rebase_scalar(node: &mut Node, directory: &Path) {
    if let Value::Scalar { text, .. } = &mut node.value
        && is_relative_host_path(text)
    {
        *text = rebased(text, directory);
    }
}

/// A relative host path: not absolute, not `~/…`, not a URL (a remote build context).
fn is_relative_host_path(text: &str) -> bool {
    !text.is_empty()
        && Path::new(text).is_relative()
        && !text.starts_with('~')
        && !text.contains("://")
        && !text.starts_with("git@")
}

fn rebased(text: &str, directory: &Path) -> String {
    normalize_lexically(&directory.join(text)).display().to_string()
}

/// Copies `imported`'s resources into `tree`; a resource `tree` defines
/// differently is a conflict.
fn import(tree: &mut Node, imported: Node, entry: &Entry) -> Result<(), SpecError> {
    let Value::Mapping(imported) = imported.value else {
        return Ok(());
    };
    if tree.is_null() {
        tree.value = Value::Mapping(Vec::new());
    }
    let Value::Mapping(entries) = &mut tree.value else {
        return Ok(());
    };
    let mut diagnostics = Vec::new();
    for (section, resources) in imported {
        let Some((_, what)) = RESOURCES.iter().find(|(name, _)| *name == section.name) else {
            continue;
        };
        let Value::Mapping(resources) = resources.value else {
            continue;
        };
        let index = match entries.iter().position(|(key, _)| key.name == section.name) {
            Some(index) => index,
            None => {
                let position = entry.position.clone();
                entries.push((section.clone(), Node::new(Value::Mapping(Vec::new()), position)));
                entries.len() - 1
            }
        };
        let target = &mut entries[index].1;
        if target.is_null() {
            target.value = Value::Mapping(Vec::new());
        }
        let Value::Mapping(existing) = &mut target.value else {
            continue;
        };
        for (name, definition) in resources {
            match existing.iter().find(|(key, _)| key.name == name.name) {
                None => existing.push((name, definition)),
                Some((_, present)) if same_value(present, &definition) => {}
                Some((key, _)) => diagnostics.push(conflict(key, &name, what)),
            }
        }
    }
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(SpecError { diagnostics })
    }
}

fn conflict(here: &Key, imported: &Key, what: &str) -> Diagnostic {
    Diagnostic::at(
        &here.position,
        format!(
            "{what} `{}` is also defined by the included file `{}` (line {}); Compose refuses such a conflict",
            here.name,
            shown(&imported.position.file),
            imported.position.line
        ),
    )
    .with_hint(format!(
        "rename one of them; to change the included {what}, list an override file after the included file \
         in the include's `path` (`path: [{}, override.yaml]`)",
        imported.position.file.file_name().unwrap_or_default().to_string_lossy()
    ))
}
