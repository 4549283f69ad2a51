//! Shared set-up for the integration tests: the one runner of the
//! `flowinfra` binary ([`Flowinfra`] → [`Output`]); and, for those that drive
//! the real Docker engine, connecting, the offline test images (busybox, and
//! the stand-ins of mysql, rabbitmq, redis and minio), and per-test projects
//! that clean up after themselves.
//!
//! Engine tests never skip: without a reachable engine they fail, saying so.
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

mod binary;
mod database;
mod engine_proxy;
mod images;
mod project;
pub mod remote;
mod running;
mod stack;
mod standins;

use std::future::Future;
use std::time::{Duration, Instant};

use flowinfra::engine::Engine;

#[allow(unused_imports)]
pub use binary::{Flowinfra, Output, transcript};
#[allow(unused_imports)]
pub use database::{DatabaseFiles, FLOWLITE_TABLES, flowlite_on_copies, row_counts};
#[allow(unused_imports)]
pub use engine_proxy::EngineProxy;
#[allow(unused_imports)]
pub use images::{TEST_IMAGES_PROJECT, busybox_image, forward_helper_image, import_busybox_as, sleeping_container};
pub use project::TestProject;
#[allow(unused_imports)]
pub use running::{Ended, Running};
#[allow(unused_imports)]
pub use stack::{FLOWLITE_SPEC, FlowliteStack, assert_success, stderr, stdout};
#[allow(unused_imports)]
pub use standins::{create, standin_container, standin_image};

/// Connects to the engine `DOCKER_HOST` names, or fails the test with what to do.
pub async fn engine() -> Engine {
    match Engine::connect().await {
        Ok(engine) => engine,
        Err(error) => panic!(
            "these tests need a running Docker engine: {}\n  caused by: {}\n  (start it, or point DOCKER_HOST at one)",
            error,
            std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("ephemeral port address").port()
}

/// Polls `probe` every 100 ms until it returns `Some`, failing the test
/// with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
