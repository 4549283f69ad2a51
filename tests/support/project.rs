//! [`TestProject`]: a unique project name per test, and a guard that removes
//! everything labelled with it when the test ends, passed or failed.

use flowinfra::engine::Engine;

/// A project of one test. Dropping it removes the project's containers,
/// networks and volumes.
pub struct TestProject {
    pub name: String,
}

impl TestProject {
    /// A project named after the test and this process, so parallel tests
    /// and concurrent runs never share objects.
    pub fn new(test: &str) -> Self {
        Self {
            name: format!("ft-{}-{}", test.replace('_', "-"), std::process::id()),
        }
    }

    /// A project named exactly `name`, for a test whose output must not
    /// depend on the name's length (snapshots of aligned tables); the
    /// caller keeps it unique, e.g. with the process ID.
    pub fn named(name: String) -> Self {
        Self { name }
    }

    /// `<project>-<service>-1`, as the commands name containers.
    pub fn container_name(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    pub fn network(&self) -> String {
        format!("{}_default", self.name)
    }

    pub fn volume(&self, name: &str) -> String {
        format!("{}_{name}", self.name)
    }
}

impl Drop for TestProject {
    fn drop(&mut self) {
        let project = self.name.clone();
        // Drop cannot await, and may run inside the test's runtime: clean up
        // on a thread of its own with a runtime of its own.
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(remove_project(&project))
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("cleaning up test project {}: {error:#}", self.name),
            Err(_) => eprintln!("cleaning up test project {} panicked", self.name),
        }
    }
}

async fn remove_project(project: &str) -> anyhow::Result<()> {
    let engine = Engine::connect().await?;
    for container in engine.list_containers(project).await? {
        engine.remove_container(&container.id).await?;
    }
    for network in engine.list_networks(project).await? {
        engine.remove_network(&network).await?;
    }
    for volume in engine.list_volumes(project).await? {
        engine.remove_volume(&volume).await?;
    }
    Ok(())
}
