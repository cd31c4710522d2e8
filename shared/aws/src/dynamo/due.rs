//! The `due` index (`docs/data-model.md`, "Scheduling without a write per poll"): its
//! attributes on every mailbox write, and [`DueIndex`] for the scheduler.
//!
//! A mailbox write carries `duepk`/`duesk` and the projected `due_workloads`,
//! `postponed_until` and `poll_group` exactly while `scheduler.interval_minutes` is set;
//! a whole-item put without them takes the mailbox off the index (the index is sparse).
//! So the index can never disagree with the mailbox, and an idle poll, which changes none
//! of these, writes nothing.

use super::{DynamoStore, Item, Query, string_attr, value};
use crate::cursor::{self, KeyMap};
use crate::keys::{self, Index};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use exsync_domain::DomainError;
use exsync_domain::ids::{MailboxId, ProfileId};
use exsync_domain::mailbox::{Mailbox, Workload};
use exsync_domain::ports::{DueEntry, DueIndex, Page};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Adds the due index's attributes of `m` to its item, when it is schedulable.
pub(super) fn add_due_attributes(item: &mut Item, m: &Mailbox) -> Result<(), DomainError> {
    let Some(interval) = m.scheduler.interval_minutes else {
        return Ok(());
    };
    let slot = keys::due_slot(&m.id, interval);
    item.insert(keys::DUEPK.to_owned(), AttributeValue::S(slot.duepk));
    item.insert(keys::DUESK.to_owned(), AttributeValue::S(slot.duesk));
    item.insert(
        keys::DUE_WORKLOADS.to_owned(),
        value(&m.scheduler.due_workloads)?,
    );
    if let Some(until) = m.scheduler.postponed_until {
        item.insert(
            keys::DUE_POSTPONED_UNTIL.to_owned(),
            AttributeValue::S(until.format(&Rfc3339).map_err(crate::error::store)?),
        );
    }
    if let Some(group) = &m.scheduler.poll_group {
        item.insert(
            keys::DUE_POLL_GROUP.to_owned(),
            AttributeValue::S(group.clone()),
        );
    }
    Ok(())
}

/// A due index entry as the scheduler sees it; `None` (logged) for an entry that does not
/// parse, so one bad item never hides the rest of its slot.
fn entry(item: &Item) -> Option<DueEntry> {
    let duesk = string_attr(item, keys::DUESK);
    let Some(mailbox_id) = MailboxId::parse(&duesk) else {
        tracing::warn!(duesk = %duesk, "due entry without a mailbox id skipped");
        return None;
    };
    let workloads: Vec<Workload> = match item.get(keys::DUE_WORKLOADS) {
        Some(v) => match serde_dynamo::from_attribute_value(v.clone()) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(mailbox_id = %mailbox_id, error = %e, "due entry with unreadable workloads skipped");
                return None;
            }
        },
        None => Vec::new(),
    };
    let postponed_until = match item.get(keys::DUE_POSTPONED_UNTIL).map(|v| v.as_s()) {
        None => None,
        Some(Ok(s)) => match OffsetDateTime::parse(s, &Rfc3339) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(mailbox_id = %mailbox_id, error = %e, "due entry with an unreadable postponement skipped");
                return None;
            }
        },
        Some(Err(_)) => {
            tracing::warn!(mailbox_id = %mailbox_id, "due entry with a non-string postponement skipped");
            return None;
        }
    };
    let text = |attr: &str| {
        item.get(attr)
            .and_then(|v| v.as_s().ok())
            .filter(|s| !s.is_empty())
            .cloned()
    };
    Some(DueEntry {
        profile_id: text(keys::DUE_PROFILE_ID).and_then(|p| ProfileId::parse(&p)),
        poll_group: text(keys::DUE_POLL_GROUP),
        mailbox_id,
        workloads,
        postponed_until,
    })
}

#[async_trait]
impl DueIndex for DynamoStore {
    /// One query page (up to DynamoDB's 1 MB, about 8,000 entries of the narrow index).
    async fn due_mailboxes(
        &self,
        interval: u32,
        phase: u32,
        shard: u32,
        next: Option<String>,
    ) -> Result<Page<DueEntry>, DomainError> {
        let q = Query::partition(
            Some(Index::Due),
            keys::due_partition(interval, phase, shard),
        );
        let start: Option<KeyMap> = match next.as_deref() {
            Some(token) => Some(cursor::decode(token, &q.key_attrs(), (q.pk_attr(), &q.pk))?),
            None => None,
        };
        let (items, last) = self.query_once(&q, None, start).await?;
        Ok(Page {
            items: items.iter().filter_map(entry).collect(),
            next: last.as_ref().map(cursor::encode).transpose()?,
        })
    }
}
