//! Spec errors: each names the file, line and column, says what is wrong,
//! and where it helps, what was probably meant.

use std::borrow::Cow;
use std::fmt;

use super::yaml::Position;

/// One problem in the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub position: Option<Position>,
    pub message: String,
    pub hint: Option<String>,
    /// The offending source line, filled in by the loader for display.
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn new(position: Option<Position>, message: String) -> Self {
        Self {
            position,
            message,
            hint: None,
            source_line: None,
        }
    }

    pub fn at(position: &Position, message: impl Into<String>) -> Self {
        Self::new(Some(position.clone()), message.into())
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_optional_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl Diagnostic {
    /// Keeps the line the position points at, from `text` (the file's
    /// content), for display under the message with a caret.
    pub fn with_source_from(mut self, text: &str) -> Self {
        if let Some(position) = &self.position {
            self.source_line = text.lines().nth(position.line.saturating_sub(1)).map(str::to_string);
        }
        self
    }

    /// The message, the source line with a caret, and the hint: everything
    /// but the leading `file:line:column: `.
    pub fn details(&self) -> Details<'_> {
        Details(self)
    }
}

/// What [`Diagnostic::details`] displays.
pub struct Details<'a>(&'a Diagnostic);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let diagnostic = self.0;
        write!(f, "{}", diagnostic.message)?;
        if let (Some(line), Some(position)) = (&diagnostic.source_line, &diagnostic.position) {
            let number = position.line.to_string();
            let gutter = " ".repeat(number.len());
            let (line, caret) = excerpt(line, position.column.saturating_sub(1));
            let caret_indent: String = line
                .chars()
                .take(caret)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n {gutter} |\n {number} | {line}\n {gutter} | {caret_indent}^")?;
        }
        if let Some(hint) = &diagnostic.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// The most characters of a source line shown under a message.
const MAX_SHOWN_LINE: usize = 200;

/// `line` as shown under a message, and the caret's offset in it: a long
/// line (minified YAML, a deep nesting on one line) is cut to
/// [`MAX_SHOWN_LINE`] characters around the caret, an ellipsis marking each cut.
fn excerpt(line: &str, caret: usize) -> (Cow<'_, str>, usize) {
    let length = line.chars().count();
    if length <= MAX_SHOWN_LINE {
        return (Cow::Borrowed(line), caret);
    }
    let caret = caret.min(length);
    let start = caret.saturating_sub(MAX_SHOWN_LINE / 2).min(length - MAX_SHOWN_LINE);
    let end = start + MAX_SHOWN_LINE;
    let mut shown = String::with_capacity(MAX_SHOWN_LINE + 8);
    if start > 0 {
        shown.push('…');
    }
    shown.extend(line.chars().skip(start).take(MAX_SHOWN_LINE));
    if end < length {
        shown.push('…');
    }
    (Cow::Owned(shown), caret - start + usize::from(start > 0))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(position) = &self.position {
            write!(f, "{position}: ")?;
        }
        write!(f, "{}", self.details())
    }
}

/// Every problem found in the spec; the command stops before touching Docker.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub diagnostics: Vec<Diagnostic>,
}

impl SpecError {
    pub fn single(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostics: vec![diagnostic],
        }
    }
}

impl From<Diagnostic> for SpecError {
    fn from(diagnostic: Diagnostic) -> Self {
        Self::single(diagnostic)
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.diagnostics.len() > 1 {
            writeln!(f, "the spec has {} errors", self.diagnostics.len())?;
        }
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// The candidate closest to `name`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// The hint for a name that is not one of `candidates`: "did you mean `x`?"
/// when it is close to one, `otherwise` when not.
pub fn hint_for<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    did_you_mean(name, candidates).map_or_else(otherwise, |s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(line: &str, column: usize) -> String {
        let position = Position {
            file: std::sync::Arc::from(std::path::Path::new("f.yaml")),
            line: 1,
            column,
        };
        let mut diagnostic = Diagnostic::at(&position, "bad");
        diagnostic.source_line = Some(line.to_string());
        diagnostic.details().to_string()
    }

    #[test]
    fn short_lines_are_shown_whole_with_the_caret_under_the_column() {
        assert_eq!(shown("a: [1, 2", 4), "bad\n   |\n 1 | a: [1, 2\n   |    ^");
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("{}X{}", "[".repeat(5_000), "]".repeat(5_000));
        let text = shown(&line, 5_001);
        let lines: Vec<&str> = text.lines().collect();
        let source = lines[2].strip_prefix(" 1 | ").unwrap();
        assert_eq!(source.chars().count(), MAX_SHOWN_LINE + 2, "{source}");
        assert!(source.starts_with('…') && source.ends_with('…'), "{source}");
        let caret = lines[3].strip_prefix("   | ").unwrap();
        assert_eq!(
            source.chars().nth(caret.len() - 1),
            Some('X'),
            "the caret is under the column"
        );
        // Near either end, the window keeps its size and only one side is cut.
        let start = shown(&line, 1);
        assert!(start.lines().nth(2).unwrap().ends_with("[…"), "{start}");
        let end = shown(&line, 10_001);
        assert!(end.lines().nth(2).unwrap().starts_with(" 1 | …]"), "{end}");
        assert!(
            end.lines()
                .nth(3)
                .unwrap()
                .ends_with(&format!("{}^", " ".repeat(MAX_SHOWN_LINE))),
            "{end}"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let fields = ["image", "environment", "healthcheck", "ports"];
        assert_eq!(did_you_mean("enviroment", fields), Some("environment"));
        assert_eq!(did_you_mean("imagee", fields), Some("image"));
        assert_eq!(did_you_mean("helthcheck", fields), Some("healthcheck"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
