//! The small traits the domain reaches the outside world through. `exsync-aws` implements
//! them with DynamoDB, SQS and KMS; tests run them against the local AWS endpoint.

use crate::activity::{Appointment, ContactActivity, EmailActivity, TaskActivity};
use crate::alert::{Alert, AlertSubject};
use crate::error::DomainError;
use crate::ids::{
    ActivityId, AlertId, EmailAddress, JobId, MailboxId, Principal, ProfileId, RecordId,
};
use crate::job::Job;
use crate::mailbox::{Approval, Mailbox, Workload, WorkloadStatus};
use crate::org::OrgSettings;
use crate::privilege::Role;
use crate::profile::{Profile, SealedSecret};
use crate::record::{EmailEnabledRecord, RecordKind};
use crate::sync::job::PollJob;
use async_trait::async_trait;
use time::OffsetDateTime;

/// One page of a list, with the opaque token for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` at the end.
    pub next: Option<String>,
}

/// Filters for listing mailboxes (all optional, combined with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxFilter {
    /// Only mailboxes of this profile.
    pub profile: Option<ProfileId>,
    /// Only active (true) or inactive (false) mailboxes.
    pub active: Option<bool>,
    /// Only mailboxes with this overall status.
    pub status: Option<WorkloadStatus>,
    /// Only mailboxes with this approval.
    pub approval: Option<Approval>,
}

/// Profiles, org settings and mailboxes.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// A profile.
    async fn get_profile(&self, id: &ProfileId) -> Result<Option<Profile>, DomainError>;
    /// Profiles, by name.
    async fn list_profiles(
        &self,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<Profile>, DomainError>;
    /// Creates a profile (fails if the id exists).
    async fn create_profile(&self, p: &Profile) -> Result<(), DomainError>;
    /// Replaces a profile if its stored version is `expected_version`; stores `p.version`.
    async fn update_profile(&self, p: &Profile, expected_version: u64) -> Result<(), DomainError>;
    /// Deletes a profile if its stored version is `expected_version` and no mailbox uses it.
    async fn delete_profile(
        &self,
        id: &ProfileId,
        expected_version: u64,
    ) -> Result<(), DomainError>;
    /// The org settings (defaults when never written, version 0).
    async fn get_settings(&self) -> Result<OrgSettings, DomainError>;
    /// Replaces the settings if their stored version is `expected_version`.
    async fn put_settings(&self, s: &OrgSettings, expected_version: u64)
    -> Result<(), DomainError>;
    /// A mailbox.
    async fn get_mailbox(&self, id: &MailboxId) -> Result<Option<Mailbox>, DomainError>;
    /// Mailboxes matching the filter, by name.
    async fn list_mailboxes(
        &self,
        f: &MailboxFilter,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<Mailbox>, DomainError>;
    /// Creates a mailbox.
    async fn create_mailbox(&self, m: &Mailbox) -> Result<(), DomainError>;
    /// Replaces a mailbox if its stored version is `expected_version`.
    async fn update_mailbox(&self, m: &Mailbox, expected_version: u64) -> Result<(), DomainError>;
}

/// Activities and email-enabled records.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Creates an email activity.
    async fn create_email(&self, e: &EmailActivity) -> Result<(), DomainError>;
    /// An email activity.
    async fn get_email(&self, id: &ActivityId) -> Result<Option<EmailActivity>, DomainError>;
    /// Replaces an email activity if its stored version is `expected_version`.
    async fn update_email(
        &self,
        e: &EmailActivity,
        expected_version: u64,
    ) -> Result<(), DomainError>;
    /// Email activities linked to a mailbox (received or sent), newest first.
    async fn list_emails_by_mailbox(
        &self,
        m: &MailboxId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailActivity>, DomainError>;
    /// Email activities regarding a record, newest first.
    async fn list_emails_by_regarding(
        &self,
        r: &RecordId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailActivity>, DomainError>;
    /// Creates or replaces an appointment.
    async fn put_appointment(
        &self,
        a: &Appointment,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError>;
    /// An appointment.
    async fn get_appointment(&self, id: &ActivityId) -> Result<Option<Appointment>, DomainError>;
    /// Deletes an appointment.
    async fn delete_appointment(&self, id: &ActivityId) -> Result<(), DomainError>;
    /// An owner's appointments.
    async fn list_appointments(&self, owner: &Principal) -> Result<Vec<Appointment>, DomainError>;
    /// Creates or replaces a contact.
    async fn put_contact(
        &self,
        c: &ContactActivity,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError>;
    /// A contact.
    async fn get_contact(&self, id: &ActivityId) -> Result<Option<ContactActivity>, DomainError>;
    /// Deletes a contact.
    async fn delete_contact(&self, id: &ActivityId) -> Result<(), DomainError>;
    /// An owner's contacts.
    async fn list_contacts(&self, owner: &Principal) -> Result<Vec<ContactActivity>, DomainError>;
    /// Creates or replaces a task.
    async fn put_task(
        &self,
        t: &TaskActivity,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError>;
    /// A task.
    async fn get_task(&self, id: &ActivityId) -> Result<Option<TaskActivity>, DomainError>;
    /// Deletes a task.
    async fn delete_task(&self, id: &ActivityId) -> Result<(), DomainError>;
    /// An owner's tasks.
    async fn list_tasks(&self, owner: &Principal) -> Result<Vec<TaskActivity>, DomainError>;
    /// Creates an email-enabled record (and its by-address entries).
    async fn create_record(&self, r: &EmailEnabledRecord) -> Result<(), DomainError>;
    /// Records of a kind, by name.
    async fn list_records(
        &self,
        kind: RecordKind,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailEnabledRecord>, DomainError>;
    /// Records with this address.
    async fn records_by_email(
        &self,
        a: &EmailAddress,
    ) -> Result<Vec<EmailEnabledRecord>, DomainError>;
}

/// Alerts and jobs.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// Writes an alert to every audience (its subject and each owner).
    async fn put_alert(&self, a: &Alert) -> Result<(), DomainError>;
    /// Alerts about a mailbox or profile, newest first.
    async fn alerts_for_subject(
        &self,
        s: &AlertSubject,
        limit: u32,
    ) -> Result<Vec<Alert>, DomainError>;
    /// Alerts for an owner, newest first.
    async fn alerts_for_owner(
        &self,
        owner: &Principal,
        limit: u32,
    ) -> Result<Vec<Alert>, DomainError>;
    /// Marks an alert dismissed (every copy).
    async fn dismiss_alert(&self, id: &AlertId) -> Result<(), DomainError>;
    /// Creates a job.
    async fn create_job(&self, j: &Job) -> Result<(), DomainError>;
    /// A job.
    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, DomainError>;
    /// Records progress atomically (ADD), and the state when given.
    async fn job_progress(
        &self,
        id: &JobId,
        done: u64,
        succeeded: u64,
        failed: u64,
        state: Option<crate::job::JobState>,
        at: OffsetDateTime,
    ) -> Result<(), DomainError>;
    /// A mailbox's decision log, newest first (the sync worker writes it through
    /// [`SyncStore::write_page`]). A store without a decision log answers an empty page.
    async fn decisions_of_mailbox(
        &self,
        mailbox: &MailboxId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<crate::sync::decisions::DecisionEntry>, DomainError> {
        let _ = (mailbox, limit, next);
        Ok(Page {
            items: Vec::new(),
            next: None,
        })
    }
}

/// Roles and principals.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// The roles assigned to a principal.
    async fn roles_of(&self, p: &Principal) -> Result<Vec<String>, DomainError>;
    /// Assigns roles to a principal (replacing its list).
    async fn set_roles(&self, p: &Principal, roles: &[String]) -> Result<(), DomainError>;
    /// A role definition.
    async fn get_role(&self, name: &str) -> Result<Option<Role>, DomainError>;
    /// Creates or replaces a role definition.
    async fn put_role(&self, r: &Role) -> Result<(), DomainError>;
}

/// Seals and unseals secrets (KMS).
#[async_trait]
pub trait SecretSealer: Send + Sync {
    /// Seals `plaintext`, bound to `context` (e.g. the profile id): the ciphertext cannot
    /// be unsealed under another context.
    async fn seal(&self, plaintext: &str, context: &str) -> Result<SealedSecret, DomainError>;
    /// Unseals a secret sealed under `context`.
    async fn unseal(&self, sealed: &SealedSecret, context: &str) -> Result<String, DomainError>;
}

/// Messages for the jobs worker (and, later, poll jobs).
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues a job for the jobs worker.
    async fn enqueue_job(&self, job: &JobId) -> Result<(), DomainError>;
}

/// One poll job that could not be enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueueFailure {
    /// The job's mailbox.
    pub mailbox_id: MailboxId,
    /// The queue's error code (e.g. `InternalError`, `InvalidParameterValue`).
    pub code: String,
    /// The queue's message (no secrets: poll jobs carry none).
    pub message: String,
}

/// What enqueueing poll jobs did: every job is either enqueued or failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnqueueReport {
    /// Jobs the queue accepted (a duplicate the FIFO queue drops counts as accepted: the
    /// queue answers the same).
    pub enqueued: usize,
    /// Jobs still refused after the retries.
    pub failed: Vec<EnqueueFailure>,
}

/// The poll queue: SQS FIFO, deduplicated by [`PollJob::dedup_id`], grouped by the group
/// given with each job ([`crate::schedule::poll_group`]).
#[async_trait]
pub trait PollQueue: Send + Sync {
    /// Enqueues poll jobs, each with its message group, retrying what the queue refuses
    /// for a transient reason. Per-job failures are in the report; `Err` only when
    /// nothing could be attempted.
    async fn enqueue_polls(&self, jobs: &[(PollJob, String)])
    -> Result<EnqueueReport, DomainError>;
}

/// A mailbox's entry on the due index: what the scheduler needs to build its poll job,
/// without reading the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEntry {
    /// The mailbox.
    pub mailbox_id: MailboxId,
    /// Its profile (the scheduler checks the profile's state and circuit each tick).
    pub profile_id: Option<ProfileId>,
    /// The workloads due ([`crate::schedule::due_workloads`] when it was written).
    pub workloads: Vec<Workload>,
    /// Not polled before this.
    pub postponed_until: Option<OffsetDateTime>,
    /// The poll group when it was written.
    pub poll_group: Option<String>,
}

/// The due index: schedulable mailboxes by time slot (`docs/data-model.md`, "Scheduling
/// without a write per poll").
#[async_trait]
pub trait DueIndex: Send + Sync {
    /// One page of the mailboxes in slot `(interval, phase, shard)`; `next` is the
    /// previous page's token.
    async fn due_mailboxes(
        &self,
        interval: u32,
        phase: u32,
        shard: u32,
        next: Option<String>,
    ) -> Result<Page<DueEntry>, DomainError>;
}

/// What tracking an incoming email once per Internet Message-ID did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracked {
    /// The message was new: its activity was created.
    Created,
    /// The message was already tracked (by another mailbox, or an earlier poll), as this
    /// activity; nothing was written.
    AlreadyTracked(ActivityId),
}

/// The conditional email operations of the sync engine: one activity per Internet
/// Message-ID however many tracked mailboxes receive the message, and each outgoing email
/// handed to exactly one sender.
#[async_trait]
pub trait MailFlowStore: Send + Sync {
    /// Creates a tracked email unless its Internet Message-ID is already tracked; the
    /// activity and its dedup key are written in one transaction. The email must carry an
    /// Internet Message-ID (a 400 naming `internet_message_id` otherwise).
    async fn track_email_once(&self, e: &EmailActivity) -> Result<Tracked, DomainError>;
    /// The email activity with this Internet Message-ID (angle brackets optional).
    async fn email_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<EmailActivity>, DomainError>;
    /// A sender mailbox's emails in Pending Send or Sending, oldest first.
    async fn pending_emails(
        &self,
        sender: &MailboxId,
        limit: u32,
    ) -> Result<Vec<EmailActivity>, DomainError>;
    /// Moves an email from Pending Send to Sending (version + 1, modified at `at`) only if
    /// it is still Pending Send: of two workers racing, one gets the claimed email, the
    /// other `None`. A missing email is `NotFound`.
    async fn claim_for_sending(
        &self,
        id: &ActivityId,
        at: OffsetDateTime,
    ) -> Result<Option<EmailActivity>, DomainError>;
}

/// The time, injected so schedules and expiries are testable.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// One EWS sync state kept for a mailbox: where the last applied SyncFolderItems of one
/// folder left off. Opaque; written only when it changed, and only after everything it
/// covers is durable.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSyncState {
    /// The workload that syncs the folder.
    pub workload: crate::mailbox::Workload,
    /// The folder (`inbox`, or an id).
    pub folder: String,
    /// The SyncState Exchange returned.
    pub state: String,
}

impl std::fmt::Debug for StoredSyncState {
    /// The state itself is long and meaningless to a reader: only its size is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSyncState")
            .field("workload", &self.workload)
            .field("folder", &self.folder)
            .field("state_len", &self.state.len())
            .finish()
    }
}

/// A mailbox and its sync states, as the sync worker reads them: in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxForSync {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// Its sync states.
    pub sync_states: Vec<StoredSyncState>,
}

impl MailboxForSync {
    /// The stored state of `workload`'s `folder`.
    pub fn sync_state(&self, workload: crate::mailbox::Workload, folder: &str) -> Option<&str> {
        self.sync_states
            .iter()
            .find(|s| s.workload == workload && s.folder == folder)
            .map(|s| s.state.as_str())
    }
}

/// What the sync worker stores besides mailboxes and activities: sync states, the decision
/// log, the correlation pointers, and incoming copies of email tracked twice.
#[async_trait]
pub trait SyncStore: Send + Sync {
    /// The mailbox and its sync states, in ONE read (the idle poll's only one).
    async fn load_for_sync(&self, id: &MailboxId) -> Result<Option<MailboxForSync>, DomainError>;
    /// Stores (replaces) one sync state.
    async fn put_sync_state(
        &self,
        mailbox: &MailboxId,
        state: &StoredSyncState,
    ) -> Result<(), DomainError>;
    /// Drops one sync state (Exchange said it is invalid: the next sync starts over).
    async fn delete_sync_state(
        &self,
        mailbox: &MailboxId,
        workload: crate::mailbox::Workload,
        folder: &str,
    ) -> Result<(), DomainError>;
    /// Writes a page's decision log entries and its activities' correlation pointers
    /// together (one batch, unprocessed items retried). Nothing to write costs nothing.
    async fn write_page(
        &self,
        decisions: &[crate::sync::decisions::DecisionEntry],
        pointers: &[(ActivityId, crate::sync::correlation::CorrelationKeys)],
    ) -> Result<(), DomainError>;
    /// A mailbox's decision log, newest first.
    async fn list_decisions(
        &self,
        mailbox: &MailboxId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<crate::sync::decisions::DecisionEntry>, DomainError>;
    /// The email an outgoing tracking token was given to.
    async fn email_by_tracking_token(
        &self,
        token: &str,
    ) -> Result<Option<EmailActivity>, DomainError>;
    /// The latest tracked email of a conversation
    /// ([`crate::sync::correlation::conversation_thread`]).
    async fn email_by_conversation(
        &self,
        thread: &str,
    ) -> Result<Option<EmailActivity>, DomainError>;
    /// The latest tracked email with this normalised subject
    /// ([`crate::sync::correlation::normalise_subject`]).
    async fn email_by_subject(&self, subject: &str) -> Result<Option<EmailActivity>, DomainError>;
    /// Tracks the incoming copy of an email whose Internet Message-ID is already tracked
    /// as an outgoing email (the org tracks email between users as two activities): once
    /// per message, like [`MailFlowStore::track_email_once`], under a key of its own.
    async fn track_incoming_copy(&self, e: &EmailActivity) -> Result<Tracked, DomainError>;
    /// Every appointment, contact and task link of a mailbox (one query of its partition,
    /// `LINK#…`): read only when the appointments/contacts/tasks workload runs.
    async fn act_links(
        &self,
        _mailbox: &MailboxId,
    ) -> Result<Vec<crate::sync::act::ActLink>, DomainError> {
        Err(DomainError::Conflict(
            "this store keeps no appointment, contact and task links".into(),
        ))
    }
    /// Stores (replaces) a link and its reverse entry (the record's side).
    async fn put_act_link(&self, _link: &crate::sync::act::ActLink) -> Result<(), DomainError> {
        Err(DomainError::Conflict(
            "this store keeps no appointment, contact and task links".into(),
        ))
    }
    /// Removes a link and its reverse entry (unlinking; neither side is deleted).
    async fn delete_act_link(&self, _link: &crate::sync::act::ActLink) -> Result<(), DomainError> {
        Err(DomainError::Conflict(
            "this store keeps no appointment, contact and task links".into(),
        ))
    }
}
