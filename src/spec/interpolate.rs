//! Compose variable interpolation: expands `$VAR`, `${VAR}`, `${VAR:-default}`
//! and the other operators inside one scalar value of the spec.
//!
//! The rules are Docker Compose's (compose-go's `template` package), so a file
//! means the same here as under `docker compose`:
//!
//! | form              | result                                                        |
//! |-------------------|---------------------------------------------------------------|
//! | `$VAR`, `${VAR}`  | the value, or empty when unset                                |
//! | `${VAR:-word}`    | `word` when VAR is unset or empty, else the value             |
//! | `${VAR-word}`     | `word` when VAR is unset, else the value (even when empty)    |
//! | `${VAR:?message}` | error when VAR is unset or empty, else the value              |
//! | `${VAR?message}`  | error when VAR is unset, else the value (even when empty)     |
//! | `${VAR:+word}`    | `word` when VAR is set and not empty, else empty              |
//! | `${VAR+word}`     | `word` when VAR is set (even when empty), else empty          |
//! | `$$`              | a literal `$`                                                 |
//!
//! Names are `[A-Za-z_][A-Za-z0-9_]*`; in `$VAR` the name ends at the first
//! other character, so `$A_B-c` is the value of `A_B` followed by `-c`. A `$`
//! that starts none of the forms above (`$ `, `$-`, `$1`, `$}`, a trailing `$`)
//! stays as it is, as compose-go's pattern leaves it unmatched. After `${`,
//! though, anything but a name with an optional operator is an error.
//!
//! The word after an operator is interpolated itself (`${A:-${B:-x}}`); it
//! ends at the `}` that balances the opening `${`, counting every `{` and `}`
//! in between, so `${JSON:-{"a":1}}` defaults to `{"a":1}`. Like compose-go,
//! the word is interpolated before the variable is looked at: an error inside
//! it (a bad expression, a missing required variable) is reported even when
//! the variable is set and the word would not be used.
//!
//! Deliberate differences from compose-go, all on input compose-go rejects or
//! mangles: a word may span lines (compose-go's `.` stops at a newline), and
//! a word with an unbalanced `{` is an unterminated expression instead of
//! whatever compose-go's greedy pattern happens to match.
//!
//! Not here: reading `.env` files or the process environment (the loader builds
//! a [`VariableSource`]) and walking the YAML tree (the loader calls
//! [`interpolate`] on each scalar and turns the error offset into a position).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// Where variable values come from; the loader builds it from .env, --env-file and the process env.
pub trait VariableSource {
    /// The value of `name`, or `None` when it is unset. Set-but-empty is `Some("")`:
    /// the `:-`/`-` family of operators tells the two apart.
    fn get(&self, name: &str) -> Option<&str>;
}

impl VariableSource for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

impl VariableSource for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

/// Interpolates one scalar value. `Ok(Cow::Borrowed)` when it has no `$`.
///
/// Also borrowed when interpolation changes nothing (a lone `$ ` for example).
/// The error's offset is the byte offset in `input` of the `$` that starts the
/// offending expression, the innermost one when expressions are nested.
pub fn interpolate<'a>(input: &'a str, vars: &dyn VariableSource) -> Result<Cow<'a, str>, InterpolationError> {
    interpolate_recording_unset(input, vars, &mut BTreeSet::new())
}

/// Like [`interpolate`], and adds to `unset_names` every variable that was
/// substituted by an empty string because it is unset (`$VAR`, `${VAR}`).
///
/// Docker Compose warns about those ("The "X" variable is not set. Defaulting
/// to a blank string."); this lets the caller do the same without this module
/// doing any output. Variables behind an operator are not recorded: the
/// operator says what happens when they are unset.
pub fn interpolate_recording_unset<'a>(
    input: &'a str,
    vars: &dyn VariableSource,
    unset_names: &mut BTreeSet<String>,
) -> Result<Cow<'a, str>, InterpolationError> {
    if !input.contains('$') {
        return Ok(Cow::Borrowed(input));
    }
    let mut interpolator = Interpolator {
        source: input,
        vars,
        unset_names,
        closing_brace_of: match_braces(input),
    };
    let output = interpolator.run()?;
    if output == input {
        Ok(Cow::Borrowed(input))
    } else {
        Ok(Cow::Owned(output))
    }
}

/// A variable expression that could not be interpolated, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct InterpolationError {
    /// Byte offset in the input of the `$` that starts the bad expression.
    pub offset: usize,
    pub kind: InterpolationErrorKind,
}

impl InterpolationError {
    /// What the user can do about it, to show under the message.
    pub fn hint(&self) -> Option<&'static str> {
        self.kind.hint()
    }
}

/// Why a variable expression could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationErrorKind {
    /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty for `:?`)
    RequiredVariableMissing { name: String, message: String },
    /// `${` without a closing `}`
    Unterminated,
    /// `${}` or `${1abc}` or `${VAR!x}` — an invalid name or operator
    InvalidExpression { expression: String },
}

impl InterpolationErrorKind {
    /// What the user can do about it, to show under the message.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::RequiredVariableMissing { .. } => {
                Some("set the variable in the .env file, in a file passed with --env-file, or in the environment")
            }
            Self::Unterminated => Some(r#"close the expression with "}", or write "$$" for a literal "$""#),
            Self::InvalidExpression { .. } => {
                Some(r#"write "$$" for a literal "$" (for example "$${VAR}" passes "${VAR}" through unchanged)"#)
            }
        }
    }
}

impl fmt::Display for InterpolationErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RequiredVariableMissing { name, message } if message.is_empty() => {
                write!(formatter, "required variable {name} is not set")
            }
            Self::RequiredVariableMissing { name, message } => {
                write!(formatter, "required variable {name} is not set: {message}")
            }
            // The kind carries no text, so the message points at the syntax;
            // the caller shows where, from the error's offset.
            Self::Unterminated => {
                write!(
                    formatter,
                    r#"unterminated variable expression: "${{" has no closing "}}""#
                )
            }
            Self::InvalidExpression { expression } => write!(
                formatter,
                "invalid variable expression {expression:?}: {}",
                describe_invalid_expression(expression)
            ),
        }
    }
}

/// Says what is wrong with an expression [`interpolate`] rejected, from its text alone,
/// so that [`InterpolationErrorKind::InvalidExpression`] needs to carry nothing else.
fn describe_invalid_expression(expression: &str) -> String {
    let body = expression.strip_prefix("${").unwrap_or(expression);
    let body = body.strip_suffix('}').unwrap_or(body);
    let Some(first) = body.chars().next() else {
        return "the variable name is missing".to_owned();
    };
    if !is_name_start(first) {
        return r#"a variable name must start with a letter or "_""#.to_owned();
    }
    let after_name = body.trim_start_matches(is_name_continue);
    let operator: String = match after_name.strip_prefix(':') {
        Some(rest) => rest.chars().next().map_or(":".to_owned(), |next| format!(":{next}")),
        None => after_name.chars().take(1).collect(),
    };
    format!(r#""{operator}" is not an operator; after the name use ":-", "-", ":?", "?", ":+" or "+""#)
}

/// What a `${NAME<operator>word}` expression does with its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    /// `:-`
    DefaultWhenUnsetOrEmpty,
    /// `-`
    DefaultWhenUnset,
    /// `:?`
    ErrorWhenUnsetOrEmpty,
    /// `?`
    ErrorWhenUnset,
    /// `:+`
    AlternativeWhenSetAndNotEmpty,
    /// `+`
    AlternativeWhenSet,
}

impl Operator {
    /// The operator at the start of `text` and its length in bytes.
    fn parse(text: &str) -> Option<(Self, usize)> {
        let operator = match text.as_bytes() {
            [b':', b'-', ..] => (Self::DefaultWhenUnsetOrEmpty, 2),
            [b':', b'?', ..] => (Self::ErrorWhenUnsetOrEmpty, 2),
            [b':', b'+', ..] => (Self::AlternativeWhenSetAndNotEmpty, 2),
            [b'-', ..] => (Self::DefaultWhenUnset, 1),
            [b'?', ..] => (Self::ErrorWhenUnset, 1),
            [b'+', ..] => (Self::AlternativeWhenSet, 1),
            _ => return None,
        };
        Some(operator)
    }
}

/// An operator expression whose word is being interpolated.
struct PendingExpression<'s> {
    /// Offset of the `$` that starts the expression.
    dollar: usize,
    /// Offset of the `}` that ends it.
    closing_brace: usize,
    name: &'s str,
    operator: Operator,
}

/// One stretch of the input being interpolated: the whole input, or the word of an expression.
struct Frame<'s> {
    /// The expression this frame is the word of; `None` for the whole input.
    expression: Option<PendingExpression<'s>>,
    /// Where the next unread text starts.
    cursor: usize,
    /// Where this stretch ends (exclusive).
    end: usize,
    output: String,
}

/// Interpolates one input. Nested words are kept on an explicit stack rather
/// than the call stack, so deeply nested input cannot overflow it.
struct Interpolator<'s, 'v> {
    source: &'s str,
    vars: &'v dyn VariableSource,
    unset_names: &'v mut BTreeSet<String>,
    /// For each `{` that has a balancing `}`, the offset of that `}`. Computed
    /// once so that finding the end of every nested expression stays linear.
    closing_brace_of: HashMap<usize, usize>,
}

impl<'s> Interpolator<'s, '_> {
    fn run(&mut self) -> Result<String, InterpolationError> {
        let source = self.source;
        let mut stack = vec![Frame {
            expression: None,
            cursor: 0,
            end: source.len(),
            output: String::with_capacity(source.len()),
        }];
        while let Some(frame) = stack.last_mut() {
            let unread = &source[frame.cursor..frame.end];
            let Some(relative_dollar) = unread.find('$') else {
                frame.output.push_str(unread);
                let Some(finished) = stack.pop() else {
                    unreachable!("the frame just read is on the stack")
                };
                let Some(expression) = finished.expression else {
                    return Ok(finished.output);
                };
                let Some(parent) = stack.last_mut() else {
                    unreachable!("a word frame always sits on top of the frame it belongs to")
                };
                self.resolve(&expression, finished.output, &mut parent.output)?;
                parent.cursor = expression.closing_brace + 1;
                continue;
            };
            let dollar = frame.cursor + relative_dollar;
            frame.output.push_str(&source[frame.cursor..dollar]);
            let next = source[dollar + 1..frame.end].chars().next();
            match next {
                Some('$') => {
                    frame.output.push('$');
                    frame.cursor = dollar + 2;
                }
                Some('{') => match self.read_braced(dollar, frame.end)? {
                    Braced::Plain { name, closing_brace } => {
                        self.push_value(name, &mut frame.output);
                        frame.cursor = closing_brace + 1;
                    }
                    Braced::WithOperator { expression, word_start } => {
                        let word_frame = Frame {
                            cursor: word_start,
                            end: expression.closing_brace,
                            output: String::new(),
                            expression: Some(expression),
                        };
                        stack.push(word_frame);
                    }
                },
                Some(character) if is_name_start(character) => {
                    let name_end = end_of_name(source, dollar + 1, frame.end);
                    self.push_value(&source[dollar + 1..name_end], &mut frame.output);
                    frame.cursor = name_end;
                }
                // compose-go's pattern does not match a `$` that starts nothing, so it stays.
                _ => {
                    frame.output.push('$');
                    frame.cursor = dollar + 1;
                }
            }
        }
        unreachable!("the loop returns when the whole-input frame finishes")
    }

    /// Reads the `${...}` starting at `dollar`, which must end before `end`.
    fn read_braced(&self, dollar: usize, end: usize) -> Result<Braced<'s>, InterpolationError> {
        let source = self.source;
        let opening_brace = dollar + 1;
        let closing_brace = match self.closing_brace_of.get(&opening_brace) {
            Some(&closing_brace) if closing_brace < end => closing_brace,
            _ => {
                return Err(InterpolationError {
                    offset: dollar,
                    kind: InterpolationErrorKind::Unterminated,
                });
            }
        };
        let invalid = || InterpolationError {
            offset: dollar,
            kind: InterpolationErrorKind::InvalidExpression {
                expression: source[dollar..=closing_brace].to_owned(),
            },
        };
        let name_start = opening_brace + 1;
        let starts_with_name = source[name_start..closing_brace]
            .chars()
            .next()
            .is_some_and(is_name_start);
        if !starts_with_name {
            return Err(invalid());
        }
        let name_end = end_of_name(source, name_start, closing_brace);
        let name = &source[name_start..name_end];
        if name_end == closing_brace {
            return Ok(Braced::Plain { name, closing_brace });
        }
        let (operator, operator_length) = Operator::parse(&source[name_end..closing_brace]).ok_or_else(invalid)?;
        Ok(Braced::WithOperator {
            expression: PendingExpression {
                dollar,
                closing_brace,
                name,
                operator,
            },
            word_start: name_end + operator_length,
        })
    }

    /// Appends the value of a plain `$NAME` or `${NAME}`.
    fn push_value(&mut self, name: &str, output: &mut String) {
        match self.vars.get(name) {
            Some(value) => output.push_str(value),
            None => {
                self.unset_names.insert(name.to_owned());
            }
        }
    }

    /// Appends what an operator expression evaluates to, given its interpolated word.
    fn resolve(
        &self,
        expression: &PendingExpression<'_>,
        word: String,
        output: &mut String,
    ) -> Result<(), InterpolationError> {
        let value = self.vars.get(expression.name);
        let set_and_not_empty = value.is_some_and(|value| !value.is_empty());
        let missing = || InterpolationError {
            offset: expression.dollar,
            kind: InterpolationErrorKind::RequiredVariableMissing {
                name: expression.name.to_owned(),
                message: word.clone(),
            },
        };
        let result = match expression.operator {
            Operator::DefaultWhenUnsetOrEmpty if set_and_not_empty => value.unwrap_or_default(),
            Operator::DefaultWhenUnsetOrEmpty => &word,
            Operator::DefaultWhenUnset => value.unwrap_or(&word),
            Operator::ErrorWhenUnsetOrEmpty if set_and_not_empty => value.unwrap_or_default(),
            Operator::ErrorWhenUnsetOrEmpty => return Err(missing()),
            Operator::ErrorWhenUnset => value.ok_or_else(missing)?,
            Operator::AlternativeWhenSetAndNotEmpty if set_and_not_empty => &word,
            Operator::AlternativeWhenSetAndNotEmpty => "",
            Operator::AlternativeWhenSet if value.is_some() => &word,
            Operator::AlternativeWhenSet => "",
        };
        output.push_str(result);
        Ok(())
    }
}

/// A `${...}` expression as read, before its word is interpolated.
enum Braced<'s> {
    /// `${NAME}`
    Plain { name: &'s str, closing_brace: usize },
    /// `${NAME<operator>word}`; the word runs from `word_start` to the closing brace.
    WithOperator {
        expression: PendingExpression<'s>,
        word_start: usize,
    },
}

/// Pairs every `{` with the `}` that balances it, innermost first, as compose-go
/// counts braces when it looks for the end of an expression.
fn match_braces(source: &str) -> HashMap<usize, usize> {
    let mut open_braces = Vec::new();
    let mut closing_brace_of = HashMap::new();
    for (offset, byte) in source.bytes().enumerate() {
        match byte {
            b'{' => open_braces.push(offset),
            b'}' => {
                if let Some(opening_brace) = open_braces.pop() {
                    closing_brace_of.insert(opening_brace, offset);
                }
            }
            _ => {}
        }
    }
    closing_brace_of
}

fn is_name_start(character: char) -> bool {
    character.is_ascii_alphabetic() || character == '_'
}

fn is_name_continue(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_'
}

/// The offset just past the name that starts at `start`, not looking at or beyond `end`.
fn end_of_name(source: &str, start: usize, end: usize) -> usize {
    let name_length = source[start..end]
        .find(|character: char| !is_name_continue(character))
        .unwrap_or(end - start);
    start + name_length
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `SET` is "value", `EMPTY` is set but empty, `UNSET` is not there.
    fn variables() -> BTreeMap<String, String> {
        [
            ("SET", "value"),
            ("EMPTY", ""),
            ("OTHER", "other"),
            ("A_B", "ab"),
            ("UNICODE", "żółw"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    fn expand(input: &str) -> String {
        match interpolate(input, &variables()) {
            Ok(output) => output.into_owned(),
            Err(error) => panic!("interpolating {input:?} failed: {error}"),
        }
    }

    fn fail(input: &str) -> InterpolationError {
        match interpolate(input, &variables()) {
            Ok(output) => panic!("interpolating {input:?} should fail but gave {output:?}"),
            Err(error) => error,
        }
    }

    fn required_missing(name: &str, message: &str) -> InterpolationErrorKind {
        InterpolationErrorKind::RequiredVariableMissing {
            name: name.to_owned(),
            message: message.to_owned(),
        }
    }

    fn invalid(expression: &str) -> InterpolationErrorKind {
        InterpolationErrorKind::InvalidExpression {
            expression: expression.to_owned(),
        }
    }

    // Plain references

    #[test]
    fn unbraced_variable_is_replaced_by_its_value() {
        assert_eq!(expand("$SET"), "value");
    }

    #[test]
    fn braced_variable_is_replaced_by_its_value() {
        assert_eq!(expand("${SET}"), "value");
    }

    #[test]
    fn unset_variable_becomes_empty() {
        assert_eq!(expand("a${UNSET}b$UNSET"), "ab");
    }

    #[test]
    fn empty_variable_becomes_empty() {
        assert_eq!(expand("a${EMPTY}b$EMPTY"), "ab");
    }

    #[test]
    fn text_around_a_variable_is_kept() {
        assert_eq!(expand("pre${SET}post"), "prevaluepost");
    }

    #[test]
    fn unbraced_name_stops_at_the_first_character_that_cannot_be_in_a_name() {
        assert_eq!(expand("$A_B-c"), "ab-c");
        assert_eq!(expand("$SET.txt"), "value.txt");
        assert_eq!(expand("$SET/$OTHER"), "value/other");
    }

    #[test]
    fn unbraced_name_takes_every_name_character() {
        // `$SETX` is the variable SETX (unset), not SET followed by X.
        assert_eq!(expand("$SETX"), "");
    }

    #[test]
    fn names_are_case_sensitive() {
        assert_eq!(expand("$set"), "");
    }

    #[test]
    fn names_may_start_with_an_underscore_and_contain_digits() {
        let vars: BTreeMap<String, String> = [("_V2".to_owned(), "x".to_owned())].into();
        assert_eq!(interpolate("${_V2}$_V2", &vars).unwrap(), "xx");
    }

    #[test]
    fn adjacent_expressions_are_all_replaced() {
        assert_eq!(expand("$SET$OTHER${SET}${OTHER}"), "valueothervalueother");
    }

    #[test]
    fn values_are_not_interpolated_again() {
        let vars: BTreeMap<String, String> = [("V".to_owned(), "$SET ${SET}".to_owned())].into();
        assert_eq!(interpolate("$V", &vars).unwrap(), "$SET ${SET}");
    }

    #[test]
    fn hash_map_works_as_a_variable_source() {
        let vars: HashMap<String, String> = [("SET".to_owned(), "hashed".to_owned())].into();
        assert_eq!(interpolate("${SET}", &vars).unwrap(), "hashed");
    }

    // Literal dollars

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        assert_eq!(expand("$$"), "$");
        assert_eq!(expand("a$$b"), "a$b");
    }

    #[test]
    fn double_dollar_before_braces_passes_the_expression_through() {
        assert_eq!(expand("$${SET}"), "${SET}");
        assert_eq!(expand("$$SET"), "$SET");
    }

    #[test]
    fn triple_dollar_is_a_literal_dollar_then_a_variable() {
        assert_eq!(expand("$$$SET"), "$value");
    }

    #[test]
    fn dollar_that_starts_nothing_is_kept() {
        assert_eq!(expand("a $ string"), "a $ string");
        assert_eq!(expand("^REGEX$"), "^REGEX$");
        assert_eq!(expand("$"), "$");
        assert_eq!(expand("$}"), "$}");
        assert_eq!(expand("$-x"), "$-x");
        assert_eq!(expand("$1abc"), "$1abc");
        assert_eq!(expand("cost: 5$"), "cost: 5$");
    }

    #[test]
    fn dollar_that_starts_nothing_keeps_the_input_borrowed() {
        assert!(matches!(interpolate("a $ string", &variables()), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn input_without_dollar_is_borrowed_unchanged() {
        let input = "no variables { here }";
        let output = interpolate(input, &variables()).unwrap();
        assert!(matches!(output, Cow::Borrowed(text) if std::ptr::eq(text, input)));
    }

    #[test]
    fn braces_outside_expressions_are_literal() {
        assert_eq!(expand("{${SET}}"), "{value}");
        assert_eq!(expand("} { $SET"), "} { value");
    }

    // `:-` and `-`

    #[test]
    fn colon_dash_uses_the_value_when_set() {
        assert_eq!(expand("${SET:-default}"), "value");
    }

    #[test]
    fn colon_dash_uses_the_default_when_empty() {
        assert_eq!(expand("${EMPTY:-default}"), "default");
    }

    #[test]
    fn colon_dash_uses_the_default_when_unset() {
        assert_eq!(expand("${UNSET:-default}"), "default");
    }

    #[test]
    fn dash_uses_the_value_when_set() {
        assert_eq!(expand("${SET-default}"), "value");
    }

    #[test]
    fn dash_keeps_an_empty_value() {
        assert_eq!(expand("${EMPTY-default}"), "");
    }

    #[test]
    fn dash_uses_the_default_when_unset() {
        assert_eq!(expand("${UNSET-default}"), "default");
    }

    #[test]
    fn default_may_be_empty() {
        assert_eq!(expand("[${UNSET:-}]"), "[]");
        assert_eq!(expand("[${UNSET-}]"), "[]");
    }

    #[test]
    fn default_may_contain_operator_characters() {
        assert_eq!(expand("${EMPTY:-/non:-alphanumeric}"), "/non:-alphanumeric");
        assert_eq!(expand("${UNSET-myerror?msg}"), "myerror?msg");
        assert_eq!(expand("${UNSET:-a:+b+c?d}"), "a:+b+c?d");
    }

    #[test]
    fn default_may_contain_spaces_and_unicode() {
        assert_eq!(expand("${UNSET:-hello wörld ✓}"), "hello wörld ✓");
    }

    #[test]
    fn default_may_span_lines() {
        assert_eq!(expand("${UNSET:-line one\nline two}"), "line one\nline two");
    }

    #[test]
    fn operator_characters_outside_the_expression_do_not_matter() {
        assert_eq!(expand(":?ok ${EMPTY-default}"), ":?ok ");
        assert_eq!(expand("+ok ${EMPTY:-default}"), "+ok default");
        assert_eq!(expand("-ok ${SET:-default}"), "-ok value");
    }

    // `:?` and `?`

    #[test]
    fn colon_question_uses_the_value_when_set() {
        assert_eq!(expand("${SET:?must be set}"), "value");
    }

    #[test]
    fn colon_question_fails_when_empty() {
        assert_eq!(
            fail("${EMPTY:?must be set}").kind,
            required_missing("EMPTY", "must be set")
        );
    }

    #[test]
    fn colon_question_fails_when_unset() {
        assert_eq!(
            fail("${UNSET:?must be set}").kind,
            required_missing("UNSET", "must be set")
        );
    }

    #[test]
    fn question_uses_the_value_when_set() {
        assert_eq!(expand("${SET?must be set}"), "value");
    }

    #[test]
    fn question_accepts_an_empty_value() {
        assert_eq!(expand("[${EMPTY?must be set}]"), "[]");
    }

    #[test]
    fn question_fails_when_unset() {
        assert_eq!(
            fail("${UNSET?must be set}").kind,
            required_missing("UNSET", "must be set")
        );
    }

    #[test]
    fn required_variable_message_may_be_empty() {
        assert_eq!(fail("${UNSET:?}").kind, required_missing("UNSET", ""));
        assert_eq!(fail("${UNSET?}").kind, required_missing("UNSET", ""));
    }

    #[test]
    fn required_variable_message_may_contain_a_dash() {
        assert_eq!(fail("${UNSET?bar-baz}").kind, required_missing("UNSET", "bar-baz"));
    }

    #[test]
    fn required_variable_error_points_at_its_dollar() {
        assert_eq!(fail("not ok ${UNSET:?x}").offset, 7);
    }

    // `:+` and `+`

    #[test]
    fn colon_plus_uses_the_alternative_when_set() {
        assert_eq!(expand("${SET:+alternative}"), "alternative");
    }

    #[test]
    fn colon_plus_is_empty_when_empty() {
        assert_eq!(expand("[${EMPTY:+alternative}]"), "[]");
    }

    #[test]
    fn colon_plus_is_empty_when_unset() {
        assert_eq!(expand("[${UNSET:+alternative}]"), "[]");
    }

    #[test]
    fn plus_uses_the_alternative_when_set() {
        assert_eq!(expand("${SET+alternative}"), "alternative");
    }

    #[test]
    fn plus_uses_the_alternative_when_empty() {
        assert_eq!(expand("${EMPTY+alternative}"), "alternative");
    }

    #[test]
    fn plus_is_empty_when_unset() {
        assert_eq!(expand("[${UNSET+alternative}]"), "[]");
    }

    // Nesting

    #[test]
    fn default_may_be_a_braced_variable() {
        assert_eq!(expand("${UNSET-${SET}}"), "value");
    }

    #[test]
    fn default_may_be_an_unbraced_variable() {
        assert_eq!(expand("${EMPTY:-$SET}"), "value");
    }

    #[test]
    fn default_may_mix_text_and_variables() {
        assert_eq!(expand("${UNSET-${SET} and $OTHER!}"), "value and other!");
    }

    #[test]
    fn nested_defaults_fall_through_until_one_is_set() {
        assert_eq!(expand("${UNSET:-${EMPTY:-${SET:-x}}}"), "value");
        assert_eq!(expand("${UNSET:-${EMPTY:-x}}"), "x");
    }

    #[test]
    fn nested_default_inside_a_set_variable_is_not_used() {
        assert_eq!(expand("${SET:-${UNSET:-x}}"), "value");
    }

    #[test]
    fn nested_dash_keeps_an_empty_value() {
        assert_eq!(expand("+ok ${UNSET:-${EMPTY-default}}"), "+ok ");
    }

    #[test]
    fn alternative_may_contain_variables() {
        assert_eq!(expand("${EMPTY+$SET ${OTHER:+second}}"), "value second");
    }

    #[test]
    fn required_variable_message_is_interpolated() {
        assert_eq!(
            fail("${UNSET:?needed by ${SET}}").kind,
            required_missing("UNSET", "needed by value")
        );
    }

    #[test]
    fn text_after_a_nested_expression_is_kept() {
        assert_eq!(expand("a${UNSET:-b${SET}c}d${OTHER}e"), "abvaluecdothere");
    }

    #[test]
    fn braces_inside_a_default_are_balanced() {
        assert_eq!(expand(r#"${UNSET:-{"a":1}}"#), r#"{"a":1}"#);
        assert_eq!(expand("${SET:+{x}}"), "{x}");
    }

    #[test]
    fn first_closing_brace_ends_an_expression_without_inner_braces() {
        assert_eq!(expand("${UNSET:-x}}"), "x}");
    }

    #[test]
    fn double_dollar_inside_a_default_is_a_literal_dollar() {
        assert_eq!(expand("${UNSET:-$${SET}}"), "${SET}");
        assert_eq!(expand("${UNSET:-a$}"), "a$");
    }

    #[test]
    fn nested_required_variable_error_points_at_the_inner_dollar() {
        let error = fail("x ${UNSET:-${ALSO_UNSET:?gone}}");
        assert_eq!(error.offset, 11);
        assert_eq!(error.kind, required_missing("ALSO_UNSET", "gone"));
    }

    #[test]
    fn unused_default_is_still_checked_as_compose_does() {
        // compose-go interpolates the word before it looks at the variable.
        let error = fail("${SET:-${UNSET:?gone}}");
        assert_eq!(error.kind, required_missing("UNSET", "gone"));
        assert_eq!(fail("${SET:-${1}}").kind, invalid("${1}"));
    }

    #[test]
    fn deeply_nested_defaults_do_not_overflow_the_stack() {
        let depth = 100_000;
        let input = format!("{}x{}", "${UNSET:-".repeat(depth), "}".repeat(depth));
        assert_eq!(expand(&input), "x");
    }

    // Unicode

    #[test]
    fn unicode_around_and_in_values_is_kept() {
        assert_eq!(expand("ą${UNICODE}ę$UNICODE€"), "ążółwężółw€");
    }

    #[test]
    fn unicode_after_a_dollar_is_kept() {
        assert_eq!(expand("$é$€"), "$é$€");
    }

    #[test]
    fn unicode_ends_an_unbraced_name() {
        assert_eq!(expand("$SETé"), "valueé");
    }

    #[test]
    fn error_offsets_are_byte_offsets() {
        let input = "żółw ${UNSET:?x}";
        let error = fail(input);
        assert_eq!(error.offset, "żółw ".len());
        assert_eq!(&input[error.offset..error.offset + 1], "$");
    }

    // Invalid and unterminated expressions

    #[test]
    fn lone_opening_brace_is_unterminated() {
        let error = fail("${");
        assert_eq!(
            error,
            InterpolationError {
                offset: 0,
                kind: InterpolationErrorKind::Unterminated
            }
        );
    }

    #[test]
    fn name_without_closing_brace_is_unterminated() {
        assert_eq!(fail("abc ${SET").kind, InterpolationErrorKind::Unterminated);
        assert_eq!(fail("abc ${SET").offset, 4);
    }

    #[test]
    fn default_without_closing_brace_is_unterminated() {
        assert_eq!(fail("${UNSET:-x").kind, InterpolationErrorKind::Unterminated);
    }

    #[test]
    fn closed_inner_expression_does_not_close_the_outer_one() {
        let error = fail("${UNSET:-${SET}");
        assert_eq!(
            error,
            InterpolationError {
                offset: 0,
                kind: InterpolationErrorKind::Unterminated
            }
        );
    }

    #[test]
    fn unbalanced_brace_in_a_default_leaves_it_unterminated() {
        assert_eq!(fail("${UNSET:-{x}").kind, InterpolationErrorKind::Unterminated);
    }

    #[test]
    fn empty_braces_are_invalid() {
        assert_eq!(
            fail("${}"),
            InterpolationError {
                offset: 0,
                kind: invalid("${}")
            }
        );
    }

    #[test]
    fn name_starting_with_a_digit_is_invalid() {
        assert_eq!(fail("${1abc}").kind, invalid("${1abc}"));
    }

    #[test]
    fn spaces_around_the_name_are_invalid() {
        assert_eq!(fail("${ SET}").kind, invalid("${ SET}"));
        assert_eq!(fail("${SET }").kind, invalid("${SET }"));
        assert_eq!(fail("${ }").kind, invalid("${ }"));
    }

    #[test]
    fn unknown_operator_is_invalid() {
        assert_eq!(fail("${SET!x}").kind, invalid("${SET!x}"));
        assert_eq!(fail("${SET:x}").kind, invalid("${SET:x}"));
        assert_eq!(fail("${SET:}").kind, invalid("${SET:}"));
        assert_eq!(fail("${SET=x}").kind, invalid("${SET=x}"));
    }

    #[test]
    fn invalid_expression_error_points_at_its_dollar() {
        assert_eq!(fail("ok $SET then ${!}").offset, 13);
    }

    #[test]
    fn first_error_from_the_left_is_reported() {
        assert_eq!(fail("${1} ${UNSET:?x}").kind, invalid("${1}"));
        assert_eq!(fail("${UNSET:?x} ${1}").kind, required_missing("UNSET", "x"));
    }

    // Messages and hints

    #[test]
    fn missing_required_variable_message_names_it_and_gives_the_reason() {
        let error = fail("${MYSQL_PASSWORD:?the database needs a root password}");
        assert_eq!(
            error.to_string(),
            "required variable MYSQL_PASSWORD is not set: the database needs a root password"
        );
        assert!(error.hint().is_some_and(|hint| hint.contains("--env-file")));
    }

    #[test]
    fn missing_required_variable_message_without_reason_has_no_trailing_colon() {
        assert_eq!(
            fail("${MYSQL_PASSWORD?}").to_string(),
            "required variable MYSQL_PASSWORD is not set"
        );
    }

    #[test]
    fn unterminated_message_says_what_is_missing() {
        let error = fail("${FOO");
        assert_eq!(
            error.to_string(),
            r#"unterminated variable expression: "${" has no closing "}""#
        );
        assert!(error.hint().is_some_and(|hint| hint.contains("$$")));
    }

    #[test]
    fn invalid_name_message_quotes_the_expression_and_explains() {
        assert_eq!(
            fail("${1abc}").to_string(),
            r#"invalid variable expression "${1abc}": a variable name must start with a letter or "_""#
        );
    }

    #[test]
    fn empty_braces_message_says_the_name_is_missing() {
        assert_eq!(
            fail("${}").to_string(),
            r#"invalid variable expression "${}": the variable name is missing"#
        );
    }

    #[test]
    fn unknown_operator_message_lists_the_operators() {
        assert_eq!(
            fail("${VAR!x}").to_string(),
            r#"invalid variable expression "${VAR!x}": "!" is not an operator; after the name use ":-", "-", ":?", "?", ":+" or "+""#
        );
        assert!(fail("${VAR:x}").to_string().contains(r#"":x" is not an operator"#));
    }

    #[test]
    fn invalid_expression_hint_suggests_double_dollar() {
        assert!(fail("${}").hint().is_some_and(|hint| hint.contains("$${VAR}")));
    }

    // Unset-variable reporting

    #[test]
    fn plain_references_to_unset_variables_are_recorded() {
        let mut unset = BTreeSet::new();
        let output = interpolate_recording_unset("$UNSET ${ALSO_UNSET} $SET $EMPTY", &variables(), &mut unset).unwrap();
        assert_eq!(output, "  value ");
        assert_eq!(unset, BTreeSet::from(["ALSO_UNSET".to_owned(), "UNSET".to_owned()]));
    }

    #[test]
    fn variables_behind_an_operator_are_not_recorded_as_unset() {
        let mut unset = BTreeSet::new();
        interpolate_recording_unset("${UNSET:-x}${UNSET-x}${UNSET:+x}${UNSET+x}", &variables(), &mut unset).unwrap();
        assert!(unset.is_empty());
    }

    #[test]
    fn unset_variables_inside_a_default_are_recorded() {
        let mut unset = BTreeSet::new();
        interpolate_recording_unset("${UNSET:-$INNER}", &variables(), &mut unset).unwrap();
        assert_eq!(unset, BTreeSet::from(["INNER".to_owned()]));
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            let _ = interpolate(&input, &variables());
        }

        #[test]
        fn input_made_of_dollars_braces_and_names_never_panics(input in r"[${}:?+\-_A-Za-z0-9 é]{0,40}") {
            if let Err(error) = interpolate(&input, &variables()) {
                prop_assert!(input.is_char_boundary(error.offset));
                prop_assert_eq!(&input[error.offset..error.offset + 1], "$");
            }
        }

        #[test]
        fn input_without_dollar_comes_back_borrowed_and_unchanged(input in "[^$]*") {
            let output = interpolate(&input, &variables());
            prop_assert!(matches!(output, Ok(Cow::Borrowed(text)) if text == input));
        }

        #[test]
        fn escaped_dollars_come_back_as_single_dollars(text in "[^$]{0,20}") {
            let input = format!("$${text}$$");
            prop_assert_eq!(expand(&input), format!("${text}$"));
        }
    }
}
