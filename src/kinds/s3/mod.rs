//! The S3 kind, on any server of [`backends`] (MinIO's contract, RustFS).
//! Credentials: the backend's root-key variables, signing for
//! [`S3_REGION`]. Readiness: a signed `ListBuckets` succeeds. Provisioning:
//! the spec's buckets exist with their anonymous-access policies
//! ([`buckets`], with the backend's policy documents), and a policy the
//! server cannot do fails `up`; `check` verifies both.

pub mod backends;
pub mod bucket_policy;
mod buckets;

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{
    ConsumerAddress, Credentials, Endpoint, KindPlugin, ProbeError, ProbeSuccess, ProvisionError, Target, Verdict,
    Verification, wrong_credentials,
};
use crate::events::{Event, EventSink};
use crate::spec::{Kind, KindSettings, S3Settings, Service};
use backends::Backend;

/// The region S3 requests are signed for; MinIO's default.
pub const S3_REGION: &str = "us-east-1";

/// The S3 kind, as registered in [`super::PLUGINS`].
pub(super) struct S3;

impl KindPlugin for S3 {
    fn kind(&self) -> Kind {
        Kind::S3
    }

    fn credentials(&self, service: &Service) -> Option<Credentials> {
        let backend = backends::of_service(service);
        Some(Credentials::S3 {
            access_key: Backend::first_set(service, backend.access_key)?,
            secret_key: Backend::first_set(service, backend.secret_key)?,
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
            let backend = backends::of_service(target.service);
            if let Some((description, hint)) = backends::unsupported(backend, &settings.buckets) {
                return Err(ProvisionError::Conflict { description, hint });
            }
            let report =
                buckets::ensure(&target.endpoint, &keys(&target.credentials), backend, &settings.buckets).await?;
            events.emit(Event::Provisioned {
                service: target.service.name.clone(),
                report,
            });
            Ok(())
        })
    }

    fn verifications(&self, target: &Target<'_>) -> Vec<Verification> {
        let declared = settings(target.service).buckets;
        let backend = backends::of_service(target.service);
        let endpoint = target.endpoint.clone();
        let credentials = target.credentials.clone();
        let body = async move {
            if declared.is_empty() {
                return Verdict::skipped("nothing declared");
            }
            match buckets::differences(&endpoint, &keys(&credentials), backend, &declared).await {
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
            ("S3_BACKEND", backends::of_service(service).name.to_string()),
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
