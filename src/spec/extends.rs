//! Service `extends`, as Compose v2 applies it: `extends: base` (a service
//! of the same file) or `extends: {service, file}` (a service of another
//! file, relative to the extending file's directory). The extended service
//! is resolved first (chains of `extends` follow, a cycle is an error),
//! then the extending service is merged on it by the rules `-f` files merge
//! with; a `!reset`/`!override` in the extending service drops what the base
//! set there. Applied to each file before it is merged with the others, so
//! a service extends what its own file (or the named file) says.
//!
//! Values keep the position of the file that wrote them: an error in an
//! inherited field points into the base file, and its relative paths
//! resolve against the base file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::error::{Diagnostic, SpecError, hint_for};
use super::load::{Loader, ParsedFile};
use super::merge::{TreePath, merge_service, remove_paths};
use super::syntax::resolve_path;
use super::yaml::{Node, Position, Value, node_count};

const EXTENDS_FIELDS: &[&str] = &["service", "file"];

/// How many nodes `extends` may copy from base services in one load: ten
/// times what aliases may copy into one file, far above real files.
pub const MAX_INHERITED_NODES: usize = 10 * super::yaml::MAX_ALIAS_NODES;

/// Applies `extends` to every service of `parsed` that has it.
pub(super) fn apply(
    loader: &mut Loader,
    parsed: &mut ParsedFile,
    variables: &BTreeMap<String, String>,
) -> Result<(), SpecError> {
    let extending: Vec<String> = services(&parsed.tree)
        .iter()
        .filter(|(_, service)| service.get("extends").is_some())
        .map(|(key, _)| key.name.clone())
        .collect();
    if extending.is_empty() {
        return Ok(());
    }
    let file = Rc::new(File {
        path: parsed.file.clone(),
        tree: parsed.tree.clone(),
        tag_paths: parsed.tags.paths.clone(),
    });
    let mut resolver = Resolver {
        model_file: parsed.file.clone(),
        loader,
        variables,
        files: BTreeMap::new(),
        chain: Vec::new(),
    };
    let mut resolved = Vec::new();
    for name in extending {
        resolved.push((name.clone(), resolver.service(&file, &name)?));
    }
    let Some(Value::Mapping(entries)) = parsed.tree.value_mut("services") else {
        return Ok(());
    };
    for (name, service) in resolved {
        if let Some((_, slot)) = entries.iter_mut().find(|(key, _)| key.name == name) {
            *slot = service;
        }
    }
    Ok(())
}

/// The services of a file's tree (none when it has no `services` mapping).
fn services(tree: &Node) -> &[(super::yaml::Key, Node)] {
    tree.get("services").and_then(Node::as_mapping).unwrap_or_default()
}

/// A file services are extended from, as read (tags taken off, `extends` not applied).
struct File {
    path: Arc<Path>,
    tree: Node,
    tag_paths: Vec<TreePath>,
}

struct Resolver<'l, 'v> {
    /// The file whose services are being resolved (its model's own file).
    model_file: Arc<Path>,
    loader: &'l mut Loader,
    variables: &'v BTreeMap<String, String>,
    /// The other files named by `extends.file`, each read once.
    files: BTreeMap<PathBuf, Rc<File>>,
    /// The services being resolved, outermost first (a repeat is a cycle).
    chain: Vec<(Arc<Path>, String, Position)>,
}

impl Resolver<'_, '_> {
    /// The service `name` of `file` with its `extends` applied (and without the key).
    fn service(&mut self, file: &Rc<File>, name: &str) -> Result<Node, SpecError> {
        let service = services(&file.tree)
            .iter()
            .find(|(key, _)| key.name == name)
            .map(|(_, service)| service.clone())
            .expect("callers check that the service exists");
        let Some(extends) = service.get("extends").cloned() else {
            return Ok(service);
        };
        let target = read_extends(&extends)?;
        if let Some(start) = self
            .chain
            .iter()
            .position(|(path, service, _)| path == &file.path && service == name)
        {
            return Err(self.cycle(start, &file.path, name).into());
        }
        let base_file = match &target.file {
            None => file.clone(),
            Some((text, position)) => self.file(text, position)?,
        };
        if !services(&base_file.tree)
            .iter()
            .any(|(key, _)| key.name == target.service)
        {
            return Err(not_found(&target, name, &file.path, &base_file).into());
        }
        self.chain
            .push((file.path.clone(), name.to_string(), extends.position.clone()));
        let base = self.service(&base_file, &target.service);
        self.chain.pop();
        let mut base = base?;
        // Each extending service copies its base, so many services extending
        // a large one multiply it, as aliases do: bounded the same way.
        self.loader.inherited_nodes += node_count(&base);
        if self.loader.inherited_nodes > MAX_INHERITED_NODES {
            return Err(Diagnostic::at(
                &extends.position,
                format!("`extends` copies more than {MAX_INHERITED_NODES} values in all"),
            )
            .with_hint("services extending large services multiply them; extend smaller bases, or fewer times")
            .into());
        }

        // What this file tags `!reset`/`!override` in the service is not inherited.
        let own_tags: Vec<TreePath> = file
            .tag_paths
            .iter()
            .filter(|path| path.len() > 2 && path[0] == "services" && path[1] == name)
            .map(|path| path[2..].to_vec())
            .collect();
        remove_paths(&mut base, &own_tags);
        let mut own = service;
        if let Value::Mapping(fields) = &mut own.value {
            fields.retain(|(key, _)| key.name != "extends");
        }
        Ok(merge_service(base, own, name))
    }

    /// The file `extends.file` names, read once.
    fn file(&mut self, text: &str, position: &Position) -> Result<Rc<File>, SpecError> {
        // The model's own file names paths as its model does (relative to an
        // included model's project directory); an extended file, relative to itself.
        let path = if position.file == self.model_file {
            self.loader.resolve_local(text, position, "the extended file")?
        } else {
            resolve_path(text, position, &self.loader.project_dir)
        };
        if let Some(file) = self.files.get(&path) {
            return Ok(file.clone());
        }
        let parsed = self
            .loader
            .read_file(&path, position, "extended file", self.variables)?;
        let file = Rc::new(File {
            path: parsed.file,
            tree: parsed.tree,
            tag_paths: parsed.tags.paths,
        });
        self.files.insert(path, file.clone());
        Ok(file)
    }

    /// "`a` extends `b`, which extends `a`", at the `extends` that closes the cycle.
    fn cycle(&self, start: usize, path: &Arc<Path>, name: &str) -> Diagnostic {
        let several_files = self.chain[start..].iter().any(|(file, _, _)| file != path);
        let named = |file: &Path, service: &str| {
            if several_files {
                format!(
                    "`{service}` ({})",
                    file.file_name().unwrap_or_default().to_string_lossy()
                )
            } else {
                format!("`{service}`")
            }
        };
        let services: Vec<String> = self.chain[start..]
            .iter()
            .map(|(file, service, _)| named(file, service))
            .chain(std::iter::once(named(path, name)))
            .collect();
        let text = format!("{} extends {}", services[0], services[1..].join(", which extends "));
        let (_, _, position) = &self.chain[self.chain.len() - 1];
        Diagnostic::at(position, format!("`extends` cycle: {text}"))
            .with_hint("a service cannot extend itself, directly or through the services it extends")
    }
}

/// What an `extends` names.
struct Target {
    service: String,
    service_position: Position,
    file: Option<(String, Position)>,
}

fn read_extends(node: &Node) -> Result<Target, SpecError> {
    match &node.value {
        Value::Scalar { text, .. } if !text.trim().is_empty() => Ok(Target {
            service: text.clone(),
            service_position: node.position.clone(),
            file: None,
        }),
        Value::Mapping(fields) => {
            if let Some((key, _)) = fields
                .iter()
                .find(|(key, _)| !EXTENDS_FIELDS.contains(&key.name.as_str()))
            {
                return Err(
                    Diagnostic::at(&key.position, format!("unknown extends field `{}`", key.name))
                        .with_hint(hint_for(&key.name, EXTENDS_FIELDS.iter().copied(), || {
                            "extends fields are: service, file".to_string()
                        }))
                        .into(),
                );
            }
            let scalar = |field: &str| -> Result<Option<(String, Position)>, SpecError> {
                match node.get(field) {
                    None => Ok(None),
                    Some(value) => match value.as_scalar().filter(|text| !text.trim().is_empty()) {
                        Some(text) => Ok(Some((text.to_string(), value.position.clone()))),
                        None => Err(Diagnostic::at(
                            &value.position,
                            format!("`extends.{field}` must be a non-empty string"),
                        )
                        .with_hint("`service` names the service to extend, `file` the file that declares it")
                        .into()),
                    },
                }
            };
            let Some((service, service_position)) = scalar("service")? else {
                return Err(Diagnostic::at(&node.position, "`extends` needs `service`: the service to extend")
                    .with_hint("write `extends: {service: base, file: base.yaml}`, or `extends: base` for a service of this file")
                    .into());
            };
            Ok(Target {
                service,
                service_position,
                file: scalar("file")?,
            })
        }
        _ => Err(Diagnostic::at(
            &node.position,
            "`extends` must be a service name or a mapping `{service, file}`",
        )
        .with_hint("write `extends: base`, or `extends: {service: base, file: base.yaml}`")
        .into()),
    }
}

fn not_found(target: &Target, extending: &str, extending_file: &Path, base_file: &File) -> Diagnostic {
    // The extending service is no candidate: it cannot extend itself.
    let names: Vec<&str> = services(&base_file.tree)
        .iter()
        .map(|(key, _)| key.name.as_str())
        .filter(|name| !(base_file.path.as_ref() == extending_file && *name == extending))
        .collect();
    let place = if base_file.path.as_ref() == extending_file {
        "this file".to_string()
    } else {
        format!("`{}`", base_file.path.file_name().unwrap_or_default().to_string_lossy())
    };
    Diagnostic::at(
        &target.service_position,
        format!("cannot extend `{}`: it is not a service of {place}", target.service),
    )
    .with_hint(hint_for(&target.service, names.iter().copied(), || {
        if names.is_empty() {
            format!("{place} declares no services")
        } else {
            format!("the services of {place} are: {}", names.join(", "))
        }
    }))
}
