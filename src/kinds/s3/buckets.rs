//! S3 over its protocol (MinIO or compatible): readiness — a signed
//! `ListBuckets` succeeds — and provisioning — the spec's buckets exist
//! with their anonymous-access policies. The only module that imports the
//! S3 client (rust-s3, crate name `s3`). Path-style requests over plain HTTP, signed with the
//! service's root keys.
//!
//! MinIO's `/minio/health/live` and `/ready` answer 200 before its object
//! layer exists; a signed request proves both the object layer and the keys.
//!
//! Provisioning creates missing buckets and makes each bucket's policy the
//! declared one (`private`: no policy, so an existing one is deleted); it
//! never deletes a bucket or an object.

use std::collections::BTreeSet;
use std::time::Duration;

use ::s3::Bucket;
use ::s3::BucketConfiguration;
use ::s3::command::Command;
use ::s3::creds::Credentials;
use ::s3::error::S3Error;
use ::s3::region::Region;
use ::s3::request::Request;
use ::s3::request::tokio_backend::ReqwestRequest;
use quick_xml::de::DeError;
use serde::Deserialize;

use super::backends::Backend;
use super::bucket_policy;
use crate::error::error_chain;
use crate::kinds::vocabulary::{Endpoint, ProbeError, ProbeSuccess, ProvisionError, ProvisionReport};
use crate::spec;

/// One provisioning request; a local server answers in milliseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// S3 error codes that mean "these keys are not accepted here". They do not
/// heal by waiting: MinIO knows its root user from its first second.
const REFUSAL_CODES: &[&str] = &[
    "AccessDenied",
    "AuthorizationHeaderMalformed",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "InvalidToken",
    "SignatureDoesNotMatch",
];

/// One attempt: a single signed `GET /` (ListBuckets), path style, plain HTTP.
///
/// It goes through rust-s3's request layer rather than
/// `Bucket::list_buckets`, which would retry a refused connection after a
/// hidden one-second sleep (the caller owns the retry policy) and drop the
/// response headers.
pub(super) async fn probe(
    endpoint: &Endpoint,
    keys: &Keys<'_>,
    attempt_timeout: Duration,
) -> Result<ProbeSuccess, ProbeError> {
    let credentials = keys.credentials().map_err(not_ready)?;
    // ListBuckets names no bucket: rust-s3 lists through a nameless one.
    let bucket = Bucket::new("", region(endpoint, keys), credentials)
        .map_err(not_ready)?
        .with_path_style()
        .with_request_timeout(attempt_timeout)
        .map_err(not_ready)?;
    let request = ReqwestRequest::new(&bucket, "", Command::ListBuckets)
        .await
        .map_err(not_ready)?;
    // With the `fail-on-err` feature, `response` is one attempt and any
    // non-2xx status comes back as `HttpFailWithBody`.
    let response = match request.response().await {
        Ok(response) => response,
        Err(S3Error::HttpFailWithBody(status, body)) => return Err(classify_status(status, &body)),
        Err(error) => return Err(not_ready(error)),
    };
    let server = response
        .headers()
        .get("server")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = response.text().await.map_err(not_ready)?;
    // A 200 from something that is not S3 (a proxy's page) is not readiness.
    if bucket_list(&body).is_err() {
        return Err(ProbeError::NotReady(
            "ListBuckets answered 200 without a bucket list: is this an S3 server?".into(),
        ));
    }
    Ok(ProbeSuccess { server_version: server })
}

/// The keys every request is signed with, and the region it is signed for.
pub(super) struct Keys<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub region: &'a str,
}

impl Keys<'_> {
    fn credentials(&self) -> Result<Credentials, ::s3::creds::error::CredentialsError> {
        Credentials::new(Some(self.access_key), Some(self.secret_key), None, None, None)
    }
}

/// The server at `endpoint`, over plain HTTP, as rust-s3 addresses it.
fn region(endpoint: &Endpoint, keys: &Keys<'_>) -> Region {
    Region::Custom {
        region: keys.region.to_string(),
        endpoint: format!("http://{}", endpoint.authority()),
    }
}

/// Makes every bucket of `buckets` exist with its declared policy.
pub(super) async fn ensure(
    endpoint: &Endpoint,
    keys: &Keys<'_>,
    backend: &Backend,
    buckets: &[spec::Bucket],
) -> Result<ProvisionReport, ProvisionError> {
    let store = Store::new(endpoint, keys)?;
    let existing = store.bucket_names().await?;
    let mut created = 0;
    let mut policies_set = 0;
    let mut policies_removed = 0;
    for declared in buckets {
        let bucket = store.bucket(&declared.name)?;
        if !existing.contains(&declared.name) {
            create_bucket(&bucket)
                .await
                .map_err(failure(format!("creating bucket `{}`", declared.name)))?;
            created += 1;
        }
        let wanted = (backend.policy_document)(&declared.name, declared.policy, declared.prefix.as_deref());
        let current = bucket_policy_of(&bucket)
            .await
            .map_err(failure(format!("reading the policy of bucket `{}`", declared.name)))?;
        match (wanted, current) {
            (None, None) => {}
            (None, Some(_)) => {
                bucket.delete_bucket_policy().await.map_err(failure(format!(
                    "removing the policy of bucket `{}` (declared private)",
                    declared.name
                )))?;
                policies_removed += 1;
            }
            (Some(wanted), Some(current)) if bucket_policy::same_grants(&wanted, &current) => {}
            (Some(wanted), _) => {
                bucket.put_bucket_policy(&wanted).await.map_err(failure(format!(
                    "setting the `{}` policy of bucket `{}`",
                    declared.policy.as_str(),
                    declared.name
                )))?;
                policies_set += 1;
            }
        }
    }
    Ok(ProvisionReport::Buckets {
        ready: buckets.len(),
        created,
        policies_set,
        policies_removed,
    })
}

/// What `check` verifies without changing anything: every declared bucket
/// exists and carries the declared policy. Returns the differences.
pub(super) async fn differences(
    endpoint: &Endpoint,
    keys: &Keys<'_>,
    backend: &Backend,
    buckets: &[spec::Bucket],
) -> Result<Vec<String>, ProvisionError> {
    let store = Store::new(endpoint, keys)?;
    let existing = store.bucket_names().await?;
    let mut differences = Vec::new();
    for declared in buckets {
        if !existing.contains(&declared.name) {
            differences.push(format!("bucket `{}` is missing", declared.name));
            continue;
        }
        let bucket = store.bucket(&declared.name)?;
        let wanted = (backend.policy_document)(&declared.name, declared.policy, declared.prefix.as_deref());
        let current = bucket_policy_of(&bucket)
            .await
            .map_err(failure(format!("reading the policy of bucket `{}`", declared.name)))?;
        let matches = match (&wanted, &current) {
            (None, None) => true,
            (Some(wanted), Some(current)) => bucket_policy::same_grants(wanted, current),
            _ => false,
        };
        if !matches {
            differences.push(format!(
                "bucket `{}` does not have the `{}` policy",
                declared.name,
                declared.policy.as_str()
            ));
        }
    }
    Ok(differences)
}

/// The server and the keys every request is signed with.
struct Store {
    region: Region,
    credentials: Credentials,
}

impl Store {
    fn new(endpoint: &Endpoint, keys: &Keys<'_>) -> Result<Store, ProvisionError> {
        Ok(Store {
            region: region(endpoint, keys),
            credentials: keys.credentials().map_err(|error| ProvisionError::Failed {
                what: "reading the S3 keys".into(),
                reason: error_chain(&error),
            })?,
        })
    }

    /// A path-style handle on bucket `name` (`""` for requests on the
    /// service, such as ListBuckets).
    fn bucket(&self, name: &str) -> Result<Box<Bucket>, ProvisionError> {
        let handle = |error: S3Error| ProvisionError::Failed {
            what: format!("addressing bucket `{name}`"),
            reason: error_chain(&error),
        };
        Bucket::new(name, self.region.clone(), self.credentials.clone())
            .map_err(handle)?
            .with_path_style()
            .with_request_timeout(REQUEST_TIMEOUT)
            .map_err(handle)
    }

    async fn bucket_names(&self) -> Result<BTreeSet<String>, ProvisionError> {
        let service = self.bucket("")?;
        let list = async {
            let response = ReqwestRequest::new(&service, "", Command::ListBuckets)
                .await?
                .response_data(false)
                .await?;
            bucket_list(response.as_str()?).map_err(S3Error::from)
        };
        let list = list.await.map_err(failure("listing the buckets".into()))?;
        Ok(list.bucket_names().collect())
    }
}

/// CreateBucket with neither a canned ACL header nor a location constraint
/// body: MinIO ignores both, and S3 servers without ACL support refuse the
/// former. (rust-s3's `Bucket::create*` add them.) A bucket created in the
/// meantime by someone with the same keys is no failure.
async fn create_bucket(bucket: &Bucket) -> Result<(), S3Error> {
    let config = BucketConfiguration::new(None, false, None, None, None, None, None, None);
    let request = ReqwestRequest::new(bucket, "", Command::CreateBucket { config }).await?;
    match request.response_data(false).await {
        Ok(_) => Ok(()),
        Err(S3Error::HttpFailWithBody(409, body))
            if ErrorDocument::read(&body).code.as_deref() == Some("BucketAlreadyOwnedByYou") =>
        {
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// The bucket's policy document, `None` when it has none (`NoSuchBucketPolicy`).
async fn bucket_policy_of(bucket: &Bucket) -> Result<Option<String>, S3Error> {
    match bucket.get_bucket_policy().await {
        Ok(response) => Ok(Some(String::from_utf8_lossy(response.as_slice()).into_owned())),
        Err(S3Error::HttpFailWithBody(404, body))
            if ErrorDocument::read(&body).code.as_deref() == Some("NoSuchBucketPolicy") =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Maps a failed request to what was being done and why: refused keys as
/// such, an S3 error by its status, code and message.
fn failure(what: String) -> impl FnOnce(S3Error) -> ProvisionError {
    move |error| match error {
        S3Error::HttpFailWithBody(status, body) => match classify_status(status, &body) {
            ProbeError::CredentialsRefused(reason) => ProvisionError::CredentialsRefused(reason),
            ProbeError::NotReady(reason) => ProvisionError::Failed { what, reason },
        },
        other => ProvisionError::Failed {
            what,
            reason: error_chain(&other),
        },
    }
}

fn not_ready(error: impl std::error::Error) -> ProbeError {
    ProbeError::NotReady(error_chain(&error))
}

/// 401/403 with an authentication code (or none) is a refusal; everything
/// else — 503 `XMinioServerNotInitialized`, other 5xx, clock skew — is "not
/// yet", with the server's code and message as the reason.
fn classify_status(status: u16, body: &str) -> ProbeError {
    let ErrorDocument { code, message } = ErrorDocument::read(body);
    let reason = match (&code, &message) {
        (Some(code), Some(message)) => format!("HTTP {status} {code}: {message}"),
        (Some(code), None) => format!("HTTP {status} {code}"),
        (None, _) => format!("HTTP {status}"),
    };
    let authentication_failed = match code.as_deref() {
        Some(code) => REFUSAL_CODES.contains(&code),
        None => true,
    };
    if matches!(status, 401 | 403) && authentication_failed {
        ProbeError::CredentialsRefused(reason)
    } else {
        ProbeError::NotReady(reason)
    }
}

/// A `ListBuckets` answer (`ListAllMyBucketsResult`): the bucket names.
/// rust-s3's own type for it insists on an `Owner`, which S3 servers other
/// than MinIO may leave out.
#[derive(Debug, Deserialize)]
struct BucketList {
    /// Required: a page that is not a bucket list has none.
    #[serde(rename = "Buckets")]
    buckets: Buckets,
}

#[derive(Debug, Default, Deserialize)]
struct Buckets {
    #[serde(rename = "Bucket", default)]
    bucket: Vec<BucketEntry>,
}

#[derive(Debug, Deserialize)]
struct BucketEntry {
    #[serde(rename = "Name")]
    name: String,
}

impl BucketList {
    fn bucket_names(self) -> impl Iterator<Item = String> {
        self.buckets.bucket.into_iter().map(|entry| entry.name)
    }
}

fn bucket_list(body: &str) -> Result<BucketList, DeError> {
    quick_xml::de::from_str(body)
}

/// The code and message of an S3 error document (`<Error><Code>…`);
/// either may be missing, and an empty one counts as missing.
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
struct ErrorDocument {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

impl ErrorDocument {
    /// The document in `body`; an empty one when `body` is not an error document.
    fn read(body: &str) -> ErrorDocument {
        let document: ErrorDocument = quick_xml::de::from_str(body).unwrap_or_default();
        let present = |text: Option<String>| text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        ErrorDocument {
            code: present(document.code),
            message: present(document.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVALID_KEY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InvalidAccessKeyId</Code><Message>The Access Key Id you provided does not exist in our records.</Message><Resource>/</Resource><RequestId>17B</RequestId></Error>"#;

    #[test]
    fn an_unknown_access_key_is_a_refusal_naming_the_code() {
        let error = classify_status(403, INVALID_KEY);
        assert_eq!(
            error,
            ProbeError::CredentialsRefused(
                "HTTP 403 InvalidAccessKeyId: The Access Key Id you provided does not exist in our records.".into()
            )
        );
    }

    #[test]
    fn server_not_initialised_is_not_ready() {
        let body = "<Error><Code>XMinioServerNotInitialized</Code><Message>Server not initialized yet, please try again.</Message></Error>";
        assert!(matches!(classify_status(503, body), ProbeError::NotReady(_)));
    }

    #[test]
    fn a_forbidden_answer_without_a_code_is_a_refusal_and_clock_skew_is_not() {
        assert!(matches!(classify_status(403, ""), ProbeError::CredentialsRefused(_)));
        let skew = "<Error><Code>RequestTimeTooSkewed</Code></Error>";
        assert!(matches!(classify_status(403, skew), ProbeError::NotReady(_)));
    }

    #[test]
    fn bucket_names_are_read_from_a_bucket_list() {
        let list = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>02d6176d</ID><DisplayName>minio</DisplayName></Owner>
<Buckets><Bucket><Name>ml-models</Name><CreationDate>2025-11-02T10:30:45.123Z</CreationDate></Bucket><Bucket><Name>traffic-videos</Name><CreationDate>2025-11-02T10:30:45.123Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"#;
        let names: Vec<String> = bucket_list(list).unwrap().bucket_names().collect();
        assert_eq!(names, ["ml-models", "traffic-videos"]);
        // Without an owner, as s3s-based servers answer.
        let empty = "<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>";
        assert_eq!(bucket_list(empty).unwrap().bucket_names().count(), 0);
        assert!(bucket_list("<html><body>proxy</body></html>").is_err());
    }

    #[test]
    fn refused_keys_during_provisioning_are_named_as_such() {
        let refused = failure("listing the buckets".into())(S3Error::HttpFailWithBody(403, INVALID_KEY.into()));
        assert!(matches!(refused, ProvisionError::CredentialsRefused(_)), "{refused:?}");
        let malformed = "<Error><Code>MalformedPolicy</Code><Message>invalid Effect</Message></Error>";
        let failed = failure("setting the policy".into())(S3Error::HttpFailWithBody(400, malformed.into()));
        assert_eq!(
            failed.to_string(),
            "setting the policy failed: HTTP 400 MalformedPolicy: invalid Effect"
        );
    }

    #[test]
    fn an_error_document_gives_its_code_and_message() {
        let document = ErrorDocument::read(INVALID_KEY);
        assert_eq!(document.code.as_deref(), Some("InvalidAccessKeyId"));
        assert_eq!(
            document.message.as_deref(),
            Some("The Access Key Id you provided does not exist in our records.")
        );
        assert_eq!(
            ErrorDocument::read("<Error><Code></Code></Error>"),
            ErrorDocument::default()
        );
        assert_eq!(ErrorDocument::read("not xml <"), ErrorDocument::default());
        assert_eq!(ErrorDocument::read(""), ErrorDocument::default());
    }
}
