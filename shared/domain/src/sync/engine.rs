//! The sync engine: one [`PollJob`] in, the mailbox's due workloads run against Exchange,
//! the outcome written back — and, for the common idle poll, nothing written at all.
//!
//! For each job: load the mailbox and its sync states (one read); the profile, the org
//! settings and the unsealed credentials come from a per-container cache
//! ([`EngineOptions::cache_ttl`]); resolve the EWS URL (configured, or discovered once and
//! cached on the mailbox, rediscovered when a cached URL fails at profile level); build the
//! client on a transport shared by every job of the profile (its pool is the profile's
//! maximum concurrent connections; with credentials on the mailbox, one per mailbox); run
//! each due workload's runner: incoming tracking is [`super::incoming`], outgoing send
//! [`super::outgoing`], appointments/contacts/tasks [`super::act`].
//!
//! Errors are handled by class ([`super::errors`]); the mailbox is written only when
//! something on it changed (status, counters of a sync that did something, a postponement,
//! the schedule from [`crate::schedule::refresh_schedule`]), with a version check and a
//! re-read on conflict. A job is never slept in: throttling postpones the mailbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use exsync_ews::ErrorClass;
use exsync_ews::client::EwsClient;
use exsync_ews::transport::HttpTransport;
use time::OffsetDateTime;

use super::errors::{self, Failure, FailureAction};
use super::incoming::{INBOX, IncomingError, IncomingOutcome, IncomingReport, IncomingSync};
use super::job::{PollJob, PollReason};
use crate::alert::Alert;
use crate::diagnosis::{Audience, Context, diagnose_call, diagnose_discovery, diagnose_transport};
use crate::error::DomainError;
use crate::exchange::{ExchangeEnvironment, mailbox_access};
use crate::ids::{MailboxId, ProfileId};
use crate::mailbox::{Mailbox, Workload, WorkloadStatus};
use crate::org::OrgSettings;
use crate::ports::{
    ActivityStore, Clock, ConfigStore, MailFlowStore, MailboxForSync, OpsStore, SecretSealer,
    SyncStore,
};
use crate::profile::{Circuit, CredentialsLocation, Profile};
use crate::schedule;

/// The stores and services the engine works through.
#[derive(Clone)]
pub struct SyncPorts {
    /// Profiles, org settings, mailboxes.
    pub config: Arc<dyn ConfigStore>,
    /// Sync states, decision log, correlation pointers.
    pub sync: Arc<dyn SyncStore>,
    /// Message-ID dedup.
    pub mail: Arc<dyn MailFlowStore>,
    /// Activities and records.
    pub activities: Arc<dyn ActivityStore>,
    /// Alerts.
    pub ops: Arc<dyn OpsStore>,
    /// Unsealing passwords.
    pub sealer: Arc<dyn SecretSealer>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SyncPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncPorts").finish_non_exhaustive()
    }
}

/// Knobs of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How long a warm container trusts its copy of a profile, the org settings and the
    /// unsealed credentials (a changed password is picked up at the latest after this, or
    /// at once when it makes a call fail).
    pub cache_ttl: Duration,
    /// Most transports (connection pools) kept; with credentials on mailboxes there is one
    /// per mailbox.
    pub max_transports: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(300),
            max_transports: 256,
        }
    }
}

/// Why a job did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobSkip {
    /// The mailbox no longer exists.
    MailboxGone,
    /// It has no profile, or the profile is gone.
    NoProfile,
    /// None of the job's workloads is due any more (disabled, inactive, not approved…).
    NothingDue,
    /// The profile's circuit is open and this is not its probe.
    CircuitOpen,
    /// The mailbox is postponed (throttling, transient failures) and this is a scheduled
    /// poll.
    Postponed,
}

/// How a job ended, as the queue needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done (including failures the engine handled by postponing, disabling or opening the
    /// circuit): the message can be deleted.
    Done,
    /// Nothing to do: the message can be deleted.
    Skipped(JobSkip),
    /// The deadline came first: what was done is kept; the message must come back.
    Unfinished,
}

/// How one workload's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadResult {
    /// It ran to the present (or to the deadline).
    Ran(IncomingReport),
    /// It failed; `action` is what the engine did about it.
    Failed {
        /// The failure.
        code: String,
        /// What was done.
        action: FailureAction,
    },
    /// Not built yet (outgoing send; appointments, contacts and tasks).
    NotImplemented,
}

/// One workload of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadReport {
    /// Which.
    pub workload: Workload,
    /// How it ended.
    pub result: WorkloadResult,
    /// How long it took.
    pub duration: Duration,
}

/// What a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// The mailbox.
    pub mailbox_id: MailboxId,
    /// How it ended.
    pub outcome: JobOutcome,
    /// Each workload run.
    pub workloads: Vec<WorkloadReport>,
    /// The mailbox was written.
    pub mailbox_written: bool,
    /// Alerts raised.
    pub alerts: usize,
}

impl JobReport {
    fn skipped(mailbox_id: &MailboxId, why: JobSkip) -> Self {
        JobReport {
            mailbox_id: mailbox_id.clone(),
            outcome: JobOutcome::Skipped(why),
            workloads: Vec::new(),
            mailbox_written: false,
            alerts: 0,
        }
    }
}

/// What identifies a connection pool: everything the transport is built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TransportKey {
    profile: ProfileId,
    auth: String,
    user: Option<String>,
    sealed: Option<String>,
    ca: Option<String>,
    timeout: u32,
    max_connections: u32,
    /// Set when the credentials are the mailbox's own.
    mailbox: Option<MailboxId>,
}

impl TransportKey {
    fn new(profile: &Profile, mailbox: &Mailbox) -> Self {
        let own = profile.credentials_location == CredentialsLocation::Mailbox;
        let (user, sealed) = if own {
            (
                mailbox.user_name.clone(),
                mailbox.password.as_ref().map(|p| p.ciphertext_b64.clone()),
            )
        } else {
            (
                profile.user_name.clone(),
                profile.password.as_ref().map(|p| p.ciphertext_b64.clone()),
            )
        };
        TransportKey {
            profile: profile.id.clone(),
            auth: format!("{:?}", profile.auth_type),
            user,
            sealed,
            ca: profile.ca_bundle_pem.clone(),
            timeout: profile.connection_timeout_seconds,
            max_connections: profile.max_concurrent_connections,
            mailbox: own.then(|| mailbox.id.clone()),
        }
    }
}

/// Everything a mailbox's connection is built from: the transport, and where its calls
/// go. [`may_be_stale`] compares it whole, so a field added here (or to [`TransportKey`])
/// is compared too.
#[derive(Debug, PartialEq, Eq)]
struct ConnectionKey<'a> {
    transport: TransportKey,
    use_autodiscover: bool,
    incoming_url: Option<&'a str>,
    /// The outgoing workload calls the outgoing URL when the profile has its own.
    outgoing_url: Option<&'a str>,
}

impl<'a> ConnectionKey<'a> {
    fn new(profile: &'a Profile, mailbox: &Mailbox) -> Self {
        ConnectionKey {
            transport: TransportKey::new(profile, mailbox),
            use_autodiscover: profile.use_autodiscover,
            incoming_url: profile.configured_ews_url(false),
            outgoing_url: profile.configured_ews_url(true),
        }
    }
}

#[derive(Default)]
struct Caches {
    profiles: HashMap<ProfileId, (Profile, Instant)>,
    settings: Option<(OrgSettings, Instant)>,
    transports: HashMap<TransportKey, (HttpTransport, Instant)>,
}

/// A ready connection to a mailbox: the transport and who to impersonate.
struct Access {
    transport: HttpTransport,
    impersonate: Option<String>,
    user: String,
    scheme: exsync_ews::transport::AuthScheme,
}

/// The sync engine of one warm container: ports, the Exchange environment, and the caches.
pub struct SyncEngine {
    ports: SyncPorts,
    exchange: ExchangeEnvironment,
    options: EngineOptions,
    caches: Mutex<Caches>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The changes a job's outcome makes to its mailbox, applied to whatever version is stored
/// when it is written (a re-read after a conflict gets the same changes).
#[derive(Debug, Default)]
struct MailboxChanges {
    succeeded: Vec<Workload>,
    transient: Vec<(Workload, Failure, OffsetDateTime)>,
    permanent: Vec<(Workload, Failure)>,
    discovered_url: Option<String>,
    undeliverable_folder_id: Option<String>,
    newest_received: Option<OffsetDateTime>,
    /// Counters of a sync that did something: (processed, failed, started, ended).
    stats: Option<(u32, u32, OffsetDateTime, OffsetDateTime)>,
}

impl MailboxChanges {
    /// Applies the changes; returns the alerts they raise.
    fn apply(
        &self,
        m: &mut Mailbox,
        profile: &Profile,
        settings: &OrgSettings,
        now: OffsetDateTime,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for &w in &self.succeeded {
            let state = m.workload_mut(w);
            if state.status != WorkloadStatus::Success {
                state.status = WorkloadStatus::Success;
                state.status_at = Some(now);
            }
            state.last_error_code = None;
            state.last_error_text = None;
            state.consecutive_transient_failures = 0;
        }
        if !self.succeeded.is_empty() && self.transient.is_empty() {
            m.scheduler.postponed_until = None;
        }
        for (w, failure, until) in &self.transient {
            alerts.extend(errors::apply_transient(
                m, *w, failure, *until, settings, now,
            ));
        }
        for (w, failure) in &self.permanent {
            alerts.extend(errors::apply_permanent(
                m, *w, failure, profile, settings, now,
            ));
        }
        if let Some(url) = &self.discovered_url {
            m.scheduler.cached_ews_url = Some(url.clone());
            m.scheduler.ews_url_discovered_at = Some(now);
        }
        if let Some(id) = &self.undeliverable_folder_id {
            m.scheduler.undeliverable_folder_id = Some(id.clone());
        }
        if let Some(received) = self.newest_received {
            m.scheduler.last_activity_at = m.scheduler.last_activity_at.max(Some(received));
        }
        if let Some((processed, failed, start, end)) = self.stats {
            m.scheduler.items_processed = processed;
            m.scheduler.items_failed = failed;
            m.scheduler.last_sync_start = Some(start);
            m.scheduler.last_sync_end = Some(end);
        }
        schedule::refresh_schedule(m, Some(profile), settings, now);
        alerts
    }
}

/// How many times a mailbox write is retried after another writer won.
const WRITE_ATTEMPTS: usize = 5;

impl SyncEngine {
    /// An engine over `ports`, reaching Exchange as `exchange` says.
    pub fn new(ports: SyncPorts, exchange: ExchangeEnvironment, options: EngineOptions) -> Self {
        Self {
            ports,
            exchange,
            options,
            caches: Mutex::new(Caches::default()),
        }
    }

    /// The ports (for the function's own reads, e.g. the decision log in tests).
    pub fn ports(&self) -> &SyncPorts {
        &self.ports
    }

    fn caches(&self) -> std::sync::MutexGuard<'_, Caches> {
        self.caches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets every cached profile, setting and transport (tests; a new deployment).
    pub fn clear_caches(&self) {
        *self.caches() = Caches::default();
    }

    /// Runs one poll job. Stops starting new Exchange calls at `stop_at` and then reports
    /// [`JobOutcome::Unfinished`]. `Err` only for a store failure: the job should come back.
    pub async fn handle(&self, job: &PollJob, stop_at: Instant) -> Result<JobReport, DomainError> {
        let span = tracing::info_span!(
            "poll_job",
            mailbox_id = %job.mailbox_id,
            reason = job.reason.as_str(),
            slot = job.slot,
        );
        use tracing::Instrument as _;
        async {
            let started = Instant::now();
            let report = self.handle_once(job, stop_at, true).await?;
            tracing::info!(
                outcome = ?report.outcome,
                mailbox_written = report.mailbox_written,
                alerts = report.alerts,
                duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "poll job finished"
            );
            Ok(report)
        }
        .instrument(span)
        .await
    }

    async fn handle_once(
        &self,
        job: &PollJob,
        stop_at: Instant,
        may_retry: bool,
    ) -> Result<JobReport, DomainError> {
        let now = self.ports.clock.now();
        let Some(loaded) = self.ports.sync.load_for_sync(&job.mailbox_id).await? else {
            return Ok(JobReport::skipped(&job.mailbox_id, JobSkip::MailboxGone));
        };
        let Some(profile_id) = loaded.mailbox.profile_id.clone() else {
            return Ok(JobReport::skipped(&job.mailbox_id, JobSkip::NoProfile));
        };
        let Some(profile) = self.profile(&profile_id).await? else {
            return Ok(JobReport::skipped(&job.mailbox_id, JobSkip::NoProfile));
        };
        let settings = self.settings().await?;
        let due = schedule::due_workloads(&loaded.mailbox, Some(&profile), &settings);
        let workloads: Vec<Workload> = job
            .workloads
            .iter()
            .copied()
            .filter(|w| due.contains(w))
            .collect();
        if workloads.is_empty() {
            // The index may still list the mailbox (it changed since the job was queued):
            // putting its schedule right costs a write now and saves one job per slot.
            let written = self
                .write_mailbox(
                    &loaded.mailbox,
                    &profile,
                    &settings,
                    &MailboxChanges::default(),
                )
                .await?;
            let mut r = JobReport::skipped(&job.mailbox_id, JobSkip::NothingDue);
            r.mailbox_written = written.0;
            return Ok(r);
        }
        if matches!(profile.circuit, Circuit::Open { .. }) && job.reason != PollReason::CircuitProbe
        {
            return Ok(JobReport::skipped(&job.mailbox_id, JobSkip::CircuitOpen));
        }
        if job.reason == PollReason::Scheduled
            && loaded
                .mailbox
                .scheduler
                .postponed_until
                .is_some_and(|p| p > now)
        {
            return Ok(JobReport::skipped(&job.mailbox_id, JobSkip::Postponed));
        }
        let outcome = self
            .run_job(job, &loaded, &profile, &settings, &workloads, stop_at)
            .await?;
        match outcome {
            RunOutcome::Retry if may_retry => Box::pin(self.handle_once(job, stop_at, false)).await,
            RunOutcome::Retry => Ok(JobReport {
                mailbox_id: job.mailbox_id.clone(),
                outcome: JobOutcome::Unfinished,
                workloads: Vec::new(),
                mailbox_written: false,
                alerts: 0,
            }),
            RunOutcome::Report(r) => Ok(r),
        }
    }

    /// Connects and runs the workloads, then writes what changed.
    async fn run_job(
        &self,
        job: &PollJob,
        loaded: &MailboxForSync,
        profile: &Profile,
        settings: &OrgSettings,
        workloads: &[Workload],
        stop_at: Instant,
    ) -> Result<RunOutcome, DomainError> {
        let mailbox = &loaded.mailbox;
        let started_at = self.ports.clock.now();
        let mut changes = MailboxChanges::default();
        let mut reports = Vec::new();
        let mut unfinished = false;
        let mut profile_failure: Option<Failure> = None;

        let access = match self.access(profile, mailbox).await? {
            Ok(a) => a,
            Err(failure) => {
                // Credentials missing: the profile's are everyone's problem, a mailbox's
                // only its own.
                if profile.credentials_location == CredentialsLocation::Profile {
                    profile_failure = Some(failure);
                } else {
                    for &w in workloads {
                        changes.permanent.push((w, failure.clone()));
                    }
                }
                return self
                    .finish(
                        job,
                        loaded,
                        profile,
                        settings,
                        changes,
                        reports,
                        false,
                        profile_failure,
                    )
                    .await
                    .map(RunOutcome::Report);
            }
        };
        let ctx = Context {
            user: &access.user,
            scheme: access.scheme,
            mailbox: mailbox.email.as_str(),
            audience: Audience::Profile,
        };
        let mut url = match self.ews_url(profile, mailbox, &access, &ctx, stop_at).await {
            Ok((url, discovered)) => {
                if discovered {
                    changes.discovered_url = Some(url.clone());
                }
                url
            }
            Err(failure) => {
                self.classify(failure, workloads, &mut changes, &mut profile_failure);
                return self
                    .finish(
                        job,
                        loaded,
                        profile,
                        settings,
                        changes,
                        reports,
                        false,
                        profile_failure,
                    )
                    .await
                    .map(RunOutcome::Report);
            }
        };
        let mut rediscovered = changes.discovered_url.is_some();
        for &workload in workloads {
            // ACT sync costs three SyncFolderItems: most scheduled polls leave it out.
            if workload == Workload::AppointmentsContactsTasks
                && !super::act::act_runs_now(job, mailbox)
            {
                continue;
            }
            // Looking for pending email costs a read: most scheduled polls leave it out.
            if workload == Workload::Outgoing && !super::outgoing::outgoing_runs_now(job, mailbox) {
                continue;
            }
            let t0 = Instant::now();
            loop {
                // Outgoing email goes to the profile's outgoing EWS URL when it has its own.
                let call_url = match profile.configured_ews_url(workload == Workload::Outgoing) {
                    Some(configured) => configured.to_owned(),
                    None => url.clone(),
                };
                let client = match self.exchange.client(&access.transport, &call_url) {
                    Ok(c) => c,
                    Err(e) => {
                        let failure = Failure::from_finding(&diagnose_call(&e, &ctx), e.class());
                        self.classify(failure, &[workload], &mut changes, &mut profile_failure);
                        break;
                    }
                };
                let result = self
                    .run_workload(
                        workload, &client, &access, loaded, profile, settings, stop_at,
                    )
                    .await;
                let Some(outcome) = result else {
                    tracing::info!(
                        workload = workload.as_str(),
                        "workload not built yet; skipped"
                    );
                    reports.push(WorkloadReport {
                        workload,
                        result: WorkloadResult::NotImplemented,
                        duration: t0.elapsed(),
                    });
                    break;
                };
                let IncomingOutcome { report, error } = outcome;
                absorb(&mut changes, &report, started_at, self.ports.clock.now());
                match error {
                    None => {
                        if report.finished {
                            changes.succeeded.push(workload);
                        } else {
                            unfinished = true;
                        }
                        reports.push(WorkloadReport {
                            workload,
                            result: WorkloadResult::Ran(report),
                            duration: t0.elapsed(),
                        });
                    }
                    Some(IncomingError::Store(e)) => return Err(e),
                    Some(IncomingError::Ews(e)) => {
                        let class = errors::sync_class(&e);
                        // A cached URL may have gone stale (a mailbox moved to another
                        // server): find it again once before blaming the profile.
                        if class == ErrorClass::ProfileLevel
                            && profile.use_autodiscover
                            && !rediscovered
                        {
                            rediscovered = true;
                            if let Ok((fresh, _)) = self
                                .discover(profile, mailbox, &access, &ctx, stop_at)
                                .await
                                && fresh != url
                            {
                                tracing::info!("the cached EWS URL failed; rediscovered another");
                                changes.discovered_url = Some(fresh.clone());
                                url = fresh;
                                continue;
                            }
                        }
                        let failure = Failure::from_finding(&diagnose_call(&e, &ctx), class);
                        let code = failure.code.clone();
                        let action = errors::action_for(&failure.class, self.ports.clock.now());
                        self.classify(failure, &[workload], &mut changes, &mut profile_failure);
                        reports.push(WorkloadReport {
                            workload,
                            result: WorkloadResult::Failed { code, action },
                            duration: t0.elapsed(),
                        });
                    }
                }
                break;
            }
            if profile_failure.is_some() {
                break;
            }
        }
        if let Some(failure) = &profile_failure
            && may_be_stale(self, profile, mailbox).await?
        {
            tracing::info!(
                code = %failure.code,
                "the profile changed since it was cached; running the job again with it"
            );
            return Ok(RunOutcome::Retry);
        }
        let mailbox_failed = profile_failure.is_none()
            && !(changes.transient.is_empty() && changes.permanent.is_empty());
        let report = self
            .finish(
                job,
                loaded,
                profile,
                settings,
                changes,
                reports,
                unfinished,
                profile_failure,
            )
            .await?;
        if mailbox_failed {
            self.majority_check(profile, &access, &url, stop_at).await;
        }
        Ok(RunOutcome::Report(report))
    }

    /// After a mailbox failure: the majority-failure email ([`super::majority`]). Its own
    /// failures are logged, never the job's: the job's outcome is already written.
    async fn majority_check(
        &self,
        profile: &Profile,
        access: &Access,
        url: &str,
        stop_at: Instant,
    ) {
        let now = self.ports.clock.now();
        if !super::majority::email_due(profile, now) {
            return;
        }
        let Ok(client) = self.exchange.client(&access.transport, url) else {
            return;
        };
        match super::majority::check(self.ports.config.as_ref(), &client, profile, now, stop_at)
            .await
        {
            Ok(check) => {
                tracing::info!(profile_id = %profile.id, outcome = ?check.outcome, "majority-failure check");
                if let Some(p) = check.fresh_profile {
                    self.remember_profile(p);
                }
            }
            Err(e) => {
                tracing::warn!(profile_id = %profile.id, error = %e, "majority-failure check failed");
            }
        }
    }

    /// Runs one workload; `None` for a workload whose runner is not built yet.
    #[allow(clippy::too_many_arguments)]
    async fn run_workload(
        &self,
        workload: Workload,
        client: &EwsClient,
        access: &Access,
        loaded: &MailboxForSync,
        profile: &Profile,
        settings: &OrgSettings,
        stop_at: Instant,
    ) -> Option<IncomingOutcome> {
        match workload {
            Workload::Incoming => Some(
                IncomingSync {
                    client,
                    impersonate: access.impersonate.as_deref(),
                    mailbox: &loaded.mailbox,
                    profile,
                    settings,
                    ports: &self.ports,
                    stored_state: loaded
                        .sync_state(Workload::Incoming, INBOX)
                        .map(str::to_owned),
                    stop_at,
                }
                .run()
                .await,
            ),
            Workload::Outgoing => Some(
                super::outgoing::OutgoingSync {
                    client,
                    impersonate: access.impersonate.as_deref(),
                    mailbox: &loaded.mailbox,
                    settings,
                    ports: &self.ports,
                    stop_at,
                }
                .run()
                .await,
            ),
            Workload::AppointmentsContactsTasks => Some(
                super::act::ActSync {
                    client,
                    impersonate: access.impersonate.as_deref(),
                    loaded,
                    settings,
                    ports: &self.ports,
                    stop_at,
                }
                .run()
                .await,
            ),
        }
    }

    /// Sorts a failure into mailbox changes or the profile's circuit.
    fn classify(
        &self,
        failure: Failure,
        workloads: &[Workload],
        changes: &mut MailboxChanges,
        profile_failure: &mut Option<Failure>,
    ) {
        let now = self.ports.clock.now();
        tracing::warn!(
            code = %failure.code,
            class = failure.class.name(),
            problem = %failure.problem,
            "sync failed"
        );
        match errors::action_for(&failure.class, now) {
            FailureAction::Postpone { until } => {
                for &w in workloads {
                    changes.transient.push((w, failure.clone(), until));
                }
            }
            // The run already dropped the state once; failing again is retried later.
            FailureAction::Resync => {
                for &w in workloads {
                    changes.transient.push((
                        w,
                        failure.clone(),
                        now + errors::DEFAULT_POSTPONEMENT,
                    ));
                }
            }
            FailureAction::Disable => {
                for &w in workloads {
                    changes.permanent.push((w, failure.clone()));
                }
            }
            FailureAction::OpenCircuit => *profile_failure = Some(failure),
        }
    }

    /// Writes the mailbox (when something changed), the profile's circuit, and the alerts.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        job: &PollJob,
        loaded: &MailboxForSync,
        profile: &Profile,
        settings: &OrgSettings,
        changes: MailboxChanges,
        workloads: Vec<WorkloadReport>,
        unfinished: bool,
        profile_failure: Option<Failure>,
    ) -> Result<JobReport, DomainError> {
        let mut alerts = Vec::new();
        match &profile_failure {
            Some(failure) => {
                alerts.extend(
                    self.open_circuit(profile, &loaded.mailbox, failure, settings, job.reason)
                        .await?,
                );
            }
            None if !changes.succeeded.is_empty()
                && matches!(profile.circuit, Circuit::Open { .. }) =>
            {
                self.close_circuit(&profile.id).await?;
            }
            None => {}
        }
        let (written, mailbox_alerts) = self
            .write_mailbox(&loaded.mailbox, profile, settings, &changes)
            .await?;
        alerts.extend(mailbox_alerts);
        for alert in &alerts {
            self.ports.ops.put_alert(alert).await?;
        }
        Ok(JobReport {
            mailbox_id: loaded.mailbox.id.clone(),
            outcome: if unfinished {
                JobOutcome::Unfinished
            } else {
                JobOutcome::Done
            },
            workloads,
            mailbox_written: written,
            alerts: alerts.len(),
        })
    }

    /// Applies `changes` and writes the mailbox if that changed it; on a version conflict
    /// re-reads and applies them again. Returns whether it wrote and the alerts raised.
    async fn write_mailbox(
        &self,
        loaded: &Mailbox,
        profile: &Profile,
        settings: &OrgSettings,
        changes: &MailboxChanges,
    ) -> Result<(bool, Vec<Alert>), DomainError> {
        let now = self.ports.clock.now();
        let mut current = loaded.clone();
        let mut last = None;
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                match self.ports.config.get_mailbox(&loaded.id).await? {
                    Some(m) if m.profile_id == loaded.profile_id => current = m,
                    // Deleted or moved to another profile meanwhile: this outcome is moot.
                    _ => return Ok((false, Vec::new())),
                }
            }
            let mut next = current.clone();
            let alerts = changes.apply(&mut next, profile, settings, now);
            if next == current {
                return Ok((false, alerts));
            }
            next.version = current.version + 1;
            next.modified_at = now;
            match self
                .ports
                .config
                .update_mailbox(&next, current.version)
                .await
            {
                Ok(()) => return Ok((true, alerts)),
                Err(e @ DomainError::VersionConflict { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            DomainError::Conflict(format!("the mailbox {} kept changing", loaded.id))
        }))
    }

    /// Opens the profile's circuit (fresh read, versioned write): the worker that opens it
    /// raises the one alert; a probe that fails again only moves the next probe.
    async fn open_circuit(
        &self,
        cached: &Profile,
        mailbox: &Mailbox,
        failure: &Failure,
        settings: &OrgSettings,
        reason: PollReason,
    ) -> Result<Vec<Alert>, DomainError> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(mut fresh) = self.ports.config.get_profile(&cached.id).await? else {
                return Ok(Vec::new());
            };
            let was_open = matches!(fresh.circuit, Circuit::Open { .. });
            if was_open && reason != PollReason::CircuitProbe {
                self.remember_profile(fresh);
                return Ok(Vec::new());
            }
            let now = self.ports.clock.now();
            let opened = errors::open_circuit(&mut fresh, failure, now);
            let expected = fresh.version;
            fresh.version += 1;
            match self.ports.config.update_profile(&fresh, expected).await {
                Ok(()) => {
                    tracing::warn!(
                        profile_id = %fresh.id,
                        code = %failure.code,
                        opened,
                        "profile circuit open"
                    );
                    let alerts = if opened {
                        errors::circuit_alert(&fresh, mailbox, failure, settings, now)
                            .into_iter()
                            .collect()
                    } else {
                        Vec::new()
                    };
                    self.remember_profile(fresh);
                    return Ok(alerts);
                }
                Err(DomainError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Vec::new())
    }

    /// Closes the profile's circuit after a successful poll (its probe): every mailbox
    /// resumes at its next slot.
    async fn close_circuit(&self, id: &ProfileId) -> Result<(), DomainError> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(mut fresh) = self.ports.config.get_profile(id).await? else {
                return Ok(());
            };
            if !errors::close_circuit(&mut fresh) {
                self.remember_profile(fresh);
                return Ok(());
            }
            let expected = fresh.version;
            fresh.version += 1;
            match self.ports.config.update_profile(&fresh, expected).await {
                Ok(()) => {
                    tracing::info!(profile_id = %id, "profile circuit closed: Exchange answers again");
                    self.remember_profile(fresh);
                    return Ok(());
                }
                Err(DomainError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    // --- caches -------------------------------------------------------------------------

    /// The profile, from the cache while it is fresh.
    async fn profile(&self, id: &ProfileId) -> Result<Option<Profile>, DomainError> {
        let ttl = self.options.cache_ttl;
        if let Some((p, at)) = self.caches().profiles.get(id)
            && at.elapsed() < ttl
        {
            return Ok(Some(p.clone()));
        }
        let fresh = self.ports.config.get_profile(id).await?;
        if let Some(p) = &fresh {
            self.remember_profile(p.clone());
        }
        Ok(fresh)
    }

    fn remember_profile(&self, p: Profile) {
        self.caches()
            .profiles
            .insert(p.id.clone(), (p, Instant::now()));
    }

    /// The org settings, from the cache while they are fresh.
    async fn settings(&self) -> Result<OrgSettings, DomainError> {
        let ttl = self.options.cache_ttl;
        if let Some((s, at)) = &self.caches().settings
            && at.elapsed() < ttl
        {
            return Ok(s.clone());
        }
        let fresh = self.ports.config.get_settings().await?;
        self.caches().settings = Some((fresh.clone(), Instant::now()));
        Ok(fresh)
    }

    /// The transport for the mailbox (cached: unsealing and handshakes happen once per
    /// container and credentials), or the failure that prevents one.
    async fn access(
        &self,
        profile: &Profile,
        mailbox: &Mailbox,
    ) -> Result<Result<Access, Failure>, DomainError> {
        let key = TransportKey::new(profile, mailbox);
        let impersonate = match profile.credentials_location {
            CredentialsLocation::Profile => Some(mailbox.email.as_str().to_owned()),
            CredentialsLocation::Mailbox => None,
        };
        let user = key.user.clone().unwrap_or_default();
        let scheme = match profile.auth_type {
            crate::profile::AuthType::Ntlm => exsync_ews::transport::AuthScheme::Ntlm,
            crate::profile::AuthType::Basic => exsync_ews::transport::AuthScheme::Basic,
        };
        let ttl = self.options.cache_ttl;
        if let Some((t, at)) = self.caches().transports.get(&key)
            && at.elapsed() < ttl
        {
            return Ok(Ok(Access {
                transport: t.clone(),
                impersonate,
                user,
                scheme,
            }));
        }
        let access = match mailbox_access(profile, mailbox, self.ports.sealer.as_ref()).await? {
            Ok(a) => a,
            Err(missing) => {
                return Ok(Err(Failure {
                    code: "CredentialsMissing".into(),
                    problem: missing.problem,
                    advice: missing.advice,
                    class: if profile.credentials_location == CredentialsLocation::Profile {
                        ErrorClass::ProfileLevel
                    } else {
                        ErrorClass::MailboxPermanent
                    },
                }));
            }
        };
        let ctx = Context {
            user: &user,
            scheme,
            mailbox: mailbox.email.as_str(),
            audience: Audience::Profile,
        };
        let transport = match self.exchange.transport(profile, access.credentials) {
            Ok(t) => t,
            Err(e) => {
                return Ok(Err(Failure::from_finding(
                    &diagnose_transport(&e, &ctx),
                    e.class(),
                )));
            }
        };
        {
            let mut caches = self.caches();
            // A profile whose settings changed leaves its old pool behind: drop it.
            caches
                .transports
                .retain(|k, _| k.profile != key.profile || k.mailbox != key.mailbox);
            if caches.transports.len() >= self.options.max_transports
                && let Some(oldest) = caches
                    .transports
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone())
            {
                caches.transports.remove(&oldest);
            }
            caches
                .transports
                .insert(key, (transport.clone(), Instant::now()));
        }
        Ok(Ok(Access {
            transport,
            impersonate: access.impersonate,
            user,
            scheme,
        }))
    }

    /// The EWS URL for incoming: configured, cached on the mailbox, or discovered now
    /// (true: it was discovered and is to be cached).
    async fn ews_url(
        &self,
        profile: &Profile,
        mailbox: &Mailbox,
        access: &Access,
        ctx: &Context<'_>,
        stop_at: Instant,
    ) -> Result<(String, bool), Failure> {
        if !profile.use_autodiscover {
            return match profile.configured_ews_url(false) {
                Some(url) => Ok((url.to_owned(), false)),
                None => Err(Failure {
                    code: "EwsUrlMissing".into(),
                    problem: format!("the profile {} has no EWS URL", profile.name),
                    advice: "set incoming_ews_url, or turn on use_autodiscover".into(),
                    class: ErrorClass::ProfileLevel,
                }),
            };
        }
        if let Some(url) = &mailbox.scheduler.cached_ews_url {
            return Ok((url.clone(), false));
        }
        self.discover(profile, mailbox, access, ctx, stop_at)
            .await
            .map(|url| (url.0, true))
    }

    async fn discover(
        &self,
        _profile: &Profile,
        mailbox: &Mailbox,
        access: &Access,
        ctx: &Context<'_>,
        stop_at: Instant,
    ) -> Result<(String, bool), Failure> {
        let report = self
            .exchange
            .discover(&access.transport, mailbox.email.as_str(), stop_at)
            .await;
        match report.result {
            Ok(found) => Ok((found.ews_url, true)),
            Err(e) => Err(Failure::from_finding(
                &diagnose_discovery(&e, &report.attempts, ctx),
                e.class(),
            )),
        }
    }
}

/// What the engine does after a run.
enum RunOutcome {
    /// Write nothing; run the job again (the cached profile was stale).
    Retry,
    /// Finished.
    Report(JobReport),
}

/// True when the stored profile differs from the cached one in what the connection is
/// built from (the password was changed, say): the failure may be the cache's, so the
/// caches are dropped and the job runs again instead of opening the circuit.
async fn may_be_stale(
    engine: &SyncEngine,
    cached: &Profile,
    mailbox: &Mailbox,
) -> Result<bool, DomainError> {
    let Some(fresh) = engine.ports.config.get_profile(&cached.id).await? else {
        return Ok(false);
    };
    let stale = ConnectionKey::new(&fresh, mailbox) != ConnectionKey::new(cached, mailbox);
    if stale {
        engine.clear_caches();
    }
    engine.remember_profile(fresh);
    Ok(stale)
}

/// Folds a run's report into the mailbox changes.
fn absorb(
    changes: &mut MailboxChanges,
    report: &IncomingReport,
    started: OffsetDateTime,
    ended: OffsetDateTime,
) {
    if report.undeliverable_folder_id.is_some() {
        changes.undeliverable_folder_id = report.undeliverable_folder_id.clone();
    }
    if let Some(r) = report.newest_received {
        changes.newest_received = changes.newest_received.max(Some(r));
    }
    if report.evaluated > 0 {
        // A poll that did something in several workloads counts all of it: the mailbox's
        // "last sync" is the poll, not its last workload.
        changes.stats = Some(match changes.stats {
            None => (report.evaluated, report.failed, started, ended),
            Some((processed, failed, first_start, last_end)) => (
                processed.saturating_add(report.evaluated),
                failed.saturating_add(report.failed),
                first_start.min(started),
                last_end.max(ended),
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn report(evaluated: u32, failed: u32) -> IncomingReport {
        IncomingReport {
            evaluated,
            failed,
            ..IncomingReport::default()
        }
    }

    #[test]
    fn a_polls_item_counters_add_up_every_workload_that_did_something() {
        let mut changes = MailboxChanges::default();
        let t0 = datetime!(2026-03-01 12:00 UTC);
        absorb(
            &mut changes,
            &report(3, 1),
            t0,
            t0 + time::Duration::seconds(2),
        );
        absorb(
            &mut changes,
            &report(0, 0),
            t0 + time::Duration::seconds(2),
            t0 + time::Duration::seconds(3),
        );
        absorb(
            &mut changes,
            &report(4, 0),
            t0 + time::Duration::seconds(3),
            t0 + time::Duration::seconds(5),
        );
        assert_eq!(
            changes.stats,
            Some((7, 1, t0, t0 + time::Duration::seconds(5)))
        );
    }

    #[test]
    fn a_poll_that_found_nothing_leaves_the_counters_alone() {
        let mut changes = MailboxChanges::default();
        let t0 = datetime!(2026-03-01 12:00 UTC);
        absorb(&mut changes, &report(0, 0), t0, t0);
        assert_eq!(changes.stats, None);
    }
}
