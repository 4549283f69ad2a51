//! Upstream drift: does the registry hold a newer image than the local one?
//! Asked only on request (`--check-upstream` of `plan`, `ps` and `check`),
//! never pulling; offline the answer is "unknown", never an error.

use std::fmt;

use crate::engine::Engine;

/// How a local image compares with its registry's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    UpToDate,
    /// The registry holds another image under the reference's tag.
    Newer {
        digest: String,
    },
    /// No answer to compare with: offline, never pulled, not present.
    Unknown {
        why: String,
    },
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upstream::UpToDate => f.write_str("up to date"),
            Upstream::Newer { digest } => write!(f, "newer image in registry ({})", crate::plan::short_id(digest)),
            Upstream::Unknown { why } => write!(f, "unknown ({why})"),
        }
    }
}

fn unknown(why: impl Into<String>) -> Upstream {
    Upstream::Unknown { why: why.into() }
}

/// The verdict for one image reference.
pub async fn check(engine: &Engine, reference: &str) -> Upstream {
    let local = match engine.inspect_image(reference).await {
        Ok(Some(info)) => info.repo_digests,
        Ok(None) => return unknown("image not present locally"),
        Err(err) => return unknown(err.to_string()),
    };
    match engine.registry_digest(reference).await {
        Ok(remote) => verdict(&local, &remote),
        Err(_) => unknown("registry not reachable"),
    }
}

/// Compares the local repo digests (`name@sha256:…`) with the registry's digest.
pub fn verdict(local_repo_digests: &[String], remote: &str) -> Upstream {
    if local_repo_digests.is_empty() {
        return unknown("local image was not pulled from a registry");
    }
    if local_repo_digests
        .iter()
        .any(|digest| digest.rsplit('@').next() == Some(remote))
    {
        Upstream::UpToDate
    } else {
        Upstream::Newer {
            digest: remote.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Upstream, verdict};

    #[test]
    fn matching_digest_is_up_to_date() {
        assert_eq!(verdict(&["redis@sha256:abc".into()], "sha256:abc"), Upstream::UpToDate);
    }

    #[test]
    fn a_different_digest_is_newer_upstream() {
        assert_eq!(
            verdict(&["redis@sha256:abc".into()], "sha256:def0123456789").to_string(),
            "newer image in registry (def012345678)"
        );
    }

    #[test]
    fn a_locally_built_image_is_unknown() {
        assert_eq!(
            verdict(&[], "sha256:abc").to_string(),
            "unknown (local image was not pulled from a registry)"
        );
    }
}
