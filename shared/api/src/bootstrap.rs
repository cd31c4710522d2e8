//! The first administrator. A fresh deployment has no role assignments, so nobody could
//! assign any; the deployment names one principal (`EXSYNC_BOOTSTRAP_ADMIN`) who holds every
//! privilege (the domain's [`exsync_domain::service::AdminOptions::bootstrap_admin`]) and,
//! at start, is given the `system_administrator` role in the store, so the assignment is
//! visible and survives the parameter being removed later.

use exsync_domain::DomainError;
use exsync_domain::ids::Principal;
use exsync_domain::privilege::{Grants, roles};
use exsync_domain::service::Admin;

/// The variable naming the first administrator.
pub const ENV_BOOTSTRAP_ADMIN: &str = "EXSYNC_BOOTSTRAP_ADMIN";

/// The first administrator named by the environment, if any.
pub fn bootstrap_admin_from_env() -> Option<Principal> {
    std::env::var(ENV_BOOTSTRAP_ADMIN)
        .ok()
        .and_then(|v| Principal::parse(&v))
}

/// Seeds the built-in roles and gives `admin_principal` the `system_administrator` role,
/// keeping the roles it already has. Idempotent: a second run writes the same roles and
/// assigns nothing new.
pub async fn bootstrap(admin: &Admin, admin_principal: &Principal) -> Result<(), DomainError> {
    admin.seed_builtin_roles().await?;
    // Acting as the bootstrap administrator itself: the domain grants it everything.
    let grants: Grants = admin.grants_for(Some(admin_principal)).await?;
    let mut held = admin.roles_of(&grants, admin_principal).await?;
    if !held.iter().any(|r| r == roles::SYSTEM_ADMINISTRATOR) {
        held.push(roles::SYSTEM_ADMINISTRATOR.to_owned());
        admin.set_roles(&grants, admin_principal, &held).await?;
        tracing::info!(principal = %admin_principal, "bootstrap administrator assigned system_administrator");
    }
    Ok(())
}
