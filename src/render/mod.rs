//! `flowinfra render kubernetes`: the stack as Kubernetes manifests for
//! Kubernetes 1.30 to 1.35, built as typed objects (k8s-openapi, at the
//! API of 1.30, the oldest version supported, so that no field newer than
//! it can be set) and written as YAML.
//!
//! Pure: a spec in, objects, a translation report and the provisioner
//! image's Dockerfile out. What the manifests run inside the cluster
//! (`flowinfra wait`, `flowinfra provision`) is [`in_cluster`].
//!
//! - a kind service → StatefulSet, headless Service, volumeClaimTemplates
//!   from its named volumes, probes doing what its kind's probe does
//!   ([`probes`]);
//! - a one-shot (`restart: "no"` that others wait for with
//!   `service_completed_successfully`) → Job; anything else → Deployment;
//! - environment → ConfigMap, secret entries → Secret ([`environment`]);
//! - `depends_on` a kind → init container running `flowinfra wait`;
//! - provisioning → one Job running `flowinfra provision` ([`provisioning`]);
//! - every Compose field → an entry of the [`report::TranslationReport`].

mod environment;
pub mod files;
pub mod in_cluster;
pub mod kube_api;
mod names;
mod probes;
mod provisioning;
mod report;
mod runtime;
mod workloads;

pub use provisioning::{JOB_NAME, SPEC_CONFIG_MAP, SPEC_FILE};
pub use report::{Entry, Outcome, TranslationReport};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::spec::{DependencyCondition, Kind, MountSource, RestartPolicy, Service, Spec};

/// Claims ask for this much storage unless told otherwise (Compose names no size).
pub const DEFAULT_STORAGE: &str = "1Gi";

/// What the command line says about the manifests.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The namespace; the project name (as a DNS label) by default.
    pub namespace: Option<String>,
    /// The image with the flowinfra binary, for `flowinfra wait` init containers.
    pub flowinfra_image: String,
    /// The provisioner image; `<namespace>-provisioner:latest` by default.
    pub provisioner_image: Option<String>,
    /// The storage each volume claim requests.
    pub storage: String,
    /// Paths in the Dockerfile's comments are shown relative to this folder.
    pub working_dir: PathBuf,
}

/// The rendered stack.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub namespace: String,
    /// In the order `kubectl apply -f DIR` reads them (by name).
    pub files: Vec<ManifestFile>,
    pub report: TranslationReport,
    pub provisioner: Option<Provisioner>,
    /// `kubectl port-forward` commands for the published ports.
    pub port_forwards: Vec<String>,
}

/// One file of manifests.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    pub name: String,
    pub objects: Vec<Value>,
}

/// The image that carries migrations and seeds to the provisioning Job.
#[derive(Debug, Clone)]
pub struct Provisioner {
    pub image: String,
    /// Written beside the manifests as `provisioner.Dockerfile`.
    pub dockerfile: String,
    /// The build context: the folder holding every folder the image copies.
    pub context: PathBuf,
    /// The provisioning spec the Job reads (also inside its ConfigMap).
    pub spec: String,
}

/// The file name of the provisioner's Dockerfile beside the manifests.
pub const DOCKERFILE_NAME: &str = "provisioner.Dockerfile";
/// The file name of the translation report beside the manifests.
pub const REPORT_NAME: &str = "translation-report.txt";

impl Rendered {
    /// Every object as one multi-document YAML stream.
    pub fn to_multi_document_yaml(&self) -> String {
        self.files
            .iter()
            .map(ManifestFile::to_yaml)
            .collect::<Vec<_>>()
            .join("---\n")
    }
}

impl ManifestFile {
    /// The file's objects as YAML documents.
    pub fn to_yaml(&self) -> String {
        self.objects
            .iter()
            .map(crate::report::to_yaml)
            .collect::<Vec<_>>()
            .join("---\n")
    }
}

/// Something in the spec that has no place in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub service: String,
    pub problem: String,
    pub hint: String,
}

/// Why a stack cannot be rendered: every refusal, each with what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderRefused {
    pub refusals: Vec<Refusal>,
}

impl fmt::Display for RenderRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the stack cannot run in Kubernetes as it is:")?;
        for refusal in &self.refusals {
            write!(
                f,
                "\n  - service `{}`: {}; {}",
                refusal.service, refusal.problem, refusal.hint
            )?;
        }
        Ok(())
    }
}

/// What a service becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Kind(Kind),
    /// Runs once; others wait for it to complete.
    OneShot,
    Plain,
}

/// What every part of the rendering needs to know.
pub struct Context<'a> {
    pub spec: &'a Spec,
    /// The project name as labels carry it.
    pub project: String,
    pub namespace: String,
    pub options: &'a RenderOptions,
    /// The files of each read-only bind mount, by service and mount index.
    pub mounted: BTreeMap<(String, usize), files::MountedFiles>,
}

impl Context<'_> {
    /// The Kubernetes name of a Compose service.
    pub fn name(&self, service: &str) -> String {
        names::dns_label(service)
    }

    pub fn metadata(&self, name: &str, service: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.namespace.clone()),
            labels: Some(names::labels(&self.project, service)),
            ..ObjectMeta::default()
        }
    }

    pub fn provisioner_image(&self) -> String {
        self.options
            .provisioner_image
            .clone()
            .unwrap_or_else(|| format!("{}-provisioner:latest", self.namespace))
    }

    /// `path` relative to the working directory when inside it.
    pub fn display_path(&self, path: &Path) -> String {
        match path.strip_prefix(&self.options.working_dir) {
            Ok(relative) if relative.as_os_str().is_empty() => ".".into(),
            Ok(relative) => relative.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

/// Renders `spec` for Kubernetes, or says everything that stands in the way.
pub fn kubernetes(spec: &Spec, options: &RenderOptions) -> Result<Rendered, RenderRefused> {
    let namespace = match &options.namespace {
        Some(namespace) => namespace.clone(),
        None => names::dns_label(&spec.name),
    };
    let mut refusals = refusals(spec);
    let (mount_refusals, mounted) = bind_mounts(spec);
    refusals.extend(mount_refusals);
    // Grouped by service, by name as the spec orders its services (a stable sort keeps each one's order).
    refusals.sort_by(|a, b| a.service.cmp(&b.service));
    if !names::is_dns_1035_label(&namespace) && names::dns_label(&namespace) != namespace || namespace.is_empty() {
        refusals.push(Refusal {
            service: spec.name.clone(),
            problem: format!("`{namespace}` is not a valid namespace name"),
            hint: "give one with --namespace (lowercase letters, digits and `-`)".into(),
        });
    }
    if !refusals.is_empty() {
        return Err(RenderRefused { refusals });
    }
    let context = Context {
        spec,
        project: spec.name.clone(),
        namespace: namespace.clone(),
        options,
        mounted,
    };
    let mut report = TranslationReport::default();
    let namespace_object = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            labels: Some(names::labels(&spec.name, None)),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let mut files = vec![ManifestFile {
        name: "00-namespace.yaml".into(),
        objects: vec![workloads::to_value(&namespace_object)],
    }];
    let access = workloads::wait_access(&context);
    if !access.is_empty() {
        files.push(ManifestFile {
            name: "05-flowinfra-wait.yaml".into(),
            objects: access,
        });
    }
    let mut port_forwards = Vec::new();
    for service in spec.services.values() {
        let role = role(spec, service);
        files.push(ManifestFile {
            name: format!("10-{}.yaml", context.name(&service.name)),
            objects: workloads::render_service(&context, service, role, &mut report),
        });
        port_forwards.extend(port_forward_hints(&context, service));
    }
    let provisioner = match provisioning::render(&context, &mut report) {
        Ok(Some(provisioning)) => {
            files.push(ManifestFile {
                name: "20-provision.yaml".into(),
                objects: provisioning.objects,
            });
            Some(Provisioner {
                image: provisioning.image,
                dockerfile: provisioning.dockerfile,
                context: provisioning.context,
                spec: provisioning.spec,
            })
        }
        Ok(None) => None,
        Err(refusals) => return Err(RenderRefused { refusals }),
    };
    for service in spec.services.values() {
        runtime::report_unlisted(service, &mut report);
    }
    report.sort();
    Ok(Rendered {
        namespace,
        files,
        report,
        provisioner,
        port_forwards,
    })
}

/// What has no place in a cluster: local paths, the host's network, shared
/// container namespaces, host devices, secrets and configs (not rendered),
/// images only this machine has.
fn refusals(spec: &Spec) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for service in spec.services.values() {
        if service.build.is_some() && service.image == format!("{}-{}", spec.name, service.name) {
            refusals.push(Refusal {
                service: service.name.clone(),
                problem: "it is built from `build:` and names no `image:` to push".into(),
                hint: "set `image:` to a reference in a registry the cluster pulls from, and push it there".into(),
            });
        }
        // Issue 15's fields that tie a container to this host or to another
        // container: rendered without them, the service would run wrong.
        if let Some(mode) = &service.network_mode {
            refusals.push(Refusal {
                service: service.name.clone(),
                problem: format!(
                    "it sets `network_mode: {}`, which a pod cannot share",
                    String::from(mode.clone())
                ),
                hint: "remove `network_mode` (a pod reaches every Service by name), or run the two as one image".into(),
            });
        }
        if !service.runtime.devices.is_empty() || !service.runtime.volumes_from.is_empty() {
            refusals.push(Refusal {
                service: service.name.clone(),
                problem: "it uses host `devices` or another container's volumes (`volumes_from`)".into(),
                hint: "use named volumes shared through the spec instead; devices need a device plugin".into(),
            });
        }
        for (what, mounts) in [("secret", &service.secrets), ("config", &service.configs)] {
            for mount in mounts {
                refusals.push(Refusal {
                    service: service.name.clone(),
                    problem: format!(
                        "it reads the {what} `{}` at {}, which flowinfra does not render",
                        mount.source, mount.target
                    ),
                    hint: format!(
                        "create a Kubernetes {} for it yourself, or pass the value in `environment`",
                        if what == "secret" { "Secret" } else { "ConfigMap" }
                    ),
                });
            }
        }
        if !names::is_dns_1035_label(&names::dns_label(&service.name)) {
            refusals.push(Refusal {
                service: service.name.clone(),
                problem: "its name cannot be a Kubernetes Service name (it must start with a letter)".into(),
                hint: "rename the service".into(),
            });
        }
    }
    refusals
}

/// The files of every read-only bind mount, to ship in ConfigMaps, and the
/// bind mounts that cannot be: writable ones (data no cluster node has) and
/// those no ConfigMap can hold.
fn bind_mounts(spec: &Spec) -> (Vec<Refusal>, BTreeMap<(String, usize), files::MountedFiles>) {
    let mut refusals = Vec::new();
    let mut mounted = BTreeMap::new();
    for service in spec.services.values() {
        for (index, mount) in service.volumes.iter().enumerate() {
            let MountSource::Bind { path } = &mount.source else {
                continue;
            };
            let at = format!("it mounts the local path {} at {}", path.display(), mount.target);
            if !mount.read_only {
                refusals.push(Refusal {
                    service: service.name.clone(),
                    problem: format!("{at} read-write, and no cluster node has that path"),
                    hint: "use a named volume for what it writes; mount files it only reads with `:ro`, and render \
                           ships them in a ConfigMap (up to 1 MiB)"
                        .into(),
                });
                continue;
            }
            match files::read(path) {
                Ok(files) => {
                    mounted.insert((service.name.clone(), index), files);
                }
                Err(why) => refusals.push(Refusal {
                    service: service.name.clone(),
                    problem: format!("{at}, which cannot travel in a ConfigMap: {why}"),
                    hint: if why.contains(files::NOT_FILES) {
                        "remove the mount: a pod cannot reach this machine's sockets or devices".into()
                    } else {
                        format!(
                            "bake the files into its image (COPY them to {}), push it and name it in `image:`",
                            mount.target
                        )
                    },
                }),
            }
        }
    }
    (refusals, mounted)
}

/// A kind, a one-shot others wait for, or a plain long-running service.
fn role(spec: &Spec, service: &Service) -> Role {
    if let Some(kind) = service.kind() {
        return Role::Kind(kind);
    }
    let awaited = spec.services.values().any(|other| {
        other
            .depends_on
            .get(&service.name)
            .is_some_and(|dependency| dependency.condition == DependencyCondition::ServiceCompletedSuccessfully)
    });
    if (awaited || service.is_marked_job()) && service.restart.is_none_or(|restart| restart == RestartPolicy::No) {
        Role::OneShot
    } else {
        Role::Plain
    }
}

/// `kubectl port-forward` for each published port, at the port Compose published it on.
fn port_forward_hints(context: &Context, service: &Service) -> Vec<String> {
    let name = context.name(&service.name);
    service
        .ports
        .iter()
        .filter(|port| port.protocol == crate::spec::Protocol::Tcp)
        .map(|port| {
            let local = port.host_port.map_or(String::new(), |host| host.to_string());
            let address = match port.host_ip.as_str() {
                "" | "127.0.0.1" | "localhost" => String::new(),
                other => format!(" --address {other}"),
            };
            format!(
                "kubectl -n {} port-forward{address} service/{name} {local}:{}",
                context.namespace, port.container_port
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
