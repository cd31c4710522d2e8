//! The services the admin API, the jobs worker and (later) the sync engine call.
//!
//! [`Admin`] holds the ports and offers one method per thing an admin (or a user, within
//! the owner rule) can do. Every method takes the caller's [`Grants`] and typed input, and
//! returns a typed view or a [`DomainError`] the API maps to a status: Validation → 400
//! naming each field, Forbidden → 403 naming the privilege, NotFound → 404,
//! VersionConflict/Conflict → 409. Privileges are checked first, through
//! [`crate::privilege::authorize`] and friends, before anything is read or written (except
//! where the owner rule needs the entity to know its owner).
//!
//! Passwords are sealed with the [`SecretSealer`] under the entity's id
//! ([`crate::exchange::profile_secret_context`]) before anything is stored, and are never
//! logged, returned or put in an alert.

mod access;
mod activities;
mod alerts;
mod decisions;
mod mailboxes;
mod profiles;
mod scheduling;
mod settings;
mod testing;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::exchange::ExchangeEnvironment;
use crate::ids::{MailboxId, Principal};
use crate::ports::{
    AccessStore, ActivityStore, Clock, ConfigStore, JobQueue, OpsStore, PollQueue, SecretSealer,
};
use crate::privilege::Grants;
use crate::test_enable::RetryPolicy;
use crate::validation::ValidationErrors;

pub use activities::{
    AppointmentInput, ContactInput, EmailInput, EmailQuery, MAX_BODY_CHARS, MAX_RECIPIENTS,
    MAX_SUBJECT_CHARS, RecordInput, TaskInput,
};
pub use alerts::AlertQuery;
pub use mailboxes::{ApplyDefaultsOutcome, BulkEdit};
pub use testing::TestAndEnableOutcome;

/// The ports an [`Admin`] works through.
#[derive(Clone)]
pub struct Ports {
    /// Profiles, org settings, mailboxes.
    pub config: Arc<dyn ConfigStore>,
    /// Activities and records.
    pub activities: Arc<dyn ActivityStore>,
    /// Alerts and jobs.
    pub ops: Arc<dyn OpsStore>,
    /// Roles and principals.
    pub access: Arc<dyn AccessStore>,
    /// Sealing passwords.
    pub sealer: Arc<dyn SecretSealer>,
    /// The jobs queue.
    pub jobs: Arc<dyn JobQueue>,
    /// The poll queue: admin actions that leave work waiting (an email to send, workloads
    /// enabled) enqueue the mailbox at once.
    pub polls: Arc<dyn PollQueue>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// Knobs of the services.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// The first administrator, from the deployment: holds every privilege whatever the
    /// store says, so a fresh deployment can be set up.
    pub bootstrap_admin: Option<Principal>,
    /// How many mailboxes Test & Enable runs inside an API request; the rest go to a job.
    pub inline_test_limit: usize,
    /// How the jobs worker retries transient failures.
    pub job_retry: RetryPolicy,
    /// Most mailboxes one bulk request may name.
    pub max_batch: usize,
}

impl Default for AdminOptions {
    fn default() -> Self {
        Self {
            bootstrap_admin: None,
            inline_test_limit: 5,
            job_retry: RetryPolicy::JOBS,
            max_batch: 1000,
        }
    }
}

/// The admin services.
#[derive(Debug, Clone)]
pub struct Admin {
    ports: Ports,
    exchange: ExchangeEnvironment,
    options: AdminOptions,
}

impl Admin {
    /// Services over `ports`, reaching Exchange as `exchange` says.
    pub fn new(ports: Ports, exchange: ExchangeEnvironment, options: AdminOptions) -> Self {
        Self {
            ports,
            exchange,
            options,
        }
    }

    fn now(&self) -> time::OffsetDateTime {
        self.ports.clock.now()
    }
}

/// Most items one list call returns.
pub const MAX_PAGE: u32 = 100;
/// Items a list call returns when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;

/// Paging of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageRequest {
    /// How many (1–100, default 50).
    pub limit: Option<i64>,
    /// The token from the previous page.
    pub next: Option<String>,
}

impl PageRequest {
    fn limit(&self) -> Result<u32, DomainError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(l) if (1..=i64::from(MAX_PAGE)).contains(&l) => {
                Ok(u32::try_from(l).unwrap_or(DEFAULT_PAGE))
            }
            Some(_) => Err(field_error(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            )),
        }
    }
}

/// A validation error on one field.
pub(crate) fn field_error(field: &str, message: impl Into<String>) -> DomainError {
    let mut errs = ValidationErrors::default();
    errs.add(field, message);
    DomainError::Validation(errs)
}

/// The version an update must carry.
pub(crate) fn required_version(version: Option<u64>) -> Result<u64, DomainError> {
    version.ok_or_else(|| {
        field_error(
            "version",
            "is required on update (send back the version you read)",
        )
    })
}

/// How one item of a bulk request came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Done; `result` holds the outcome.
    Ok,
    /// Handed to a job.
    Queued,
    /// Failed; `error` says why.
    Error,
}

/// The error of one item: the status the API would answer for it alone, and the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    /// `validation`, `forbidden`, `not_found`, `conflict` or `internal`.
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

impl From<&DomainError> for ItemError {
    fn from(e: &DomainError) -> Self {
        let kind = match e {
            DomainError::Validation(_) => "validation",
            DomainError::Forbidden(_) => "forbidden",
            DomainError::NotFound { .. } => "not_found",
            DomainError::VersionConflict { .. } | DomainError::Conflict(_) => "conflict",
            _ => "internal",
        };
        ItemError {
            kind: kind.to_owned(),
            message: e.to_string(),
        }
    }
}

/// One mailbox of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem<T> {
    /// The mailbox.
    pub mailbox_id: MailboxId,
    /// Done, queued or failed.
    pub status: ItemStatus,
    /// The outcome, when done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

impl<T> BatchItem<T> {
    fn from_result(mailbox_id: MailboxId, result: Result<T, DomainError>) -> Self {
        match result {
            Ok(value) => BatchItem {
                mailbox_id,
                status: ItemStatus::Ok,
                result: Some(value),
                error: None,
            },
            Err(e) => BatchItem {
                mailbox_id,
                status: ItemStatus::Error,
                result: None,
                error: Some(ItemError::from(&e)),
            },
        }
    }

    fn queued(mailbox_id: MailboxId) -> Self {
        BatchItem {
            mailbox_id,
            status: ItemStatus::Queued,
            result: None,
            error: None,
        }
    }
}

/// Checks a bulk request's mailbox ids: at least one, at most `max`, each a valid id;
/// duplicates are dropped (keeping the first).
pub(crate) fn mailbox_ids(ids: &[String], max: usize) -> Result<Vec<MailboxId>, DomainError> {
    let mut errs = ValidationErrors::default();
    if ids.is_empty() {
        errs.add("mailbox_ids", "must name at least one mailbox");
    }
    if ids.len() > max {
        errs.add("mailbox_ids", format!("must name at most {max} mailboxes"));
    }
    let mut out: Vec<MailboxId> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match MailboxId::parse(id) {
            Some(id) if !out.contains(&id) => out.push(id),
            Some(_) => {}
            None => errs.add(format!("mailbox_ids.{i}"), "is not a valid id"),
        }
    }
    errs.into_result()?;
    Ok(out)
}

/// How often a read-modify-write is tried when someone else wrote in between.
const CONFLICT_RETRIES: usize = 5;

/// A stored record written with optimistic concurrency: each write names the version it
/// replaces, so [`modify_versioned`] can tell a lost race from any other failure.
pub(crate) trait Versioned: Clone {
    /// The version this copy was read at (or is to be written as).
    fn version(&self) -> u64;
    /// Sets the version the next write stores.
    fn set_version(&mut self, version: u64);
}

impl Versioned for crate::profile::Profile {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

impl Versioned for crate::mailbox::Mailbox {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

impl Versioned for crate::org::OrgSettings {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

/// A store's write of one record, as the [`ConfigStore`] methods return it: boxed and
/// `Send`, so [`modify_versioned`] can take it as a plain closure and the API's handlers
/// stay `Send`.
pub(crate) type VersionedWrite<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), DomainError>> + Send + 'a>>;

impl Admin {
    /// Seals a password the caller just gave (create or update) under `context` into `slot`;
    /// without one, `slot` keeps what it holds. The plaintext goes nowhere else.
    pub(crate) async fn seal_new_password(
        &self,
        new: Option<exsync_ews::transport::Secret>,
        context: &str,
        slot: &mut Option<crate::profile::SealedSecret>,
    ) -> Result<(), DomainError> {
        if let Some(password) = new {
            *slot = Some(self.ports.sealer.seal(password.expose(), context).await?);
        }
        Ok(())
    }
}

impl Admin {
    /// Reads with `load`, changes (when `change` says so) and writes with `write` (given
    /// the config store and the version read), again if someone else wrote in between.
    /// After [`CONFLICT_RETRIES`] lost races the last conflict is the error
    /// (`kept_changing` only if there was none), so the caller sees a 409 rather than a
    /// change silently dropped.
    pub(crate) async fn modify_versioned<T, Load>(
        &self,
        load: impl Fn() -> Load,
        write: impl for<'a> Fn(&'a dyn ConfigStore, &'a T, u64) -> VersionedWrite<'a>,
        mut change: impl FnMut(&mut T) -> bool,
        kept_changing: impl FnOnce() -> DomainError,
    ) -> Result<T, DomainError>
    where
        T: Versioned,
        Load: std::future::Future<Output = Result<T, DomainError>>,
    {
        let mut last = None;
        for _ in 0..CONFLICT_RETRIES {
            let current = load().await?;
            let mut next = current.clone();
            if !change(&mut next) {
                return Ok(current);
            }
            next.set_version(current.version() + 1);
            match write(self.ports.config.as_ref(), &next, current.version()).await {
                Ok(()) => return Ok(next),
                Err(e @ DomainError::VersionConflict { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(kept_changing))
    }
}

/// The caller's principal, or a 403 naming `privilege` for an anonymous caller.
pub(crate) fn caller(
    grants: &Grants,
    privilege: crate::privilege::Privilege,
) -> Result<&Principal, DomainError> {
    grants
        .principal
        .as_ref()
        .ok_or(DomainError::Forbidden(privilege))
}
