//! Named volumes, labelled with the project so `down -v` finds them again.

use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;

use super::{Engine, EngineError, LABEL_PROJECT, is_not_found};

/// How a volume is created: its driver (`local` when `None`) and the driver's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeOptions {
    pub driver: Option<String>,
    pub driver_opts: std::collections::BTreeMap<String, String>,
}

impl Engine {
    /// Creates the volume `name`, labelled with `project`. Creating a volume
    /// that exists is a no-op for the engine (its labels stay as they were).
    pub async fn ensure_volume(&self, name: &str, project: &str) -> Result<(), EngineError> {
        self.ensure_volume_with(name, project, &VolumeOptions::default()).await
    }

    /// [`Engine::ensure_volume`] with a driver and its options (Compose's `driver`, `driver_opts`).
    pub async fn ensure_volume_with(
        &self,
        name: &str,
        project: &str,
        options: &VolumeOptions,
    ) -> Result<(), EngineError> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(HashMap::from([(LABEL_PROJECT.to_string(), project.to_string())])),
            driver: options.driver.clone(),
            driver_opts: (!options.driver_opts.is_empty()).then(|| options.driver_opts.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|source| self.api_error("create volume", name, source))?;
        Ok(())
    }

    /// Names of the volumes labelled with `project`, sorted.
    pub async fn list_volumes(&self, project: &str) -> Result<Vec<String>, EngineError> {
        let options = bollard::query_parameters::ListVolumesOptionsBuilder::new()
            .filters(&super::project_filter(project))
            .build();
        let response = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|source| self.api_error("list the volumes of project", project, source))?;
        let mut names: Vec<String> = response
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|volume| volume.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Removes the volume `name`; `false` when there was none. A volume still
    /// used by a container is an error, never removed by force.
    pub async fn remove_volume(&self, name: &str) -> Result<bool, EngineError> {
        let options = bollard::query_parameters::RemoveVolumeOptionsBuilder::new()
            .force(false)
            .build();
        match self.docker.remove_volume(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(error) if is_not_found(&error) => Ok(false),
            Err(source) => Err(self.api_error("remove volume", name, source)),
        }
    }
}
