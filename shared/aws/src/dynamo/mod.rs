//! The store ports on one DynamoDB table, as `docs/data-model.md` lays it out.
//!
//! Entities are marshalled with `serde_dynamo`; an item is the entity's own attributes plus
//! its key and index attributes from [`crate::keys`]. Every write that can race carries a
//! condition: `version = :expected` for configuration (a failure is a 409), and
//! `attribute_not_exists(pk)` for creates and idempotency keys.

mod access;
mod act_links;
mod activities;
mod due;
mod ops;
mod profiles;
mod sync;

use crate::cursor::{self, KeyMap};
use crate::error::{AwsError, invalid, is_condition_failure, store};
use crate::keys::{self, Index, IndexEntry, Key};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use exsync_domain::DomainError;
use exsync_domain::ports::{Clock, SystemClock};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use access::IdempotencyOutcome;

/// An item as the SDK holds it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The largest page a list returns.
pub const MAX_PAGE: u32 = 1000;

/// BatchWriteItem's limit on requests per call.
const BATCH_WRITE_MAX: usize = 25;
/// How often unprocessed batch items are retried before the write is reported failed.
const BATCH_ATTEMPTS: u32 = 8;

/// Profiles, settings, mailboxes, activities, records, alerts, jobs and roles in one
/// DynamoDB table. Cheap to clone: the SDK client is shared.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// A store on `table`, with a client built from the SDK configuration.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    /// The same store reading the time from `clock` (alert expiry filtering).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client (for the sync engine's own requests on the same table).
    pub fn client(&self) -> &Client {
        &self.client
    }

    // --- items ------------------------------------------------------------------------

    /// Reads one item, strongly consistent: configuration is read just before a
    /// conditional write, and a stale read would only produce a needless 409.
    async fn get_item(&self, key: &Key) -> Result<Option<Item>, DomainError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        Ok(out.item)
    }

    /// Reads and unmarshals one entity.
    async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, DomainError> {
        self.get_item(key).await?.map(parse).transpose()
    }

    /// Writes a new item; an item with the same key means the id is taken (409).
    async fn put_new(&self, item: Item, kind: &'static str, id: &str) -> Result<(), DomainError> {
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(already_exists(kind, id)),
            Err(e) => Err(store(aws_sdk_dynamodb::Error::from(e))),
        }
    }

    /// Replaces an item if its stored version is `expected`.
    async fn put_versioned(
        &self,
        item: Item,
        key: &Key,
        kind: &'static str,
        id: &str,
        expected: u64,
    ) -> Result<(), DomainError> {
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", number(expected))
            .send()
            .await;
        self.versioned_outcome(r, key, kind, id, expected).await
    }

    /// Deletes an item if its stored version is `expected`.
    async fn delete_versioned(
        &self,
        key: &Key,
        kind: &'static str,
        id: &str,
        expected: u64,
    ) -> Result<(), DomainError> {
        let r = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", number(expected))
            .send()
            .await;
        self.versioned_outcome(r, key, kind, id, expected).await
    }

    /// Deletes an item that must exist (404 otherwise).
    async fn delete_existing(
        &self,
        key: &Key,
        kind: &'static str,
        id: &str,
    ) -> Result<(), DomainError> {
        let r = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(not_found(kind, id)),
            Err(e) => Err(store(aws_sdk_dynamodb::Error::from(e))),
        }
    }

    /// The domain's answer to a write made under the version condition (`#v = :expected`):
    /// a failed condition is a 404 or a 409 ([`Self::why_condition_failed`]), any other
    /// failure the store's.
    async fn versioned_outcome<T, E, R>(
        &self,
        r: Result<T, SdkError<E, R>>,
        key: &Key,
        kind: &'static str,
        id: &str,
        expected: u64,
    ) -> Result<(), DomainError>
    where
        E: ProvideErrorMetadata,
        aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
    {
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => {
                Err(self.why_condition_failed(key, kind, id, expected).await)
            }
            Err(e) => Err(store(aws_sdk_dynamodb::Error::from(e))),
        }
    }

    /// A version condition failed: either the item is gone (404) or someone else wrote it
    /// (409). One extra read, only on the failure path.
    async fn why_condition_failed(
        &self,
        key: &Key,
        kind: &'static str,
        id: &str,
        expected: u64,
    ) -> DomainError {
        match self.get_item(key).await {
            Ok(None) => not_found(kind, id),
            Ok(Some(_)) => DomainError::VersionConflict {
                kind,
                id: id.to_owned(),
                expected,
            },
            Err(e) => e,
        }
    }

    /// Writes items in batches of 25, retrying what DynamoDB leaves unprocessed (it does
    /// under throttling) with exponential back-off.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), DomainError> {
        for chunk in requests.chunks(BATCH_WRITE_MAX) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                attempt += 1;
                if attempt > BATCH_ATTEMPTS {
                    return Err(AwsError::Unprocessed {
                        count: pending.len(),
                        attempts: BATCH_ATTEMPTS,
                    }
                    .into());
                }
                if attempt > 1 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tracing::debug!(
                        table = %self.table,
                        unprocessed = pending.len(),
                        attempt,
                        "batch write left items unprocessed; retrying"
                    );
                }
            }
        }
        Ok(())
    }

    /// Reads many items by key (BatchGetItem, 100 per call, unprocessed keys retried), in
    /// no particular order; missing ones are absent from the answer.
    async fn batch_get(&self, keys_: &[Key]) -> Result<Vec<Item>, DomainError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys_.chunks(100) {
            let mut pending: Vec<KeyMap> = chunk.iter().map(key_map).collect();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                attempt += 1;
                if attempt > BATCH_ATTEMPTS {
                    return Err(AwsError::Unprocessed {
                        count: pending.len(),
                        attempts: BATCH_ATTEMPTS,
                    }
                    .into());
                }
                if attempt > 1 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                let ka = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(store)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, ka)
                    .send()
                    .await
                    .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
                if let Some(mut r) = out.responses {
                    found.extend(r.remove(&self.table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.table))
                    .map(|ka| ka.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }

    // --- queries ------------------------------------------------------------------------

    /// One request of a query: its items and where it stopped (`None` at the end).
    async fn query_once(
        &self,
        q: &Query,
        limit: Option<i32>,
        start: Option<KeyMap>,
    ) -> Result<(Vec<Item>, Option<KeyMap>), DomainError> {
        let out = q
            .request(&self.client, &self.table)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| store(aws_sdk_dynamodb::Error::from(e)))?;
        let last = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), last))
    }

    /// One page of a query. `next` is the token of the previous page.
    async fn query_page(
        &self,
        q: &Query,
        limit: u32,
        next: Option<String>,
    ) -> Result<(Vec<Item>, Option<String>), DomainError> {
        let limit = page_limit(limit)?;
        let start = match next.as_deref() {
            Some(token) => Some(cursor::decode(token, &q.key_attrs(), (q.pk_attr(), &q.pk))?),
            None => None,
        };
        let (items, last) = self.query_once(q, Some(limit), start).await?;
        let next = last.as_ref().map(cursor::encode).transpose()?;
        Ok((items, next))
    }

    /// Every item a query matches (all pages).
    async fn query_all(&self, q: &Query) -> Result<Vec<Item>, DomainError> {
        let mut items = Vec::new();
        let mut start: Option<KeyMap> = None;
        loop {
            let (page, last) = self.query_once(q, None, start.take()).await?;
            items.extend(page);
            match last {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// Up to `limit` items a query matches, following pages when a filter leaves a page
    /// short.
    async fn query_up_to(&self, q: &Query, limit: u32) -> Result<Vec<Item>, DomainError> {
        let limit = page_limit(limit)?;
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut start: Option<KeyMap> = None;
        loop {
            let (page, last) = self.query_once(q, Some(limit), start.take()).await?;
            items.extend(page);
            if items.len() >= want {
                items.truncate(want);
                return Ok(items);
            }
            match last {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }
}

/// A query on the table or one of its indexes.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    /// `None` for the table itself.
    pub index: Option<Index>,
    /// The partition key value.
    pub pk: String,
    /// Only sort keys starting with this.
    pub sk_prefix: Option<String>,
    /// Only sort keys after this (exclusive).
    pub sk_after: Option<String>,
    /// Ascending (true) or newest/last first (false).
    pub forward: bool,
    /// An extra filter on non-key attributes.
    pub filter: Option<Filter>,
}

impl Query {
    /// A query of one partition, ascending.
    pub fn partition(index: Option<Index>, pk: String) -> Self {
        Self {
            index,
            pk,
            sk_prefix: None,
            sk_after: None,
            forward: true,
            filter: None,
        }
    }

    /// The same query, descending.
    pub fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }

    /// The same query with a filter.
    pub fn filtered(mut self, filter: Option<Filter>) -> Self {
        self.filter = filter;
        self
    }

    fn pk_attr(&self) -> &'static str {
        self.index.map_or(keys::PK, |i| i.key_attrs().0)
    }

    fn sk_attr(&self) -> &'static str {
        self.index.map_or(keys::SK, |i| i.key_attrs().1)
    }

    /// Every attribute of a LastEvaluatedKey of this query (table key plus index key).
    fn key_attrs(&self) -> Vec<&'static str> {
        let mut v = vec![keys::PK, keys::SK];
        if let Some(i) = self.index {
            let (p, s) = i.key_attrs();
            v.push(p);
            v.push(s);
        }
        v
    }

    fn request(
        &self,
        client: &Client,
        table: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let mut cond = "#qpk = :qpk".to_owned();
        let mut r = client
            .query()
            .table_name(table)
            .set_index_name(self.index.map(|i| i.name().to_owned()))
            .scan_index_forward(self.forward)
            .expression_attribute_names("#qpk", self.pk_attr())
            .expression_attribute_values(":qpk", AttributeValue::S(self.pk.clone()));
        if let Some(prefix) = &self.sk_prefix {
            cond.push_str(" AND begins_with(#qsk, :qsk)");
            r = r
                .expression_attribute_names("#qsk", self.sk_attr())
                .expression_attribute_values(":qsk", AttributeValue::S(prefix.clone()));
        } else if let Some(after) = &self.sk_after {
            cond.push_str(" AND #qsk > :qsk");
            r = r
                .expression_attribute_names("#qsk", self.sk_attr())
                .expression_attribute_values(":qsk", AttributeValue::S(after.clone()));
        }
        r = r.key_condition_expression(cond);
        if let Some(f) = &self.filter {
            r = r.filter_expression(&f.expression);
            for (k, v) in &f.names {
                r = r.expression_attribute_names(k, *v);
            }
            for (k, v) in &f.values {
                r = r.expression_attribute_values(k, v.clone());
            }
        }
        r
    }
}

/// A filter expression with its placeholders (all conditions joined with AND).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    expression: String,
    names: Vec<(String, &'static str)>,
    values: Vec<(String, AttributeValue)>,
}

impl Filter {
    /// Adds `attr = value`.
    pub fn equals(&mut self, attr: &'static str, value: AttributeValue) {
        let n = self.names.len();
        if !self.expression.is_empty() {
            self.expression.push_str(" AND ");
        }
        self.expression.push_str(&format!("#f{n} = :f{n}"));
        self.names.push((format!("#f{n}"), attr));
        self.values.push((format!(":f{n}"), value));
    }

    /// Adds `attr > value`.
    pub fn greater(&mut self, attr: &'static str, value: AttributeValue) {
        let n = self.names.len();
        if !self.expression.is_empty() {
            self.expression.push_str(" AND ");
        }
        self.expression.push_str(&format!("#f{n} > :f{n}"));
        self.names.push((format!("#f{n}"), attr));
        self.values.push((format!(":f{n}"), value));
    }

    /// `None` when no condition was added.
    pub fn build(self) -> Option<Filter> {
        (!self.expression.is_empty()).then_some(self)
    }
}

// --- item helpers -----------------------------------------------------------------------

/// An entity as an item: its attributes, its key, and its index entries.
pub(crate) fn item<T: Serialize>(
    entity: &T,
    key: &Key,
    entries: &[IndexEntry],
) -> Result<Item, DomainError> {
    let mut item: Item = serde_dynamo::to_item(entity).map_err(AwsError::Marshal)?;
    item.insert(keys::PK.to_owned(), AttributeValue::S(key.pk.clone()));
    item.insert(keys::SK.to_owned(), AttributeValue::S(key.sk.clone()));
    for e in entries {
        item.insert(e.pk_attr.to_owned(), AttributeValue::S(e.pk.clone()));
        item.insert(e.sk_attr.to_owned(), AttributeValue::S(e.sk.clone()));
    }
    Ok(item)
}

/// An item as an entity (key and index attributes are ignored).
pub(crate) fn parse<T: DeserializeOwned>(item: Item) -> Result<T, DomainError> {
    let pk = string_attr(&item, keys::PK);
    let sk = string_attr(&item, keys::SK);
    serde_dynamo::from_item(item).map_err(|source| AwsError::BadItem { pk, sk, source }.into())
}

/// A string attribute of an item, empty when absent.
pub(crate) fn string_attr(item: &Item, attr: &str) -> String {
    item.get(attr)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// A key as the SDK wants it.
pub(crate) fn key_map(key: &Key) -> KeyMap {
    HashMap::from([
        (keys::PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (keys::SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// A number attribute.
pub(crate) fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// A value marshalled exactly as it is inside an entity (so an `UpdateItem` writes what a
/// `PutItem` of the whole entity would have).
pub(crate) fn value<T: Serialize>(v: &T) -> Result<AttributeValue, DomainError> {
    serde_dynamo::to_attribute_value(v).map_err(|e| AwsError::Marshal(e).into())
}

pub(crate) fn put_request(item: Item) -> Result<WriteRequest, DomainError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(store)?;
    Ok(WriteRequest::builder().put_request(put).build())
}

pub(crate) fn not_found(kind: &'static str, id: &str) -> DomainError {
    DomainError::NotFound {
        kind,
        id: id.to_owned(),
    }
}

pub(crate) fn already_exists(kind: &'static str, id: &str) -> DomainError {
    DomainError::Conflict(format!("{kind} {id} already exists"))
}

pub(crate) fn page_limit(limit: u32) -> Result<i32, DomainError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(invalid("limit", "must be between 1 and 1000"));
    }
    Ok(i32::try_from(limit).unwrap_or(1000))
}

fn backoff(attempt: u32) -> Duration {
    // 50 ms, 100 ms, 200 ms … capped at 2 s.
    let ms = 25u64.saturating_mul(1u64 << attempt.min(10));
    Duration::from_millis(ms.min(2000))
}
