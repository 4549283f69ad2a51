//! Upstream drift: does the registry hold a newer image than the local one?
//! Asked only on request (`plan --check-upstream`, `ps --check-upstream`),
//! never pulling; offline the answer is "unknown", never an error.

use crate::engine::Engine;

/// The verdict for one image reference, as shown to the user.
pub async fn check(engine: &Engine, reference: &str) -> String {
    let local = match engine.inspect_image(reference).await {
        Ok(Some(info)) => info.repo_digests,
        Ok(None) => return "unknown (image not present locally)".into(),
        Err(err) => return format!("unknown ({err})"),
    };
    match engine.registry_digest(reference).await {
        Ok(remote) => verdict(&local, &remote),
        Err(_) => "unknown (registry not reachable)".into(),
    }
}

/// Compares the local repo digests (`name@sha256:…`) with the registry's digest.
pub fn verdict(local_repo_digests: &[String], remote: &str) -> String {
    if local_repo_digests.is_empty() {
        return "unknown (local image was not pulled from a registry)".into();
    }
    if local_repo_digests
        .iter()
        .any(|digest| digest.rsplit('@').next() == Some(remote))
    {
        "up to date".into()
    } else {
        format!("newer image in registry ({})", crate::plan::short_id(remote))
    }
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn matching_digest_is_up_to_date() {
        assert_eq!(verdict(&["redis@sha256:abc".into()], "sha256:abc"), "up to date");
    }

    #[test]
    fn a_different_digest_is_newer_upstream() {
        assert_eq!(
            verdict(&["redis@sha256:abc".into()], "sha256:def0123456789"),
            "newer image in registry (def012345678)"
        );
    }

    #[test]
    fn a_locally_built_image_is_unknown() {
        assert!(verdict(&[], "sha256:abc").starts_with("unknown"));
    }
}
