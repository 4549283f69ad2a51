//! Splitting a migration file into the statements MySQL runs one by one.
//! Pure.
//!
//! sqlx sends a migration file as one multi-statement query; when statement
//! 7 of 12 fails, the server names neither the statement nor how many ran
//! before it. flowinfra runs the statements one at a time instead (the
//! bookkeeping in `_sqlx_migrations` stays the same as sqlx's), so a failure
//! names the statement that failed and knows the ones before it succeeded.
//!
//! The splitter understands what can hide a `;`: quoted strings ('…', "…",
//! with doubled quotes and backslash escapes), backquoted identifiers and
//! comments (`-- `, `#`, `/* … */`). It does not understand the `mysql`
//! client's `DELIMITER` command, which sqlx does not support either.

/// One statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text without the terminating `;`, trimmed.
    pub text: String,
    /// The 1-based line of the file where the statement starts.
    pub line: usize,
}

impl Statement {
    /// The statement on one line, cut to about `max` characters, for messages.
    pub fn summary(&self, max: usize) -> String {
        let flat: String = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= max {
            flat
        } else {
            let cut: String = flat.chars().take(max).collect();
            format!("{cut}…")
        }
    }
}

/// The statements of `sql`, in order. Fragments holding only comments and
/// whitespace are left out.
pub fn split_statements(sql: &str) -> Vec<Statement> {
    let chars: Vec<char> = sql.chars().collect();
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut has_code = false;
    let mut start_line = 1;
    let mut line = 1;
    let mut index = 0;

    let mut finish = |current: &mut String, has_code: &mut bool, start_line: usize| {
        if *has_code {
            statements.push(Statement {
                text: current.trim().to_string(),
                line: start_line,
            });
        }
        current.clear();
        *has_code = false;
    };

    while index < chars.len() {
        let c = chars[index];
        let next = chars.get(index + 1).copied();
        match c {
            '\'' | '"' | '`' => {
                if !has_code {
                    start_line = line;
                }
                has_code = true;
                current.push(c);
                index += 1;
                while index < chars.len() {
                    let d = chars[index];
                    current.push(d);
                    if d == '\n' {
                        line += 1;
                    }
                    index += 1;
                    if d == '\\' && c != '`' && index < chars.len() {
                        // A backslash escapes the next character in strings.
                        if chars[index] == '\n' {
                            line += 1;
                        }
                        current.push(chars[index]);
                        index += 1;
                    } else if d == c {
                        if chars.get(index) == Some(&c) {
                            // A doubled quote stands for itself.
                            current.push(c);
                            index += 1;
                        } else {
                            break;
                        }
                    }
                }
                continue;
            }
            '-' if next == Some('-') && chars.get(index + 2).is_none_or(|d| d.is_whitespace()) => {
                index = skip_line_comment(&chars, index, &mut current);
                continue;
            }
            '#' => {
                index = skip_line_comment(&chars, index, &mut current);
                continue;
            }
            '/' if next == Some('*') => {
                // `/*! … */` is an executable comment: MySQL runs its content.
                let executable = chars.get(index + 2) == Some(&'!');
                if executable && !has_code {
                    start_line = line;
                    has_code = true;
                }
                let end = find_comment_end(&chars, index + 2);
                for &d in &chars[index..end] {
                    if d == '\n' {
                        line += 1;
                    }
                    current.push(d);
                }
                index = end;
                continue;
            }
            ';' => {
                finish(&mut current, &mut has_code, start_line);
                index += 1;
                continue;
            }
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            _ => {
                if !has_code {
                    start_line = line;
                }
                has_code = true;
            }
        }
        current.push(c);
        index += 1;
    }
    finish(&mut current, &mut has_code, start_line);
    statements
}

/// Copies a comment up to (not including) its line end; returns the index after it.
fn skip_line_comment(chars: &[char], mut index: usize, current: &mut String) -> usize {
    while index < chars.len() && chars[index] != '\n' {
        current.push(chars[index]);
        index += 1;
    }
    index
}

/// The index just past the `*/` closing a block comment opened before `from`.
fn find_comment_end(chars: &[char], from: usize) -> usize {
    let mut index = from;
    while index + 1 < chars.len() {
        if chars[index] == '*' && chars[index + 1] == '/' {
            return index + 2;
        }
        index += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split_statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn statements_split_on_semicolons_with_their_start_lines() {
        let statements = split_statements("CREATE TABLE a (id INT);\n\nCREATE TABLE b (id INT);\n");
        assert_eq!(
            statements,
            vec![
                Statement {
                    text: "CREATE TABLE a (id INT)".into(),
                    line: 1
                },
                Statement {
                    text: "CREATE TABLE b (id INT)".into(),
                    line: 3
                },
            ]
        );
    }

    #[test]
    fn semicolons_inside_strings_identifiers_and_comments_do_not_split() {
        let sql = "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s;', 'back\\';slash');\n\
                   CREATE TABLE `odd;name` (id INT); -- trailing; comment\n\
                   # hash; comment\n\
                   /* block; comment */ SELECT 1;";
        assert_eq!(
            texts(sql),
            [
                "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s;', 'back\\';slash')",
                "CREATE TABLE `odd;name` (id INT)",
                "-- trailing; comment\n# hash; comment\n/* block; comment */ SELECT 1",
            ]
        );
    }

    #[test]
    fn comment_only_fragments_are_not_statements() {
        assert_eq!(
            texts("-- just a comment\n/* and a block */\n;\n  \n"),
            Vec::<String>::new()
        );
        assert_eq!(texts("SELECT 1; -- done\n"), ["SELECT 1"]);
    }

    #[test]
    fn a_statement_starts_at_its_first_code_line_after_comments() {
        let statements = split_statements("-- header\n-- more\nCREATE TABLE a (id INT);");
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0].line, 3);
    }

    #[test]
    fn double_dash_without_a_space_is_an_operator_not_a_comment() {
        assert_eq!(texts("SELECT 1--1; SELECT 2"), ["SELECT 1--1", "SELECT 2"]);
    }

    #[test]
    fn executable_comments_are_statements() {
        assert_eq!(
            texts("/*!40101 SET NAMES utf8mb4 */;"),
            ["/*!40101 SET NAMES utf8mb4 */"]
        );
    }

    #[test]
    fn summary_flattens_and_cuts_long_statements() {
        let statement = Statement {
            text: "CREATE TABLE x (\n  id INT\n)".into(),
            line: 1,
        };
        assert_eq!(statement.summary(100), "CREATE TABLE x ( id INT )");
        assert_eq!(statement.summary(6), "CREATE…");
    }
}
