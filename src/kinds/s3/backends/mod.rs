//! S3 servers the `s3` kind speaks to. Every one speaks the same S3
//! protocol ([`super::buckets`] does the requests); a backend says what
//! differs between servers:
//!
//! - where the server takes its root keys from in the service's environment
//!   ([`Backend::access_key`], [`Backend::secret_key`]: the first variable set
//!   wins, as the server itself reads them);
//! - its readiness route for probes outside flowinfra (`render kubernetes`);
//!   flowinfra itself always probes with a signed `ListBuckets`;
//! - how it expresses anonymous access ([`Backend::policy_document`], the
//!   policy document dialect it accepts);
//! - which declared policies it can do ([`Backend::policies`]): `up` refuses
//!   a bucket whose policy the server cannot do ([`unsupported`]), rather
//!   than granting less or more.
//!
//! A backend is one file here plus one line in [`BACKENDS`]. Which one a
//! service uses: `x-flowinfra: { backend: NAME }`, else its image's
//! repository name ([`Backend::repositories`]), else `minio`.

mod minio;
mod rustfs;

use crate::spec::{Bucket, BucketPolicy, KindSettings, Service};

/// What flowinfra needs to know about one S3 server.
#[derive(Debug)]
pub struct Backend {
    /// Its name in `x-flowinfra: { backend: NAME }` and `S3_BACKEND`.
    pub name: &'static str,
    /// The server(s) it stands for, in errors.
    pub server: &'static str,
    /// Image repository names (the last path segment, tag aside) that pick it.
    pub repositories: &'static [&'static str],
    /// Variables the server reads its access key from, in its order of precedence.
    pub access_key: &'static [&'static str],
    /// Variables the server reads its secret key from, in its order of precedence.
    pub secret_key: &'static [&'static str],
    /// The HTTP route that answers 200 once the server can serve (for
    /// probes that cannot sign requests, such as Kubernetes' `httpGet`).
    pub ready_path: &'static str,
    /// The policies it can enforce for anonymous requests.
    pub policies: &'static [BucketPolicy],
    /// The bucket policy document for a declared policy, in the dialect the
    /// server accepts; `None` for `private` (no policy at all).
    pub policy_document: fn(bucket: &str, policy: BucketPolicy, prefix: Option<&str>) -> Option<String>,
}

/// Every S3 backend; the first is the default.
pub const BACKENDS: &[&Backend] = &[&minio::MINIO, &rustfs::RUSTFS];

/// The backend called `name`.
pub fn named(name: &str) -> Option<&'static Backend> {
    BACKENDS.iter().copied().find(|backend| backend.name == name)
}

/// The backend an image reference picks by its repository's name
/// (`pgsty/silo:…` → minio, `rustfs/rustfs:1.0.0` → rustfs); the default
/// (MinIO's contract) for any other image.
pub fn for_image(image: &str) -> &'static Backend {
    let (repository, _) = crate::image_lifecycle::repository_and_tag(image);
    let name = repository.rsplit('/').next().unwrap_or_default();
    BACKENDS
        .iter()
        .copied()
        .find(|backend| backend.repositories.contains(&name))
        .unwrap_or(BACKENDS[0])
}

/// The backend `service` uses: its `x-flowinfra` `backend`, else its image's.
pub fn of_service(service: &Service) -> &'static Backend {
    let chosen = match service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()) {
        Some(KindSettings::S3(settings)) => settings.backend.as_deref().and_then(named),
        _ => None,
    };
    chosen.unwrap_or_else(|| for_image(&service.image))
}

impl Backend {
    /// The first of `variables` set (non-empty) in `service`'s environment.
    pub fn first_set(service: &Service, variables: &[&str]) -> Option<String> {
        variables
            .iter()
            .find_map(|name| service.environment.get(*name).filter(|value| !value.is_empty()))
            .cloned()
    }
}

/// The first declared bucket whose policy `backend` cannot do, as an error
/// naming the policy, the bucket and the server.
pub fn unsupported(backend: &Backend, buckets: &[Bucket]) -> Option<(String, String)> {
    let bucket = buckets
        .iter()
        .find(|bucket| !backend.policies.contains(&bucket.policy))?;
    let can: Vec<&str> = backend.policies.iter().map(|policy| policy.as_str()).collect();
    let able: Vec<&str> = BACKENDS
        .iter()
        .filter(|other| other.policies.contains(&bucket.policy))
        .map(|other| other.name)
        .collect();
    Some((
        format!(
            "bucket `{}` declares the `{}` policy, which {} (backend `{}`) cannot enforce",
            bucket.name,
            bucket.policy.as_str(),
            backend.server,
            backend.name
        ),
        format!(
            "{} does only {}; declare one of those, or run a server that can (backend {})",
            backend.server,
            can.join(", "),
            able.join(" or ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_picked_by_image_name_and_default_to_minio() {
        assert_eq!(for_image("pgsty/silo:RELEASE.2026-09-16T00-00-00Z").name, "minio");
        assert_eq!(for_image("minio/minio").name, "minio");
        assert_eq!(for_image("rustfs/rustfs:1.0.0").name, "rustfs");
        assert_eq!(for_image("flowinfra-standin/minio:test").name, "minio");
        assert_eq!(for_image("localhost:5000/team/rustfs:1.0.0").name, "rustfs");
        assert_eq!(for_image("example/s3-server:2").name, "minio");
    }

    #[test]
    fn every_backend_has_a_unique_name_and_does_private() {
        for backend in BACKENDS {
            assert_eq!(named(backend.name).map(|b| b.server), Some(backend.server));
            assert!(backend.policies.contains(&BucketPolicy::Private), "{}", backend.name);
            assert!(!backend.access_key.is_empty() && !backend.secret_key.is_empty());
        }
    }

    /// A server without bucket policies (as Garage is) refuses every
    /// anonymous policy by name instead of leaving the bucket private.
    #[test]
    fn a_policy_the_server_cannot_do_is_an_error_naming_it_and_the_server() {
        const NO_POLICIES: Backend = Backend {
            name: "garage",
            server: "Garage",
            repositories: &["garage"],
            access_key: &["GARAGE_DEFAULT_ACCESS_KEY"],
            secret_key: &["GARAGE_DEFAULT_SECRET_KEY"],
            ready_path: "/health",
            policies: &[BucketPolicy::Private],
            policy_document: |_, _, _| None,
        };
        let bucket = |name: &str, policy| Bucket {
            name: name.into(),
            policy,
            prefix: None,
        };
        let buckets = [
            bucket("uploads", BucketPolicy::Private),
            bucket("reports", BucketPolicy::Download),
        ];
        let (error, hint) = unsupported(&NO_POLICIES, &buckets).expect("download is refused");
        assert_eq!(
            error,
            "bucket `reports` declares the `download` policy, which Garage (backend `garage`) cannot enforce"
        );
        assert!(hint.starts_with("Garage does only private;"), "{hint}");
        assert!(unsupported(&NO_POLICIES, &buckets[..1]).is_none());
        assert!(unsupported(&minio::MINIO, &buckets).is_none());
        assert!(unsupported(&rustfs::RUSTFS, &buckets).is_none());
    }
}
