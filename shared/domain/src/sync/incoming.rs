//! Incoming email tracking: the Inbox's changes since the stored sync state, each new
//! message evaluated against the mailbox's rules and tracked once.
//!
//! Per page ([SyncFolderItems](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderitems-operation),
//! `IdOnly`, at most [`PAGE_SIZE`] changes, until `IncludesLastItemInRange`): the new items
//! are read with [GetItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem-operation)
//! in batches of [`GET_ITEM_BATCH`] with what tracking needs, and each message is
//!
//! 1. skipped when it arrived before Process Email From (the later of the mailbox's and the
//!    profile's);
//! 2. correlated ([`super::correlation`]) and filtered by the mailbox's tracking option
//!    (all | replies to tracked email | from known contacts, accounts and leads | from any
//!    email-enabled record | none; the record-based options also take replies to tracked
//!    email);
//! 3. tracked once per Internet Message-ID ([`crate::ports::MailFlowStore::track_email_once`]): a message
//!    already tracked gains this mailbox as a recipient, or, when it was sent through
//!    exsync and the org tracks email between users as two activities, gets one incoming
//!    copy ([`crate::ports::SyncStore::track_incoming_copy`]);
//! 4. written to the decision log, whatever happened to it.
//!
//! Only after the page's activities are durable are its decisions, correlation pointers and
//! finally the new sync state written; a state is written only when it changed, and a page
//! without changes writes nothing. A run stopped half-way (deadline, a failed call) keeps
//! what it tracked and leaves the state where it was, so the next run reads the page again
//! and deduplication makes that harmless.

use std::collections::HashMap;
use std::time::Instant;

use exsync_ews::client::EwsClient;
use exsync_ews::operations::{
    CreateFolder, FindFolder, FolderTraversal, GetItem, MaxChangesReturned, MoveItem, SyncChange,
    SyncFolderItems,
};
use exsync_ews::transport::TransportError;
use exsync_ews::types::{
    BaseFolderId, BaseShape, BodyType, BodyTypeResponse, DistinguishedFolderName, FieldUri,
    FolderShape, Item, ItemId, ItemShape, Message, NewFolder, SyncState,
};
use exsync_ews::{ErrorClass, EwsError, ResponseCode};
use time::OffsetDateTime;

use super::correlation::{Correlation, CorrelationInput, CorrelationKeys, correlate};
use super::decisions::{Decision, DecisionEntry, ItemFacts, SkipReason};
use super::engine::SyncPorts;
use crate::activity::{
    AttachmentMeta, CorrelationMethod, Direction, EmailActivity, EmailStatus, Party,
};
use crate::error::DomainError;
use crate::ids::{ActivityId, EmailAddress};
use crate::mailbox::{IncomingTrackingOption, Mailbox, Workload};
use crate::org::OrgSettings;
use crate::ports::{StoredSyncState, Tracked};
use crate::profile::Profile;
use crate::record::{EmailEnabledRecord, RecordKind};

/// The folder incoming tracking syncs, as its sync state is stored.
pub const INBOX: &str = "inbox";
/// Changes per SyncFolderItems page (the most EWS allows).
pub const PAGE_SIZE: u32 = 512;
/// Items per GetItem call (Microsoft's advice to stay clear of throttling).
pub const GET_ITEM_BATCH: usize = 10;
/// Where messages that cannot be tracked go, when the profile asks for it.
pub const UNDELIVERABLE_FOLDER: &str = "Undeliverable";
/// Most bytes of each body form (text, HTML) kept on an activity: both fit in one
/// DynamoDB item (400 KB) with room for the rest.
pub const MAX_TRACKED_BODY_BYTES: usize = 96 * 1024;
/// Most characters of a subject kept.
pub const MAX_TRACKED_SUBJECT_CHARS: usize = crate::service::MAX_SUBJECT_CHARS;
/// Read-modify-write attempts when adding a recipient mailbox races another writer.
const ADD_RECEIVER_ATTEMPTS: usize = 5;

/// Everything one incoming run needs.
pub(crate) struct IncomingSync<'a> {
    /// The client for the mailbox's EWS URL.
    pub client: &'a EwsClient,
    /// The address to impersonate (profile credentials), or `None` (the mailbox's own).
    pub impersonate: Option<&'a str>,
    /// The mailbox as loaded for this job.
    pub mailbox: &'a Mailbox,
    /// Its profile.
    pub profile: &'a Profile,
    /// The org settings.
    pub settings: &'a OrgSettings,
    /// The stores.
    pub ports: &'a SyncPorts,
    /// The stored Inbox sync state.
    pub stored_state: Option<String>,
    /// Stop starting new calls at this instant.
    pub stop_at: Instant,
}

/// What an incoming run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncomingReport {
    /// Messages evaluated (every decision written).
    pub evaluated: u32,
    /// Messages tracked, or added to an activity as a recipient.
    pub tracked: u32,
    /// Messages that failed.
    pub failed: u32,
    /// The run reached the present (`IncludesLastItemInRange`).
    pub finished: bool,
    /// The newest arrival among the messages evaluated (mail flowed).
    pub newest_received: Option<OffsetDateTime>,
    /// The "Undeliverable" folder's id, when this run found or created it.
    pub undeliverable_folder_id: Option<String>,
    /// Sync states written (or dropped).
    pub state_writes: u32,
    /// Exchange said the stored state was invalid, and the folder was synced from scratch.
    pub resynced: bool,
}

/// Why a run stopped before the present.
#[derive(Debug)]
pub enum IncomingError {
    /// An EWS call failed (its class decides what the engine does).
    Ews(EwsError),
    /// The store failed: the job fails and the queue delivers it again.
    Store(DomainError),
}

/// A run's report and, when it stopped early for a reason other than the deadline, why.
#[derive(Debug)]
pub struct IncomingOutcome {
    /// What was done.
    pub report: IncomingReport,
    /// What stopped it.
    pub error: Option<IncomingError>,
}

/// What one page produced before its writes.
#[derive(Default)]
struct PageWrites {
    decisions: Vec<DecisionEntry>,
    pointers: Vec<(ActivityId, CorrelationKeys)>,
    /// Decisions whose item should move to Undeliverable: (index in `decisions`, item id).
    undeliverable: Vec<(usize, ItemId)>,
}

/// The shape GetItem asks for: what tracking, correlation, dedup and the decision log
/// need, and nothing else (no MIME).
pub fn tracking_shape() -> ItemShape {
    let mut shape = ItemShape::new(BaseShape::IdOnly).with_properties([
        FieldUri::ITEM_CLASS.into(),
        FieldUri::ITEM_SUBJECT.into(),
        FieldUri::ITEM_DATE_TIME_RECEIVED.into(),
        FieldUri::ITEM_DATE_TIME_SENT.into(),
        FieldUri::ITEM_BODY.into(),
        FieldUri::ITEM_ATTACHMENTS.into(),
        FieldUri::ITEM_HAS_ATTACHMENTS.into(),
        FieldUri::ITEM_IN_REPLY_TO.into(),
        FieldUri::ITEM_INTERNET_MESSAGE_HEADERS.into(),
        FieldUri::MESSAGE_INTERNET_MESSAGE_ID.into(),
        FieldUri::MESSAGE_REFERENCES.into(),
        FieldUri::MESSAGE_CONVERSATION_INDEX.into(),
        FieldUri::MESSAGE_FROM.into(),
        FieldUri::MESSAGE_SENDER.into(),
        FieldUri::MESSAGE_TO_RECIPIENTS.into(),
        FieldUri::MESSAGE_CC_RECIPIENTS.into(),
    ]);
    // The HTML part when there is one; the text form is derived from it.
    shape.body_type = Some(BodyTypeResponse::Best);
    shape
}

impl IncomingSync<'_> {
    /// Runs incoming tracking until the Inbox is caught up, the deadline, or a failure.
    pub(crate) async fn run(self) -> IncomingOutcome {
        let mut report = IncomingReport::default();
        let error = self.run_pages(&mut report).await.err();
        IncomingOutcome { report, error }
    }

    fn mailbox_address(&self) -> Option<&str> {
        self.impersonate
    }

    fn out_of_time(&self) -> bool {
        Instant::now() >= self.stop_at
    }

    async fn run_pages(&self, report: &mut IncomingReport) -> Result<(), IncomingError> {
        let mut state = self.stored_state.clone();
        let mut records = RecordCache::default();
        loop {
            if self.out_of_time() {
                return Ok(());
            }
            let op = SyncFolderItems {
                shape: ItemShape::id_only(),
                folder_id: DistinguishedFolderName::Inbox.into(),
                sync_state: state.clone().map(SyncState),
                ignore: Vec::new(),
                max_changes_returned: MaxChangesReturned::new(PAGE_SIZE)
                    .unwrap_or(MaxChangesReturned::MAX),
                sync_scope: None,
            };
            let page = match self
                .client
                .call(self.mailbox_address(), &op, self.stop_at)
                .await
            {
                Ok(r) => r.body,
                Err(e) if is_deadline(&e) => return Ok(()),
                Err(e) if e.class() == ErrorClass::SyncStateInvalid && !report.resynced => {
                    tracing::warn!(
                        mailbox_id = %self.mailbox.id,
                        code = e.response_code().map(ResponseCode::as_str).unwrap_or(""),
                        "Exchange refused the Inbox sync state; syncing the Inbox from scratch"
                    );
                    if state.is_some() {
                        self.ports
                            .sync
                            .delete_sync_state(&self.mailbox.id, Workload::Incoming, INBOX)
                            .await
                            .map_err(IncomingError::Store)?;
                        report.state_writes += 1;
                    }
                    state = None;
                    report.resynced = true;
                    continue;
                }
                Err(e) => return Err(IncomingError::Ews(e)),
            };
            let creates: Vec<ItemId> = page
                .changes
                .iter()
                .filter_map(|c| match c {
                    SyncChange::Create(item) => item.item_id().cloned(),
                    _ => None,
                })
                .collect();
            let mut writes = PageWrites::default();
            let processed = self
                .process_creates(&creates, &mut writes, &mut records, report)
                .await;
            // Whatever happened, what was tracked is durable: its decisions and pointers are
            // written now, so a rerun's log tells the whole story.
            let complete = match processed {
                Ok(complete) => complete,
                Err(e) => {
                    self.flush(&mut writes, report).await?;
                    return Err(e);
                }
            };
            if complete {
                self.move_undeliverable(&mut writes, report).await;
            }
            self.flush(&mut writes, report).await?;
            if !complete {
                return Ok(());
            }
            let new_state = page.sync_state.0;
            // A page without changes covers nothing: the stored state is as good as the new
            // one, and not writing it keeps an idle poll free of writes.
            if !page.changes.is_empty() && state.as_deref() != Some(new_state.as_str()) {
                self.ports
                    .sync
                    .put_sync_state(
                        &self.mailbox.id,
                        &StoredSyncState {
                            workload: Workload::Incoming,
                            folder: INBOX.to_owned(),
                            state: new_state.clone(),
                        },
                    )
                    .await
                    .map_err(IncomingError::Store)?;
                report.state_writes += 1;
                state = Some(new_state);
            }
            if page.includes_last_item_in_range {
                report.finished = true;
                return Ok(());
            }
        }
    }

    /// Reads and evaluates the page's new items; `Ok(false)` when the deadline stopped it
    /// part-way.
    async fn process_creates(
        &self,
        creates: &[ItemId],
        writes: &mut PageWrites,
        records: &mut RecordCache,
        report: &mut IncomingReport,
    ) -> Result<bool, IncomingError> {
        for batch in creates.chunks(GET_ITEM_BATCH) {
            if self.out_of_time() {
                return Ok(false);
            }
            let op = GetItem {
                shape: tracking_shape(),
                item_ids: batch.to_vec(),
            };
            let items = match self
                .client
                .call(self.mailbox_address(), &op, self.stop_at)
                .await
            {
                Ok(r) => r.body,
                Err(e) if is_deadline(&e) => return Ok(false),
                Err(e) => return Err(IncomingError::Ews(e)),
            };
            for (id, item) in batch.iter().zip(items) {
                let only_id = || ItemFacts {
                    item_id: Some(id.id.clone()),
                    ..ItemFacts::default()
                };
                let evaluated = match item {
                    Ok(Item::Message(message)) => {
                        self.evaluate(id, &message, writes, records).await?
                    }
                    Ok(_) => Evaluated::keep(
                        only_id(),
                        Decision::Skipped {
                            reason: SkipReason::NotAnEmail,
                        },
                    ),
                    // A malformed or vanished item fails alone.
                    Err(e) => Evaluated::keep(
                        only_id(),
                        Decision::Failed {
                            code: error_code(&e),
                            moved_to_undeliverable: false,
                        },
                    ),
                };
                let target = (evaluated.undeliverable && self.profile.move_failed_to_undeliverable)
                    .then(|| id.clone());
                self.record(writes, report, evaluated.facts, evaluated.decision, target);
            }
        }
        Ok(true)
    }

    fn record(
        &self,
        writes: &mut PageWrites,
        report: &mut IncomingReport,
        facts: ItemFacts,
        outcome: Decision,
        undeliverable: Option<ItemId>,
    ) {
        report.evaluated += 1;
        match &outcome {
            Decision::Tracked { .. }
            | Decision::AlreadyTracked {
                added_mailbox: true,
                ..
            } => report.tracked += 1,
            Decision::Failed { .. } => report.failed += 1,
            _ => {}
        }
        if let Some(received) = facts.received_at {
            report.newest_received = report.newest_received.max(Some(received));
        }
        tracing::info!(
            mailbox_id = %self.mailbox.id,
            item_id = facts.item_id.as_deref().unwrap_or(""),
            decision = %outcome.text(),
            "incoming item evaluated"
        );
        let now = self.ports.clock.now();
        let seq = u32::try_from(writes.decisions.len()).unwrap_or(u32::MAX);
        if let Some(id) = undeliverable {
            writes.undeliverable.push((writes.decisions.len(), id));
        }
        writes.decisions.push(DecisionEntry::new(
            self.mailbox.id.clone(),
            Workload::Incoming,
            now,
            seq,
            facts,
            outcome,
        ));
    }

    /// Evaluates one message; store failures end the run, everything else is a decision.
    async fn evaluate(
        &self,
        id: &ItemId,
        message: &Message,
        writes: &mut PageWrites,
        records: &mut RecordCache,
    ) -> Result<Evaluated, IncomingError> {
        let sender = message.from.as_ref().or(message.sender.as_ref());
        let sender_address = sender
            .and_then(|s| s.email_address.as_deref())
            .and_then(EmailAddress::parse);
        let received = message
            .date_time_received
            .or(message.date_time_sent)
            .map(|t| t.0);
        let message_id = message
            .internet_message_id
            .as_deref()
            .map(str::trim)
            .filter(|m| {
                let inner = m.trim_start_matches('<').trim_end_matches('>').trim();
                !inner.is_empty()
            })
            .map(str::to_owned);
        let facts = ItemFacts {
            item_id: Some(id.id.clone()),
            internet_message_id: message_id.clone(),
            from: sender_address.as_ref().map(|a| a.as_str().to_owned()),
            received_at: received,
        };
        let failed = |code: &str| Decision::Failed {
            code: code.to_owned(),
            moved_to_undeliverable: false,
        };
        let Some(message_id) = message_id else {
            return Ok(Evaluated::undeliverable(
                facts,
                failed("MissingInternetMessageId"),
            ));
        };
        let Some(received) = received else {
            return Ok(Evaluated::undeliverable(
                facts,
                failed("MissingReceivedTime"),
            ));
        };
        if received < self.process_email_from() {
            return Ok(Evaluated::keep(
                facts,
                Decision::Skipped {
                    reason: SkipReason::ReceivedBeforeProcessEmailFrom,
                },
            ));
        }
        if self.mailbox.tracking == IncomingTrackingOption::None {
            return Ok(Evaluated::keep(
                facts,
                Decision::Skipped {
                    reason: SkipReason::TrackingOff,
                },
            ));
        }
        let activity = self
            .build_activity(id, message, &message_id, received, records)
            .await
            .map_err(IncomingError::Store)?;
        let addresses = super::correlation::party_addresses(&activity);
        let in_reply_to = message
            .in_reply_to
            .as_deref()
            .or_else(|| header(message, "In-Reply-To"));
        let correlation = correlate(
            &CorrelationInput {
                in_reply_to,
                subject: &activity.subject,
                conversation_index: activity.conversation_index.as_deref(),
                addresses: &addresses,
            },
            self.settings,
            self.ports.mail.as_ref(),
            self.ports.sync.as_ref(),
        )
        .await
        .map_err(IncomingError::Store)?;
        let sender_records = match &sender_address {
            Some(a) => records
                .get(self.ports, a)
                .await
                .map_err(IncomingError::Store)?,
            None => Vec::new(),
        };
        if let Some(reason) = filter(
            self.mailbox.tracking,
            correlation.is_some(),
            &sender_records,
        ) {
            return Ok(Evaluated::keep(facts, Decision::Skipped { reason }));
        }
        let activity = correlated(activity, correlation.as_ref());
        Ok(match self.track(activity, writes).await? {
            Some(decision) => Evaluated::keep(facts, decision),
            None => Evaluated::undeliverable(facts, failed("ActivityRejected")),
        })
    }

    /// The later of the profile's and the mailbox's Process Email From.
    fn process_email_from(&self) -> OffsetDateTime {
        match self.mailbox.process_email_received_after {
            Some(m) => m.max(self.profile.process_email_from),
            None => self.profile.process_email_from,
        }
    }

    /// Tracks the activity once; `None` when the store refused it (a validation error or a
    /// conflict: the item fails alone).
    async fn track(
        &self,
        activity: EmailActivity,
        writes: &mut PageWrites,
    ) -> Result<Option<Decision>, IncomingError> {
        let keys = CorrelationKeys::of(&activity, self.settings);
        match self.ports.mail.track_email_once(&activity).await {
            Ok(Tracked::Created) => {
                writes.pointers.push((activity.id.clone(), keys));
                Ok(Some(Decision::Tracked {
                    activity_id: activity.id,
                    correlation: activity.correlation,
                }))
            }
            Ok(Tracked::AlreadyTracked(existing)) => {
                self.already_tracked(existing, activity, writes).await
            }
            Err(e) => rejected(e),
        }
    }

    async fn already_tracked(
        &self,
        existing_id: ActivityId,
        candidate: EmailActivity,
        writes: &mut PageWrites,
    ) -> Result<Option<Decision>, IncomingError> {
        let Some(existing) = self
            .ports
            .activities
            .get_email(&existing_id)
            .await
            .map_err(IncomingError::Store)?
        else {
            return Ok(None);
        };
        let (target, keys) = if existing.direction == Direction::Outgoing
            && self.settings.track_email_between_users_as_two_activities
        {
            let keys = CorrelationKeys::of(&candidate, self.settings);
            match self.ports.sync.track_incoming_copy(&candidate).await {
                Ok(Tracked::Created) => {
                    writes.pointers.push((candidate.id.clone(), keys));
                    return Ok(Some(Decision::Tracked {
                        activity_id: candidate.id,
                        correlation: candidate.correlation,
                    }));
                }
                Ok(Tracked::AlreadyTracked(copy)) => (copy, keys),
                Err(e) => return rejected(e),
            }
        } else {
            let keys = CorrelationKeys::of(&existing, self.settings);
            (existing.id, keys)
        };
        let ews_id = candidate
            .ews_item_ids
            .get(self.mailbox.id.as_str())
            .cloned();
        let added = self
            .add_receiver(&target, ews_id)
            .await
            .map_err(IncomingError::Store)?;
        if !added {
            // This mailbox had tracked it before (a rerun after an interruption): its
            // pointers may not have been written then.
            writes.pointers.push((target.clone(), keys));
        }
        Ok(Some(Decision::AlreadyTracked {
            activity_id: target,
            added_mailbox: added,
        }))
    }

    /// Adds this mailbox to an activity's receiving mailboxes; false when it is there.
    async fn add_receiver(
        &self,
        id: &ActivityId,
        ews_item_id: Option<String>,
    ) -> Result<bool, DomainError> {
        let mut last = None;
        for _ in 0..ADD_RECEIVER_ATTEMPTS {
            let Some(mut e) = self.ports.activities.get_email(id).await? else {
                return Err(DomainError::NotFound {
                    kind: "email",
                    id: id.to_string(),
                });
            };
            if e.receiving_mailboxes.contains(&self.mailbox.id) {
                return Ok(false);
            }
            let expected = e.version;
            e.receiving_mailboxes.push(self.mailbox.id.clone());
            if let Some(item) = &ews_item_id {
                e.ews_item_ids
                    .insert(self.mailbox.id.as_str().to_owned(), item.clone());
            }
            e.version = expected + 1;
            e.modified_at = self.ports.clock.now();
            match self.ports.activities.update_email(&e, expected).await {
                Ok(()) => return Ok(true),
                Err(c @ DomainError::VersionConflict { .. }) => last = Some(c),
                Err(other) => return Err(other),
            }
        }
        Err(last.unwrap_or_else(|| DomainError::Conflict(format!("the email {id} kept changing"))))
    }

    /// The activity a message becomes (before correlation), parties resolved.
    async fn build_activity(
        &self,
        id: &ItemId,
        message: &Message,
        message_id: &str,
        received: OffsetDateTime,
        records: &mut RecordCache,
    ) -> Result<EmailActivity, DomainError> {
        let now = self.ports.clock.now();
        let from = match message.from.as_ref().or(message.sender.as_ref()) {
            Some(m) => party(self.ports, records, m).await?,
            None => None,
        };
        let mut to = Vec::new();
        for m in &message.to_recipients {
            to.extend(party(self.ports, records, m).await?);
        }
        let mut cc = Vec::new();
        for m in &message.cc_recipients {
            cc.extend(party(self.ports, records, m).await?);
        }
        let (body_text, body_html, body_truncated) = bodies(message);
        let subject = message.subject.clone().unwrap_or_default();
        let subject: String = subject.chars().take(MAX_TRACKED_SUBJECT_CHARS).collect();
        let tracking_token = self
            .settings
            .use_tracking_token
            .then(|| {
                super::correlation::find_tracking_token(&subject, &self.settings.tracking_token)
            })
            .flatten();
        let in_reply_to = message
            .in_reply_to
            .clone()
            .or_else(|| header(message, "In-Reply-To").map(str::to_owned));
        Ok(EmailActivity {
            id: ActivityId::new(),
            subject,
            body_text,
            body_html,
            body_truncated,
            from,
            to,
            cc,
            bcc: Vec::new(),
            direction: Direction::Incoming,
            status: EmailStatus::Received,
            internet_message_id: Some(message_id.to_owned()),
            in_reply_to,
            conversation_index: message.conversation_index.as_ref().map(|c| c.to_base64()),
            tracking_token,
            correlation: CorrelationMethod::None,
            regarding: None,
            parent: None,
            receiving_mailboxes: vec![self.mailbox.id.clone()],
            sender_mailbox: None,
            ews_item_ids: [(self.mailbox.id.as_str().to_owned(), id.id.clone())]
                .into_iter()
                .collect(),
            attachments: message
                .attachments
                .iter()
                .map(|a| AttachmentMeta {
                    name: a.name.clone().unwrap_or_else(|| "attachment".to_owned()),
                    content_type: a.content_type.clone(),
                    size: a.size.unwrap_or(0),
                })
                .collect(),
            delivery_attempts: 0,
            failure_reason: None,
            sent_on: message.date_time_sent.map(|t| t.0),
            received_on: Some(received),
            owner: self.mailbox.owner.clone(),
            version: 1,
            created_at: now,
            modified_at: now,
        })
    }

    /// Moves the page's failed items to Undeliverable (finding or creating the folder
    /// once). A failure here is logged and leaves the items where they are.
    async fn move_undeliverable(&self, writes: &mut PageWrites, report: &mut IncomingReport) {
        if writes.undeliverable.is_empty() {
            return;
        }
        let folder = match &self.mailbox.scheduler.undeliverable_folder_id {
            Some(id) => id.clone(),
            None => match self.undeliverable_folder().await {
                Ok(id) => {
                    report.undeliverable_folder_id = Some(id.clone());
                    id
                }
                Err(e) => {
                    tracing::warn!(
                        mailbox_id = %self.mailbox.id,
                        error = %error_code(&e),
                        "the Undeliverable folder could not be found or created"
                    );
                    return;
                }
            },
        };
        let op = MoveItem {
            to_folder_id: BaseFolderId::Id(exsync_ews::types::FolderId::new(folder)),
            item_ids: writes
                .undeliverable
                .iter()
                .map(|(_, id)| id.clone())
                .collect(),
        };
        match self
            .client
            .call(self.mailbox_address(), &op, self.stop_at)
            .await
        {
            Ok(r) => {
                for ((index, _), result) in writes.undeliverable.iter().zip(r.body) {
                    if result.is_ok()
                        && let Some(entry) = writes.decisions.get_mut(*index)
                        && let Decision::Failed {
                            moved_to_undeliverable,
                            ..
                        } = &mut entry.outcome
                    {
                        *moved_to_undeliverable = true;
                        entry.text = entry.outcome.text();
                    }
                }
            }
            Err(e) => tracing::warn!(
                mailbox_id = %self.mailbox.id,
                error = %error_code(&e),
                "moving failed items to Undeliverable failed"
            ),
        }
        writes.undeliverable.clear();
    }

    /// The Undeliverable folder under the Inbox: found, or created.
    async fn undeliverable_folder(&self) -> Result<String, EwsError> {
        if let Some(id) = self.find_undeliverable().await? {
            return Ok(id);
        }
        let op = CreateFolder {
            parent_folder_id: DistinguishedFolderName::Inbox.into(),
            folders: vec![NewFolder::mail(UNDELIVERABLE_FOLDER)],
        };
        let created = self
            .client
            .call(self.mailbox_address(), &op, self.stop_at)
            .await?
            .body
            .into_iter()
            .next();
        match created {
            Some(Ok(folder)) => {
                folder
                    .folder_id
                    .map(|f| f.id)
                    .ok_or_else(|| EwsError::UnexpectedShape {
                        what: "CreateFolder returned no folder id".into(),
                        location: "CreateFolderResponseMessage".into(),
                    })
            }
            // Created meanwhile by another run: look it up again.
            Some(Err(e)) if e.response_code() == Some(&ResponseCode::ErrorFolderExists) => {
                self.find_undeliverable().await?.ok_or(e)
            }
            Some(Err(e)) => Err(e),
            None => Err(EwsError::MessageCount {
                expected: 1,
                actual: 0,
            }),
        }
    }

    async fn find_undeliverable(&self) -> Result<Option<String>, EwsError> {
        let op = FindFolder {
            traversal: FolderTraversal::Shallow,
            shape: FolderShape {
                base_shape: BaseShape::IdOnly,
                additional_properties: vec![FieldUri::FOLDER_DISPLAY_NAME.into()],
            },
            paging: None,
            restriction: None,
            parent_folder_ids: vec![DistinguishedFolderName::Inbox.into()],
        };
        let pages = self
            .client
            .call(self.mailbox_address(), &op, self.stop_at)
            .await?
            .body;
        for page in pages {
            let page = page?;
            if let Some(found) = page.folders.into_iter().find(|f| {
                f.display_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(UNDELIVERABLE_FOLDER))
            }) && let Some(id) = found.folder_id
            {
                return Ok(Some(id.id));
            }
        }
        Ok(None)
    }

    /// Writes the page's decisions and pointers (one batch), emptying them.
    async fn flush(
        &self,
        writes: &mut PageWrites,
        _report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        if writes.decisions.is_empty() && writes.pointers.is_empty() {
            return Ok(());
        }
        self.ports
            .sync
            .write_page(&writes.decisions, &writes.pointers)
            .await
            .map_err(IncomingError::Store)?;
        writes.decisions.clear();
        writes.pointers.clear();
        writes.undeliverable.clear();
        Ok(())
    }
}

/// One evaluated item: its facts, the decision, and whether it could not be tracked at all
/// (it then goes to Undeliverable when the profile says so).
struct Evaluated {
    facts: ItemFacts,
    decision: Decision,
    undeliverable: bool,
}

impl Evaluated {
    fn keep(facts: ItemFacts, decision: Decision) -> Self {
        Evaluated {
            facts,
            decision,
            undeliverable: false,
        }
    }

    fn undeliverable(facts: ItemFacts, decision: Decision) -> Self {
        Evaluated {
            facts,
            decision,
            undeliverable: true,
        }
    }
}

/// The store refused an activity: a validation error or a conflict fails the item alone
/// (`None`); anything else (the store is down) ends the run.
fn rejected(e: DomainError) -> Result<Option<Decision>, IncomingError> {
    match e {
        DomainError::Validation(_) | DomainError::Conflict(_) | DomainError::NotFound { .. } => {
            tracing::warn!(error = %e, "the activity was refused");
            Ok(None)
        }
        other => Err(IncomingError::Store(other)),
    }
}

/// The tracking option's verdict; `None` when the message is to be tracked. The options
/// based on the sender also take replies to tracked email.
pub fn filter(
    option: IncomingTrackingOption,
    correlated: bool,
    sender_records: &[EmailEnabledRecord],
) -> Option<SkipReason> {
    match option {
        IncomingTrackingOption::None => Some(SkipReason::TrackingOff),
        IncomingTrackingOption::AllEmail => None,
        IncomingTrackingOption::RepliesToTrackedEmail => {
            (!correlated).then_some(SkipReason::NotAReplyToTrackedEmail)
        }
        IncomingTrackingOption::FromKnownContactsAccountsLeads => {
            let known = sender_records.iter().any(|r| {
                matches!(
                    r.kind,
                    RecordKind::Contact | RecordKind::Account | RecordKind::Lead
                )
            });
            (!correlated && !known).then_some(SkipReason::SenderNotKnownContact)
        }
        IncomingTrackingOption::FromAnyEmailEnabledRecord => (!correlated
            && sender_records.is_empty())
        .then_some(SkipReason::SenderNotEmailEnabledRecord),
    }
}

/// The activity with what correlation found: the method, the parent, and the parent's
/// regarding record.
fn correlated(mut activity: EmailActivity, correlation: Option<&Correlation>) -> EmailActivity {
    if let Some(c) = correlation {
        activity.correlation = c.method;
        activity.parent = Some(c.parent.id.clone());
        activity.regarding = c.parent.regarding.clone();
    }
    activity
}

/// Records by address, read once per address per run.
#[derive(Default)]
struct RecordCache {
    by_address: HashMap<EmailAddress, Vec<EmailEnabledRecord>>,
}

impl RecordCache {
    async fn get(
        &mut self,
        ports: &SyncPorts,
        address: &EmailAddress,
    ) -> Result<Vec<EmailEnabledRecord>, DomainError> {
        if let Some(found) = self.by_address.get(address) {
            return Ok(found.clone());
        }
        let found = ports.activities.records_by_email(address).await?;
        self.by_address.insert(address.clone(), found.clone());
        Ok(found)
    }
}

/// Which record a party resolves to when several share its address: people before
/// organisations, customers before users.
fn precedence(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Contact => 0,
        RecordKind::Lead => 1,
        RecordKind::Account => 2,
        RecordKind::User => 3,
        RecordKind::Queue => 4,
    }
}

async fn party(
    ports: &SyncPorts,
    records: &mut RecordCache,
    mailbox: &exsync_ews::types::Mailbox,
) -> Result<Option<Party>, DomainError> {
    // Exchange-internal (EX) addresses do not parse as SMTP and are left out.
    let Some(address) = mailbox
        .email_address
        .as_deref()
        .and_then(EmailAddress::parse)
    else {
        return Ok(None);
    };
    let found = records.get(ports, &address).await?;
    let record = found
        .iter()
        .min_by_key(|r| precedence(r.kind))
        .map(|r| r.id.clone());
    Ok(Some(Party {
        address,
        name: mailbox.name.clone().filter(|n| !n.trim().is_empty()),
        record,
    }))
}

/// A header's value (case-insensitive name).
fn header<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message
        .internet_message_headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.trim())
        .filter(|v| !v.is_empty())
}

/// The text and HTML bodies, each cut to [`MAX_TRACKED_BODY_BYTES`], and whether anything
/// was cut (by exsync or by the server).
fn bodies(message: &Message) -> (String, Option<String>, bool) {
    let Some(body) = &message.body else {
        return (String::new(), None, false);
    };
    let (text, html) = match body.body_type {
        BodyType::Html => (html_to_text(&body.text), Some(body.text.clone())),
        BodyType::Text => (body.text.clone(), None),
    };
    let (text, cut_text) = truncate_bytes(text, MAX_TRACKED_BODY_BYTES);
    let (html, cut_html) = match html {
        Some(h) => {
            let (h, cut) = truncate_bytes(h, MAX_TRACKED_BODY_BYTES);
            (Some(h), cut)
        }
        None => (None, false),
    };
    (text, html, cut_text || cut_html || body.is_truncated)
}

fn truncate_bytes(mut s: String, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    (s, true)
}

/// Plain text from HTML: markup dropped, `<br>` and block ends as line breaks, the common
/// entities decoded, blank runs collapsed. Enough for search and previews; the HTML is
/// kept beside it.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skipping: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skipping.is_none() {
            out.push_str(&decode_entities(rest.get(..lt).unwrap_or("")));
        }
        let after = rest.get(lt..).unwrap_or("");
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after.get(1..gt).unwrap_or("").trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match skipping {
            Some(closing) if tag.starts_with('/') && name == closing => skipping = None,
            Some(_) => {}
            None if (name == "style" || name == "script" || name == "head")
                && !tag.starts_with('/') =>
            {
                skipping = Some(match name.as_str() {
                    "style" => "style",
                    "script" => "script",
                    _ => "head",
                });
            }
            None => {
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table"
                ) {
                    out.push('\n');
                }
            }
        }
        rest = after.get(gt + 1..).unwrap_or("");
    }
    if skipping.is_none() {
        out.push_str(&decode_entities(rest));
    }
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut text = String::with_capacity(out.len());
    let mut blank = true;
    for line in lines {
        if line.is_empty() {
            if !blank {
                text.push('\n');
            }
            blank = true;
        } else {
            text.push_str(&line);
            text.push('\n');
            blank = false;
        }
    }
    text.trim_end().to_owned()
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A stable code for an EWS failure: the response code, else the transport's condition.
pub fn error_code(e: &EwsError) -> String {
    if let Some(code) = e.response_code() {
        return code.as_str().to_owned();
    }
    match e {
        EwsError::Transport(t) => transport_code(t).to_owned(),
        EwsError::Xml(_) => "MalformedResponse".to_owned(),
        EwsError::NotSoapEnvelope { .. } => "NotSoapEnvelope".to_owned(),
        EwsError::UnexpectedShape { .. } => "UnexpectedResponse".to_owned(),
        EwsError::MessageCount { .. } => "ResponseCountMismatch".to_owned(),
        _ => "EwsError".to_owned(),
    }
}

fn transport_code(t: &TransportError) -> &'static str {
    match t {
        TransportError::DeadlineExceeded => "DeadlineExceeded",
        TransportError::ConnectionLost { .. } => "ConnectionLost",
        _ => "TransportFailed",
    }
}

/// True when a call stopped because the caller's deadline passed: the job is unfinished,
/// nothing failed.
pub fn is_deadline(e: &EwsError) -> bool {
    matches!(e, EwsError::Transport(TransportError::DeadlineExceeded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_readable_text() {
        let html = "<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>Bob</b>,</p><p>See you &amp; bye</p></body></html>";
        assert_eq!(html_to_text(html), "Hello Bob,\n\nSee you & bye");
    }

    #[test]
    fn bodies_are_cut_on_a_character_boundary() {
        let s = "é".repeat(10);
        let (cut, truncated) = truncate_bytes(s, 5);
        assert!(truncated);
        assert_eq!(cut, "éé");
    }

    #[test]
    fn tracking_off_skips_everything() {
        assert_eq!(
            filter(IncomingTrackingOption::None, true, &[]),
            Some(SkipReason::TrackingOff)
        );
    }

    #[test]
    fn replies_only_needs_a_correlation() {
        assert_eq!(
            filter(IncomingTrackingOption::RepliesToTrackedEmail, false, &[]),
            Some(SkipReason::NotAReplyToTrackedEmail)
        );
        assert_eq!(
            filter(IncomingTrackingOption::RepliesToTrackedEmail, true, &[]),
            None
        );
    }

    #[test]
    fn a_user_record_is_not_a_known_contact_but_is_email_enabled() {
        let user = EmailEnabledRecord {
            id: crate::ids::RecordId::new(),
            kind: RecordKind::User,
            name: "Bob".into(),
            addresses: vec![EmailAddress::parse("bob@contoso.test").unwrap()],
            principal: None,
        };
        let records = [user];
        assert_eq!(
            filter(
                IncomingTrackingOption::FromKnownContactsAccountsLeads,
                false,
                &records
            ),
            Some(SkipReason::SenderNotKnownContact)
        );
        assert_eq!(
            filter(
                IncomingTrackingOption::FromAnyEmailEnabledRecord,
                false,
                &records
            ),
            None
        );
    }
}
