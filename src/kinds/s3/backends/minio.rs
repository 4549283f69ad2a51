//! The MinIO contract: MinIO's own builds and the forks that keep its
//! variables, command, ports and health routes (SILO, `pgsty/silo`; see
//! docs/s3-backends.md). Root keys from `MINIO_ROOT_USER` /
//! `MINIO_ROOT_PASSWORD` (the older `MINIO_ACCESS_KEY` / `MINIO_SECRET_KEY`
//! when those are unset, as the server reads them); all four policies, as
//! `mc anonymous set` writes them.

use super::Backend;
use crate::kinds::s3::bucket_policy;
use crate::spec::BucketPolicy;

pub(super) const MINIO: Backend = Backend {
    name: "minio",
    server: "MinIO (or a build with its contract, such as SILO)",
    repositories: &["minio", "silo"],
    access_key: &["MINIO_ROOT_USER", "MINIO_ACCESS_KEY"],
    secret_key: &["MINIO_ROOT_PASSWORD", "MINIO_SECRET_KEY"],
    // `/minio/health/live` and `/ready` answer before the object layer is usable.
    ready_path: "/minio/health/cluster",
    policies: &[
        BucketPolicy::Private,
        BucketPolicy::Download,
        BucketPolicy::Upload,
        BucketPolicy::Public,
    ],
    policy_document: bucket_policy::document,
};
