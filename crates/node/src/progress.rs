//! A progress bar while a node catches up with the chain (it was down, or
//! starts with an empty data directory), and log lines saying so, for
//! whoever reads the logs instead of a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Below this many missing blocks a node is simply following, not catching up.
const BEHIND_MIN: u64 = 20;
/// How often a log line reports the progress.
const LOG_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct CatchUp {
    bar: Option<ProgressBar>,
    started: Option<(Instant, u64)>,
    last_log: Option<Instant>,
}

impl CatchUp {
    /// The node holds blocks up to `height`; the chain is known to reach `tip`.
    pub fn update(&mut self, height: u64, tip: u64) {
        if self.bar.is_none() {
            if tip < height + BEHIND_MIN {
                return;
            }
            let bar = ProgressBar::new(tip);
            bar.set_style(
                ProgressStyle::with_template(
                    "catching up {bar:30} block {pos}/{len} ({per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(height);
            tracing::info!(height, tip, "catching up: fetching and verifying blocks");
            self.bar = Some(bar);
            self.started = Some((Instant::now(), height));
            self.last_log = Some(Instant::now());
        }
        let Some(bar) = &self.bar else { return };
        bar.set_length(tip.max(height));
        bar.set_position(height);
        if height >= tip {
            bar.finish_and_clear();
            let (since, from) = self.started.unwrap_or((Instant::now(), height));
            tracing::info!(
                height,
                blocks = height - from,
                seconds = since.elapsed().as_secs_f32(),
                "caught up"
            );
            *self = CatchUp::default();
        } else if self.last_log.is_some_and(|at| at.elapsed() >= LOG_EVERY) {
            tracing::info!(height, tip, "catching up");
            self.last_log = Some(Instant::now());
        }
    }
}
