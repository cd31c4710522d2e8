//! Mailboxes: the Exchange mailboxes exsync syncs, their approval, per-workload status, and
//! the scheduler's state.

use crate::ids::{EmailAddress, MailboxId, Principal, ProfileId};
use crate::org::{ActDeliveryMethod, DeliveryMethod};
use crate::profile::SealedSecret;
use crate::validation::{ValidationErrors, check};
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
    /// When the status last changed (Test & Enable always sets it). Only on a change, not
    /// on every successful poll: the schedule reads a healthy workload's `status_at` as
    /// "enabled since" to poll a just-enabled mailbox fast (`schedule::refresh_schedule`).
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
    /// Polling interval in minutes currently used to place the mailbox on slots; `None`
    /// while the mailbox is not schedulable (it is then on no slot). Set by
    /// [`crate::schedule::refresh_schedule`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_minutes: Option<u32>,
    /// The workloads the scheduler polls the mailbox for (projected on the due index, so
    /// the scheduler needs no mailbox read). Set by [`crate::schedule::refresh_schedule`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub due_workloads: Vec<Workload>,
    /// The SQS message group of its poll jobs ([`crate::schedule::poll_group`]), while
    /// schedulable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_group: Option<String>,
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
    /// Items processed in the last sync that did something (every workload of that poll).
    #[serde(default)]
    pub items_processed: u32,
    /// Items that failed in the last sync that did something (every workload of that poll).
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

/// Longest mailbox name kept.
pub const MAX_NAME_CHARS: usize = 160;

/// What an admin sends to create or update a mailbox. On create a missing field takes its
/// default (delivery methods and profile from the org settings); on update it keeps its
/// stored value. `profile_id: ""` removes the profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxInput {
    /// On update, the version the caller read (required; a stale one is a 409).
    pub version: Option<u64>,
    /// Display name (required, at most 160 characters).
    pub name: Option<String>,
    /// Primary SMTP address (required).
    pub email: Option<String>,
    /// User (default) or queue.
    pub kind: Option<MailboxKind>,
    /// Owner principal (default: the caller).
    pub owner: Option<String>,
    /// The owner's email address.
    pub owner_email: Option<String>,
    /// The email server profile (default: the org's default profile).
    pub profile_id: Option<String>,
    /// Incoming delivery method (default: the org's).
    pub incoming: Option<DeliveryMethod>,
    /// Outgoing delivery method (default: the org's).
    pub outgoing: Option<DeliveryMethod>,
    /// Appointments, contacts and tasks (default: the org's for user mailboxes, none for
    /// queues; server-side synchronization only for user mailboxes).
    pub appointments_contacts_tasks: Option<ActDeliveryMethod>,
    /// The mailbox's own account, when its profile keeps credentials on mailboxes.
    pub user_name: Option<String>,
    /// The mailbox's own password: write-only; omitted on update, the stored one is kept.
    pub password: Option<String>,
    /// Email received before this is not processed (RFC 3339; never before the profile's
    /// process_email_from).
    pub process_email_received_after: Option<String>,
    /// Which incoming email is tracked (default: replies to tracked email for users, all
    /// email for queues, as Dynamics 365 does).
    pub tracking: Option<IncomingTrackingOption>,
    /// Active (default yes).
    pub active: Option<bool>,
}

/// What validating a mailbox input needs besides the input.
#[derive(Debug, Clone, Copy)]
pub struct MailboxRules<'a> {
    /// The stored mailbox, on update.
    pub existing: Option<&'a Mailbox>,
    /// The profile the mailbox will be on (resolved from
    /// [`MailboxInput::requested_profile`]).
    pub profile: Option<&'a crate::profile::Profile>,
    /// The org settings (defaults).
    pub settings: &'a crate::org::OrgSettings,
    /// The caller (default owner).
    pub caller: Option<&'a Principal>,
    /// Now.
    pub now: OffsetDateTime,
}

/// A validated mailbox and the new password to seal, if one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedMailbox {
    /// The mailbox as it will be stored.
    pub mailbox: Mailbox,
    /// A new password, still plain: the service seals it before anything is stored.
    pub new_password: Option<exsync_ews::transport::Secret>,
}

impl MailboxInput {
    /// The profile this input puts the mailbox on: the one named, none for `""`, else the
    /// stored one (update) or the org's default (create).
    pub fn requested_profile(
        &self,
        existing: Option<&Mailbox>,
        settings: &crate::org::OrgSettings,
    ) -> Result<Option<ProfileId>, ValidationErrors> {
        match self.profile_id.as_deref().map(str::trim) {
            Some("") => Ok(None),
            Some(id) => ProfileId::parse(id).map(Some).ok_or_else(|| {
                let mut errs = ValidationErrors::default();
                errs.add("profile_id", "is not a valid id");
                errs
            }),
            None => Ok(match existing {
                Some(m) => m.profile_id.clone(),
                None => settings.default_profile.clone(),
            }),
        }
    }

    /// True when the input changes a delivery method (or sets one on create): that needs
    /// read as well as write on mailboxes.
    pub fn sets_delivery_methods(&self, existing: Option<&Mailbox>) -> bool {
        match existing {
            None => {
                self.incoming.is_some()
                    || self.outgoing.is_some()
                    || self.appointments_contacts_tasks.is_some()
            }
            Some(m) => {
                self.incoming.is_some_and(|d| d != m.incoming)
                    || self.outgoing.is_some_and(|d| d != m.outgoing)
                    || self
                        .appointments_contacts_tasks
                        .is_some_and(|d| d != m.appointments_contacts_tasks)
            }
        }
    }

    /// Checks every field and builds the mailbox, applying what an identity change
    /// implies ([`Mailbox::reset_after_change`]).
    pub fn validate(self, rules: MailboxRules<'_>) -> Result<ValidatedMailbox, ValidationErrors> {
        use crate::profile::CredentialsLocation;
        let MailboxRules {
            existing,
            profile,
            settings,
            caller,
            now,
        } = rules;
        let mut errs = ValidationErrors::default();
        let name = check::required_text(
            &mut errs,
            "name",
            self.name.as_deref().or(existing.map(|m| m.name.as_str())),
            MAX_NAME_CHARS,
        );
        let email = check::email(
            &mut errs,
            "email",
            self.email.as_deref().or(existing.map(|m| m.email.as_str())),
        );
        let kind = self
            .kind
            .or(existing.map(|m| m.kind))
            .unwrap_or(MailboxKind::User);
        let owner = match self.owner.as_deref().map(str::trim) {
            Some(o) if !o.is_empty() => check::optional_principal(&mut errs, "owner", Some(o)),
            _ => {
                let fallback = existing.map(|m| m.owner.clone()).or(caller.cloned());
                if fallback.is_none() {
                    errs.add("owner", "is required");
                }
                fallback
            }
        };
        let owner_email = match &self.owner_email {
            Some(v) => check::optional_email(&mut errs, "owner_email", Some(v)),
            None => existing.and_then(|m| m.owner_email.clone()),
        };

        let incoming = self
            .incoming
            .or(existing.map(|m| m.incoming))
            .unwrap_or(settings.incoming);
        let outgoing = self
            .outgoing
            .or(existing.map(|m| m.outgoing))
            .unwrap_or(settings.outgoing);
        let default_act = match kind {
            MailboxKind::User => settings.appointments_contacts_tasks,
            MailboxKind::Queue => ActDeliveryMethod::None,
        };
        let act = self
            .appointments_contacts_tasks
            .or(existing.map(|m| m.appointments_contacts_tasks))
            .unwrap_or(default_act);
        if kind == MailboxKind::Queue && act == ActDeliveryMethod::ServerSideSynchronization {
            errs.add(
                "appointments_contacts_tasks",
                "server-side synchronization of appointments, contacts and tasks is only for user mailboxes",
            );
        }

        let location = profile.map(|p| p.credentials_location);
        let keeps_own = location != Some(CredentialsLocation::Profile);
        let stored_user = existing
            .filter(|_| keeps_own)
            .and_then(|m| m.user_name.clone());
        let stored_password = existing
            .filter(|_| keeps_own)
            .and_then(|m| m.password.clone());
        let given_user = self
            .user_name
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let mut new_password = None;
        let mut user_name = None;
        match location {
            Some(CredentialsLocation::Profile) => {
                if given_user.is_some() {
                    errs.add(
                        "user_name",
                        "must be empty: the mailbox's profile keeps credentials on the profile",
                    );
                }
                if self.password.is_some() {
                    errs.add(
                        "password",
                        "must be empty: the mailbox's profile keeps credentials on the profile",
                    );
                }
            }
            Some(CredentialsLocation::Mailbox) | None => {
                let required = location.is_some();
                let candidate = match self.user_name.as_deref() {
                    Some(u) => Some(u),
                    None => stored_user.as_deref(),
                };
                if required || candidate.is_some_and(|u| !u.trim().is_empty()) {
                    user_name = check::user_name(&mut errs, "user_name", candidate);
                }
                match self.password.as_deref() {
                    Some("") => errs.add("password", "must not be empty"),
                    Some(p) if p.chars().count() > 256 => {
                        errs.add("password", "must be at most 256 characters")
                    }
                    Some(p) => new_password = Some(exsync_ews::transport::Secret::new(p)),
                    None if required && stored_password.is_none() => errs.add(
                        "password",
                        "is required: the mailbox's profile keeps credentials on mailboxes",
                    ),
                    None => {}
                }
                if new_password.is_none()
                    && stored_password.is_some()
                    && existing.is_some_and(|m| m.user_name != user_name)
                {
                    errs.add("password", "is required when user_name changes");
                }
            }
        }
        let password = if new_password.is_some() || location == Some(CredentialsLocation::Profile) {
            None
        } else {
            stored_password
        };

        let after = match &self.process_email_received_after {
            Some(v) => check::optional_datetime(&mut errs, "process_email_received_after", Some(v)),
            None => existing.and_then(|m| m.process_email_received_after),
        };
        if let (Some(after), Some(p)) = (after, profile)
            && after < p.process_email_from
        {
            errs.add(
                "process_email_received_after",
                format!(
                    "must not be before the profile's process_email_from ({})",
                    p.process_email_from
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                ),
            );
        }
        let tracking = self
            .tracking
            .or(existing.map(|m| m.tracking))
            .unwrap_or(match kind {
                MailboxKind::User => IncomingTrackingOption::RepliesToTrackedEmail,
                MailboxKind::Queue => IncomingTrackingOption::AllEmail,
            });
        errs.into_result()?;
        let (Some(name), Some(email), Some(owner)) = (name, email, owner) else {
            let mut errs = ValidationErrors::default();
            errs.add("name", "is required");
            return Err(errs);
        };

        let mut mailbox = match existing {
            Some(m) => m.clone(),
            None => Mailbox {
                id: MailboxId::new(),
                name: String::new(),
                email: email.clone(),
                kind,
                owner: owner.clone(),
                owner_email: None,
                profile_id: None,
                incoming,
                outgoing,
                appointments_contacts_tasks: act,
                user_name: None,
                password: None,
                process_email_received_after: None,
                approval: Approval::Empty,
                active: true,
                incoming_state: WorkloadState::default(),
                outgoing_state: WorkloadState::default(),
                act_state: WorkloadState::default(),
                test_scheduled: false,
                tracking,
                scheduler: SchedulerState::default(),
                version: 0,
                created_at: now,
                modified_at: now,
            },
        };
        let before = mailbox.clone();
        mailbox.name = name;
        mailbox.email = email;
        mailbox.kind = kind;
        mailbox.owner = owner;
        mailbox.owner_email = owner_email;
        mailbox.profile_id = profile.map(|p| p.id.clone());
        mailbox.incoming = incoming;
        mailbox.outgoing = outgoing;
        mailbox.appointments_contacts_tasks = act;
        mailbox.user_name = user_name;
        mailbox.password = password;
        mailbox.process_email_received_after = after;
        mailbox.tracking = tracking;
        mailbox.active = self.active.unwrap_or(before.active);
        mailbox.version = before.version + 1;
        mailbox.modified_at = now;
        if existing.is_some() {
            mailbox.reset_after_change(&before, new_password.is_some());
        }
        Ok(ValidatedMailbox {
            mailbox,
            new_password,
        })
    }
}

impl Mailbox {
    /// What a change of identity means for a mailbox, as in Dynamics 365: a new email
    /// address must be approved again; a new address, profile or credentials must pass
    /// Test & Enable again (every workload disabled, status Not Run); a workload whose
    /// delivery method is no longer server-side synchronization is disabled.
    pub fn reset_after_change(&mut self, before: &Mailbox, new_password: bool) {
        let email_changed = self.email != before.email;
        if email_changed {
            self.approval = Approval::Empty;
        }
        let retest = email_changed
            || self.profile_id != before.profile_id
            || self.user_name != before.user_name
            || new_password;
        if retest {
            for w in Workload::ALL {
                *self.workload_mut(w) = WorkloadState::default();
            }
            self.test_scheduled = false;
            self.scheduler.cached_ews_url = None;
            self.scheduler.ews_url_discovered_at = None;
        }
        for w in Workload::ALL {
            if !self.uses_server_side_sync(w) {
                let state = self.workload_mut(w);
                state.enabled = false;
                state.status = WorkloadStatus::NotRun;
                state.last_error_code = None;
                state.last_error_text = None;
            }
        }
    }

    /// True when `w` is delivered by exsync's server-side synchronization.
    pub fn uses_server_side_sync(&self, w: Workload) -> bool {
        match w {
            Workload::Incoming => self.incoming == DeliveryMethod::ServerSideSynchronization,
            Workload::Outgoing => self.outgoing == DeliveryMethod::ServerSideSynchronization,
            Workload::AppointmentsContactsTasks => {
                self.appointments_contacts_tasks == ActDeliveryMethod::ServerSideSynchronization
            }
        }
    }

    /// True when the org requires approval for this kind of mailbox and it is not
    /// approved: nothing may be enabled.
    pub fn awaits_approval(&self, settings: &crate::org::OrgSettings) -> bool {
        let required = match self.kind {
            MailboxKind::User => settings.approval_required_for_user_mailboxes,
            MailboxKind::Queue => settings.approval_required_for_queue_mailboxes,
        };
        required && self.approval != Approval::Approved
    }
}

impl Workload {
    /// The name used in APIs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Incoming => "incoming",
            Workload::Outgoing => "outgoing",
            Workload::AppointmentsContactsTasks => "appointments_contacts_tasks",
        }
    }
}

/// A mailbox as the API shows it: everything but the password, which is reduced to
/// whether one is set, plus the overall status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxView {
    /// Id.
    pub id: MailboxId,
    /// Display name.
    pub name: String,
    /// Primary SMTP address.
    pub email: EmailAddress,
    /// User or queue.
    pub kind: MailboxKind,
    /// Owner.
    pub owner: Principal,
    /// The owner's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<EmailAddress>,
    /// The email server profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<ProfileId>,
    /// Incoming delivery method.
    pub incoming: DeliveryMethod,
    /// Outgoing delivery method.
    pub outgoing: DeliveryMethod,
    /// Appointments, contacts and tasks delivery method.
    pub appointments_contacts_tasks: ActDeliveryMethod,
    /// The mailbox's own account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Whether the mailbox has its own password stored (never returned).
    pub password_set: bool,
    /// Email received before this is not processed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub process_email_received_after: Option<OffsetDateTime>,
    /// Approval.
    pub approval: Approval,
    /// Active.
    pub active: bool,
    /// Incoming workload.
    pub incoming_state: WorkloadState,
    /// Outgoing workload.
    pub outgoing_state: WorkloadState,
    /// Appointments, contacts and tasks workload.
    pub act_state: WorkloadState,
    /// Overall status.
    pub status: WorkloadStatus,
    /// Test & Enable is queued.
    pub test_scheduled: bool,
    /// Which incoming email is tracked.
    pub tracking: IncomingTrackingOption,
    /// The sync engine's state.
    pub scheduler: SchedulerState,
    /// Send it back on update.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

impl From<&Mailbox> for MailboxView {
    fn from(m: &Mailbox) -> Self {
        MailboxView {
            id: m.id.clone(),
            name: m.name.clone(),
            email: m.email.clone(),
            kind: m.kind,
            owner: m.owner.clone(),
            owner_email: m.owner_email.clone(),
            profile_id: m.profile_id.clone(),
            incoming: m.incoming,
            outgoing: m.outgoing,
            appointments_contacts_tasks: m.appointments_contacts_tasks,
            user_name: m.user_name.clone(),
            password_set: m.password.is_some(),
            process_email_received_after: m.process_email_received_after,
            approval: m.approval,
            active: m.active,
            incoming_state: m.incoming_state.clone(),
            outgoing_state: m.outgoing_state.clone(),
            act_state: m.act_state.clone(),
            status: m.overall_status(),
            test_scheduled: m.test_scheduled,
            tracking: m.tracking,
            scheduler: m.scheduler.clone(),
            version: m.version,
            created_at: m.created_at,
            modified_at: m.modified_at,
        }
    }
}
