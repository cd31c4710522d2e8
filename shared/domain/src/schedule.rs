//! Scheduling rules: when a mailbox is polled, and which poll group it is polled in.
//!
//! exsync's target is that an idle poll costs one EWS call and no DynamoDB write. So the
//! schedule is not a "next run" timestamp rewritten after every poll: a mailbox sits on
//! time slots of a fixed interval (`docs/data-model.md`, "Scheduling without a write per
//! poll"), and the scheduler reads who is due in the current minute from an index. The
//! mailbox is rewritten only when what places it on that index changes: its interval, the
//! workloads due, its poll group, its postponement. [`refresh_schedule`] computes those and
//! says whether anything changed, so callers write only then.
//!
//! The interval adapts to mail flow ([`adaptive_interval`]): a mailbox that just received
//! mail is polled at the org's active polling interval (5 minutes unless the org changes
//! it); one idle for a day every 30. The profile's minimum polling interval always wins.

use crate::ids::MailboxId;
use crate::mailbox::{Mailbox, Workload, WorkloadStatus};
use crate::org::OrgSettings;
use crate::profile::{CredentialsLocation, Profile};
use time::{Duration, OffsetDateTime};

/// The polling intervals (minutes) a mailbox can be scheduled at. Few values keep the
/// scheduler's per-minute reads bounded: one query per interval and shard, so
/// `11 × 16 = 176` queries a minute whatever the number of mailboxes.
pub const INTERVAL_LADDER: [u32; 11] = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440];

/// Shards per due slot: one slot's mailboxes are read by this many parallel queries
/// instead of one long one.
pub const DUE_SHARDS: u32 = 16;

/// How long after the last mail a mailbox counts as active: polled at the org's active
/// polling interval ([`crate::org::OrgSettings::active_polling_interval_minutes`]).
pub const ACTIVE_WINDOW: Duration = Duration::hours(1);

/// The idle curve past [`ACTIVE_WINDOW`]: how long since mail last flowed → the interval
/// (minutes) it asks for. Each row applies while the idle time is below its bound; past
/// the last row the interval is [`IDLE_CAP_MINUTES`]. No row is faster than the active
/// interval.
pub const IDLE_CURVE: [(Duration, u32); 2] = [(Duration::hours(6), 10), (Duration::hours(24), 15)];

/// The interval a mailbox idle for a day or more is polled at (unless the profile's
/// minimum or the org's active polling interval is larger).
pub const IDLE_CAP_MINUTES: u32 = 30;

/// The ladder value at or above `minutes` (a profile's minimum may be 0 or between rungs);
/// the top rung (a day) for anything above it.
pub fn ladder_interval(minutes: u32) -> u32 {
    INTERVAL_LADDER
        .iter()
        .copied()
        .find(|&rung| rung >= minutes)
        .unwrap_or(INTERVAL_LADDER[INTERVAL_LADDER.len() - 1])
}

/// The interval the idle curve asks for after `idle` without mail, when the org polls
/// mailboxes with recent mail every `active` minutes (a negative idle time, from clock
/// skew, counts as none).
pub fn idle_interval(idle: Duration, active: u32) -> u32 {
    let curve = if idle < ACTIVE_WINDOW {
        active
    } else {
        IDLE_CURVE
            .iter()
            .find(|(bound, _)| idle < *bound)
            .map_or(IDLE_CAP_MINUTES, |&(_, minutes)| minutes)
    };
    curve.max(active)
}

/// The polling interval of a mailbox, in minutes: the smallest ladder value at or above
/// both the profile's minimum polling interval and the idle curve ([`idle_interval`]: since
/// the last mail < 1 h → the org's active polling interval (5 by default), < 6 h → 10,
/// < 24 h → 15, otherwise 30; never faster than the active interval).
///
/// Idle time counts from `last_activity` (the last time mail flowed), or from `created`
/// for a mailbox that has seen none yet, so a newly enabled mailbox starts at the active
/// interval and slows down only once it has proved quiet.
pub fn adaptive_interval(
    profile: &Profile,
    org: &OrgSettings,
    last_activity: Option<OffsetDateTime>,
    created: OffsetDateTime,
    now: OffsetDateTime,
) -> u32 {
    let since = last_activity.unwrap_or(created);
    let curve = idle_interval(now - since, org.active_polling_interval_minutes.max(1));
    ladder_interval(curve.max(profile.min_polling_interval_minutes))
}

/// The workloads the scheduler polls a mailbox for; empty means the mailbox is not
/// schedulable. A workload is due when the mailbox is active, on an active profile (the
/// one given, which must be the mailbox's), approved where the org requires approval for
/// its kind (user or queue), enabled, and delivered by server-side synchronization.
///
/// The profile's circuit and the mailbox's postponement are deliberately not checked
/// here: they change without the mailbox being rewritten, so the scheduler checks them at
/// each tick.
pub fn due_workloads(
    mailbox: &Mailbox,
    profile: Option<&Profile>,
    org: &OrgSettings,
) -> Vec<Workload> {
    let Some(profile) = profile else {
        return Vec::new();
    };
    if !mailbox.active
        || !profile.active
        || mailbox.profile_id.as_ref() != Some(&profile.id)
        || mailbox.awaits_approval(org)
    {
        return Vec::new();
    }
    Workload::ALL
        .into_iter()
        .filter(|&w| mailbox.workload(w).enabled && mailbox.uses_server_side_sync(w))
        .collect()
}

/// Recomputes what places `mailbox` on the due index: `scheduler.interval_minutes`
/// (`Some` of [`adaptive_interval`] while [`due_workloads`] is non-empty, else `None`,
/// which takes the mailbox off the index), `scheduler.due_workloads` and
/// `scheduler.poll_group`. Returns whether any of them changed: an unchanged schedule
/// needs no write.
pub fn refresh_schedule(
    mailbox: &mut Mailbox,
    profile: Option<&Profile>,
    org: &OrgSettings,
    now: OffsetDateTime,
) -> bool {
    let workloads = due_workloads(mailbox, profile, org);
    let (interval, group) = match profile {
        Some(p) if !workloads.is_empty() => (
            Some(adaptive_interval(
                p,
                org,
                last_activity_or_enabled(mailbox),
                mailbox.created_at,
                now,
            )),
            Some(poll_group(mailbox, p)),
        ),
        _ => (None, None),
    };
    let s = &mut mailbox.scheduler;
    let changed =
        s.interval_minutes != interval || s.poll_group != group || s.due_workloads != workloads;
    s.interval_minutes = interval;
    s.poll_group = group;
    s.due_workloads = workloads;
    changed
}

/// What the idle curve counts from: the newest of the last mail exsync saw (its received
/// time) and the moment a workload last became healthy (Test & Enable, or recovery). A
/// mailbox an admin just enabled starts at the active interval even when the newest mail
/// in its backlog is years old, and slows down only once it has proved quiet.
fn last_activity_or_enabled(mailbox: &Mailbox) -> Option<OffsetDateTime> {
    let enabled_at = Workload::ALL
        .into_iter()
        .map(|w| mailbox.workload(w))
        .filter(|s| s.enabled && s.status == WorkloadStatus::Success)
        .filter_map(|s| s.status_at)
        .max();
    mailbox.scheduler.last_activity_at.max(enabled_at)
}

/// The SQS message group a mailbox's poll jobs go to; FIFO delivers one message of a group
/// at a time, so the group is what bounds concurrency without any lock or semaphore write.
///
/// - Credentials on the profile (one service account): `p:<profile id>:<slot>`, where the
///   slot is [`connection_slot`] of the mailbox among the profile's maximum concurrent
///   connections. A mailbox always maps to the same slot, so at most that many of the
///   profile's mailboxes are synced at once across all workers.
/// - Credentials on the mailbox: `m:<mailbox id>`: each mailbox is its own account, synced
///   by one worker at a time (the worker caps parallel calls inside it).
pub fn poll_group(mailbox: &Mailbox, profile: &Profile) -> String {
    poll_group_for(&mailbox.id, profile)
}

/// [`poll_group`] from the mailbox id alone: the scheduler computes the group from the
/// profile it loaded this tick, so a changed connection limit applies at once.
pub fn poll_group_for(mailbox: &MailboxId, profile: &Profile) -> String {
    match profile.credentials_location {
        CredentialsLocation::Profile => format!(
            "p:{}:{}",
            profile.id,
            connection_slot(mailbox, profile.max_concurrent_connections)
        ),
        CredentialsLocation::Mailbox => format!("m:{mailbox}"),
    }
}

/// The connection slot (`0..max`) of a mailbox: a stable hash of its id modulo `max`
/// (a `max` of 0 counts as 1). FNV-1a, fixed here rather than the standard library's
/// hasher, whose output may change between Rust releases: a slot must not move when
/// exsync is rebuilt, or two workers could briefly sync a profile beyond its limit.
pub fn connection_slot(mailbox: &MailboxId, max: u32) -> u32 {
    let max = u64::from(max.max(1));
    // The modulus is at most u32::MAX, so the result fits.
    u32::try_from(fnv1a(mailbox.as_str().as_bytes()) % max).unwrap_or(0)
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// The epoch minute of `t` (minutes since 1970-01-01T00:00Z, rounded down): the unit of
/// the due slots.
pub fn epoch_minute(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60)
}

/// The phase an interval is at in epoch minute `minute`: the due slot read then.
pub fn phase_at(minute: i64, interval: u32) -> u32 {
    // rem_euclid by a positive u32 is in 0..interval, so the cast cannot truncate.
    u32::try_from(minute.rem_euclid(i64::from(interval.max(1)))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference (draft-eastlake-fnv): the hash must never change.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn epoch_minutes_round_down_also_before_1970() {
        let t = OffsetDateTime::from_unix_timestamp(119).unwrap();
        assert_eq!(epoch_minute(t), 1);
        let before = OffsetDateTime::from_unix_timestamp(-1).unwrap();
        assert_eq!(epoch_minute(before), -1);
        assert_eq!(phase_at(-1, 5), 4);
    }
}
