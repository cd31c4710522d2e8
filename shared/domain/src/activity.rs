//! Activities: tracked and outgoing email, and the appointments, contacts and tasks that
//! are kept in step with Exchange.

use crate::ids::{ActivityId, EmailAddress, MailboxId, Principal, RecordId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A party of an email: resolved to a record, or an unresolved address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// The address as it appeared.
    pub address: EmailAddress,
    /// The display name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The record it resolved to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordId>,
}

/// Incoming or outgoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Received.
    Incoming,
    /// Sent.
    Outgoing,
}

/// The status of an email activity (Dynamics 365's email status reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Being written.
    Draft,
    /// Queued for sending by the sender's mailbox.
    PendingSend,
    /// Claimed by a worker that is sending it.
    Sending,
    /// Sent.
    Sent,
    /// Received (tracked).
    Received,
    /// Completed.
    Completed,
    /// Canceled.
    Canceled,
    /// Sending failed.
    Failed,
}

/// How a tracked email was correlated to an earlier activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationMethod {
    /// Not correlated.
    None,
    /// `In-Reply-To` matched a stored Message-ID.
    InReplyTo,
    /// The subject's tracking token matched.
    TrackingToken,
    /// The Conversation-Index matched.
    ConversationIndex,
    /// Smart matching (subject and recipients).
    SmartMatching,
}

/// Attachment metadata (content stays in Exchange).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// File name.
    pub name: String,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
}

/// An email activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailActivity {
    /// Id.
    pub id: ActivityId,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body_text: String,
    /// HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    /// True when the body was cut to the item size limit.
    #[serde(default)]
    pub body_truncated: bool,
    /// Sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Party>,
    /// To.
    #[serde(default)]
    pub to: Vec<Party>,
    /// Cc.
    #[serde(default)]
    pub cc: Vec<Party>,
    /// Bcc.
    #[serde(default)]
    pub bcc: Vec<Party>,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// Status.
    pub status: EmailStatus,
    /// Internet Message-ID (the dedup key for tracked email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internet_message_id: Option<String>,
    /// In-Reply-To.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Conversation-Index (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_index: Option<String>,
    /// The tracking token in the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_token: Option<String>,
    /// How it was correlated.
    pub correlation: CorrelationMethod,
    /// The record it is regarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regarding: Option<RecordId>,
    /// The activity it continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ActivityId>,
    /// Mailboxes that received it.
    #[serde(default)]
    pub receiving_mailboxes: Vec<MailboxId>,
    /// The mailbox that sends it (outgoing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_mailbox: Option<MailboxId>,
    /// EWS item id per mailbox.
    #[serde(default)]
    pub ews_item_ids: BTreeMap<String, String>,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<AttachmentMeta>,
    /// Send attempts.
    #[serde(default)]
    pub delivery_attempts: u32,
    /// Why sending failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// When it was sent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub sent_on: Option<OffsetDateTime>,
    /// When it was received.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub received_on: Option<OffsetDateTime>,
    /// Who created it (outgoing) or whose mailbox tracked it first.
    pub owner: Principal,
    /// Optimistic concurrency.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

/// An appointment (synced with the owner's Exchange calendar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    /// Id.
    pub id: ActivityId,
    /// Whose calendar.
    pub owner: Principal,
    /// Subject.
    pub subject: String,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// All-day event.
    #[serde(default)]
    pub all_day: bool,
    /// Location.
    #[serde(default)]
    pub location: String,
    /// Description.
    #[serde(default)]
    pub body: String,
    /// Required attendees.
    #[serde(default)]
    pub required_attendees: Vec<EmailAddress>,
    /// Optional attendees.
    #[serde(default)]
    pub optional_attendees: Vec<EmailAddress>,
    /// The record it is regarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regarding: Option<RecordId>,
    /// Optimistic concurrency.
    pub version: u64,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

/// A contact (synced with the owner's Exchange contacts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactActivity {
    /// Id.
    pub id: ActivityId,
    /// Whose contacts.
    pub owner: Principal,
    /// Given name.
    #[serde(default)]
    pub first_name: String,
    /// Surname.
    #[serde(default)]
    pub last_name: String,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
    /// Company.
    #[serde(default)]
    pub company: String,
    /// Job title.
    #[serde(default)]
    pub job_title: String,
    /// Business phone.
    #[serde(default)]
    pub business_phone: String,
    /// Mobile phone.
    #[serde(default)]
    pub mobile_phone: String,
    /// Optimistic concurrency.
    pub version: u64,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

/// Task status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    #[default]
    NotStarted,
    /// In progress.
    InProgress,
    /// Completed.
    Completed,
    /// Waiting on someone else.
    WaitingOnOthers,
    /// Deferred.
    Deferred,
}

/// A task (synced with the owner's Exchange tasks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskActivity {
    /// Id.
    pub id: ActivityId,
    /// Whose tasks.
    pub owner: Principal,
    /// Subject.
    pub subject: String,
    /// Description.
    #[serde(default)]
    pub body: String,
    /// Due date.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub due: Option<OffsetDateTime>,
    /// Status.
    #[serde(default)]
    pub status: TaskStatus,
    /// Percent complete (0–100).
    #[serde(default)]
    pub percent_complete: u8,
    /// The record it is regarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regarding: Option<RecordId>,
    /// Optimistic concurrency.
    pub version: u64,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}
