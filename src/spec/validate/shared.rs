//! Problems in values that several services share — a YAML anchor merged
//! into each (`<<: *defaults`), a service others `extends` — are found once
//! per service, all at the same place. They are said once, at that place,
//! naming the services that use the value (issue 15, defect 6).

use super::rules::ServiceNodes;
use crate::spec::error::Diagnostic;
use crate::spec::yaml::Key;

/// `found` (the diagnostics recorded from index `first` on: while reading
/// the services that start at each index of `starts`, then from
/// `rules_start` on, by the rules across services), each problem once.
pub(super) fn say_once(
    found: Vec<Diagnostic>,
    first: usize,
    starts: &[(usize, &Key)],
    rules_start: usize,
    services: &ServiceNodes<'_>,
) -> Vec<Diagnostic> {
    // Each problem, and the services it was found in.
    let mut problems: Vec<(Diagnostic, String, Vec<&Key>)> = Vec::new();
    for (offset, diagnostic) in found.into_iter().enumerate() {
        let index = first + offset;
        let owner = if index < rules_start {
            starts
                .iter()
                .rev()
                .find(|(start, _)| *start <= index)
                .map(|(_, key)| *key)
        } else {
            // A rule's message starts with the service it is about.
            diagnostic
                .message
                .strip_prefix("service `")
                .and_then(|rest| rest.split_once('`'))
                .and_then(|(name, _)| services.get(name))
                .map(|(key, _)| *key)
        };
        let Some(key) = owner.filter(|_| diagnostic.position.is_some()) else {
            problems.push((diagnostic, String::new(), owner.into_iter().collect()));
            continue;
        };
        // The same problem in another service may name that service instead.
        let problem = diagnostic.message.replace(&format!("`{}`", key.name), "`\u{0}`");
        match problems.iter_mut().find(|(seen, seen_problem, services)| {
            !services.is_empty() && seen.position == diagnostic.position && *seen_problem == problem
        }) {
            Some((_, _, services)) => services.push(key),
            None => problems.push((diagnostic, problem, vec![key])),
        }
    }
    problems
        .into_iter()
        .map(|(mut diagnostic, _, services)| {
            // Named when shared, or when written above the one service that
            // uses it (an anchor in an `x-` block): the line alone does not say whose it is.
            let above = match (&diagnostic.position, services.as_slice()) {
                (Some(position), [key]) => position.file == key.position.file && position.line < key.position.line,
                _ => false,
            };
            if services.len() > 1 || above {
                diagnostic.message = format!("{} ({})", diagnostic.message, users(&services));
            }
            diagnostic
        })
        .collect()
}

/// "service `a` uses this value", "services `a`, `b` and `c` use this value".
fn users(services: &[&Key]) -> String {
    let names: Vec<String> = services.iter().map(|key| format!("`{}`", key.name)).collect();
    match names.as_slice() {
        [one] => format!("service {one} uses this value"),
        [rest @ .., last] => format!("services {} and {last} use this value", rest.join(", ")),
        [] => String::new(),
    }
}
