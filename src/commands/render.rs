//! `flowinfra render kubernetes`: the manifests on stdout or in a folder,
//! the translation report and the next steps on stderr.

use std::path::Path;

use anyhow::Context;

use crate::cli::{GlobalArgs, KubernetesArgs, RenderArgs, RenderTarget};
use crate::error::{EXIT_OK, UsageError};
use crate::render::{self, DOCKERFILE_NAME, REPORT_NAME, RenderOptions, Rendered};
use crate::report::Printer;

pub fn run(global: &GlobalArgs, args: &RenderArgs, printer: &Printer) -> anyhow::Result<u8> {
    match &args.target {
        RenderTarget::Kubernetes(args) => kubernetes(global, args, printer),
    }
}

fn kubernetes(global: &GlobalArgs, args: &KubernetesArgs, printer: &Printer) -> anyhow::Result<u8> {
    let loaded = super::load_spec(global, printer)?;
    let options = RenderOptions {
        namespace: args.namespace.clone(),
        flowinfra_image: args.image.clone(),
        provisioner_image: args.provisioner_image.clone(),
        storage: args.storage.clone(),
        working_dir: std::env::current_dir().context("cannot read the current directory")?,
    };
    let rendered = render::kubernetes(&loaded.spec, &options).map_err(|refused| UsageError {
        message: refused.to_string(),
        hint: Some("`flowinfra render kubernetes` renders what a cluster can run; change these services, or render from a spec without them".into()),
    })?;
    match &args.output {
        Some(directory) => write_directory(directory, &rendered)?,
        None => printer.data(&rendered.to_multi_document_yaml()),
    }
    printer.info(&format!(
        "Translation report (namespace {}):\n{}",
        rendered.namespace, rendered.report
    ));
    if !rendered.port_forwards.is_empty() {
        printer.info(&format!(
            "Reach the published ports from this machine:\n{}\n",
            rendered
                .port_forwards
                .iter()
                .map(|line| format!("  {line}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    if let Some(provisioner) = &rendered.provisioner {
        let dockerfile = match &args.output {
            Some(directory) => directory.join(DOCKERFILE_NAME).display().to_string(),
            None => format!("{DOCKERFILE_NAME} (written with --output DIR)"),
        };
        printer.info(&format!(
            "The provisioning Job runs the image {image}: build it from {dockerfile} and push it where the cluster pulls from:\n  \
             docker build -f {dockerfile_path} -t {image} {context}\n  docker push {image}",
            image = provisioner.image,
            dockerfile_path = args
                .output
                .as_ref()
                .map_or(DOCKERFILE_NAME.to_string(), |d| d.join(DOCKERFILE_NAME).display().to_string()),
            context = display(&provisioner.context),
        ));
    }
    Ok(EXIT_OK)
}

/// Writes every manifest file, the report and the Dockerfile into
/// `directory`, first removing manifests an earlier render wrote there
/// (a removed service must not be applied again).
fn write_directory(directory: &Path, rendered: &Rendered) -> anyhow::Result<()> {
    std::fs::create_dir_all(directory).with_context(|| format!("cannot create {}", directory.display()))?;
    let entries = std::fs::read_dir(directory).with_context(|| format!("cannot read {}", directory.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.ends_with(".yaml")
            && name
                .as_bytes()
                .get(..3)
                .is_some_and(|p| p[0].is_ascii_digit() && p[1].is_ascii_digit() && p[2] == b'-')
            && std::fs::read_to_string(&path)
                .is_ok_and(|text| text.contains("app.kubernetes.io/managed-by: flowinfra"));
        if ours {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove the stale {}", path.display()))?;
        }
    }
    let write = |name: &str, text: &str| {
        let path = directory.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    for file in &rendered.files {
        write(&file.name, &file.to_yaml())?;
    }
    write(REPORT_NAME, &rendered.report.to_string())?;
    if let Some(provisioner) = &rendered.provisioner {
        write(DOCKERFILE_NAME, &provisioner.dockerfile)?;
    }
    Ok(())
}

/// A path relative to the current directory when inside it.
fn display(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|dir| path.strip_prefix(dir).ok().map(Path::to_path_buf));
    match relative {
        Some(relative) if relative.as_os_str().is_empty() => ".".into(),
        Some(relative) => relative.display().to_string(),
        None => path.display().to_string(),
    }
}
