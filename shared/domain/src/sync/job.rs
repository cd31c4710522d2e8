//! Poll jobs: what the scheduler (and the event-driven enqueues) hand the sync worker
//! through the FIFO poll queue.
//!
//! A job names the mailbox and the workloads due; the worker loads everything else
//! itself, so a job never carries state that could be stale. Two ids make the queue do
//! the engine's bookkeeping: the deduplication id `<mailbox id>:<slot>` (a slot is
//! enqueued once, however often the tick runs) and the message group
//! ([`crate::schedule::poll_group`]), which bounds how many of a profile's mailboxes are
//! synced at once.

use crate::ids::MailboxId;
use crate::mailbox::Workload;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Why a mailbox is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollReason {
    /// Its due slot came up (the scheduler's tick).
    Scheduled,
    /// An email was queued for sending from it (Pending Send).
    SendRequested,
    /// Test & Enable enabled workloads on it.
    TestAndEnable,
    /// It was made active again.
    Reenabled,
    /// Its profile's circuit is open and a probe is due: this job checks whether Exchange
    /// answers again.
    CircuitProbe,
}

impl PollReason {
    /// The name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            PollReason::Scheduled => "scheduled",
            PollReason::SendRequested => "send_requested",
            PollReason::TestAndEnable => "test_and_enable",
            PollReason::Reenabled => "reenabled",
            PollReason::CircuitProbe => "circuit_probe",
        }
    }
}

/// One poll of one mailbox, as a message on the poll queue (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollJob {
    /// The mailbox to poll.
    pub mailbox_id: MailboxId,
    /// The workloads to run, as the scheduler saw them; the worker checks them again
    /// against the mailbox it loads.
    pub workloads: Vec<Workload>,
    /// The slot: the epoch minute of a scheduled tick ([`crate::schedule::epoch_minute`]),
    /// or for an event-driven job the epoch second of the event ([`event_slot`]), so it
    /// is never deduplicated against the tick.
    pub slot: i64,
    /// Why.
    pub reason: PollReason,
}

impl PollJob {
    /// The FIFO deduplication id: `<mailbox id>:<slot>`. The same slot enqueued twice
    /// (a tick retried, two schedulers) is delivered once.
    pub fn dedup_id(&self) -> String {
        format!("{}:{}", self.mailbox_id, self.slot)
    }
}

/// The slot of an event-driven job: the epoch second of the event. A tick's slots are
/// epoch minutes (about 29 million today), event slots epoch seconds (about 1.7 billion),
/// so the two never collide.
pub fn event_slot(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_json_with_snake_case_names() {
        let job = PollJob {
            mailbox_id: MailboxId::parse("m-1").unwrap(),
            workloads: vec![Workload::Incoming, Workload::Outgoing],
            slot: 29_000_000,
            reason: PollReason::CircuitProbe,
        };
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "mailbox_id": "m-1",
                "workloads": ["incoming", "outgoing"],
                "slot": 29_000_000,
                "reason": "circuit_probe",
            })
        );
        assert_eq!(serde_json::from_value::<PollJob>(json).unwrap(), job);
    }

    #[test]
    fn the_dedup_id_is_mailbox_and_slot() {
        let job = PollJob {
            mailbox_id: MailboxId::parse("m-1").unwrap(),
            workloads: vec![Workload::Incoming],
            slot: 42,
            reason: PollReason::Scheduled,
        };
        assert_eq!(job.dedup_id(), "m-1:42");
    }
}
