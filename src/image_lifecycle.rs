//! Which image series are retired (they no longer pull) or past their end of
//! life (they pull, but get no more fixes), from the table shipped in
//! `data/image-lifecycle.toml`. Pure: the table is compiled in, so the
//! warning needs no network and works offline.
//!
//! Used to name a retired repository when a pull fails, and to warn in
//! `plan`, `ps` and `check` about a service whose image is past its end.

use std::sync::OnceLock;

use serde::Deserialize;
use time::Date;
use time::macros::format_description;

/// The shipped table; see its header for the fields.
const TABLE: &str = include_str!("../data/image-lifecycle.toml");

/// What the table says about an image series.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Lifecycle {
    pub repository: String,
    pub tags: Vec<String>,
    pub status: Status,
    /// `YYYY-MM-DD`: the day the status holds from.
    pub since: String,
    #[serde(default)]
    pub replacements: Vec<String>,
    pub note: String,
    pub source: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The repository or these tags no longer pull.
    Retired,
    /// The tags still pull but receive no more fixes.
    EndOfLife,
}

#[derive(Debug, Deserialize)]
struct Table {
    schema: u32,
    #[serde(rename = "image")]
    images: Vec<Lifecycle>,
}

fn table() -> &'static [Lifecycle] {
    static PARSED: OnceLock<Vec<Lifecycle>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // A broken table is a build defect that the unit tests catch; at run
        // time it only means no warnings.
        match toml::from_str::<Table>(TABLE) {
            Ok(table) if table.schema == 1 => table.images,
            _ => Vec::new(),
        }
    })
}

/// The row for `reference` (`mysql:8.0`, `registry.example/library/mysql:8.0`,
/// `minio/minio`) whose status holds on `today`, if any.
pub fn lookup(reference: &str, today: Date) -> Option<&'static Lifecycle> {
    let (repository, tag) = repository_and_tag(reference);
    table().iter().find(|row| {
        repository_matches(&row.repository, &repository)
            && row.tags.iter().any(|pattern| glob_matches(pattern, tag))
            && parse_date(&row.since).is_some_and(|since| since <= today)
    })
}

/// Today, in UTC.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// One line for `plan`, `ps` and `check`: what the status means and what to
/// use instead.
pub fn warning(reference: &str, row: &Lifecycle) -> String {
    let what = match row.status {
        Status::Retired => format!("image {reference} is retired since {}: it no longer pulls", row.since),
        Status::EndOfLife => format!("image {reference} is past its end of life since {}", row.since),
    };
    match row.replacements.as_slice() {
        [] => what,
        replacements => format!("{what}; use {} instead", replacements.join(" or ")),
    }
}

/// The lifecycle warnings of a stack's services, given as `(service,
/// image)`: one line per service whose image is retired or past its end of
/// life on `today`, naming the service.
pub fn service_warnings<'a>(services: impl IntoIterator<Item = (&'a str, &'a str)>, today: Date) -> Vec<String> {
    services
        .into_iter()
        .filter_map(|(service, image)| lookup(image, today).map(|row| format!("{service}: {}", warning(image, row))))
        .collect()
}

/// The repository (without registry host or `library/`) and the tag
/// (`latest` when none) of an image reference. A digest is not a tag.
pub fn repository_and_tag(reference: &str) -> (String, &str) {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let (name, tag) = match without_digest.rsplit_once(':') {
        // A colon before the last slash is a registry port, not a tag.
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (without_digest, "latest"),
    };
    let mut parts: Vec<&str> = name.split('/').collect();
    // The first component names a registry when it has a dot or a port, or is localhost.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        parts.remove(0);
    }
    if parts.len() == 2 && parts[0] == "library" {
        parts.remove(0);
    }
    (parts.join("/"), tag)
}

fn repository_matches(pattern: &str, repository: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(namespace) => repository
            .strip_prefix(namespace)
            .is_some_and(|rest| rest.starts_with('/')),
        None => pattern == repository,
    }
}

/// `*` matches any run of characters; nothing else is special.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 12 - 05);

    #[test]
    fn the_shipped_table_parses_with_valid_dates_and_sources() {
        let table: Table = toml::from_str(TABLE).expect("data/image-lifecycle.toml parses");
        assert_eq!(table.schema, 1);
        assert!(table.images.len() >= 10);
        for row in &table.images {
            assert!(parse_date(&row.since).is_some(), "{row:?}");
            assert!(!row.source.trim().is_empty(), "{row:?}");
            assert!(!row.tags.is_empty(), "{row:?}");
            for replacement in &row.replacements {
                assert!(
                    lookup(replacement, TODAY).is_none(),
                    "replacement {replacement} is itself retired or past its end"
                );
            }
        }
    }

    #[test]
    fn references_are_normalised_as_the_table_writes_them() {
        assert_eq!(repository_and_tag("mysql:8.0"), ("mysql".to_string(), "8.0"));
        assert_eq!(
            repository_and_tag("registry.example/library/mysql:8.0"),
            ("mysql".to_string(), "8.0")
        );
        assert_eq!(repository_and_tag("minio/minio"), ("minio/minio".to_string(), "latest"));
        assert_eq!(
            repository_and_tag("registry.local:5000/team/app"),
            ("team/app".to_string(), "latest")
        );
        assert_eq!(repository_and_tag("redis:7.0@sha256:abc"), ("redis".to_string(), "7.0"));
    }

    #[test]
    fn an_end_of_life_series_warns_with_its_replacement() {
        let row = lookup("mysql:8.0.40", TODAY).expect("mysql 8.0 is past its end");
        assert_eq!(row.status, Status::EndOfLife);
        assert_eq!(
            warning("mysql:8.0.40", row),
            "image mysql:8.0.40 is past its end of life since 2026-04-30; use mysql:8.4 instead"
        );
    }

    #[test]
    fn a_retired_repository_matches_every_tag() {
        for reference in [
            "minio/minio",
            "minio/minio:latest",
            "minio/minio:RELEASE.2025-04-22T22-12-26Z",
        ] {
            let row = lookup(reference, TODAY).expect(reference);
            assert_eq!(row.status, Status::Retired);
        }
        assert!(warning("minio/minio:latest", lookup("minio/minio", TODAY).unwrap()).contains("no longer pulls"));
    }

    #[test]
    fn supported_series_and_lookalikes_do_not_match() {
        for reference in [
            "mysql:8.4",
            "mysql:8",
            "mysql:80",
            "rabbitmq:4.3-management",
            "redis:8.10",
            "minio/minio-extra",
        ] {
            assert!(lookup(reference, TODAY).is_none(), "{reference}");
        }
    }

    #[test]
    fn a_status_is_not_reported_before_its_date() {
        assert!(lookup("mysql:8.0", date!(2026 - 04 - 29)).is_none());
        assert!(lookup("mysql:8.0", date!(2026 - 04 - 30)).is_some());
    }

    #[test]
    fn namespace_patterns_match_only_inside_the_namespace() {
        assert!(repository_matches("bitnami/*", "bitnami/redis"));
        assert!(!repository_matches("bitnami/*", "bitnamilegacy/redis"));
        assert!(!repository_matches("bitnami/*", "bitnami"));
    }

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob_matches("8.0", "8.0"));
        assert!(glob_matches("8.0.*", "8.0.41"));
        assert!(glob_matches("8.0-*", "8.0-oracle"));
        assert!(!glob_matches("8.0.*", "8.0"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("a*b*c", "aXbYc"));
        assert!(!glob_matches("a*b*c", "aXbY"));
        assert!(!glob_matches("ab*ba", "aba"));
    }

    #[test]
    fn service_warnings_name_the_service_and_skip_current_images() {
        let today = Date::from_calendar_date(2026, time::Month::December, 5).unwrap();
        let warnings = service_warnings(
            [("db", "mysql:8.0"), ("cache", "redis:8.10"), ("s3", "minio/minio")],
            today,
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with("db: image mysql:8.0 is past its end of life"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with("s3: image minio/minio is retired"),
            "{warnings:?}"
        );
    }
}
