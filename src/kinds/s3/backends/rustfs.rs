//! RustFS (`rustfs/rustfs`, 1.0.0): root keys from `RUSTFS_ACCESS_KEY` /
//! `RUSTFS_SECRET_KEY`; `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD` are legacy
//! aliases the server applies only when the canonical variable is absent,
//! so a service setting both signs with the `RUSTFS_*` ones. Readiness
//! route `/health/ready` (503 until ready). All four policies, with the
//! principal written `{"AWS": ["*"]}` — the form `mc` writes, and the one
//! RustFS accepted before it took a bare `"*"` (rustfs issue #1336).
//! Caveats: docs/s3-backends.md.

use super::Backend;
use crate::kinds::s3::bucket_policy;
use crate::spec::BucketPolicy;

pub(super) const RUSTFS: Backend = Backend {
    name: "rustfs",
    server: "RustFS",
    repositories: &["rustfs"],
    access_key: &["RUSTFS_ACCESS_KEY", "MINIO_ROOT_USER"],
    secret_key: &["RUSTFS_SECRET_KEY", "MINIO_ROOT_PASSWORD"],
    ready_path: "/health/ready",
    policies: &[
        BucketPolicy::Private,
        BucketPolicy::Download,
        BucketPolicy::Upload,
        BucketPolicy::Public,
    ],
    policy_document: bucket_policy::document,
};
