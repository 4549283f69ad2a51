//! What the two database kinds (`mysql/`, `postgres/`) say the same way:
//! the verdicts of their `migrations` and `seed` checks, the events of a
//! seed run, and the connection URL of their consumer settings. Each kind
//! calls its own library; the wording is written once here.

use super::vocabulary::url_encode;
use super::{ConsumerAddress, Verdict};
use crate::database::seed::{SeedAction, SeedError, SeedEvent, SeedReport, SeedStatus};
use crate::events::{Event, EventSink};

/// The `migrations` check: the latest version when every migration is
/// applied and unchanged, otherwise why not.
pub(super) fn migrations_verdict(verdict: Result<Option<i64>, String>) -> Verdict {
    match verdict {
        Ok(Some(latest)) => Verdict::ok(format!("all applied, latest {latest}")).detail("latest_migration", latest),
        Ok(None) => Verdict::ok("no migrations"),
        Err(reason) => Verdict::fail(reason),
    }
}

/// The `seed` check: current (with the rows the application added, if
/// any), or why not; the recorded version and row counts as details.
pub(super) fn seed_verdict(status: Result<SeedStatus, SeedError>) -> Verdict {
    let status = match status {
        Ok(status) => status,
        Err(err) => return Verdict::fail(err.to_string()),
    };
    let verdict = match (status.staleness(), status.added()) {
        (None, None) => Verdict::ok(format!("seed {} is current", status.expected_version)),
        (None, Some(added)) => Verdict::ok(format!("seed {} is current; {added}", status.expected_version)),
        (Some(reason), _) => Verdict::fail(format!("seed not current: {reason}")),
    };
    verdict
        .detail("seed_version", status.recorded.map(|r| r.version).unwrap_or_default())
        .detail("rows", serde_json::to_value(&status.counts).unwrap_or_default())
}

/// A seed run's event as `up` reports it for `service`.
pub(super) fn seed_event(service: &str, event: SeedEvent) -> Event {
    match event {
        SeedEvent::Loading { version } => Event::Seeding {
            service: service.to_string(),
            version,
        },
        SeedEvent::Warning(text) => Event::Warning {
            service: service.to_string(),
            text,
        },
    }
}

/// Reports a seed run that loaded rows.
pub(super) fn seed_loaded(service: &str, report: SeedReport, events: &dyn EventSink) {
    if let SeedAction::Applied { .. } = report.action {
        events.emit(Event::SeedLoaded {
            service: service.to_string(),
            rows: report.total_rows(),
            version: report.version,
            duration: report.duration,
        });
    }
}

/// `user:password@host:port/database`, each part URL-encoded: what follows
/// the scheme in a consumer's `DATABASE_URL`.
pub(super) fn url_tail(user: &str, password: &str, address: &ConsumerAddress, database: &str) -> String {
    format!(
        "{}:{}@{}/{}",
        url_encode(user),
        url_encode(password),
        address.authority,
        url_encode(database)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::drift::TableDrift;
    use crate::database::seed::SeedRecord;

    fn status(drift: Vec<TableDrift>) -> SeedStatus {
        SeedStatus {
            expected_version: "v2".into(),
            expected_checksum: "c".into(),
            recorded: Some(SeedRecord {
                id: 1,
                version: "v2".into(),
                checksum: "c".into(),
                applied_at: "2026-12-05 10:00:00".into(),
                duration_ms: 3,
                rows: Default::default(),
            }),
            counts: [("User".to_string(), 4)].into(),
            drift,
        }
    }

    #[test]
    fn both_database_kinds_word_the_seed_check_alike() {
        let added = TableDrift {
            table: "User".into(),
            added: 1,
            ..TableDrift::default()
        };
        let verdict = seed_verdict(Ok(status(vec![added])));
        assert_eq!(
            verdict.reason,
            "seed v2 is current; rows added since seeding (not the seed's): 1 User"
        );
        assert_eq!(verdict.details["rows"], serde_json::json!({"User": 4}));
        let changed = TableDrift {
            table: "User".into(),
            changed: vec![("email=a@x".into(), vec!["name".into()])],
            changed_count: 1,
            ..TableDrift::default()
        };
        let verdict = seed_verdict(Ok(status(vec![changed])));
        assert_eq!(verdict.status, super::super::Status::Fail);
        assert!(
            verdict.reason.contains("User email=a@x changed (name)"),
            "{}",
            verdict.reason
        );
    }
}
