//! One service as Kubernetes objects: its ConfigMap and Secret, its
//! Services, its volumes, and its workload — a StatefulSet for a kind
//! service (stable storage and host name), a Job for a one-shot, a
//! Deployment for anything else — with every field recorded in the
//! translation report.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, ConfigMapKeySelector, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource, KeyToPath, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Secret, SecretEnvSource,
    SecretKeySelector, Service as KubeService, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role as KubeRole, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::environment::{ServiceEnvironment, ValueSource};
use super::in_cluster::CredentialFields;
use super::names::{dns_label, labels, selector};
use super::probes::{Probes, healthcheck_probes, kind_probes};
use super::report::TranslationReport;
use super::{Context, Role};
use crate::spec::{DependencyCondition, MountSource, Protocol, PullPolicy, RestartPolicy, Service};

/// How many times a one-shot Job's pod is retried before the Job fails.
pub const ONE_SHOT_BACKOFF_LIMIT: i32 = 3;

/// The objects of one service, in the order `kubectl apply` should meet them.
pub fn render_service(context: &Context, service: &Service, role: Role, report: &mut TranslationReport) -> Vec<Value> {
    let name = context.name(&service.name);
    let environment = ServiceEnvironment::of(service);
    let mut objects = Vec::new();
    let mut env_from = Vec::new();
    if !environment.config.is_empty() {
        objects.push(to_value(&ConfigMap {
            metadata: context.metadata(&config_map_name(&name), Some(&service.name)),
            data: Some(environment.config.clone()),
            ..ConfigMap::default()
        }));
        env_from.push(EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: config_map_name(&name),
                ..ConfigMapEnvSource::default()
            }),
            ..EnvFromSource::default()
        });
    }
    if !environment.secret.is_empty() {
        objects.push(to_value(&Secret {
            metadata: context.metadata(&secret_name(&name), Some(&service.name)),
            type_: Some("Opaque".into()),
            data: Some(
                environment
                    .secret
                    .iter()
                    .map(|(key, value)| (key.clone(), ByteString(value.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }));
        env_from.push(EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: secret_name(&name),
                ..SecretEnvSource::default()
            }),
            ..EnvFromSource::default()
        });
    }
    report_environment(report, service, &name, &environment);

    let ports = service_ports(service);
    if !ports.is_empty() {
        objects.push(to_value(&kube_service(context, service, &name, &ports, false)));
    }
    // A kind's stable network identity, or the name `flowinfra wait --dns` of
    // a dependent resolves (a headless Service lists only ready pods).
    if (matches!(role, Role::Kind(_)) && !ports.is_empty()) || awaited_by_dns(context, service) {
        objects.push(to_value(&kube_service(
            context,
            service,
            &headless_name(&name),
            &ports,
            true,
        )));
    }
    report_ports(report, context, service, &name, role);

    let mut container = Container {
        name: name.clone(),
        image: Some(service.image.clone()),
        image_pull_policy: Some(pull_policy(service.pull_policy).into()),
        command: environment.command.clone(),
        args: environment.args.clone(),
        env_from: (!env_from.is_empty()).then_some(env_from),
        ports: (!ports.is_empty()).then(|| {
            ports
                .iter()
                .map(|(port, protocol)| ContainerPort {
                    container_port: i32::from(*port),
                    protocol: Some(protocol_name(*protocol).into()),
                    ..ContainerPort::default()
                })
                .collect()
        }),
        ..Container::default()
    };
    report_image_and_commands(report, service, &environment);

    let probes = probes(service, role, &environment, report);
    if let Some(probes) = &probes {
        container.startup_probe = Some(probes.startup.clone());
        container.readiness_probe = Some(probes.readiness.clone());
    }

    let storage = volumes(context, service, role, report);
    container.volume_mounts = (!storage.mounts.is_empty()).then_some(storage.mounts);
    objects.extend(storage.claims.iter().map(to_value));
    objects.extend(storage.config_maps.iter().map(to_value));

    let init_containers = wait_containers(context, service, report);
    let reads_jobs = waits_for_a_job(context, service);
    let mut pod = PodSpec {
        service_account_name: reads_jobs.then(|| WAIT_SERVICE_ACCOUNT.to_string()),
        containers: vec![container],
        init_containers: (!init_containers.is_empty()).then_some(init_containers),
        volumes: (!storage.volumes.is_empty()).then_some(storage.volumes),
        hostname: hostname(service, report),
        // Compose injects no variables about other services; Kubernetes would
        // add e.g. MYSQL_PORT=tcp://… to every container, shadowing the spec's own.
        enable_service_links: Some(false),
        restart_policy: matches!(role, Role::OneShot).then(|| "Never".to_string()),
        ..PodSpec::default()
    };
    let mut main = pod.containers.remove(0);
    super::runtime::apply(service, &mut main, &mut pod, report);
    pod.containers.insert(0, main);
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(&context.project, Some(&service.name))),
            annotations: annotations(service, report),
            ..ObjectMeta::default()
        }),
        spec: Some(pod),
    };
    report_restart(report, service, role);
    report_rest(report, service, role);

    let metadata = context.metadata(&name, Some(&service.name));
    let match_labels = LabelSelector {
        match_labels: Some(selector(&context.project, &service.name)),
        ..LabelSelector::default()
    };
    objects.push(match role {
        Role::Kind(_) => to_value(&StatefulSet {
            metadata,
            spec: Some(StatefulSetSpec {
                service_name: Some(headless_name(&name)),
                replicas: Some(1),
                selector: match_labels,
                template,
                volume_claim_templates: (!storage.claim_templates.is_empty()).then_some(storage.claim_templates),
                ..StatefulSetSpec::default()
            }),
            ..StatefulSet::default()
        }),
        Role::OneShot => to_value(&Job {
            metadata,
            spec: Some(JobSpec {
                backoff_limit: Some(ONE_SHOT_BACKOFF_LIMIT),
                template,
                ..JobSpec::default()
            }),
            ..Job::default()
        }),
        Role::Plain => to_value(&Deployment {
            metadata,
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: match_labels,
                template,
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        }),
    });
    objects
}

pub fn config_map_name(name: &str) -> String {
    format!("{name}-config")
}

/// The ConfigMap holding the files of the service's bind mount `index`.
pub fn files_config_map_name(name: &str, index: usize) -> String {
    dns_label(&format!("{name}-files-{index}"))
}

pub fn secret_name(name: &str) -> String {
    format!("{name}-secret")
}

fn headless_name(name: &str) -> String {
    dns_label(&format!("{name}-headless"))
}

/// A typed object as JSON; the Kubernetes types always serialise.
pub fn to_value<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).expect("Kubernetes objects serialise")
}

/// The container ports other pods reach: every published one, and the kind's port.
pub fn service_ports(service: &Service) -> Vec<(u16, Protocol)> {
    let mut ports: Vec<(u16, Protocol)> = Vec::new();
    if let Some(kind) = service.kind() {
        ports.push((kind.default_port(), Protocol::Tcp));
    }
    for port in &service.ports {
        if !ports.contains(&(port.container_port, port.protocol)) {
            ports.push((port.container_port, port.protocol));
        }
    }
    ports
}

fn kube_service(
    context: &Context,
    service: &Service,
    name: &str,
    ports: &[(u16, Protocol)],
    headless: bool,
) -> KubeService {
    KubeService {
        metadata: context.metadata(name, Some(&service.name)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: headless.then(|| "None".to_string()),
            selector: Some(selector(&context.project, &service.name)),
            // A headless Service may have no ports: its name still resolves to the ready pods.
            ports: (!ports.is_empty()).then(|| {
                ports
                    .iter()
                    .map(|(port, protocol)| ServicePort {
                        name: Some(format!("{}-{port}", protocol.as_str())),
                        port: i32::from(*port),
                        target_port: Some(IntOrString::Int(i32::from(*port))),
                        protocol: Some(protocol_name(*protocol).into()),
                        ..ServicePort::default()
                    })
                    .collect()
            }),
            ..ServiceSpec::default()
        }),
        ..KubeService::default()
    }
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
    }
}

fn pull_policy(policy: PullPolicy) -> &'static str {
    match policy {
        PullPolicy::Missing | PullPolicy::Build => "IfNotPresent",
        PullPolicy::Always => "Always",
        PullPolicy::Never => "Never",
    }
}

fn probes(
    service: &Service,
    role: Role,
    environment: &ServiceEnvironment,
    report: &mut TranslationReport,
) -> Option<Probes> {
    let from_healthcheck = service.healthcheck.as_ref().and_then(healthcheck_probes);
    match role {
        Role::Kind(kind) => {
            let probes = kind_probes(service, kind, environment);
            if service.healthcheck.is_some() {
                report.not_mapped(
                    &service.name,
                    "healthcheck",
                    format!("the {} kind's readiness replaces it (see x-flowinfra)", kind.as_str()),
                );
            }
            match &probes {
                Some(probes) => report.mapped(
                    &service.name,
                    "x-flowinfra (readiness)",
                    format!("startup and readiness probes: {}", probes.description),
                ),
                None => report.not_mapped(
                    &service.name,
                    "x-flowinfra (readiness)",
                    "its credentials are incomplete: no probe",
                ),
            }
            probes
        }
        Role::OneShot | Role::Plain => {
            match (&service.healthcheck, &from_healthcheck) {
                (Some(_), Some(probes)) => report.mapped(&service.name, "healthcheck", probes.description.clone()),
                (Some(_), None) => report.not_mapped(&service.name, "healthcheck", "disabled (`NONE`): no probe"),
                (None, _) => {}
            }
            // A Job's pod ends: readiness means nothing for it.
            from_healthcheck.filter(|_| role == Role::Plain)
        }
    }
}

/// Volumes, mounts and claims of one service.
#[derive(Default)]
struct Storage {
    volumes: Vec<Volume>,
    mounts: Vec<VolumeMount>,
    /// A StatefulSet's per-pod claims.
    claim_templates: Vec<PersistentVolumeClaim>,
    /// Standalone claims for a Deployment or Job.
    claims: Vec<PersistentVolumeClaim>,
    /// The files of read-only bind mounts.
    config_maps: Vec<ConfigMap>,
}

fn volumes(context: &Context, service: &Service, role: Role, report: &mut TranslationReport) -> Storage {
    let mut storage = Storage::default();
    for (index, mount) in service.volumes.iter().enumerate() {
        let read_only = mount.read_only.then_some(true);
        match &mount.source {
            MountSource::Volume { name } => {
                let external = context.spec.volumes.get(name).filter(|volume| volume.external);
                let claim = dns_label(external.map_or(name.as_str(), |volume| volume.name.as_str()));
                storage.mounts.push(VolumeMount {
                    name: claim.clone(),
                    mount_path: mount.target.clone(),
                    read_only,
                    ..VolumeMount::default()
                });
                let what = if let Some(volume) = external {
                    storage.volumes.push(claim_volume(&claim));
                    format!(
                        "existing PersistentVolumeClaim {claim} at {} (external volume {}: not rendered, create it first)",
                        mount.target, volume.name
                    )
                } else if matches!(role, Role::Kind(_)) {
                    storage
                        .claim_templates
                        .push(claim_object(context, service, &claim, false));
                    format!(
                        "volumeClaimTemplate {claim} ({}, ReadWriteOnce) at {}",
                        context.options.storage, mount.target
                    )
                } else {
                    storage.volumes.push(claim_volume(&claim));
                    storage.claims.push(claim_object(context, service, &claim, true));
                    format!(
                        "PersistentVolumeClaim {claim} ({}, ReadWriteOnce) at {}",
                        context.options.storage, mount.target
                    )
                };
                report.mapped(&service.name, &format!("volumes[{index}]"), what);
            }
            MountSource::Anonymous => {
                let volume = format!("anonymous-{index}");
                storage.volumes.push(Volume {
                    name: volume.clone(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Volume::default()
                });
                storage.mounts.push(VolumeMount {
                    name: volume,
                    mount_path: mount.target.clone(),
                    read_only,
                    ..VolumeMount::default()
                });
                report.mapped(
                    &service.name,
                    &format!("volumes[{index}]"),
                    format!(
                        "emptyDir at {} (gone with the pod, as an anonymous volume with its container)",
                        mount.target
                    ),
                );
            }
            MountSource::Bind { path } => {
                // Read before rendering; anything that could not be a ConfigMap was refused.
                let Some(files) = context.mounted.get(&(service.name.clone(), index)) else {
                    unreachable!("bind mounts that cannot be ConfigMaps are refused before rendering")
                };
                let config_map = files_config_map_name(&context.name(&service.name), index);
                storage.config_maps.push(ConfigMap {
                    metadata: context.metadata(&config_map, Some(&service.name)),
                    data: (!files.data.is_empty()).then(|| files.data.clone()),
                    binary_data: (!files.binary.is_empty()).then(|| files.binary.clone()),
                    ..ConfigMap::default()
                });
                let volume = format!("files-{index}");
                storage.volumes.push(Volume {
                    name: volume.clone(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: config_map.clone(),
                        // Modes only when a file must stay executable; 0644 otherwise.
                        items: (!files.executable.is_empty()).then(|| {
                            files
                                .data
                                .keys()
                                .chain(files.binary.keys())
                                .map(|key| KeyToPath {
                                    key: key.clone(),
                                    path: key.clone(),
                                    mode: files.executable.contains(key).then_some(0o755),
                                })
                                .collect()
                        }),
                        ..ConfigMapVolumeSource::default()
                    }),
                    ..Volume::default()
                });
                storage.mounts.push(VolumeMount {
                    name: volume,
                    mount_path: mount.target.clone(),
                    sub_path: files.single_file.clone(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                });
                let what = match &files.single_file {
                    Some(_) => "1 file, mounted by subPath".to_string(),
                    None if files.count() == 1 => "1 file".to_string(),
                    None => format!("{} files", files.count()),
                };
                report.mapped(
                    &service.name,
                    &format!("volumes[{index}]"),
                    format!(
                        "ConfigMap {config_map} from {} ({what}, {} bytes; a ConfigMap holds at most 1 MiB), \
                         read-only at {}; its content is in the manifests in clear: keep secrets out of these files",
                        context.display_path(path),
                        files.bytes,
                        mount.target
                    ),
                );
            }
        }
    }
    storage
}

fn claim_volume(claim: &str) -> Volume {
    Volume {
        name: claim.to_string(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.to_string(),
            ..PersistentVolumeClaimVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn claim_object(context: &Context, service: &Service, claim: &str, standalone: bool) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: if standalone {
            context.metadata(claim, Some(&service.name))
        } else {
            ObjectMeta {
                name: Some(claim.to_string()),
                labels: Some(labels(&context.project, Some(&service.name))),
                ..ObjectMeta::default()
            }
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(context.options.storage.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// The init containers that hold `service` until what it depends on is
/// ready, one per `depends_on` entry: a kind by its protocol, a one-shot's
/// completion through the API, any other service by its headless Service.
fn wait_containers(context: &Context, service: &Service, report: &mut TranslationReport) -> Vec<Container> {
    let mut containers = Vec::new();
    for (dependency_name, dependency) in &service.depends_on {
        let field = format!("depends_on.{dependency_name}");
        let Some(target) = context.spec.services.get(dependency_name) else {
            report.not_mapped(
                &service.name,
                &field,
                "that service is not rendered (not selected by a profile)",
            );
            continue;
        };
        let target_name = context.name(dependency_name);
        let condition = condition_name(dependency.condition);
        if let Some(kind) = target.kind() {
            match wait_container(context, target) {
                Some(container) => {
                    report.mapped(
                        &service.name,
                        &field,
                        format!(
                            "init container {}: `flowinfra wait {target_name} --kind {}` ({condition}: its kind's \
                             protocol login)",
                            container.name,
                            kind.as_str()
                        ),
                    );
                    containers.push(container);
                }
                None => report.not_mapped(&service.name, &field, "its credentials are incomplete"),
            }
            continue;
        }
        let target_role = super::role(context.spec, target);
        match dependency.condition {
            DependencyCondition::ServiceCompletedSuccessfully if target_role != Role::OneShot => report.not_mapped(
                &service.name,
                &field,
                format!(
                    "{dependency_name} is long-running (restart: {}), a Deployment whose pod never completes",
                    restart_name(target.restart)
                ),
            ),
            DependencyCondition::ServiceCompletedSuccessfully => {
                let container = plain_wait_container(context, &target_name, vec!["--job".into()]);
                report.mapped(
                    &service.name,
                    &field,
                    format!(
                        "init container {}: `flowinfra wait {target_name} --job` until the Job {target_name} \
                         completed (fails if it failed), read from the API as ServiceAccount {WAIT_SERVICE_ACCOUNT} \
                         (get on jobs only)",
                        container.name
                    ),
                );
                containers.push(container);
            }
            DependencyCondition::ServiceStarted | DependencyCondition::ServiceHealthy => {
                let headless = headless_name(&target_name);
                let container = plain_wait_container(
                    context,
                    &target_name,
                    vec!["--dns".into(), "--host".into(), headless.clone()],
                );
                let ready = match (&dependency.condition, healthcheck_probes_of(target)) {
                    (DependencyCondition::ServiceHealthy, true) => {
                        "lists its pod once the readiness probe from its healthcheck passes".to_string()
                    }
                    (DependencyCondition::ServiceHealthy, false) => {
                        "lists its pod once it runs (it has no healthcheck to be healthy by)".to_string()
                    }
                    (_, true) => "lists its pod once it runs and its readiness probe passes (later than \
                                  Compose's started)"
                        .to_string(),
                    (_, false) => "lists its pod once it runs".to_string(),
                };
                report.mapped(
                    &service.name,
                    &field,
                    format!(
                        "init container {}: `flowinfra wait {target_name} --dns` ({condition}) until the headless \
                         Service {headless} resolves, which {ready}",
                        container.name
                    ),
                );
                containers.push(container);
            }
        }
    }
    containers
}

fn condition_name(condition: DependencyCondition) -> &'static str {
    match condition {
        DependencyCondition::ServiceStarted => "service_started",
        DependencyCondition::ServiceHealthy => "service_healthy",
        DependencyCondition::ServiceCompletedSuccessfully => "service_completed_successfully",
    }
}

fn restart_name(restart: Option<RestartPolicy>) -> &'static str {
    match restart {
        None | Some(RestartPolicy::No) => "no",
        Some(RestartPolicy::Always) => "always",
        Some(RestartPolicy::OnFailure { .. }) => "on-failure",
        Some(RestartPolicy::UnlessStopped) => "unless-stopped",
    }
}

/// Whether `target` has a healthcheck its pod's readiness probe comes from.
fn healthcheck_probes_of(target: &Service) -> bool {
    target.healthcheck.as_ref().and_then(healthcheck_probes).is_some()
}

/// The service account of pods whose init containers read Jobs.
pub const WAIT_SERVICE_ACCOUNT: &str = "flowinfra-wait";

/// Whether a `depends_on` of `service` waits for a Job's completion.
fn waits_for_a_job(context: &Context, service: &Service) -> bool {
    service.depends_on.iter().any(|(name, dependency)| {
        dependency.condition == DependencyCondition::ServiceCompletedSuccessfully
            && context
                .spec
                .services
                .get(name)
                .is_some_and(|target| target.kind().is_none() && super::role(context.spec, target) == Role::OneShot)
    })
}

/// The service account, Role and RoleBinding that let `flowinfra wait
/// --job` read Jobs (and nothing else) in the namespace, when a service
/// waits for one.
pub fn wait_access(context: &Context) -> Vec<Value> {
    if !context
        .spec
        .services
        .values()
        .any(|service| waits_for_a_job(context, service))
    {
        return Vec::new();
    }
    vec![
        to_value(&ServiceAccount {
            metadata: context.metadata(WAIT_SERVICE_ACCOUNT, None),
            ..ServiceAccount::default()
        }),
        to_value(&KubeRole {
            metadata: context.metadata(WAIT_SERVICE_ACCOUNT, None),
            rules: Some(vec![PolicyRule {
                api_groups: Some(vec!["batch".into()]),
                resources: Some(vec!["jobs".into()]),
                verbs: vec!["get".into()],
                ..PolicyRule::default()
            }]),
        }),
        to_value(&RoleBinding {
            metadata: context.metadata(WAIT_SERVICE_ACCOUNT, None),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: WAIT_SERVICE_ACCOUNT.into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: WAIT_SERVICE_ACCOUNT.into(),
                namespace: Some(context.namespace.clone()),
                ..Subject::default()
            }]),
        }),
    ]
}

/// Whether some service waits for `target` (not a kind) by its DNS name.
fn awaited_by_dns(context: &Context, target: &Service) -> bool {
    target.kind().is_none()
        && context.spec.services.values().any(|other| {
            other.depends_on.get(&target.name).is_some_and(|dependency| {
                matches!(
                    dependency.condition,
                    DependencyCondition::ServiceStarted | DependencyCondition::ServiceHealthy
                )
            })
        })
}

/// An init container running `flowinfra wait NAME ARGS…` (no credentials).
fn plain_wait_container(context: &Context, target_name: &str, extra: Vec<String>) -> Container {
    let mut args = vec!["wait".to_string(), target_name.to_string()];
    args.extend(extra);
    Container {
        name: dns_label(&format!("wait-{target_name}")),
        image: Some(context.options.flowinfra_image.clone()),
        command: Some(vec!["flowinfra".into()]),
        args: Some(args),
        ..Container::default()
    }
}

/// An init container running `flowinfra wait` against `target`, a kind
/// service, with its credentials from where its own pod reads them.
pub fn wait_container(context: &Context, target: &Service) -> Option<Container> {
    let kind = target.kind()?;
    let fields = CredentialFields::from(&crate::kinds::credentials(target)?);
    let name = context.name(&target.name);
    let environment = ServiceEnvironment::of(target);
    let env = [
        ("FLOWINFRA_USER", fields.user.as_deref()),
        ("FLOWINFRA_PASSWORD", fields.password.as_deref()),
        ("FLOWINFRA_DATABASE", fields.database.as_deref()),
        ("FLOWINFRA_VHOST", fields.vhost.as_deref()),
    ]
    .into_iter()
    .filter_map(|(variable, value)| Some(env_var(variable, &name, environment.source_of(value?))))
    .collect();
    let mut args = vec!["wait".to_string(), name.clone(), "--kind".into(), kind.as_str().into()];
    if let Some(timeout) = target.flowinfra.as_ref().and_then(|x| x.ready_timeout) {
        args.extend(["--timeout".into(), timeout.as_secs().max(1).to_string()]);
    }
    Some(Container {
        name: dns_label(&format!("wait-{name}")),
        image: Some(context.options.flowinfra_image.clone()),
        command: Some(vec!["flowinfra".into()]),
        args: Some(args),
        env: Some(env),
        ..Container::default()
    })
}

/// A variable of an init container, from the ConfigMap or Secret of the
/// service `owner` it is about.
pub fn env_var(variable: &str, owner: &str, source: ValueSource) -> EnvVar {
    let mut var = EnvVar {
        name: variable.to_string(),
        ..EnvVar::default()
    };
    match source {
        ValueSource::Literal(value) => var.value = Some(value),
        ValueSource::Config(key) => {
            var.value_from = Some(EnvVarSource {
                config_map_key_ref: Some(ConfigMapKeySelector {
                    name: config_map_name(owner),
                    key,
                    ..ConfigMapKeySelector::default()
                }),
                ..EnvVarSource::default()
            })
        }
        ValueSource::Secret(key) => {
            var.value_from = Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret_name(owner),
                    key,
                    ..SecretKeySelector::default()
                }),
                ..EnvVarSource::default()
            })
        }
    }
    var
}

fn hostname(service: &Service, report: &mut TranslationReport) -> Option<String> {
    let hostname = service.hostname.as_ref()?;
    if super::names::is_dns_1035_label(hostname) || dns_label(hostname) == *hostname {
        report.mapped(&service.name, "hostname", format!("pod hostname {hostname}"));
        Some(hostname.clone())
    } else {
        report.not_mapped(
            &service.name,
            "hostname",
            format!("`{hostname}` is not a DNS label Kubernetes accepts as a pod hostname"),
        );
        None
    }
}

/// Compose labels as pod annotations: label values in Kubernetes are
/// limited to 63 characters of a small alphabet, annotation values are not.
fn annotations(service: &Service, report: &mut TranslationReport) -> Option<BTreeMap<String, String>> {
    if service.labels.is_empty() {
        return None;
    }
    let (valid, invalid): (Vec<_>, Vec<_>) = service.labels.iter().partition(|(key, _)| is_qualified_name(key));
    if !valid.is_empty() {
        report.mapped(&service.name, "labels", format!("{} pod annotations", valid.len()));
    }
    for (key, _) in invalid {
        report.not_mapped(
            &service.name,
            &format!("labels.{key}"),
            "not a valid Kubernetes annotation key ([prefix/]name, name up to 63 characters)",
        );
    }
    (!valid.is_empty()).then(|| valid.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok = prefix.is_none_or(|prefix| {
        !prefix.is_empty()
            && prefix.len() <= 253
            && prefix
                .split('.')
                .all(|part| !part.is_empty() && dns_label(part) == part)
    });
    name_ok && prefix_ok
}

fn report_environment(report: &mut TranslationReport, service: &Service, name: &str, environment: &ServiceEnvironment) {
    if service.environment.is_empty() {
        return;
    }
    let config = environment.config.len();
    let secret = environment.secret.len() - environment.argument_secrets.len();
    let mut parts = Vec::new();
    if config > 0 {
        parts.push(format!("ConfigMap {} ({})", config_map_name(name), keys(config)));
    }
    if secret > 0 {
        parts.push(format!(
            "Secret {} ({}, secret by name)",
            secret_name(name),
            keys(secret)
        ));
    }
    report.mapped(
        &service.name,
        "environment",
        format!("{}, as envFrom", parts.join(" and ")),
    );
}

fn keys(count: usize) -> String {
    if count == 1 {
        "1 key".into()
    } else {
        format!("{count} keys")
    }
}

fn report_image_and_commands(report: &mut TranslationReport, service: &Service, environment: &ServiceEnvironment) {
    report.mapped(
        &service.name,
        "image",
        format!(
            "container image {} (imagePullPolicy {})",
            service.image,
            pull_policy(service.pull_policy)
        ),
    );
    if service.build.is_some() {
        report.not_mapped(
            &service.name,
            "build",
            format!(
                "render builds nothing: build and push {} before applying",
                service.image
            ),
        );
    }
    if service.pull_policy != PullPolicy::Missing {
        report.mapped(
            &service.name,
            "pull_policy",
            format!("imagePullPolicy {}", pull_policy(service.pull_policy)),
        );
    }
    let moved = |keys: &[String]| {
        if keys.is_empty() {
            String::new()
        } else {
            format!("; secret values moved to the Secret as $({})", keys.join("), $("))
        }
    };
    if service.entrypoint.is_some() {
        report.mapped(&service.name, "entrypoint", "container command");
    }
    if service.command.is_some() {
        report.mapped(
            &service.name,
            "command",
            format!("container args{}", moved(&environment.argument_secrets)),
        );
    }
}

fn report_ports(report: &mut TranslationReport, context: &Context, service: &Service, name: &str, role: Role) {
    for (index, port) in service.ports.iter().enumerate() {
        let local = port.host_port.map_or(String::new(), |host| host.to_string());
        report.mapped(
            &service.name,
            &format!("ports[{index}]"),
            format!(
                "ClusterIP Service {name} port {}/{}; from this machine: `kubectl -n {} port-forward service/{name} {local}:{}`",
                port.container_port,
                port.protocol.as_str(),
                context.namespace,
                port.container_port
            ),
        );
    }
    if let Role::Kind(kind) = role
        && service.published_port(kind.default_port()).is_none()
    {
        report.mapped(
            &service.name,
            "x-flowinfra (port)",
            format!(
                "ClusterIP Service {name} port {} (the kind's port)",
                kind.default_port()
            ),
        );
    }
    if matches!(role, Role::Kind(_)) && !service_ports(service).is_empty() {
        report.mapped(
            &service.name,
            "x-flowinfra (storage)",
            format!(
                "StatefulSet {name} with headless Service {} (stable pod name and volume)",
                headless_name(name)
            ),
        );
    }
    if service_ports(service).is_empty() {
        let headless = if awaited_by_dns(context, service) {
            format!(
                "; its headless Service {} (no ports) is for the `flowinfra wait --dns` of its dependents",
                headless_name(name)
            )
        } else {
            String::new()
        };
        report.not_mapped(
            &service.name,
            "ports",
            format!(
                "none published: no Service (Compose lets other containers reach any port; declare the ports \
                 clients use){headless}"
            ),
        );
    }
}

fn report_restart(report: &mut TranslationReport, service: &Service, role: Role) {
    let Some(restart) = service.restart else {
        return;
    };
    match (role, restart) {
        (Role::OneShot, _) => report.mapped(
            &service.name,
            "restart",
            format!("Job (restartPolicy Never, backoffLimit {ONE_SHOT_BACKOFF_LIMIT}): it runs to completion"),
        ),
        (_, RestartPolicy::Always | RestartPolicy::UnlessStopped) => report.mapped(
            &service.name,
            "restart",
            "restartPolicy Always (the only one for long-running pods)",
        ),
        (_, RestartPolicy::No | RestartPolicy::OnFailure { .. }) => report.not_mapped(
            &service.name,
            "restart",
            "a Deployment's or StatefulSet's pods always restart; no service waits for it to complete, so it is \
             not a Job",
        ),
    }
}

fn report_rest(report: &mut TranslationReport, service: &Service, role: Role) {
    if let Some(container_name) = &service.container_name {
        report.not_mapped(
            &service.name,
            "container_name",
            format!("pods are named by their controller; `{container_name}` is not a name other pods can use"),
        );
    }
    if !service.profiles.is_empty() {
        report.mapped(&service.name, "profiles", "rendered: its profile is active");
    }
    for (field, hooks) in [("post_start", &service.post_start), ("pre_stop", &service.pre_stop)] {
        if !hooks.is_empty() {
            report.not_mapped(
                &service.name,
                field,
                "not rendered: give the container a `lifecycle` hook (postStart/preStop) if the cluster needs it",
            );
        }
    }
    let custom_networks: Vec<&String> = service.networks.keys().filter(|name| *name != "default").collect();
    if !custom_networks.is_empty() {
        report.not_mapped(
            &service.name,
            "networks",
            "one namespace is one network: every pod reaches every Service (use NetworkPolicies to separate)",
        );
    }
    for (network, settings) in &service.networks {
        if !settings.aliases.is_empty() {
            report.not_mapped(
                &service.name,
                &format!("networks.{network}.aliases"),
                "only the Service name resolves; add a Service per alias if clients need it",
            );
        }
        // Every other setting of the network (an address, a priority…), by name.
        let settings = serde_json::to_value(settings).unwrap_or_default();
        for key in settings.as_object().into_iter().flat_map(|object| object.keys()) {
            if key != "aliases" {
                report.not_mapped(
                    &service.name,
                    &format!("networks.{network}.{key}"),
                    "one namespace is one network: pods get their addresses from the cluster's network",
                );
            }
        }
    }
    // The spec refuses a restarting job, so a marked job is always a Job.
    if service.kind().is_none() && service.is_marked_job() && role == Role::OneShot {
        report.mapped(
            &service.name,
            "x-flowinfra (job)",
            format!("Job (restartPolicy Never, backoffLimit {ONE_SHOT_BACKOFF_LIMIT}): a one-shot job"),
        );
    }
    if let Some(kind) = service.kind() {
        let provisions = if super::provisioning::has_provisioning(service) {
            "provisioned by the Job flowinfra-provision (see 20-provision.yaml)"
        } else {
            "nothing to provision"
        };
        report.mapped(
            &service.name,
            "x-flowinfra (kind)",
            format!("{}: {provisions}", kind.as_str()),
        );
    }
}
