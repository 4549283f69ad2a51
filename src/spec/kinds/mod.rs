//! `x-flowinfra`: which kind a service is and what flowinfra provisions for
//! it. Each kind has one module here holding its settings fields, how they
//! are read and what the kind needs from its service; [`KINDS`] registers
//! them. A new kind is one module plus one line in [`KINDS`] (and its
//! variant in [`Kind`] and [`KindSettings`]).

mod mysql;
mod postgres;
pub(crate) mod rabbitmq;
mod redis;
mod s3;

use std::path::Path;

use super::error::{Diagnostic, hint_for};
use super::model::{Flowinfra, Kind, KindSettings, Service};
use super::reader::{Fields, Reader};
use super::validate::read_duration;
use super::yaml::{Node, Position};

/// What the spec knows about one kind.
pub(crate) struct KindRules {
    pub kind: Kind,
    /// Its settings in `x-flowinfra`, besides `kind` and `ready_timeout`.
    pub settings: &'static [&'static str],
    /// Reads the settings off the `x-flowinfra` mapping (whose keys are already checked).
    pub read_settings: fn(&mut Reader, &Node, &SettingsContext<'_>) -> KindSettings,
    /// Checks what the kind needs from its service besides its published port.
    pub check_service: fn(&mut Reader, &Service, &Position),
}

/// What reading settings needs besides the tree.
pub(crate) struct SettingsContext<'a> {
    pub project_dir: &'a Path,
    /// The service's image reference (after merging files), when it has one:
    /// some rules depend on the server's version or vendor.
    pub image: Option<&'a str>,
}

/// Every kind, in the order errors list them.
const KINDS: &[&KindRules] = &[
    &mysql::RULES,
    &postgres::RULES,
    &rabbitmq::RULES,
    &redis::RULES,
    &s3::RULES,
];

/// Fields every kind takes.
const COMMON_FIELDS: &[&str] = &["kind", "ready_timeout"];
/// Fields of a job's `x-flowinfra`.
const JOB_FIELDS: &[&str] = &["job", "ready_timeout"];

fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|rules| rules.kind.as_str()).collect()
}

fn rules_of(kind: Kind) -> &'static KindRules {
    KINDS
        .iter()
        .find(|rules| rules.kind == kind)
        .expect("every kind is registered in KINDS")
}

/// Reads a service's `x-flowinfra` mapping: a kind and its settings, or
/// `job: true` for a one-shot job (which has no kind).
pub(crate) fn read_flowinfra(r: &mut Reader, node: &Node, context: &SettingsContext<'_>) -> Option<Flowinfra> {
    let entries = r.mapping(node, "`x-flowinfra`")?;
    let job = match node.get("job") {
        Some(job_node) => r.bool(job_node, "`job`")?,
        None => false,
    };
    let ready_timeout = |r: &mut Reader| {
        node.get("ready_timeout")
            .and_then(|n| read_duration(r, n, "`ready_timeout`"))
    };
    let Some(kind_node) = node.get("kind") else {
        if job {
            r.check_keys(entries, &Fields::new("x-flowinfra (job)", JOB_FIELDS));
            return Some(Flowinfra {
                ready_timeout: ready_timeout(r),
                job,
                settings: None,
            });
        }
        r.push(
            Diagnostic::at(&node.position, "`x-flowinfra` needs a `kind`").with_hint(format!(
                "kind is one of: {}; or `job: true` for a one-shot job",
                kind_names().join(", ")
            )),
        );
        return None;
    };
    if job {
        let position = node.get("job").map_or(&node.position, |n| &n.position);
        r.push(
            Diagnostic::at(position, "a service of a kind cannot be a job").with_hint(
                "a kind is a server flowinfra waits for and provisions; a job runs once and exits: \
                 drop `job: true`, or `kind`",
            ),
        );
        return None;
    }
    let kind_text = r.string(kind_node, "`kind`")?;
    let Some(rules) = KINDS.iter().find(|rules| rules.kind.as_str() == kind_text) else {
        let names = kind_names();
        let hint = hint_for(&kind_text, names.iter().copied(), || {
            format!("kind is one of: {}", names.join(", "))
        });
        r.push(Diagnostic::at(&kind_node.position, format!("unknown kind `{kind_text}`")).with_hint(hint));
        return None;
    };
    let allowed: Vec<&str> = COMMON_FIELDS.iter().chain(rules.settings).copied().collect();
    r.check_keys(entries, &Fields::new(&format!("x-flowinfra ({kind_text})"), &allowed));
    let ready_timeout = ready_timeout(r);
    let settings = (rules.read_settings)(r, node, context);
    Some(Flowinfra {
        ready_timeout,
        job: false,
        settings: Some(settings),
    })
}

/// A job runs once: `restart: always` (or `unless-stopped`, `on-failure`)
/// would have the engine run it again behind flowinfra's back.
pub(crate) fn check_job(r: &mut Reader, service: &Service, node: &Node) {
    let restarts = service
        .restart
        .is_some_and(|policy| policy != super::model::RestartPolicy::No);
    if service.is_marked_job() && restarts {
        let position = node.get("restart").map_or(&node.position, |n| &n.position);
        r.push(
            Diagnostic::at(
                position,
                format!("job `{}` must not be restarted by the engine", service.name),
            )
            .with_hint("a job runs once and exits; set `restart: \"no\"` or leave `restart` out"),
        );
    }
}

/// What a kind needs from its service for flowinfra to reach and provision it.
/// `node` is the service's mapping.
pub(crate) fn check_service(r: &mut Reader, service: &Service, flowinfra: &Flowinfra, node: &Node) {
    let Some(kind) = flowinfra.settings.as_ref().map(KindSettings::kind) else {
        return;
    };
    let position = node.get("x-flowinfra").map_or(&node.position, |n| &n.position);
    (rules_of(kind).check_service)(r, service, position);
    let port = kind.default_port();
    if service.published_port(port).is_none() {
        r.push(
            Diagnostic::at(
                position,
                format!(
                    "service `{}` of kind {} must publish container port {port}",
                    service.name,
                    kind.as_str()
                ),
            )
            .with_hint(format!(
                "flowinfra reaches it from this machine; add e.g. ports: [\"127.0.0.1:{port}:{port}\"]"
            )),
        );
    }
}

/// Reports the variables of `required` that the service's environment lacks
/// or leaves empty; `why` says what flowinfra uses them for.
fn require_environment(r: &mut Reader, service: &Service, position: &Position, required: &[&str], why: &str) {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| service.environment.get(*name).is_none_or(|value| value.is_empty()))
        .collect();
    if let Some(first) = missing.first() {
        r.push(
            Diagnostic::at(
                position,
                format!(
                    "service `{}` of kind {} needs environment {}",
                    service.name,
                    service.kind().map_or("", Kind::as_str),
                    missing.join(", ")
                ),
            )
            .with_hint(format!(
                "{why}; set them under `environment:`, e.g. {first}: ${{{first}}}"
            )),
        );
    }
}

/// For kinds that need nothing from their service but a published port.
fn needs_nothing_more(_: &mut Reader, _: &Service, _: &Position) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_once() {
        for kind in Kind::ALL {
            let registered = KINDS.iter().filter(|rules| rules.kind == kind).count();
            assert_eq!(registered, 1, "{kind:?} is registered {registered} times");
        }
        assert_eq!(KINDS.len(), Kind::ALL.len());
    }
}
