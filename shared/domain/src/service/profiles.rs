//! Email server profiles: create, read, update, delete, set as default, Test Connection.

use super::{Admin, PageRequest, field_error, required_version};
use crate::error::DomainError;
use crate::exchange::{profile_credentials, profile_secret_context};
use crate::ids::{EmailAddress, ProfileId};
use crate::ports::{MailboxFilter, Page};
use crate::privilege::{Grants, Privilege, authorize, authorize_all};
use crate::profile::{
    CredentialsLocation, Profile, ProfileInput, ProfileView, TestConnectionResult,
};
use crate::test_connection::{self, TestConnectionInput};
use crate::validation::ValidationErrors;
use exsync_ews::transport::{Credentials, Secret};

impl Admin {
    /// Creates a profile (write_profiles; also write_org_settings when it is to be the
    /// default). The password is sealed under the new profile's id before it is stored.
    pub async fn create_profile(
        &self,
        grants: &Grants,
        input: ProfileInput,
    ) -> Result<ProfileView, DomainError> {
        authorize(grants, Privilege::WriteProfiles)?;
        let make_default = input.is_default_for_new_mailboxes == Some(true);
        if make_default {
            authorize(grants, Privilege::WriteOrgSettings)?;
        }
        let validated = input.validate(None, grants.principal.as_ref(), self.now())?;
        let mut profile = validated.profile;
        self.seal_new_password(
            validated.new_password,
            &profile_secret_context(&profile.id),
            &mut profile.password,
        )
        .await?;
        // The flag follows the org settings; it is set once the settings name the profile.
        profile.is_default_for_new_mailboxes = false;
        self.ports.config.create_profile(&profile).await?;
        tracing::info!(profile_id = %profile.id, name = %profile.name, "profile created");
        if make_default {
            self.make_default(&profile.id).await?;
            return self
                .load_profile(&profile.id)
                .await
                .map(|p| ProfileView::from(&p));
        }
        Ok(ProfileView::from(&profile))
    }

    /// A profile (read_profiles).
    pub async fn get_profile(
        &self,
        grants: &Grants,
        id: &ProfileId,
    ) -> Result<ProfileView, DomainError> {
        authorize(grants, Privilege::ReadProfiles)?;
        self.load_profile(id).await.map(|p| ProfileView::from(&p))
    }

    /// Profiles by name (read_profiles).
    pub async fn list_profiles(
        &self,
        grants: &Grants,
        page: &PageRequest,
    ) -> Result<Page<ProfileView>, DomainError> {
        authorize(grants, Privilege::ReadProfiles)?;
        let found = self
            .ports
            .config
            .list_profiles(page.limit()?, page.next.clone())
            .await?;
        Ok(Page {
            items: found.items.iter().map(ProfileView::from).collect(),
            next: found.next,
        })
    }

    /// Updates a profile (write_profiles; also write_org_settings when its default flag
    /// changes). Missing fields keep their values; the stored password is kept unless a
    /// new one is given. A stale `version` is a 409.
    pub async fn update_profile(
        &self,
        grants: &Grants,
        id: &ProfileId,
        input: ProfileInput,
    ) -> Result<ProfileView, DomainError> {
        authorize(grants, Privilege::WriteProfiles)?;
        let version = required_version(input.version)?;
        let existing = self.load_profile(id).await?;
        let default_change = input
            .is_default_for_new_mailboxes
            .filter(|d| *d != existing.is_default_for_new_mailboxes);
        if default_change.is_some() {
            authorize(grants, Privilege::WriteOrgSettings)?;
        }
        if existing.version != version {
            return Err(DomainError::VersionConflict {
                kind: "profile",
                id: id.to_string(),
                expected: version,
            });
        }
        let validated = input.validate(Some(&existing), grants.principal.as_ref(), self.now())?;
        let mut profile = validated.profile;
        profile.is_default_for_new_mailboxes = existing.is_default_for_new_mailboxes;
        self.seal_new_password(
            validated.new_password,
            &profile_secret_context(&profile.id),
            &mut profile.password,
        )
        .await?;
        self.ports
            .config
            .update_profile(&profile, existing.version)
            .await?;
        tracing::info!(profile_id = %profile.id, version = profile.version, "profile updated");
        match default_change {
            Some(true) => self.make_default(id).await?,
            Some(false) => self.clear_default(id).await?,
            None => {}
        }
        self.load_profile(id).await.map(|p| ProfileView::from(&p))
    }

    /// Deletes a profile (write_profiles). Refused with a 409 naming the count while
    /// mailboxes use it; when it was the org's default, the org has no default afterwards.
    pub async fn delete_profile(
        &self,
        grants: &Grants,
        id: &ProfileId,
        version: Option<u64>,
    ) -> Result<(), DomainError> {
        authorize(grants, Privilege::WriteProfiles)?;
        let existing = self.load_profile(id).await?;
        let expected = version.unwrap_or(existing.version);
        if existing.version != expected {
            return Err(DomainError::VersionConflict {
                kind: "profile",
                id: id.to_string(),
                expected,
            });
        }
        let used_by = self.count_mailboxes(id, None).await?;
        if used_by > 0 {
            return Err(DomainError::Conflict(format!(
                "the profile {} is used by {used_by} mailbox(es): move them to another profile first",
                existing.name
            )));
        }
        self.ports.config.delete_profile(id, expected).await?;
        tracing::info!(profile_id = %id, "profile deleted");
        self.unname_default(id).await
    }

    /// Makes a profile the org's default for new mailboxes (write_profiles and
    /// write_org_settings): the org settings name it and its flag is set; the previous
    /// default's flag is cleared.
    pub async fn set_default_profile(
        &self,
        grants: &Grants,
        id: &ProfileId,
    ) -> Result<ProfileView, DomainError> {
        authorize_all(
            grants,
            &[Privilege::WriteProfiles, Privilege::WriteOrgSettings],
        )?;
        self.load_profile(id).await?;
        self.make_default(id).await?;
        self.load_profile(id).await.map(|p| ProfileView::from(&p))
    }

    /// Runs Test Connection (write_profiles): Autodiscover when on, TLS and authentication,
    /// impersonation of the test mailbox (the caller's choice, else the owner's address),
    /// the Inbox. The result is stored on the profile and returned.
    pub async fn test_connection(
        &self,
        grants: &Grants,
        id: &ProfileId,
        input: TestConnectionInput,
    ) -> Result<TestConnectionResult, DomainError> {
        authorize(grants, Privilege::WriteProfiles)?;
        let profile = self.load_profile(id).await?;
        let mut errs = ValidationErrors::default();
        let test_mailbox = match input.test_mailbox.as_deref().map(str::trim) {
            None | Some("") => Some(profile.owner.email.clone()),
            Some(v) => {
                let parsed = EmailAddress::parse(v);
                if parsed.is_none() {
                    errs.add("test_mailbox", "must be an email address (name@domain.tld)");
                }
                parsed
            }
        };
        let credentials = match profile.credentials_location {
            CredentialsLocation::Profile => {
                if input.user_name.is_some() || input.password.is_some() {
                    errs.add(
                        "password",
                        "must be empty: the profile's own service account is tested",
                    );
                }
                errs.into_result()?;
                match profile_credentials(&profile, self.ports.sealer.as_ref()).await? {
                    Ok(c) => c,
                    Err(missing) => return Err(DomainError::Conflict(missing.problem)),
                }
            }
            CredentialsLocation::Mailbox => {
                let user = input.user_name.as_deref().map(str::trim).unwrap_or("");
                if user.is_empty() {
                    errs.add(
                        "user_name",
                        "is required: the profile keeps credentials on mailboxes, so name the test mailbox's account",
                    );
                }
                if input.password.as_deref().is_none_or(str::is_empty) {
                    errs.add(
                        "password",
                        "is required: the profile keeps credentials on mailboxes",
                    );
                }
                errs.into_result()?;
                Credentials {
                    scheme: match profile.auth_type {
                        crate::profile::AuthType::Ntlm => exsync_ews::transport::AuthScheme::Ntlm,
                        crate::profile::AuthType::Basic => exsync_ews::transport::AuthScheme::Basic,
                    },
                    user: user.to_owned(),
                    password: Secret::new(input.password.unwrap_or_default()),
                }
            }
        };
        let Some(test_mailbox) = test_mailbox else {
            return Err(field_error("test_mailbox", "must be an email address"));
        };
        let impersonating = profile.credentials_location == CredentialsLocation::Profile;
        let result = test_connection::run(
            &self.exchange,
            &profile,
            credentials,
            impersonating,
            &test_mailbox,
            self.now(),
        )
        .await;
        let stored = result.clone();
        self.modify_profile(id, move |p| {
            p.last_test = Some(stored.clone());
            true
        })
        .await?;
        Ok(result)
    }

    pub(crate) async fn load_profile(&self, id: &ProfileId) -> Result<Profile, DomainError> {
        self.ports
            .config
            .get_profile(id)
            .await?
            .ok_or_else(|| DomainError::NotFound {
                kind: "profile",
                id: id.to_string(),
            })
    }

    /// Reads, changes (when `change` says so) and writes a profile, again if someone else
    /// wrote in between.
    pub(crate) async fn modify_profile(
        &self,
        id: &ProfileId,
        change: impl FnMut(&mut Profile) -> bool,
    ) -> Result<Profile, DomainError> {
        self.modify_versioned(
            || self.load_profile(id),
            |config, next, expected| config.update_profile(next, expected),
            change,
            || DomainError::Conflict(format!("the profile {id} kept changing")),
        )
        .await
    }

    /// Mailboxes on a profile (only active ones when `active` says so), counted page by
    /// page.
    pub(crate) async fn count_mailboxes(
        &self,
        profile: &ProfileId,
        active: Option<bool>,
    ) -> Result<u64, DomainError> {
        let filter = MailboxFilter {
            profile: Some(profile.clone()),
            active,
            ..MailboxFilter::default()
        };
        let mut count = 0u64;
        let mut next = None;
        loop {
            let page = self
                .ports
                .config
                .list_mailboxes(&filter, super::MAX_PAGE, next)
                .await?;
            count += page.items.len() as u64;
            match page.next {
                Some(token) => next = Some(token),
                None => return Ok(count),
            }
        }
    }

    /// Points the org settings at `id` and moves the default flag to it.
    pub(crate) async fn make_default(&self, id: &ProfileId) -> Result<(), DomainError> {
        let mut previous = None;
        self.modify_settings(|s| {
            if s.default_profile.as_ref() == Some(id) {
                return false;
            }
            previous = s.default_profile.replace(id.clone());
            true
        })
        .await?;
        self.sync_default_flags(previous.as_ref(), Some(id)).await
    }

    /// Clears the org's default profile when it is `id`.
    pub(crate) async fn clear_default(&self, id: &ProfileId) -> Result<(), DomainError> {
        self.unname_default(id).await?;
        self.sync_default_flags(Some(id), None).await
    }

    /// Makes the org settings name no default profile, if they name `id`.
    async fn unname_default(&self, id: &ProfileId) -> Result<(), DomainError> {
        self.modify_settings(|s| {
            if s.default_profile.as_ref() == Some(id) {
                s.default_profile = None;
                true
            } else {
                false
            }
        })
        .await
        .map(drop)
    }

    /// Keeps the profiles' default flags in step with the org settings.
    pub(crate) async fn sync_default_flags(
        &self,
        old: Option<&ProfileId>,
        new: Option<&ProfileId>,
    ) -> Result<(), DomainError> {
        if old == new {
            return Ok(());
        }
        if let Some(old) = old {
            match self
                .modify_profile(old, |p| {
                    let changed = p.is_default_for_new_mailboxes;
                    p.is_default_for_new_mailboxes = false;
                    changed
                })
                .await
            {
                Ok(_) | Err(DomainError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(new) = new {
            self.modify_profile(new, |p| {
                let changed = !p.is_default_for_new_mailboxes;
                p.is_default_for_new_mailboxes = true;
                changed
            })
            .await?;
        }
        Ok(())
    }
}
