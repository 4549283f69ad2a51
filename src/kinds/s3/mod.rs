//! The S3 kind (MinIO or a compatible server). Credentials:
//! `MINIO_ROOT_USER`/`MINIO_ROOT_PASSWORD`, signing for [`S3_REGION`].
//! Readiness: a signed `ListBuckets` succeeds. Provisioning: the spec's
//! buckets exist with their anonymous-access policies ([`buckets`], with
//! the documents from [`bucket_policy`]); `check` verifies both.

pub mod bucket_policy;
mod buckets;

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{
    ConsumerAddress, Credentials, Endpoint, KindPlugin, ProbeError, ProbeSuccess, ProvisionError, Target, Verdict,
    Verification, variable, wrong_credentials,
};
use crate::events::{Event, EventSink};
use crate::spec::{Kind, KindSettings, S3Settings, Service};

/// The region S3 requests are signed for; MinIO's default.
pub const S3_REGION: &str = "us-east-1";

/// The S3 kind, as registered in [`super::PLUGINS`].
pub(super) struct S3;

impl KindPlugin for S3 {
    fn kind(&self) -> Kind {
        Kind::S3
    }

    fn credentials(&self, service: &Service) -> Option<Credentials> {
        Some(Credentials::S3 {
            access_key: variable(service, "MINIO_ROOT_USER")?,
            secret_key: variable(service, "MINIO_ROOT_PASSWORD")?,
            region: S3_REGION.into(),
        })
    }

    fn probe<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        credentials: &'a Credentials,
        attempt_timeout: Duration,
    ) -> BoxFuture<'a, Result<ProbeSuccess, ProbeError>> {
        let keys = keys(credentials);
        Box::pin(async move { buckets::probe(endpoint, &keys, attempt_timeout).await })
    }

    fn provision<'a>(
        &'a self,
        target: &'a Target<'a>,
        events: &'a dyn EventSink,
    ) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move {
            let settings = settings(target.service);
            if settings.buckets.is_empty() {
                return Ok(());
            }
            let report = buckets::ensure(&target.endpoint, &keys(&target.credentials), &settings.buckets).await?;
            events.emit(Event::Provisioned {
                service: target.service.name.clone(),
                report,
            });
            Ok(())
        })
    }

    fn verifications(&self, target: &Target<'_>) -> Vec<Verification> {
        let declared = settings(target.service).buckets;
        let endpoint = target.endpoint.clone();
        let credentials = target.credentials.clone();
        let body = async move {
            if declared.is_empty() {
                return Verdict::skipped("nothing declared");
            }
            match buckets::differences(&endpoint, &keys(&credentials), &declared).await {
                Ok(differences) if differences.is_empty() => {
                    Verdict::ok(format!("{} buckets with their policies present", declared.len()))
                }
                Ok(differences) => Verdict::fail(differences.join("; ")),
                Err(err) => Verdict::fail(err.to_string()),
            }
        };
        vec![Verification::new("buckets", body)]
    }

    fn consumer_settings(
        &self,
        service: &Service,
        credentials: Credentials,
        address: &ConsumerAddress,
    ) -> Vec<(&'static str, String)> {
        let keys = keys(&credentials);
        let mut out = vec![
            ("S3_ENDPOINT_URL", format!("http://{}", address.authority)),
            ("MINIO_ENDPOINT", address.authority.clone()),
            ("AWS_ACCESS_KEY_ID", keys.access_key.to_string()),
            ("AWS_SECRET_ACCESS_KEY", keys.secret_key.to_string()),
            ("MINIO_ACCESS_KEY", keys.access_key.to_string()),
            ("MINIO_SECRET_KEY", keys.secret_key.to_string()),
            ("AWS_REGION", keys.region.to_string()),
        ];
        let declared = settings(service).buckets;
        if !declared.is_empty() {
            let names: Vec<&str> = declared.iter().map(|b| b.name.as_str()).collect();
            out.push(("S3_BUCKETS", names.join(",")));
        }
        out
    }
}

/// The service's `x-flowinfra` S3 settings (none declared when absent).
fn settings(service: &Service) -> S3Settings {
    match service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()) {
        Some(KindSettings::S3(settings)) => settings.clone(),
        _ => S3Settings::default(),
    }
}

/// The keys requests are signed with, and the region they are signed for.
fn keys(credentials: &Credentials) -> buckets::Keys<'_> {
    let Credentials::S3 {
        access_key,
        secret_key,
        region,
    } = credentials
    else {
        wrong_credentials(Kind::S3, credentials)
    };
    buckets::Keys {
        access_key,
        secret_key,
        region,
    }
}
