//! Organisation-wide email settings (Dynamics 365's System Settings → Email tab).

use crate::ids::ProfileId;
use crate::validation::ValidationErrors;
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
    /// Deleting a synced appointment, contact or task on one side deletes it on the other
    /// too (default no: a delete only unlinks, so a slip in Outlook never loses a record).
    #[serde(default)]
    pub act_delete_propagates: bool,
    /// How often a mailbox that had mail within the last hour is polled (minutes, default
    /// 5): the fast end of the adaptive schedule ([`crate::schedule::adaptive_interval`]),
    /// the org's trade between how soon mail is tracked and what polling costs. Quieter
    /// mailboxes slow down from there; a profile's minimum polling interval still wins.
    #[serde(default = "default_active_polling_interval_minutes")]
    pub active_polling_interval_minutes: u32,
    /// Optimistic concurrency.
    pub version: u64,
}

/// How often a mailbox with recent mail is polled unless the org says otherwise.
pub const DEFAULT_ACTIVE_POLLING_INTERVAL_MINUTES: u32 = 5;

/// The slowest the org may set the active polling interval to: the idle cap, past which
/// "active" would poll slower than a mailbox idle for a day.
pub const MAX_ACTIVE_POLLING_INTERVAL_MINUTES: u32 = crate::schedule::IDLE_CAP_MINUTES;

fn default_active_polling_interval_minutes() -> u32 {
    DEFAULT_ACTIVE_POLLING_INTERVAL_MINUTES
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
            act_delete_propagates: false,
            active_polling_interval_minutes: DEFAULT_ACTIVE_POLLING_INTERVAL_MINUTES,
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

/// What an admin sends to change the org settings: every field optional, a missing one
/// keeps its stored value. Field-direction maps are merged into the stored ones.
/// `default_profile: ""` clears the default profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgSettingsInput {
    /// The version the caller read (required; a stale one is a 409).
    pub version: Option<u64>,
    /// The profile new mailboxes get.
    pub default_profile: Option<String>,
    /// Default incoming delivery method.
    pub incoming: Option<DeliveryMethod>,
    /// Default outgoing delivery method.
    pub outgoing: Option<DeliveryMethod>,
    /// Default appointments, contacts and tasks method.
    pub appointments_contacts_tasks: Option<ActDeliveryMethod>,
    /// Process email only for approved user mailboxes.
    pub approval_required_for_user_mailboxes: Option<bool>,
    /// Process email only for approved queue mailboxes.
    pub approval_required_for_queue_mailboxes: Option<bool>,
    /// Correlate by tracking token.
    pub use_tracking_token: Option<bool>,
    /// Tracking token format.
    pub tracking_token: Option<TrackingToken>,
    /// Correlation on/off.
    pub correlation_enabled: Option<bool>,
    /// Smart matching.
    pub smart_matching: Option<bool>,
    /// Which alert levels are written.
    pub alert_levels: Option<AlertLevels>,
    /// Notify mailbox owners of profile-level alerts.
    pub notify_mailbox_owners_of_profile_alerts: Option<bool>,
    /// Track email between two tracked users as two activities.
    pub track_email_between_users_as_two_activities: Option<bool>,
    /// Appointment field directions to change.
    pub appointment_fields: Option<BTreeMap<String, SyncDirection>>,
    /// Contact field directions to change.
    pub contact_fields: Option<BTreeMap<String, SyncDirection>>,
    /// Task field directions to change.
    pub task_fields: Option<BTreeMap<String, SyncDirection>>,
    /// Alert retention in days (1–365).
    pub alert_retention_days: Option<i64>,
    /// Whether deleting a synced appointment, contact or task deletes it on the other side.
    pub act_delete_propagates: Option<bool>,
    /// How often a mailbox with recent mail is polled (minutes, 1–30).
    pub active_polling_interval_minutes: Option<i64>,
}

/// The longest tracking-token prefix Dynamics 365 accepts.
pub const MAX_TOKEN_PREFIX_CHARS: usize = 20;

impl OrgSettingsInput {
    /// The default profile this input asks for: `Some(None)` clears it, `None` keeps the
    /// stored one.
    pub fn requested_default_profile(&self) -> Result<Option<Option<ProfileId>>, ValidationErrors> {
        match self.default_profile.as_deref().map(str::trim) {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(id) => ProfileId::parse(id).map(|p| Some(Some(p))).ok_or_else(|| {
                let mut errs = ValidationErrors::default();
                errs.add("default_profile", "is not a valid id");
                errs
            }),
        }
    }

    /// Applies the input to `current` and checks the result; the version is bumped. Whether
    /// a named default profile exists is the caller's to check (it needs the store).
    pub fn apply(self, current: &OrgSettings) -> Result<OrgSettings, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let default_profile = match self.requested_default_profile() {
            Ok(Some(p)) => p,
            Ok(None) => current.default_profile.clone(),
            Err(e) => {
                errs.0.extend(e.0);
                None
            }
        };
        let tracking_token = self
            .tracking_token
            .unwrap_or_else(|| current.tracking_token.clone());
        let prefix = tracking_token.prefix.trim();
        if prefix.is_empty() || prefix.chars().count() > MAX_TOKEN_PREFIX_CHARS {
            errs.add(
                "tracking_token.prefix",
                format!("must be 1 to {MAX_TOKEN_PREFIX_CHARS} characters"),
            );
        } else if prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errs.add("tracking_token.prefix", "must not contain spaces");
        }
        if !(1..=9).contains(&tracking_token.digits) {
            errs.add("tracking_token.digits", "must be between 1 and 9");
        } else if tracking_token.base_number >= 10u64.pow(u32::from(tracking_token.digits)) {
            errs.add(
                "tracking_token.base_number",
                "must have at most tracking_token.digits digits",
            );
        }
        let mut fields = |entity: ActEntity,
                          changes: Option<BTreeMap<String, SyncDirection>>,
                          stored: &BTreeMap<String, SyncDirection>| {
            let mut merged = default_fields(entity);
            merged.extend(stored.iter().map(|(k, v)| (k.clone(), *v)));
            for (name, direction) in changes.unwrap_or_default() {
                let field = format!("{}.{name}", entity.settings_field());
                match synced_fields(entity).iter().find(|f| f.name == name) {
                    None => errs.add(field, "is not a synchronized field"),
                    Some(f) if !f.settable && direction != SyncDirection::Both => errs.add(
                        field,
                        "cannot be changed: Dynamics 365 always synchronizes it both ways",
                    ),
                    Some(_) => {
                        merged.insert(name, direction);
                    }
                }
            }
            merged
        };
        let appointment_fields = fields(
            ActEntity::Appointment,
            self.appointment_fields,
            &current.appointment_fields,
        );
        let contact_fields = fields(
            ActEntity::Contact,
            self.contact_fields,
            &current.contact_fields,
        );
        let task_fields = fields(ActEntity::Task, self.task_fields, &current.task_fields);
        let alert_retention_days = bounded(
            self.alert_retention_days,
            current.alert_retention_days,
            1..=365,
            "alert_retention_days",
            &mut errs,
        );
        let active_polling_interval_minutes = bounded(
            self.active_polling_interval_minutes,
            current.active_polling_interval_minutes,
            1..=MAX_ACTIVE_POLLING_INTERVAL_MINUTES,
            "active_polling_interval_minutes",
            &mut errs,
        );
        errs.into_result()?;
        Ok(OrgSettings {
            default_profile,
            incoming: self.incoming.unwrap_or(current.incoming),
            outgoing: self.outgoing.unwrap_or(current.outgoing),
            appointments_contacts_tasks: self
                .appointments_contacts_tasks
                .unwrap_or(current.appointments_contacts_tasks),
            approval_required_for_user_mailboxes: self
                .approval_required_for_user_mailboxes
                .unwrap_or(current.approval_required_for_user_mailboxes),
            approval_required_for_queue_mailboxes: self
                .approval_required_for_queue_mailboxes
                .unwrap_or(current.approval_required_for_queue_mailboxes),
            use_tracking_token: self
                .use_tracking_token
                .unwrap_or(current.use_tracking_token),
            tracking_token: TrackingToken {
                prefix: tracking_token.prefix.trim().to_owned(),
                ..tracking_token
            },
            correlation_enabled: self
                .correlation_enabled
                .unwrap_or(current.correlation_enabled),
            smart_matching: self.smart_matching.unwrap_or(current.smart_matching),
            alert_levels: self.alert_levels.unwrap_or(current.alert_levels),
            notify_mailbox_owners_of_profile_alerts: self
                .notify_mailbox_owners_of_profile_alerts
                .unwrap_or(current.notify_mailbox_owners_of_profile_alerts),
            track_email_between_users_as_two_activities: self
                .track_email_between_users_as_two_activities
                .unwrap_or(current.track_email_between_users_as_two_activities),
            appointment_fields,
            contact_fields,
            task_fields,
            alert_retention_days,
            act_delete_propagates: self
                .act_delete_propagates
                .unwrap_or(current.act_delete_propagates),
            active_polling_interval_minutes,
            version: current.version + 1,
        })
    }
}

/// A whole-number setting: `current` when absent, the new value when it lies in `range`,
/// else an error naming `field` (and `current`, so the other fields are still checked).
fn bounded(
    value: Option<i64>,
    current: u32,
    range: std::ops::RangeInclusive<u32>,
    field: &str,
    errs: &mut ValidationErrors,
) -> u32 {
    match value {
        None => current,
        Some(v) => match u32::try_from(v) {
            Ok(v) if range.contains(&v) => v,
            _ => {
                errs.add(
                    field,
                    format!("must be between {} and {}", range.start(), range.end()),
                );
                current
            }
        },
    }
}

impl OrgSettings {
    /// Whether alerts of `level` are written.
    pub fn writes_alerts(&self, level: crate::alert::AlertLevel) -> bool {
        use crate::alert::AlertLevel;
        match level {
            AlertLevel::Error => self.alert_levels.error,
            AlertLevel::Warning => self.alert_levels.warning,
            AlertLevel::Information => self.alert_levels.information,
        }
    }
}
