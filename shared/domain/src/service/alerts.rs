//! Alerts (the wall mailbox and profile owners read) and jobs.

use serde::{Deserialize, Serialize};

use super::Admin;
use crate::alert::{Alert, AlertSubject};
use crate::error::DomainError;
use crate::ids::{AlertId, JobId, MailboxId, Principal, ProfileId};
use crate::job::Job;
use crate::privilege::{Grants, Privilege, authorize, authorize_or_owner};

/// Whose alerts to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "snake_case")]
pub enum AlertQuery {
    /// About a mailbox (read_alerts, or the mailbox's owner).
    Mailbox(MailboxId),
    /// About a profile (read_alerts, or the profile's owner).
    Profile(ProfileId),
    /// For an owner (read_alerts, or that owner).
    Owner(Principal),
}

/// How many of the caller's own newest alerts are searched when a caller without
/// read_alerts dismisses one: an alert older than that is off their wall anyway.
const OWN_WALL: u32 = 200;

impl Admin {
    /// Alerts, newest first, without the expired ones (the store's TTL deletes them lazily).
    pub async fn list_alerts(
        &self,
        grants: &Grants,
        query: &AlertQuery,
        limit: Option<i64>,
    ) -> Result<Vec<Alert>, DomainError> {
        let limit = super::PageRequest { limit, next: None }.limit()?;
        let alerts = match query {
            AlertQuery::Mailbox(id) => {
                self.visible_mailbox(grants, id, Privilege::ReadAlerts)
                    .await?;
                self.ports
                    .ops
                    .alerts_for_subject(&AlertSubject::Mailbox(id.clone()), limit)
                    .await?
            }
            AlertQuery::Profile(id) => {
                match self.ports.config.get_profile(id).await? {
                    Some(p) => {
                        authorize_or_owner(grants, Privilege::ReadAlerts, [&p.owner.principal])?
                    }
                    None => {
                        authorize(grants, Privilege::ReadAlerts)?;
                        return Err(DomainError::NotFound {
                            kind: "profile",
                            id: id.to_string(),
                        });
                    }
                }
                self.ports
                    .ops
                    .alerts_for_subject(&AlertSubject::Profile(id.clone()), limit)
                    .await?
            }
            AlertQuery::Owner(owner) => {
                authorize_or_owner(grants, Privilege::ReadAlerts, [owner])?;
                self.ports.ops.alerts_for_owner(owner, limit).await?
            }
        };
        let now = self.now();
        Ok(alerts.into_iter().filter(|a| a.expires_at > now).collect())
    }

    /// Dismisses an alert (read_alerts, or an alert on the caller's own wall).
    pub async fn dismiss_alert(&self, grants: &Grants, id: &AlertId) -> Result<(), DomainError> {
        if !grants.has(Privilege::ReadAlerts) {
            let me = super::caller(grants, Privilege::ReadAlerts)?;
            let mine = self.ports.ops.alerts_for_owner(me, OWN_WALL).await?;
            if !mine.iter().any(|a| &a.id == id) {
                return Err(DomainError::Forbidden(Privilege::ReadAlerts));
            }
        }
        self.ports.ops.dismiss_alert(id).await?;
        tracing::info!(alert_id = %id, "alert dismissed");
        Ok(())
    }

    /// A job and its progress (test_and_enable, read_mailboxes, or the job's requester).
    pub async fn get_job(&self, grants: &Grants, id: &JobId) -> Result<Job, DomainError> {
        let job = self.ports.ops.get_job(id).await?;
        let allowed = grants.has(Privilege::TestAndEnable)
            || grants.has(Privilege::ReadMailboxes)
            || job.as_ref().is_some_and(|j| grants.is(&j.requested_by));
        if !allowed {
            return Err(DomainError::Forbidden(Privilege::TestAndEnable));
        }
        job.ok_or_else(|| DomainError::NotFound {
            kind: "job",
            id: id.to_string(),
        })
    }
}
