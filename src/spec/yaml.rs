//! A YAML tree that remembers where every node came from.
//!
//! Spec errors must name file, line and column for any value, including ones
//! found only after merging several files, so the loader works on this tree
//! rather than on serde types. Built from `saphyr-parser` events; anchors,
//! aliases and `<<` merge keys (common in Compose files) are resolved here,
//! each alias a copy of its anchored value, within [`MAX_ALIAS_NODES`].
//! Compose's `!reset` and `!override` tags are kept on their node
//! ([`MergeTag`]) for [`super::merge`]; any other tag is an error.
//!
//! What go-yaml (Compose v2's parser) accepts must load: a flow collection
//! whose closing bracket sits at its key's indentation is read as go-yaml
//! reads it (see [`parse`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::error::Diagnostic;

/// How many nodes aliases may copy into one file, in all. An alias repeats
/// its whole anchored value, so a few hundred bytes of aliases to lists of
/// aliases (an "alias bomb") would expand to millions of nodes; real files
/// reuse a few small blocks. Counting the copied nodes bounds the work done
/// however the aliases nest, and stays far below what memory allows.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A place in a spec file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Relative to the current directory when inside it: shorter, and what the user typed.
        let current = std::env::current_dir().ok();
        let shown = current
            .as_deref()
            .and_then(|dir| self.file.strip_prefix(dir).ok())
            .unwrap_or(&self.file);
        write!(f, "{}:{}:{}", shown.display(), self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub position: Position,
    /// A Compose merge tag written on the node (`!reset`, `!override`).
    pub tag: MergeTag,
}

/// The tags Compose gives a meaning when files are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeTag {
    #[default]
    None,
    /// `!reset`: drop what earlier files (or the extended service) set here.
    Reset,
    /// `!override`: replace what earlier files set here instead of merging.
    Override,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Scalars keep their text; `quoted` scalars are always strings, plain
    /// ones may read as numbers or booleans where a field expects them.
    Scalar {
        text: String,
        quoted: bool,
    },
    Sequence(Vec<Node>),
    Mapping(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub position: Position,
}

impl Node {
    pub fn new(value: Value, position: Position) -> Self {
        Self {
            value,
            position,
            tag: MergeTag::None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The entries of a mapping, or `None` for any other node.
    pub fn as_mapping(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence, or `None` for any other node.
    pub fn as_sequence(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Sequence(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_mapping()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, node)| node)
    }

    /// The value of `key` in a mapping, to change it.
    pub fn value_mut(&mut self, key: &str) -> Option<&mut Value> {
        match &mut self.value {
            Value::Mapping(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.name == key)
                .map(|(_, node)| &mut node.value),
            _ => None,
        }
    }

    /// A short name for the node's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing",
            Value::Scalar { .. } => "a scalar",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }
}

/// How many closing-bracket lines [`parse`] re-indents in one file before
/// it reports the parser's error instead: real files have a handful, and
/// each one costs a parse of the file.
const MAX_BRACKET_FIXES: usize = 64;

/// Whether line `line` (1-based) of `source` holds only the closing
/// bracket(s) of flow collections: `]`, `}`, commas, spaces, a comment.
fn only_closes_flow_collections(source: &str, line: usize) -> bool {
    let Some(text) = source.lines().nth(line.saturating_sub(1)) else {
        return false;
    };
    let code = text.split_once(" #").map_or(text, |(code, _)| code).trim();
    code.starts_with([']', '}']) && code.chars().all(|c| matches!(c, ']' | '}' | ',' | ' ' | '\t'))
}

/// `source` with line `line` (1-based) indented one more space.
fn indent_line(source: &str, line: usize) -> String {
    let mut text = String::with_capacity(source.len() + 1);
    for (index, piece) in source.split_inclusive('\n').enumerate() {
        if index + 1 == line {
            text.push(' ');
        }
        text.push_str(piece);
    }
    text
}

/// Parses one spec file. An empty document yields a null node.
///
/// go-yaml (Compose v2) and PyYAML (docker-compose 1.x) accept a flow
/// collection closed at its key's indentation (`command: [` … `]` with the
/// `]` under the `c`); saphyr-parser follows YAML 1.2, which wants it
/// deeper, and has no option. When the parser stops with "invalid
/// indentation" on a line that holds only closing brackets, that line is
/// indented one space more and the file parsed again: a closing-bracket
/// line holds no node, so every node keeps its line and column.
pub fn parse(source: &str, file: &Arc<Path>) -> Result<Node, Diagnostic> {
    let mut text = std::borrow::Cow::Borrowed(source);
    // Spaces added to each line, so that an error still reported points at the user's text.
    let mut added: HashMap<usize, usize> = HashMap::new();
    loop {
        let diagnostic = match parse_once(&text, file) {
            Ok(node) => return Ok(node),
            Err(Failure::BracketIndentation(line, _)) if added.values().sum::<usize>() < MAX_BRACKET_FIXES => {
                text = std::borrow::Cow::Owned(indent_line(&text, line));
                *added.entry(line).or_default() += 1;
                continue;
            }
            Err(Failure::BracketIndentation(_, diagnostic) | Failure::Other(diagnostic)) => diagnostic,
        };
        let mut diagnostic = diagnostic;
        if let Some(position) = &mut diagnostic.position
            && let Some(spaces) = added.get(&position.line)
        {
            position.column = position.column.saturating_sub(*spaces).max(1);
        }
        return Err(diagnostic);
    }
}

/// Why one parse failed.
enum Failure {
    /// "invalid indentation" at this line (1-based), which holds only closing brackets.
    BracketIndentation(usize, Diagnostic),
    Other(Diagnostic),
}

impl From<Diagnostic> for Failure {
    fn from(diagnostic: Diagnostic) -> Self {
        Failure::Other(diagnostic)
    }
}

fn parse_once(source: &str, file: &Arc<Path>) -> Result<Node, Failure> {
    let mut builder = TreeBuilder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        documents: Vec::new(),
    };
    let parser = Parser::new_from_str(source);
    for event in parser {
        let (event, span) = event.map_err(|err| {
            let marker = err.marker();
            let (mut line, mut column) = (marker.line(), marker.col() + 1);
            // The scanner reports some tab errors at the token it was reading
            // (a scalar lines before, or the text after the tab): point at the tab.
            if err.info().contains("tab")
                && let Some(tab) = offending_tab(source, line, column)
            {
                (line, column) = tab;
            }
            let diagnostic = Diagnostic::new(
                Some(Position {
                    file: file.clone(),
                    line,
                    column,
                }),
                format!("invalid YAML: {}", err.info()),
            );
            if err.info() == "invalid indentation" && only_closes_flow_collections(source, line) {
                Failure::BracketIndentation(line, diagnostic)
            } else {
                Failure::Other(diagnostic)
            }
        })?;
        builder.on_event(event, span)?;
    }
    let mut documents = builder.documents;
    match documents.len() {
        0 => Ok(Node::new(
            Value::Null,
            Position {
                file: file.clone(),
                line: 1,
                column: 1,
            },
        )),
        1 => Ok(documents.pop().expect("one document")),
        _ => Err(Diagnostic::new(
            Some(documents[1].position.clone()),
            "a spec file holds one YAML document; found a second one".into(),
        )
        .with_hint("split the documents into separate files and pass each with -f")
        .into()),
    }
}

/// The merge tag a YAML tag stands for; an error for any tag Compose does
/// not know. Core-schema tags (`!!str`) pass without meaning anything here.
fn merge_tag(tag: Option<&saphyr_parser::Tag>, position: &Position) -> Result<MergeTag, Diagnostic> {
    let Some(tag) = tag else {
        return Ok(MergeTag::None);
    };
    if tag.is_yaml_core_schema() {
        return Ok(MergeTag::None);
    }
    match (tag.handle.as_str(), tag.suffix.as_str()) {
        ("!", "reset") => Ok(MergeTag::Reset),
        ("!", "override") => Ok(MergeTag::Override),
        _ => Err(
            Diagnostic::at(position, format!("YAML tag `{tag}` is not supported")).with_hint(
                "Compose knows two tags: `!reset` (drop what an earlier file or the extended service set) \
             and `!override` (replace it instead of merging); quote the value if the `!` is part of it",
            ),
        ),
    }
}

enum Frame {
    Sequence {
        items: Vec<Node>,
        position: Position,
        anchor: usize,
        tag: MergeTag,
    },
    Mapping {
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        merges: Vec<Node>,
        position: Position,
        anchor: usize,
        tag: MergeTag,
    },
}

struct TreeBuilder {
    file: Arc<Path>,
    stack: Vec<Frame>,
    /// Each anchored node with its size in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied by aliases so far.
    alias_nodes: usize,
    documents: Vec<Node>,
}

impl TreeBuilder {
    fn position(&self, span: &Span) -> Position {
        Position {
            file: self.file.clone(),
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        let position = self.position(&span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = merge_tag(tag.as_deref(), &position)?;
                let quoted = !matches!(style, ScalarStyle::Plain);
                let value = if !quoted && is_null_text(&text) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        quoted,
                    }
                };
                self.complete(tagged(Node::new(value, position), tag), anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                let tag = merge_tag(tag.as_deref(), &position)?;
                self.stack.push(Frame::Sequence {
                    items: Vec::new(),
                    position,
                    anchor,
                    tag,
                });
                Ok(())
            }
            Event::MappingStart(anchor, tag) => {
                let tag = merge_tag(tag.as_deref(), &position)?;
                self.stack.push(Frame::Mapping {
                    entries: Vec::new(),
                    pending_key: None,
                    merges: Vec::new(),
                    position,
                    anchor,
                    tag,
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Sequence {
                    items,
                    position,
                    anchor,
                    tag,
                }) => self.complete(tagged(Node::new(Value::Sequence(items), position), tag), anchor),
                _ => Err(Diagnostic::new(
                    Some(position),
                    "invalid YAML: unbalanced sequence".into(),
                )),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Mapping {
                    mut entries,
                    merges,
                    position,
                    anchor,
                    tag,
                    ..
                }) => {
                    // `<<` keys fill in what the mapping does not set itself;
                    // earlier merge sources win over later ones, as in YAML 1.1.
                    for source in merges {
                        for (key, value) in source.as_mapping().unwrap_or_default() {
                            if !entries.iter().any(|(k, _)| k.name == key.name) {
                                entries.push((key.clone(), value.clone()));
                            }
                        }
                    }
                    self.complete(tagged(Node::new(Value::Mapping(entries), position), tag), anchor)
                }
                _ => Err(Diagnostic::new(
                    Some(position),
                    "invalid YAML: unbalanced mapping".into(),
                )),
            },
            Event::Alias(anchor) => {
                let Some((node, size)) = self.anchors.get(&anchor) else {
                    return Err(Diagnostic::new(
                        Some(position),
                        "invalid YAML: alias to an unknown anchor".into(),
                    ));
                };
                // Counted before copying, so the refusal comes before the memory is spent.
                self.alias_nodes += size;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(Diagnostic::new(
                        Some(position),
                        format!("invalid YAML: aliases expand to more than {MAX_ALIAS_NODES} values"),
                    )
                    .with_hint(
                        "each alias copies its whole anchored value, so aliases to lists of aliases multiply; \
                         write such values out, or nest fewer levels of aliases",
                    ));
                }
                let node = node.clone();
                self.complete(node, 0)
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {
                Ok(())
            }
        }
    }

    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), Diagnostic> {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), node_count(&node)));
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping {
                entries,
                pending_key,
                merges,
                ..
            }) => match pending_key.take() {
                None => {
                    if node.tag != MergeTag::None {
                        return Err(Diagnostic::new(
                            Some(node.position),
                            "a `!reset` or `!override` tag belongs on a value, not on a key".into(),
                        )
                        .with_hint("write it after the colon: `key: !reset []`"));
                    }
                    let name = match &node.value {
                        Value::Scalar { text, .. } => text.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(Diagnostic::new(
                                Some(node.position),
                                "mapping keys must be plain strings".into(),
                            ));
                        }
                    };
                    *pending_key = Some(Key {
                        name,
                        position: node.position,
                    });
                }
                Some(key) if key.name == "<<" => match &node.value {
                    Value::Mapping(_) => merges.push(node),
                    Value::Sequence(items) if items.iter().all(|item| item.as_mapping().is_some()) => {
                        merges.extend(items.iter().cloned())
                    }
                    _ => {
                        return Err(Diagnostic::new(
                            Some(node.position),
                            "a `<<` merge key needs a mapping or a list of mappings".into(),
                        ));
                    }
                },
                Some(key) => {
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                        return Err(Diagnostic::new(
                            Some(key.position.clone()),
                            format!(
                                "duplicate key `{}` (first set at line {})",
                                key.name, first.position.line
                            ),
                        ));
                    }
                    entries.push((key, node));
                }
            },
        }
        Ok(())
    }
}

fn tagged(mut node: Node, tag: MergeTag) -> Node {
    node.tag = tag;
    node
}

/// Where the tab a tab error is about is, given where the scanner reported
/// it (1-based): the reported character when it is a tab, otherwise the
/// first tab indenting that line or a later one.
fn offending_tab(source: &str, line: usize, column: usize) -> Option<(usize, usize)> {
    let line = line.max(1);
    let mut lines = source.lines().enumerate().skip(line - 1);
    let (_, reported) = lines.next()?;
    if reported.chars().nth(column.saturating_sub(1)) == Some('\t') {
        return Some((line, column));
    }
    std::iter::once((line - 1, reported))
        .chain(lines)
        .find_map(|(index, text)| {
            let tab = text
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .position(|c| c == '\t')?;
            Some((index + 1, tab + 1))
        })
}

/// The nodes in a tree, keys included.
pub(crate) fn node_count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Null | Value::Scalar { .. } => 0,
        Value::Sequence(items) => items.iter().map(node_count).sum(),
        Value::Mapping(entries) => entries.iter().map(|(_, value)| 1 + node_count(value)).sum(),
    }
}

fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(source: &str) -> Result<Node, Diagnostic> {
        parse(source, &Arc::from(Path::new("spec.yaml")))
    }

    #[test]
    fn nodes_carry_line_and_column() {
        let node = parse_str("services:\n  db:\n    image: mysql\n").unwrap();
        let image = node.get("services").unwrap().get("db").unwrap().get("image").unwrap();
        assert_eq!(image.as_scalar(), Some("mysql"));
        assert_eq!((image.position.line, image.position.column), (3, 12));
    }

    fn scalars(node: &Node) -> Vec<&str> {
        match &node.value {
            Value::Sequence(items) => items.iter().map(|item| item.as_scalar().unwrap_or("?")).collect(),
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn a_flow_sequence_closed_at_its_keys_indentation_loads_as_go_yaml_reads_it() {
        // The example: the `]` sits under the `c` of `command`.
        let source = "services:\n  db:\n    image: mysql:8\n    command: [\n      \"mysqld\"\n    ]\n    tty: true\n";
        let node = parse_str(source).unwrap();
        let db = node.get("services").unwrap().get("db").unwrap();
        let command = db.get("command").unwrap();
        assert_eq!(scalars(command), ["mysqld"]);
        // Nothing moved: every node keeps its line and column.
        assert_eq!((command.position.line, command.position.column), (4, 14));
        let item = &command.as_sequence().unwrap()[0];
        assert_eq!((item.position.line, item.position.column), (5, 7));
        let tty = db.get("tty").unwrap();
        assert_eq!((tty.position.line, tty.position.column), (7, 10));
    }

    #[test]
    fn closing_brackets_with_a_comma_or_a_comment_and_nested_flows_load() {
        let source = "a:\n  b: {\n    c: [\n      1, 2\n  ],\n    d: [x]\n  } # done\n  e: f\n";
        let node = parse_str(source).unwrap();
        let b = node.get("a").unwrap().get("b").unwrap();
        assert_eq!(scalars(b.get("c").unwrap()), ["1", "2"]);
        assert_eq!(scalars(b.get("d").unwrap()), ["x"]);
        assert_eq!(node.get("a").unwrap().get("e").unwrap().as_scalar(), Some("f"));
        // A closing brace further left than its key, in a list of flows.
        let source = "x:\n  - {\n    k: v\n}\n  - [\n    w\n]\n";
        let node = parse_str(source).unwrap();
        let items = node.get("x").unwrap().as_sequence().unwrap();
        assert_eq!(items[0].get("k").unwrap().as_scalar(), Some("v"));
        assert_eq!(scalars(&items[1]), ["w"]);
    }

    #[test]
    fn brackets_inside_strings_and_block_scalars_are_not_touched() {
        // A `]` inside quotes is text, and a bracket line of a literal block is content.
        let source = "a: [\n  \"echo ]\", ']'\n]\nb: |\n  x\n  ]\nc: \"p\n  ]\n  q\"\n";
        let node = parse_str(source).unwrap();
        assert_eq!(scalars(node.get("a").unwrap()), ["echo ]", "]"]);
        assert_eq!(node.get("b").unwrap().as_scalar(), Some("x\n]\n"));
        assert_eq!(node.get("c").unwrap().as_scalar(), Some("p ] q"));
    }

    #[test]
    fn an_error_after_a_fixed_bracket_points_at_the_users_text() {
        // The bracket is fixed; the real mistake (an unclosed mapping) is still reported where it is.
        let err = parse_str("a: [\n  1\n]\nb: {c: 1\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.position.unwrap().line >= 4);
        // A bracket line that no indentation fixes keeps its own column.
        let err = parse_str("a:\n  b: 1\n  ]\n").unwrap_err();
        let position = err.position.unwrap();
        assert_eq!(position.line, 3);
        assert!(position.column <= 3, "{position:?}");
    }

    #[test]
    fn merge_tags_are_kept_and_other_tags_are_errors_at_their_position() {
        let node = parse_str("a: !reset []\nb: !override {x: 1}\nc: !reset\nd: !!str 5\n").unwrap();
        assert_eq!(node.get("a").unwrap().tag, MergeTag::Reset);
        assert_eq!(node.get("b").unwrap().tag, MergeTag::Override);
        assert_eq!(node.get("c").unwrap().tag, MergeTag::Reset);
        assert_eq!(node.get("d").unwrap().tag, MergeTag::None);
        for (source, shown, line, column) in [
            ("a: 1\nb: !custom x\n", "!custom", 2, 4),
            ("a:\n  b: !secret [x]\n", "!secret", 2, 6),
            ("a: !foo\n  b: 1\n", "!foo", 1, 4),
        ] {
            let err = parse_str(source).unwrap_err();
            assert_eq!(err.message, format!("YAML tag `{shown}` is not supported"), "{source}");
            let position = err.position.unwrap();
            assert_eq!((position.line, position.column), (line, column), "{source}");
            assert!(err.hint.unwrap().contains("`!reset`"));
        }
    }

    #[test]
    fn merge_keys_fill_in_missing_entries_only() {
        let node = parse_str("base: &b\n  a: 1\n  b: 2\nuse:\n  <<: *b\n  b: 3\n").unwrap();
        let used = node.get("use").unwrap();
        assert_eq!(used.get("a").unwrap().as_scalar(), Some("1"));
        assert_eq!(used.get("b").unwrap().as_scalar(), Some("3"));
    }

    #[test]
    fn duplicate_keys_are_rejected_with_both_lines() {
        let err = parse_str("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.message, "duplicate key `a` (first set at line 1)");
        assert_eq!(err.position.unwrap().line, 3);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_str("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.position.is_some());
    }

    /// `levels` levels of anchors, each a list of nine aliases to the one before.
    fn alias_bomb(levels: usize) -> String {
        let mut text = String::from("x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..levels {
            let aliases = vec![format!("*l{}", level - 1); 9].join(", ");
            text.push_str(&format!("x-l{level}: &l{level} [{aliases}]\n"));
        }
        text
    }

    #[test]
    fn aliases_copy_their_anchored_value() {
        let node = parse_str(&alias_bomb(3)).unwrap();
        let Value::Sequence(items) = &node.get("x-l2").unwrap().value else {
            panic!("x-l2 is a list");
        };
        assert_eq!(items.len(), 9);
        // Each item is a copy of x-l1: a list of nine copies of x-l0's ten nodes.
        assert_eq!(node_count(&items[8]), 1 + 9 * 10);
        assert_eq!(items[8].position.line, 2, "a copy keeps the anchored value's position");
    }

    #[test]
    fn an_alias_bomb_is_refused_at_the_alias_that_exceeds_the_bound() {
        // Five levels copy 9 * (10 + 91 + 820 + 7,381) = 74,718 nodes: allowed.
        assert!(parse_str(&alias_bomb(5)).is_ok());
        let err = parse_str(&alias_bomb(8)).unwrap_err();
        assert_eq!(
            err.message,
            format!("invalid YAML: aliases expand to more than {MAX_ALIAS_NODES} values")
        );
        let position = err.position.unwrap();
        assert_eq!(position.line, 6, "the first alias of the sixth level tips it over");
        assert!(err.hint.unwrap().contains("aliases to lists of aliases multiply"));
    }

    #[test]
    fn a_tab_indenting_a_line_is_reported_where_it_is() {
        // After a plain scalar, the scanner reports the scalar (line 3); the tab is on line 4.
        let err = parse_str("services:\n  app:\n    image: busybox\n\tports: []\n").unwrap_err();
        assert!(err.message.contains("tab"), "{}", err.message);
        let position = err.position.unwrap();
        assert_eq!((position.line, position.column), (4, 1));
        // Before a key, the scanner reports the key after the tab.
        let err = parse_str("a:\n  b:\n\tc: d\n").unwrap_err();
        let position = err.position.unwrap();
        assert_eq!((position.line, position.column), (3, 1));
    }

    #[test]
    fn a_tab_separating_a_value_is_not_blamed_for_a_later_one() {
        assert_eq!(offending_tab("a:\tb\n\t c: d\n", 1, 4), Some((2, 1)));
        assert_eq!(offending_tab("  x\t\n", 1, 4), Some((1, 4)));
        assert_eq!(offending_tab("a: b\n", 1, 4), None);
    }

    #[test]
    fn empty_file_is_null() {
        assert!(parse_str("").unwrap().is_null());
    }

    #[test]
    fn quoted_null_is_a_string() {
        let node = parse_str("a: 'null'\nb: null\n").unwrap();
        assert_eq!(node.get("a").unwrap().as_scalar(), Some("null"));
        assert!(node.get("b").unwrap().is_null());
    }
}
