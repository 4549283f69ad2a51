//! The test image: a root filesystem holding only a static busybox, imported
//! into the engine once and kept (the machines reach no registry).

use std::collections::BTreeMap;

use flowinfra::engine::{ContainerSpec, Engine, LABEL_PROJECT};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::TestProject;

/// Project label value of images the test suite keeps between runs.
pub const TEST_IMAGES_PROJECT: &str = "flowinfra-tests";

/// Debian's busybox-static puts a statically linked busybox here.
const BUSYBOX: &str = "/bin/busybox";
const REPOSITORY: &str = "flowinfra-test-busybox";
/// Applets the tests call by name; a healthcheck's CMD-SHELL needs `sh`.
const APPLETS: &[&str] = &[
    "sh", "sleep", "echo", "cat", "true", "false", "env", "ls", "httpd", "nc",
];

static IMAGE: OnceCell<String> = OnceCell::const_new();
static FORWARD_HELPER: OnceCell<()> = OnceCell::const_new();

/// Makes the forward helper image (`FORWARD_HELPER_IMAGE`, which a remote
/// engine's `up` would pull) present on the engine from the busybox root
/// filesystem: no registry is reachable here.
pub async fn forward_helper_image(engine: &Engine) {
    FORWARD_HELPER
        .get_or_init(|| async {
            let reference = flowinfra::engine::FORWARD_HELPER_IMAGE;
            if engine
                .inspect_image(reference)
                .await
                .expect("inspect the helper image")
                .is_none()
            {
                let labels = BTreeMap::from([(LABEL_PROJECT.to_string(), TEST_IMAGES_PROJECT.to_string())]);
                engine
                    .import_rootfs(busybox_rootfs(), reference, &labels)
                    .await
                    .expect("import the forward helper image");
            }
        })
        .await;
}

/// The reference of the busybox test image, importing it on first use.
/// Tagged by content, so a new busybox gives a new tag and older tags are
/// removed.
pub async fn busybox_image(engine: &Engine) -> String {
    IMAGE.get_or_init(|| import_busybox(engine)).await.clone()
}

async fn import_busybox(engine: &Engine) -> String {
    let rootfs = busybox_rootfs();
    let digest = format!("{:x}", Sha256::digest(&rootfs));
    let reference = format!("{REPOSITORY}:{}", &digest[..12]);
    let present = engine.inspect_image(&reference).await.expect("inspect the test image");
    if present.is_none() {
        let labels = BTreeMap::from([(LABEL_PROJECT.to_string(), TEST_IMAGES_PROJECT.to_string())]);
        engine
            .import_rootfs(rootfs, &reference, &labels)
            .await
            .expect("import the busybox test image");
        remove_older_tags(engine, &reference).await;
    }
    reference
}

/// A container of `service` in `project`, labelled as flowinfra labels its
/// own, that sleeps: what an `up` killed mid-create leaves behind.
pub fn sleeping_container(project: &TestProject, service: &str, image: &str) -> ContainerSpec {
    ContainerSpec {
        name: project.container_name(service),
        project: project.name.clone(),
        service: service.to_string(),
        image: image.to_string(),
        labels: BTreeMap::new(),
        env: Vec::new(),
        command: Some(vec!["sleep".into(), "3600".into()]),
        entrypoint: None,
        ports: Vec::new(),
        mounts: Vec::new(),
        healthcheck: None,
        restart: None,
        network: project.network(),
        aliases: Vec::new(),
        hostname: None,
        options: Default::default(),
    }
}

async fn remove_older_tags(engine: &Engine, current: &str) {
    let images = engine
        .list_images(TEST_IMAGES_PROJECT)
        .await
        .expect("list the test images");
    for image in images {
        let ours = image
            .repo_tags
            .iter()
            .any(|tag| tag.starts_with(&format!("{REPOSITORY}:")));
        if ours && !image.repo_tags.iter().any(|tag| tag == current) {
            // Best effort: an image still used by a container stays.
            let _ = engine.remove_image(&image.id).await;
        }
    }
}

/// A tar of `/bin/busybox` plus applet symlinks and `/tmp`, with fixed
/// metadata so equal busybox binaries give byte-equal archives.
fn busybox_rootfs() -> Vec<u8> {
    let busybox = std::fs::read(BUSYBOX).unwrap_or_else(|error| {
        panic!(
            "the engine tests build their image from {BUSYBOX} ({error}): install it with \
             `apt-get install -y busybox-static`"
        )
    });
    let mut archive = tar::Builder::new(Vec::new());
    for directory in ["bin/", "etc/", "tmp/"] {
        let mut header = new_header(
            tar::EntryType::Directory,
            if directory == "tmp/" { 0o1777 } else { 0o755 },
        );
        archive
            .append_data(&mut header, directory, std::io::empty())
            .expect("tar a directory");
    }
    let mut header = new_header(tar::EntryType::Regular, 0o755);
    header.set_size(busybox.len() as u64);
    archive
        .append_data(&mut header, "bin/busybox", busybox.as_slice())
        .expect("tar busybox");
    for applet in APPLETS {
        let mut header = new_header(tar::EntryType::Symlink, 0o777);
        archive
            .append_link(&mut header, format!("bin/{applet}"), "busybox")
            .expect("tar an applet link");
    }
    archive.into_inner().expect("finish the tar")
}

fn new_header(entry_type: tar::EntryType, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    header
}

/// Imports the busybox root filesystem as `reference` with a `marker` label,
/// so each marker gives a new image ID under the same tag (a "re-pulled" tag).
pub async fn import_busybox_as(engine: &Engine, reference: &str, marker: &str) -> String {
    let labels = BTreeMap::from([
        (LABEL_PROJECT.to_string(), TEST_IMAGES_PROJECT.to_string()),
        ("io.flowinfra.test-marker".to_string(), marker.to_string()),
    ]);
    engine
        .import_rootfs(busybox_rootfs(), reference, &labels)
        .await
        .expect("import a busybox variant");
    engine
        .inspect_image(reference)
        .await
        .expect("inspect the variant")
        .expect("variant present")
        .id
}
