//! [`OpsStore`]: alerts (one copy per audience, expiring by TTL) and jobs (progress counted
//! with `ADD`, so concurrent workers never lose an increment).

use super::{
    DynamoStore, Filter, Item, Query, item, key_map, not_found, number, parse, put_request, value,
};
use crate::error::{is_condition_failure, store};
use crate::keys::{self, Key};
use async_trait::async_trait;
use exsync_domain::DomainError;
use exsync_domain::alert::{Alert, AlertSubject};
use exsync_domain::ids::{AlertId, JobId, Principal};
use exsync_domain::job::{Job, JobKind, JobState};
use exsync_domain::ports::OpsStore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

const ALERT: &str = "alert";
const JOB: &str = "job";

/// Where an alert's copies are.
#[derive(Debug, Serialize, Deserialize)]
struct AlertIndex {
    alert_id: AlertId,
    copies: Vec<CopyKey>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CopyKey {
    pk: String,
    sk: String,
}

/// An item with its TTL attribute (epoch seconds) set to `expires`.
fn with_ttl(mut it: Item, expires: OffsetDateTime) -> Item {
    it.insert(keys::TTL.to_owned(), number(expires.unix_timestamp()));
    it
}

fn audiences(a: &Alert) -> Vec<String> {
    let mut parts = vec![keys::alerts_of_subject(&a.subject)];
    for o in &a.owners {
        let p = keys::alerts_of_owner(o);
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts
}

#[async_trait]
impl OpsStore for DynamoStore {
    async fn decisions_of_mailbox(
        &self,
        mailbox: &exsync_domain::ids::MailboxId,
        limit: u32,
        next: Option<String>,
    ) -> Result<
        exsync_domain::ports::Page<exsync_domain::sync::decisions::DecisionEntry>,
        DomainError,
    > {
        exsync_domain::ports::SyncStore::list_decisions(self, mailbox, limit, next).await
    }

    /// One copy in the subject's partition and one in each owner's, plus the index item
    /// that dismissal reads; all carry the alert's expiry as TTL. Written with
    /// BatchWriteItem (retrying unprocessed items): the copies are independent reads, and
    /// rewriting one is harmless, so no transaction is needed.
    #[tracing::instrument(skip(self, a), fields(table = %self.table, alert_id = %a.id, code = %a.code))]
    async fn put_alert(&self, a: &Alert) -> Result<(), DomainError> {
        let copies: Vec<Key> = audiences(a)
            .into_iter()
            .map(|p| keys::alert_copy(p, a.at, &a.id))
            .collect();
        let mut requests = Vec::with_capacity(copies.len() + 1);
        for k in &copies {
            requests.push(put_request(with_ttl(item(a, k, &[])?, a.expires_at))?);
        }
        let index = AlertIndex {
            alert_id: a.id.clone(),
            copies: copies
                .iter()
                .map(|k| CopyKey {
                    pk: k.pk.clone(),
                    sk: k.sk.clone(),
                })
                .collect(),
        };
        requests.push(put_request(with_ttl(
            item(&index, &keys::alert_index(&a.id), &[])?,
            a.expires_at,
        ))?);
        self.batch_write(requests).await
    }

    async fn alerts_for_subject(
        &self,
        s: &AlertSubject,
        limit: u32,
    ) -> Result<Vec<Alert>, DomainError> {
        self.alerts_in(keys::alerts_of_subject(s), limit).await
    }

    async fn alerts_for_owner(
        &self,
        owner: &Principal,
        limit: u32,
    ) -> Result<Vec<Alert>, DomainError> {
        self.alerts_in(keys::alerts_of_owner(owner), limit).await
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn dismiss_alert(&self, id: &AlertId) -> Result<(), DomainError> {
        let Some(index) = self.get::<AlertIndex>(&keys::alert_index(id)).await? else {
            return Err(not_found(ALERT, id.as_str()));
        };
        for c in index.copies {
            let key = Key { pk: c.pk, sk: c.sk };
            let r = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_map(&key)))
                .update_expression("SET #d = :yes")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#d", "dismissed")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(
                    ":yes",
                    aws_sdk_dynamodb::types::AttributeValue::Bool(true),
                )
                .send()
                .await;
            match r {
                // A copy already removed by TTL has nothing left to dismiss.
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(store(aws_sdk_dynamodb::Error::from(e))),
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip(self, j), fields(table = %self.table, job_id = %j.id))]
    async fn create_job(&self, j: &Job) -> Result<(), DomainError> {
        let entries = match &j.kind {
            JobKind::TestAndEnableProfile { profile_id } => {
                vec![keys::job_of_profile_entry(profile_id, j.created_at, &j.id)]
            }
            JobKind::TestAndEnableMailboxes { .. } => Vec::new(),
        };
        self.put_new(item(j, &keys::job(&j.id), &entries)?, JOB, j.id.as_str())
            .await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, DomainError> {
        self.get(&keys::job(id)).await
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn job_progress(
        &self,
        id: &JobId,
        done: u64,
        succeeded: u64,
        failed: u64,
        state: Option<JobState>,
        at: OffsetDateTime,
    ) -> Result<(), DomainError> {
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(store)?;
        let mut expr = "ADD #done :done, #ok :ok, #failed :failed SET #at = :at".to_owned();
        let mut r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&keys::job(id))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#ok", "succeeded")
            .expression_attribute_names("#failed", "failed")
            .expression_attribute_names("#at", "updated_at")
            .expression_attribute_values(":done", number(done))
            .expression_attribute_values(":ok", number(succeeded))
            .expression_attribute_values(":failed", number(failed))
            .expression_attribute_values(":at", aws_sdk_dynamodb::types::AttributeValue::S(at));
        if let Some(s) = state {
            expr.push_str(", #state = :state");
            r = r
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":state", value(&s)?);
        }
        match r.update_expression(expr).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(not_found(JOB, id.as_str())),
            Err(e) => Err(store(aws_sdk_dynamodb::Error::from(e))),
        }
    }
}

impl DynamoStore {
    /// Up to `limit` unexpired alerts of one audience, newest first. TTL deletion lags
    /// (up to days), so expired copies are filtered out here.
    async fn alerts_in(&self, partition: String, limit: u32) -> Result<Vec<Alert>, DomainError> {
        let mut f = Filter::default();
        f.greater(keys::TTL, number(self.clock.now().unix_timestamp()));
        let q = Query::partition(None, partition)
            .newest_first()
            .filtered(f.build());
        self.query_up_to(&q, limit)
            .await?
            .into_iter()
            .map(parse)
            .collect()
    }
}
