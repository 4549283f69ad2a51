//! Problems in values that several services share — a YAML anchor merged
//! into each (`<<: *defaults`), a service others `extends` — are found once
//! per service, all at the same place. They are said once, at that place,
//! naming the services that use the value (issue 15, defect 6).

use crate::spec::error::Diagnostic;
use crate::spec::yaml::Key;

/// `found` (the diagnostics recorded from index `first` on, while reading
/// the services that start at each index of `starts`), each problem once.
pub(super) fn say_once(found: Vec<Diagnostic>, first: usize, starts: &[(usize, &Key)]) -> Vec<Diagnostic> {
    // Each problem, and the services it was found in.
    let mut problems: Vec<(Diagnostic, String, Vec<&Key>)> = Vec::new();
    for (offset, diagnostic) in found.into_iter().enumerate() {
        let index = first + offset;
        let Some((_, key)) = starts.iter().rev().find(|(start, _)| *start <= index) else {
            problems.push((diagnostic, String::new(), Vec::new()));
            continue;
        };
        if diagnostic.position.is_none() {
            problems.push((diagnostic, String::new(), vec![*key]));
            continue;
        }
        // The same problem in another service may name that service instead.
        let problem = diagnostic.message.replace(&format!("`{}`", key.name), "`\u{0}`");
        match problems
            .iter_mut()
            .find(|(seen, seen_problem, _)| seen.position == diagnostic.position && *seen_problem == problem)
        {
            Some((_, _, services)) => services.push(key),
            None => problems.push((diagnostic, problem, vec![*key])),
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
