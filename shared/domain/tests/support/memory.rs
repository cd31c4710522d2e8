//! In-memory implementations of the domain's ports, for tests only. They keep the
//! contracts the real adapters keep (version checks, create-if-absent, refusing to delete
//! a profile that mailboxes use), so the services behave as they would on DynamoDB; the
//! adapters themselves are tested against the local AWS endpoint in `exsync-aws`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use exsync_domain::DomainError;
use exsync_domain::activity::{Appointment, ContactActivity, EmailActivity, TaskActivity};
use exsync_domain::alert::{Alert, AlertSubject};
use exsync_domain::ids::{
    ActivityId, AlertId, EmailAddress, JobId, MailboxId, Principal, ProfileId, RecordId,
};
use exsync_domain::job::{Job, JobState};
use exsync_domain::mailbox::Mailbox;
use exsync_domain::org::OrgSettings;
use exsync_domain::ports::{
    AccessStore, ActivityStore, Clock, ConfigStore, JobQueue, MailboxFilter, OpsStore, Page,
    SecretSealer,
};
use exsync_domain::privilege::Role;
use exsync_domain::profile::{Profile, SealedSecret};
use exsync_domain::record::{EmailEnabledRecord, RecordKind};
use serde::Serialize;
use time::OffsetDateTime;

/// Everything the stores hold.
#[derive(Debug, Default, Serialize)]
pub struct State {
    pub profiles: BTreeMap<String, Profile>,
    pub settings: Option<OrgSettings>,
    pub mailboxes: BTreeMap<String, Mailbox>,
    pub emails: Vec<EmailActivity>,
    pub appointments: BTreeMap<String, Appointment>,
    pub contacts: BTreeMap<String, ContactActivity>,
    pub tasks: BTreeMap<String, TaskActivity>,
    pub records: Vec<EmailEnabledRecord>,
    pub alerts: Vec<Alert>,
    pub jobs: BTreeMap<String, Job>,
    pub principal_roles: BTreeMap<String, Vec<String>>,
    pub roles: BTreeMap<String, Role>,
}

/// The stores.
#[derive(Debug, Default)]
pub struct Memory {
    pub state: Mutex<State>,
}

impl Memory {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Everything stored, as JSON (for the plaintext-password scan).
    pub fn dump(&self) -> String {
        serde_json::to_string(&*self.lock()).unwrap()
    }
}

fn page<T: Clone>(items: Vec<T>, limit: u32, next: Option<String>) -> Page<T> {
    let start: usize = next.and_then(|n| n.parse().ok()).unwrap_or(0);
    let end = (start + limit as usize).min(items.len());
    Page {
        items: items.get(start..end).unwrap_or_default().to_vec(),
        next: (end < items.len()).then(|| end.to_string()),
    }
}

fn conflict(kind: &'static str, id: &str, expected: u64) -> DomainError {
    DomainError::VersionConflict {
        kind,
        id: id.to_owned(),
        expected,
    }
}

#[async_trait]
impl ConfigStore for Memory {
    async fn get_profile(&self, id: &ProfileId) -> Result<Option<Profile>, DomainError> {
        Ok(self.lock().profiles.get(id.as_str()).cloned())
    }

    async fn list_profiles(
        &self,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<Profile>, DomainError> {
        let mut all: Vec<Profile> = self.lock().profiles.values().cloned().collect();
        all.sort_by_key(|a| a.name.to_lowercase());
        Ok(page(all, limit, next))
    }

    async fn create_profile(&self, p: &Profile) -> Result<(), DomainError> {
        let mut s = self.lock();
        if s.profiles.contains_key(p.id.as_str()) {
            return Err(DomainError::Conflict("profile exists".into()));
        }
        s.profiles.insert(p.id.to_string(), p.clone());
        Ok(())
    }

    async fn update_profile(&self, p: &Profile, expected_version: u64) -> Result<(), DomainError> {
        let mut s = self.lock();
        match s.profiles.get(p.id.as_str()) {
            None => Err(DomainError::NotFound {
                kind: "profile",
                id: p.id.to_string(),
            }),
            Some(cur) if cur.version != expected_version => {
                Err(conflict("profile", p.id.as_str(), expected_version))
            }
            Some(_) => {
                s.profiles.insert(p.id.to_string(), p.clone());
                Ok(())
            }
        }
    }

    async fn delete_profile(
        &self,
        id: &ProfileId,
        expected_version: u64,
    ) -> Result<(), DomainError> {
        let mut s = self.lock();
        if s.mailboxes
            .values()
            .any(|m| m.profile_id.as_ref() == Some(id))
        {
            return Err(DomainError::Conflict("mailboxes use the profile".into()));
        }
        match s.profiles.get(id.as_str()) {
            None => Err(DomainError::NotFound {
                kind: "profile",
                id: id.to_string(),
            }),
            Some(cur) if cur.version != expected_version => {
                Err(conflict("profile", id.as_str(), expected_version))
            }
            Some(_) => {
                s.profiles.remove(id.as_str());
                Ok(())
            }
        }
    }

    async fn get_settings(&self) -> Result<OrgSettings, DomainError> {
        Ok(self.lock().settings.clone().unwrap_or_default())
    }

    async fn put_settings(
        &self,
        settings: &OrgSettings,
        expected_version: u64,
    ) -> Result<(), DomainError> {
        let mut s = self.lock();
        let current = s.settings.as_ref().map_or(0, |c| c.version);
        if current != expected_version {
            return Err(conflict("org_settings", "org", expected_version));
        }
        s.settings = Some(settings.clone());
        Ok(())
    }

    async fn get_mailbox(&self, id: &MailboxId) -> Result<Option<Mailbox>, DomainError> {
        Ok(self.lock().mailboxes.get(id.as_str()).cloned())
    }

    async fn list_mailboxes(
        &self,
        f: &MailboxFilter,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<Mailbox>, DomainError> {
        let mut all: Vec<Mailbox> = self
            .lock()
            .mailboxes
            .values()
            .filter(|m| {
                f.profile
                    .as_ref()
                    .is_none_or(|p| m.profile_id.as_ref() == Some(p))
            })
            .filter(|m| f.active.is_none_or(|a| m.active == a))
            .filter(|m| f.status.is_none_or(|st| m.overall_status() == st))
            .filter(|m| f.approval.is_none_or(|a| m.approval == a))
            .cloned()
            .collect();
        all.sort_by(|a, b| {
            (a.name.to_lowercase(), a.id.clone()).cmp(&(b.name.to_lowercase(), b.id.clone()))
        });
        Ok(page(all, limit, next))
    }

    async fn create_mailbox(&self, m: &Mailbox) -> Result<(), DomainError> {
        let mut s = self.lock();
        if s.mailboxes.contains_key(m.id.as_str()) {
            return Err(DomainError::Conflict("mailbox exists".into()));
        }
        s.mailboxes.insert(m.id.to_string(), m.clone());
        Ok(())
    }

    async fn update_mailbox(&self, m: &Mailbox, expected_version: u64) -> Result<(), DomainError> {
        let mut s = self.lock();
        match s.mailboxes.get(m.id.as_str()) {
            None => Err(DomainError::NotFound {
                kind: "mailbox",
                id: m.id.to_string(),
            }),
            Some(cur) if cur.version != expected_version => {
                Err(conflict("mailbox", m.id.as_str(), expected_version))
            }
            Some(_) => {
                s.mailboxes.insert(m.id.to_string(), m.clone());
                Ok(())
            }
        }
    }
}

/// Create-if-absent or replace-if-version for the owner-scoped activities.
fn put_versioned<T: Clone>(
    map: &mut BTreeMap<String, T>,
    id: &str,
    item: &T,
    expected: Option<u64>,
    version: impl Fn(&T) -> u64,
) -> Result<(), DomainError> {
    match (map.get(id), expected) {
        (Some(_), None) => Err(DomainError::Conflict("exists".into())),
        (None, Some(_)) => Err(DomainError::NotFound {
            kind: "activity",
            id: id.to_owned(),
        }),
        (Some(cur), Some(v)) if version(cur) != v => Err(conflict("activity", id, v)),
        _ => {
            map.insert(id.to_owned(), item.clone());
            Ok(())
        }
    }
}

#[async_trait]
impl ActivityStore for Memory {
    async fn create_email(&self, e: &EmailActivity) -> Result<(), DomainError> {
        self.lock().emails.push(e.clone());
        Ok(())
    }

    async fn get_email(&self, id: &ActivityId) -> Result<Option<EmailActivity>, DomainError> {
        Ok(self.lock().emails.iter().find(|e| &e.id == id).cloned())
    }

    async fn update_email(
        &self,
        e: &EmailActivity,
        expected_version: u64,
    ) -> Result<(), DomainError> {
        let mut s = self.lock();
        let Some(cur) = s.emails.iter_mut().find(|x| x.id == e.id) else {
            return Err(DomainError::NotFound {
                kind: "email",
                id: e.id.to_string(),
            });
        };
        if cur.version != expected_version {
            return Err(conflict("email", e.id.as_str(), expected_version));
        }
        *cur = e.clone();
        Ok(())
    }

    async fn list_emails_by_mailbox(
        &self,
        m: &MailboxId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailActivity>, DomainError> {
        let mut all: Vec<EmailActivity> = self
            .lock()
            .emails
            .iter()
            .filter(|e| e.sender_mailbox.as_ref() == Some(m) || e.receiving_mailboxes.contains(m))
            .cloned()
            .collect();
        all.sort_by_key(|a| std::cmp::Reverse(a.created_at));
        Ok(page(all, limit, next))
    }

    async fn list_emails_by_regarding(
        &self,
        r: &RecordId,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailActivity>, DomainError> {
        let mut all: Vec<EmailActivity> = self
            .lock()
            .emails
            .iter()
            .filter(|e| e.regarding.as_ref() == Some(r))
            .cloned()
            .collect();
        all.sort_by_key(|a| std::cmp::Reverse(a.created_at));
        Ok(page(all, limit, next))
    }

    async fn put_appointment(
        &self,
        a: &Appointment,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        put_versioned(
            &mut self.lock().appointments,
            a.id.as_str(),
            a,
            expected_version,
            |x| x.version,
        )
    }

    async fn get_appointment(&self, id: &ActivityId) -> Result<Option<Appointment>, DomainError> {
        Ok(self.lock().appointments.get(id.as_str()).cloned())
    }

    async fn delete_appointment(&self, id: &ActivityId) -> Result<(), DomainError> {
        self.lock().appointments.remove(id.as_str());
        Ok(())
    }

    async fn list_appointments(&self, owner: &Principal) -> Result<Vec<Appointment>, DomainError> {
        Ok(self
            .lock()
            .appointments
            .values()
            .filter(|a| &a.owner == owner)
            .cloned()
            .collect())
    }

    async fn put_contact(
        &self,
        c: &ContactActivity,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        put_versioned(
            &mut self.lock().contacts,
            c.id.as_str(),
            c,
            expected_version,
            |x| x.version,
        )
    }

    async fn get_contact(&self, id: &ActivityId) -> Result<Option<ContactActivity>, DomainError> {
        Ok(self.lock().contacts.get(id.as_str()).cloned())
    }

    async fn delete_contact(&self, id: &ActivityId) -> Result<(), DomainError> {
        self.lock().contacts.remove(id.as_str());
        Ok(())
    }

    async fn list_contacts(&self, owner: &Principal) -> Result<Vec<ContactActivity>, DomainError> {
        Ok(self
            .lock()
            .contacts
            .values()
            .filter(|c| &c.owner == owner)
            .cloned()
            .collect())
    }

    async fn put_task(
        &self,
        t: &TaskActivity,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        put_versioned(
            &mut self.lock().tasks,
            t.id.as_str(),
            t,
            expected_version,
            |x| x.version,
        )
    }

    async fn get_task(&self, id: &ActivityId) -> Result<Option<TaskActivity>, DomainError> {
        Ok(self.lock().tasks.get(id.as_str()).cloned())
    }

    async fn delete_task(&self, id: &ActivityId) -> Result<(), DomainError> {
        self.lock().tasks.remove(id.as_str());
        Ok(())
    }

    async fn list_tasks(&self, owner: &Principal) -> Result<Vec<TaskActivity>, DomainError> {
        Ok(self
            .lock()
            .tasks
            .values()
            .filter(|t| &t.owner == owner)
            .cloned()
            .collect())
    }

    async fn create_record(&self, r: &EmailEnabledRecord) -> Result<(), DomainError> {
        self.lock().records.push(r.clone());
        Ok(())
    }

    async fn list_records(
        &self,
        kind: RecordKind,
        limit: u32,
        next: Option<String>,
    ) -> Result<Page<EmailEnabledRecord>, DomainError> {
        let mut all: Vec<EmailEnabledRecord> = self
            .lock()
            .records
            .iter()
            .filter(|r| r.kind == kind)
            .cloned()
            .collect();
        all.sort_by_key(|a| a.name.to_lowercase());
        Ok(page(all, limit, next))
    }

    async fn records_by_email(
        &self,
        a: &EmailAddress,
    ) -> Result<Vec<EmailEnabledRecord>, DomainError> {
        Ok(self
            .lock()
            .records
            .iter()
            .filter(|r| r.addresses.contains(a))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl OpsStore for Memory {
    async fn put_alert(&self, a: &Alert) -> Result<(), DomainError> {
        self.lock().alerts.push(a.clone());
        Ok(())
    }

    async fn alerts_for_subject(
        &self,
        s: &AlertSubject,
        limit: u32,
    ) -> Result<Vec<Alert>, DomainError> {
        let mut all: Vec<Alert> = self
            .lock()
            .alerts
            .iter()
            .filter(|a| &a.subject == s)
            .cloned()
            .collect();
        all.reverse();
        all.truncate(limit as usize);
        Ok(all)
    }

    async fn alerts_for_owner(
        &self,
        owner: &Principal,
        limit: u32,
    ) -> Result<Vec<Alert>, DomainError> {
        let mut all: Vec<Alert> = self
            .lock()
            .alerts
            .iter()
            .filter(|a| a.owners.contains(owner))
            .cloned()
            .collect();
        all.reverse();
        all.truncate(limit as usize);
        Ok(all)
    }

    async fn dismiss_alert(&self, id: &AlertId) -> Result<(), DomainError> {
        for a in self.lock().alerts.iter_mut().filter(|a| &a.id == id) {
            a.dismissed = true;
        }
        Ok(())
    }

    async fn create_job(&self, j: &Job) -> Result<(), DomainError> {
        self.lock().jobs.insert(j.id.to_string(), j.clone());
        Ok(())
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, DomainError> {
        Ok(self.lock().jobs.get(id.as_str()).cloned())
    }

    async fn job_progress(
        &self,
        id: &JobId,
        done: u64,
        succeeded: u64,
        failed: u64,
        state: Option<JobState>,
        at: OffsetDateTime,
    ) -> Result<(), DomainError> {
        let mut s = self.lock();
        let Some(job) = s.jobs.get_mut(id.as_str()) else {
            return Err(DomainError::NotFound {
                kind: "job",
                id: id.to_string(),
            });
        };
        job.done += done;
        job.succeeded += succeeded;
        job.failed += failed;
        if let Some(state) = state {
            job.state = state;
        }
        job.updated_at = at;
        Ok(())
    }
}

#[async_trait]
impl AccessStore for Memory {
    async fn roles_of(&self, p: &Principal) -> Result<Vec<String>, DomainError> {
        Ok(self
            .lock()
            .principal_roles
            .get(p.as_str())
            .cloned()
            .unwrap_or_default())
    }

    async fn set_roles(&self, p: &Principal, roles: &[String]) -> Result<(), DomainError> {
        self.lock()
            .principal_roles
            .insert(p.to_string(), roles.to_vec());
        Ok(())
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>, DomainError> {
        Ok(self.lock().roles.get(name).cloned())
    }

    async fn put_role(&self, r: &Role) -> Result<(), DomainError> {
        self.lock().roles.insert(r.name.clone(), r.clone());
        Ok(())
    }
}

/// Seals by XOR-ing with a fixed byte and hex-encoding, bound to the context: never
/// plaintext in the store, and unsealing under another context fails, as with KMS.
#[derive(Debug, Default)]
pub struct TestSealer;

const KEY: u8 = 0x5a;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[async_trait]
impl SecretSealer for TestSealer {
    async fn seal(&self, plaintext: &str, context: &str) -> Result<SealedSecret, DomainError> {
        let mut bytes = context.as_bytes().to_vec();
        bytes.push(0);
        bytes.extend_from_slice(plaintext.as_bytes());
        Ok(SealedSecret {
            key_id: "test-key".into(),
            ciphertext_b64: hex(&bytes.iter().map(|b| b ^ KEY).collect::<Vec<_>>()),
        })
    }

    async fn unseal(&self, sealed: &SealedSecret, context: &str) -> Result<String, DomainError> {
        let bytes: Vec<u8> = unhex(&sealed.ciphertext_b64)
            .ok_or_else(|| DomainError::Crypto("not hex".into()))?
            .into_iter()
            .map(|b| b ^ KEY)
            .collect();
        let split = bytes
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| DomainError::Crypto("no context".into()))?;
        if &bytes[..split] != context.as_bytes() {
            return Err(DomainError::Crypto("wrong context".into()));
        }
        String::from_utf8(bytes[split + 1..].to_vec()).map_err(|e| DomainError::Crypto(Box::new(e)))
    }
}

/// Records enqueued jobs (admin jobs and poll jobs with their groups).
#[derive(Debug, Default)]
pub struct RecordingQueue {
    pub jobs: Mutex<Vec<JobId>>,
    pub polls: Mutex<Vec<(exsync_domain::sync::job::PollJob, String)>>,
}

#[async_trait]
impl exsync_domain::ports::PollQueue for RecordingQueue {
    async fn enqueue_polls(
        &self,
        jobs: &[(exsync_domain::sync::job::PollJob, String)],
    ) -> Result<exsync_domain::ports::EnqueueReport, DomainError> {
        self.polls.lock().unwrap().extend(jobs.iter().cloned());
        Ok(exsync_domain::ports::EnqueueReport {
            enqueued: jobs.len(),
            failed: Vec::new(),
        })
    }
}

#[async_trait]
impl JobQueue for RecordingQueue {
    async fn enqueue_job(&self, job: &JobId) -> Result<(), DomainError> {
        self.jobs.lock().unwrap().push(job.clone());
        Ok(())
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct TestClock {
    pub now: Mutex<OffsetDateTime>,
}

impl Default for TestClock {
    fn default() -> Self {
        Self {
            now: Mutex::new(time::macros::datetime!(2026-03-02 09:00 UTC)),
        }
    }
}

impl TestClock {
    pub fn advance(&self, by: time::Duration) {
        *self.now.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap()
    }
}
