//! The offline stand-ins of the official mysql, rabbitmq, redis and minio
//! images, built by `scripts/build-test-images.sh` (the machines reach no
//! registry, so tests never pull).

use std::collections::BTreeMap;

use flowinfra::engine::{ContainerSpec, Engine, PortBinding, Protocol};
use flowinfra::spec::Kind;

use super::TestProject;

/// The stand-in image flowinfra's tests run for `kind` (MinIO's for s3),
/// failing the test with what to run when it has not been built.
pub async fn standin_image(engine: &Engine, kind: Kind) -> String {
    let reference = format!(
        "flowinfra-standin/{}:test",
        match kind {
            Kind::S3 => "minio",
            other => other.as_str(),
        }
    );
    let present = engine
        .inspect_image(&reference)
        .await
        .unwrap_or_else(|error| panic!("inspect the stand-in image {reference}: {error}"));
    assert!(
        present.is_some(),
        "the stand-in image {reference} is missing: build it with `scripts/build-test-images.sh` \
         (scripts/test.sh does)"
    );
    reference
}

/// A container of `service` in `project` running the stand-in of `kind`
/// with `env` and `command`, publishing the kind's port on
/// 127.0.0.1:`host_port`.
pub async fn standin_container(
    engine: &Engine,
    project: &TestProject,
    service: &str,
    kind: Kind,
    env: &[(&str, &str)],
    command: Option<&[&str]>,
    host_port: u16,
) -> ContainerSpec {
    ContainerSpec {
        name: project.container_name(service),
        project: project.name.clone(),
        service: service.to_string(),
        image: standin_image(engine, kind).await,
        labels: BTreeMap::new(),
        env: env
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        command: command.map(|args| args.iter().map(|arg| arg.to_string()).collect()),
        entrypoint: None,
        ports: vec![PortBinding {
            host_ip: "127.0.0.1".into(),
            host_port: Some(host_port),
            container_port: kind.default_port(),
            protocol: Protocol::Tcp,
        }],
        mounts: Vec::new(),
        healthcheck: None,
        restart: None,
        network: project.network(),
        aliases: vec![service.to_string()],
        hostname: None,
        options: Default::default(),
    }
}

/// Creates the project's network and the container `spec` describes,
/// without starting it; returns its ID. The [`TestProject`] removes both.
pub async fn create(engine: &Engine, project: &TestProject, spec: &ContainerSpec) -> String {
    engine
        .ensure_network(&project.network(), &project.name)
        .await
        .expect("create the project network");
    engine.create_container(spec).await.expect("create the container")
}
