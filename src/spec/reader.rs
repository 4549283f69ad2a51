//! Typed reads off the positioned YAML tree ([`super::yaml`]): strings,
//! booleans, numbers, lists and mappings, each problem recorded as a
//! [`Diagnostic`] at the node that caused it, with a "did you mean" for a
//! misspelled key. Shared by the spec and the seed manifest, so both report
//! the same way.
//!
//! A [`Reader`] keeps going after a problem and collects every diagnostic:
//! a read that fails returns `None` (or an empty value) and the caller goes
//! on with the next field. What a field *means* is left to the callers.

use std::collections::BTreeMap;

use super::error::{Diagnostic, did_you_mean};
use super::yaml::{Key, Node, Position, Value};

/// The keys a mapping may hold, and how to name them in errors.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// What the mapping is, as in "unknown {context} field `x`".
    pub context: &'a str,
    pub allowed: &'a [&'a str],
    /// Whether `x-…` keys (Compose extensions) pass.
    pub extensions: bool,
}

impl<'a> Fields<'a> {
    pub const fn new(context: &'a str, allowed: &'a [&'a str]) -> Self {
        Self {
            context,
            allowed,
            extensions: false,
        }
    }

    /// The same fields, with `x-…` extension keys allowed.
    pub const fn with_extensions(self) -> Self {
        Self {
            extensions: true,
            ..self
        }
    }

    pub fn allows(&self, name: &str) -> bool {
        self.allowed.contains(&name) || (self.extensions && name.starts_with("x-"))
    }
}

/// Collects diagnostics while reading typed values off the tree.
#[derive(Debug, Default)]
pub struct Reader {
    diagnostics: Vec<Diagnostic>,
    /// One-line warnings (a field accepted but not honoured), each once.
    warnings: Vec<String>,
    /// Long explanations already given once (a list of supported fields).
    explained: std::collections::BTreeSet<&'static str>,
}

impl Reader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, position: &Position, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::at(position, message));
    }

    /// Records a warning; the same text twice is said once.
    pub fn warn(&mut self, message: impl Into<String>) {
        let message = message.into();
        if !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }

    /// True the first time it is asked about `topic`: a long explanation
    /// (every supported field) is given with the first error, not with each.
    pub fn first_time(&mut self, topic: &'static str) -> bool {
        self.explained.insert(topic)
    }

    /// The warnings recorded so far, leaving none.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// How many diagnostics were recorded so far: where the next one will be.
    pub fn diagnostic_count(&self) -> usize {
        self.diagnostics.len()
    }

    /// The diagnostics recorded from index `start` on, leaving the earlier ones.
    pub fn take_diagnostics_from(&mut self, start: usize) -> Vec<Diagnostic> {
        self.diagnostics.split_off(start.min(self.diagnostics.len()))
    }

    /// `value` when nothing was wrong, every diagnostic otherwise.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.diagnostics.is_empty() {
            Ok(value)
        } else {
            Err(self.diagnostics)
        }
    }

    /// The entries of a mapping; an empty node (`volumes:`) is an empty mapping.
    pub fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        match &node.value {
            Value::Mapping(entries) => Some(entries),
            Value::Null => Some(&[]),
            _ => {
                self.error(
                    &node.position,
                    format!("{what} must be a mapping, found {}", node.type_name()),
                );
                None
            }
        }
    }

    /// The keys of `entries` that `fields` does not allow, in order.
    pub fn unknown_keys<'n>(entries: &'n [(Key, Node)], fields: &Fields<'_>) -> impl Iterator<Item = &'n Key> {
        entries
            .iter()
            .map(|(key, _)| key)
            .filter(|key| !fields.allows(&key.name))
    }

    /// Reports a key `fields` does not allow, suggesting the closest allowed one.
    pub fn unknown_field(&mut self, key: &Key, fields: &Fields<'_>) {
        let hint = match did_you_mean(&key.name, fields.allowed.iter().copied()) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!("{} fields are: {}", fields.context, fields.allowed.join(", ")),
        };
        self.push(
            Diagnostic::at(
                &key.position,
                format!("unknown {} field `{}`", fields.context, key.name),
            )
            .with_hint(hint),
        );
    }

    /// Reports every key of `entries` that `fields` does not allow.
    pub fn check_keys(&mut self, entries: &[(Key, Node)], fields: &Fields<'_>) {
        for key in Self::unknown_keys(entries, fields) {
            self.unknown_field(key, fields);
        }
    }

    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            _ => {
                self.error(
                    &node.position,
                    format!("{what} must be a string, found {}", node.type_name()),
                );
                None
            }
        }
    }

    pub fn non_empty_string(&mut self, node: &Node, what: &str) -> Option<String> {
        let text = self.string(node, what)?;
        if text.trim().is_empty() {
            self.error(&node.position, format!("{what} must not be empty"));
            return None;
        }
        Some(text)
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.as_scalar() {
            Some("true" | "True" | "TRUE") => Some(true),
            Some("false" | "False" | "FALSE") => Some(false),
            _ => {
                self.error(&node.position, format!("{what} must be true or false"));
                None
            }
        }
    }

    pub fn unsigned(&mut self, node: &Node, what: &str) -> Option<u32> {
        match node.as_scalar().map(str::parse::<u32>) {
            Some(Ok(value)) => Some(value),
            _ => {
                self.error(&node.position, format!("{what} must be a whole number ≥ 0"));
                None
            }
        }
    }

    /// The items of a list; an empty node is an empty list.
    pub fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.value {
            Value::Sequence(items) => items,
            Value::Null => &[],
            _ => {
                self.error(&node.position, format!("{what} must be a list"));
                &[]
            }
        }
    }

    /// The items of a list, or the node itself when it is one value (`env_file: .env`).
    pub fn list_or_one<'n>(&mut self, node: &'n Node) -> Vec<&'n Node> {
        match &node.value {
            Value::Sequence(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![node],
        }
    }

    /// A list of strings; one string stands for a list of one.
    pub fn string_list(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.value {
            Value::Sequence(items) => {
                // The item is what is wrong, and the error points at it: say so.
                let item_what = format!("an item of {what}");
                items.iter().filter_map(|item| self.string(item, &item_what)).collect()
            }
            Value::Scalar { text, .. } => vec![text.clone()],
            Value::Null => Vec::new(),
            Value::Mapping(_) => {
                self.error(&node.position, format!("{what} must be a list of strings"));
                Vec::new()
            }
        }
    }

    /// A mapping of names to strings; an empty value is an empty string.
    pub fn string_map(&mut self, node: &Node, what: &str) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let Some(entries) = self.mapping(node, what) else {
            return map;
        };
        for (key, value) in entries {
            let text = match &value.value {
                Value::Null => String::new(),
                Value::Scalar { text, .. } => text.clone(),
                _ => {
                    self.error(&value.position, format!("{what} `{}` must be a string", key.name));
                    continue;
                }
            };
            map.insert(key.name.clone(), text);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::spec::yaml::parse;

    fn tree(source: &str) -> Node {
        parse(source, &Arc::from(Path::new("t.yaml"))).unwrap()
    }

    #[test]
    fn unknown_keys_get_a_suggestion_at_the_key() {
        let root = tree("imagee: x\nx-note: 1\n");
        let mut reader = Reader::new();
        let fields = Fields::new("service", &["image", "ports"]).with_extensions();
        reader.check_keys(root.as_mapping().unwrap(), &fields);
        let diagnostics = reader.finish(()).unwrap_err();
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].message, "unknown service field `imagee`");
        assert_eq!(diagnostics[0].hint.as_deref(), Some("did you mean `image`?"));
        assert_eq!(
            diagnostics[0].position.as_ref().map(|p| (p.line, p.column)),
            Some((1, 1))
        );
    }

    #[test]
    fn failed_reads_are_collected_and_the_reader_goes_on() {
        let root = tree("a: [1]\nb: maybe\nc: -1\nd: ok\n");
        let mut reader = Reader::new();
        assert_eq!(reader.string(root.get("a").unwrap(), "`a`"), None);
        assert_eq!(reader.bool(root.get("b").unwrap(), "`b`"), None);
        assert_eq!(reader.unsigned(root.get("c").unwrap(), "`c`"), None);
        assert_eq!(reader.string(root.get("d").unwrap(), "`d`").as_deref(), Some("ok"));
        let messages: Vec<String> = reader.finish(()).unwrap_err().into_iter().map(|d| d.message).collect();
        assert_eq!(
            messages,
            [
                "`a` must be a string, found a list",
                "`b` must be true or false",
                "`c` must be a whole number ≥ 0"
            ]
        );
    }

    #[test]
    fn empty_nodes_read_as_empty_collections() {
        let root = tree("a:\n");
        let mut reader = Reader::new();
        let node = root.get("a").unwrap();
        assert_eq!(reader.mapping(node, "a").map(<[_]>::len), Some(0));
        assert!(reader.list(node, "a").is_empty());
        assert!(reader.string_list(node, "a").is_empty());
        assert!(reader.finish(()).is_ok());
    }
}
