//! [`SyncStore`]: what the sync worker stores besides mailboxes and activities.
//!
//! - A mailbox and its sync states are one item collection (`MAILBOX#<id>`): the worker
//!   reads both with one query on the sort key range `MAILBOX` … `SYNC#~`, the idle poll's
//!   only read.
//! - Decision log entries (`DECISIONS#<mailbox>`, TTL 30 days) and correlation pointers
//!   (`CORR#…`) of a page are written with one BatchWriteItem.
//! - The incoming copy of an email tracked as two activities has its own dedup key beside
//!   the message's (`MSGID#…` / `MSGID#INCOMING`), written in the activity's transaction.

use super::{DynamoStore, Item, Query, item, key_map, number, parse, put_request, string_attr};
use crate::error::{invalid, store};
use crate::keys::{self, CorrelationKind, Key};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use exsync_domain::DomainError;
use exsync_domain::activity::EmailActivity;
use exsync_domain::ids::{ActivityId, MailboxId};
use exsync_domain::mailbox::{Mailbox, Workload};
use exsync_domain::ports::{
    ActivityStore, MailboxForSync, Page, StoredSyncState, SyncStore, Tracked,
};
use exsync_domain::sync::correlation::CorrelationKeys;
use exsync_domain::sync::decisions::DecisionEntry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A sync state as stored.
#[derive(Debug, Serialize, Deserialize)]
struct SyncStateItem {
    workload: Workload,
    folder: String,
    state: String,
}

/// A correlation pointer: the activity a token, conversation or subject leads to.
#[derive(Debug, Serialize, Deserialize)]
struct Pointer {
    activity_id: ActivityId,
}

/// The dedup key of an incoming copy.
#[derive(Debug, Serialize, Deserialize)]
struct CopyEntry {
    activity_id: ActivityId,
}

/// A mailbox's link to an email, in the shape `list_emails_by_mailbox` reads.
#[derive(Debug, Serialize, Deserialize)]
struct MailboxLink {
    mailbox_id: MailboxId,
    activity_id: ActivityId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ews_item_id: Option<String>,
}

/// TransactWriteItems' limit.
const TRANSACTION_MAX: usize = 100;

fn with_ttl(mut it: Item, expires: time::OffsetDateTime) -> Item {
    it.insert(keys::TTL.to_owned(), number(expires.unix_timestamp()));
    it
}

impl DynamoStore {
    async fn pointed_email(
        &self,
        kind: CorrelationKind,
        value: &str,
    ) -> Result<Option<EmailActivity>, DomainError> {
        let Some(pointer) = self.get::<Pointer>(&keys::correlation(kind, value)).await? else {
            return Ok(None);
        };
        ActivityStore::get_email(self, &pointer.activity_id).await
    }

    fn copy_transaction(
        &self,
        e: &EmailActivity,
        mid: &str,
    ) -> Result<Vec<TransactWriteItem>, DomainError> {
        let mailboxes: BTreeSet<&MailboxId> = e.receiving_mailboxes.iter().collect();
        if mailboxes.len() + 2 > TRANSACTION_MAX {
            return Err(invalid(
                "receiving_mailboxes",
                "an email can be linked to at most 98 mailboxes",
            ));
        }
        let mut entries = Vec::new();
        if let Some(r) = &e.regarding {
            entries.push(keys::regarding_entry(r, e.created_at, &e.id));
        }
        let activity = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(e, &keys::email(&e.id), &entries)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK);
        let copy = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(
                &CopyEntry {
                    activity_id: e.id.clone(),
                },
                &keys::incoming_copy(mid),
                &[],
            )?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK);
        let mut writes = vec![transact(activity)?, transact(copy)?];
        for m in mailboxes {
            let link = MailboxLink {
                mailbox_id: m.clone(),
                activity_id: e.id.clone(),
                ews_item_id: e.ews_item_ids.get(m.as_str()).cloned(),
            };
            let p = Put::builder().table_name(&self.table).set_item(Some(item(
                &link,
                &keys::mailbox_activity_link(m, e.created_at, &e.id),
                &[],
            )?));
            writes.push(transact(p)?);
        }
        Ok(writes)
    }
}

fn transact(
    p: aws_sdk_dynamodb::types::builders::PutBuilder,
) -> Result<TransactWriteItem, DomainError> {
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(store)?)
        .build())
}

#[async_trait]
impl SyncStore for DynamoStore {
    async fn act_links(
        &self,
        mailbox: &MailboxId,
    ) -> Result<Vec<exsync_domain::sync::act::ActLink>, DomainError> {
        self.query_act_links(mailbox).await
    }

    async fn put_act_link(
        &self,
        link: &exsync_domain::sync::act::ActLink,
    ) -> Result<(), DomainError> {
        self.write_act_link(link).await
    }

    async fn delete_act_link(
        &self,
        link: &exsync_domain::sync::act::ActLink,
    ) -> Result<(), DomainError> {
        self.remove_act_link(link).await
    }

    /// One query of the mailbox's partition, sort keys `MAILBOX` … `SYNC#~`. Eventually
    /// consistent (half the read cost): a stale mailbox only costs a version conflict and
    /// a re-read before writing, a stale sync state a page read again (dedup makes it
    /// harmless).
    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn load_for_sync(&self, id: &MailboxId) -> Result<Option<MailboxForSync>, DomainError> {
        let (from, to) = keys::MAILBOX_AND_SYNC_STATES;
        let mut items: Vec<Item> = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", AttributeValue::S(keys::mailbox_partition(id)))
                .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
                .expression_attribute_values(":to", AttributeValue::S(to.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let mut mailbox: Option<Mailbox> = None;
        let mut sync_states = Vec::new();
        for it in items {
            let sk = string_attr(&it, keys::SK);
            if sk == keys::mailbox(id).sk {
                mailbox = Some(parse(it)?);
            } else if sk.starts_with(keys::SYNC_STATE_PREFIX) {
                let s: SyncStateItem = parse(it)?;
                sync_states.push(StoredSyncState {
                    workload: s.workload,
                    folder: s.folder,
                    state: s.state,
                });
            }
        }
        Ok(mailbox.map(|mailbox| MailboxForSync {
            mailbox,
            sync_states,
        }))
    }

    #[tracing::instrument(skip(self, state), fields(table = %self.table, workload = state.workload.as_str()))]
    async fn put_sync_state(
        &self,
        mailbox: &MailboxId,
        state: &StoredSyncState,
    ) -> Result<(), DomainError> {
        let key = keys::sync_state(mailbox, state.workload, &state.folder);
        let it = item(
            &SyncStateItem {
                workload: state.workload,
                folder: state.folder.clone(),
                state: state.state.clone(),
            },
            &key,
            &[],
        )?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn delete_sync_state(
        &self,
        mailbox: &MailboxId,
        workload: Workload,
        folder: &str,
    ) -> Result<(), DomainError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&keys::sync_state(mailbox, workload, folder))))
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(table = %self.table, decisions = decisions.len(), pointers = pointers.len()))]
    async fn write_page(
        &self,
        decisions: &[DecisionEntry],
        pointers: &[(ActivityId, CorrelationKeys)],
    ) -> Result<(), DomainError> {
        let mut requests = Vec::with_capacity(decisions.len() + pointers.len() * 3);
        for d in decisions {
            let key = keys::decision(&d.mailbox_id, d.at, d.seq);
            requests.push(put_request(with_ttl(item(d, &key, &[])?, d.expires_at))?);
        }
        // BatchWriteItem refuses two writes of one key in a call: the latest activity of
        // a conversation or subject wins within the page as across pages.
        let mut seen = BTreeSet::new();
        for (activity, k) in pointers.iter().rev() {
            let targets = [
                (CorrelationKind::Token, &k.tracking_token),
                (CorrelationKind::Conversation, &k.conversation),
                (CorrelationKind::Subject, &k.subject),
            ];
            for (kind, value) in targets {
                let Some(value) = value else { continue };
                let key: Key = keys::correlation(kind, value);
                if !seen.insert(key.clone()) {
                    continue;
                }
                let pointer = Pointer {
                    activity_id: activity.clone(),
                };
                requests.push(put_request(item(&pointer, &key, &[])?)?);
            }
        }
        if requests.is_empty() {
            return Ok(());
        }
        self.batch_write(requests).await
    }

    async fn list_decisions(
        &self,
        mailbox: &MailboxId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<DecisionEntry>, DomainError> {
        let q = Query::partition(None, keys::decisions_partition(mailbox)).newest_first();
        let (items, next) = self.query_page(&q, limit, next).await?;
        Ok(Page {
            items: items.into_iter().map(parse).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn email_by_tracking_token(
        &self,
        token: &str,
    ) -> Result<Option<EmailActivity>, DomainError> {
        self.pointed_email(CorrelationKind::Token, token).await
    }

    async fn email_by_conversation(
        &self,
        thread: &str,
    ) -> Result<Option<EmailActivity>, DomainError> {
        self.pointed_email(CorrelationKind::Conversation, thread)
            .await
    }

    async fn email_by_subject(&self, subject: &str) -> Result<Option<EmailActivity>, DomainError> {
        self.pointed_email(CorrelationKind::Subject, subject).await
    }

    #[tracing::instrument(skip(self, e), fields(table = %self.table, activity_id = %e.id))]
    async fn track_incoming_copy(&self, e: &EmailActivity) -> Result<Tracked, DomainError> {
        let Some(mid) = &e.internet_message_id else {
            return Err(invalid(
                "internet_message_id",
                "a tracked email needs its Internet Message-ID",
            ));
        };
        let writes = self.copy_transaction(e, mid)?;
        let r = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        let err = match r {
            Ok(_) => return Ok(Tracked::Created),
            Err(err) => err,
        };
        let copy_taken = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(t)) => t
                .cancellation_reasons()
                .get(1)
                .is_some_and(|r| r.code() == Some("ConditionalCheckFailed")),
            _ => false,
        };
        if !copy_taken {
            return Err(store(aws_sdk_dynamodb::Error::from(err)));
        }
        match self.get::<CopyEntry>(&keys::incoming_copy(mid)).await? {
            Some(entry) => Ok(Tracked::AlreadyTracked(entry.activity_id)),
            None => Err(DomainError::Conflict(
                "the message's incoming copy key changed while it was being tracked".to_owned(),
            )),
        }
    }
}
