//! What the admin services do for the scheduler: keep a mailbox's schedule in step with
//! every write ([`crate::schedule::refresh_schedule`], so a mailbox is due as soon as an
//! admin enables it and off the due index as soon as it is disabled), and enqueue a poll
//! at once when an admin action means work is waiting (an email to send, workloads just
//! enabled, a mailbox made active again) instead of leaving it to the next slot.

use super::Admin;
use crate::error::DomainError;
use crate::ids::{MailboxId, ProfileId};
use crate::mailbox::{Mailbox, Workload};
use crate::org::OrgSettings;
use crate::profile::{Circuit, Profile};
use crate::schedule::{due_workloads, poll_group, refresh_schedule};
use crate::sync::job::{PollJob, PollReason, event_slot};

impl Admin {
    /// The profile (when it exists) and org settings a mailbox on `profile` is scheduled
    /// with.
    pub(crate) async fn schedule_inputs(
        &self,
        profile: Option<&ProfileId>,
    ) -> Result<(Option<Profile>, OrgSettings), DomainError> {
        let profile = match profile {
            Some(id) => self.ports.config.get_profile(id).await?,
            None => None,
        };
        Ok((profile, self.ports.config.get_settings().await?))
    }

    /// [`Admin::modify_mailbox`], with the schedule refreshed whenever `change` changes
    /// the mailbox, against `profile` and `settings` (the mailbox's own profile). Returns
    /// the mailbox as written.
    pub(crate) async fn modify_mailbox_scheduled(
        &self,
        id: &MailboxId,
        profile: Option<&Profile>,
        settings: &OrgSettings,
        mut change: impl FnMut(&mut Mailbox) -> bool,
    ) -> Result<Mailbox, DomainError> {
        let now = self.now();
        self.modify_mailbox(id, |m| {
            if !change(m) {
                return false;
            }
            let profile = profile.filter(|p| m.profile_id.as_ref() == Some(&p.id));
            refresh_schedule(m, profile, settings, now);
            true
        })
        .await
    }

    /// Enqueues a poll of `mailbox` now, for `reason`, of its due workloads (only `only`
    /// when given). Nothing is enqueued when nothing is due, the mailbox is postponed, or
    /// the profile's circuit is open (the probe resumes it). A queue failure is logged,
    /// not returned: the admin action itself succeeded, and the mailbox's next slot
    /// polls it anyway. Returns whether a job was enqueued.
    pub(crate) async fn poll_now(
        &self,
        mailbox: &Mailbox,
        profile: Option<&Profile>,
        settings: &OrgSettings,
        reason: PollReason,
        only: Option<Workload>,
    ) -> bool {
        let Some(profile) = profile else {
            return false;
        };
        let now = self.now();
        let workloads: Vec<Workload> = due_workloads(mailbox, Some(profile), settings)
            .into_iter()
            .filter(|w| only.is_none_or(|o| o == *w))
            .collect();
        if workloads.is_empty()
            || matches!(profile.circuit, Circuit::Open { .. })
            || mailbox.scheduler.postponed_until.is_some_and(|t| t > now)
        {
            return false;
        }
        let job = PollJob {
            mailbox_id: mailbox.id.clone(),
            workloads,
            slot: event_slot(now),
            reason,
        };
        let group = poll_group(mailbox, profile);
        match self.ports.polls.enqueue_polls(&[(job, group)]).await {
            Ok(r) if r.enqueued == 1 => {
                tracing::info!(mailbox_id = %mailbox.id, reason = reason.as_str(), "poll enqueued now");
                true
            }
            Ok(r) => {
                for f in &r.failed {
                    tracing::warn!(mailbox_id = %mailbox.id, reason = reason.as_str(), code = %f.code, "poll not enqueued; the next slot polls it");
                }
                false
            }
            Err(e) => {
                tracing::warn!(mailbox_id = %mailbox.id, reason = reason.as_str(), error = %e, "poll not enqueued; the next slot polls it");
                false
            }
        }
    }
}
