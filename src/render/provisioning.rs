//! Provisioning in the cluster: what `up` applies once the kinds are ready
//! (migrations, seed, queues, buckets) becomes a Job that runs `flowinfra
//! provision` against the kinds' Services by their DNS names, after init
//! containers ran `flowinfra wait` for each of them.
//!
//! The Job reads a *provisioning spec*: a Compose file holding only the
//! kind services it provisions, their secrets as `${…}` variables the Job
//! fills from their Secrets (so no secret lands in a ConfigMap or an
//! image), their migrations and seed as paths inside the provisioner
//! image. That spec travels in a ConfigMap; the migrations and seed travel
//! in the provisioner image (a ConfigMap holds at most 1 MiB), built from
//! the Dockerfile `render` writes: the flowinfra image plus those folders.

use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PodSpec, PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value, json};

use super::environment::{ServiceEnvironment, ValueSource};
use super::names::{labels, variable_name};
use super::report::TranslationReport;
use super::workloads::{env_var, service_ports, to_value, wait_container};
use super::{Context, Refusal};
use crate::spec::{KindSettings, Service};

/// The Job's name (and its pod's container's).
pub const JOB_NAME: &str = "flowinfra-provision";
/// The ConfigMap holding the provisioning spec.
pub const SPEC_CONFIG_MAP: &str = "flowinfra-provision-spec";
/// Where the Job mounts it, and the file name inside.
pub const SPEC_DIRECTORY: &str = "/etc/flowinfra";
pub const SPEC_FILE: &str = "flowinfra.yaml";
/// Where the provisioner image holds each service's migrations and seed.
pub const IMAGE_ROOT: &str = "/provision";
/// `x-flowinfra` settings that name folders the provisioner image must carry.
const FOLDER_SETTINGS: &[&str] = &["migrations", "seed"];

/// Whether `up` applies anything to `service` once it is ready.
pub fn has_provisioning(service: &Service) -> bool {
    match service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()) {
        Some(KindSettings::Mysql(settings)) => settings.migrations.is_some() || settings.seed.is_some(),
        Some(KindSettings::Postgres(settings)) => {
            settings.migrations.is_some()
                || settings.seed.is_some()
                || settings
                    .databases
                    .iter()
                    .any(|d| d.migrations.is_some() || d.seed.is_some())
        }
        Some(KindSettings::Rabbitmq(settings)) => {
            !(settings.exchanges.is_empty() && settings.queues.is_empty() && settings.bindings.is_empty())
        }
        Some(KindSettings::S3(settings)) => !settings.buckets.is_empty(),
        Some(KindSettings::Redis(_)) | None => false,
    }
}

/// The provisioning of a stack: its objects and the provisioner image's recipe.
pub struct Provisioning {
    pub objects: Vec<Value>,
    /// The provisioning spec, as the ConfigMap carries it (YAML).
    pub spec: String,
    pub dockerfile: String,
    /// The folder `docker build` must be given: every copied folder is inside it.
    pub context: PathBuf,
    pub image: String,
}

/// `None` when no kind service has anything to provision.
pub fn render(context: &Context, report: &mut TranslationReport) -> Result<Option<Provisioning>, Vec<Refusal>> {
    let services: Vec<&Service> = context
        .spec
        .services
        .values()
        .filter(|service| has_provisioning(service))
        .collect();
    if services.is_empty() {
        return Ok(None);
    }
    let mut spec_services = Map::new();
    let mut folders: Vec<(PathBuf, String)> = Vec::new();
    let mut env = Vec::new();
    let mut init_containers = Vec::new();
    let mut refusals = Vec::new();
    for service in &services {
        let name = context.name(&service.name);
        let environment = ServiceEnvironment::of(service);
        let prefix = variable_name(&name);
        let variable = |key: &str| format!("{prefix}__{key}");
        let mut settings = serde_json::to_value(service.flowinfra.as_ref().expect("a kind service"))
            .expect("the spec model serialises");
        escape_strings(&mut settings);
        for setting in FOLDER_SETTINGS {
            let Some(folder) = service_folder(service, setting) else {
                continue;
            };
            let target = format!("{IMAGE_ROOT}/{name}/{setting}");
            settings[*setting] = Value::String(target.clone());
            if !folder.is_dir() {
                refusals.push(Refusal {
                    service: service.name.clone(),
                    problem: format!("its {setting} folder {} does not exist", folder.display()),
                    hint: format!("create it, or remove `{setting}:` from its x-flowinfra"),
                });
            }
            folders.push((folder, target));
        }
        // A postgres service's `databases:` name folders per database.
        if let Some(KindSettings::Postgres(postgres)) = service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()) {
            for (index, database) in postgres.databases.iter().enumerate() {
                for (setting, folder) in [("migrations", &database.migrations), ("seed", &database.seed)] {
                    let Some(folder) = folder else { continue };
                    let target = format!("{IMAGE_ROOT}/{name}/{}/{setting}", database.name);
                    settings["databases"][index][setting] = Value::String(target.clone());
                    if !folder.is_dir() {
                        refusals.push(Refusal {
                            service: service.name.clone(),
                            problem: format!(
                                "the {setting} folder {} of database `{}` does not exist",
                                folder.display(),
                                database.name
                            ),
                            hint: format!("create it, or remove `{setting}:` from that database"),
                        });
                    }
                    folders.push((folder.clone(), target));
                }
            }
        }
        let environment_json: Map<String, Value> = service
            .environment
            .iter()
            .map(|(key, value)| {
                let value = if environment.secret.contains_key(key) {
                    env.push(env_var(&variable(key), &name, ValueSource::Secret(key.clone())));
                    format!("${{{}}}", variable(key))
                } else {
                    value.replace('$', "$$")
                };
                (key.clone(), Value::String(value))
            })
            .collect();
        for key in &environment.argument_secrets {
            env.push(env_var(&variable(key), &name, ValueSource::Secret(key.clone())));
        }
        let mut spec_service = Map::new();
        spec_service.insert("image".into(), Value::String(service.image.replace('$', "$$")));
        if !environment_json.is_empty() {
            spec_service.insert("environment".into(), Value::Object(environment_json));
        }
        if let Some(args) = &environment.args {
            spec_service.insert(
                "command".into(),
                Value::Array(
                    args.iter()
                        .map(|arg| Value::String(compose_form(arg, &prefix)))
                        .collect(),
                ),
            );
        }
        // The loader wants a kind's port published; provisioning reaches
        // every port by the Service's DNS name, whatever is published.
        let ports: Vec<Value> = service_ports(service)
            .into_iter()
            .map(|(port, protocol)| Value::String(format!("{port}/{}", protocol.as_str())))
            .collect();
        spec_service.insert("ports".into(), Value::Array(ports));
        spec_service.insert("x-flowinfra".into(), settings);
        spec_services.insert(name.clone(), Value::Object(spec_service));
        if let Some(mut container) = wait_container(context, service) {
            container.image = Some(context.provisioner_image());
            init_containers.push(container);
        }
        report.mapped(
            &service.name,
            "x-flowinfra (provisioning)",
            format!(
                "Job {JOB_NAME}: `flowinfra provision` after `flowinfra wait {name}`{}",
                if folders
                    .iter()
                    .any(|(_, target)| target.starts_with(&format!("{IMAGE_ROOT}/{name}/")))
                {
                    format!(
                        "; its folders travel in the provisioner image {}",
                        context.provisioner_image()
                    )
                } else {
                    String::new()
                }
            ),
        );
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let spec_document = json!({ "name": context.project, "services": Value::Object(spec_services) });
    let spec = crate::report::to_yaml(&spec_document);

    let config_map = ConfigMap {
        metadata: context.metadata(SPEC_CONFIG_MAP, None),
        data: Some([(SPEC_FILE.to_string(), spec.clone())].into()),
        ..ConfigMap::default()
    };
    let job = Job {
        metadata: context.metadata(JOB_NAME, None),
        spec: Some(JobSpec {
            backoff_limit: Some(6),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&context.project, None)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    init_containers: Some(init_containers),
                    containers: vec![Container {
                        name: JOB_NAME.into(),
                        image: Some(context.provisioner_image()),
                        command: Some(vec!["flowinfra".into()]),
                        args: Some(vec![
                            "-f".into(),
                            format!("{SPEC_DIRECTORY}/{SPEC_FILE}"),
                            "provision".into(),
                        ]),
                        env: (!env.is_empty()).then_some(env),
                        volume_mounts: Some(vec![VolumeMount {
                            name: "spec".into(),
                            mount_path: SPEC_DIRECTORY.into(),
                            read_only: Some(true),
                            ..VolumeMount::default()
                        }]),
                        ..Container::default()
                    }],
                    volumes: Some(vec![Volume {
                        name: "spec".into(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: SPEC_CONFIG_MAP.into(),
                            ..ConfigMapVolumeSource::default()
                        }),
                        ..Volume::default()
                    }]),
                    restart_policy: Some("Never".into()),
                    enable_service_links: Some(false),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    let build_context = common_ancestor(
        std::iter::once(context.spec.project_dir.as_path()).chain(folders.iter().map(|(folder, _)| folder.as_path())),
    );
    let dockerfile = dockerfile(context, &build_context, &folders);
    Ok(Some(Provisioning {
        objects: vec![to_value(&config_map), to_value(&job)],
        spec,
        dockerfile,
        context: build_context,
        image: context.provisioner_image(),
    }))
}

/// The folder a kind setting names, if the service sets it.
fn service_folder(service: &Service, setting: &str) -> Option<PathBuf> {
    match (service.flowinfra.as_ref().and_then(|x| x.settings.as_ref()), setting) {
        (Some(KindSettings::Mysql(settings)), "migrations") => settings.migrations.clone(),
        (Some(KindSettings::Mysql(settings)), "seed") => settings.seed.clone(),
        (Some(KindSettings::Postgres(settings)), "migrations") => settings.migrations.clone(),
        (Some(KindSettings::Postgres(settings)), "seed") => settings.seed.clone(),
        _ => None,
    }
}

fn dockerfile(context: &Context, build_context: &Path, folders: &[(PathBuf, String)]) -> String {
    let mut text = format!(
        "# The provisioner image of project {project}: the flowinfra image with the\n\
         # migrations and seeds its Job applies (written by `flowinfra render kubernetes`).\n\
         # Build it from the folder holding them, then push it where the cluster pulls from:\n\
         #   docker build -f provisioner.Dockerfile -t {image} <context>\n\
         # where <context> is the folder named below (relative paths are relative to it).\n\
         # context: {context}\n\
         ARG FLOWINFRA_IMAGE={flowinfra}\n\
         FROM ${{FLOWINFRA_IMAGE}}\n",
        project = context.project,
        image = context.provisioner_image(),
        flowinfra = context.options.flowinfra_image,
        context = context.display_path(build_context),
    );
    for (folder, target) in folders {
        let relative = folder.strip_prefix(build_context).unwrap_or(folder);
        let source = serde_json::to_string(&relative.to_string_lossy().replace('\\', "/")).expect("strings serialise");
        let target = serde_json::to_string(&format!("{target}/")).expect("strings serialise");
        text.push_str(&format!("COPY [{source}, {target}]\n"));
    }
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n") + "\n"
}

/// The deepest folder holding every one of `paths`.
fn common_ancestor<'a>(paths: impl Iterator<Item = &'a Path>) -> PathBuf {
    let mut ancestor: Option<PathBuf> = None;
    for path in paths {
        ancestor = Some(match ancestor {
            None => path.to_path_buf(),
            Some(current) => current
                .ancestors()
                .find(|candidate| path.starts_with(candidate))
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        });
    }
    ancestor.unwrap_or_default()
}

/// An argument in Kubernetes form (`$(KEY)` a secret, `$$` a dollar) in
/// Compose form: `${PREFIX__KEY}`, and `$$` stays a dollar.
fn compose_form(argument: &str, prefix: &str) -> String {
    let mut out = String::new();
    let mut rest = argument;
    while let Some(index) = rest.find('$') {
        out.push_str(&rest[..index]);
        let after = &rest[index + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str("$$");
            rest = tail;
        } else if let Some((key, tail)) = after.strip_prefix('(').and_then(|inner| inner.split_once(')')) {
            out.push_str(&format!("${{{prefix}__{key}}}"));
            rest = tail;
        } else {
            out.push_str("$$");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Every string in `value` escaped for Compose interpolation (`$` → `$$`).
fn escape_strings(value: &mut Value) {
    match value {
        Value::String(text) => *text = text.replace('$', "$$"),
        Value::Array(items) => items.iter_mut().for_each(escape_strings),
        Value::Object(entries) => entries.values_mut().for_each(escape_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_arguments_become_compose_arguments() {
        assert_eq!(compose_form("--requirepass", "REDIS"), "--requirepass");
        assert_eq!(compose_form("$(REQUIREPASS)", "REDIS"), "${REDIS__REQUIREPASS}");
        assert_eq!(compose_form("a$$b$$(X)", "R"), "a$$b$$(X)");
    }

    #[test]
    fn the_build_context_holds_every_folder() {
        let paths = [
            Path::new("/repo/compose"),
            Path::new("/repo/migrations"),
            Path::new("/repo/seeds"),
        ];
        assert_eq!(common_ancestor(paths.into_iter()), PathBuf::from("/repo"));
        assert_eq!(
            common_ancestor([Path::new("/repo/x")].into_iter()),
            PathBuf::from("/repo/x")
        );
    }
}
