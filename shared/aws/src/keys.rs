//! Every key of the table, one function per key pattern of `docs/data-model.md` ("Items"),
//! so the whole key layout can be read in one place. Nothing else in the crate builds a key
//! string.

use exsync_domain::alert::AlertSubject;
use exsync_domain::ids::{
    ActivityId, AlertId, EmailAddress, JobId, MailboxId, Principal, ProfileId, RecordId,
};
use exsync_domain::mailbox::{Approval, Workload, WorkloadStatus};
use exsync_domain::record::RecordKind;
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset};

/// The table's partition key attribute.
pub const PK: &str = "pk";
/// The table's sort key attribute.
pub const SK: &str = "sk";
/// `gsi1`'s partition key attribute.
pub const GSI1PK: &str = "gsi1pk";
/// `gsi1`'s sort key attribute.
pub const GSI1SK: &str = "gsi1sk";
/// `gsi2`'s partition key attribute.
pub const GSI2PK: &str = "gsi2pk";
/// `gsi2`'s sort key attribute.
pub const GSI2SK: &str = "gsi2sk";
/// `gsi3`'s partition key attribute.
pub const GSI3PK: &str = "gsi3pk";
/// `gsi3`'s sort key attribute.
pub const GSI3SK: &str = "gsi3sk";
/// The `due` index's partition key attribute.
pub const DUEPK: &str = "duepk";
/// The `due` index's sort key attribute.
pub const DUESK: &str = "duesk";
/// The due index's projected attribute: the mailbox's profile (also the mailbox's own
/// `profile_id` attribute).
pub const DUE_PROFILE_ID: &str = "profile_id";
/// The due index's projected attribute: the workloads due (a list of names).
pub const DUE_WORKLOADS: &str = "due_workloads";
/// The due index's projected attribute: not polled before this (RFC 3339).
pub const DUE_POSTPONED_UNTIL: &str = "postponed_until";
/// The due index's projected attribute: the poll jobs' message group.
pub const DUE_POLL_GROUP: &str = "poll_group";
/// The TTL attribute (epoch seconds), as the table's TimeToLiveSpecification names it.
pub const TTL: &str = "ttl";

/// The sort key prefix of a mailbox's activity links (`ACT#<time>#<activity>`).
pub const MAILBOX_ACTIVITY_PREFIX: &str = "ACT#";

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Partition key value.
    pub pk: String,
    /// Sort key value.
    pub sk: String,
}

impl Key {
    fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// One index entry of an item: the index's partition and sort key values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The partition key attribute (`gsi1pk`…).
    pub pk_attr: &'static str,
    /// The sort key attribute (`gsi1sk`…).
    pub sk_attr: &'static str,
    /// Partition key value.
    pub pk: String,
    /// Sort key value.
    pub sk: String,
}

/// The global secondary indexes, as template.yaml names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// Lists: profiles, mailboxes by profile, activities by regarding record, records by
    /// kind, an owner's appointments, contacts and tasks.
    Gsi1,
    /// Mailboxes by status, pending-send emails by sender, jobs by profile.
    Gsi2,
    /// Mailboxes by approval.
    Gsi3,
    /// The scheduler's index: schedulable mailboxes by due slot.
    Due,
}

impl Index {
    /// The index name.
    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
            Index::Gsi3 => "gsi3",
            Index::Due => "due",
        }
    }

    /// Its partition and sort key attributes.
    pub fn key_attrs(self) -> (&'static str, &'static str) {
        match self {
            Index::Gsi1 => (GSI1PK, GSI1SK),
            Index::Gsi2 => (GSI2PK, GSI2SK),
            Index::Gsi3 => (GSI3PK, GSI3SK),
            Index::Due => (DUEPK, DUESK),
        }
    }

    /// An entry of this index.
    pub fn entry(self, pk: String, sk: String) -> IndexEntry {
        let (pk_attr, sk_attr) = self.key_attrs();
        IndexEntry {
            pk_attr,
            sk_attr,
            pk,
            sk,
        }
    }
}

/// A time as a sort key: UTC, fixed width, nanoseconds, so that string order is time order
/// (RFC 3339 with a variable number of fraction digits does not sort).
pub fn sortable_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// `<name lower>#<id>`: lists sorted by name, ties broken by id.
pub fn by_name(name: &str, id: &str) -> String {
    format!("{}#{id}", name.to_lowercase())
}

// --- profiles and settings --------------------------------------------------------------

/// A profile: `PROFILE#<id>` / `PROFILE`.
pub fn profile(id: &ProfileId) -> Key {
    Key::new(format!("PROFILE#{id}"), "PROFILE")
}

/// A profile's entry in the list of profiles (`gsi1pk=PROFILES`).
pub fn profile_list_entry(name: &str, id: &ProfileId) -> IndexEntry {
    Index::Gsi1.entry(profiles_partition(), by_name(name, id.as_str()))
}

/// The `gsi1` partition listing every profile.
pub fn profiles_partition() -> String {
    "PROFILES".to_owned()
}

/// The org email settings: `ORG` / `SETTINGS`.
pub fn org_settings() -> Key {
    Key::new("ORG", "SETTINGS")
}

// --- mailboxes --------------------------------------------------------------------------

/// A mailbox: `MAILBOX#<id>` / `MAILBOX`.
pub fn mailbox(id: &MailboxId) -> Key {
    Key::new(mailbox_partition(id), "MAILBOX")
}

/// The partition holding a mailbox and its item collection (sync states, links).
pub fn mailbox_partition(id: &MailboxId) -> String {
    format!("MAILBOX#{id}")
}

/// The `gsi1` partition of a profile's mailboxes (`PROFILE#none#MAILBOXES` without one).
pub fn mailboxes_of_profile(profile: Option<&ProfileId>) -> String {
    match profile {
        Some(p) => format!("PROFILE#{p}#MAILBOXES"),
        None => "PROFILE#none#MAILBOXES".to_owned(),
    }
}

/// The `gsi2` partition of mailboxes with an overall status.
pub fn mailboxes_by_status(status: WorkloadStatus) -> String {
    let s = match status {
        WorkloadStatus::NotRun => "not_run",
        WorkloadStatus::Success => "success",
        WorkloadStatus::Failure => "failure",
    };
    format!("MBXSTATUS#{s}")
}

/// Every overall status, in the order the unfiltered mailbox list merges them.
pub const ALL_STATUSES: [WorkloadStatus; 3] = [
    WorkloadStatus::NotRun,
    WorkloadStatus::Success,
    WorkloadStatus::Failure,
];

/// The `gsi3` partition of mailboxes with an approval state.
pub fn mailboxes_by_approval(approval: Approval) -> String {
    let s = match approval {
        Approval::Empty => "empty",
        Approval::Pending => "pending",
        Approval::Approved => "approved",
        Approval::Rejected => "rejected",
    };
    format!("MBXAPPROVAL#{s}")
}

/// A mailbox's three index entries (profile, status, approval), recomputed on every write
/// so the lists can never disagree with the mailbox.
pub fn mailbox_index_entries(
    id: &MailboxId,
    name: &str,
    profile: Option<&ProfileId>,
    status: WorkloadStatus,
    approval: Approval,
) -> [IndexEntry; 3] {
    let sort = by_name(name, id.as_str());
    [
        Index::Gsi1.entry(mailboxes_of_profile(profile), sort.clone()),
        Index::Gsi2.entry(mailboxes_by_status(status), sort.clone()),
        Index::Gsi3.entry(mailboxes_by_approval(approval), sort),
    ]
}

// --- the due index ----------------------------------------------------------------------

/// The polling intervals (minutes) a mailbox can be scheduled at: the domain's ladder
/// ([`exsync_domain::schedule::INTERVAL_LADDER`]), so the slots written and the slots the
/// scheduler reads can never disagree.
pub const POLLING_LADDER: [u32; 11] = exsync_domain::schedule::INTERVAL_LADDER;

/// Shards per slot: one slot's mailboxes are read by this many parallel queries (the
/// domain's [`exsync_domain::schedule::DUE_SHARDS`]).
pub const DUE_SHARDS: u32 = exsync_domain::schedule::DUE_SHARDS;

/// Where a schedulable mailbox sits on the `due` index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSlot {
    /// `DUE#<interval>#<phase>#<shard>`.
    pub duepk: String,
    /// The mailbox id (unique within a slot).
    pub duesk: String,
    /// The interval actually used (the ladder value at or above the one asked for).
    pub interval_minutes: u32,
    /// The minute within the interval (`epoch minute mod interval`) the mailbox is due at.
    pub phase: u32,
}

/// The ladder interval at or above `minutes` (a profile's minimum may be 0 or between
/// rungs); 1440 for anything above a day.
pub fn ladder_interval(minutes: u32) -> u32 {
    exsync_domain::schedule::ladder_interval(minutes)
}

/// The `due` slot of a mailbox polled every `interval_minutes` (snapped to the ladder).
/// Phase and shard come from a hash of the id, so mailboxes spread evenly over the minutes
/// of their interval and over the shards, and a mailbox keeps its slot for as long as its
/// interval does not change: an idle poll writes nothing.
pub fn due_slot(mailbox: &MailboxId, interval_minutes: u32) -> DueSlot {
    let interval = ladder_interval(interval_minutes);
    let digest = Sha256::digest(mailbox.as_str().as_bytes());
    let (phase_bytes, shard_bytes) = digest.split_at(8);
    let phase_hash = u64::from_be_bytes(first_eight(phase_bytes));
    let shard_hash = u64::from_be_bytes(first_eight(shard_bytes));
    // Both moduli are small, so the casts cannot truncate.
    let phase = (phase_hash % u64::from(interval)) as u32;
    let shard = (shard_hash % u64::from(DUE_SHARDS)) as u32;
    DueSlot {
        duepk: due_partition(interval, phase, shard),
        duesk: mailbox.as_str().to_owned(),
        interval_minutes: interval,
        phase,
    }
}

/// One `due` partition.
pub fn due_partition(interval: u32, phase: u32, shard: u32) -> String {
    format!("DUE#{interval}#{phase}#{shard}")
}

/// Every `due` partition the scheduler reads at `epoch_minute`: for each interval of the
/// ladder, the shards of its current phase.
pub fn due_partitions_at(epoch_minute: u64) -> Vec<String> {
    POLLING_LADDER
        .iter()
        .flat_map(|&interval| {
            let phase = (epoch_minute % u64::from(interval)) as u32;
            (0..DUE_SHARDS).map(move |shard| due_partition(interval, phase, shard))
        })
        .collect()
}

fn first_eight(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

// --- email activities -------------------------------------------------------------------

/// An email activity: `ACTIVITY#<id>` / `ACTIVITY`.
pub fn email(id: &ActivityId) -> Key {
    Key::new(format!("ACTIVITY#{id}"), "ACTIVITY")
}

/// An Internet Message-ID as compared for dedup: surrounding space and one pair of angle
/// brackets removed. Case is kept: RFC 5322 gives no case-insensitive comparison.
pub fn normalise_message_id(message_id: &str) -> String {
    let t = message_id.trim();
    let t = t
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t);
    t.trim().to_owned()
}

/// The Message-ID dedup key: `MSGID#<sha256 of the normalised id>` / `MSGID`. Hashed so the
/// key stays short whatever the sender put in the header.
pub fn message_id(message_id: &str) -> Key {
    let digest = Sha256::digest(normalise_message_id(message_id).as_bytes());
    Key::new(format!("MSGID#{}", hex(&digest)), "MSGID")
}

/// An email's entry in the list of emails regarding a record (`gsi1`).
pub fn regarding_entry(record: &RecordId, created: OffsetDateTime, id: &ActivityId) -> IndexEntry {
    Index::Gsi1.entry(regarding_partition(record), timed(created, id.as_str()))
}

/// The `gsi1` partition of emails regarding a record.
pub fn regarding_partition(record: &RecordId) -> String {
    format!("REGARDING#{record}")
}

/// An email's entry in its sender's outbox (`gsi2`), while Pending Send or Sending.
pub fn pending_entry(sender: &MailboxId, created: OffsetDateTime, id: &ActivityId) -> IndexEntry {
    Index::Gsi2.entry(pending_partition(sender), timed(created, id.as_str()))
}

/// The `gsi2` partition of a sender mailbox's outbox.
pub fn pending_partition(sender: &MailboxId) -> String {
    format!("PENDING#{sender}")
}

/// A mailbox's link to an email it received or sends: `MAILBOX#<id>` /
/// `ACT#<time>#<activity>`, newest first with a descending query on the mailbox partition.
pub fn mailbox_activity_link(
    mailbox: &MailboxId,
    created: OffsetDateTime,
    activity: &ActivityId,
) -> Key {
    Key::new(
        mailbox_partition(mailbox),
        format!(
            "{MAILBOX_ACTIVITY_PREFIX}{}",
            timed(created, activity.as_str())
        ),
    )
}

// --- appointments, contacts, tasks --------------------------------------------------------

/// The kinds of activity kept in step with Exchange (appointments, contacts, tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActKind {
    /// An appointment.
    Appointment,
    /// A contact.
    Contact,
    /// A task.
    Task,
}

impl ActKind {
    /// The name used in keys and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ActKind::Appointment => "appointment",
            ActKind::Contact => "contact",
            ActKind::Task => "task",
        }
    }
}

/// An appointment, contact or task: `ACT#<kind>#<id>` / `ACT`.
pub fn act(kind: ActKind, id: &ActivityId) -> Key {
    Key::new(format!("ACT#{}#{id}", kind.as_str()), "ACT")
}

/// Its entry in the owner's list of that kind (`gsi1`).
pub fn act_owner_entry(
    kind: ActKind,
    owner: &Principal,
    modified: OffsetDateTime,
    id: &ActivityId,
) -> IndexEntry {
    Index::Gsi1.entry(
        act_owner_partition(kind, owner),
        timed(modified, id.as_str()),
    )
}

/// The `gsi1` partition of an owner's appointments, contacts or tasks.
pub fn act_owner_partition(kind: ActKind, owner: &Principal) -> String {
    format!("OWNER#{owner}#{}", kind.as_str())
}

// --- records ------------------------------------------------------------------------------

fn record_kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::User => "user",
        RecordKind::Queue => "queue",
        RecordKind::Contact => "contact",
        RecordKind::Account => "account",
        RecordKind::Lead => "lead",
    }
}

/// An email-enabled record: `RECORD#<id>` / `RECORD`.
pub fn record(id: &RecordId) -> Key {
    Key::new(format!("RECORD#{id}"), "RECORD")
}

/// A record's entry in the list of its kind (`gsi1`).
pub fn record_list_entry(kind: RecordKind, name: &str, id: &RecordId) -> IndexEntry {
    Index::Gsi1.entry(records_partition(kind), by_name(name, id.as_str()))
}

/// The `gsi1` partition of the records of a kind.
pub fn records_partition(kind: RecordKind) -> String {
    format!("RECORDS#{}", record_kind_name(kind))
}

/// A record's entry under one of its addresses: `EMAIL#<address>` / `RECORD#<id>`.
pub fn record_by_address(address: &EmailAddress, id: &RecordId) -> Key {
    Key::new(address_partition(address), format!("RECORD#{id}"))
}

/// The partition of every record with an address (addresses are stored lower-cased).
pub fn address_partition(address: &EmailAddress) -> String {
    format!("EMAIL#{}", address.as_str())
}

// --- alerts and jobs ----------------------------------------------------------------------

/// The alerts partition of a mailbox or profile.
pub fn alerts_of_subject(subject: &AlertSubject) -> String {
    match subject {
        AlertSubject::Mailbox(id) => format!("ALERTS#MAILBOX#{id}"),
        AlertSubject::Profile(id) => format!("ALERTS#PROFILE#{id}"),
    }
}

/// The alerts partition of an owner.
pub fn alerts_of_owner(owner: &Principal) -> String {
    format!("ALERTS#OWNER#{owner}")
}

/// One copy of an alert in an audience's partition: sorted by time, newest first with a
/// descending query.
pub fn alert_copy(partition: String, at: OffsetDateTime, id: &AlertId) -> Key {
    Key::new(partition, timed(at, id.as_str()))
}

/// The item that lists where an alert's copies are, so one id can dismiss them all.
pub fn alert_index(id: &AlertId) -> Key {
    Key::new(format!("ALERT#{id}"), "ALERT")
}

/// A job: `JOB#<id>` / `JOB`.
pub fn job(id: &JobId) -> Key {
    Key::new(format!("JOB#{id}"), "JOB")
}

/// A job's entry in its profile's list of jobs (`gsi2`).
pub fn job_of_profile_entry(
    profile: &ProfileId,
    created: OffsetDateTime,
    id: &JobId,
) -> IndexEntry {
    Index::Gsi2.entry(format!("JOBS#{profile}"), timed(created, id.as_str()))
}

// --- the sync worker ----------------------------------------------------------------------

/// The sort key of a mailbox's sync state: `SYNC#<workload>#<folder>`.
pub fn sync_state(mailbox: &MailboxId, workload: Workload, folder: &str) -> Key {
    Key::new(
        mailbox_partition(mailbox),
        format!("{SYNC_STATE_PREFIX}{}#{folder}", workload.as_str()),
    )
}

/// The sort key prefix of a mailbox's sync states.
pub const SYNC_STATE_PREFIX: &str = "SYNC#";

/// The sort key range the sync worker reads of a mailbox's partition in one query: the
/// mailbox item (`MAILBOX`) and its sync states (`SYNC#…`), nothing else (`ACT#` links and
/// `LINK#` items sort before `MAILBOX`; `~` sorts after every character a key uses).
pub const MAILBOX_AND_SYNC_STATES: (&str, &str) = ("MAILBOX", "SYNC#~");

/// The partition of a mailbox's decision log.
pub fn decisions_partition(mailbox: &MailboxId) -> String {
    format!("DECISIONS#{mailbox}")
}

/// One decision log entry: `DECISIONS#<mailbox>` / `<time>#<seq>`, newest first with a
/// descending query.
pub fn decision(mailbox: &MailboxId, at: OffsetDateTime, seq: u32) -> Key {
    Key::new(
        decisions_partition(mailbox),
        format!("{}#{seq:06}", sortable_time(at)),
    )
}

/// What a correlation pointer is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationKind {
    /// A tracking token (`CRM:0001234`).
    Token,
    /// A conversation (the conversation index's header, hex).
    Conversation,
    /// A normalised subject (smart matching).
    Subject,
}

/// A correlation pointer: `CORR#<kind>#<sha256 of the value>` / `CORR`, naming the latest
/// activity with that token, conversation or subject. Hashed: values come from email.
pub fn correlation(kind: CorrelationKind, value: &str) -> Key {
    let kind = match kind {
        CorrelationKind::Token => "TOKEN",
        CorrelationKind::Conversation => "CONV",
        CorrelationKind::Subject => "SUBJ",
    };
    let digest = Sha256::digest(value.as_bytes());
    Key::new(format!("CORR#{kind}#{}", hex(&digest)), "CORR")
}

/// The dedup key of the incoming copy of an email tracked as two activities (sent through
/// exsync by one user, received by another): beside the message's own `MSGID` item.
pub fn incoming_copy(message_id: &str) -> Key {
    let mut key = self::message_id(message_id);
    key.sk = "MSGID#INCOMING".to_owned();
    key
}

// --- access and idempotency ---------------------------------------------------------------

/// A principal's roles: `PRINCIPAL#<name>` / `ROLES`.
pub fn principal_roles(p: &Principal) -> Key {
    Key::new(format!("PRINCIPAL#{p}"), "ROLES")
}

/// A role: `ROLE#<name>` / `ROLE`.
pub fn role(name: &str) -> Key {
    Key::new(format!("ROLE#{name}"), "ROLE")
}

/// An idempotency key: `IDEMP#<key>` / `IDEMP`.
pub fn idempotency(key: &str) -> Key {
    Key::new(format!("IDEMP#{key}"), "IDEMP")
}

fn timed(t: OffsetDateTime, id: &str) -> String {
    format!("{}#{id}", sortable_time(t))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sortable_times_sort_as_the_times_do() {
        let times = [
            datetime!(2026-01-02 03:04:05.5 +02:00),
            datetime!(2026-01-02 01:04:05.123456789 UTC),
            datetime!(2026-01-02 01:04:05 UTC),
            datetime!(1999-12-31 23:59:59.999 UTC),
        ];
        let mut by_time = times.to_vec();
        by_time.sort();
        let mut by_key = times.to_vec();
        by_key.sort_by_key(|t| sortable_time(*t));
        assert_eq!(by_key, by_time);
    }

    #[test]
    fn sortable_time_is_utc_and_fixed_width() {
        assert_eq!(
            sortable_time(datetime!(2026-01-02 03:04:05.5 +02:00)),
            "2026-01-02T01:04:05.500000000Z"
        );
    }

    #[test]
    fn names_sort_case_insensitively_with_the_id_breaking_ties() {
        assert!(by_name("alice", "2") < by_name("Bob", "1"));
        assert_eq!(by_name("Same", "a"), "same#a");
    }

    #[test]
    fn a_mailbox_without_a_profile_is_listed_under_none() {
        assert_eq!(mailboxes_of_profile(None), "PROFILE#none#MAILBOXES");
    }

    #[test]
    fn mailbox_index_entries_follow_profile_status_and_approval() {
        let id = MailboxId::parse("m1").unwrap();
        let p = ProfileId::parse("p1").unwrap();
        let [g1, g2, g3] = mailbox_index_entries(
            &id,
            "Sales",
            Some(&p),
            WorkloadStatus::Failure,
            Approval::Pending,
        );
        assert_eq!(
            (g1.pk_attr, g1.pk.as_str(), g1.sk.as_str()),
            ("gsi1pk", "PROFILE#p1#MAILBOXES", "sales#m1")
        );
        assert_eq!(
            (g2.pk_attr, g2.pk.as_str()),
            ("gsi2pk", "MBXSTATUS#failure")
        );
        assert_eq!(
            (g3.pk_attr, g3.pk.as_str()),
            ("gsi3pk", "MBXAPPROVAL#pending")
        );
    }

    #[test]
    fn message_ids_differing_only_in_brackets_and_spaces_share_a_key() {
        assert_eq!(
            message_id(" <abc@example.com> "),
            message_id("abc@example.com")
        );
        assert_ne!(message_id("abc@example.com"), message_id("ABC@example.com"));
    }

    #[test]
    fn message_id_keys_are_bounded_whatever_the_header_length() {
        let long = format!("<{}@example.com>", "x".repeat(5000));
        let k = message_id(&long);
        assert_eq!(k.pk.len(), "MSGID#".len() + 64);
    }

    #[test]
    fn intervals_snap_up_to_the_ladder() {
        assert_eq!(ladder_interval(0), 1);
        assert_eq!(ladder_interval(1), 1);
        assert_eq!(ladder_interval(3), 5);
        assert_eq!(ladder_interval(60), 60);
        assert_eq!(ladder_interval(61), 120);
        assert_eq!(ladder_interval(5000), 1440);
    }

    #[test]
    fn a_mailbox_keeps_its_slot_for_the_same_interval() {
        let id = MailboxId::new();
        assert_eq!(due_slot(&id, 15), due_slot(&id, 15));
        assert_eq!(due_slot(&id, 12).interval_minutes, 15);
        assert_eq!(due_slot(&id, 15).duesk, id.as_str());
    }

    #[test]
    fn a_mailbox_is_due_exactly_once_per_interval() {
        let id = MailboxId::new();
        for interval in POLLING_LADDER {
            let slot = due_slot(&id, interval);
            let start = 29_000_000u64; // any epoch minute
            let hits = (start..start + u64::from(interval))
                .filter(|&minute| due_partitions_at(minute).contains(&slot.duepk))
                .count();
            assert_eq!(hits, 1, "interval {interval}");
        }
    }

    #[test]
    fn mailboxes_spread_over_phases_and_shards() {
        let slots: Vec<DueSlot> = (0..2000).map(|_| due_slot(&MailboxId::new(), 10)).collect();
        for phase in 0..10 {
            let n = slots.iter().filter(|s| s.phase == phase).count();
            // 200 expected per phase; a uniform hash stays well within these bounds.
            assert!((100..300).contains(&n), "phase {phase}: {n}");
        }
        for shard in 0..DUE_SHARDS {
            let suffix = format!("#{shard}");
            let n = slots.iter().filter(|s| s.duepk.ends_with(&suffix)).count();
            assert!((60..200).contains(&n), "shard {shard}: {n}");
        }
    }

    #[test]
    fn the_scheduler_reads_every_shard_of_every_interval_each_minute() {
        let parts = due_partitions_at(7);
        assert_eq!(parts.len(), POLLING_LADDER.len() * DUE_SHARDS as usize);
        assert!(parts.contains(&"DUE#5#2#15".to_owned()));
        assert!(parts.contains(&"DUE#1#0#0".to_owned()));
    }

    #[test]
    fn alert_copies_sort_by_time() {
        let id = AlertId::parse("a").unwrap();
        let old = alert_copy("P".into(), datetime!(2026-01-01 00:00 UTC), &id);
        let new = alert_copy("P".into(), datetime!(2026-01-01 00:00:01 UTC), &id);
        assert!(old.sk < new.sk);
    }
}
