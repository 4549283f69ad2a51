//! S3 readiness (MinIO or compatible): a signed `ListBuckets` succeeds. The
//! only module that imports the S3 client (rust-s3, crate name `s3`).
//!
//! MinIO's `/minio/health/live` and `/ready` answer 200 before its object
//! layer exists; a signed request proves both the object layer and the keys.

use std::time::Duration;

use ::s3::Bucket;
use ::s3::command::Command;
use ::s3::creds::Credentials;
use ::s3::error::S3Error;
use ::s3::region::Region;
use ::s3::request::Request;
use ::s3::request::tokio_backend::ReqwestRequest;

use super::{Endpoint, ProbeError, ProbeSuccess, describe};

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
    access_key: &str,
    secret_key: &str,
    region: &str,
    attempt_timeout: Duration,
) -> Result<ProbeSuccess, ProbeError> {
    let region = Region::Custom {
        region: region.to_string(),
        endpoint: format!("http://{}", endpoint.authority()),
    };
    let credentials = Credentials::new(Some(access_key), Some(secret_key), None, None, None).map_err(not_ready)?;
    // ListBuckets names no bucket: rust-s3 lists through a nameless one.
    let bucket = Bucket::new("", region, credentials)
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
    if !body.contains("ListAllMyBucketsResult") {
        return Err(ProbeError::NotReady(
            "ListBuckets answered 200 without a bucket list: is this an S3 server?".into(),
        ));
    }
    Ok(ProbeSuccess { server_version: server })
}

fn not_ready(error: impl std::error::Error) -> ProbeError {
    ProbeError::NotReady(describe(&error))
}

/// 401/403 with an authentication code (or none) is a refusal; everything
/// else — 503 `XMinioServerNotInitialized`, other 5xx, clock skew — is "not
/// yet", with the server's code and message as the reason.
fn classify_status(status: u16, body: &str) -> ProbeError {
    let code = xml_element(body, "Code");
    let message = xml_element(body, "Message");
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

/// The text of the first `<name>` element of an S3 error document. Error
/// documents are flat and their codes and messages plain text, so this is
/// enough; the rest of the body (resource, request ID) is left out.
fn xml_element(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + body[start..].find(&format!("</{name}>"))?;
    Some(body[start..end].trim().to_string()).filter(|text| !text.is_empty())
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
    fn xml_element_reads_the_first_element_text() {
        assert_eq!(xml_element(INVALID_KEY, "Code"), Some("InvalidAccessKeyId".into()));
        assert_eq!(xml_element(INVALID_KEY, "HostId"), None);
        assert_eq!(xml_element("<Code></Code>", "Code"), None);
    }
}
