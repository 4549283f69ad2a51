//! Per-service progress of long commands (`up`): on a terminal, one live
//! line per service with its elapsed time (indicatif); elsewhere (CI, pipes),
//! plain lines stamped with the time since the command started.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug)]
pub struct Progress {
    started: Instant,
    live: Option<Live>,
}

#[derive(Debug)]
struct Live {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Progress {
    pub fn new(live: bool) -> Arc<Self> {
        let live = live.then(|| Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(BTreeMap::new()),
        });
        Arc::new(Self {
            started: Instant::now(),
            live,
        })
    }

    /// Reports that `service` is now doing `status` (`creating`, `waiting for readiness`, …).
    pub fn step(&self, service: &str, status: &str) {
        match &self.live {
            Some(live) => {
                let mut bars = live.bars.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let bar = bars.entry(service.to_string()).or_insert_with(|| {
                    let bar = live.multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:<10} {msg} ({elapsed})")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(service.to_string());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(status.to_string());
            }
            None => eprintln!("[{:>6.1}s] {service}: {status}", self.started.elapsed().as_secs_f64()),
        }
    }

    /// Ends a service's live line with its final status.
    pub fn finish(&self, service: &str, status: &str) {
        match &self.live {
            Some(live) => {
                let bars = live.bars.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Some(bar) = bars.get(service) {
                    bar.set_style(
                        ProgressStyle::with_template("  {prefix:<10} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.finish_with_message(status.to_string());
                } else {
                    let _ = live.multi.println(format!("  {service:<10} {status}"));
                }
            }
            None => self.step(service, status),
        }
    }
}
