//! Images: inspect, pull (failing fast when no registry answers), import a
//! root filesystem, list a project's images, remove.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{BuildInfoAux, ImageInspect, ImageSummary};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

use crate::build_context::{DockerIgnore, clean};

use super::{BuildRequest, Engine, EngineError, ImageInfo, PullProgress, is_not_found, status_code};

/// How long a pull may wait for the engine's first answer. The engine only
/// answers once it has resolved and contacted the registry; offline, that is
/// a DNS or dial error after at most the daemon's 30 s dial timeout, and a
/// registry that swallows packets would otherwise hold `up` for bollard's
/// two-minute request timeout.
const PULL_FIRST_ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a running pull may go without a progress message. Downloads and
/// extraction report several times a second, so this only ends pulls that
/// are stuck.
const PULL_STALL_TIMEOUT: Duration = Duration::from_secs(120);

impl Engine {
    /// The local image `reference` (a reference or an ID) names; `None` when
    /// there is none.
    pub async fn inspect_image(&self, reference: &str) -> Result<Option<ImageInfo>, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some(image_info_from_inspect(image))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(source) => Err(self.api_error("inspect image", reference, source)),
        }
    }

    /// Pulls `reference` from its registry, reporting each progress message,
    /// and returns the pulled image.
    ///
    /// Every refusal from the engine or the registry (unreachable, unknown
    /// image, denied) is [`EngineError::ImageUnavailable`] with the engine's
    /// reason; so is a pull that gets no answer in time (see the timeouts
    /// above). Only a failure to talk to the engine itself is an `Api` error.
    pub async fn pull_image(
        &self,
        reference: &str,
        progress: &mut (dyn FnMut(PullProgress) + Send),
    ) -> Result<ImageInfo, EngineError> {
        let unavailable = |reason: String| EngineError::ImageUnavailable {
            reference: reference.into(),
            reason,
        };
        let (name, tag) = split_reference(reference);
        // An empty tag would pull every tag of the repository.
        let options = CreateImageOptionsBuilder::new().from_image(name).tag(tag).build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        let mut answered = false;
        loop {
            let wait = if answered {
                PULL_STALL_TIMEOUT
            } else {
                PULL_FIRST_ANSWER_TIMEOUT
            };
            let item = match tokio::time::timeout(wait, stream.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(_) => {
                    return Err(unavailable(format!(
                        "the engine reported no progress for {} s (no registry reachable?)",
                        wait.as_secs()
                    )));
                }
            };
            answered = true;
            match item {
                Ok(info) => progress(PullProgress {
                    layer: info.id,
                    status: info.status.unwrap_or_default(),
                    current_bytes: info
                        .progress_detail
                        .as_ref()
                        .and_then(|detail| detail.current)
                        .map(clamp),
                    total_bytes: info.progress_detail.as_ref().and_then(|detail| detail.total).map(clamp),
                }),
                Err(
                    bollard::errors::Error::DockerResponseServerError { message, .. }
                    | bollard::errors::Error::DockerStreamError { error: message },
                ) => {
                    return Err(super::error::classify_pull_failure(reference, &message)
                        .unwrap_or_else(|| unavailable(message)));
                }
                Err(source) => {
                    return Err(self.api_error("pull image", reference, source));
                }
            }
        }
        self.inspect_image(reference)
            .await?
            .ok_or_else(|| unavailable("the pull finished but the engine has no such image".into()))
    }

    /// Creates image `reference` from a tar archive of a root filesystem
    /// (`docker import`), with `labels`. For small self-made images, such as
    /// the test suite's busybox image.
    pub async fn import_rootfs(
        &self,
        rootfs_tar: Vec<u8>,
        reference: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<ImageInfo, EngineError> {
        let api = |source| self.api_error("import image", reference, source);
        let (repository, tag) = split_reference(reference);
        // `changes` are Dockerfile instructions; JSON string quoting is valid
        // LABEL syntax for any key or value.
        let changes = labels
            .iter()
            .map(|(key, value)| format!("LABEL {}={}", quote(key), quote(value)))
            .collect::<Vec<_>>();
        let options = CreateImageOptionsBuilder::new()
            .from_src("-")
            .repo(repository)
            .tag(tag)
            .changes(changes)
            .build();
        let mut stream = self
            .docker
            .create_image(Some(options), Some(bollard::body_full(rootfs_tar.into())), None);
        while let Some(item) = stream.next().await {
            item.map_err(api)?;
        }
        self.inspect_image(reference)
            .await?
            .ok_or_else(|| EngineError::ImageUnavailable {
                reference: reference.into(),
                reason: "the import finished but the engine has no such image".into(),
            })
    }

    /// Builds an image from a build-context tar and tags it `reference`,
    /// with the engine's BuildKit, or its classic builder where the engine
    /// refuses BuildKit. Both resolve `FROM` to local images when `pull` is
    /// unset, so offline builds work.
    ///
    /// BuildKit writes the request's labels into the image config, where the
    /// classic builder adds one committed `LABEL` step per label (about a
    /// second each after a changed `COPY`); see docs/decisions.md.
    ///
    /// A failing Dockerfile step surfaces as [`EngineError::BuildFailed`]
    /// with the builder's message and last lines of output.
    pub async fn build_image(&self, context_tar: Vec<u8>, request: &BuildRequest) -> Result<ImageInfo, EngineError> {
        if excludes_build_files(&context_tar, &request.dockerfile) {
            // BuildKit reads an uploaded context as it is, so `COPY .` would
            // copy the Dockerfile and `.dockerignore` the user excluded; the
            // classic builder drops them, as every docker build does.
            return self.build_with(Builder::Classic, context_tar, request).await;
        }
        match self.build_with(Builder::BuildKit, context_tar.clone(), request).await {
            Err(EngineError::Api { source, .. }) if refuses_buildkit(&source) => {
                tracing::debug!(image = %request.reference, "the engine refuses BuildKit ({source}); using its classic builder");
                self.build_with(Builder::Classic, context_tar, request).await
            }
            outcome => outcome,
        }
    }

    async fn build_with(
        &self,
        builder: Builder,
        context_tar: Vec<u8>,
        request: &BuildRequest,
    ) -> Result<ImageInfo, EngineError> {
        let api = |source| self.api_error("build image", request.reference.clone(), source);
        let labels: HashMap<String, String> = request.labels.clone().into_iter().collect();
        let args: HashMap<String, String> = request.args.clone().into_iter().collect();
        let mut options = BuildImageOptionsBuilder::new()
            .dockerfile(&request.dockerfile)
            .t(&request.reference)
            .labels(&labels)
            .buildargs(&args)
            .rm(true)
            .forcerm(true);
        if let Some(target) = &request.target {
            options = options.target(target);
        }
        if builder == Builder::BuildKit {
            // BuildKit on the engine needs a client session (bollard serves
            // it); the context still travels as the request's tar.
            options = options
                .version(BuilderVersion::BuilderBuildKit)
                .session(&format!("flowinfra-{}", uuid::Uuid::new_v4()));
        }
        let mut stream = self
            .docker
            .build_image(options.build(), None, Some(bollard::body_full(context_tar.into())));
        let mut last_lines: Vec<String> = Vec::new();
        let mut remember = |text: &str| {
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                tracing::debug!(image = %request.reference, "{}", line.trim_end());
                last_lines.push(line.trim_end().to_string());
                if last_lines.len() > 10 {
                    last_lines.remove(0);
                }
            }
        };
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = &info.stream {
                        remember(text);
                    }
                    if let Some(BuildInfoAux::BuildKit(status)) = &info.aux {
                        for log in &status.logs {
                            remember(&String::from_utf8_lossy(&log.msg));
                        }
                        for vertex in status.vertexes.iter().filter(|v| !v.error.is_empty()) {
                            remember(&format!("{}: {}", vertex.name, vertex.error));
                        }
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(EngineError::BuildFailed {
                        reference: request.reference.clone(),
                        message: error,
                        output: last_lines,
                    });
                }
                Err(source) => return Err(api(source)),
            }
        }
        self.inspect_image(&request.reference)
            .await?
            .ok_or_else(|| EngineError::ImageUnavailable {
                reference: request.reference.clone(),
                reason: "the build finished but the engine has no such image".into(),
            })
    }

    /// Images labelled with `project` (built images, imported stand-ins).
    pub async fn list_images(&self, project: &str) -> Result<Vec<ImageInfo>, EngineError> {
        let options = ListImagesOptionsBuilder::new()
            .filters(&super::project_filter(project))
            .build();
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|source| self.api_error("list the images of project", project, source))?;
        Ok(images.into_iter().map(image_info_from_summary).collect())
    }

    /// The digest the registry holds for `reference` now, asked through the
    /// engine without pulling (`/distribution/{name}/json`). Offline, or for
    /// an image no registry knows, this is an error the caller reports as
    /// "unknown", never as a failure of the command.
    pub async fn registry_digest(&self, reference: &str) -> Result<String, EngineError> {
        let answer = tokio::time::timeout(
            Duration::from_secs(15),
            self.docker.inspect_registry_image(reference, None),
        )
        .await
        .map_err(|_| EngineError::ImageUnavailable {
            reference: reference.into(),
            reason: "the registry did not answer within 15 s".into(),
        })?;
        match answer {
            Ok(inspect) => inspect.descriptor.digest.ok_or_else(|| EngineError::ImageUnavailable {
                reference: reference.into(),
                reason: "the registry sent no digest".into(),
            }),
            Err(source) => Err(EngineError::ImageUnavailable {
                reference: reference.into(),
                reason: source.to_string(),
            }),
        }
    }

    /// Removes the image `id` (or reference); an absent image is not an
    /// error. An image a container still uses is refused by the engine.
    pub async fn remove_image(&self, id: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptionsBuilder::new().force(false).build();
        match self.docker.remove_image(id, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(source) => {
                tracing::debug!(image = id, status = ?status_code(&source), "image removal refused");
                Err(self.api_error("remove image", id, source))
            }
        }
    }
}

/// Splits a reference into what the pull API takes as `fromImage` and `tag`
/// (which also carries a digest), defaulting the tag to `latest` as the
/// Docker CLI does. A `:` before the last `/` belongs to a registry port.
fn split_reference(reference: &str) -> (&str, &str) {
    if let Some((name, digest)) = reference.split_once('@') {
        return (name, digest);
    }
    let name_start = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[name_start..].rfind(':') {
        Some(colon) => (&reference[..name_start + colon], &reference[name_start + colon + 1..]),
        None => (reference, "latest"),
    }
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn clamp(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builder {
    BuildKit,
    Classic,
}

/// Whether the context's `.dockerignore` excludes the Dockerfile or itself
/// (they are in the tar all the same: the builder needs them).
fn excludes_build_files(context_tar: &[u8], dockerfile: &str) -> bool {
    let mut archive = tar::Archive::new(context_tar);
    let Ok(entries) = archive.entries() else {
        return false;
    };
    for mut entry in entries.flatten() {
        let is_dockerignore = entry.path().is_ok_and(|path| path.as_os_str() == ".dockerignore");
        if is_dockerignore {
            let mut text = String::new();
            if std::io::Read::read_to_string(&mut entry, &mut text).is_err() {
                return false;
            }
            return DockerIgnore::parse(&text).is_ok_and(|ignore| {
                [".dockerignore", dockerfile]
                    .iter()
                    .any(|file| ignore.excludes(&clean(file), None).0)
            });
        }
    }
    false
}

/// Whether the engine refused the BuildKit request itself (an engine built
/// without it, a Windows engine), as opposed to a build that failed.
fn refuses_buildkit(error: &bollard::errors::Error) -> bool {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            let message = message.to_lowercase();
            message.contains("buildkit") || message.contains("session") || message.contains("builder version")
        }
        _ => false,
    }
}

fn sorted(labels: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}

pub(super) fn image_info_from_inspect(image: ImageInspect) -> ImageInfo {
    ImageInfo {
        id: image.id.unwrap_or_default(),
        repo_tags: image.repo_tags.unwrap_or_default(),
        repo_digests: image.repo_digests.unwrap_or_default(),
        labels: sorted(image.config.and_then(|config| config.labels)),
        // bollard's `time` feature (which its BuildKit support requires)
        // parses this date; it is passed on as RFC 3339, as before.
        created: image
            .created
            .and_then(|created| created.format(&time::format_description::well_known::Rfc3339).ok()),
    }
}

pub(super) fn image_info_from_summary(image: ImageSummary) -> ImageInfo {
    ImageInfo {
        id: image.id,
        // The engine lists untagged images with a `<none>:<none>` placeholder.
        repo_tags: image
            .repo_tags
            .into_iter()
            .filter(|tag| tag != "<none>:<none>")
            .collect(),
        repo_digests: image
            .repo_digests
            .into_iter()
            .filter(|digest| digest != "<none>@<none>")
            .collect(),
        labels: image.labels.into_iter().collect(),
        created: Some(image.created)
            .filter(|seconds| *seconds > 0)
            .and_then(rfc3339_from_unix),
    }
}

/// Formats seconds since the Unix epoch as RFC 3339 in UTC, the form
/// `inspect_image` reports, so both paths give the same kind of `created`.
/// `None` for a time outside the years 1-9999.
fn rfc3339_from_unix(seconds: i64) -> Option<String> {
    let time = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    time.format(&time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_name_and_tag() {
        assert_eq!(split_reference("mysql"), ("mysql", "latest"));
        assert_eq!(split_reference("mysql:8.4"), ("mysql", "8.4"));
        assert_eq!(
            split_reference("localhost:5000/team/app"),
            ("localhost:5000/team/app", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/team/app:1.2"),
            ("localhost:5000/team/app", "1.2")
        );
        assert_eq!(split_reference("redis@sha256:abc"), ("redis", "sha256:abc"));
    }

    #[test]
    fn unix_times_format_as_rfc3339() {
        assert_eq!(rfc3339_from_unix(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(rfc3339_from_unix(951_782_400).as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(
            rfc3339_from_unix(1_762_345_678).as_deref(),
            Some("2025-11-05T12:27:58Z")
        );
        assert_eq!(rfc3339_from_unix(i64::MAX), None);
    }
}
