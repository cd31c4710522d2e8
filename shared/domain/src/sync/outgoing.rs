//! Outgoing send (delivery method Server-Side Synchronization): the email activities in
//! Pending Send whose sender mailbox is the polled one go out through
//! [CreateItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem-operation)
//! with `MessageDisposition="SendAndSaveCopy"`, **never twice**.
//!
//! How "never twice" holds:
//! 1. each email is claimed before it is sent (Pending Send → Sending, a conditional write):
//!    of two workers holding the same job, one gets it, the other skips it;
//! 2. every message carries a named extended property ([`activity_id_property`]) holding
//!    its activity id, and the copy saved in Sent Items keeps it;
//! 3. an email that shows an earlier attempt (`delivery_attempts > 0`, or found in Sending
//!    after its lease ran out: a worker died between the send and the write of Sent) is
//!    first looked for in Sent Items with
//!    [FindItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem-operation)
//!    restricted to that property; found means sent, and it is marked Sent without
//!    sending.
//!
//! Failures: a transient one (or a profile-level one, or running out of time mid-send)
//! returns the email to Pending Send with its attempt counted, and ends the workload with
//! the error so the engine postpones the mailbox (or opens the circuit) as for any
//! workload; the next attempt starts with the Sent Items check. Any other failure
//! (recipients refused, send-as denied…) marks that email Failed with the reason and an
//! Error alert to the sender mailbox's owner, and the next email goes on; a
//! mailbox-permanent one also ends the workload (the engine disables it).
//!
//! Tracking tokens: when the org uses them, the subject carries one in the org's format.
//! Its number is derived from the activity id ([`token_candidate`]) rather than drawn from
//! a counter: a counter costs a write per email and a new store operation, while a derived
//! number costs one read (is it taken?) and is the same on every retry of the same email.
//! A taken number moves to the next candidate. Two different emails deriving the same free
//! number in the same instant is the one collision left; with seven digits it needs two
//! concurrent sends to hit the same one-in-ten-million value.

use std::time::Instant;

use exsync_ews::client::EwsClient;
use exsync_ews::operations::{CreateItem, FindItem, ItemTraversal, MessageDisposition};
use exsync_ews::types::{
    Body, DistinguishedFolderName, ExtendedProperty, FieldUri, IndexedPageView, ItemShape, Message,
    Restriction,
};
use exsync_ews::{ErrorClass, EwsError};
use time::{Duration, OffsetDateTime};

use super::correlation::CorrelationKeys;
use super::decisions::{Decision, DecisionEntry, ItemFacts};
use super::engine::SyncPorts;
use super::incoming::{IncomingError, IncomingOutcome, IncomingReport, is_deadline};
use super::job::{PollJob, PollReason};
use crate::activity::{EmailActivity, EmailStatus, Party};
use crate::alert::{Alert, AlertLevel, AlertSubject};
use crate::error::DomainError;
use crate::ids::{ActivityId, AlertId};
use crate::mailbox::{Mailbox, Workload};
use crate::org::{OrgSettings, TrackingToken};

// The properties moved to `properties` (ACT sync uses them too); these paths stay for
// code that imports them from here.
pub use super::properties::{
    ACTIVITY_ID_PROPERTY, EXSYNC_PROPERTY_SET, RECORD_ID_PROPERTY, activity_id_property,
};

/// How long an email may stay in Sending before another worker may take it over: longer
/// than any function run, so only a dead worker's claim runs out.
pub const SENDING_LEASE: Duration = Duration::minutes(15);

/// Most emails read per run (oldest first); the rest wait for the next poll.
pub const SEND_BATCH: u32 = 50;

/// A scheduled poll looks for pending email on every this-many-th slot of the mailbox's
/// interval. Sending an email enqueues its sender at once (a `send_requested` job, which
/// always runs outgoing), so scheduled polls are only the safety net — an enqueue that
/// failed, a send returned to Pending Send by a transient failure, a Sending claim whose
/// lease ran out — and most of them keep the idle poll at its one read.
pub const OUTGOING_SLOT_STRIDE: i64 = 3;

/// Whether a job runs the outgoing workload now: always, unless it is a scheduled poll
/// off the [`OUTGOING_SLOT_STRIDE`].
pub fn outgoing_runs_now(job: &PollJob, mailbox: &Mailbox) -> bool {
    if job.reason != PollReason::Scheduled {
        return true;
    }
    let interval = i64::from(mailbox.scheduler.interval_minutes.unwrap_or(1).max(1));
    job.slot
        .div_euclid(interval)
        .rem_euclid(OUTGOING_SLOT_STRIDE)
        == 0
}

/// Most candidates tried for a free tracking token number.
const TOKEN_CANDIDATES: u32 = 8;

/// FNV-1a: a stable hash (the standard library's is randomised per process).
fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The `attempt`-th tracking token candidate for an activity, in the org's format
/// (`CRM:0001234`): a number of `digits` digits at or above `base_number`, derived from
/// the activity id, so every retry of the same email derives the same one.
pub fn token_candidate(format: &TrackingToken, id: &ActivityId, attempt: u32) -> String {
    let digits = u32::from(format.digits.clamp(1, 18));
    let modulus = 10u64.pow(digits);
    let base = format.base_number % modulus;
    let span = modulus - base;
    let n = base + stable_hash(&[id.as_str().as_bytes(), &attempt.to_le_bytes()]) % span;
    format!(
        "{}{n:0width$}",
        format.prefix.trim(),
        width = usize::try_from(digits).unwrap_or(7)
    )
}

/// True when `subject` already carries a token in the org's format.
fn has_token(subject: &str, format: &TrackingToken) -> bool {
    super::correlation::find_tracking_token(subject, format).is_some()
}

/// How one email's send ended.
enum SendEnd {
    /// Sent now, or found already sent.
    Sent,
    /// Failed for good (marked Failed, alert raised).
    Failed,
    /// Not ours to send (another worker has it, or it changed meanwhile).
    Skipped,
}

/// The outgoing runner of one poll job.
pub(crate) struct OutgoingSync<'a> {
    /// The client to the mailbox's EWS endpoint.
    pub client: &'a EwsClient,
    /// The address to impersonate (profile credentials), or `None` (the mailbox's own).
    pub impersonate: Option<&'a str>,
    /// The sender mailbox.
    pub mailbox: &'a Mailbox,
    /// The org settings (tracking token format, alert levels).
    pub settings: &'a OrgSettings,
    /// The stores.
    pub ports: &'a SyncPorts,
    /// No new Exchange call after this.
    pub stop_at: Instant,
}

impl OutgoingSync<'_> {
    /// Sends what is pending, until done, the deadline, or a failure that ends the run.
    pub(crate) async fn run(self) -> IncomingOutcome {
        let mut report = IncomingReport::default();
        let error = self.run_emails(&mut report).await.err();
        IncomingOutcome { report, error }
    }

    async fn run_emails(&self, report: &mut IncomingReport) -> Result<(), IncomingError> {
        let pending = self
            .ports
            .mail
            .pending_emails(&self.mailbox.id, SEND_BATCH)
            .await
            .map_err(IncomingError::Store)?;
        let full_batch = u32::try_from(pending.len()).unwrap_or(u32::MAX) >= SEND_BATCH;
        for email in pending {
            if Instant::now() >= self.stop_at {
                return Ok(());
            }
            let outcome = self.send_one(email).await;
            match outcome {
                Ok(SendEnd::Sent) => {
                    report.evaluated += 1;
                    report.tracked += 1;
                }
                Ok(SendEnd::Failed) => {
                    report.evaluated += 1;
                    report.failed += 1;
                }
                Ok(SendEnd::Skipped) => {}
                Err(e) => return Err(e),
            }
        }
        // A full batch may have more behind it: the run is finished only when it saw the
        // end (the next poll carries on otherwise).
        report.finished = !full_batch;
        Ok(())
    }

    /// Claims, checks, sends and records one email.
    async fn send_one(&self, email: EmailActivity) -> Result<SendEnd, IncomingError> {
        let now = self.ports.clock.now();
        let Some((claimed, earlier_attempt)) =
            self.claim(email, now).await.map_err(IncomingError::Store)?
        else {
            return Ok(SendEnd::Skipped);
        };
        tracing::info!(
            mailbox_id = %self.mailbox.id,
            activity_id = %claimed.id,
            attempts = claimed.delivery_attempts,
            earlier_attempt,
            "sending an email"
        );
        if earlier_attempt {
            match self.find_sent_copy(&claimed.id).await {
                Ok(Some(copy)) => {
                    return self
                        .mark_sent(claimed, Some(copy.0), copy.1, true)
                        .await
                        .map_err(IncomingError::Store);
                }
                Ok(None) => {}
                Err(e) => return self.failed_attempt(claimed, e).await,
            }
        }
        let token = self
            .token_for(&claimed)
            .await
            .map_err(IncomingError::Store)?;
        let op = CreateItem::messages(
            MessageDisposition::SendAndSaveCopy,
            Some(DistinguishedFolderName::SentItems.into()),
            [self.message(&claimed, token.as_deref())],
        );
        let sent = match self.client.call(self.impersonate, &op, self.stop_at).await {
            Ok(r) => match r.body.into_iter().next() {
                Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(e),
                None => Ok(()),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            return self.failed_attempt(claimed, e).await;
        }
        let mut claimed = claimed;
        if token.is_some() {
            claimed.tracking_token = token;
        }
        // The id of the Sent Items copy (and its Message-ID, for replies to correlate by
        // In-Reply-To) costs one more call; the send stands even when it fails.
        let copy = match self.find_sent_copy(&claimed.id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    activity_id = %claimed.id,
                    code = %response_code(&e),
                    "sent, but the Sent Items copy was not found"
                );
                None
            }
        };
        let (item_id, message_id) = match copy {
            Some((i, m)) => (Some(i), m),
            None => (None, None),
        };
        self.mark_sent(claimed, item_id, message_id, false)
            .await
            .map_err(IncomingError::Store)
    }

    /// Takes the email for this worker: Pending Send through the store's claim, an
    /// expired Sending through a versioned write. `None`: not ours. The flag says the
    /// email shows an earlier attempt.
    async fn claim(
        &self,
        email: EmailActivity,
        now: OffsetDateTime,
    ) -> Result<Option<(EmailActivity, bool)>, DomainError> {
        match email.status {
            EmailStatus::PendingSend => {
                let attempted = email.delivery_attempts > 0;
                Ok(self
                    .ports
                    .mail
                    .claim_for_sending(&email.id, now)
                    .await?
                    .map(|e| (e, attempted)))
            }
            EmailStatus::Sending if now - email.modified_at >= SENDING_LEASE => {
                let mut taken = email.clone();
                taken.version = email.version + 1;
                taken.modified_at = now;
                match self
                    .ports
                    .activities
                    .update_email(&taken, email.version)
                    .await
                {
                    Ok(()) => {
                        tracing::warn!(
                            activity_id = %taken.id,
                            "an email stuck in Sending past its lease is taken over"
                        );
                        Ok(Some((taken, true)))
                    }
                    Err(DomainError::VersionConflict { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            _ => Ok(None),
        }
    }

    /// The Sent Items copy carrying the activity id: its EWS id and Message-ID.
    async fn find_sent_copy(
        &self,
        id: &ActivityId,
    ) -> Result<Option<(String, Option<String>)>, EwsError> {
        let mut shape = ItemShape::id_only();
        shape.additional_properties = vec![FieldUri::MESSAGE_INTERNET_MESSAGE_ID.into()];
        let op = FindItem {
            traversal: ItemTraversal::Shallow,
            shape,
            paging: Some(IndexedPageView::new(0, 1)),
            restriction: Some(Restriction::equal(activity_id_property(), id.as_str())),
            sort_order: Vec::new(),
            parent_folder_ids: vec![DistinguishedFolderName::SentItems.into()],
        };
        let r = self
            .client
            .call(self.impersonate, &op, self.stop_at)
            .await?;
        let Some(page) = r.body.into_iter().next() else {
            return Ok(None);
        };
        let page = page?;
        Ok(page.items.into_iter().find_map(|item| {
            let item_id = item.item_id()?.id.clone();
            let message_id = match &item {
                exsync_ews::types::Item::Message(m) => m.internet_message_id.clone(),
                _ => None,
            };
            Some((item_id, message_id))
        }))
    }

    /// The token for this send: the one the activity has or its subject carries, else a
    /// free candidate; `None` when the org uses no tokens.
    async fn token_for(&self, email: &EmailActivity) -> Result<Option<String>, DomainError> {
        let format = &self.settings.tracking_token;
        if !self.settings.use_tracking_token || has_token(&email.subject, format) {
            return Ok(None);
        }
        if let Some(t) = &email.tracking_token {
            return Ok(Some(t.clone()));
        }
        for attempt in 0..TOKEN_CANDIDATES {
            let candidate = token_candidate(format, &email.id, attempt);
            match self.ports.sync.email_by_tracking_token(&candidate).await? {
                Some(other) if other.id != email.id => continue,
                _ => return Ok(Some(candidate)),
            }
        }
        tracing::warn!(activity_id = %email.id, "no free tracking token; sent without one");
        Ok(None)
    }

    /// The message as Exchange is to send it.
    fn message(&self, email: &EmailActivity, token: Option<&str>) -> Message {
        let subject = match token {
            Some(t) if email.subject.is_empty() => t.to_owned(),
            Some(t) => format!("{} {t}", email.subject),
            None => email.subject.clone(),
        };
        let body = match &email.body_html {
            Some(html) => Body::html(html.clone()),
            None => Body::text(email.body_text.clone()),
        };
        Message {
            item_class: Some("IPM.Note".into()),
            subject: Some(subject),
            body: Some(body),
            extended_properties: vec![ExtendedProperty::new(
                activity_id_property(),
                email.id.as_str(),
            )],
            to_recipients: recipients(&email.to),
            cc_recipients: recipients(&email.cc),
            bcc_recipients: recipients(&email.bcc),
            ..Message::default()
        }
    }

    /// Records the email as Sent, with its decision and correlation pointers.
    async fn mark_sent(
        &self,
        mut email: EmailActivity,
        item_id: Option<String>,
        message_id: Option<String>,
        already: bool,
    ) -> Result<SendEnd, DomainError> {
        let now = self.ports.clock.now();
        let expected = email.version;
        email.status = EmailStatus::Sent;
        email.sent_on = Some(now);
        email.failure_reason = None;
        if !already {
            email.delivery_attempts = email.delivery_attempts.saturating_add(1);
        }
        if let Some(id) = &item_id {
            email
                .ews_item_ids
                .insert(self.mailbox.id.as_str().to_owned(), id.clone());
        }
        if email.internet_message_id.is_none() {
            email.internet_message_id = message_id;
        }
        email.version = expected + 1;
        email.modified_at = now;
        if let Err(e) = self.ports.activities.update_email(&email, expected).await {
            if matches!(e, DomainError::VersionConflict { .. }) {
                // Someone changed it meanwhile; the copy in Sent Items makes the next
                // attempt (if any) mark it Sent without sending.
                tracing::warn!(activity_id = %email.id, "the sent email changed meanwhile");
                return Ok(SendEnd::Skipped);
            }
            return Err(e);
        }
        let decision = Decision::Sent {
            activity_id: email.id.clone(),
            already_in_sent_items: already,
        };
        tracing::info!(
            mailbox_id = %self.mailbox.id,
            activity_id = %email.id,
            already_in_sent_items = already,
            "email sent"
        );
        let entry = self.entry(&email, item_id, decision, now);
        let keys = CorrelationKeys::of(&email, self.settings);
        let pointers = if keys.is_empty() {
            Vec::new()
        } else {
            vec![(email.id.clone(), keys)]
        };
        self.ports.sync.write_page(&[entry], &pointers).await?;
        Ok(SendEnd::Sent)
    }

    /// A send (or its Sent Items check) failed: back to Pending Send for another attempt,
    /// or Failed for good, by class.
    async fn failed_attempt(
        &self,
        mut email: EmailActivity,
        e: EwsError,
    ) -> Result<SendEnd, IncomingError> {
        let now = self.ports.clock.now();
        let class = e.class();
        let code = response_code(&e);
        let expected = email.version;
        email.delivery_attempts = email.delivery_attempts.saturating_add(1);
        email.version = expected + 1;
        email.modified_at = now;
        let retry = is_deadline(&e)
            || matches!(
                class,
                ErrorClass::Transient { .. } | ErrorClass::ProfileLevel
            );
        if retry {
            tracing::warn!(
                activity_id = %email.id,
                code = %code,
                class = class.name(),
                "the send did not go through; back to Pending Send"
            );
            email.status = EmailStatus::PendingSend;
            self.ports
                .activities
                .update_email(&email, expected)
                .await
                .map_err(IncomingError::Store)?;
            return Err(IncomingError::Ews(e));
        }
        tracing::warn!(
            activity_id = %email.id,
            code = %code,
            class = class.name(),
            "the send failed for good"
        );
        email.status = EmailStatus::Failed;
        email.failure_reason = Some(format!("{code}: {e}"));
        self.ports
            .activities
            .update_email(&email, expected)
            .await
            .map_err(IncomingError::Store)?;
        let entry = self.entry(
            &email,
            None,
            Decision::Failed {
                code: code.clone(),
                moved_to_undeliverable: false,
            },
            now,
        );
        self.ports
            .sync
            .write_page(&[entry], &[])
            .await
            .map_err(IncomingError::Store)?;
        if let Some(alert) = self.failure_alert(&email, &code, now) {
            self.ports
                .ops
                .put_alert(&alert)
                .await
                .map_err(IncomingError::Store)?;
        }
        if class == ErrorClass::MailboxPermanent {
            return Err(IncomingError::Ews(e));
        }
        Ok(SendEnd::Failed)
    }

    /// The Error alert for an email that could not be sent, to the sender mailbox's owner.
    fn failure_alert(
        &self,
        email: &EmailActivity,
        code: &str,
        now: OffsetDateTime,
    ) -> Option<Alert> {
        self.settings.writes_alerts(AlertLevel::Error).then(|| Alert {
            id: AlertId::new(),
            level: AlertLevel::Error,
            code: code.to_owned(),
            text: format!(
                "The email {} from the mailbox {} could not be sent ({code}) after {} attempt(s); it is marked Failed.",
                email.id, self.mailbox.email, email.delivery_attempts,
            ),
            subject: AlertSubject::Mailbox(self.mailbox.id.clone()),
            owners: vec![self.mailbox.owner.clone()],
            at: now,
            expires_at: now + Duration::days(i64::from(self.settings.alert_retention_days)),
            dismissed: false,
        })
    }

    fn entry(
        &self,
        email: &EmailActivity,
        item_id: Option<String>,
        decision: Decision,
        now: OffsetDateTime,
    ) -> DecisionEntry {
        DecisionEntry::new(
            self.mailbox.id.clone(),
            Workload::Outgoing,
            now,
            0,
            ItemFacts {
                item_id,
                internet_message_id: email.internet_message_id.clone(),
                from: Some(self.mailbox.email.as_str().to_owned()),
                received_at: None,
            },
            decision,
        )
    }
}

/// The recipients of a party list.
fn recipients(parties: &[Party]) -> Vec<exsync_ews::types::Mailbox> {
    parties
        .iter()
        .map(|p| match &p.name {
            Some(n) => exsync_ews::types::Mailbox::named(n.clone(), p.address.as_str()),
            None => exsync_ews::types::Mailbox::smtp(p.address.as_str()),
        })
        .collect()
}

/// The EWS response code of an error, or its class name when it has none.
fn response_code(e: &EwsError) -> String {
    e.response_code()
        .map(|c| c.as_str().to_owned())
        .unwrap_or_else(|| e.class().name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_candidate_has_the_orgs_prefix_and_digits() {
        let format = TrackingToken::default();
        let id = ActivityId::parse("a-1").unwrap();
        let t = token_candidate(&format, &id, 0);
        assert!(t.starts_with("CRM:"), "{t}");
        assert_eq!(t.len(), "CRM:".len() + 7, "{t}");
        assert!(has_token(&format!("Quote {t}"), &format));
    }

    #[test]
    fn the_same_activity_derives_the_same_token_and_the_next_candidate_differs() {
        let format = TrackingToken::default();
        let id = ActivityId::parse("a-2").unwrap();
        assert_eq!(
            token_candidate(&format, &id, 0),
            token_candidate(&format, &id, 0)
        );
        assert_ne!(
            token_candidate(&format, &id, 0),
            token_candidate(&format, &id, 1)
        );
    }

    #[test]
    fn a_token_number_is_never_below_the_base_number() {
        let format = TrackingToken {
            prefix: "T:".into(),
            base_number: 990,
            digits: 3,
        };
        for i in 0..50 {
            let id = ActivityId::parse(&format!("a-{i}")).unwrap();
            let t = token_candidate(&format, &id, 0);
            let n: u64 = t.trim_start_matches("T:").parse().unwrap();
            assert!((990..1000).contains(&n), "{t}");
        }
    }
}
