//! [`EngineProxy`]: the Docker engine's unix socket forwarded to a TCP port
//! on 127.0.0.1, so a flowinfra run with `DOCKER_HOST=tcp://127.0.0.1:PORT`
//! can lose its engine mid-run ([`EngineProxy::cut`]: listener closed, every
//! open connection dropped) and find it again ([`EngineProxy::restore`], same
//! port). It runs on a runtime of its own, so it keeps forwarding while the
//! test blocks on a child process.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UnixStream};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// Where the engine listens on these machines.
const ENGINE_SOCKET: &str = "/var/run/docker.sock";

pub struct EngineProxy {
    runtime: Option<Runtime>,
    port: u16,
    /// The accept loop and every forwarding task: aborting them all cuts the engine off.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl EngineProxy {
    /// Listens on a free loopback port and forwards each connection to the engine's socket.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("start the proxy's runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy's port");
        let port = listener.local_addr().expect("proxy address").port();
        let proxy = Self {
            runtime: Some(runtime),
            port,
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    /// `tcp://127.0.0.1:PORT`, for `DOCKER_HOST`.
    pub fn address(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// The engine vanishes: new connections are refused, open ones are dropped.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The engine is back on the same address.
    pub fn restore(&self) {
        // The aborted accept loop closes the old listener on the proxy's own thread: retry until it has.
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match std::net::TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                Err(error) => panic!("bind the proxy's port {} again: {error}", self.port),
            }
        };
        self.serve(listener);
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("the runtime lives until drop")
    }

    /// Accepts on `listener` (a std listener: this may be called from inside
    /// the test's own runtime, where another runtime cannot block).
    fn serve(&self, listener: std::net::TcpListener) {
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let tasks = self.tasks.clone();
        let runtime = self.runtime().handle().clone();
        let accept = self.runtime().spawn(async move {
            let listener = TcpListener::from_std(listener).expect("register the listener");
            while let Ok((mut client, _)) = listener.accept().await {
                let forward = runtime.spawn(async move {
                    if let Ok(mut engine) = UnixStream::connect(ENGINE_SOCKET).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
                tasks.lock().unwrap().push(forward);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.cut();
        // Dropping a runtime may block, which an async test forbids; this does not.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
