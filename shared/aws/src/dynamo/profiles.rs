//! [`ConfigStore`]: profiles, org settings and mailboxes.

use super::{DynamoStore, Filter, Item, Query, item, number, page_limit, parse, string_attr};
use crate::cursor;
use crate::error::{is_condition_failure, store};
use crate::keys::{self, Index};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use exsync_domain::DomainError;
use exsync_domain::ids::{MailboxId, ProfileId};
use exsync_domain::mailbox::Mailbox;
use exsync_domain::org::OrgSettings;
use exsync_domain::ports::{ConfigStore, MailboxFilter, Page};
use exsync_domain::profile::Profile;

const PROFILE: &str = "profile";
const MAILBOX: &str = "mailbox";
const SETTINGS: &str = "org settings";

fn profile_item(p: &Profile) -> Result<Item, DomainError> {
    item(
        p,
        &keys::profile(&p.id),
        &[keys::profile_list_entry(&p.name, &p.id)],
    )
}

fn mailbox_item(m: &Mailbox) -> Result<Item, DomainError> {
    let entries = keys::mailbox_index_entries(
        &m.id,
        &m.name,
        m.profile_id.as_ref(),
        m.overall_status(),
        m.approval,
    );
    let mut item = item(m, &keys::mailbox(&m.id), &entries)?;
    // From `m.scheduler`, which the domain keeps current (`refresh_schedule`); absent
    // while the mailbox is not schedulable, so this put takes it off the due index.
    super::due::add_due_attributes(&mut item, m)?;
    Ok(item)
}

#[async_trait]
impl ConfigStore for DynamoStore {
    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn get_profile(&self, id: &ProfileId) -> Result<Option<Profile>, DomainError> {
        self.get(&keys::profile(id)).await
    }

    async fn list_profiles(
        &self,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<Profile>, DomainError> {
        let q = Query::partition(Some(Index::Gsi1), keys::profiles_partition());
        let (items, next) = self.query_page(&q, limit, next).await?;
        Ok(Page {
            items: items.into_iter().map(parse).collect::<Result<_, _>>()?,
            next,
        })
    }

    #[tracing::instrument(skip(self, p), fields(table = %self.table, profile_id = %p.id))]
    async fn create_profile(&self, p: &Profile) -> Result<(), DomainError> {
        self.put_new(profile_item(p)?, PROFILE, p.id.as_str()).await
    }

    #[tracing::instrument(skip(self, p), fields(table = %self.table, profile_id = %p.id))]
    async fn update_profile(&self, p: &Profile, expected_version: u64) -> Result<(), DomainError> {
        let key = keys::profile(&p.id);
        self.put_versioned(
            profile_item(p)?,
            &key,
            PROFILE,
            p.id.as_str(),
            expected_version,
        )
        .await
    }

    /// Refused (409) while a mailbox uses the profile. The check reads the profile's
    /// mailbox list, an index that is eventually consistent: a mailbox put on the profile
    /// in the same instant may be missed, which the domain accepts (the mailbox then shows
    /// a missing profile, and Test & Enable says so).
    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn delete_profile(
        &self,
        id: &ProfileId,
        expected_version: u64,
    ) -> Result<(), DomainError> {
        let q = Query::partition(Some(Index::Gsi1), keys::mailboxes_of_profile(Some(id)));
        let (users, _) = self.query_page(&q, 1, None).await?;
        if !users.is_empty() {
            return Err(DomainError::Conflict(format!(
                "profile {id} is used by mailboxes; move them to another profile first"
            )));
        }
        self.delete_versioned(&keys::profile(id), PROFILE, id.as_str(), expected_version)
            .await
    }

    async fn get_settings(&self) -> Result<OrgSettings, DomainError> {
        Ok(self.get(&keys::org_settings()).await?.unwrap_or_default())
    }

    #[tracing::instrument(skip(self, s), fields(table = %self.table))]
    async fn put_settings(
        &self,
        s: &OrgSettings,
        expected_version: u64,
    ) -> Result<(), DomainError> {
        let key = keys::org_settings();
        // Version 0 is the defaults that were never written: the item must not exist yet
        // (or, having been written as version 0, still be at 0).
        let condition = if expected_version == 0 {
            "attribute_not_exists(#pk) OR #v = :expected"
        } else {
            "#v = :expected"
        };
        let mut r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(s, &key, &[])?))
            .condition_expression(condition)
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", number(expected_version));
        if expected_version == 0 {
            r = r.expression_attribute_names("#pk", keys::PK);
        }
        match r.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(DomainError::VersionConflict {
                kind: SETTINGS,
                id: "org".to_owned(),
                expected: expected_version,
            }),
            Err(e) => Err(store(aws_sdk_dynamodb::Error::from(e))),
        }
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn get_mailbox(&self, id: &MailboxId) -> Result<Option<Mailbox>, DomainError> {
        self.get(&keys::mailbox(id)).await
    }

    /// The most selective filter picks the index (profile, then approval, then status);
    /// the others become a filter expression. Without any of the three, the status lists
    /// are merged by name (no scan: every mailbox is on exactly one status list).
    async fn list_mailboxes(
        &self,
        f: &MailboxFilter,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<Mailbox>, DomainError> {
        let mut filter = Filter::default();
        if let Some(active) = f.active {
            filter.equals("active", AttributeValue::Bool(active));
        }
        let q = if let Some(profile) = &f.profile {
            if let Some(a) = f.approval {
                filter.equals(keys::GSI3PK, s(keys::mailboxes_by_approval(a)));
            }
            if let Some(st) = f.status {
                filter.equals(keys::GSI2PK, s(keys::mailboxes_by_status(st)));
            }
            Query::partition(Some(Index::Gsi1), keys::mailboxes_of_profile(Some(profile)))
        } else if let Some(a) = f.approval {
            if let Some(st) = f.status {
                filter.equals(keys::GSI2PK, s(keys::mailboxes_by_status(st)));
            }
            Query::partition(Some(Index::Gsi3), keys::mailboxes_by_approval(a))
        } else if let Some(st) = f.status {
            Query::partition(Some(Index::Gsi2), keys::mailboxes_by_status(st))
        } else {
            return self.list_all_mailboxes(filter.build(), limit, next).await;
        };
        let (items, next) = self
            .query_page(&q.filtered(filter.build()), limit, next)
            .await?;
        Ok(Page {
            items: items.into_iter().map(parse).collect::<Result<_, _>>()?,
            next,
        })
    }

    #[tracing::instrument(skip(self, m), fields(table = %self.table, mailbox_id = %m.id))]
    async fn create_mailbox(&self, m: &Mailbox) -> Result<(), DomainError> {
        self.put_new(mailbox_item(m)?, MAILBOX, m.id.as_str()).await
    }

    #[tracing::instrument(skip(self, m), fields(table = %self.table, mailbox_id = %m.id))]
    async fn update_mailbox(&self, m: &Mailbox, expected_version: u64) -> Result<(), DomainError> {
        let key = keys::mailbox(&m.id);
        self.put_versioned(
            mailbox_item(m)?,
            &key,
            MAILBOX,
            m.id.as_str(),
            expected_version,
        )
        .await
    }
}

impl DynamoStore {
    /// Every mailbox by name: the three status lists, merged. Each list is read from just
    /// after the last name returned; a list that stopped early (its page was full, or the
    /// filter thinned it) bounds how far the merge may go, so nothing is skipped.
    async fn list_all_mailboxes(
        &self,
        filter: Option<Filter>,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<Mailbox>, DomainError> {
        let after = next
            .as_deref()
            .map(|t| cursor::decode_after(t, keys::GSI2SK))
            .transpose()?;
        let mut candidates: Vec<(String, Item)> = Vec::new();
        // The smallest sort key up to which every list has been read.
        let mut bound: Option<String> = None;
        let page = page_limit(limit)?;
        for status in keys::ALL_STATUSES {
            let mut q = Query::partition(Some(Index::Gsi2), keys::mailboxes_by_status(status))
                .filtered(filter.clone());
            q.sk_after = after.clone();
            let (items, last) = self.query_once(&q, Some(page), None).await?;
            let last_read =
                last.and_then(|k| k.get(keys::GSI2SK).and_then(|v| v.as_s().ok()).cloned());
            if let Some(l) = last_read {
                bound = Some(match bound {
                    Some(b) if b <= l => b,
                    _ => l,
                });
            }
            candidates.extend(
                items
                    .into_iter()
                    .map(|i| (string_attr(&i, keys::GSI2SK), i)),
            );
        }
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut taken: Vec<(String, Item)> = candidates
            .into_iter()
            .filter(|(sk, _)| bound.as_ref().is_none_or(|b| sk <= b))
            .take(want)
            .collect();
        let next = if taken.len() == want {
            taken
                .last()
                .map(|(sk, _)| cursor::encode_after(keys::GSI2SK, sk))
        } else {
            bound.map(|b| cursor::encode_after(keys::GSI2SK, &b))
        };
        Ok(Page {
            items: taken
                .drain(..)
                .map(|(_, i)| parse(i))
                .collect::<Result<_, _>>()?,
            next,
        })
    }
}

fn s(v: String) -> AttributeValue {
    AttributeValue::S(v)
}
