//! `kind: s3`: the buckets to create and their anonymous-access policies,
//! the server's backend, and the credentials flowinfra signs requests with
//! (the backend's root-key variables).

use super::{KindRules, SettingsContext, require_environment};
use crate::kinds::s3_backends;
use crate::spec::error::{Diagnostic, hint_for};
use crate::spec::model::{Bucket, BucketPolicy, Kind, KindSettings, S3Settings, Service};
use crate::spec::reader::{Fields, Reader};
use crate::spec::yaml::{Node, Position, Value};

pub(super) const RULES: KindRules = KindRules {
    kind: Kind::S3,
    settings: &["buckets", "backend"],
    read_settings,
    check_service,
};

const BUCKET_FIELDS: Fields<'static> = Fields::new("bucket", &["name", "policy", "prefix"]);

fn read_settings(r: &mut Reader, node: &Node, _: &SettingsContext<'_>) -> KindSettings {
    KindSettings::S3(S3Settings {
        buckets: node.get("buckets").map(|n| read_buckets(r, n)).unwrap_or_default(),
        backend: node.get("backend").and_then(|n| read_backend(r, n)),
    })
}

/// A registered backend's name.
fn read_backend(r: &mut Reader, node: &Node) -> Option<String> {
    let name = r.non_empty_string(node, "`backend`")?;
    if s3_backends::named(&name).is_some() {
        return Some(name);
    }
    let names: Vec<&str> = s3_backends::BACKENDS.iter().map(|backend| backend.name).collect();
    let hint = hint_for(&name, names.iter().copied(), || {
        format!("backend is one of: {}", names.join(", "))
    });
    r.push(Diagnostic::at(&node.position, format!("unknown S3 backend `{name}`")).with_hint(hint));
    None
}

/// The backend's root keys must be in the environment: each from one of
/// the variables the server reads (`RUSTFS_ACCESS_KEY` or its legacy alias
/// `MINIO_ROOT_USER`, …).
fn check_service(r: &mut Reader, service: &Service, position: &Position) {
    let backend = s3_backends::of_service(service);
    let set = |variables: &[&str]| {
        variables
            .iter()
            .any(|name| service.environment.get(*name).is_some_and(|value| !value.is_empty()))
    };
    let missing: Vec<&str> = [backend.access_key, backend.secret_key]
        .into_iter()
        .filter(|variables| !set(variables))
        .map(|variables| variables[0])
        .collect();
    if missing.is_empty() {
        return;
    }
    require_environment(
        r,
        service,
        position,
        &missing,
        &format!(
            "flowinfra signs S3 requests with the root keys {} (backend `{}`) reads",
            backend.server, backend.name
        ),
    );
}

fn read_buckets(r: &mut Reader, node: &Node) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    for item in r.list(node, "`buckets`") {
        let bucket = match &item.value {
            Value::Scalar { text, .. } => Some(Bucket {
                name: text.clone(),
                policy: BucketPolicy::Private,
                prefix: None,
            }),
            Value::Mapping(fields) => {
                r.check_keys(fields, &BUCKET_FIELDS);
                let name = item.get("name").and_then(|n| r.non_empty_string(n, "bucket `name`"));
                if item.get("name").is_none() {
                    r.error(&item.position, "a bucket needs a `name`");
                }
                let policy = match item.get("policy") {
                    None => Some(BucketPolicy::Private),
                    Some(n) => match n.as_scalar() {
                        Some("private" | "none") => Some(BucketPolicy::Private),
                        Some("download" | "public-read") => Some(BucketPolicy::Download),
                        Some("upload") => Some(BucketPolicy::Upload),
                        Some("public") => Some(BucketPolicy::Public),
                        other => {
                            let choices = ["private", "download", "upload", "public"];
                            let hint = hint_for(other.unwrap_or(""), choices, || {
                                "use private, download, upload or public (as `mc anonymous set` names them)".to_string()
                            });
                            r.push(
                                Diagnostic::at(&n.position, format!("unknown bucket policy `{}`", other.unwrap_or("")))
                                    .with_hint(hint),
                            );
                            None
                        }
                    },
                };
                let prefix = item.get("prefix").and_then(|n| r.string(n, "bucket `prefix`"));
                name.zip(policy).map(|(name, policy)| Bucket { name, policy, prefix })
            }
            _ => {
                r.error(&item.position, "a bucket must be a name or a mapping");
                None
            }
        };
        let Some(bucket) = bucket else { continue };
        if let Err(reason) = check_bucket_name(&bucket.name) {
            r.push(
                Diagnostic::at(
                    &item.position,
                    format!("invalid bucket name `{}`: {reason}", bucket.name),
                )
                .with_hint("S3 bucket names are 3-63 lowercase letters, digits, `.` and `-`"),
            );
        } else if buckets.iter().any(|b| b.name == bucket.name) {
            r.error(&item.position, format!("bucket `{}` is declared twice", bucket.name));
        } else {
            buckets.push(bucket);
        }
    }
    buckets
}

fn check_bucket_name(name: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&name.len()) {
        return Err("it must be 3 to 63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err("it may hold only lowercase letters, digits, `.` and `-`");
    }
    let first_last_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !first_last_ok(name.chars().next()) || !first_last_ok(name.chars().last()) {
        return Err("it must start and end with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(check_bucket_name("traffic-snapshots").is_ok());
        assert!(check_bucket_name("ab").is_err());
        assert!(check_bucket_name("Upper").is_err());
        assert!(check_bucket_name("-x-").is_err());
    }
}
