//! Who may do what. Roles map to privileges; a principal holds roles. Both live in the
//! store; the built-in roles are seeded at start and a bootstrap administrator comes from
//! the deployment.

use crate::error::DomainError;
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

impl Grants {
    /// Grants holding every privilege (the bootstrap administrator, and the jobs worker
    /// acting for a job whose requester was authorized when it was queued).
    pub fn all(principal: Option<Principal>) -> Self {
        Self {
            principal,
            privileges: Privilege::ALL.into_iter().collect(),
        }
    }

    /// True when the caller is `owner`.
    pub fn is(&self, owner: &Principal) -> bool {
        self.principal.as_ref() == Some(owner)
    }
}

/// The one place a privilege is checked: `Ok` when `grants` holds `privilege`, else
/// [`DomainError::Forbidden`] naming it (the API answers 403 with that name).
pub fn authorize(grants: &Grants, privilege: Privilege) -> Result<(), DomainError> {
    if grants.has(privilege) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(privilege))
    }
}

/// Every privilege in `privileges`; the first missing one is named.
pub fn authorize_all(grants: &Grants, privileges: &[Privilege]) -> Result<(), DomainError> {
    privileges.iter().try_for_each(|p| authorize(grants, *p))
}

/// `privilege`, or being one of `owners`: the owner rule (a mailbox owner reads their own
/// mailbox, its alerts and their own activities without the general privilege).
pub fn authorize_or_owner<'a>(
    grants: &Grants,
    privilege: Privilege,
    owners: impl IntoIterator<Item = &'a Principal>,
) -> Result<(), DomainError> {
    if grants.has(privilege) || owners.into_iter().any(|o| grants.is(o)) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(privilege))
    }
}

/// The names of the built-in roles.
pub mod roles {
    /// Every privilege.
    pub const SYSTEM_ADMINISTRATOR: &str = "system_administrator";
    /// Runs the Exchange integration: profiles, org settings, mailboxes, approval, Test &
    /// Enable, alerts.
    pub const EXCHANGE_ADMINISTRATOR: &str = "exchange_administrator";
    /// Puts mailboxes on profiles and runs Test & Enable, without touching profiles or
    /// org settings.
    pub const MAILBOX_MANAGER: &str = "mailbox_manager";
    /// Approves or rejects mailboxes' email addresses.
    pub const EMAIL_APPROVER: &str = "email_approver";
    /// Works with activities and records (a CRM user).
    pub const SALESPERSON: &str = "salesperson";
}

/// The built-in roles, seeded into the store at first start:
///
/// | role | privileges | why |
/// |---|---|---|
/// | `system_administrator` | all | the bootstrap administrator's role |
/// | `exchange_administrator` | profiles, org settings and mailboxes read/write, approve email, Test & Enable, read alerts | Dynamics 365 lets Exchange administrators approve mailboxes; they own the whole integration |
/// | `mailbox_manager` | read profiles and org settings, mailboxes read/write, Test & Enable, read alerts | onboarding users onto an existing profile (read on profiles to pick one, read on org settings to apply the defaults) |
/// | `email_approver` | read mailboxes, approve email, read alerts | approval is a separate duty, as in Dynamics 365 |
/// | `salesperson` | read and write activities | a CRM user; their own mailbox and alerts come from the owner rule |
pub fn builtin_roles() -> Vec<Role> {
    use Privilege::*;
    let role = |name: &str, privileges: &[Privilege]| Role {
        name: name.to_owned(),
        privileges: privileges.iter().copied().collect(),
    };
    vec![
        role(roles::SYSTEM_ADMINISTRATOR, &Privilege::ALL),
        role(
            roles::EXCHANGE_ADMINISTRATOR,
            &[
                ReadProfiles,
                WriteProfiles,
                ReadOrgSettings,
                WriteOrgSettings,
                ReadMailboxes,
                WriteMailboxes,
                ApproveEmail,
                TestAndEnable,
                ReadAlerts,
            ],
        ),
        role(
            roles::MAILBOX_MANAGER,
            &[
                ReadProfiles,
                ReadOrgSettings,
                ReadMailboxes,
                WriteMailboxes,
                TestAndEnable,
                ReadAlerts,
            ],
        ),
        role(
            roles::EMAIL_APPROVER,
            &[ReadMailboxes, ApproveEmail, ReadAlerts],
        ),
        role(roles::SALESPERSON, &[ReadActivities, WriteActivities]),
    ]
}

/// The grants of `principal` holding `roles` (unknown role names grant nothing).
pub fn grants_from_roles<'a>(
    principal: Option<Principal>,
    roles: impl IntoIterator<Item = &'a Role>,
) -> Grants {
    Grants {
        principal,
        privileges: roles
            .into_iter()
            .flat_map(|r| r.privileges.iter().copied())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(privileges: &[Privilege]) -> Grants {
        Grants {
            principal: Principal::parse("alice"),
            privileges: privileges.iter().copied().collect(),
        }
    }

    fn role(name: &str) -> Role {
        builtin_roles()
            .into_iter()
            .find(|r| r.name == name)
            .unwrap()
    }

    #[test]
    fn a_missing_privilege_is_forbidden_and_named() {
        let err = authorize(
            &grants(&[Privilege::ReadProfiles]),
            Privilege::WriteProfiles,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DomainError::Forbidden(Privilege::WriteProfiles)
        ));
    }

    #[test]
    fn a_held_privilege_is_allowed() {
        assert!(
            authorize(
                &grants(&[Privilege::WriteProfiles]),
                Privilege::WriteProfiles
            )
            .is_ok()
        );
    }

    #[test]
    fn authorize_all_names_the_first_missing_privilege() {
        let err = authorize_all(
            &grants(&[Privilege::WriteMailboxes]),
            &[Privilege::WriteMailboxes, Privilege::ReadMailboxes],
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DomainError::Forbidden(Privilege::ReadMailboxes)
        ));
    }

    #[test]
    fn an_owner_passes_without_the_general_privilege() {
        let alice = Principal::parse("alice").unwrap();
        assert!(authorize_or_owner(&grants(&[]), Privilege::ReadMailboxes, [&alice]).is_ok());
    }

    #[test]
    fn someone_else_needs_the_general_privilege() {
        let bob = Principal::parse("bob").unwrap();
        let err = authorize_or_owner(&grants(&[]), Privilege::ReadMailboxes, [&bob]).unwrap_err();
        assert!(matches!(
            err,
            DomainError::Forbidden(Privilege::ReadMailboxes)
        ));
    }

    #[test]
    fn an_anonymous_caller_is_nobody_s_owner() {
        let alice = Principal::parse("alice").unwrap();
        let anonymous = Grants::default();
        assert!(authorize_or_owner(&anonymous, Privilege::ReadAlerts, [&alice]).is_err());
    }

    #[test]
    fn system_administrator_holds_every_privilege() {
        let admin = role(roles::SYSTEM_ADMINISTRATOR);
        assert_eq!(admin.privileges.len(), Privilege::ALL.len());
    }

    #[test]
    fn only_the_system_administrator_manages_roles() {
        for r in builtin_roles() {
            assert_eq!(
                r.privileges.contains(&Privilege::ManageRoles),
                r.name == roles::SYSTEM_ADMINISTRATOR,
                "{}",
                r.name
            );
        }
    }

    #[test]
    fn a_mailbox_manager_may_set_delivery_methods_but_not_change_profiles() {
        let g = grants_from_roles(None, [&role(roles::MAILBOX_MANAGER)]);
        assert!(g.has(Privilege::ReadMailboxes) && g.has(Privilege::WriteMailboxes));
        assert!(!g.has(Privilege::WriteProfiles));
        assert!(!g.has(Privilege::ApproveEmail));
    }

    #[test]
    fn an_email_approver_approves_but_cannot_change_mailboxes() {
        let g = grants_from_roles(None, [&role(roles::EMAIL_APPROVER)]);
        assert!(g.has(Privilege::ApproveEmail));
        assert!(!g.has(Privilege::WriteMailboxes));
    }

    #[test]
    fn a_salesperson_has_no_administrative_privilege() {
        let g = grants_from_roles(None, [&role(roles::SALESPERSON)]);
        assert_eq!(
            g.privileges.iter().copied().collect::<Vec<_>>(),
            vec![Privilege::ReadActivities, Privilege::WriteActivities]
        );
    }

    #[test]
    fn roles_add_up() {
        let g = grants_from_roles(
            None,
            [&role(roles::EMAIL_APPROVER), &role(roles::SALESPERSON)],
        );
        assert!(g.has(Privilege::ApproveEmail) && g.has(Privilege::WriteActivities));
    }
}
