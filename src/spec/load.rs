//! Finding, reading and assembling the spec: which files, which variables,
//! which project directory. With [`super::include`] and [`super::extends`]
//! (the files a spec names), the only part of `spec` that reads files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Diagnostic, SpecError};
use super::interpolate::{VariableSource, interpolate_recording_unset};
use super::model::Spec;
use super::yaml::{Node, Position, Value};
use super::{merge, validate, yaml};

/// Where `flowinfra` looks for the spec when no `-f` is given.
pub const DEFAULT_SPEC_PATH: &str = "compose/flowinfra.yaml";
/// Shown as the file name of errors in the embedded default stack.
pub const EMBEDDED_SPEC_NAME: &str = "<embedded default stack>";
const EMBEDDED_SPEC: &str = include_str!("default_stack.yaml");

/// What the command line and the process say about where the spec is.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub env_files: Vec<PathBuf>,
    pub working_dir: PathBuf,
    pub process_env: BTreeMap<String, String>,
}

impl LoadOptions {
    /// Options for the current process: its directory and environment.
    pub fn from_process(
        files: Vec<PathBuf>,
        project_name: Option<String>,
        env_files: Vec<PathBuf>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            files,
            project_name,
            env_files,
            working_dir: std::env::current_dir()?,
            process_env: std::env::vars_os()
                .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
                .collect(),
        })
    }
}

/// The loaded spec and the variables it was interpolated with.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub spec: Spec,
    pub variables: BTreeMap<String, String>,
    /// What the user should know although the spec loaded: unset variables
    /// that became blank, fields accepted but not honoured. One line each.
    pub warnings: Vec<String>,
}

/// Loads, interpolates, merges and validates the spec.
pub fn load(options: &LoadOptions) -> Result<Loaded, SpecError> {
    let sources = spec_sources(options)?;
    let project_dir = project_dir(options, &sources);
    let variables = variables(options, &project_dir)?;

    let mut loader = Loader {
        project_dir: project_dir.clone(),
        model_dir: None,
        inherited_nodes: 0,
        texts: BTreeMap::new(),
        unset: UnsetVariables::default(),
        warnings: Vec::new(),
    };
    let files: Vec<(Arc<Path>, String)> = sources
        .iter()
        // Absolute, so relative paths inside the file resolve against its directory.
        .map(|(path, text)| (Arc::from(absolute_spec_path(options, path).as_path()), text.clone()))
        .collect();
    let root = loader
        .load_model(files, &variables, &[])
        .map_err(|error| with_source_lines(error, &loader.texts))?;

    let active_profiles: BTreeSet<String> = variables
        .get("COMPOSE_PROFILES")
        .map(|profiles| {
            profiles
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let context = validate::Context {
        project_name: options.project_name.as_deref(),
        project_dir: &project_dir,
        variables: &variables,
        active_profiles,
        blanked_values: loader
            .unset
            .used_at
            .iter()
            .map(|(position, _)| position.clone())
            .collect(),
    };
    let (spec, mut warnings) = validate::validate(&root, &context).map_err(|d| {
        with_source_lines(
            SpecError {
                diagnostics: loader.unset.explain(d),
            },
            &loader.texts,
        )
    })?;
    let mut spec = spec;
    warnings.splice(0..0, loader.unset.warnings().into_iter().chain(loader.warnings));
    spec.files = sources
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| p.as_os_str() != EMBEDDED_SPEC_NAME)
        .collect();
    Ok(Loaded {
        spec,
        variables,
        warnings,
    })
}

/// Reads the files of a Compose model — the `-f` files, or the files of an
/// `include` — into one merged tree, and keeps every text read for errors.
pub(super) struct Loader {
    pub(super) project_dir: PathBuf,
    /// The explicit `project_directory` of the included model being loaded:
    /// its files' `include` and `extends.file` paths are relative to it.
    pub(super) model_dir: Option<PathBuf>,
    /// Nodes copied from extended services so far (bounded like aliases).
    pub(super) inherited_nodes: usize,
    texts: BTreeMap<PathBuf, String>,
    unset: UnsetVariables,
    pub(super) warnings: Vec<String>,
}

/// One spec file, parsed, interpolated and normalised, its merge tags taken off.
pub(super) struct ParsedFile {
    pub file: Arc<Path>,
    pub tree: Node,
    pub tags: merge::MergeTags,
}

impl Loader {
    /// Merges `files` in order, each with its `include`s imported and its
    /// `extends` applied first, as Compose v2 does. `including` are the files
    /// whose `include` led here (to refuse a cycle).
    pub(super) fn load_model(
        &mut self,
        files: Vec<(Arc<Path>, String)>,
        variables: &BTreeMap<String, String>,
        including: &[Arc<Path>],
    ) -> Result<Node, SpecError> {
        let mut merged: Option<Node> = None;
        for (file, text) in files {
            let mut parsed = self.parse_file(file, &text, variables)?;
            super::include::apply(self, &mut parsed, variables, including)?;
            super::extends::apply(self, &mut parsed, variables)?;
            let ParsedFile { tree, tags, .. } = parsed;
            merged = Some(match merged {
                None => tree,
                // An empty or comment-only file adds nothing, as in Compose; the
                // merged spec must still declare services.
                Some(base) if tree.is_null() => base,
                Some(base) if base.is_null() => tree,
                Some(mut base) => {
                    merge::remove_paths(&mut base, &tags.paths);
                    merge::merge_files(base, tree)
                }
            });
        }
        Ok(merged.expect("at least one spec file"))
    }

    /// Parses, interpolates and normalises one file's text.
    pub(super) fn parse_file(
        &mut self,
        file: Arc<Path>,
        text: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<ParsedFile, SpecError> {
        self.texts.insert(file.to_path_buf(), text.to_string());
        let tree = yaml::parse(text, &file)?;
        let tree = interpolate_tree(tree, variables, &mut self.unset).map_err(|d| SpecError { diagnostics: d })?;
        // Tags first: a `!reset` list item goes before the list becomes a mapping.
        let mut tree = tree;
        let tags = merge::take_merge_tags(&mut tree);
        let tree = merge::normalize_file(tree);
        for (path, position) in &tags.reset_values {
            self.warnings.push(format!(
                "{position}: `{}: !reset` drops the value written after it, as Compose does; \
                 write `!override` to replace what earlier files set",
                path.join(".")
            ));
        }
        Ok(ParsedFile { file, tree, tags })
    }

    /// Reads and parses a file another one names (`include`, `extends.file`);
    /// a file that cannot be read is an error at `named_at`.
    pub(super) fn read_file(
        &mut self,
        path: &Path,
        named_at: &Position,
        what: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<ParsedFile, SpecError> {
        let text = self.read_text(path, named_at, what)?;
        self.parse_file(Arc::from(path), &text, variables)
    }

    /// A path a model's own file names (`include`, `extends.file`): relative
    /// to the model's explicit project directory, else to the file.
    pub(super) fn resolve_local(&self, text: &str, position: &Position, what: &str) -> Result<PathBuf, SpecError> {
        // Compose can fetch some from git or an OCI registry; flowinfra reads local files.
        if text.contains("://") || text.starts_with("git@") {
            return Err(SpecError::single(
                Diagnostic::at(
                    position,
                    format!("{what} `{text}` is remote; flowinfra reads local files only"),
                )
                .with_hint("fetch it (git clone…) and name the local file"),
            ));
        }
        Ok(self.resolve(text, position))
    }

    fn resolve(&self, text: &str, position: &Position) -> PathBuf {
        match &self.model_dir {
            Some(dir) if !text.starts_with('~') && Path::new(text).is_relative() => {
                super::syntax::normalize_lexically(&dir.join(text))
            }
            _ => super::syntax::resolve_path(text, position, &self.project_dir),
        }
    }

    /// The text of a file another one names, or an error at `named_at`.
    pub(super) fn read_text(&mut self, path: &Path, named_at: &Position, what: &str) -> Result<String, SpecError> {
        // Only regular files: a device (`/dev/zero`) or a FIFO would never end.
        if let Ok(metadata) = std::fs::metadata(path)
            && !metadata.is_file()
        {
            return Err(SpecError::single(
                Diagnostic::at(named_at, format!("{what} `{}` is not a file", shown(path)))
                    .with_hint("name a Compose file; paths are relative to the directory of the file that names them"),
            ));
        }
        match std::fs::read(path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|err| SpecError::single(not_text(path, err.utf8_error(), err.as_bytes()))),
            Err(err) => Err(SpecError::single(
                Diagnostic::at(named_at, format!("cannot read {what} `{}`: {err}", shown(path)))
                    .with_hint("paths are relative to the directory of the file that names them"),
            )),
        }
    }
}

/// The spec files in merge order with their text; the embedded stack when there are none.
fn spec_sources(options: &LoadOptions) -> Result<Vec<(PathBuf, String)>, SpecError> {
    let files = if options.files.is_empty() {
        let default = options.working_dir.join(DEFAULT_SPEC_PATH);
        if !default.exists() {
            return Ok(vec![(PathBuf::from(EMBEDDED_SPEC_NAME), EMBEDDED_SPEC.to_string())]);
        }
        vec![PathBuf::from(DEFAULT_SPEC_PATH)]
    } else {
        options.files.clone()
    };
    files
        .into_iter()
        .map(|file| {
            let absolute = options.working_dir.join(&file);
            match std::fs::read(&absolute) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => Ok((file, text)),
                    Err(err) => Err(SpecError::single(not_text(&absolute, err.utf8_error(), err.as_bytes()))),
                },
                Err(err) => Err(SpecError::single(
                    Diagnostic::new(None, format!("cannot read spec file `{}`: {err}", file.display()))
                        .with_hint("check the path given with -f; paths are relative to the current directory"),
                )),
            }
        })
        .collect()
}

/// A spec file that exists but is not UTF-8 text: where the first byte that
/// is not, so the user can tell a wrong file from a stray byte.
fn not_text(absolute: &Path, err: std::str::Utf8Error, bytes: &[u8]) -> Diagnostic {
    let valid = String::from_utf8_lossy(&bytes[..err.valid_up_to()]);
    let line = valid.matches('\n').count() + 1;
    let column = valid.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    let byte = bytes[err.valid_up_to()];
    Diagnostic::new(
        Some(Position {
            file: Arc::from(absolute),
            line,
            column,
        }),
        format!("the spec file is not text: byte 0x{byte:02x} is not valid UTF-8"),
    )
    .with_hint("a spec is a Compose file, YAML in UTF-8; check that -f names it and not another file")
}

fn absolute_spec_path(options: &LoadOptions, path: &Path) -> PathBuf {
    if path.as_os_str() == EMBEDDED_SPEC_NAME {
        path.to_path_buf()
    } else {
        options.working_dir.join(path)
    }
}

/// The directory `.env` is read from and the project is named after: the
/// first spec file's directory, or its parent when that directory is the
/// conventional `compose/` folder (the layout flowinfra itself uses).
fn project_dir(options: &LoadOptions, sources: &[(PathBuf, String)]) -> PathBuf {
    let Some((first, _)) = sources
        .first()
        .filter(|(path, _)| path.as_os_str() != EMBEDDED_SPEC_NAME)
    else {
        return options.working_dir.clone();
    };
    let absolute = options.working_dir.join(first);
    let directory = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| options.working_dir.clone());
    let directory = std::fs::canonicalize(&directory).unwrap_or(directory);
    if directory.file_name().is_some_and(|name| name == "compose") {
        directory.parent().map(Path::to_path_buf).unwrap_or(directory)
    } else {
        directory
    }
}

/// `.env` in the project directory, then each `--env-file`, then the process environment; later sources win.
fn variables(options: &LoadOptions, project_dir: &Path) -> Result<BTreeMap<String, String>, SpecError> {
    let mut variables = BTreeMap::new();
    let dotenv = project_dir.join(".env");
    if dotenv.is_file() {
        read_env_file(&dotenv, &mut variables)?;
    }
    for file in &options.env_files {
        let path = options.working_dir.join(file);
        if !path.is_file() {
            return Err(SpecError::single(Diagnostic::new(
                None,
                format!("env file `{}` does not exist", file.display()),
            )));
        }
        read_env_file(&path, &mut variables)?;
    }
    variables.extend(options.process_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(variables)
}

pub(super) fn read_env_file(path: &Path, variables: &mut BTreeMap<String, String>) -> Result<(), SpecError> {
    let failure = |err: dotenvy::Error| {
        let (line, message) = match &err {
            dotenvy::Error::LineParse(line, index) => (
                Some(line.clone()),
                format!("cannot parse `{line}` at character {index}"),
            ),
            other => (None, other.to_string()),
        };
        let position = line.and_then(|line| {
            let text = std::fs::read_to_string(path).ok()?;
            let number = text.lines().position(|l| l.contains(line.trim()))? + 1;
            Some(Position {
                file: Arc::from(path),
                line: number,
                column: 1,
            })
        });
        SpecError::single(
            Diagnostic::new(position, format!("invalid env file `{}`: {message}", path.display()))
                .with_hint("env files hold lines of NAME=value; quote values with spaces"),
        )
    };
    for item in dotenvy::from_path_iter(path).map_err(failure)? {
        let (name, value) = item.map_err(failure)?;
        variables.insert(name, value);
    }
    Ok(())
}

/// The variables that were unset where the spec used them without a default
/// (so they became blank, as in Compose), and the values that used each.
#[derive(Default)]
struct UnsetVariables {
    /// Every unset name, for one warning each.
    names: BTreeSet<String>,
    /// The position of each value that used unset names, and those names.
    used_at: Vec<(Position, BTreeSet<String>)>,
}

impl UnsetVariables {
    /// Compose's warning, once per variable.
    fn warnings(&self) -> Vec<String> {
        self.names
            .iter()
            .map(|name| format!("The {name} variable is not set. Defaulting to a blank string."))
            .collect()
    }

    /// `diagnostics`, each about a value that used an unset variable saying
    /// so: the blank is the likely cause of the error.
    fn explain(&self, mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        for diagnostic in &mut diagnostics {
            let Some(position) = &diagnostic.position else { continue };
            let Some((_, names)) = self
                .used_at
                .iter()
                .find(|(at, _)| at.file == position.file && at.line == position.line)
            else {
                continue;
            };
            let names: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
            let verb = if names.len() == 1 { "is" } else { "are" };
            diagnostic.message = format!(
                "{} (the value uses {}, which {verb} not set and became a blank string)",
                diagnostic.message,
                names.join(", ")
            );
            if diagnostic.hint.is_none() {
                diagnostic.hint =
                    Some("set the variable in `.env` or the environment, or give a default: `${NAME:-default}`".into());
            }
        }
        diagnostics
    }
}

/// Interpolates every scalar value (not keys) of one file, as Compose does before merging.
fn interpolate_tree(
    mut node: Node,
    variables: &BTreeMap<String, String>,
    unset: &mut UnsetVariables,
) -> Result<Node, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    interpolate_node(&mut node, variables, &mut diagnostics, unset);
    if diagnostics.is_empty() {
        Ok(node)
    } else {
        Err(diagnostics)
    }
}

fn interpolate_node(
    node: &mut Node,
    variables: &dyn VariableSource,
    diagnostics: &mut Vec<Diagnostic>,
    unset: &mut UnsetVariables,
) {
    match &mut node.value {
        Value::Scalar { text, quoted } => {
            let mut names = BTreeSet::new();
            let result = interpolate_recording_unset(text, variables, &mut names);
            if !names.is_empty() {
                unset.names.extend(names.iter().cloned());
                unset.used_at.push((node.position.clone(), names));
            }
            match result {
                Ok(std::borrow::Cow::Borrowed(_)) => {}
                Ok(std::borrow::Cow::Owned(value)) => *text = value,
                Err(err) => {
                    let prefix = &text[..err.offset.min(text.len())];
                    let column = node.position.column + prefix.chars().count() + usize::from(*quoted);
                    let position = Position {
                        column,
                        ..node.position.clone()
                    };
                    let diagnostic =
                        Diagnostic::at(&position, err.to_string()).with_optional_hint(err.hint().map(str::to_string));
                    diagnostics.push(diagnostic);
                }
            }
        }
        Value::Sequence(items) => items
            .iter_mut()
            .for_each(|item| interpolate_node(item, variables, diagnostics, unset)),
        Value::Mapping(entries) => entries
            .iter_mut()
            .for_each(|(_, value)| interpolate_node(value, variables, diagnostics, unset)),
        Value::Null => {}
    }
}

/// A file as errors name it: relative to the current directory when inside it.
pub(super) fn shown(file: &Path) -> String {
    let current = std::env::current_dir().ok();
    current
        .as_deref()
        .and_then(|dir| file.strip_prefix(dir).ok())
        .unwrap_or(file)
        .display()
        .to_string()
}

/// Attaches the offending line of each diagnostic, for display with a caret.
fn with_source_lines(mut error: SpecError, texts: &BTreeMap<PathBuf, String>) -> SpecError {
    for diagnostic in &mut error.diagnostics {
        let Some(position) = &diagnostic.position else {
            continue;
        };
        let text = texts
            .get(position.file.as_ref())
            .cloned()
            .or_else(|| std::fs::read_to_string(&position.file).ok());
        if let Some(line) = text
            .as_deref()
            .and_then(|t| t.lines().nth(position.line.saturating_sub(1)))
        {
            diagnostic.source_line = Some(line.to_string());
        }
    }
    error
}
