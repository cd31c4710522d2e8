//! Organisation-wide email settings (Dynamics 365's System Settings → Email tab).

use crate::ids::ProfileId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a workload's email is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    /// exsync's server-side synchronization.
    #[default]
    ServerSideSynchronization,
    /// The legacy Email Router (exsync does nothing for such mailboxes).
    EmailRouter,
    /// No delivery.
    None,
}

/// Appointments, contacts and tasks: only server-side sync or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActDeliveryMethod {
    /// exsync's server-side synchronization.
    #[default]
    ServerSideSynchronization,
    /// No synchronization.
    None,
}

/// The direction one field of an appointment, contact or task is synchronized in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncDirection {
    /// exsync → Exchange only.
    ToExchange,
    /// Exchange → exsync only.
    ToExsync,
    /// Both ways; a field changed on both sides goes to the newer change.
    Both,
    /// Not synchronized.
    None,
}

/// The tracking token put in subjects of outgoing email (`CRM:0001234`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingToken {
    /// Prefix (`CRM:`).
    pub prefix: String,
    /// Base number the counter starts from.
    pub base_number: u64,
    /// Digits of the counter (zero-padded).
    pub digits: u8,
}

impl Default for TrackingToken {
    fn default() -> Self {
        Self {
            prefix: "CRM:".into(),
            base_number: 0,
            digits: 7,
        }
    }
}

/// Which alert levels are written to the alerts wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertLevels {
    /// Errors (default yes).
    pub error: bool,
    /// Warnings (default no).
    pub warning: bool,
    /// Information (default yes).
    pub information: bool,
}

impl Default for AlertLevels {
    fn default() -> Self {
        Self {
            error: true,
            warning: false,
            information: true,
        }
    }
}

/// Organisation email settings: one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    /// The profile new mailboxes get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<ProfileId>,
    /// Default incoming delivery method.
    pub incoming: DeliveryMethod,
    /// Default outgoing delivery method.
    pub outgoing: DeliveryMethod,
    /// Default appointments, contacts and tasks method.
    pub appointments_contacts_tasks: ActDeliveryMethod,
    /// Process email only for approved user mailboxes (default yes).
    pub approval_required_for_user_mailboxes: bool,
    /// Process email only for approved queue mailboxes (default yes).
    pub approval_required_for_queue_mailboxes: bool,
    /// Correlate email by tracking token (default yes).
    pub use_tracking_token: bool,
    /// Tracking token format.
    pub tracking_token: TrackingToken,
    /// Correlation (In-Reply-To, token, conversation) on/off (default on).
    pub correlation_enabled: bool,
    /// Smart matching on subject/recipients (default off).
    pub smart_matching: bool,
    /// Which alert levels are written.
    pub alert_levels: AlertLevels,
    /// Notify mailbox owners of profile-level alerts too (default no).
    pub notify_mailbox_owners_of_profile_alerts: bool,
    /// Track email between two tracked users as two activities (default yes).
    pub track_email_between_users_as_two_activities: bool,
    /// Per-field direction for appointments (`subject` → `both` …).
    pub appointment_fields: BTreeMap<String, SyncDirection>,
    /// Per-field direction for contacts.
    pub contact_fields: BTreeMap<String, SyncDirection>,
    /// Per-field direction for tasks.
    pub task_fields: BTreeMap<String, SyncDirection>,
    /// How long alerts stay on the wall before they expire (days, default 30).
    #[serde(default = "default_alert_retention_days")]
    pub alert_retention_days: u32,
    /// Optimistic concurrency.
    pub version: u64,
}

/// Alerts expire after this many days unless the org says otherwise.
pub const DEFAULT_ALERT_RETENTION_DAYS: u32 = 30;

fn default_alert_retention_days() -> u32 {
    DEFAULT_ALERT_RETENTION_DAYS
}

impl Default for OrgSettings {
    /// What a new Dynamics 365 organisation starts with: server-side synchronization for
    /// every workload, approval required for user and queue mailboxes, tracking token and
    /// correlation on, smart matching off, Error and Information alerts only, and every
    /// synchronized field in its default direction ([`default_fields`]).
    fn default() -> Self {
        Self {
            default_profile: None,
            incoming: DeliveryMethod::ServerSideSynchronization,
            outgoing: DeliveryMethod::ServerSideSynchronization,
            appointments_contacts_tasks: ActDeliveryMethod::ServerSideSynchronization,
            approval_required_for_user_mailboxes: true,
            approval_required_for_queue_mailboxes: true,
            use_tracking_token: true,
            tracking_token: TrackingToken::default(),
            correlation_enabled: true,
            smart_matching: false,
            alert_levels: AlertLevels::default(),
            notify_mailbox_owners_of_profile_alerts: false,
            track_email_between_users_as_two_activities: true,
            appointment_fields: default_fields(ActEntity::Appointment),
            contact_fields: default_fields(ActEntity::Contact),
            task_fields: default_fields(ActEntity::Task),
            alert_retention_days: DEFAULT_ALERT_RETENTION_DAYS,
            version: 0,
        }
    }
}

/// The three kinds of records appointments/contacts/tasks sync keeps in step with Exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActEntity {
    /// Appointments (calendar items).
    Appointment,
    /// Contacts.
    Contact,
    /// Tasks.
    Task,
}

impl ActEntity {
    /// The settings field holding this entity's directions (`appointment_fields`…), as the
    /// API names it.
    pub fn settings_field(self) -> &'static str {
        match self {
            ActEntity::Appointment => "appointment_fields",
            ActEntity::Contact => "contact_fields",
            ActEntity::Task => "task_fields",
        }
    }
}

/// One synchronized field: its name (the exsync field it maps to) and whether an admin may
/// change its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncedField {
    /// The field's name as the entity and the API spell it (`subject`, `job_title`).
    pub name: &'static str,
    /// Whether the direction may be changed; fields Dynamics 365 keeps fixed stay `both`.
    pub settable: bool,
}

const fn field(name: &'static str, settable: bool) -> SyncedField {
    SyncedField { name, settable }
}

// Dynamics 365's table "What fields can be synchronized with Outlook?" (it applies to
// server-side synchronization with Exchange too) lists every field with its default and
// settable directions:
// https://learn.microsoft.com/en-us/dynamics365/customerengagement/on-premises/admin/what-fields-synchronized-outlook
// Every field exsync's entities carry is two-way by default there. Fields whose "Settable
// sync" column is empty (Appointment Time, attendees, Regarding, Full Name, the contact's
// Parent/Company Name, task Status) cannot be changed. The mapping to exsync's fields:
// Appointment Time → start, end, all_day; Body/Notes → body; Full Name → first_name,
// last_name; Parent (Regarding) → company; Business Phone; Mobile → mobile_phone;
// % Complete → percent_complete; Due Date → due.
const APPOINTMENT_FIELDS: &[SyncedField] = &[
    field("subject", true),
    field("start", false),
    field("end", false),
    field("all_day", false),
    field("location", true),
    field("body", true),
    field("required_attendees", false),
    field("optional_attendees", false),
    field("regarding", false),
];

const CONTACT_FIELDS: &[SyncedField] = &[
    field("first_name", false),
    field("last_name", false),
    field("email", true),
    field("company", false),
    field("job_title", true),
    field("business_phone", true),
    field("mobile_phone", true),
];

const TASK_FIELDS: &[SyncedField] = &[
    field("subject", true),
    field("body", true),
    field("due", true),
    field("status", false),
    field("percent_complete", true),
    field("regarding", false),
];

/// The fields of `entity` that sync with Exchange.
pub fn synced_fields(entity: ActEntity) -> &'static [SyncedField] {
    match entity {
        ActEntity::Appointment => APPOINTMENT_FIELDS,
        ActEntity::Contact => CONTACT_FIELDS,
        ActEntity::Task => TASK_FIELDS,
    }
}

/// Every synced field of `entity` in its default direction (two-way, as in Dynamics 365).
pub fn default_fields(entity: ActEntity) -> BTreeMap<String, SyncDirection> {
    synced_fields(entity)
        .iter()
        .map(|f| (f.name.to_owned(), SyncDirection::Both))
        .collect()
}
