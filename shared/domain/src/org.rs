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
    /// Optimistic concurrency.
    pub version: u64,
}
