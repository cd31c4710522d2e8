//! [`ActivityStore`] and [`MailFlowStore`]: email activities with their Message-ID dedup
//! keys and mailbox links, appointments, contacts, tasks, and email-enabled records.

use super::{DynamoStore, Query, already_exists, item, key_map, not_found, number, parse, value};
use crate::error::{invalid, store};
use crate::keys::{self, ActKind, Index, IndexEntry, Key};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use exsync_domain::DomainError;
use exsync_domain::activity::{
    Appointment, ContactActivity, EmailActivity, EmailStatus, TaskActivity,
};
use exsync_domain::ids::{ActivityId, EmailAddress, MailboxId, Principal, RecordId};
use exsync_domain::ports::{ActivityStore, MailFlowStore, Page, Tracked};
use exsync_domain::record::{EmailEnabledRecord, RecordKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

const EMAIL: &str = "email";
const RECORD: &str = "record";
/// TransactWriteItems' limit.
const TRANSACTION_MAX: usize = 100;

/// The Message-ID dedup item: which activity holds the message.
#[derive(Debug, Serialize, Deserialize)]
struct MessageIdEntry {
    activity_id: ActivityId,
}

/// A mailbox's link to an email it received or sends.
#[derive(Debug, Serialize, Deserialize)]
struct MailboxLink {
    mailbox_id: MailboxId,
    activity_id: ActivityId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ews_item_id: Option<String>,
}

/// How a write of an email treats its Message-ID dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageIdRule {
    /// Creating the email: the key must not exist.
    New,
    /// Updating it: the key may exist only if it points at this email.
    Own,
}

fn email_entries(e: &EmailActivity) -> Vec<IndexEntry> {
    let mut entries = Vec::new();
    if let Some(r) = &e.regarding {
        entries.push(keys::regarding_entry(r, e.created_at, &e.id));
    }
    let in_outbox = matches!(e.status, EmailStatus::PendingSend | EmailStatus::Sending);
    if let (true, Some(sender)) = (in_outbox, &e.sender_mailbox) {
        entries.push(keys::pending_entry(sender, e.created_at, &e.id));
    }
    entries
}

/// Every mailbox an email is linked to: the receivers and the sender, once each.
fn linked_mailboxes(e: &EmailActivity) -> BTreeSet<&MailboxId> {
    e.receiving_mailboxes
        .iter()
        .chain(e.sender_mailbox.as_ref())
        .collect()
}

impl DynamoStore {
    /// The transaction that writes an email: the activity (new, or at the expected
    /// version), its Message-ID key, and its mailbox links.
    fn email_transaction(
        &self,
        e: &EmailActivity,
        expected_version: Option<u64>,
    ) -> Result<Vec<TransactWriteItem>, DomainError> {
        let mailboxes = linked_mailboxes(e);
        if mailboxes.len() + 2 > TRANSACTION_MAX {
            return Err(invalid(
                "receiving_mailboxes",
                "an email can be linked to at most 98 mailboxes",
            ));
        }
        let activity = Put::builder().table_name(&self.table).set_item(Some(item(
            e,
            &keys::email(&e.id),
            &email_entries(e),
        )?));
        let activity = match expected_version {
            None => activity
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(v) => activity
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", number(v)),
        };
        let mut writes = vec![transact_put(activity)?];
        if let Some(mid) = &e.internet_message_id {
            let entry = MessageIdEntry {
                activity_id: e.id.clone(),
            };
            let p = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(&entry, &keys::message_id(mid), &[])?))
                .expression_attribute_names("#pk", keys::PK);
            let rule = if expected_version.is_none() {
                MessageIdRule::New
            } else {
                MessageIdRule::Own
            };
            let p = match rule {
                MessageIdRule::New => p.condition_expression("attribute_not_exists(#pk)"),
                MessageIdRule::Own => p
                    .condition_expression("attribute_not_exists(#pk) OR #aid = :aid")
                    .expression_attribute_names("#aid", "activity_id")
                    .expression_attribute_values(
                        ":aid",
                        AttributeValue::S(e.id.as_str().to_owned()),
                    ),
            };
            writes.push(transact_put(p)?);
        }
        for m in mailboxes {
            let link = MailboxLink {
                mailbox_id: m.clone(),
                activity_id: e.id.clone(),
                ews_item_id: e.ews_item_ids.get(m.as_str()).cloned(),
            };
            let key = keys::mailbox_activity_link(m, e.created_at, &e.id);
            let p = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(&link, &key, &[])?));
            writes.push(transact_put(p)?);
        }
        Ok(writes)
    }

    /// Writes an email; on a failed condition says which one failed.
    async fn write_email(
        &self,
        e: &EmailActivity,
        expected_version: Option<u64>,
    ) -> Result<(), EmailWriteError> {
        let writes = self.email_transaction(e, expected_version)?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match failed_conditions(&err) {
                Some(failed) if failed.first() == Some(&true) => Err(EmailWriteError::Activity),
                Some(failed) if failed.get(1) == Some(&true) && e.internet_message_id.is_some() => {
                    Err(EmailWriteError::MessageId)
                }
                _ => Err(store(aws_sdk_dynamodb::Error::from(err)).into()),
            },
        }
    }

    async fn message_id_owner(&self, message_id: &str) -> Result<Option<ActivityId>, DomainError> {
        let entry: Option<MessageIdEntry> = self.get(&keys::message_id(message_id)).await?;
        Ok(entry.map(|e| e.activity_id))
    }

    /// Emails by key, in the order of the keys; missing ones left out.
    async fn emails_in_order(
        &self,
        ids: Vec<ActivityId>,
    ) -> Result<Vec<EmailActivity>, DomainError> {
        let keys_: Vec<Key> = ids.iter().map(keys::email).collect();
        let mut by_id: HashMap<String, EmailActivity> = HashMap::new();
        for i in self.batch_get(&keys_).await? {
            let e: EmailActivity = parse(i)?;
            by_id.insert(e.id.as_str().to_owned(), e);
        }
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id.as_str()))
            .collect())
    }
}

fn transact_put(
    p: aws_sdk_dynamodb::types::builders::PutBuilder,
) -> Result<TransactWriteItem, DomainError> {
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(store)?)
        .build())
}

/// Why an email write failed.
enum EmailWriteError {
    /// The activity's condition (absent on create, version on update).
    Activity,
    /// The Message-ID key belongs to another activity.
    MessageId,
    /// Anything else.
    Other(DomainError),
}

impl From<DomainError> for EmailWriteError {
    fn from(e: DomainError) -> Self {
        EmailWriteError::Other(e)
    }
}

/// Which writes of a cancelled transaction failed their condition.
fn failed_conditions<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<bool>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => Some(
            t.cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

#[async_trait]
impl ActivityStore for DynamoStore {
    #[tracing::instrument(skip(self, e), fields(table = %self.table, activity_id = %e.id))]
    async fn create_email(&self, e: &EmailActivity) -> Result<(), DomainError> {
        match self.write_email(e, None).await {
            Ok(()) => Ok(()),
            Err(EmailWriteError::Activity) => Err(already_exists(EMAIL, e.id.as_str())),
            Err(EmailWriteError::MessageId) => {
                let owner = match &e.internet_message_id {
                    Some(m) => self.message_id_owner(m).await?,
                    None => None,
                };
                Err(DomainError::Conflict(format!(
                    "the message is already tracked as email {}",
                    owner.map_or_else(|| "?".to_owned(), |o| o.to_string())
                )))
            }
            Err(EmailWriteError::Other(e)) => Err(e),
        }
    }

    async fn get_email(&self, id: &ActivityId) -> Result<Option<EmailActivity>, DomainError> {
        self.get(&keys::email(id)).await
    }

    #[tracing::instrument(skip(self, e), fields(table = %self.table, activity_id = %e.id))]
    async fn update_email(
        &self,
        e: &EmailActivity,
        expected_version: u64,
    ) -> Result<(), DomainError> {
        match self.write_email(e, Some(expected_version)).await {
            Ok(()) => Ok(()),
            Err(EmailWriteError::Activity) => Err(self
                .why_condition_failed(&keys::email(&e.id), EMAIL, e.id.as_str(), expected_version)
                .await),
            Err(EmailWriteError::MessageId) => Err(DomainError::Conflict(
                "the Internet Message-ID belongs to another email".to_owned(),
            )),
            Err(EmailWriteError::Other(e)) => Err(e),
        }
    }

    async fn list_emails_by_mailbox(
        &self,
        m: &MailboxId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailActivity>, DomainError> {
        let mut q = Query::partition(None, keys::mailbox_partition(m)).newest_first();
        q.sk_prefix = Some(keys::MAILBOX_ACTIVITY_PREFIX.to_owned());
        let (links, next) = self.query_page(&q, limit, next).await?;
        let ids = links
            .into_iter()
            .map(|l| parse::<MailboxLink>(l).map(|l| l.activity_id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items: self.emails_in_order(ids).await?,
            next,
        })
    }

    async fn list_emails_by_regarding(
        &self,
        r: &RecordId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailActivity>, DomainError> {
        let q = Query::partition(Some(Index::Gsi1), keys::regarding_partition(r)).newest_first();
        let (items, next) = self.query_page(&q, limit, next).await?;
        Ok(Page {
            items: items.into_iter().map(parse).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn put_appointment(
        &self,
        a: &Appointment,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        self.put_act(a, expected_version).await
    }

    async fn get_appointment(&self, id: &ActivityId) -> Result<Option<Appointment>, DomainError> {
        self.get_act(id).await
    }

    async fn delete_appointment(&self, id: &ActivityId) -> Result<(), DomainError> {
        self.delete_act::<Appointment>(id).await
    }

    async fn list_appointments(&self, owner: &Principal) -> Result<Vec<Appointment>, DomainError> {
        self.list_act(owner).await
    }

    async fn put_contact(
        &self,
        c: &ContactActivity,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        self.put_act(c, expected_version).await
    }

    async fn get_contact(&self, id: &ActivityId) -> Result<Option<ContactActivity>, DomainError> {
        self.get_act(id).await
    }

    async fn delete_contact(&self, id: &ActivityId) -> Result<(), DomainError> {
        self.delete_act::<ContactActivity>(id).await
    }

    async fn list_contacts(&self, owner: &Principal) -> Result<Vec<ContactActivity>, DomainError> {
        self.list_act(owner).await
    }

    async fn put_task(
        &self,
        t: &TaskActivity,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        self.put_act(t, expected_version).await
    }

    async fn get_task(&self, id: &ActivityId) -> Result<Option<TaskActivity>, DomainError> {
        self.get_act(id).await
    }

    async fn delete_task(&self, id: &ActivityId) -> Result<(), DomainError> {
        self.delete_act::<TaskActivity>(id).await
    }

    async fn list_tasks(&self, owner: &Principal) -> Result<Vec<TaskActivity>, DomainError> {
        self.list_act(owner).await
    }

    /// The record and one copy of it under each of its addresses, in one transaction, so
    /// party resolution reads one partition per address and never sees half a record.
    #[tracing::instrument(skip(self, r), fields(table = %self.table, record_id = %r.id))]
    async fn create_record(&self, r: &EmailEnabledRecord) -> Result<(), DomainError> {
        let addresses: BTreeSet<&EmailAddress> = r.addresses.iter().collect();
        if addresses.len() + 1 > TRANSACTION_MAX {
            return Err(invalid(
                "addresses",
                "a record can have at most 99 addresses",
            ));
        }
        let main = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(
                r,
                &keys::record(&r.id),
                &[keys::record_list_entry(r.kind, &r.name, &r.id)],
            )?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK);
        let mut writes = vec![transact_put(main)?];
        for a in addresses {
            let copy = Put::builder().table_name(&self.table).set_item(Some(item(
                r,
                &keys::record_by_address(a, &r.id),
                &[],
            )?));
            writes.push(transact_put(copy)?);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match failed_conditions(&err) {
                Some(failed) if failed.first() == Some(&true) => {
                    Err(already_exists(RECORD, r.id.as_str()))
                }
                _ => Err(store(aws_sdk_dynamodb::Error::from(err))),
            },
        }
    }

    async fn list_records(
        &self,
        kind: RecordKind,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailEnabledRecord>, DomainError> {
        let q = Query::partition(Some(Index::Gsi1), keys::records_partition(kind));
        let (items, next) = self.query_page(&q, limit, next).await?;
        Ok(Page {
            items: items.into_iter().map(parse).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn records_by_email(
        &self,
        a: &EmailAddress,
    ) -> Result<Vec<EmailEnabledRecord>, DomainError> {
        let q = Query::partition(None, keys::address_partition(a));
        self.query_all(&q).await?.into_iter().map(parse).collect()
    }
}

#[async_trait]
impl MailFlowStore for DynamoStore {
    #[tracing::instrument(skip(self, e), fields(table = %self.table, activity_id = %e.id))]
    async fn track_email_once(&self, e: &EmailActivity) -> Result<Tracked, DomainError> {
        let Some(mid) = &e.internet_message_id else {
            return Err(invalid(
                "internet_message_id",
                "a tracked email needs its Internet Message-ID",
            ));
        };
        match self.write_email(e, None).await {
            Ok(()) => Ok(Tracked::Created),
            Err(EmailWriteError::MessageId) => match self.message_id_owner(mid).await? {
                Some(owner) => Ok(Tracked::AlreadyTracked(owner)),
                // The key vanished between the two requests: only a deleted activity
                // does that; report it rather than guess.
                None => Err(DomainError::Conflict(
                    "the message's dedup key changed while it was being tracked".to_owned(),
                )),
            },
            Err(EmailWriteError::Activity) => Err(already_exists(EMAIL, e.id.as_str())),
            Err(EmailWriteError::Other(e)) => Err(e),
        }
    }

    async fn email_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<EmailActivity>, DomainError> {
        match self.message_id_owner(message_id).await? {
            Some(id) => self.get_email(&id).await,
            None => Ok(None),
        }
    }

    async fn pending_emails(
        &self,
        sender: &MailboxId,
        limit: u32,
    ) -> Result<Vec<EmailActivity>, DomainError> {
        let q = Query::partition(Some(Index::Gsi2), keys::pending_partition(sender));
        self.query_up_to(&q, limit)
            .await?
            .into_iter()
            .map(parse)
            .collect()
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn claim_for_sending(
        &self,
        id: &ActivityId,
        at: OffsetDateTime,
    ) -> Result<Option<EmailActivity>, DomainError> {
        let key = keys::email(id);
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(store)?;
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&key)))
            .update_expression("SET #st = :sending, #v = #v + :one, #m = :at")
            .condition_expression("#st = :pending")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#v", "version")
            .expression_attribute_names("#m", "modified_at")
            .expression_attribute_values(":sending", value(&EmailStatus::Sending)?)
            .expression_attribute_values(":pending", value(&EmailStatus::PendingSend)?)
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":at", AttributeValue::S(at))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match r {
            Ok(out) => out
                .attributes
                .map(parse)
                .transpose()?
                .map_or_else(|| Err(not_found(EMAIL, id.as_str())), |e| Ok(Some(e))),
            Err(e) if crate::error::is_condition_failure(&e) => match self.get_item(&key).await? {
                Some(_) => Ok(None),
                None => Err(not_found(EMAIL, id.as_str())),
            },
            Err(e) => Err(store(aws_sdk_dynamodb::Error::from(e))),
        }
    }
}

/// Appointments, contacts and tasks share their storage rules.
trait ActRecord: Serialize + DeserializeOwned + Send + Sync {
    const KIND: ActKind;
    fn id(&self) -> &ActivityId;
    fn owner(&self) -> &Principal;
    fn modified(&self) -> OffsetDateTime;
}

impl ActRecord for Appointment {
    const KIND: ActKind = ActKind::Appointment;
    fn id(&self) -> &ActivityId {
        &self.id
    }
    fn owner(&self) -> &Principal {
        &self.owner
    }
    fn modified(&self) -> OffsetDateTime {
        self.modified_at
    }
}

impl ActRecord for ContactActivity {
    const KIND: ActKind = ActKind::Contact;
    fn id(&self) -> &ActivityId {
        &self.id
    }
    fn owner(&self) -> &Principal {
        &self.owner
    }
    fn modified(&self) -> OffsetDateTime {
        self.modified_at
    }
}

impl ActRecord for TaskActivity {
    const KIND: ActKind = ActKind::Task;
    fn id(&self) -> &ActivityId {
        &self.id
    }
    fn owner(&self) -> &Principal {
        &self.owner
    }
    fn modified(&self) -> OffsetDateTime {
        self.modified_at
    }
}

impl DynamoStore {
    /// Creates (`None`: the id must be new) or replaces (`Some`: at that version).
    async fn put_act<T: ActRecord>(
        &self,
        a: &T,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        let key = keys::act(T::KIND, a.id());
        let entry = keys::act_owner_entry(T::KIND, a.owner(), a.modified(), a.id());
        let it = item(a, &key, &[entry])?;
        match expected_version {
            None => self.put_new(it, T::KIND.as_str(), a.id().as_str()).await,
            Some(v) => {
                self.put_versioned(it, &key, T::KIND.as_str(), a.id().as_str(), v)
                    .await
            }
        }
    }

    /// One record of a kind, if it exists.
    async fn get_act<T: ActRecord>(&self, id: &ActivityId) -> Result<Option<T>, DomainError> {
        self.get(&keys::act(T::KIND, id)).await
    }

    /// Deletes one record of a kind (a missing one is a 404 naming the kind).
    async fn delete_act<T: ActRecord>(&self, id: &ActivityId) -> Result<(), DomainError> {
        let key = keys::act(T::KIND, id);
        self.delete_existing(&key, T::KIND.as_str(), id.as_str())
            .await
    }

    /// An owner's records of one kind, most recently modified first.
    async fn list_act<T: ActRecord>(&self, owner: &Principal) -> Result<Vec<T>, DomainError> {
        let q = Query::partition(Some(Index::Gsi1), keys::act_owner_partition(T::KIND, owner))
            .newest_first();
        self.query_all(&q).await?.into_iter().map(parse).collect()
    }
}
