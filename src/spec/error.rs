//! Spec errors: each names the file, line and column, says what is wrong,
//! and where it helps, what was probably meant.

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
            let caret_indent: String = line
                .chars()
                .take(position.column.saturating_sub(1))
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

    #[test]
    fn suggests_close_names_only() {
        let fields = ["image", "environment", "healthcheck", "ports"];
        assert_eq!(did_you_mean("enviroment", fields), Some("environment"));
        assert_eq!(did_you_mean("imagee", fields), Some("image"));
        assert_eq!(did_you_mean("helthcheck", fields), Some("healthcheck"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
