//! Anonymous-access bucket policies as MinIO's `mc anonymous set` writes
//! them, and whether a policy read back from a server grants the same.
//! Pure: no I/O.
//!
//! `mc anonymous set POLICY alias/bucket[/prefix]` turns its canned names
//! into a JSON bucket policy (minio-go's `policy.SetPolicy` on an empty
//! policy) and stores it with `PutBucketPolicy`; `private` (`none`) removes
//! the policy. flowinfra writes the same documents, byte for byte, so a
//! bucket provisioned here and one set up by hand with `mc` look alike.
//!
//! | policy | on the bucket | on `bucket/prefix*` |
//! | --- | --- | --- |
//! | `download` | GetBucketLocation, ListBucket | GetObject |
//! | `upload` | GetBucketLocation, ListBucketMultipartUploads | AbortMultipartUpload, DeleteObject, ListMultipartUploadParts, PutObject |
//! | `public` | all of the above | all of the above |
//!
//! With a prefix, `ListBucket` moves to a statement of its own limited by a
//! `StringLike` `s3:prefix` condition, as minio-go does.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::spec::BucketPolicy;

const RESOURCE_PREFIX: &str = "arn:aws:s3:::";
const COMMON_BUCKET_ACTIONS: &[&str] = &["s3:GetBucketLocation"];
const READ_BUCKET_ACTIONS: &[&str] = &["s3:ListBucket"];
const WRITE_BUCKET_ACTIONS: &[&str] = &["s3:ListBucketMultipartUploads"];
const READ_OBJECT_ACTIONS: &[&str] = &["s3:GetObject"];
const WRITE_OBJECT_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
];

/// The document as minio-go marshals it: fields in this order, action and
/// resource sets as sorted arrays, an empty `Sid`.
#[derive(Serialize)]
struct PolicyDocument {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    statements: Vec<Statement>,
}

#[derive(Serialize)]
struct Statement {
    #[serde(rename = "Action")]
    actions: BTreeSet<&'static str>,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    condition: Option<BTreeMap<&'static str, BTreeMap<&'static str, Vec<String>>>>,
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Principal")]
    principal: Principal,
    #[serde(rename = "Resource")]
    resources: Vec<String>,
    #[serde(rename = "Sid")]
    sid: &'static str,
}

#[derive(Serialize)]
struct Principal {
    #[serde(rename = "AWS")]
    aws: [&'static str; 1],
}

impl Statement {
    fn allow(actions: &[&'static str], resource: String) -> Self {
        Statement {
            actions: actions.iter().copied().collect(),
            condition: None,
            effect: "Allow",
            principal: Principal { aws: ["*"] },
            resources: vec![resource],
            sid: "",
        }
    }
}

/// The bucket policy `mc anonymous set <policy> alias/<bucket>[/<prefix>]`
/// writes, as JSON; `None` for `private`, which has no policy at all.
pub fn document(bucket: &str, policy: BucketPolicy, prefix: Option<&str>) -> Option<String> {
    let (read, write) = match policy {
        BucketPolicy::Private => return None,
        BucketPolicy::Download => (true, false),
        BucketPolicy::Upload => (false, true),
        BucketPolicy::Public => (true, true),
    };
    let prefix = prefix.unwrap_or_default();
    let bucket_resource = format!("{RESOURCE_PREFIX}{bucket}");
    // minio-go merges bucket statements without conditions into one; the
    // prefix-limited listing stays apart.
    let mut bucket_actions: Vec<&'static str> = COMMON_BUCKET_ACTIONS.to_vec();
    let mut prefixed_listing = None;
    if read {
        if prefix.is_empty() {
            bucket_actions.extend(READ_BUCKET_ACTIONS);
        } else {
            let mut listing = Statement::allow(READ_BUCKET_ACTIONS, bucket_resource.clone());
            listing.condition = Some(BTreeMap::from([(
                "StringLike",
                BTreeMap::from([("s3:prefix", vec![prefix.to_string()])]),
            )]));
            prefixed_listing = Some(listing);
        }
    }
    if write {
        bucket_actions.extend(WRITE_BUCKET_ACTIONS);
    }
    let mut object_actions: Vec<&'static str> = Vec::new();
    if read {
        object_actions.extend(READ_OBJECT_ACTIONS);
    }
    if write {
        object_actions.extend(WRITE_OBJECT_ACTIONS);
    }
    let mut statements = vec![Statement::allow(&bucket_actions, bucket_resource)];
    statements.extend(prefixed_listing);
    statements.push(Statement::allow(
        &object_actions,
        format!("{RESOURCE_PREFIX}{bucket}/{prefix}*"),
    ));
    let document = PolicyDocument {
        version: "2012-10-17",
        statements,
    };
    Some(serde_json::to_string(&document).expect("a policy document serialises"))
}

/// Whether two policy documents grant the same: equal after each statement
/// is broken into single (effect, principal, action, resource, condition)
/// grants. Servers rewrite what they store — MinIO drops the empty `Sid`,
/// reorders fields and may regroup statements — so byte equality would
/// re-apply an unchanged policy on every `up`. `false` when either is not a
/// policy document.
pub fn same_grants(left: &str, right: &str) -> bool {
    match (grants(left), grants(right)) {
        (Some(left), Some(right)) => left == right,
        _ => false,
    }
}

/// One elementary permission of a policy.
type Grant = (String, String, String, String, String);

fn grants(document: &str) -> Option<BTreeSet<Grant>> {
    let document: Value = serde_json::from_str(document).ok()?;
    let mut grants = BTreeSet::new();
    for statement in one_or_many(document.get("Statement")?) {
        let effect = statement.get("Effect")?.as_str()?.to_string();
        let principals = principals(statement.get("Principal"))?;
        let actions = strings(statement.get("Action")?)?;
        let resources = strings(statement.get("Resource")?)?;
        let condition = statement.get("Condition").map(normalised_condition).unwrap_or_default();
        for principal in &principals {
            for action in &actions {
                for resource in &resources {
                    grants.insert((
                        effect.clone(),
                        principal.clone(),
                        action.clone(),
                        resource.clone(),
                        condition.clone(),
                    ));
                }
            }
        }
    }
    Some(grants)
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// A string or an array of strings, as a set.
fn strings(value: &Value) -> Option<BTreeSet<String>> {
    one_or_many(value)
        .into_iter()
        .map(|item| item.as_str().map(str::to_string))
        .collect()
}

/// `"*"` and `{"AWS": "*"}` are the same principal, and `{"AWS": ["*"]}` too.
fn principals(value: Option<&Value>) -> Option<BTreeSet<String>> {
    match value? {
        Value::String(anyone) => Some(BTreeSet::from([format!("AWS:{anyone}")])),
        Value::Object(kinds) => {
            let mut principals = BTreeSet::new();
            for (kind, names) in kinds {
                principals.extend(strings(names)?.into_iter().map(|name| format!("{kind}:{name}")));
            }
            Some(principals)
        }
        _ => None,
    }
}

/// A condition block with every value as a sorted array, as canonical JSON.
fn normalised_condition(condition: &Value) -> String {
    let normalised = match condition {
        Value::Object(operators) => Value::Object(
            operators
                .iter()
                .map(|(operator, keys)| {
                    let keys = match keys {
                        Value::Object(keys) => Value::Object(
                            keys.iter()
                                .map(|(key, values)| {
                                    let values = strings(values)
                                        .map(|set| Value::from(set.into_iter().collect::<Vec<_>>()))
                                        .unwrap_or_else(|| values.clone());
                                    (key.clone(), values)
                                })
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    (operator.clone(), keys)
                })
                .collect(),
        ),
        other => other.clone(),
    };
    normalised.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_has_no_policy() {
        assert_eq!(document("ml-models", BucketPolicy::Private, None), None);
        assert_eq!(document("ml-models", BucketPolicy::Private, Some("x/")), None);
    }

    #[test]
    fn download_is_what_mc_anonymous_set_download_writes() {
        assert_eq!(
            document("traffic-snapshots", BucketPolicy::Download, None).unwrap(),
            r#"{"Version":"2012-10-17","Statement":[{"Action":["s3:GetBucketLocation","s3:ListBucket"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::traffic-snapshots"],"Sid":""},{"Action":["s3:GetObject"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::traffic-snapshots/*"],"Sid":""}]}"#
        );
    }

    #[test]
    fn upload_allows_writes_and_multipart_but_no_reads() {
        assert_eq!(
            document("drop", BucketPolicy::Upload, None).unwrap(),
            r#"{"Version":"2012-10-17","Statement":[{"Action":["s3:GetBucketLocation","s3:ListBucketMultipartUploads"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::drop"],"Sid":""},{"Action":["s3:AbortMultipartUpload","s3:DeleteObject","s3:ListMultipartUploadParts","s3:PutObject"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::drop/*"],"Sid":""}]}"#
        );
    }

    #[test]
    fn public_is_download_and_upload_together() {
        assert_eq!(
            document("open", BucketPolicy::Public, None).unwrap(),
            r#"{"Version":"2012-10-17","Statement":[{"Action":["s3:GetBucketLocation","s3:ListBucket","s3:ListBucketMultipartUploads"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::open"],"Sid":""},{"Action":["s3:AbortMultipartUpload","s3:DeleteObject","s3:GetObject","s3:ListMultipartUploadParts","s3:PutObject"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::open/*"],"Sid":""}]}"#
        );
    }

    #[test]
    fn a_prefix_limits_objects_and_moves_the_listing_under_a_condition() {
        assert_eq!(
            document("reports", BucketPolicy::Download, Some("exports/")).unwrap(),
            r#"{"Version":"2012-10-17","Statement":[{"Action":["s3:GetBucketLocation"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::reports"],"Sid":""},{"Action":["s3:ListBucket"],"Condition":{"StringLike":{"s3:prefix":["exports/"]}},"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::reports"],"Sid":""},{"Action":["s3:GetObject"],"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["arn:aws:s3:::reports/exports/*"],"Sid":""}]}"#
        );
        // Upload has no listing to limit: the prefix only narrows the objects.
        let upload = document("reports", BucketPolicy::Upload, Some("in/")).unwrap();
        assert!(
            upload.contains(r#""Resource":["arn:aws:s3:::reports/in/*"]"#),
            "{upload}"
        );
        assert!(!upload.contains("Condition"), "{upload}");
        // An empty prefix is no prefix.
        assert_eq!(
            document("reports", BucketPolicy::Public, Some("")),
            document("reports", BucketPolicy::Public, None)
        );
    }

    #[test]
    fn names_are_json_escaped() {
        let text = document("b", BucketPolicy::Download, Some("a\"b/")).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["Statement"][2]["Resource"][0], "arn:aws:s3:::b/a\"b/*");
    }

    #[test]
    fn a_policy_is_the_same_however_the_server_rewrites_it() {
        let ours = document("traffic-videos", BucketPolicy::Download, None).unwrap();
        assert!(same_grants(&ours, &ours));
        // MinIO's own rendering: other field order, no Sid, a string principal list.
        let minio = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::traffic-videos"]},
            {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::traffic-videos/*"}]}"#;
        assert!(same_grants(&ours, minio));
        // Regrouped into one statement per action: still the same grants.
        let split = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetBucketLocation","Resource":"arn:aws:s3:::traffic-videos"},
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::traffic-videos"},
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::traffic-videos/*"}]}"#;
        assert!(same_grants(&ours, split));
    }

    #[test]
    fn different_policies_differ() {
        let download = document("b", BucketPolicy::Download, None).unwrap();
        let public = document("b", BucketPolicy::Public, None).unwrap();
        let upload = document("b", BucketPolicy::Upload, None).unwrap();
        let prefixed = document("b", BucketPolicy::Download, Some("p/")).unwrap();
        assert!(!same_grants(&download, &public));
        assert!(!same_grants(&download, &upload));
        assert!(!same_grants(&download, &prefixed));
        assert!(!same_grants(&download, &download.replace("Allow", "Deny")));
        assert!(!same_grants(&download, "not json"));
        assert!(!same_grants(&download, "{}"));
    }

    #[test]
    fn conditions_compare_by_value_not_by_spelling() {
        let ours = document("b", BucketPolicy::Download, Some("p/")).unwrap();
        let scalar = ours.replace(r#"["p/"]"#, r#""p/""#);
        assert_ne!(ours, scalar);
        assert!(same_grants(&ours, &scalar));
        let other = ours.replace(r#"["p/"]"#, r#"["q/"]"#);
        assert!(!same_grants(&ours, &other));
    }
}
