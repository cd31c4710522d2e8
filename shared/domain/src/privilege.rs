//! Who may do what. Roles map to privileges; a principal holds roles. Both live in the
//! store; the built-in roles are seeded at start and a bootstrap administrator comes from
//! the deployment.

use crate::ids::Principal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A privilege an API call may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    /// Read email server profiles.
    ReadProfiles,
    /// Create, update, delete profiles; Test Connection.
    WriteProfiles,
    /// Read org email settings.
    ReadOrgSettings,
    /// Change org email settings.
    WriteOrgSettings,
    /// Read mailboxes.
    ReadMailboxes,
    /// Create and change mailboxes (delivery methods need read and write).
    WriteMailboxes,
    /// Approve or reject email for mailboxes.
    ApproveEmail,
    /// Run Test & Enable.
    TestAndEnable,
    /// Read alerts of any mailbox or profile.
    ReadAlerts,
    /// Read activities and records of anyone.
    ReadActivities,
    /// Create and change activities and records.
    WriteActivities,
    /// Assign roles to principals.
    ManageRoles,
}

impl Privilege {
    /// Every privilege.
    pub const ALL: [Privilege; 12] = [
        Privilege::ReadProfiles,
        Privilege::WriteProfiles,
        Privilege::ReadOrgSettings,
        Privilege::WriteOrgSettings,
        Privilege::ReadMailboxes,
        Privilege::WriteMailboxes,
        Privilege::ApproveEmail,
        Privilege::TestAndEnable,
        Privilege::ReadAlerts,
        Privilege::ReadActivities,
        Privilege::WriteActivities,
        Privilege::ManageRoles,
    ];

    /// The name used in APIs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::ReadProfiles => "read_profiles",
            Privilege::WriteProfiles => "write_profiles",
            Privilege::ReadOrgSettings => "read_org_settings",
            Privilege::WriteOrgSettings => "write_org_settings",
            Privilege::ReadMailboxes => "read_mailboxes",
            Privilege::WriteMailboxes => "write_mailboxes",
            Privilege::ApproveEmail => "approve_email",
            Privilege::TestAndEnable => "test_and_enable",
            Privilege::ReadAlerts => "read_alerts",
            Privilege::ReadActivities => "read_activities",
            Privilege::WriteActivities => "write_activities",
            Privilege::ManageRoles => "manage_roles",
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named set of privileges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Name (`system_administrator`).
    pub name: String,
    /// What it grants.
    pub privileges: BTreeSet<Privilege>,
}

/// What a principal may do, resolved from its roles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grants {
    /// The caller.
    pub principal: Option<Principal>,
    /// Its privileges.
    pub privileges: BTreeSet<Privilege>,
}

impl Grants {
    /// True when the caller holds `p`.
    pub fn has(&self, p: Privilege) -> bool {
        self.privileges.contains(&p)
    }
}
