//! Mailboxes: create, read, list, update, and the bulk actions (apply the default email
//! settings, edit many at once, approve or reject email).

use serde::{Deserialize, Serialize};

use super::{Admin, BatchItem, PageRequest, field_error, mailbox_ids, required_version};
use crate::error::DomainError;
use crate::exchange::mailbox_secret_context;
use crate::ids::{MailboxId, ProfileId};
use crate::mailbox::{
    Approval, Mailbox, MailboxInput, MailboxKind, MailboxRules, MailboxView, Workload,
};
use crate::org::{ActDeliveryMethod, DeliveryMethod, OrgSettings};
use crate::ports::{MailboxFilter, Page};
use crate::privilege::{Grants, Privilege, authorize, authorize_all, authorize_or_owner};
use crate::profile::Profile;
use crate::schedule::refresh_schedule;
use crate::sync::job::PollReason;
use std::collections::HashMap;

/// The changes "edit many at once" applies to each mailbox (missing: unchanged;
/// `profile_id: ""` removes the profile).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BulkEdit {
    /// The email server profile.
    pub profile_id: Option<String>,
    /// Incoming delivery method.
    pub incoming: Option<DeliveryMethod>,
    /// Outgoing delivery method.
    pub outgoing: Option<DeliveryMethod>,
    /// Appointments, contacts and tasks delivery method.
    pub appointments_contacts_tasks: Option<ActDeliveryMethod>,
}

/// What "Apply Default Email Settings" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyDefaultsOutcome {
    /// Each mailbox with its new settings, or why it was not changed.
    pub mailboxes: Vec<BatchItem<MailboxView>>,
    /// Test & Enable of the changed mailboxes, unless the caller opted out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_and_enable: Option<super::testing::TestAndEnableOutcome>,
}

impl Admin {
    /// Creates a mailbox (write_mailboxes; read_mailboxes too when delivery methods are
    /// given). Profile and delivery methods default to the org settings'.
    pub async fn create_mailbox(
        &self,
        grants: &Grants,
        input: MailboxInput,
    ) -> Result<MailboxView, DomainError> {
        authorize(grants, Privilege::WriteMailboxes)?;
        if input.sets_delivery_methods(None) {
            authorize(grants, Privilege::ReadMailboxes)?;
        }
        let settings = self.ports.config.get_settings().await?;
        let profile = self.requested_profile(&input, None, &settings).await?;
        let validated = input.validate(MailboxRules {
            existing: None,
            profile: profile.as_ref(),
            settings: &settings,
            caller: grants.principal.as_ref(),
            now: self.now(),
        })?;
        let mut mailbox = validated.mailbox;
        self.seal_new_password(
            validated.new_password,
            &mailbox_secret_context(&mailbox.id),
            &mut mailbox.password,
        )
        .await?;
        refresh_schedule(&mut mailbox, profile.as_ref(), &settings, self.now());
        self.ports.config.create_mailbox(&mailbox).await?;
        tracing::info!(mailbox_id = %mailbox.id, email = %mailbox.email, "mailbox created");
        Ok(MailboxView::from(&mailbox))
    }

    /// A mailbox (read_mailboxes, or its owner).
    pub async fn get_mailbox(
        &self,
        grants: &Grants,
        id: &MailboxId,
    ) -> Result<MailboxView, DomainError> {
        let mailbox = self
            .visible_mailbox(grants, id, Privilege::ReadMailboxes)
            .await?;
        Ok(MailboxView::from(&mailbox))
    }

    /// Mailboxes matching `filter`, by name (read_mailboxes).
    pub async fn list_mailboxes(
        &self,
        grants: &Grants,
        filter: &MailboxFilter,
        page: &PageRequest,
    ) -> Result<Page<MailboxView>, DomainError> {
        authorize(grants, Privilege::ReadMailboxes)?;
        let found = self
            .ports
            .config
            .list_mailboxes(filter, page.limit()?, page.next.clone())
            .await?;
        Ok(Page {
            items: found.items.iter().map(MailboxView::from).collect(),
            next: found.next,
        })
    }

    /// Updates a mailbox (write_mailboxes; read_mailboxes too when a delivery method
    /// changes). Missing fields keep their values. A new address needs approval again; a
    /// new address, profile or credentials need Test & Enable again.
    pub async fn update_mailbox(
        &self,
        grants: &Grants,
        id: &MailboxId,
        input: MailboxInput,
    ) -> Result<MailboxView, DomainError> {
        authorize(grants, Privilege::WriteMailboxes)?;
        let version = required_version(input.version)?;
        let existing = self.load_mailbox(id).await?;
        if input.sets_delivery_methods(Some(&existing)) {
            authorize(grants, Privilege::ReadMailboxes)?;
        }
        if existing.version != version {
            return Err(DomainError::VersionConflict {
                kind: "mailbox",
                id: id.to_string(),
                expected: version,
            });
        }
        let settings = self.ports.config.get_settings().await?;
        self.save_update(grants, &existing, input, &settings)
            .await
            .map(|m| MailboxView::from(&m))
    }

    /// Validates `input` against `existing`, seals a new password and writes the result
    /// if the stored version is still `existing`'s.
    async fn save_update(
        &self,
        grants: &Grants,
        existing: &Mailbox,
        input: MailboxInput,
        settings: &OrgSettings,
    ) -> Result<Mailbox, DomainError> {
        let profile = self
            .requested_profile(&input, Some(existing), settings)
            .await?;
        let validated = input.validate(MailboxRules {
            existing: Some(existing),
            profile: profile.as_ref(),
            settings,
            caller: grants.principal.as_ref(),
            now: self.now(),
        })?;
        let mut mailbox = validated.mailbox;
        self.seal_new_password(
            validated.new_password,
            &mailbox_secret_context(&mailbox.id),
            &mut mailbox.password,
        )
        .await?;
        refresh_schedule(&mut mailbox, profile.as_ref(), settings, self.now());
        self.ports
            .config
            .update_mailbox(&mailbox, existing.version)
            .await?;
        tracing::info!(mailbox_id = %mailbox.id, version = mailbox.version, "mailbox updated");
        if mailbox.active && !existing.active {
            self.poll_now(
                &mailbox,
                profile.as_ref(),
                settings,
                PollReason::Reenabled,
                None,
            )
            .await;
        }
        Ok(mailbox)
    }

    /// Apply Default Email Settings to many mailboxes (read_mailboxes and write_mailboxes,
    /// since it sets delivery methods; test_and_enable too unless `test_and_enable` is
    /// false): the org's default profile and delivery methods (appointments, contacts and
    /// tasks only for user mailboxes), then Test & Enable of the changed ones.
    pub async fn apply_default_settings(
        &self,
        grants: &Grants,
        ids: &[String],
        test_and_enable: bool,
    ) -> Result<ApplyDefaultsOutcome, DomainError> {
        authorize_all(
            grants,
            &[Privilege::ReadMailboxes, Privilege::WriteMailboxes],
        )?;
        if test_and_enable {
            authorize(grants, Privilege::TestAndEnable)?;
        }
        let ids = mailbox_ids(ids, self.options.max_batch)?;
        let settings = self.ports.config.get_settings().await?;
        let Some(default_id) = settings.default_profile.clone() else {
            return Err(DomainError::Conflict(
                "the org settings name no default profile: set one first".into(),
            ));
        };
        let Some(profile) = self.ports.config.get_profile(&default_id).await? else {
            return Err(DomainError::Conflict(format!(
                "the org's default profile {default_id} does not exist: set another default first"
            )));
        };
        let mut items = Vec::with_capacity(ids.len());
        let mut changed = Vec::new();
        for id in ids {
            let result = self
                .apply_defaults_to(grants, &id, &profile, &settings)
                .await;
            if result.is_ok() {
                changed.push(id.to_string());
            }
            items.push(BatchItem::from_result(
                id,
                result.map(|m| MailboxView::from(&m)),
            ));
        }
        let test_and_enable = if test_and_enable && !changed.is_empty() {
            Some(self.test_and_enable_mailboxes(grants, &changed).await?)
        } else {
            None
        };
        Ok(ApplyDefaultsOutcome {
            mailboxes: items,
            test_and_enable,
        })
    }

    async fn apply_defaults_to(
        &self,
        grants: &Grants,
        id: &MailboxId,
        profile: &Profile,
        settings: &OrgSettings,
    ) -> Result<Mailbox, DomainError> {
        let existing = self.load_mailbox(id).await?;
        let act = match existing.kind {
            MailboxKind::User => settings.appointments_contacts_tasks,
            MailboxKind::Queue => ActDeliveryMethod::None,
        };
        let input = MailboxInput {
            version: Some(existing.version),
            profile_id: Some(profile.id.to_string()),
            incoming: Some(settings.incoming),
            outgoing: Some(settings.outgoing),
            appointments_contacts_tasks: Some(act),
            ..MailboxInput::default()
        };
        self.save_update(grants, &existing, input, settings).await
    }

    /// Edit many mailboxes at once: profile and delivery methods (write_mailboxes;
    /// read_mailboxes too when a delivery method is set). Each mailbox is validated on its
    /// own (a queue cannot take appointments, contacts and tasks).
    pub async fn edit_mailboxes(
        &self,
        grants: &Grants,
        ids: &[String],
        edit: &BulkEdit,
    ) -> Result<Vec<BatchItem<MailboxView>>, DomainError> {
        authorize(grants, Privilege::WriteMailboxes)?;
        if edit.incoming.is_some()
            || edit.outgoing.is_some()
            || edit.appointments_contacts_tasks.is_some()
        {
            authorize(grants, Privilege::ReadMailboxes)?;
        }
        let ids = mailbox_ids(ids, self.options.max_batch)?;
        let settings = self.ports.config.get_settings().await?;
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let result = async {
                let existing = self.load_mailbox(&id).await?;
                let input = MailboxInput {
                    version: Some(existing.version),
                    profile_id: edit.profile_id.clone(),
                    incoming: edit.incoming,
                    outgoing: edit.outgoing,
                    appointments_contacts_tasks: edit.appointments_contacts_tasks,
                    ..MailboxInput::default()
                };
                self.save_update(grants, &existing, input, &settings).await
            }
            .await;
            items.push(BatchItem::from_result(
                id,
                result.map(|m| MailboxView::from(&m)),
            ));
        }
        Ok(items)
    }

    /// Approve Email for many mailboxes (approve_email).
    pub async fn approve_mailboxes(
        &self,
        grants: &Grants,
        ids: &[String],
    ) -> Result<Vec<BatchItem<MailboxView>>, DomainError> {
        self.set_approval(grants, ids, Approval::Approved).await
    }

    /// Reject email for many mailboxes (approve_email). Where the org requires approval,
    /// nothing stays enabled.
    pub async fn reject_mailboxes(
        &self,
        grants: &Grants,
        ids: &[String],
    ) -> Result<Vec<BatchItem<MailboxView>>, DomainError> {
        self.set_approval(grants, ids, Approval::Rejected).await
    }

    async fn set_approval(
        &self,
        grants: &Grants,
        ids: &[String],
        approval: Approval,
    ) -> Result<Vec<BatchItem<MailboxView>>, DomainError> {
        authorize(grants, Privilege::ApproveEmail)?;
        let ids = mailbox_ids(ids, self.options.max_batch)?;
        let settings = self.ports.config.get_settings().await?;
        let now = self.now();
        let mut profiles: HashMap<ProfileId, Option<Profile>> = HashMap::new();
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let result = async {
                let current = self.load_mailbox(&id).await?;
                let profile = match &current.profile_id {
                    Some(pid) => match profiles.get(pid) {
                        Some(p) => p.clone(),
                        None => {
                            let p = self.ports.config.get_profile(pid).await?;
                            profiles.insert(pid.clone(), p.clone());
                            p
                        }
                    },
                    None => None,
                };
                self.modify_mailbox_scheduled(&id, profile.as_ref(), &settings, |m| {
                    if m.approval == approval {
                        return false;
                    }
                    m.approval = approval;
                    if m.awaits_approval(&settings) {
                        for w in Workload::ALL {
                            m.workload_mut(w).enabled = false;
                        }
                    }
                    m.modified_at = now;
                    true
                })
                .await
            }
            .await;
            if result.is_ok() {
                tracing::info!(mailbox_id = %id, approval = ?approval, "mailbox approval set");
            }
            items.push(BatchItem::from_result(
                id,
                result.map(|m| MailboxView::from(&m)),
            ));
        }
        Ok(items)
    }

    /// The profile an input puts the mailbox on, loaded; a named profile that does not
    /// exist is a 400 on `profile_id` (a defaulted one that vanished means no profile).
    async fn requested_profile(
        &self,
        input: &MailboxInput,
        existing: Option<&Mailbox>,
        settings: &OrgSettings,
    ) -> Result<Option<Profile>, DomainError> {
        let Some(id) = input.requested_profile(existing, settings)? else {
            return Ok(None);
        };
        match self.ports.config.get_profile(&id).await? {
            Some(p) => Ok(Some(p)),
            None if input.profile_id.is_some() => {
                Err(field_error("profile_id", "is not an existing profile"))
            }
            None => Ok(None),
        }
    }

    pub(crate) async fn load_mailbox(&self, id: &MailboxId) -> Result<Mailbox, DomainError> {
        self.ports
            .config
            .get_mailbox(id)
            .await?
            .ok_or_else(|| DomainError::NotFound {
                kind: "mailbox",
                id: id.to_string(),
            })
    }

    /// A mailbox the caller may see: with `privilege`, or as its owner. A caller who may
    /// not see it learns nothing about whether it exists (403 either way).
    pub(crate) async fn visible_mailbox(
        &self,
        grants: &Grants,
        id: &MailboxId,
        privilege: Privilege,
    ) -> Result<Mailbox, DomainError> {
        match self.ports.config.get_mailbox(id).await? {
            Some(m) => {
                authorize_or_owner(grants, privilege, [&m.owner])?;
                Ok(m)
            }
            None => {
                authorize(grants, privilege)?;
                Err(DomainError::NotFound {
                    kind: "mailbox",
                    id: id.to_string(),
                })
            }
        }
    }

    /// Reads, changes (when `change` says so) and writes a mailbox, again if someone else
    /// wrote in between.
    pub(crate) async fn modify_mailbox(
        &self,
        id: &MailboxId,
        change: impl FnMut(&mut Mailbox) -> bool,
    ) -> Result<Mailbox, DomainError> {
        self.modify_versioned(
            || self.load_mailbox(id),
            |config, next, expected| config.update_mailbox(next, expected),
            change,
            || DomainError::Conflict(format!("the mailbox {id} kept changing")),
        )
        .await
    }
}
