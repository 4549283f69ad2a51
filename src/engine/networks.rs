//! Project networks: one bridge network per project, labelled with the
//! project, on which services reach each other by service name.

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;

use super::{Engine, EngineError, LABEL_PROJECT, is_not_found};

/// How a project network is created (Compose's `driver`, `internal`,
/// `enable_ipv6`, `attachable`, `driver_opts`, `ipam`); the default is a
/// plain bridge network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkOptions {
    /// `bridge` when `None`.
    pub driver: Option<String>,
    pub internal: bool,
    pub enable_ipv6: bool,
    pub attachable: bool,
    pub driver_opts: std::collections::BTreeMap<String, String>,
    pub ipam: Option<IpamOptions>,
}

/// A network's address management: its driver, address pools and options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamOptions {
    pub driver: Option<String>,
    pub pools: Vec<IpamPoolOptions>,
    pub options: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamPoolOptions {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: std::collections::BTreeMap<String, String>,
}

impl Engine {
    /// [`Engine::ensure_network_with`] a plain bridge network.
    pub async fn ensure_network(&self, name: &str, project: &str) -> Result<(), EngineError> {
        self.ensure_network_with(name, project, &NetworkOptions::default())
            .await
    }

    /// Creates the bridge network `name`, labelled with `project`, unless a
    /// network of that name exists already.
    ///
    /// Engines before API 1.44 accept two networks with the same name when
    /// created concurrently; callers serialise `up` with the project lock, so
    /// this checks and creates without further locking.
    pub async fn ensure_network_with(
        &self,
        name: &str,
        project: &str,
        options: &NetworkOptions,
    ) -> Result<(), EngineError> {
        match self.docker.inspect_network(name, None).await {
            Ok(network) => {
                let owner = network.labels.as_ref().and_then(|labels| labels.get(LABEL_PROJECT));
                if owner.map(String::as_str) != Some(project) {
                    // Usable all the same: containers only need to join it.
                    tracing::warn!(
                        network = name,
                        project,
                        "network exists but is not labelled as this project's"
                    );
                }
                return Ok(());
            }
            Err(error) if is_not_found(&error) => {}
            Err(source) => {
                return Err(self.api_error("inspect network", name, source));
            }
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some(options.driver.clone().unwrap_or_else(|| "bridge".to_string())),
            labels: Some(HashMap::from([(LABEL_PROJECT.to_string(), project.to_string())])),
            internal: options.internal.then_some(true),
            enable_ipv6: options.enable_ipv6.then_some(true),
            attachable: options.attachable.then_some(true),
            options: (!options.driver_opts.is_empty()).then(|| options.driver_opts.clone().into_iter().collect()),
            ipam: options.ipam.as_ref().map(|ipam| bollard::models::Ipam {
                driver: ipam.driver.clone(),
                config: Some(
                    ipam.pools
                        .iter()
                        .map(|pool| bollard::models::IpamConfig {
                            subnet: pool.subnet.clone(),
                            ip_range: pool.ip_range.clone(),
                            gateway: pool.gateway.clone(),
                            auxiliary_addresses: (!pool.aux_addresses.is_empty())
                                .then(|| pool.aux_addresses.clone().into_iter().collect()),
                        })
                        .collect(),
                ),
                options: (!ipam.options.is_empty()).then(|| ipam.options.clone().into_iter().collect()),
            }),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|source| self.api_error("create network", name, source))?;
        tracing::debug!(network = name, "created network");
        Ok(())
    }

    /// Connects container `id` to the network `network` with `aliases` and
    /// the endpoint's addresses (a container joins its first network when
    /// created; engines before API 1.44 take no more at creation).
    pub async fn connect_network(
        &self,
        network: &str,
        id: &str,
        aliases: &[String],
        endpoint: &super::EndpointOptions,
    ) -> Result<(), EngineError> {
        let request = bollard::models::NetworkConnectRequest {
            container: id.to_string(),
            endpoint_config: Some(super::containers::endpoint_settings(aliases, endpoint, None)),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(|source| self.api_error("connect to network", network, source))
    }

    /// Removes the network `name`; `false` when there was none.
    pub async fn remove_network(&self, name: &str) -> Result<bool, EngineError> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(true),
            Err(error) if is_not_found(&error) => Ok(false),
            Err(source) => Err(self.api_error("remove network", name, source)),
        }
    }

    /// Names of the networks labelled with `project`.
    pub async fn list_networks(&self, project: &str) -> Result<Vec<String>, EngineError> {
        let options = bollard::query_parameters::ListNetworksOptionsBuilder::new()
            .filters(&super::project_filter(project))
            .build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|source| self.api_error("list the networks of project", project, source))?;
        let mut names: Vec<String> = networks.into_iter().filter_map(|network| network.name).collect();
        names.sort();
        Ok(names)
    }
}
