//! Image drift under Engine 29's containerd image store, decided from
//! responses in that engine's shape (`testdata/engine29/`, see its README
//! for the API version they follow).
//!
//! There an image's ID is its index digest, not its config digest, and the
//! container records the same ID. Drift detection must compare like with
//! like: the container's `Image` against the ID the reference resolves to now,
//! never against a platform manifest or a `RepoDigests` entry.

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, ContainerSummary, ImageInspect};

use super::containers::{state_from_inspect, state_from_summary};
use super::images::image_info_from_inspect;
use crate::plan::{Action, Actual, Desired, RecreateReason, plan_service};

const IMAGE: &str = include_str!("testdata/engine29/image-inspect-mysql-8.4.json");
const CONTAINER: &str = include_str!("testdata/engine29/container-inspect-mysql.json");
const LISTED: &str = include_str!("testdata/engine29/container-list-mysql.json");
const INDEX_DIGEST: &str = "sha256:1a7f3c0e9d2b4f6a8c0e2d4f6a8b0c2e4d6f8a0b2c4e6d8f0a2b4c6e8d0f2a41";
const PLATFORM_MANIFEST: &str = "sha256:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d";

fn desired() -> Desired {
    Desired {
        service: "mysql".into(),
        config_hash: "c0ffee".into(),
        field_hashes: BTreeMap::new(),
        job: false,
        rerun: false,
    }
}

fn image() -> ImageInspect {
    serde_json::from_str(IMAGE).expect("an Engine 29 image inspect deserialises")
}

#[test]
fn the_image_id_is_the_index_digest_and_the_container_records_the_same() {
    let image = image_info_from_inspect(image());
    assert_eq!(image.id, INDEX_DIGEST);
    let inspected = state_from_inspect(serde_json::from_str::<ContainerInspectResponse>(CONTAINER).unwrap());
    assert_eq!(inspected.image_id, INDEX_DIGEST);
    let listed: Vec<ContainerSummary> = serde_json::from_str(LISTED).unwrap();
    let listed = state_from_summary(listed.into_iter().next().unwrap());
    assert_eq!(listed.image_id, INDEX_DIGEST);
    // The platform manifest the container runs is not what either side holds.
    assert_ne!(listed.image_id, PLATFORM_MANIFEST);
}

#[test]
fn an_unmoved_multi_platform_tag_keeps_the_container() {
    for container in [
        state_from_inspect(serde_json::from_str(CONTAINER).unwrap()),
        state_from_summary(serde_json::from_str::<Vec<ContainerSummary>>(LISTED).unwrap().remove(0)),
    ] {
        let actual = Actual {
            container: Some(container),
            image_id: Some(image_info_from_inspect(image()).id),
            build_context_changed: false,
        };
        assert_eq!(plan_service(&desired(), &actual), Action::Keep);
    }
}

#[test]
fn a_tag_moved_by_a_pull_recreates_with_both_index_digests_named() {
    // After `docker pull mysql:8.4` fetched a new release, the tag resolves
    // to a new index; the container still records the old one.
    let mut moved = image();
    let new_index = "sha256:2b8e4d1f0a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e52";
    moved.id = Some(new_index.into());
    let actual = Actual {
        container: Some(state_from_inspect(serde_json::from_str(CONTAINER).unwrap())),
        image_id: Some(image_info_from_inspect(moved).id),
        build_context_changed: false,
    };
    assert_eq!(
        plan_service(&desired(), &actual),
        Action::Recreate {
            reasons: vec![RecreateReason::ImageChanged {
                old: INDEX_DIGEST.into(),
                new: new_index.into()
            }]
        }
    );
}
