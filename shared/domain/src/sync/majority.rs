//! The majority-failure email: when more than half of a profile's active mailboxes are
//! failing and the profile asks for it (`alert_owner_on_majority_failure`), its owner gets
//! an email, sent through EWS from the service account's own mailbox (CreateItem
//! `SendAndSaveCopy` without impersonation), at most once an hour per profile.
//!
//! Where the check runs, and what it costs: in the sync worker, right after a job recorded
//! a mailbox-level failure (transient or permanent) for a mailbox of the profile — the
//! moment the count can have crossed half, and the only one; a profile-level failure opens
//! the circuit instead, which already alerts the owner once. Successful polls (the common
//! case) never run it. When it runs it reads the profile's active mailboxes through the
//! mailbox-by-profile index (one Query per 100 mailboxes; items are small) — only when the
//! cached profile opts in and was not emailed within the hour, so a profile that fails
//! often pays the Query once per failure, and failures are postponed five minutes or
//! more. A scheduled sweep would cost the same Query for every profile every time,
//! failing or not.
//!
//! "Failing": a workload whose status turned Failure within the hour (disabled), or an
//! enabled workload with consecutive transient failures whose mailbox was written within
//! the hour (transient failures do not change the status; the mailbox's `modified_at` is
//! when the last one was recorded).
//!
//! At most once an hour: the worker that wins a versioned write of
//! `Profile::last_majority_alert_at` sends the email; the others see the fresh time and
//! do nothing. The write comes first, so a send that fails loses that hour's email rather
//! than risking two.
//!
//! Reference: [CreateItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem-operation).

use std::time::Instant;

use exsync_ews::client::EwsClient;
use exsync_ews::operations::{CreateItem, MessageDisposition};
use exsync_ews::types::{Body, DistinguishedFolderName, Mailbox as EwsMailbox, Message};
use time::{Duration, OffsetDateTime};

use crate::error::DomainError;
use crate::mailbox::{Mailbox, WorkloadState, WorkloadStatus};
use crate::ports::{ConfigStore, MailboxFilter};
use crate::profile::Profile;

/// The window failures are counted in, and the least time between two emails.
pub const MAJORITY_WINDOW: Duration = Duration::hours(1);

/// Most failing mailboxes named in the email.
const LISTED: usize = 20;

/// How many times the claim is retried after another writer changed the profile.
const CLAIM_ATTEMPTS: usize = 5;

/// True when the workload failed within the window ending `now`.
fn workload_failing(w: &WorkloadState, written: OffsetDateTime, now: OffsetDateTime) -> bool {
    let recent = |t: OffsetDateTime| now - t <= MAJORITY_WINDOW;
    (w.status == WorkloadStatus::Failure && w.status_at.is_some_and(recent))
        || (w.enabled && w.consecutive_transient_failures > 0 && recent(written))
}

/// True when any workload of the mailbox failed within the hour before `now`.
pub fn is_failing(m: &Mailbox, now: OffsetDateTime) -> bool {
    [&m.incoming_state, &m.outgoing_state, &m.act_state]
        .into_iter()
        .any(|w| workload_failing(w, m.modified_at, now))
}

/// More than half.
pub fn is_majority(failing: usize, total: usize) -> bool {
    total > 0 && failing.saturating_mul(2) > total
}

/// True when the profile wants the email and was not sent one within the hour.
pub fn email_due(profile: &Profile, now: OffsetDateTime) -> bool {
    profile.alert_owner_on_majority_failure
        && profile
            .last_majority_alert_at
            .is_none_or(|at| now - at >= MAJORITY_WINDOW)
}

/// What a check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MajorityOutcome {
    /// The profile does not ask for the email, or had one within the hour.
    NotDue,
    /// Half or fewer are failing.
    NotMajority {
        /// Failing mailboxes.
        failing: usize,
        /// Active mailboxes.
        total: usize,
    },
    /// Another worker claimed this hour's email first.
    ClaimedElsewhere,
    /// The email went out.
    Emailed {
        /// Failing mailboxes.
        failing: usize,
        /// Active mailboxes.
        total: usize,
    },
    /// This hour's email was claimed but Exchange refused it (the code); it is not retried.
    SendFailed(String),
}

/// A check's outcome, and the profile as stored after it (for the engine's cache).
#[derive(Debug)]
pub struct MajorityCheck {
    /// What happened.
    pub outcome: MajorityOutcome,
    /// The profile read or written, when the check read it.
    pub fresh_profile: Option<Profile>,
}

/// Counts the profile's failing mailboxes and emails its owner when more than half fail
/// and the email is due. `client` reaches the service account's own mailbox (no
/// impersonation).
pub async fn check(
    config: &dyn ConfigStore,
    client: &EwsClient,
    cached: &Profile,
    now: OffsetDateTime,
    stop_at: Instant,
) -> Result<MajorityCheck, DomainError> {
    let mut result = MajorityCheck {
        outcome: MajorityOutcome::NotDue,
        fresh_profile: None,
    };
    if !email_due(cached, now) {
        return Ok(result);
    }
    let (failing, total) = count(config, cached, now).await?;
    if !is_majority(failing.len(), total) {
        result.outcome = MajorityOutcome::NotMajority {
            failing: failing.len(),
            total,
        };
        return Ok(result);
    }
    let Some(profile) = claim(config, cached, now, &mut result).await? else {
        return Ok(result);
    };
    let op = CreateItem::messages(
        MessageDisposition::SendAndSaveCopy,
        Some(DistinguishedFolderName::SentItems.into()),
        [email(&profile, &failing, total)],
    );
    let sent = match client.call(None, &op, stop_at).await {
        Ok(r) => match r.body.into_iter().next() {
            Some(Err(e)) => Err(e),
            _ => Ok(()),
        },
        Err(e) => Err(e),
    };
    result.outcome = match sent {
        Ok(()) => {
            tracing::warn!(
                profile_id = %profile.id,
                failing = failing.len(),
                total,
                "most of the profile's mailboxes fail: its owner was emailed"
            );
            MajorityOutcome::Emailed {
                failing: failing.len(),
                total,
            }
        }
        Err(e) => {
            let code = e
                .response_code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| e.class().name().to_owned());
            tracing::warn!(
                profile_id = %profile.id,
                code = %code,
                "the majority-failure email could not be sent"
            );
            MajorityOutcome::SendFailed(code)
        }
    };
    Ok(result)
}

/// The failing active mailboxes of the profile (address, last error code) and how many
/// active mailboxes it has.
async fn count(
    config: &dyn ConfigStore,
    profile: &Profile,
    now: OffsetDateTime,
) -> Result<(Vec<(String, String)>, usize), DomainError> {
    let filter = MailboxFilter {
        profile: Some(profile.id.clone()),
        active: Some(true),
        ..MailboxFilter::default()
    };
    let mut failing = Vec::new();
    let mut total = 0usize;
    let mut next = None;
    loop {
        let page = config.list_mailboxes(&filter, 100, next).await?;
        for m in &page.items {
            total += 1;
            if is_failing(m, now) {
                let code = [&m.incoming_state, &m.outgoing_state, &m.act_state]
                    .into_iter()
                    .find_map(|w| w.last_error_code.clone())
                    .unwrap_or_default();
                failing.push((m.email.as_str().to_owned(), code));
            }
        }
        match page.next {
            Some(n) => next = Some(n),
            None => return Ok((failing, total)),
        }
    }
}

/// Claims this hour's email for the profile (a versioned write of
/// `last_majority_alert_at`): the stored profile when this worker won.
async fn claim(
    config: &dyn ConfigStore,
    cached: &Profile,
    now: OffsetDateTime,
    result: &mut MajorityCheck,
) -> Result<Option<Profile>, DomainError> {
    for _ in 0..CLAIM_ATTEMPTS {
        let Some(mut fresh) = config.get_profile(&cached.id).await? else {
            return Ok(None);
        };
        if !email_due(&fresh, now) {
            result.outcome = MajorityOutcome::ClaimedElsewhere;
            result.fresh_profile = Some(fresh);
            return Ok(None);
        }
        let expected = fresh.version;
        fresh.last_majority_alert_at = Some(now);
        fresh.version = expected + 1;
        match config.update_profile(&fresh, expected).await {
            Ok(()) => {
                result.fresh_profile = Some(fresh.clone());
                return Ok(Some(fresh));
            }
            Err(DomainError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    result.outcome = MajorityOutcome::ClaimedElsewhere;
    Ok(None)
}

/// The email to the profile's owner: counts and the failing mailboxes (addresses and
/// error codes only: nothing secret, no message content).
fn email(profile: &Profile, failing: &[(String, String)], total: usize) -> Message {
    let mut body = format!(
        "{} of the {total} active mailboxes of the email server profile \"{}\" failed to synchronize within the last hour.\n\n",
        failing.len(),
        profile.name,
    );
    for (address, code) in failing.iter().take(LISTED) {
        body.push_str(&format!("- {address}: {code}\n"));
    }
    if failing.len() > LISTED {
        body.push_str(&format!("- and {} more\n", failing.len() - LISTED));
    }
    body.push_str(
        "\nThe mailboxes' alerts say what failed and what to check. This email is sent at most once an hour.\n",
    );
    Message {
        item_class: Some("IPM.Note".into()),
        subject: Some(format!(
            "exsync: most mailboxes of the profile {} are failing",
            profile.name
        )),
        body: Some(Body::text(body)),
        to_recipients: vec![EwsMailbox::smtp(profile.owner.email.as_str())],
        ..Message::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_half_is_a_majority_and_half_is_not() {
        assert!(is_majority(2, 3));
        assert!(!is_majority(1, 2));
        assert!(!is_majority(0, 0));
    }
}
