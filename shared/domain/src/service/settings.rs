//! Organisation email settings.

use super::{Admin, field_error, required_version};
use crate::error::DomainError;
use crate::org::{OrgSettings, OrgSettingsInput};
use crate::privilege::{Grants, Privilege, authorize};

impl Admin {
    /// The org settings (read_org_settings); defaults (version 0) until first written.
    pub async fn get_settings(&self, grants: &Grants) -> Result<OrgSettings, DomainError> {
        authorize(grants, Privilege::ReadOrgSettings)?;
        self.ports.config.get_settings().await
    }

    /// Changes the org settings (write_org_settings). Missing fields keep their values; a
    /// named default profile must exist, and the profiles' default flags follow it.
    pub async fn update_settings(
        &self,
        grants: &Grants,
        input: OrgSettingsInput,
    ) -> Result<OrgSettings, DomainError> {
        authorize(grants, Privilege::WriteOrgSettings)?;
        let version = required_version(input.version)?;
        let current = self.ports.config.get_settings().await?;
        if current.version != version {
            return Err(DomainError::VersionConflict {
                kind: "org_settings",
                id: "org".into(),
                expected: version,
            });
        }
        if let Some(Some(id)) = input.requested_default_profile()?
            && self.ports.config.get_profile(&id).await?.is_none()
        {
            return Err(field_error("default_profile", "is not an existing profile"));
        }
        let next = input.apply(&current)?;
        self.ports
            .config
            .put_settings(&next, current.version)
            .await?;
        tracing::info!(version = next.version, "org settings updated");
        self.sync_default_flags(
            current.default_profile.as_ref(),
            next.default_profile.as_ref(),
        )
        .await?;
        Ok(next)
    }

    /// Reads, changes (when `change` says so) and writes the org settings, again if someone
    /// else wrote in between.
    pub(crate) async fn modify_settings(
        &self,
        change: impl FnMut(&mut OrgSettings) -> bool,
    ) -> Result<OrgSettings, DomainError> {
        self.modify_versioned(
            || self.ports.config.get_settings(),
            |config, next, expected| config.put_settings(next, expected),
            change,
            || DomainError::Conflict("the org settings kept changing".into()),
        )
        .await
    }
}
