//! `.dockerignore` matching with the docker CLI's semantics, which decide
//! what a build context sends to the engine (the engine applies no
//! `.dockerignore` of its own to what it receives).
//!
//! The rules, as moby's `patternmatcher` and `ignorefile` and the docker
//! CLI's context archiver apply them:
//! - Reading: a UTF-8 BOM is dropped; a line *starting* with `#` is a comment
//!   (`  #x` is a pattern); lines are trimmed; blank lines are skipped; a
//!   leading `!` makes an exception (the rest is trimmed again); each pattern
//!   is cleaned like Go's `filepath.Clean` (`./a`, `a/`, `a//b/../b` → `a`,
//!   `a/b`) and one leading `/` is dropped. A bare `!` is an error.
//! - Patterns are Go `filepath.Match` globs plus `**`: `*` and `?` never cross
//!   a `/`, `[...]` is a class (negated with `^`), `\` escapes. `**/` matches
//!   any number of directories, none included; a trailing `**` matches
//!   anything below. Patterns are anchored at the context root: `*.md` is
//!   `README.md`, not `docs/a.md`.
//! - A pattern matching a directory matches everything below it; the last
//!   matching line wins, so `!docs/openapi.yaml` after `docs` re-includes.
//! - Walking: an excluded directory is still entered when an exception
//!   pattern begins with that directory's path (`!docs/...` for `docs`),
//!   otherwise it is skipped whole: `**/*.yaml` re-includes nothing inside an
//!   excluded directory. Excluded directories never get an entry of their own.
//! - A pattern's match on a parent directory carries down only if it was
//!   evaluated there; the engine's archiver skips evaluating an exception
//!   while nothing is excluded and an exclusion while something is. This is
//!   why `**/*.txt` then `!d` still drops `d/a.txt`.
//! - The Dockerfile and `.dockerignore` are always sent: the CLI appends
//!   `!<dockerfile>` and `!.dockerignore` when the patterns exclude them.

use regex::Regex;

/// The parsed patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

/// A line the engine's tools would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: `{pattern}`: {reason}")]
pub struct PatternError {
    pub line: usize,
    pub pattern: String,
    pub reason: String,
}

/// Per-pattern results for a directory, handed to its entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentMatches(Vec<bool>);

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern without its `!`.
    text: String,
    exception: bool,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// No wildcard: the path must equal the pattern.
    Exact,
    /// `prefix**`: the path starts with the prefix.
    Prefix(String),
    /// `**suffix` with no other wildcard: the path ends with the suffix, or
    /// (for `**/name`) is the name itself.
    Suffix(String),
    Regex(Regex),
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore`.
    pub fn parse(text: &str) -> Result<DockerIgnore, PatternError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let (exception, rest) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let error = |reason: &str| PatternError {
                line: index + 1,
                pattern: line.to_string(),
                reason: reason.to_string(),
            };
            if rest.is_empty() {
                return Err(error("a `!` needs a pattern after it"));
            }
            let mut cleaned = clean(rest);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            // The matcher cleans once more, `!` included: `!` + `/` becomes
            // a bare `!`, which it refuses.
            let cleaned = clean(&if exception { format!("!{cleaned}") } else { cleaned });
            let text = match (exception, cleaned.strip_prefix('!')) {
                (true, Some("")) | (true, None) => return Err(error("a `!` needs a pattern after it")),
                (true, Some(text)) => text.to_string(),
                (false, _) => cleaned,
            };
            validate_glob(&text).map_err(|reason| error(&reason))?;
            let kind = compile(&text).map_err(|reason| error(&reason))?;
            patterns.push(Pattern { text, exception, kind });
        }
        Ok(DockerIgnore { patterns })
    }

    /// These patterns with the Dockerfile (a `/`-separated path inside the
    /// context) and `.dockerignore` re-included when they would be excluded,
    /// as the docker CLI does before it archives the context.
    pub fn keeping_build_files(mut self, dockerfile: &str) -> DockerIgnore {
        for file in [".dockerignore", dockerfile] {
            if self.matches_single_parent(file) {
                let text = clean(file);
                let kind = compile(&text).unwrap_or(Kind::Exact);
                self.patterns.push(Pattern {
                    text,
                    exception: true,
                    kind,
                });
            }
        }
        self
    }

    /// Whether `path` (relative to the context root, `/`-separated) is
    /// excluded, given the results of its parent directory (`None` for an
    /// entry of the root). Returns the results to pass to its own entries.
    pub fn excludes(&self, path: &str, parent: Option<&ParentMatches>) -> (bool, ParentMatches) {
        let mut excluded = false;
        let mut results = vec![false; self.patterns.len()];
        for (index, pattern) in self.patterns.iter().enumerate() {
            let mut matched = parent.is_some_and(|parent| parent.0.get(index).copied().unwrap_or(false));
            if !matched {
                // An exception cannot change an included path, nor an
                // exclusion an excluded one: the archiver skips them, and
                // their result is then not handed down.
                if pattern.exception != excluded {
                    continue;
                }
                matched = pattern.matches(path);
                if !matched && parent.is_none() {
                    matched = ancestors(path).any(|dir| pattern.matches(dir));
                }
            }
            results[index] = matched;
            if matched {
                excluded = !pattern.exception;
            }
        }
        (excluded, ParentMatches(results))
    }

    /// Whether an excluded directory must still be entered because an
    /// exception names a path inside it.
    pub fn has_exception_inside(&self, dir: &str) -> bool {
        let dir = format!("{dir}/");
        self.patterns
            .iter()
            .any(|pattern| pattern.exception && format!("{}/", pattern.text).starts_with(&dir))
    }

    /// The CLI's check for its build files: the path or the one ancestor as
    /// deep as the pattern (an older, narrower parent rule than the walk's).
    fn matches_single_parent(&self, file: &str) -> bool {
        let file = clean(file);
        if file == "." {
            return false;
        }
        let parent_dirs: Vec<&str> = match file.rsplit_once('/') {
            Some((parent, _)) => parent.split('/').collect(),
            None => Vec::new(),
        };
        let mut excluded = false;
        for pattern in &self.patterns {
            if pattern.exception != excluded {
                continue;
            }
            let depth = pattern.text.split('/').count();
            let matched = pattern.matches(&file)
                || (!parent_dirs.is_empty()
                    && depth <= parent_dirs.len()
                    && pattern.matches(&parent_dirs[..depth].join("/")));
            if matched {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str()) || suffix.strip_prefix('/').is_some_and(|name| path == name)
            }
            Kind::Regex(regex) => regex.is_match(path),
        }
    }
}

/// `a/b/c` → `a`, `a/b` (the proper ancestors, outermost first).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..at])
}

/// Go's `filepath.Clean` for `/`-separated paths.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The syntax `filepath.Match` accepts; the matcher refuses anything else.
fn validate_glob(pattern: &str) -> Result<(), String> {
    let mut chars = pattern.chars().peekable();
    let escaped = |chars: &mut std::iter::Peekable<std::str::Chars>| -> Result<(), String> {
        match chars.next() {
            None => Err("unterminated character class `[`".into()),
            Some('-' | ']') => Err("a character class needs a character before `-` or `]`".into()),
            Some('\\') => chars.next().map(|_| ()).ok_or_else(|| "a `\\` at the end".into()),
            Some(_) => Ok(()),
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return Err("a `\\` at the end escapes nothing".into()),
            '[' => {
                chars.next_if_eq(&'^');
                let mut ranges = 0;
                loop {
                    if ranges > 0 && chars.next_if_eq(&']').is_some() {
                        break;
                    }
                    escaped(&mut chars)?;
                    if chars.next_if_eq(&'-').is_some() {
                        escaped(&mut chars)?;
                    }
                    ranges += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Classifies a pattern and, when it needs one, builds its regular
/// expression the way the engine's matcher does: `*` → `[^/]*`, `?` →
/// `[^/]`, `**/` → `(.*/)?`, a trailing `**` → `.*`, classes and escapes
/// kept, other regex syntax quoted.
fn compile(pattern: &str) -> Result<Kind, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut regex = String::from("^");
    let mut kind = KindSoFar::Exact;
    let mut at = 0;
    let mut first = true;
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        match c {
            '*' if chars.get(at) == Some(&'*') => {
                at += 1;
                if chars.get(at) == Some(&'/') {
                    at += 1;
                }
                if at == chars.len() {
                    if kind == KindSoFar::Exact {
                        kind = KindSoFar::Prefix;
                    } else {
                        regex.push_str(".*");
                        kind = KindSoFar::Regex;
                    }
                } else {
                    regex.push_str("(.*/)?");
                    kind = KindSoFar::Regex;
                }
                if first {
                    kind = KindSoFar::Suffix;
                }
            }
            '*' => {
                regex.push_str("[^/]*");
                kind = KindSoFar::Regex;
            }
            '?' => {
                regex.push_str("[^/]");
                kind = KindSoFar::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                regex.push('\\');
                regex.push(c);
            }
            '\\' => match chars.get(at) {
                Some(&next) => {
                    at += 1;
                    regex.push('\\');
                    regex.push(next);
                    kind = KindSoFar::Regex;
                }
                // Unreachable: validation refuses a trailing `\`.
                None => regex.push_str("\\\\"),
            },
            '[' | ']' => {
                regex.push(c);
                kind = KindSoFar::Regex;
            }
            c => regex.push(c),
        }
        first = false;
    }
    Ok(match kind {
        KindSoFar::Exact => Kind::Exact,
        KindSoFar::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
        KindSoFar::Suffix => Kind::Suffix(pattern[2..].to_string()),
        KindSoFar::Regex => {
            regex.push('$');
            Kind::Regex(Regex::new(&to_rust_regex(&regex)).map_err(|error| error.to_string())?)
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KindSoFar {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// Go's regular expressions and Rust's `regex` agree on everything the
/// translation emits except inside classes, where Rust reads `[` as a nested
/// class and `&&`, `--`, `~~` as set operations, and on escaped punctuation
/// (`\<` is a word boundary in Rust, a `<` in Go): those are quoted here.
fn to_rust_regex(go: &str) -> String {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len());
    let mut in_class = false;
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        match c {
            '\\' if at < chars.len() => {
                let next = chars[at];
                at += 1;
                if next.is_ascii_alphanumeric() {
                    out.push('\\');
                    out.push(next);
                } else {
                    out.push_str(&regex::escape(&next.to_string()));
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.get(at) == Some(&'^') {
                    out.push('^');
                    at += 1;
                }
                // A `]` right after the opening is a member, not the end.
                if chars.get(at) == Some(&']') {
                    out.push_str("\\]");
                    at += 1;
                }
            }
            '[' if chars.get(at) == Some(&':') => {
                // A POSIX class such as `[:alpha:]`, which both read alike.
                let close = (at + 1..chars.len().saturating_sub(1)).find(|&i| chars[i] == ':' && chars[i + 1] == ']');
                match close {
                    Some(close) => {
                        out.push('[');
                        out.extend(&chars[at..close + 2]);
                        at = close + 2;
                    }
                    None => out.push_str("\\["),
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '-' | '~' if in_class && chars.get(at) == Some(&c) => {
                out.push(c);
                out.push('\\');
                out.push(c);
                at += 1;
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which of `paths` a walk keeps: each path's parent must come earlier.
    fn kept<'a>(ignore: &str, dockerfile: &str, paths: &[&'a str]) -> Vec<&'a str> {
        let ignore = DockerIgnore::parse(ignore).unwrap().keeping_build_files(dockerfile);
        let mut results: std::collections::HashMap<&str, ParentMatches> = Default::default();
        let mut kept = Vec::new();
        for path in paths {
            let parent = path.rsplit_once('/').map(|(parent, _)| &results[parent]);
            let (excluded, result) = ignore.excludes(path, parent);
            results.insert(path, result);
            if !excluded {
                kept.push(*path);
            }
        }
        kept
    }

    #[test]
    fn clean_is_go_filepath_clean() {
        for (input, cleaned) in [
            ("", "."),
            ("a/", "a"),
            ("./a//b", "a/b"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("a/../../b", "../b"),
            ("/../a", "/a"),
            ("/", "/"),
            ("a/./b/.", "a/b"),
        ] {
            assert_eq!(clean(input), cleaned, "{input}");
        }
    }

    #[test]
    fn plain_names_match_at_the_root_only() {
        let paths = ["docs", "docs/a.md", "src", "src/docs", "src/docs/b.md", "README.md"];
        assert_eq!(
            kept("docs\n", "Dockerfile", &paths),
            ["src", "src/docs", "src/docs/b.md", "README.md"]
        );
        assert_eq!(
            kept("*.md\n", "Dockerfile", &paths),
            ["docs", "docs/a.md", "src", "src/docs", "src/docs/b.md"]
        );
        assert_eq!(kept("**/*.md\n", "Dockerfile", &paths), ["docs", "src", "src/docs"]);
    }

    #[test]
    fn an_exception_inside_an_excluded_directory_re_includes() {
        let ignore = DockerIgnore::parse("docs\n!docs/openapi.yaml\n").unwrap();
        assert!(ignore.has_exception_inside("docs"));
        assert!(!ignore.has_exception_inside("doc"));
        assert_eq!(
            kept(
                "docs\n!docs/openapi.yaml\n",
                "Dockerfile",
                &["docs", "docs/a.md", "docs/openapi.yaml"]
            ),
            ["docs/openapi.yaml"]
        );
    }

    #[test]
    fn a_parent_match_is_inherited_only_where_it_was_evaluated() {
        // `!d` is skipped at `d` (nothing excluded it yet), so it does not
        // protect `d/a.txt` from `**/*.txt`, exactly as in the engine's walk.
        assert_eq!(
            kept("**/*.txt\n!d\n", "Dockerfile", &["d", "d/a.txt", "d/b.go", "c.txt"]),
            ["d", "d/b.go"]
        );
    }

    #[test]
    fn the_dockerfile_and_dockerignore_are_always_kept() {
        assert_eq!(
            kept(
                "Dockerfile\n.dockerignore\n*\n",
                "Dockerfile",
                &[".dockerignore", "Dockerfile", "a"]
            ),
            [".dockerignore", "Dockerfile"]
        );
        assert_eq!(
            kept(
                "build\n",
                "build/app.Dockerfile",
                &["build", "build/app.Dockerfile", "build/x"]
            ),
            ["build/app.Dockerfile"]
        );
    }

    #[test]
    fn lines_are_read_as_the_cli_reads_them() {
        let ignore = "\u{feff}# comment\n\n  a.txt  \n ./b/ \n/c\r\n  #d\nx/../e\n";
        let paths = ["a.txt", "b", "b/x", "c", "#d", "e", "f"];
        assert_eq!(kept(ignore, "Dockerfile", &paths), ["f"]);
    }

    #[test]
    fn globs_follow_filepath_match() {
        let paths = ["a1", "ab", "a", "a/1", "x.log", "[x]", "b-c", "q"];
        assert_eq!(
            kept("a?\n", "Dockerfile", &paths),
            ["a", "a/1", "x.log", "[x]", "b-c", "q"]
        );
        assert_eq!(
            kept("a[0-9]\n", "Dockerfile", &paths),
            ["ab", "a", "a/1", "x.log", "[x]", "b-c", "q"]
        );
        assert_eq!(
            kept("a[^0-9]\n", "Dockerfile", &paths),
            ["a1", "a", "a/1", "x.log", "[x]", "b-c", "q"]
        );
        assert_eq!(
            kept("\\[x\\]\n", "Dockerfile", &paths),
            ["a1", "ab", "a", "a/1", "x.log", "b-c", "q"]
        );
        assert_eq!(kept("*\n!q\n", "Dockerfile", &paths), ["q"]);
    }

    #[test]
    fn double_star_forms() {
        let paths = ["foo", "foo/x", "a", "a/foo", "a/b", "a/b/foo", "barfoo"];
        // `**foo` is a plain suffix in the engine's matcher: `barfoo` too.
        assert_eq!(kept("**foo\n", "Dockerfile", &paths), ["a", "a/b"]);
        assert_eq!(kept("**/foo\n", "Dockerfile", &paths), ["a", "a/b", "barfoo"]);
        assert_eq!(
            kept("foo/**\n", "Dockerfile", &paths),
            ["foo", "a", "a/foo", "a/b", "a/b/foo", "barfoo"]
        );
        assert_eq!(
            kept("a/**/foo\n", "Dockerfile", &paths),
            ["foo", "foo/x", "a", "a/b", "barfoo"]
        );
    }

    #[test]
    fn bad_lines_are_refused_with_their_line() {
        for (text, line) in [("a\n!\n", 2), ("[a\n", 1), ("a\\\n", 1), ("[]\n", 1), ("! /\n", 1)] {
            let error = DockerIgnore::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
        }
    }

    #[test]
    fn classes_that_rust_regex_reads_differently_are_quoted() {
        assert_eq!(to_rust_regex("^a[[x]$"), "^a[\\[x]$");
        assert_eq!(to_rust_regex("^[a&&b]$"), "^[a&\\&b]$");
        assert_eq!(to_rust_regex("^[[:alpha:]]$"), "^[[:alpha:]]$");
        assert_eq!(to_rust_regex("^\\<$"), "^<$");
        let ignore = DockerIgnore::parse("[[:digit:]]x\n").unwrap();
        assert!(ignore.excludes("1x", None).0);
        assert!(!ignore.excludes("ax", None).0);
    }
}
