//! Appointments, contacts and tasks: two-way sync between the mailbox owner's exsync records
//! and the mailbox's Calendar, Contacts and Tasks folders.
//!
//! A synced pair is held together by an [`ActLink`] (EWS item id, change key, and the value
//! of every synced field as both sides last agreed on it). Comparing each side with the
//! link's values tells which side changed a field, with no timestamps to trust and no echo:
//! a change exsync wrote to Exchange comes back in the next SyncFolderItems equal to the
//! link and goes nowhere.
//!
//! One run:
//! 1. **Exchange → exsync**, per folder: [SyncFolderItems](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderitems-operation)
//!    from the stored state (`IdOnly`), then [GetItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem-operation)
//!    for creates and updates. A linked item updates its record, field by field where the
//!    org's direction allows `to_exsync`; an unlinked item the user tagged with the
//!    [`TRACKED_CATEGORY`] becomes a new record of the mailbox owner. A field changed on
//!    both sides goes to the newer change (the record's `modified_at` against the item's
//!    `LastModifiedTime`) and the conflict is logged. A deleted item unlinks.
//! 2. **exsync → Exchange**: the owner's records; an unlinked one is created
//!    ([CreateItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem-operation),
//!    calendar items with `SendMeetingInvitations="SendToNone"`, tagged with the category),
//!    a linked one with fields changed since the link gets one
//!    [UpdateItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem-operation)
//!    with a `SetItemField` per field whose direction allows `to_exchange`. A link whose
//!    record is gone unlinks.
//!
//! Attendees sync like any field, but exsync never tells them: every CreateItem, UpdateItem
//! and DeleteItem of a calendar item says `SendToNone`. An invitation is the user's (or the
//! CRM's) act, done in Outlook; exsync only mirrors the appointment.
//!
//! A field the link holds no value for (one that started syncing after the link was made,
//! such as the attendees) counts as agreed empty: an Exchange value then reaches exsync on
//! the item's next change, and an empty exsync value never clears Exchange's.
//!
//! A delete on one side never deletes on the other unless the org sets
//! [`crate::org::OrgSettings::act_delete_propagates`]. Every write is in the decision log.
//! Sync states are written after the page they cover, only when they changed.
//!
//! **A create is never made twice.** Every item exsync creates carries its record's id in
//! a named extended property ([`record_id_property`]), and the GetItem of step 1 asks for
//! it. When the link write after a CreateItem is lost (the answer never came back, the
//! store failed, the function died), the next run's SyncFolderItems reports the item as
//! created; its record id names an exsync record of the owner with no link in this mailbox,
//! so the item is linked to it (`ActSync::adopt`) before step 2 looks for unlinked
//! records, and step 2 creates nothing. A property naming no record of the owner (or one
//! already linked, as after the user copied the item in Outlook) is ignored: the item is an
//! ordinary Outlook item, tracked only when it has the [`TRACKED_CATEGORY`].
//!
//! ACT polls cost EWS calls (three SyncFolderItems at least): a scheduled job runs them only
//! on every [`ACT_SLOT_STRIDE`]th slot of the mailbox's interval ([`act_runs_now`]); jobs
//! for another reason (Test & Enable, re-enabling) always run them.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use exsync_ews::client::EwsClient;
use exsync_ews::operations::{
    AffectedTaskOccurrences, CreateItem, DeleteItem, DeleteType, GetItem, ItemChange,
    MaxChangesReturned, SendMeetingInvitations, SendMeetingInvitationsOrCancellations, SyncChange,
    SyncFolderItems, UpdateItem,
};
use exsync_ews::types::{
    BaseShape, BodyTypeResponse, DistinguishedFolderName, ExtendedProperty, FieldUri, Item, ItemId,
    ItemShape, PropertyPath, SyncState,
};
use exsync_ews::{ErrorClass, EwsError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::act_fields::{self, ActRecord, FieldValues, fields_of};
use super::decisions::{Decision, DecisionEntry, ItemFacts};
use super::engine::SyncPorts;
use super::incoming::{IncomingError, IncomingOutcome, IncomingReport, error_code, is_deadline};
use super::job::{PollJob, PollReason};
use super::properties::record_id_property;
use crate::error::DomainError;
use crate::ids::{ActivityId, MailboxId};
use crate::mailbox::{Mailbox, MailboxKind, Workload};
use crate::org::{ActEntity, OrgSettings, SyncDirection};
use crate::ports::{MailboxForSync, StoredSyncState};

/// The category a user gives an Outlook item to have exsync track it.
pub const TRACKED_CATEGORY: &str = "Tracked to exsync";
/// A scheduled job runs ACT sync on one slot in this many of the mailbox's interval.
pub const ACT_SLOT_STRIDE: i64 = 3;
/// Changes per SyncFolderItems page.
const PAGE_SIZE: u32 = 512;
/// Items per GetItem call.
const GET_ITEM_BATCH: usize = 10;
/// Decision log sequence numbers of ACT entries start here, clear of incoming's entries
/// written at the same instant.
const SEQ_BASE: u32 = 1 << 20;

/// The side of a synced pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActSide {
    /// The Exchange item.
    Exchange,
    /// The exsync record.
    Exsync,
}

impl ActSide {
    /// The side as the log names it.
    pub fn label(self) -> &'static str {
        match self {
            ActSide::Exchange => "Exchange",
            ActSide::Exsync => "exsync",
        }
    }
}

/// The link between an exsync appointment, contact or task and its Exchange item in one
/// mailbox (`MAILBOX#<id>` / `LINK#<ews item id>`, and the reverse entry on the record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActLink {
    /// The mailbox holding the item.
    pub mailbox_id: MailboxId,
    /// Which kind.
    pub entity: ActEntity,
    /// The exsync record.
    pub record_id: ActivityId,
    /// The EWS item id.
    pub item_id: String,
    /// The item's change key as last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_key: Option<String>,
    /// Every synced field's value as both sides last agreed on it.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// When the link was last written.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
    /// The Exchange item was deleted and the record kept: the link stays as a tombstone so
    /// the record is not created in Exchange again.
    #[serde(default)]
    pub unlinked: bool,
}

/// Whether a job runs the ACT workload: user mailboxes only; a scheduled job only on every
/// [`ACT_SLOT_STRIDE`]th slot of the mailbox's interval, so most polls stay at incoming's
/// one SyncFolderItems.
pub fn act_runs_now(job: &PollJob, mailbox: &Mailbox) -> bool {
    if mailbox.kind != MailboxKind::User {
        return false;
    }
    if job.reason != PollReason::Scheduled {
        return true;
    }
    let interval = i64::from(mailbox.scheduler.interval_minutes.unwrap_or(1).max(1));
    job.slot.div_euclid(interval).rem_euclid(ACT_SLOT_STRIDE) == 0
}

/// The folders ACT sync follows: entity, sync state name, folder.
const FOLDERS: [(ActEntity, &str, DistinguishedFolderName); 3] = [
    (
        ActEntity::Appointment,
        "calendar",
        DistinguishedFolderName::Calendar,
    ),
    (
        ActEntity::Contact,
        "contacts",
        DistinguishedFolderName::Contacts,
    ),
    (ActEntity::Task, "tasks", DistinguishedFolderName::Tasks),
];

/// The value both sides last agreed on for `field`; empty when the link has none (the field
/// started syncing after the link was made, as the attendees did).
fn agreed<'a>(link: &'a ActLink, field: &str) -> &'a str {
    link.fields.get(field).map_or("", String::as_str)
}

/// The exsync record id an Exchange item carries in [`record_id_property`]: `None` when it
/// has none, or a value that is no record id (set by someone else, or by hand).
fn record_id_of(item: &Item) -> Option<ActivityId> {
    // Only appointments, contacts and tasks are records' copies.
    act_fields::entity_of(item)?;
    item.extended_property(&record_id_property())
        .and_then(ActivityId::parse)
}

fn pulls(d: SyncDirection) -> bool {
    matches!(d, SyncDirection::ToExsync | SyncDirection::Both)
}

fn pushes(d: SyncDirection) -> bool {
    matches!(d, SyncDirection::ToExchange | SyncDirection::Both)
}

/// Everything one ACT run needs.
pub(crate) struct ActSync<'a> {
    /// The client for the mailbox's EWS URL.
    pub client: &'a EwsClient,
    /// The address to impersonate, or `None`.
    pub impersonate: Option<&'a str>,
    /// The mailbox and its sync states.
    pub loaded: &'a MailboxForSync,
    /// The org settings.
    pub settings: &'a OrgSettings,
    /// The stores.
    pub ports: &'a SyncPorts,
    /// Stop starting new calls at this instant.
    pub stop_at: Instant,
}

/// What a run keeps between its steps.
struct RunState {
    /// Links by EWS item id.
    links: HashMap<String, ActLink>,
    /// Decisions not yet written.
    decisions: Vec<DecisionEntry>,
    /// Next decision sequence number.
    seq: u32,
    /// The run's instant.
    now: OffsetDateTime,
}

fn stop(e: EwsError) -> Result<bool, IncomingError> {
    if is_deadline(&e) {
        Ok(false)
    } else {
        Err(IncomingError::Ews(e))
    }
}

impl ActSync<'_> {
    /// Runs both directions until done, the deadline, or a failure.
    pub(crate) async fn run(self) -> IncomingOutcome {
        let mut report = IncomingReport::default();
        let error = match self.run_inner(&mut report).await {
            Ok(finished) => {
                report.finished = finished;
                None
            }
            Err(e) => Some(e),
        };
        IncomingOutcome { report, error }
    }

    fn mailbox(&self) -> &Mailbox {
        &self.loaded.mailbox
    }

    fn out_of_time(&self) -> bool {
        Instant::now() >= self.stop_at
    }

    fn directions(&self, entity: ActEntity) -> &BTreeMap<String, SyncDirection> {
        match entity {
            ActEntity::Appointment => &self.settings.appointment_fields,
            ActEntity::Contact => &self.settings.contact_fields,
            ActEntity::Task => &self.settings.task_fields,
        }
    }

    fn direction(&self, entity: ActEntity, field: &str) -> SyncDirection {
        self.directions(entity)
            .get(field)
            .copied()
            .unwrap_or(SyncDirection::Both)
    }

    async fn run_inner(&self, report: &mut IncomingReport) -> Result<bool, IncomingError> {
        let links = self
            .ports
            .sync
            .act_links(&self.mailbox().id)
            .await
            .map_err(IncomingError::Store)?;
        let mut st = RunState {
            links: links.into_iter().map(|l| (l.item_id.clone(), l)).collect(),
            decisions: Vec::new(),
            seq: SEQ_BASE,
            now: self.ports.clock.now(),
        };
        for (entity, name, folder) in FOLDERS {
            let done = self
                .pull_folder(entity, name, folder, &mut st, report)
                .await;
            self.flush(&mut st).await?;
            if !done? {
                return Ok(false);
            }
        }
        let done = self.push(&mut st, report).await;
        self.flush(&mut st).await?;
        done
    }

    /// A pair synced: its link is stored, the decision logged, and the run remembers the
    /// link (the link first, so a decision never names a pair the store does not hold).
    async fn record_synced(
        &self,
        link: ActLink,
        to: ActSide,
        created: bool,
        fields: Vec<String>,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        self.ports
            .sync
            .put_act_link(&link)
            .await
            .map_err(IncomingError::Store)?;
        self.log(
            st,
            report,
            Some(&link.item_id),
            Decision::ActSynced {
                entity: link.entity,
                record_id: link.record_id.clone(),
                to,
                created,
                fields,
            },
        );
        st.links.insert(link.item_id.clone(), link);
        Ok(())
    }

    fn log(
        &self,
        st: &mut RunState,
        report: &mut IncomingReport,
        item_id: Option<&str>,
        d: Decision,
    ) {
        tracing::info!(
            mailbox_id = %self.mailbox().id,
            decision = %d.text(),
            "appointments, contacts and tasks"
        );
        report.evaluated += 1;
        if d.is_failure() {
            report.failed += 1;
        } else {
            report.tracked += 1;
        }
        let seq = st.seq;
        st.seq = st.seq.saturating_add(1);
        st.decisions.push(DecisionEntry::new(
            self.mailbox().id.clone(),
            Workload::AppointmentsContactsTasks,
            st.now,
            seq,
            ItemFacts {
                item_id: item_id.map(str::to_owned),
                ..ItemFacts::default()
            },
            d,
        ));
    }

    async fn flush(&self, st: &mut RunState) -> Result<(), IncomingError> {
        if st.decisions.is_empty() {
            return Ok(());
        }
        self.ports
            .sync
            .write_page(&st.decisions, &[])
            .await
            .map_err(IncomingError::Store)?;
        st.decisions.clear();
        Ok(())
    }

    // --- Exchange → exsync -------------------------------------------------------------

    /// Follows one folder to the present; `Ok(false)` when the deadline stopped it.
    async fn pull_folder(
        &self,
        entity: ActEntity,
        name: &str,
        folder: DistinguishedFolderName,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<bool, IncomingError> {
        let w = Workload::AppointmentsContactsTasks;
        let mut state = self.loaded.sync_state(w, name).map(str::to_owned);
        let mut resynced = false;
        loop {
            if self.out_of_time() {
                return Ok(false);
            }
            let op = SyncFolderItems {
                shape: ItemShape::id_only(),
                folder_id: folder.into(),
                sync_state: state.clone().map(SyncState),
                ignore: Vec::new(),
                max_changes_returned: MaxChangesReturned::new(PAGE_SIZE)
                    .unwrap_or(MaxChangesReturned::MAX),
                sync_scope: None,
            };
            let page = match self.client.call(self.impersonate, &op, self.stop_at).await {
                Ok(r) => r.body,
                Err(e) if e.class() == ErrorClass::SyncStateInvalid && !resynced => {
                    // Links keep a full resync from duplicating anything.
                    if state.is_some() {
                        self.ports
                            .sync
                            .delete_sync_state(&self.mailbox().id, w, name)
                            .await
                            .map_err(IncomingError::Store)?;
                        report.state_writes += 1;
                    }
                    state = None;
                    resynced = true;
                    report.resynced = true;
                    continue;
                }
                Err(e) => return stop(e),
            };
            let mut changed: Vec<ItemId> = Vec::new();
            for c in &page.changes {
                match c {
                    SyncChange::Create(item) | SyncChange::Update(item) => {
                        if let Some(id) = item.item_id() {
                            changed.push(id.clone());
                        }
                    }
                    SyncChange::Delete(id) => self.exchange_deleted(entity, id, st, report).await?,
                    SyncChange::ReadFlagChange { .. } => {}
                }
            }
            if !self.read_changed(entity, &changed, st, report).await? {
                return Ok(false);
            }
            self.flush(st).await?;
            let new_state = page.sync_state.0;
            if !page.changes.is_empty() && state.as_deref() != Some(new_state.as_str()) {
                self.ports
                    .sync
                    .put_sync_state(
                        &self.mailbox().id,
                        &StoredSyncState {
                            workload: w,
                            folder: name.to_owned(),
                            state: new_state.clone(),
                        },
                    )
                    .await
                    .map_err(IncomingError::Store)?;
                report.state_writes += 1;
                state = Some(new_state);
            }
            if page.includes_last_item_in_range {
                return Ok(true);
            }
        }
    }

    /// Reads created and updated items and applies each; `Ok(false)` at the deadline.
    async fn read_changed(
        &self,
        entity: ActEntity,
        ids: &[ItemId],
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<bool, IncomingError> {
        let mut properties: Vec<PropertyPath> = vec![
            FieldUri::ITEM_CATEGORIES.into(),
            FieldUri::ITEM_LAST_MODIFIED_TIME.into(),
            // The record id exsync stamps on what it creates: asked in the read made for
            // every created or changed item anyway, so recovering a lost link costs no
            // call of its own (see `adopt`).
            record_id_property().into(),
        ];
        if entity == ActEntity::Appointment {
            // Asked by name: what AllProperties holds is the server's choice.
            properties.extend([
                FieldUri::CALENDAR_REQUIRED_ATTENDEES.into(),
                FieldUri::CALENDAR_OPTIONAL_ATTENDEES.into(),
            ]);
        }
        let mut shape = ItemShape::new(BaseShape::AllProperties).with_properties(properties);
        shape.body_type = Some(BodyTypeResponse::Text);
        for batch in ids.chunks(GET_ITEM_BATCH) {
            if self.out_of_time() {
                return Ok(false);
            }
            let op = GetItem {
                shape: shape.clone(),
                item_ids: batch.to_vec(),
            };
            let items = match self.client.call(self.impersonate, &op, self.stop_at).await {
                Ok(r) => r.body,
                Err(e) => return stop(e),
            };
            for (id, item) in batch.iter().zip(items) {
                match item {
                    Ok(item) => self.exchange_changed(&item, st, report).await?,
                    // Gone between the sync and the read: the delete arrives next time.
                    Err(e)
                        if e.class() == ErrorClass::ItemLevel && st.links.contains_key(&id.id) =>
                    {
                        self.log(
                            st,
                            report,
                            Some(&id.id),
                            Decision::Failed {
                                code: error_code(&e),
                                moved_to_undeliverable: false,
                            },
                        );
                    }
                    Err(_) => {}
                }
            }
        }
        Ok(true)
    }

    /// A created or changed Exchange item: update its record, or track it when tagged.
    async fn exchange_changed(
        &self,
        item: &Item,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        let (Some(entity), Some(values), Some(id)) = (
            act_fields::entity_of(item),
            act_fields::item_values(item),
            item.item_id(),
        ) else {
            return Ok(());
        };
        match st.links.get(&id.id).cloned() {
            Some(link) if link.unlinked => Ok(()),
            Some(link) => self.pull_linked(link, id, item, values, st, report).await,
            None if self.adopt(entity, id, item, &values, st, report).await? => Ok(()),
            None if act_fields::categories(item)
                .iter()
                .any(|c| c.eq_ignore_ascii_case(TRACKED_CATEGORY)) =>
            {
                self.pull_new(entity, id, values, st, report).await
            }
            // Not the user's wish to track it.
            None => Ok(()),
        }
    }

    /// An unlinked item carrying the id of an owner's record that has no link in this
    /// mailbox is that record's own create whose link write was lost: link it instead of
    /// creating the record again (or tracking the item as a second record). `Ok(false)`
    /// when the item is no such copy.
    ///
    /// Why here and not a FindItem before each create: the echo of every create reaches
    /// this read in the next run's SyncFolderItems of its folder, before the push step runs
    /// (a run that stops early in step 1 never reaches step 2), so the lost link is found
    /// in a read made anyway and an idle poll costs nothing more. A FindItem before creates
    /// would cost a call per create, or a store write per create for a "create attempted"
    /// marker to know when to search.
    async fn adopt(
        &self,
        entity: ActEntity,
        id: &ItemId,
        item: &Item,
        values: &FieldValues,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<bool, IncomingError> {
        let Some(record_id) = record_id_of(item) else {
            return Ok(false);
        };
        // Linked already (a copy the user made in Outlook keeps the property; a tombstone
        // means the user deleted exsync's item): the existing rules decide.
        if st.links.values().any(|l| l.record_id == record_id) {
            return Ok(false);
        }
        let Some(record) = self
            .load(entity, &record_id)
            .await
            .map_err(IncomingError::Store)?
        else {
            return Ok(false);
        };
        if record.owner() != &self.mailbox().owner {
            return Ok(false);
        }
        // The link agrees with the item as Exchange holds it: where the record differs
        // (changed since the create), the push step of this run sends it, as exsync's
        // record is what the item was made from.
        let link = ActLink {
            mailbox_id: self.mailbox().id.clone(),
            entity,
            record_id: record_id.clone(),
            item_id: id.id.clone(),
            change_key: id.change_key.clone(),
            fields: values.clone(),
            synced_at: st.now,
            unlinked: false,
        };
        tracing::info!(
            mailbox_id = %self.mailbox().id,
            record_id = %record_id,
            "an item exsync created is linked to its record after its link was lost"
        );
        // The decision the lost create never logged.
        self.record_synced(link, ActSide::Exchange, true, Vec::new(), st, report)
            .await?;
        Ok(true)
    }

    async fn load(
        &self,
        entity: ActEntity,
        id: &ActivityId,
    ) -> Result<Option<ActRecord>, DomainError> {
        let a = &self.ports.activities;
        Ok(match entity {
            ActEntity::Appointment => a.get_appointment(id).await?.map(ActRecord::Appointment),
            ActEntity::Contact => a.get_contact(id).await?.map(ActRecord::Contact),
            ActEntity::Task => a.get_task(id).await?.map(ActRecord::Task),
        })
    }

    async fn save(&self, r: &ActRecord, expected: Option<u64>) -> Result<(), DomainError> {
        let a = &self.ports.activities;
        match r {
            ActRecord::Appointment(x) => a.put_appointment(x, expected).await,
            ActRecord::Contact(x) => a.put_contact(x, expected).await,
            ActRecord::Task(x) => a.put_task(x, expected).await,
        }
    }

    async fn delete_record(&self, entity: ActEntity, id: &ActivityId) -> Result<(), DomainError> {
        let a = &self.ports.activities;
        match entity {
            ActEntity::Appointment => a.delete_appointment(id).await,
            ActEntity::Contact => a.delete_contact(id).await,
            ActEntity::Task => a.delete_task(id).await,
        }
    }

    /// A linked item changed in Exchange: take each field Exchange changed, where the
    /// direction allows; a field both sides changed goes to the newer change.
    async fn pull_linked(
        &self,
        mut link: ActLink,
        id: &ItemId,
        item: &Item,
        values: FieldValues,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        let entity = link.entity;
        let Some(mut record) = self
            .load(entity, &link.record_id)
            .await
            .map_err(IncomingError::Store)?
        else {
            // Deleted in exsync: the push step unlinks it.
            return Ok(());
        };
        let expected = record.version();
        let exchange_time = act_fields::last_modified(item);
        let ours = record.values();
        let mut taken = Vec::new();
        let mut link_changed = link.change_key != id.change_key;
        for &field in fields_of(entity) {
            let theirs = values.get(field).cloned().unwrap_or_default();
            let last = agreed(&link, field);
            if last == theirs {
                continue;
            }
            let dir = self.direction(entity, field);
            if !pulls(dir) {
                continue;
            }
            let mine = ours.get(field).cloned().unwrap_or_default();
            if dir == SyncDirection::Both && last != mine && mine != theirs {
                let exchange_newer = exchange_time.is_some_and(|t| t > record.modified_at());
                let winner = if exchange_newer {
                    ActSide::Exchange
                } else {
                    ActSide::Exsync
                };
                self.log(
                    st,
                    report,
                    Some(&id.id),
                    Decision::ActConflict {
                        entity,
                        record_id: link.record_id.clone(),
                        field: field.to_owned(),
                        winner,
                    },
                );
                if !exchange_newer {
                    // The link keeps the old value: the push step sends exsync's.
                    continue;
                }
            }
            if mine != theirs && record.set(field, &theirs) {
                taken.push(field.to_owned());
            }
            link.fields.insert(field.to_owned(), theirs);
            link_changed = true;
        }
        if !taken.is_empty() {
            record.touch(st.now);
            self.save(&record, Some(expected))
                .await
                .map_err(IncomingError::Store)?;
            self.log(
                st,
                report,
                Some(&id.id),
                Decision::ActSynced {
                    entity,
                    record_id: link.record_id.clone(),
                    to: ActSide::Exsync,
                    created: false,
                    fields: taken,
                },
            );
        }
        if link_changed {
            link.change_key = id.change_key.clone();
            link.synced_at = st.now;
            self.ports
                .sync
                .put_act_link(&link)
                .await
                .map_err(IncomingError::Store)?;
            st.links.insert(link.item_id.clone(), link);
        }
        Ok(())
    }

    /// An unlinked item the user tagged: a new record of the mailbox owner, with the fields
    /// whose direction allows `to_exsync`.
    async fn pull_new(
        &self,
        entity: ActEntity,
        id: &ItemId,
        values: FieldValues,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        let mut record = ActRecord::empty(entity, self.mailbox().owner.clone(), st.now);
        let mut taken = Vec::new();
        for &field in fields_of(entity) {
            if pulls(self.direction(entity, field))
                && let Some(v) = values.get(field)
                && record.set(field, v)
            {
                taken.push(field.to_owned());
            }
        }
        record.touch(st.now);
        self.save(&record, None)
            .await
            .map_err(IncomingError::Store)?;
        // The link agrees with Exchange on what was taken, and with the record on the rest,
        // so neither side looks changed until someone changes it.
        let ours = record.values();
        let fields = fields_of(entity)
            .iter()
            .map(|&f| {
                let v = if taken.iter().any(|t| t == f) {
                    values.get(f)
                } else {
                    ours.get(f)
                };
                (f.to_owned(), v.cloned().unwrap_or_default())
            })
            .collect();
        let link = ActLink {
            mailbox_id: self.mailbox().id.clone(),
            entity,
            record_id: record.id().clone(),
            item_id: id.id.clone(),
            change_key: id.change_key.clone(),
            fields,
            synced_at: st.now,
            unlinked: false,
        };
        self.record_synced(link, ActSide::Exsync, true, taken, st, report)
            .await
    }

    /// An Exchange item was deleted: unlink (and delete the record only when the org says
    /// deletes propagate).
    async fn exchange_deleted(
        &self,
        entity: ActEntity,
        id: &ItemId,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        let Some(mut link) = st.links.remove(&id.id) else {
            return Ok(());
        };
        if link.unlinked {
            return Ok(());
        }
        let propagated = self.settings.act_delete_propagates;
        if propagated {
            self.delete_record(entity, &link.record_id)
                .await
                .map_err(IncomingError::Store)?;
            self.ports
                .sync
                .delete_act_link(&link)
                .await
                .map_err(IncomingError::Store)?;
        } else {
            link.unlinked = true;
            link.synced_at = st.now;
            self.ports
                .sync
                .put_act_link(&link)
                .await
                .map_err(IncomingError::Store)?;
            st.links.insert(link.item_id.clone(), link.clone());
        }
        self.log(
            st,
            report,
            Some(&id.id),
            Decision::ActUnlinked {
                entity,
                record_id: link.record_id,
                deleted_on: ActSide::Exchange,
                propagated,
            },
        );
        Ok(())
    }

    // --- exsync → Exchange -------------------------------------------------------------

    async fn owner_records(&self) -> Result<Vec<ActRecord>, DomainError> {
        let a = &self.ports.activities;
        let owner = &self.mailbox().owner;
        let mut all: Vec<ActRecord> = Vec::new();
        all.extend(
            a.list_appointments(owner)
                .await?
                .into_iter()
                .map(ActRecord::Appointment),
        );
        all.extend(
            a.list_contacts(owner)
                .await?
                .into_iter()
                .map(ActRecord::Contact),
        );
        all.extend(a.list_tasks(owner).await?.into_iter().map(ActRecord::Task));
        Ok(all)
    }

    /// Creates unlinked records in Exchange, sends changed fields of linked ones, and
    /// unlinks links whose record is gone; `Ok(false)` at the deadline.
    async fn push(
        &self,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<bool, IncomingError> {
        let records = self.owner_records().await.map_err(IncomingError::Store)?;
        let by_record: HashMap<ActivityId, String> = st
            .links
            .values()
            .map(|l| (l.record_id.clone(), l.item_id.clone()))
            .collect();
        for record in &records {
            if self.out_of_time() {
                return Ok(false);
            }
            let link = by_record
                .get(record.id())
                .and_then(|item| st.links.get(item))
                .cloned();
            match link {
                None => self.create_in_exchange(record, st, report).await?,
                // Deleted in Exchange, kept in exsync: left alone.
                Some(link) if link.unlinked => {}
                Some(link) => self.update_in_exchange(record, link, st, report).await?,
            }
        }
        let alive: std::collections::HashSet<&ActivityId> =
            records.iter().map(ActRecord::id).collect();
        let gone: Vec<ActLink> = st
            .links
            .values()
            .filter(|l| !alive.contains(&l.record_id))
            .cloned()
            .collect();
        for link in gone {
            if self.out_of_time() {
                return Ok(false);
            }
            if link.unlinked {
                self.ports
                    .sync
                    .delete_act_link(&link)
                    .await
                    .map_err(IncomingError::Store)?;
                st.links.remove(&link.item_id);
                continue;
            }
            self.exsync_deleted(link, st, report).await?;
        }
        Ok(true)
    }

    async fn create_in_exchange(
        &self,
        record: &ActRecord,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        let entity = record.entity();
        let ours = record.values();
        let sent: FieldValues = ours
            .iter()
            .filter(|(f, _)| pushes(self.direction(entity, f)))
            .map(|(f, v)| (f.clone(), v.clone()))
            .collect();
        let mut new = act_fields::new_item(entity, &sent, vec![TRACKED_CATEGORY.to_owned()]);
        // The record id on the item: if the link write below is lost, the next run finds
        // the item by it and links it rather than creating another (see `adopt`).
        let stamp = ExtendedProperty::new(record_id_property(), record.id().as_str());
        new.extended_properties_mut().push(stamp);
        // What Exchange will read back: the link agrees with it, so the create's echo in
        // the next SyncFolderItems changes nothing.
        let echo = Item::from(new.clone());
        let op = match entity {
            // The attendees go along, but nobody is told: exsync mirrors an appointment the
            // user or the CRM made and never mails attendees on its own.
            ActEntity::Appointment => CreateItem {
                message_disposition: None,
                send_meeting_invitations: Some(SendMeetingInvitations::SendToNone),
                saved_item_folder_id: None,
                items: vec![new],
            },
            _ => CreateItem::items(None, [new]),
        };
        let result = match self.client.call(self.impersonate, &op, self.stop_at).await {
            Ok(r) => r.body.into_iter().next(),
            Err(e) => return stop(e).map(|_| ()),
        };
        let item_id = match result {
            Some(Ok(Some(id))) => id,
            Some(Err(e)) => {
                self.log(
                    st,
                    report,
                    None,
                    Decision::Failed {
                        code: error_code(&e),
                        moved_to_undeliverable: false,
                    },
                );
                return Ok(());
            }
            _ => {
                self.log(
                    st,
                    report,
                    None,
                    Decision::Failed {
                        code: "MissingItemId".into(),
                        moved_to_undeliverable: false,
                    },
                );
                return Ok(());
            }
        };
        let link = ActLink {
            mailbox_id: self.mailbox().id.clone(),
            entity,
            record_id: record.id().clone(),
            item_id: item_id.id.clone(),
            change_key: item_id.change_key.clone(),
            fields: act_fields::item_values(&echo).unwrap_or_default(),
            synced_at: st.now,
            unlinked: false,
        };
        let fields = sent.keys().cloned().collect();
        self.record_synced(link, ActSide::Exchange, true, fields, st, report)
            .await
    }

    async fn update_in_exchange(
        &self,
        record: &ActRecord,
        mut link: ActLink,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        let entity = record.entity();
        let ours = record.values();
        // Only fields with a change EWS can express (see `field_update`) are sent and
        // recorded as agreed.
        let (changed, updates): (Vec<(String, String)>, Vec<_>) = fields_of(entity)
            .iter()
            .filter(|f| pushes(self.direction(entity, f)))
            .filter_map(|&f| {
                let v = ours.get(f)?;
                if agreed(&link, f) == v.as_str() {
                    return None;
                }
                let update = act_fields::field_update(entity, f, v)?;
                Some(((f.to_owned(), v.clone()), update))
            })
            .unzip();
        // Nothing to send. An UpdateItem without a change is not even valid EWS (its
        // Updates must be non-empty), so none is sent.
        if updates.is_empty() {
            return Ok(());
        }
        let mut op = UpdateItem::new(vec![ItemChange {
            item_id: ItemId {
                id: link.item_id.clone(),
                change_key: link.change_key.clone(),
            },
            updates,
        }]);
        if entity == ActEntity::Appointment {
            // An attendee added or removed here hears nothing from exsync (see the create).
            op.send_meeting_invitations_or_cancellations =
                Some(SendMeetingInvitationsOrCancellations::SendToNone);
        }
        let result = match self.client.call(self.impersonate, &op, self.stop_at).await {
            Ok(r) => r.body.into_iter().next(),
            Err(e) => return stop(e).map(|_| ()),
        };
        match result {
            Some(Ok(updated)) => {
                if let Some(id) = updated.item_id {
                    link.change_key = id.change_key;
                }
            }
            Some(Err(e)) => {
                self.log(
                    st,
                    report,
                    Some(&link.item_id),
                    Decision::Failed {
                        code: error_code(&e),
                        moved_to_undeliverable: false,
                    },
                );
                return Ok(());
            }
            None => return Ok(()),
        }
        for (f, v) in &changed {
            link.fields.insert(f.clone(), v.clone());
        }
        link.synced_at = st.now;
        let fields = changed.into_iter().map(|(f, _)| f).collect();
        self.record_synced(link, ActSide::Exchange, false, fields, st, report)
            .await
    }

    /// A record was deleted in exsync: unlink (and delete the item only when the org says
    /// deletes propagate).
    async fn exsync_deleted(
        &self,
        link: ActLink,
        st: &mut RunState,
        report: &mut IncomingReport,
    ) -> Result<(), IncomingError> {
        let propagated = self.settings.act_delete_propagates;
        if propagated {
            let op = DeleteItem {
                delete_type: DeleteType::MoveToDeletedItems,
                send_meeting_cancellations: (link.entity == ActEntity::Appointment)
                    .then_some(SendMeetingInvitations::SendToNone),
                affected_task_occurrences: (link.entity == ActEntity::Task)
                    .then_some(AffectedTaskOccurrences::AllOccurrences),
                item_ids: vec![ItemId {
                    id: link.item_id.clone(),
                    change_key: None,
                }],
            };
            if let Err(e) = self.client.call(self.impersonate, &op, self.stop_at).await {
                return stop(e).map(|_| ());
            }
        }
        self.ports
            .sync
            .delete_act_link(&link)
            .await
            .map_err(IncomingError::Store)?;
        st.links.remove(&link.item_id);
        self.log(
            st,
            report,
            Some(&link.item_id),
            Decision::ActUnlinked {
                entity: link.entity,
                record_id: link.record_id,
                deleted_on: ActSide::Exsync,
                propagated,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exsync_ews::types::ExtendedValue;
    use time::macros::datetime;

    #[test]
    fn a_field_the_link_does_not_hold_counts_as_agreed_empty() {
        let mut link = ActLink {
            mailbox_id: MailboxId::new(),
            entity: ActEntity::Appointment,
            record_id: ActivityId::new(),
            item_id: "I".into(),
            change_key: None,
            fields: BTreeMap::new(),
            synced_at: datetime!(2026-03-01 12:00 UTC),
            unlinked: false,
        };
        link.fields.insert("subject".into(), "Review".into());
        assert_eq!(agreed(&link, "subject"), "Review");
        // A link made before attendees synced: an empty exsync list is no change, so it
        // never clears the attendees Exchange has.
        assert_eq!(agreed(&link, "required_attendees"), "");
    }

    fn task_with(props: Vec<ExtendedProperty>) -> Item {
        Item::Task(Box::new(exsync_ews::types::Task {
            extended_properties: props,
            ..Default::default()
        }))
    }

    #[test]
    fn an_item_carries_the_record_id_it_was_created_for() {
        let id = ActivityId::new();
        let item = task_with(vec![ExtendedProperty::new(
            record_id_property(),
            id.as_str(),
        )]);
        assert_eq!(record_id_of(&item), Some(id));
    }

    #[test]
    fn a_malformed_or_foreign_record_id_property_names_no_record() {
        let foreign = exsync_ews::types::ExtendedFieldUri::named_in(
            super::super::properties::EXSYNC_PROPERTY_SET,
            "SomethingElse",
            exsync_ews::types::MapiPropertyType::String,
        );
        let id = ActivityId::new();
        for props in [
            vec![],
            vec![ExtendedProperty::new(record_id_property(), "")],
            vec![ExtendedProperty::new(record_id_property(), "   ")],
            vec![ExtendedProperty::new(record_id_property(), "a#b")],
            vec![ExtendedProperty::new(record_id_property(), "x".repeat(500))],
            vec![ExtendedProperty {
                field_uri: record_id_property(),
                value: ExtendedValue::Multiple(vec![id.as_str().to_owned()]),
            }],
            vec![ExtendedProperty::new(foreign, id.as_str())],
        ] {
            assert_eq!(record_id_of(&task_with(props.clone())), None, "{props:?}");
        }
        assert_eq!(
            record_id_of(&Item::Message(Box::new(exsync_ews::types::Message {
                extended_properties: vec![ExtendedProperty::new(record_id_property(), id.as_str())],
                ..Default::default()
            }))),
            None,
            "only appointments, contacts and tasks are records' copies"
        );
    }
}
