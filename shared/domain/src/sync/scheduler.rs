//! The scheduler's tick: every minute, read who is due from the due index and enqueue
//! their poll jobs.
//!
//! At epoch minute `t` the tick reads, for every interval `i` of
//! [`INTERVAL_LADDER`], the [`DUE_SHARDS`] shards of slot `(i, t mod i)`: 176 queries,
//! run concurrently (bounded), whatever the number of mailboxes. It reads each distinct
//! profile of the due mailboxes once, skips what must not be polled now (profile missing
//! or inactive, circuit open, mailbox postponed), sends one probe per open circuit whose
//! probe is due, and enqueues the rest in one call to the [`PollQueue`], which batches
//! them. It writes nothing: a tick retried (EventBridge Scheduler retries a failed
//! invocation) enqueues the same deduplication ids, which the FIFO queue drops.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::ProfileId;
use crate::ports::{ConfigStore, DueEntry, DueIndex, PollQueue};
use crate::profile::{Circuit, Profile};
use crate::schedule::{DUE_SHARDS, INTERVAL_LADDER, epoch_minute, phase_at, poll_group_for};
use crate::sync::job::{PollJob, PollReason};

/// What the scheduler reads and writes through.
#[derive(Clone)]
pub struct SchedulerPorts {
    /// The due index.
    pub due: Arc<dyn DueIndex>,
    /// Profiles (read once per tick).
    pub config: Arc<dyn ConfigStore>,
    /// The poll queue.
    pub polls: Arc<dyn PollQueue>,
}

impl std::fmt::Debug for SchedulerPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerPorts").finish_non_exhaustive()
    }
}

/// Knobs of the tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// Index queries in flight at once (176 per tick in all).
    pub query_concurrency: usize,
    /// Profile reads in flight at once.
    pub profile_concurrency: usize,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        // 32 queries at ~10 ms each read the 176 slots in about 60 ms against DynamoDB;
        // more only adds throttling risk on the index's hottest partitions.
        Self {
            query_concurrency: 32,
            profile_concurrency: 16,
        }
    }
}

/// Why a due mailbox was not enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Postponed (back-off, throttling) past this minute.
    Postponed,
    /// Its profile's circuit is open: paused, not disabled.
    CircuitOpen,
    /// Its profile is inactive.
    ProfileInactive,
    /// Its profile is gone, or the entry names none.
    ProfileMissing,
    /// Its profile could not be read this tick (a store failure; the tick is incomplete).
    ProfileUnreadable,
    /// The entry lists no workload.
    NothingDue,
}

impl SkipReason {
    /// Every reason, in report order.
    pub const ALL: [SkipReason; 6] = [
        SkipReason::Postponed,
        SkipReason::CircuitOpen,
        SkipReason::ProfileInactive,
        SkipReason::ProfileMissing,
        SkipReason::ProfileUnreadable,
        SkipReason::NothingDue,
    ];

    /// The name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Postponed => "postponed",
            SkipReason::CircuitOpen => "circuit_open",
            SkipReason::ProfileInactive => "profile_inactive",
            SkipReason::ProfileMissing => "profile_missing",
            SkipReason::ProfileUnreadable => "profile_unreadable",
            SkipReason::NothingDue => "nothing_due",
        }
    }
}

/// What one tick did. Every due mailbox is counted once: `due = enqueued + failed +
/// skipped` (a probe is one of the enqueued).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// The epoch minute ticked.
    pub slot: i64,
    /// Index queries made (pages included).
    pub queries: usize,
    /// Slots that could not be read (their mailboxes wait for a retry or their next slot).
    pub query_failures: usize,
    /// Distinct profiles read.
    pub profiles_read: usize,
    /// Mailboxes found due.
    pub due: usize,
    /// Jobs the queue accepted.
    pub enqueued: usize,
    /// Jobs the queue refused after retries.
    pub failed: usize,
    /// Circuit probes among the enqueued.
    pub probes: usize,
    /// Mailboxes not enqueued, by reason.
    pub skipped: BTreeMap<SkipReason, usize>,
    /// Time spent reading the due index and the profiles, milliseconds.
    pub read_ms: u64,
    /// Time spent enqueueing, milliseconds.
    pub enqueue_ms: u64,
}

impl TickReport {
    /// Mailboxes skipped for `reason`.
    pub fn skipped(&self, reason: SkipReason) -> usize {
        self.skipped.get(&reason).copied().unwrap_or(0)
    }

    /// Mailboxes skipped for any reason.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// True when every slot and profile was read and every job enqueued; otherwise the
    /// caller should report failure so the tick is retried (safe: the queue drops what
    /// was already enqueued).
    pub fn complete(&self) -> bool {
        self.query_failures == 0
            && self.failed == 0
            && self.skipped(SkipReason::ProfileUnreadable) == 0
    }

    fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_insert(0) += 1;
    }
}

/// The due mailboxes of one minute, and how reading them went.
#[derive(Debug, Clone, Default)]
pub struct DueAt {
    /// Each due mailbox once.
    pub entries: Vec<DueEntry>,
    /// Queries made (pages included).
    pub queries: usize,
    /// Slots that failed.
    pub failures: usize,
}

/// The scheduler: [`Scheduler::run_tick`] once a minute.
#[derive(Debug, Clone)]
pub struct Scheduler {
    ports: SchedulerPorts,
    options: SchedulerOptions,
}

impl Scheduler {
    /// A scheduler over `ports`.
    pub fn new(ports: SchedulerPorts, options: SchedulerOptions) -> Self {
        Self { ports, options }
    }

    /// Every mailbox due in epoch minute `minute`: the shards of slot
    /// `(interval, minute mod interval)` for every interval of the ladder, read
    /// concurrently. A slot that fails is logged and counted, and the others still
    /// count.
    pub async fn due_at(&self, minute: i64) -> DueAt {
        let slots: Vec<(u32, u32, u32)> = INTERVAL_LADDER
            .iter()
            .flat_map(|&interval| {
                let phase = phase_at(minute, interval);
                (0..DUE_SHARDS).map(move |shard| (interval, phase, shard))
            })
            .collect();
        // The futures are built first: a closure inside the stream would make this
        // future's lifetimes too general to be `Send`.
        let reads: Vec<_> = slots
            .into_iter()
            .map(|(interval, phase, shard)| self.read_slot(interval, phase, shard))
            .collect();
        let reads: Vec<(usize, Result<Vec<DueEntry>, DomainError>)> = stream::iter(reads)
            .buffer_unordered(self.options.query_concurrency.max(1))
            .collect()
            .await;
        let mut out = DueAt::default();
        let mut seen = HashSet::new();
        for (queries, read) in reads {
            out.queries += queries;
            match read {
                Ok(entries) => out.entries.extend(
                    entries
                        .into_iter()
                        .filter(|e| seen.insert(e.mailbox_id.clone())),
                ),
                Err(_) => out.failures += 1,
            }
        }
        out
    }

    /// Every page of one slot, and how many queries that took.
    async fn read_slot(
        &self,
        interval: u32,
        phase: u32,
        shard: u32,
    ) -> (usize, Result<Vec<DueEntry>, DomainError>) {
        let mut entries = Vec::new();
        let mut next = None;
        let mut queries = 0;
        loop {
            queries += 1;
            match self
                .ports
                .due
                .due_mailboxes(interval, phase, shard, next.take())
                .await
            {
                Ok(page) => {
                    entries.extend(page.items);
                    match page.next {
                        Some(token) => next = Some(token),
                        None => return (queries, Ok(entries)),
                    }
                }
                Err(e) => {
                    tracing::error!(interval, phase, shard, error = %e, "due slot unreadable");
                    return (queries, Err(e));
                }
            }
        }
    }

    /// One tick at `now`: reads the due mailboxes of `now`'s epoch minute, builds their
    /// poll jobs, and enqueues them. `Err` only when the queue could not be reached at
    /// all; partial failures are in the report ([`TickReport::complete`]).
    pub async fn run_tick(&self, now: OffsetDateTime) -> Result<TickReport, DomainError> {
        let minute = epoch_minute(now);
        let started = std::time::Instant::now();
        let due = self.due_at(minute).await;
        let profiles = self.load_profiles(&due.entries).await;
        let read_ms = millis(started.elapsed());
        let mut report = TickReport {
            slot: minute,
            queries: due.queries,
            query_failures: due.failures,
            profiles_read: profiles.len(),
            due: due.entries.len(),
            read_ms,
            ..TickReport::default()
        };

        let mut jobs: Vec<(PollJob, String)> = Vec::with_capacity(due.entries.len());
        // Per open circuit whose probe is due: the mailbox that carries the probe (the
        // smallest id among the pollable ones, so a retried tick picks the same one).
        let mut probes: BTreeMap<ProfileId, (&DueEntry, &Profile)> = BTreeMap::new();
        for entry in &due.entries {
            let profile = match entry.profile_id.as_ref().map(|id| (id, profiles.get(id))) {
                None | Some((_, None)) | Some((_, Some(Ok(None)))) => {
                    report.skip(SkipReason::ProfileMissing);
                    continue;
                }
                Some((_, Some(Err(())))) => {
                    report.skip(SkipReason::ProfileUnreadable);
                    continue;
                }
                Some((_, Some(Ok(Some(p))))) => p,
            };
            if !profile.active {
                report.skip(SkipReason::ProfileInactive);
                continue;
            }
            if entry.workloads.is_empty() {
                report.skip(SkipReason::NothingDue);
                continue;
            }
            let postponed = entry.postponed_until.is_some_and(|until| until > now);
            if let Circuit::Open { next_probe_at, .. } = &profile.circuit {
                if *next_probe_at <= now && !postponed {
                    let slot = probes.entry(profile.id.clone()).or_insert((entry, profile));
                    if entry.mailbox_id < slot.0.mailbox_id {
                        *slot = (entry, profile);
                    }
                }
                report.skip(SkipReason::CircuitOpen);
                continue;
            }
            if postponed {
                report.skip(SkipReason::Postponed);
                continue;
            }
            jobs.push((
                PollJob {
                    mailbox_id: entry.mailbox_id.clone(),
                    workloads: entry.workloads.clone(),
                    slot: minute,
                    reason: PollReason::Scheduled,
                },
                poll_group_for(&entry.mailbox_id, profile),
            ));
        }
        for (entry, profile) in probes.into_values() {
            // The probe's mailbox was counted as skipped above; it is enqueued instead.
            if let Some(n) = report.skipped.get_mut(&SkipReason::CircuitOpen) {
                *n = n.saturating_sub(1);
            }
            report.probes += 1;
            tracing::info!(profile_id = %profile.id, mailbox_id = %entry.mailbox_id, "circuit probe enqueued");
            jobs.push((
                PollJob {
                    mailbox_id: entry.mailbox_id.clone(),
                    workloads: entry.workloads.clone(),
                    slot: minute,
                    reason: PollReason::CircuitProbe,
                },
                poll_group_for(&entry.mailbox_id, profile),
            ));
        }
        report.skipped.retain(|_, n| *n > 0);

        if !jobs.is_empty() {
            let started = std::time::Instant::now();
            let enqueued = self.ports.polls.enqueue_polls(&jobs).await?;
            report.enqueue_ms = millis(started.elapsed());
            report.enqueued = enqueued.enqueued;
            report.failed = enqueued.failed.len();
            for f in enqueued.failed.iter().take(10) {
                tracing::warn!(mailbox_id = %f.mailbox_id, code = %f.code, message = %f.message, "poll job not enqueued");
            }
        }
        tracing::info!(
            slot = report.slot,
            due = report.due,
            enqueued = report.enqueued,
            failed = report.failed,
            probes = report.probes,
            queries = report.queries,
            query_failures = report.query_failures,
            profiles = report.profiles_read,
            read_ms = report.read_ms,
            enqueue_ms = report.enqueue_ms,
            skipped_postponed = report.skipped(SkipReason::Postponed),
            skipped_circuit_open = report.skipped(SkipReason::CircuitOpen),
            skipped_profile_inactive = report.skipped(SkipReason::ProfileInactive),
            skipped_profile_missing = report.skipped(SkipReason::ProfileMissing),
            skipped_profile_unreadable = report.skipped(SkipReason::ProfileUnreadable),
            skipped_nothing_due = report.skipped(SkipReason::NothingDue),
            "scheduler tick"
        );
        Ok(report)
    }

    /// Each distinct profile of `entries`, read once (`Err(())` when the read failed; the
    /// failure is logged).
    async fn load_profiles(
        &self,
        entries: &[DueEntry],
    ) -> HashMap<ProfileId, Result<Option<Profile>, ()>> {
        let ids: HashSet<&ProfileId> = entries
            .iter()
            .filter_map(|e| e.profile_id.as_ref())
            .collect();
        let reads: Vec<_> = ids.into_iter().map(|id| self.read_profile(id)).collect();
        stream::iter(reads)
            .buffer_unordered(self.options.profile_concurrency.max(1))
            .collect()
            .await
    }

    async fn read_profile(&self, id: &ProfileId) -> (ProfileId, Result<Option<Profile>, ()>) {
        let read = self.ports.config.get_profile(id).await.map_err(|e| {
            tracing::error!(profile_id = %id, error = %e, "profile unreadable this tick");
        });
        (id.clone(), read)
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
