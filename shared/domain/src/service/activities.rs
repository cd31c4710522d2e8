//! Activities and email-enabled records: outgoing email (created Pending Send for the sync
//! engine to send), tracked email, appointments, contacts and tasks, records.
//!
//! Owner rule: a user may create, read, change and delete their own appointments,
//! contacts and tasks, send email from a mailbox they own, and read email their mailboxes
//! sent or received, without read_activities / write_activities; those privileges cover
//! everyone else's.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{Admin, PageRequest, field_error, required_version};
use crate::activity::{
    Appointment, ContactActivity, CorrelationMethod, Direction, EmailActivity, EmailStatus, Party,
    TaskActivity, TaskStatus,
};
use crate::error::DomainError;
use crate::ids::{ActivityId, EmailAddress, MailboxId, Principal, RecordId};
use crate::org::DeliveryMethod;
use crate::ports::Page;
use crate::privilege::{Grants, Privilege, authorize, authorize_or_owner};
use crate::record::{EmailEnabledRecord, RecordKind};
use crate::validation::{ValidationErrors, check};

/// Longest subject kept.
pub const MAX_SUBJECT_CHARS: usize = 400;
/// Largest body kept (characters), Dynamics 365's limit for an activity description.
pub const MAX_BODY_CHARS: usize = 1_048_576;
/// Most recipients of one email.
pub const MAX_RECIPIENTS: usize = 500;

/// An email to send from a mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailInput {
    /// The mailbox that sends it (required; the caller's own, or write_activities).
    pub sender_mailbox_id: Option<String>,
    /// To.
    pub to: Vec<String>,
    /// Cc.
    pub cc: Vec<String>,
    /// Bcc.
    pub bcc: Vec<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Plain-text body.
    pub body_text: Option<String>,
    /// HTML body.
    pub body_html: Option<String>,
    /// The record it is regarding.
    pub regarding: Option<String>,
}

/// Which tracked email to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "snake_case")]
pub enum EmailQuery {
    /// Sent or received by a mailbox (read_activities, or the mailbox's owner).
    Mailbox(MailboxId),
    /// Regarding a record (read_activities).
    Regarding(RecordId),
}

/// An appointment to create or change (on update, missing fields keep their values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppointmentInput {
    /// On update, the version read (required).
    pub version: Option<u64>,
    /// Whose calendar (default: the caller).
    pub owner: Option<String>,
    /// Subject (required).
    pub subject: Option<String>,
    /// Start (RFC 3339, required).
    pub start: Option<String>,
    /// End (RFC 3339, required, not before start).
    pub end: Option<String>,
    /// All-day event.
    pub all_day: Option<bool>,
    /// Location.
    pub location: Option<String>,
    /// Description.
    pub body: Option<String>,
    /// Required attendees.
    pub required_attendees: Option<Vec<String>>,
    /// Optional attendees.
    pub optional_attendees: Option<Vec<String>>,
    /// The record it is regarding (`""` clears it).
    pub regarding: Option<String>,
}

/// A contact to create or change (on update, missing fields keep their values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactInput {
    /// On update, the version read (required).
    pub version: Option<u64>,
    /// Whose contacts (default: the caller).
    pub owner: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Surname (a first or last name is required).
    pub last_name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Business phone.
    pub business_phone: Option<String>,
    /// Mobile phone.
    pub mobile_phone: Option<String>,
}

/// A task to create or change (on update, missing fields keep their values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskInput {
    /// On update, the version read (required).
    pub version: Option<u64>,
    /// Whose tasks (default: the caller).
    pub owner: Option<String>,
    /// Subject (required).
    pub subject: Option<String>,
    /// Description.
    pub body: Option<String>,
    /// Due date (RFC 3339; `""` clears it).
    pub due: Option<String>,
    /// Status.
    pub status: Option<TaskStatus>,
    /// Percent complete (0–100).
    pub percent_complete: Option<i64>,
    /// The record it is regarding (`""` clears it).
    pub regarding: Option<String>,
}

/// An email-enabled record to create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordInput {
    /// Kind (required).
    pub kind: Option<RecordKind>,
    /// Name (required).
    pub name: Option<String>,
    /// Its addresses (at least one).
    pub addresses: Vec<String>,
    /// For users: their principal.
    pub principal: Option<String>,
}

fn optional_record(errs: &mut ValidationErrors, field: &str, v: Option<&str>) -> Option<RecordId> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    let id = RecordId::parse(v);
    if id.is_none() {
        errs.add(field, "is not a valid record id");
    }
    id
}

/// The owner an activity input names (default: the caller, who must be known).
fn owner_of(
    errs: &mut ValidationErrors,
    given: Option<&str>,
    fallback: Option<&Principal>,
) -> Option<Principal> {
    match given.map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) => check::optional_principal(errs, "owner", Some(o)),
        None => {
            if fallback.is_none() {
                errs.add("owner", "is required");
            }
            fallback.cloned()
        }
    }
}

impl AppointmentInput {
    fn build(
        self,
        existing: Option<&Appointment>,
        caller: Option<&Principal>,
        now: time::OffsetDateTime,
    ) -> Result<Appointment, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let owner = owner_of(
            &mut errs,
            self.owner.as_deref(),
            existing.map(|a| &a.owner).or(caller),
        );
        let subject = check::required_text(
            &mut errs,
            "subject",
            self.subject
                .as_deref()
                .or(existing.map(|a| a.subject.as_str())),
            MAX_SUBJECT_CHARS,
        );
        let start = match &self.start {
            Some(v) => check::datetime(&mut errs, "start", Some(v)),
            None => existing.map(|a| a.start).or_else(|| {
                errs.add("start", "is required");
                None
            }),
        };
        let end = match &self.end {
            Some(v) => check::datetime(&mut errs, "end", Some(v)),
            None => existing.map(|a| a.end).or_else(|| {
                errs.add("end", "is required");
                None
            }),
        };
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            errs.add("end", "must not be before start");
        }
        let location = check::optional_text(
            &mut errs,
            "location",
            self.location
                .as_deref()
                .or(existing.map(|a| a.location.as_str())),
            200,
        );
        let body = check::optional_text(
            &mut errs,
            "body",
            self.body.as_deref().or(existing.map(|a| a.body.as_str())),
            MAX_BODY_CHARS,
        );
        let required_attendees = match &self.required_attendees {
            Some(v) => check::emails(&mut errs, "required_attendees", v),
            None => existing
                .map(|a| a.required_attendees.clone())
                .unwrap_or_default(),
        };
        let optional_attendees = match &self.optional_attendees {
            Some(v) => check::emails(&mut errs, "optional_attendees", v),
            None => existing
                .map(|a| a.optional_attendees.clone())
                .unwrap_or_default(),
        };
        let regarding = match &self.regarding {
            Some(v) => optional_record(&mut errs, "regarding", Some(v)),
            None => existing.and_then(|a| a.regarding.clone()),
        };
        errs.into_result()?;
        let (Some(owner), Some(subject), Some(start), Some(end)) = (owner, subject, start, end)
        else {
            let mut errs = ValidationErrors::default();
            errs.add("subject", "is required");
            return Err(errs);
        };
        Ok(Appointment {
            id: existing.map(|a| a.id.clone()).unwrap_or_default(),
            owner,
            subject,
            start,
            end,
            all_day: self
                .all_day
                .or(existing.map(|a| a.all_day))
                .unwrap_or(false),
            location,
            body,
            required_attendees,
            optional_attendees,
            regarding,
            version: existing.map_or(1, |a| a.version + 1),
            modified_at: now,
        })
    }
}

impl ContactInput {
    fn build(
        self,
        existing: Option<&ContactActivity>,
        caller: Option<&Principal>,
        now: time::OffsetDateTime,
    ) -> Result<ContactActivity, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let owner = owner_of(
            &mut errs,
            self.owner.as_deref(),
            existing.map(|c| &c.owner).or(caller),
        );
        let text =
            |errs: &mut ValidationErrors, field: &str, v: Option<&str>, stored: Option<&str>| {
                check::optional_text(errs, field, v.or(stored), 200)
            };
        let first_name = text(
            &mut errs,
            "first_name",
            self.first_name.as_deref(),
            existing.map(|c| c.first_name.as_str()),
        );
        let last_name = text(
            &mut errs,
            "last_name",
            self.last_name.as_deref(),
            existing.map(|c| c.last_name.as_str()),
        );
        if first_name.is_empty() && last_name.is_empty() {
            errs.add("last_name", "a first_name or last_name is required");
        }
        let email = match &self.email {
            Some(v) => check::optional_email(&mut errs, "email", Some(v)),
            None => existing.and_then(|c| c.email.clone()),
        };
        let company = text(
            &mut errs,
            "company",
            self.company.as_deref(),
            existing.map(|c| c.company.as_str()),
        );
        let job_title = text(
            &mut errs,
            "job_title",
            self.job_title.as_deref(),
            existing.map(|c| c.job_title.as_str()),
        );
        let business_phone = text(
            &mut errs,
            "business_phone",
            self.business_phone.as_deref(),
            existing.map(|c| c.business_phone.as_str()),
        );
        let mobile_phone = text(
            &mut errs,
            "mobile_phone",
            self.mobile_phone.as_deref(),
            existing.map(|c| c.mobile_phone.as_str()),
        );
        errs.into_result()?;
        let Some(owner) = owner else {
            let mut errs = ValidationErrors::default();
            errs.add("owner", "is required");
            return Err(errs);
        };
        Ok(ContactActivity {
            id: existing.map(|c| c.id.clone()).unwrap_or_default(),
            owner,
            first_name,
            last_name,
            email,
            company,
            job_title,
            business_phone,
            mobile_phone,
            version: existing.map_or(1, |c| c.version + 1),
            modified_at: now,
        })
    }
}

impl TaskInput {
    fn build(
        self,
        existing: Option<&TaskActivity>,
        caller: Option<&Principal>,
        now: time::OffsetDateTime,
    ) -> Result<TaskActivity, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let owner = owner_of(
            &mut errs,
            self.owner.as_deref(),
            existing.map(|t| &t.owner).or(caller),
        );
        let subject = check::required_text(
            &mut errs,
            "subject",
            self.subject
                .as_deref()
                .or(existing.map(|t| t.subject.as_str())),
            MAX_SUBJECT_CHARS,
        );
        let body = check::optional_text(
            &mut errs,
            "body",
            self.body.as_deref().or(existing.map(|t| t.body.as_str())),
            MAX_BODY_CHARS,
        );
        let due = match &self.due {
            Some(v) => check::optional_datetime(&mut errs, "due", Some(v)),
            None => existing.and_then(|t| t.due),
        };
        let percent = check::range(
            &mut errs,
            "percent_complete",
            self.percent_complete
                .or(existing.map(|t| i64::from(t.percent_complete))),
            0,
            100,
            0,
        );
        let regarding = match &self.regarding {
            Some(v) => optional_record(&mut errs, "regarding", Some(v)),
            None => existing.and_then(|t| t.regarding.clone()),
        };
        errs.into_result()?;
        let (Some(owner), Some(subject)) = (owner, subject) else {
            let mut errs = ValidationErrors::default();
            errs.add("subject", "is required");
            return Err(errs);
        };
        Ok(TaskActivity {
            id: existing.map(|t| t.id.clone()).unwrap_or_default(),
            owner,
            subject,
            body,
            due,
            status: self
                .status
                .or(existing.map(|t| t.status))
                .unwrap_or_default(),
            percent_complete: u8::try_from(percent).unwrap_or(0),
            regarding,
            version: existing.map_or(1, |t| t.version + 1),
            modified_at: now,
        })
    }
}

/// Generates create/get/update/delete/list for one owner-scoped activity kind.
macro_rules! owned_activity {
    (
        $what:literal, $ty:ty, $input:ty,
        create: $create:ident, get: $get:ident, update: $update:ident,
        delete: $delete:ident, list: $list:ident,
        port_put: $put:ident, port_get: $pget:ident, port_delete: $pdel:ident, port_list: $plist:ident
    ) => {
        impl Admin {
            #[doc = concat!("Creates a", $what, " (the caller's own, or write_activities).")]
            pub async fn $create(&self, grants: &Grants, input: $input) -> Result<$ty, DomainError> {
                let item = input.build(None, grants.principal.as_ref(), self.now())?;
                authorize_or_owner(grants, Privilege::WriteActivities, [&item.owner])?;
                self.ports.activities.$put(&item, None).await?;
                tracing::info!(activity_id = %item.id, concat!("created", $what));
                Ok(item)
            }

            #[doc = concat!("A", $what, " (its owner, or read_activities).")]
            pub async fn $get(&self, grants: &Grants, id: &ActivityId) -> Result<$ty, DomainError> {
                match self.ports.activities.$pget(id).await? {
                    Some(item) => {
                        authorize_or_owner(grants, Privilege::ReadActivities, [&item.owner])?;
                        Ok(item)
                    }
                    None => {
                        authorize(grants, Privilege::ReadActivities)?;
                        Err(DomainError::NotFound { kind: $what.trim_start(), id: id.to_string() })
                    }
                }
            }

            #[doc = concat!("Changes a", $what, " (its owner, or write_activities); a stale version is a 409.")]
            pub async fn $update(
                &self,
                grants: &Grants,
                id: &ActivityId,
                input: $input,
            ) -> Result<$ty, DomainError> {
                let version = required_version(input.version)?;
                let existing = match self.ports.activities.$pget(id).await? {
                    Some(e) => e,
                    None => {
                        authorize(grants, Privilege::WriteActivities)?;
                        return Err(DomainError::NotFound { kind: $what.trim_start(), id: id.to_string() });
                    }
                };
                authorize_or_owner(grants, Privilege::WriteActivities, [&existing.owner])?;
                if existing.version != version {
                    return Err(DomainError::VersionConflict {
                        kind: $what.trim_start(),
                        id: id.to_string(),
                        expected: version,
                    });
                }
                let item = input.build(Some(&existing), grants.principal.as_ref(), self.now())?;
                // Handing it to someone else is writing their activities.
                authorize_or_owner(grants, Privilege::WriteActivities, [&item.owner])?;
                self.ports.activities.$put(&item, Some(existing.version)).await?;
                Ok(item)
            }

            #[doc = concat!("Deletes a", $what, " (its owner, or write_activities).")]
            pub async fn $delete(&self, grants: &Grants, id: &ActivityId) -> Result<(), DomainError> {
                match self.ports.activities.$pget(id).await? {
                    Some(item) => {
                        authorize_or_owner(grants, Privilege::WriteActivities, [&item.owner])?;
                        self.ports.activities.$pdel(id).await
                    }
                    None => {
                        authorize(grants, Privilege::WriteActivities)?;
                        Err(DomainError::NotFound { kind: $what.trim_start(), id: id.to_string() })
                    }
                }
            }

            #[doc = concat!("An owner's", $what, "s (default: the caller's; anyone else's needs read_activities).")]
            pub async fn $list(
                &self,
                grants: &Grants,
                owner: Option<&Principal>,
            ) -> Result<Vec<$ty>, DomainError> {
                let owner = match owner.or(grants.principal.as_ref()) {
                    Some(o) => o,
                    None => return Err(DomainError::Forbidden(Privilege::ReadActivities)),
                };
                authorize_or_owner(grants, Privilege::ReadActivities, [owner])?;
                self.ports.activities.$plist(owner).await
            }
        }
    };
}

owned_activity!(
    " appointment", Appointment, AppointmentInput,
    create: create_appointment, get: get_appointment, update: update_appointment,
    delete: delete_appointment, list: list_appointments,
    port_put: put_appointment, port_get: get_appointment, port_delete: delete_appointment, port_list: list_appointments
);

owned_activity!(
    " contact", ContactActivity, ContactInput,
    create: create_contact, get: get_contact, update: update_contact,
    delete: delete_contact, list: list_contacts,
    port_put: put_contact, port_get: get_contact, port_delete: delete_contact, port_list: list_contacts
);

owned_activity!(
    " task", TaskActivity, TaskInput,
    create: create_task, get: get_task, update: update_task,
    delete: delete_task, list: list_tasks,
    port_put: put_task, port_get: get_task, port_delete: delete_task, port_list: list_tasks
);

impl Admin {
    /// Creates an email and sends it: the activity is stored Pending Send for the sync
    /// engine to send from the sender mailbox. The sender mailbox must exist, send through
    /// server-side synchronization, and be the caller's own (or the caller holds
    /// write_activities). Recipients are resolved to records by address.
    pub async fn send_email(
        &self,
        grants: &Grants,
        input: EmailInput,
    ) -> Result<EmailActivity, DomainError> {
        let mut errs = ValidationErrors::default();
        let sender = match input.sender_mailbox_id.as_deref().map(str::trim) {
            None | Some("") => {
                errs.add("sender_mailbox_id", "is required");
                None
            }
            Some(v) => {
                let id = MailboxId::parse(v);
                if id.is_none() {
                    errs.add("sender_mailbox_id", "is not a valid id");
                }
                id
            }
        };
        let to = check::emails(&mut errs, "to", &input.to);
        let cc = check::emails(&mut errs, "cc", &input.cc);
        let bcc = check::emails(&mut errs, "bcc", &input.bcc);
        let recipients = input.to.len() + input.cc.len() + input.bcc.len();
        if recipients == 0 {
            errs.add("to", "at least one recipient (to, cc or bcc) is required");
        } else if recipients > MAX_RECIPIENTS {
            errs.add("to", format!("at most {MAX_RECIPIENTS} recipients in all"));
        }
        let subject = check::optional_text(
            &mut errs,
            "subject",
            input.subject.as_deref(),
            MAX_SUBJECT_CHARS,
        );
        let body_text = check::optional_text(
            &mut errs,
            "body_text",
            input.body_text.as_deref(),
            MAX_BODY_CHARS,
        );
        let body_html = input
            .body_html
            .as_deref()
            .filter(|h| !h.is_empty())
            .map(|h| {
                if h.chars().count() > MAX_BODY_CHARS {
                    errs.add(
                        "body_html",
                        format!("must be at most {MAX_BODY_CHARS} characters"),
                    );
                }
                h.to_owned()
            });
        let regarding = optional_record(&mut errs, "regarding", input.regarding.as_deref());
        errs.into_result()?;
        let Some(sender) = sender else {
            return Err(field_error("sender_mailbox_id", "is required"));
        };
        let Some(mailbox) = self.ports.config.get_mailbox(&sender).await? else {
            authorize(grants, Privilege::WriteActivities)?;
            return Err(field_error(
                "sender_mailbox_id",
                "is not an existing mailbox",
            ));
        };
        authorize_or_owner(grants, Privilege::WriteActivities, [&mailbox.owner])?;
        let owner = super::caller(grants, Privilege::WriteActivities)?.clone();
        if mailbox.outgoing != DeliveryMethod::ServerSideSynchronization {
            return Err(DomainError::Conflict(format!(
                "the mailbox {} does not send email through server-side synchronization",
                mailbox.email
            )));
        }
        let now = self.now();
        let email = EmailActivity {
            id: ActivityId::new(),
            subject,
            body_text,
            body_html,
            body_truncated: false,
            from: Some(
                self.party(&mailbox.email, Some(mailbox.name.clone()))
                    .await?,
            ),
            to: self.parties(&to).await?,
            cc: self.parties(&cc).await?,
            bcc: self.parties(&bcc).await?,
            direction: Direction::Outgoing,
            status: EmailStatus::PendingSend,
            internet_message_id: None,
            in_reply_to: None,
            conversation_index: None,
            tracking_token: None,
            correlation: CorrelationMethod::None,
            regarding,
            parent: None,
            receiving_mailboxes: Vec::new(),
            sender_mailbox: Some(mailbox.id.clone()),
            ews_item_ids: BTreeMap::new(),
            attachments: Vec::new(),
            delivery_attempts: 0,
            failure_reason: None,
            sent_on: None,
            received_on: None,
            owner,
            version: 1,
            created_at: now,
            modified_at: now,
        };
        self.ports.activities.create_email(&email).await?;
        tracing::info!(activity_id = %email.id, sender_mailbox_id = %mailbox.id, recipients, "email queued for sending");
        // The sender mailbox sends it now rather than at its next slot; if that cannot be
        // arranged the email is still stored, and the next slot sends it.
        match self.schedule_inputs(mailbox.profile_id.as_ref()).await {
            Ok((profile, settings)) => {
                self.poll_now(
                    &mailbox,
                    profile.as_ref(),
                    &settings,
                    crate::sync::job::PollReason::SendRequested,
                    Some(crate::mailbox::Workload::Outgoing),
                )
                .await;
            }
            Err(e) => {
                tracing::warn!(sender_mailbox_id = %mailbox.id, error = %e, "send not enqueued at once; the next slot sends it");
            }
        }
        Ok(email)
    }

    async fn party(
        &self,
        address: &EmailAddress,
        name: Option<String>,
    ) -> Result<Party, DomainError> {
        let record = self
            .ports
            .activities
            .records_by_email(address)
            .await?
            .into_iter()
            .next()
            .map(|r| r.id);
        Ok(Party {
            address: address.clone(),
            name,
            record,
        })
    }

    async fn parties(&self, addresses: &[EmailAddress]) -> Result<Vec<Party>, DomainError> {
        let mut out = Vec::with_capacity(addresses.len());
        for a in addresses {
            out.push(self.party(a, None).await?);
        }
        Ok(out)
    }

    /// A tracked or outgoing email (read_activities; or its owner; or the owner of its
    /// sender mailbox or of a mailbox that received it).
    pub async fn get_email(
        &self,
        grants: &Grants,
        id: &ActivityId,
    ) -> Result<EmailActivity, DomainError> {
        let Some(email) = self.ports.activities.get_email(id).await? else {
            authorize(grants, Privilege::ReadActivities)?;
            return Err(DomainError::NotFound {
                kind: "email",
                id: id.to_string(),
            });
        };
        if grants.has(Privilege::ReadActivities) || grants.is(&email.owner) {
            return Ok(email);
        }
        for mailbox in email
            .sender_mailbox
            .iter()
            .chain(&email.receiving_mailboxes)
        {
            if let Some(m) = self.ports.config.get_mailbox(mailbox).await?
                && grants.is(&m.owner)
            {
                return Ok(email);
            }
        }
        Err(DomainError::Forbidden(Privilege::ReadActivities))
    }

    /// Tracked email of a mailbox or regarding a record, newest first.
    pub async fn list_emails(
        &self,
        grants: &Grants,
        query: &EmailQuery,
        page: &PageRequest,
    ) -> Result<Page<EmailActivity>, DomainError> {
        let limit = page.limit()?;
        match query {
            EmailQuery::Mailbox(id) => {
                self.visible_mailbox(grants, id, Privilege::ReadActivities)
                    .await?;
                self.ports
                    .activities
                    .list_emails_by_mailbox(id, limit, page.next.clone())
                    .await
            }
            EmailQuery::Regarding(record) => {
                authorize(grants, Privilege::ReadActivities)?;
                self.ports
                    .activities
                    .list_emails_by_regarding(record, limit, page.next.clone())
                    .await
            }
        }
    }

    /// Creates an email-enabled record (write_activities).
    pub async fn create_record(
        &self,
        grants: &Grants,
        input: RecordInput,
    ) -> Result<EmailEnabledRecord, DomainError> {
        authorize(grants, Privilege::WriteActivities)?;
        let mut errs = ValidationErrors::default();
        if input.kind.is_none() {
            errs.add(
                "kind",
                "is required (user, queue, contact, account or lead)",
            );
        }
        let name = check::required_text(&mut errs, "name", input.name.as_deref(), 160);
        let mut addresses = check::emails(&mut errs, "addresses", &input.addresses);
        addresses.dedup();
        if input.addresses.is_empty() {
            errs.add("addresses", "at least one address is required");
        } else if input.addresses.len() > 20 {
            errs.add("addresses", "at most 20 addresses");
        }
        let principal =
            check::optional_principal(&mut errs, "principal", input.principal.as_deref());
        if principal.is_some() && input.kind != Some(RecordKind::User) {
            errs.add("principal", "only user records have a principal");
        }
        errs.into_result()?;
        let (Some(kind), Some(name)) = (input.kind, name) else {
            return Err(field_error("name", "is required"));
        };
        let record = EmailEnabledRecord {
            id: RecordId::new(),
            kind,
            name,
            addresses,
            principal,
        };
        self.ports.activities.create_record(&record).await?;
        tracing::info!(record_id = %record.id, kind = ?record.kind, "record created");
        Ok(record)
    }

    /// Records of a kind, by name (read_activities).
    pub async fn list_records(
        &self,
        grants: &Grants,
        kind: RecordKind,
        page: &PageRequest,
    ) -> Result<Page<EmailEnabledRecord>, DomainError> {
        authorize(grants, Privilege::ReadActivities)?;
        self.ports
            .activities
            .list_records(kind, page.limit()?, page.next.clone())
            .await
    }
}
