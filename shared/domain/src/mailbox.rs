//! Mailboxes: the Exchange mailboxes exsync syncs, their approval, per-workload status, and
//! the scheduler's state.

use crate::ids::{EmailAddress, MailboxId, Principal, ProfileId};
use crate::org::{ActDeliveryMethod, DeliveryMethod};
use crate::profile::SealedSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// User or queue mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxKind {
    /// A person's mailbox.
    User,
    /// A shared/queue mailbox (support@…).
    Queue,
}

/// Email approval (Dynamics 365's "Approve Email").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Never asked.
    #[default]
    Empty,
    /// Awaiting an approver.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

/// What exsync syncs for a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Incoming email tracked as activities.
    Incoming,
    /// Outgoing email sent from exsync.
    Outgoing,
    /// Appointments, contacts and tasks.
    AppointmentsContactsTasks,
}

impl Workload {
    /// Every workload.
    pub const ALL: [Workload; 3] = [
        Workload::Incoming,
        Workload::Outgoing,
        Workload::AppointmentsContactsTasks,
    ];
}

/// The status of one workload (or the mailbox overall).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadStatus {
    /// Never tested or synced.
    #[default]
    NotRun,
    /// The last test or sync succeeded.
    Success,
    /// The last test or sync failed.
    Failure,
}

/// Which incoming email is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomingTrackingOption {
    /// Every message.
    AllEmail,
    /// Replies to email exsync tracked (default).
    #[default]
    RepliesToTrackedEmail,
    /// From known contacts, accounts and leads.
    FromKnownContactsAccountsLeads,
    /// From any email-enabled record.
    FromAnyEmailEnabledRecord,
    /// Nothing.
    None,
}

/// One workload's state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkloadState {
    /// Enabled for sync.
    pub enabled: bool,
    /// Last status.
    pub status: WorkloadStatus,
    /// When the status was last set.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub status_at: Option<OffsetDateTime>,
    /// Last error code (EWS response code or a condition), if the last run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_code: Option<String>,
    /// Last error text (no secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_text: Option<String>,
    /// Consecutive transient failures (the sync engine disables after 10).
    #[serde(default)]
    pub consecutive_transient_failures: u32,
    /// Next run (sync engine).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub next_run_at: Option<OffsetDateTime>,
}

/// The scheduler's and sync worker's state for a mailbox (filled by the sync engine).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Polling interval in minutes currently used to place the mailbox on slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_minutes: Option<u32>,
    /// Not polled before this (back-off, throttling, transient errors).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub postponed_until: Option<OffsetDateTime>,
    /// Consecutive idle polls.
    #[serde(default)]
    pub idle_cycles: u32,
    /// Last time mail flowed (drives the adaptive interval).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub last_activity_at: Option<OffsetDateTime>,
    /// Items processed in the last sync.
    #[serde(default)]
    pub items_processed: u32,
    /// Items that failed in the last sync.
    #[serde(default)]
    pub items_failed: u32,
    /// Last sync start.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub last_sync_start: Option<OffsetDateTime>,
    /// Last sync end.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub last_sync_end: Option<OffsetDateTime>,
    /// The EWS URL last discovered for this mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_ews_url: Option<String>,
    /// When it was discovered.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub ews_url_discovered_at: Option<OffsetDateTime>,
    /// The "Undeliverable" folder's EWS id, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undeliverable_folder_id: Option<String>,
}

/// A mailbox as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Id.
    pub id: MailboxId,
    /// Display name.
    pub name: String,
    /// Primary SMTP address in Exchange.
    pub email: EmailAddress,
    /// User or queue.
    pub kind: MailboxKind,
    /// Owner (receives the mailbox's alerts).
    pub owner: Principal,
    /// The owner's email address, for alert emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<EmailAddress>,
    /// The email server profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<ProfileId>,
    /// Incoming delivery method.
    pub incoming: DeliveryMethod,
    /// Outgoing delivery method.
    pub outgoing: DeliveryMethod,
    /// Appointments, contacts and tasks delivery method (user mailboxes only).
    pub appointments_contacts_tasks: ActDeliveryMethod,
    /// The mailbox's own user name, when the profile keeps credentials on mailboxes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The mailbox's own sealed password. Never returned by the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SealedSecret>,
    /// Email received before this is not processed (never before the profile's date).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub process_email_received_after: Option<OffsetDateTime>,
    /// Approval state.
    pub approval: Approval,
    /// Active mailboxes can be synced.
    pub active: bool,
    /// Incoming workload.
    pub incoming_state: WorkloadState,
    /// Outgoing workload.
    pub outgoing_state: WorkloadState,
    /// Appointments, contacts and tasks workload.
    pub act_state: WorkloadState,
    /// Test & Enable has been requested and not yet run.
    pub test_scheduled: bool,
    /// Which incoming email is tracked.
    pub tracking: IncomingTrackingOption,
    /// The sync engine's state.
    #[serde(default)]
    pub scheduler: SchedulerState,
    /// Optimistic concurrency.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

impl Mailbox {
    /// The state of one workload.
    pub fn workload(&self, w: Workload) -> &WorkloadState {
        match w {
            Workload::Incoming => &self.incoming_state,
            Workload::Outgoing => &self.outgoing_state,
            Workload::AppointmentsContactsTasks => &self.act_state,
        }
    }

    /// The state of one workload, mutable.
    pub fn workload_mut(&mut self, w: Workload) -> &mut WorkloadState {
        match w {
            Workload::Incoming => &mut self.incoming_state,
            Workload::Outgoing => &mut self.outgoing_state,
            Workload::AppointmentsContactsTasks => &mut self.act_state,
        }
    }

    /// The overall status: Failure if any enabled-or-tested workload failed, Success if at
    /// least one succeeded and none failed, else Not Run.
    pub fn overall_status(&self) -> WorkloadStatus {
        let states = [&self.incoming_state, &self.outgoing_state, &self.act_state];
        if states.iter().any(|s| s.status == WorkloadStatus::Failure) {
            WorkloadStatus::Failure
        } else if states.iter().any(|s| s.status == WorkloadStatus::Success) {
            WorkloadStatus::Success
        } else {
            WorkloadStatus::NotRun
        }
    }
}
