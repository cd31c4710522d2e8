//! Test & Enable of mailboxes (inline or as a job), of a whole profile (a job), and the
//! jobs worker's side: [`Admin::run_job`].

use serde::{Deserialize, Serialize};

use super::{Admin, BatchItem, mailbox_ids};
use crate::error::DomainError;
use crate::exchange::mailbox_access;
use crate::ids::{JobId, MailboxId, ProfileId};
use crate::job::{Job, JobKind, JobState};
use crate::mailbox::Mailbox;
use crate::ports::MailboxFilter;
use crate::privilege::{Grants, Privilege, authorize};
use crate::sync::job::PollReason;
use crate::test_enable::{
    self, Plan, RetryPolicy, TestAndEnableReport, alerts_for, apply_report, build_report,
};

/// What a bulk Test & Enable did: the mailboxes tested inline, and the job that tests the
/// rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAndEnableOutcome {
    /// Each mailbox: its report, queued, or why it could not be tested.
    pub results: Vec<BatchItem<TestAndEnableReport>>,
    /// The job testing the queued mailboxes, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<Job>,
}

impl Admin {
    /// Test & Enable for many mailboxes (test_and_enable): the first few inline (no
    /// waiting on transient failures), the rest in one job for the jobs worker.
    pub async fn test_and_enable_mailboxes(
        &self,
        grants: &Grants,
        ids: &[String],
    ) -> Result<TestAndEnableOutcome, DomainError> {
        authorize(grants, Privilege::TestAndEnable)?;
        let requester = super::caller(grants, Privilege::TestAndEnable)?.clone();
        let ids = mailbox_ids(ids, self.options.max_batch)?;
        let split = ids.len().min(self.options.inline_test_limit);
        let (inline, queued) = ids.split_at(split);
        let mut results = Vec::with_capacity(ids.len());
        for id in inline {
            let report = self.test_and_enable_one(id, RetryPolicy::NONE).await;
            results.push(BatchItem::from_result(id.clone(), report));
        }
        let mut job = None;
        if !queued.is_empty() {
            let mut scheduled = Vec::with_capacity(queued.len());
            for id in queued {
                match self
                    .modify_mailbox(id, |m| {
                        let changed = !m.test_scheduled;
                        m.test_scheduled = true;
                        changed
                    })
                    .await
                {
                    Ok(_) => {
                        scheduled.push(id.clone());
                        results.push(BatchItem::queued(id.clone()));
                    }
                    Err(e) => results.push(BatchItem::from_result(id.clone(), Err(e))),
                }
            }
            if !scheduled.is_empty() {
                let total = scheduled.len() as u64;
                job = Some(
                    self.start_job(
                        JobKind::TestAndEnableMailboxes {
                            mailbox_ids: scheduled,
                        },
                        total,
                        requester,
                    )
                    .await?,
                );
            }
        }
        Ok(TestAndEnableOutcome { results, job })
    }

    /// Test & Enable every active mailbox of a profile, as a job (test_and_enable). An
    /// inactive profile is refused.
    pub async fn test_and_enable_profile(
        &self,
        grants: &Grants,
        profile_id: &ProfileId,
    ) -> Result<Job, DomainError> {
        authorize(grants, Privilege::TestAndEnable)?;
        let requester = super::caller(grants, Privilege::TestAndEnable)?.clone();
        let profile = self.load_profile(profile_id).await?;
        if !profile.active {
            return Err(DomainError::Conflict(format!(
                "the email server profile {} is inactive: activate it before Test & Enable",
                profile.name
            )));
        }
        let total = self.count_mailboxes(profile_id, Some(true)).await?;
        self.start_job(
            JobKind::TestAndEnableProfile {
                profile_id: profile_id.clone(),
            },
            total,
            requester,
        )
        .await
    }

    async fn start_job(
        &self,
        kind: JobKind,
        total: u64,
        requested_by: crate::ids::Principal,
    ) -> Result<Job, DomainError> {
        let now = self.now();
        let job = Job {
            id: JobId::new(),
            kind,
            state: JobState::Queued,
            total,
            done: 0,
            succeeded: 0,
            failed: 0,
            requested_by,
            created_at: now,
            updated_at: now,
        };
        self.ports.ops.create_job(&job).await?;
        self.ports.jobs.enqueue_job(&job.id).await?;
        tracing::info!(job_id = %job.id, total, "Test & Enable job queued");
        Ok(job)
    }

    /// Test & Enable of one mailbox, with its effective profile and credentials: plans the
    /// workloads, checks them against Exchange, writes the statuses onto the mailbox and
    /// raises the alerts. An inactive mailbox or profile, or a mailbox without a profile,
    /// is a 409 and changes nothing.
    pub async fn test_and_enable_one(
        &self,
        id: &MailboxId,
        retry: RetryPolicy,
    ) -> Result<TestAndEnableReport, DomainError> {
        let mailbox = self.load_mailbox(id).await?;
        let profile = match &mailbox.profile_id {
            Some(pid) => self.ports.config.get_profile(pid).await?,
            None => None,
        };
        if let Some(reason) = test_enable::refusal(&mailbox, profile.as_ref()) {
            return Err(DomainError::Conflict(reason));
        }
        let Some(profile) = profile else {
            return Err(DomainError::Conflict(format!(
                "the mailbox {} has no email server profile",
                mailbox.email
            )));
        };
        let settings = self.ports.config.get_settings().await?;
        let plans = test_enable::plan(&mailbox, &settings);
        let needs_exchange = plans.iter().any(|(_, p)| *p == Plan::Test);
        let execution = if needs_exchange {
            let access = mailbox_access(&profile, &mailbox, self.ports.sealer.as_ref()).await?;
            test_enable::execute(&self.exchange, &profile, &mailbox, access, &plans, retry).await
        } else {
            test_enable::Execution::default()
        };
        let now = self.now();
        let report = build_report(&mailbox, &plans, &execution, now);
        let written = self
            .modify_mailbox_scheduled(id, Some(&profile), &settings, |m: &mut Mailbox| {
                apply_report(m, &report, execution.discovered);
                true
            })
            .await?;
        for alert in alerts_for(&report, &written, &profile, &settings, now) {
            self.ports.ops.put_alert(&alert).await?;
        }
        // Enabled workloads start now rather than at the mailbox's first slot.
        self.poll_now(
            &written,
            Some(&profile),
            &settings,
            PollReason::TestAndEnable,
            None,
        )
        .await;
        tracing::info!(
            mailbox_id = %id,
            status = ?report.status,
            failed = report.failed(),
            "Test & Enable finished"
        );
        Ok(report)
    }

    /// Runs a job (the jobs worker calls this for each queue message). Idempotent: a
    /// finished job is left alone; a job found running (its worker died, or the message
    /// came twice) resumes after the mailboxes it already counted, in the same order.
    ///
    /// Each mailbox gets Test & Enable with the jobs retry policy: a transient failure is
    /// retried a few times with back-off ([`RetryPolicy::JOBS`]) before it counts as
    /// failed; permanent ones count at once. A mailbox that cannot be tested (gone,
    /// inactive, no profile) counts as failed. A storage failure ends the call with an
    /// error, so the queue delivers the message again and the job resumes.
    pub async fn run_job(&self, id: &JobId) -> Result<Job, DomainError> {
        let job = self
            .ports
            .ops
            .get_job(id)
            .await?
            .ok_or_else(|| DomainError::NotFound {
                kind: "job",
                id: id.to_string(),
            })?;
        if matches!(job.state, JobState::Completed | JobState::Failed) {
            return Ok(job);
        }
        let skip = if job.state == JobState::Running {
            usize::try_from(job.done).unwrap_or(usize::MAX)
        } else {
            0
        };
        self.ports
            .ops
            .job_progress(id, 0, 0, 0, Some(JobState::Running), self.now())
            .await?;
        let retry = self.options.job_retry;
        let mut position = 0usize;
        match &job.kind {
            JobKind::TestAndEnableMailboxes { mailbox_ids } => {
                for mailbox in mailbox_ids {
                    if position >= skip {
                        self.job_item(id, mailbox, retry).await?;
                    }
                    position += 1;
                }
            }
            JobKind::TestAndEnableProfile { profile_id } => {
                let filter = MailboxFilter {
                    profile: Some(profile_id.clone()),
                    active: Some(true),
                    ..MailboxFilter::default()
                };
                let mut next = None;
                loop {
                    let page = self
                        .ports
                        .config
                        .list_mailboxes(&filter, super::MAX_PAGE, next)
                        .await?;
                    for mailbox in &page.items {
                        if position >= skip {
                            self.job_item(id, &mailbox.id, retry).await?;
                        }
                        position += 1;
                    }
                    match page.next {
                        Some(token) => next = Some(token),
                        None => break,
                    }
                }
            }
        }
        self.ports
            .ops
            .job_progress(id, 0, 0, 0, Some(JobState::Completed), self.now())
            .await?;
        tracing::info!(job_id = %id, "job completed");
        self.ports
            .ops
            .get_job(id)
            .await?
            .ok_or_else(|| DomainError::NotFound {
                kind: "job",
                id: id.to_string(),
            })
    }

    /// One mailbox of a job: Test & Enable, then the progress counters.
    async fn job_item(
        &self,
        job: &JobId,
        mailbox: &MailboxId,
        retry: RetryPolicy,
    ) -> Result<(), DomainError> {
        let succeeded = match self.test_and_enable_one(mailbox, retry).await {
            Ok(report) => !report.failed(),
            Err(
                e @ (DomainError::NotFound { .. }
                | DomainError::Conflict(_)
                | DomainError::VersionConflict { .. }),
            ) => {
                tracing::warn!(job_id = %job, mailbox_id = %mailbox, error = %e, "mailbox skipped by the job");
                // It will not be tested by this job: the flag must not promise otherwise.
                match self
                    .modify_mailbox(mailbox, |m| std::mem::replace(&mut m.test_scheduled, false))
                    .await
                {
                    Ok(_) | Err(DomainError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
                false
            }
            Err(e) => return Err(e),
        };
        let (ok, failed) = if succeeded { (1, 0) } else { (0, 1) };
        self.ports
            .ops
            .job_progress(job, 1, ok, failed, None, self.now())
            .await
    }
}
