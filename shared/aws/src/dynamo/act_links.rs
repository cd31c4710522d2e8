//! Appointment, contact and task links ([`ActLink`]), as `docs/data-model.md` lays them
//! out: the link in the mailbox's partition (`MAILBOX#<id>` / `LINK#<ews item id>`), so
//! one query reads every link of a mailbox when its ACT workload runs (and the idle poll's
//! `MAILBOX` … `SYNC#~` range never touches them), and the reverse entry on the record
//! (`ACT#<kind>#<record>` / `LINK#<mailbox>`, holding the EWS item id), written in the same
//! transaction, so a record can tell which mailboxes hold it.

use super::{DynamoStore, item, key_map};
use crate::error::store;
use crate::keys::{self, Key};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use exsync_domain::DomainError;
use exsync_domain::ids::{ActivityId, MailboxId};
use exsync_domain::org::ActEntity;
use exsync_domain::sync::act::ActLink;
use serde::{Deserialize, Serialize};

/// The sort key prefix of links.
const LINK_PREFIX: &str = "LINK#";

/// The reverse entry: where a record lives in Exchange for one mailbox.
#[derive(Debug, Serialize, Deserialize)]
struct ReverseLink {
    mailbox_id: MailboxId,
    record_id: ActivityId,
    item_id: String,
}

fn kind_name(entity: ActEntity) -> &'static str {
    match entity {
        ActEntity::Appointment => "appointment",
        ActEntity::Contact => "contact",
        ActEntity::Task => "task",
    }
}

/// `MAILBOX#<mailbox>` / `LINK#<ews item id>`.
fn link_key(mailbox: &MailboxId, item_id: &str) -> Key {
    Key {
        pk: keys::mailbox_partition(mailbox),
        sk: format!("{LINK_PREFIX}{item_id}"),
    }
}

/// `ACT#<kind>#<record>` / `LINK#<mailbox>`.
fn reverse_key(entity: ActEntity, record: &ActivityId, mailbox: &MailboxId) -> Key {
    Key {
        pk: format!("ACT#{}#{record}", kind_name(entity)),
        sk: format!("{LINK_PREFIX}{mailbox}"),
    }
}

impl DynamoStore {
    /// Every link of a mailbox: one query of `begins_with(sk, LINK#)` (all pages).
    pub(crate) async fn query_act_links(
        &self,
        mailbox: &MailboxId,
    ) -> Result<Vec<ActLink>, DomainError> {
        let mut links = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::mailbox_partition(mailbox)),
                )
                .expression_attribute_values(":prefix", AttributeValue::S(LINK_PREFIX.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
            for it in out.items.unwrap_or_default() {
                links.push(super::parse(it)?);
            }
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) => start = Some(k),
                None => return Ok(links),
            }
        }
    }

    /// Writes a link and its reverse entry in one transaction.
    pub(crate) async fn write_act_link(&self, link: &ActLink) -> Result<(), DomainError> {
        let forward = item(link, &link_key(&link.mailbox_id, &link.item_id), &[])?;
        let reverse = item(
            &ReverseLink {
                mailbox_id: link.mailbox_id.clone(),
                record_id: link.record_id.clone(),
                item_id: link.item_id.clone(),
            },
            &reverse_key(link.entity, &link.record_id, &link.mailbox_id),
            &[],
        )?;
        let puts = [forward, reverse]
            .into_iter()
            .map(|it| {
                Ok(TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(it))
                            .build()
                            .map_err(store)?,
                    )
                    .build())
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(puts))
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        Ok(())
    }

    /// Removes a link and its reverse entry in one transaction.
    pub(crate) async fn remove_act_link(&self, link: &ActLink) -> Result<(), DomainError> {
        let deletes = [
            link_key(&link.mailbox_id, &link.item_id),
            reverse_key(link.entity, &link.record_id, &link.mailbox_id),
        ]
        .iter()
        .map(|k| {
            Ok(TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(k)))
                        .build()
                        .map_err(store)?,
                )
                .build())
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(deletes))
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        Ok(())
    }
}
