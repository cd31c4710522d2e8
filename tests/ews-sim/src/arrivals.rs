//! Mail that keeps arriving: each of the configuration's `arrivals` streams delivers the next
//! message of its list into a mailbox's Inbox every period, so a demo shows new mail being
//! picked up without anyone sending it. See [`crate::config::ArrivalConfig`] for what a
//! delivery looks like.
//!
//! One task per stream runs on the simulator's runtime and stops when the simulator's shutdown
//! signal changes (the [`crate::SimHandle`] is dropped). Pausing skips deliveries without
//! queueing them up: after a resume the stream goes on at its next period.

use crate::config::{ArrivalConfig, ArrivalMessage, SimConfig};
use crate::ews::{Exchange, IncomingMessage};
use crate::server::Shared;
use crate::store::{EmailAddress, ItemId, StoreError};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The arrival streams and their progress.
#[derive(Debug)]
pub(crate) struct Arrivals {
    paused: AtomicBool,
    streams: Vec<Stream>,
}

#[derive(Debug)]
struct Stream {
    /// The receiving mailbox, with its display name for the To line.
    to: EmailAddress,
    every_seconds: f64,
    messages: Vec<ArrivalMessage>,
    /// Deliveries so far; only the stream's own task advances it.
    delivered: AtomicU64,
}

/// Where the arrival streams stand (`GET /sim/arrivals`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrivalsStatus {
    /// Whether deliveries are paused.
    pub paused: bool,
    /// Messages delivered by all streams together.
    pub delivered: u64,
    /// Each stream, in configuration order.
    pub streams: Vec<ArrivalStreamStatus>,
}

/// One arrival stream's progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrivalStreamStatus {
    /// The receiving mailbox.
    pub to: String,
    /// Its period.
    pub every_seconds: f64,
    /// How many different messages it cycles through.
    pub messages: usize,
    /// Messages it has delivered.
    pub delivered: u64,
}

impl Arrivals {
    /// The streams of a (validated) configuration, not yet running.
    pub(crate) fn from_config(cfg: &SimConfig) -> Self {
        let streams = cfg
            .arrivals
            .iter()
            .map(|a: &ArrivalConfig| {
                let name = cfg
                    .mailboxes
                    .iter()
                    .find(|m| m.smtp.eq_ignore_ascii_case(&a.to))
                    .map(|m| m.display_name.clone());
                Stream {
                    to: EmailAddress {
                        name,
                        address: a.to.clone(),
                    },
                    every_seconds: a.every_seconds,
                    messages: a.messages.clone(),
                    delivered: AtomicU64::new(0),
                }
            })
            .collect();
        Self {
            paused: AtomicBool::new(false),
            streams,
        }
    }

    /// How many streams there are.
    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }

    /// Stops deliveries until [`Arrivals::resume`].
    pub(crate) fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Lets deliveries go on.
    pub(crate) fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    pub(crate) fn status(&self) -> ArrivalsStatus {
        let streams: Vec<ArrivalStreamStatus> = self
            .streams
            .iter()
            .map(|s| ArrivalStreamStatus {
                to: s.to.address.clone(),
                every_seconds: s.every_seconds,
                messages: s.messages.len(),
                delivered: s.delivered.load(Ordering::SeqCst),
            })
            .collect();
        ArrivalsStatus {
            paused: self.paused.load(Ordering::SeqCst),
            delivered: streams.iter().map(|s| s.delivered).sum(),
            streams,
        }
    }

    /// Delivers stream `index`'s next message now (received now, a fresh Message-ID, its
    /// sequence number in the subject).
    fn deliver_next(&self, index: usize, exchange: &Exchange) -> Result<ItemId, StoreError> {
        let Some(stream) = self.streams.get(index) else {
            return Err(StoreError::InvalidValue {
                field: "arrival stream",
                value: index.to_string(),
            });
        };
        let Some(len) = std::num::NonZeroUsize::new(stream.messages.len()) else {
            // Refused by SimConfig::validate; nothing to deliver either way.
            return Err(StoreError::InvalidValue {
                field: "arrival messages",
                value: "(empty)".into(),
            });
        };
        let sequence = stream.delivered.load(Ordering::SeqCst) + 1;
        // The remainder is below len, so it fits a usize whatever the counter's width.
        let slot = usize::try_from((sequence - 1) % len.get() as u64).unwrap_or(0);
        let message = &stream.messages[slot];
        let id = exchange.deliver(
            &stream.to.address,
            IncomingMessage {
                from: EmailAddress {
                    name: message.from_name.clone(),
                    address: message.from.clone(),
                },
                to: vec![stream.to.clone()],
                subject: format!("{} (#{sequence})", message.subject),
                body_text: message.body.clone(),
                ..IncomingMessage::default()
            },
        )?;
        stream.delivered.store(sequence, Ordering::SeqCst);
        Ok(id)
    }
}

/// Runs stream `index` until `shutdown` changes.
pub(crate) async fn run(shared: Arc<Shared>, index: usize, mut shutdown: watch::Receiver<bool>) {
    let Some(stream) = shared.arrivals.streams.get(index) else {
        return;
    };
    let Ok(period) = Duration::try_from_secs_f64(stream.every_seconds) else {
        tracing::warn!(to = %stream.to.address, "arrival period unusable; stream not started");
        return;
    };
    let to = stream.to.address.clone();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    // A simulator stalled for a while (a debugger, a loaded machine) goes on at its pace
    // instead of delivering a burst of the missed messages.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        if shared.arrivals.paused.load(Ordering::SeqCst) {
            continue;
        }
        match shared.arrivals.deliver_next(index, &shared.exchange) {
            Ok(id) => tracing::debug!(%to, item = %id, "arrival delivered"),
            Err(e) => tracing::warn!(%to, error = %e, "arrival not delivered"),
        }
    }
}
