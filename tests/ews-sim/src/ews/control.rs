//! What tests and the demo hand to the simulator's control methods, and what they get back:
//! messages to deliver, user-side changes to simulate, summaries of what a mailbox holds.

use crate::store::{ChangeKey, EmailAddress, ExtendedProperty, ItemId, ItemKind, NewAttachment};
use time::OffsetDateTime;

/// A message arriving from outside EWS (SMTP in real life), for [`super::Exchange::deliver`].
#[derive(Debug, Clone, Default)]
pub struct IncomingMessage {
    /// Sender.
    pub from: EmailAddress,
    /// To recipients; empty means just the mailbox it is delivered to.
    pub to: Vec<EmailAddress>,
    /// Cc recipients.
    pub cc: Vec<EmailAddress>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body_text: Option<String>,
    /// HTML body (with `body_text`, the message is multipart/alternative).
    pub body_html: Option<String>,
    /// Message-ID (`<…@…>`); generated in the sender's domain when absent.
    pub message_id: Option<String>,
    /// In-Reply-To; threads the message under an earlier one in the same mailbox.
    pub in_reply_to: Option<String>,
    /// References; defaults to In-Reply-To.
    pub references: Option<String>,
    /// Received (and sent) time; now when absent.
    pub received: Option<OffsetDateTime>,
    /// File attachments.
    pub attachments: Vec<NewAttachment>,
    /// Extended properties the delivered item carries.
    pub extended_properties: Vec<ExtendedProperty>,
}

/// What an item looks like, for assertions in tests (e.g. "did the send arrive?").
#[derive(Debug, Clone)]
pub struct ItemSummary {
    /// Its EWS id.
    pub id: ItemId,
    /// Its current change key.
    pub change_key: ChangeKey,
    /// Message, calendar item, contact or task.
    pub kind: ItemKind,
    /// Subject.
    pub subject: Option<String>,
    /// From (messages) or organizer (calendar items).
    pub from: Option<EmailAddress>,
    /// To recipients or required attendees.
    pub to: Vec<EmailAddress>,
    /// Cc recipients or optional attendees.
    pub cc: Vec<EmailAddress>,
    /// Internet Message-ID.
    pub internet_message_id: Option<String>,
    /// In-Reply-To.
    pub in_reply_to: Option<String>,
    /// References.
    pub references: Option<String>,
    /// Read flag.
    pub is_read: bool,
    /// Body as text.
    pub body_text: Option<String>,
    /// When received (messages) or created.
    pub received: OffsetDateTime,
    /// Start (calendar items) or start date (tasks).
    pub start: Option<OffsetDateTime>,
    /// End (calendar items) or due date (tasks).
    pub end: Option<OffsetDateTime>,
    /// Names of file attachments.
    pub attachment_names: Vec<String>,
    /// Extended properties.
    pub extended_properties: Vec<ExtendedProperty>,
    /// Categories (as the user tags items in Outlook).
    pub categories: Vec<String>,
    /// Location (calendar items).
    pub location: Option<String>,
    /// Status (tasks: `NotStarted`, `InProgress`, `Completed`, …).
    pub status: Option<String>,
    /// The contact's own fields (contacts only).
    pub contact: Option<ContactSummary>,
}

/// What a contact holds besides the fields every item has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactSummary {
    /// Display name.
    pub display_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// `(key, address)`: `EmailAddress1`..`EmailAddress3`, sorted by key.
    pub email_addresses: Vec<(String, String)>,
    /// `(key, number)`: `BusinessPhone`, `MobilePhone`, ….
    pub phone_numbers: Vec<(String, String)>,
}

/// A calendar item created on the user's side (Outlook, OWA).
#[derive(Debug, Clone, Default)]
pub struct NewCalendarItem {
    /// Subject.
    pub subject: String,
    /// Body text.
    pub body_text: Option<String>,
    /// Start.
    pub start: Option<OffsetDateTime>,
    /// End.
    pub end: Option<OffsetDateTime>,
    /// Location.
    pub location: Option<String>,
    /// Required attendees (no invitations are sent).
    pub attendees: Vec<EmailAddress>,
    /// Optional attendees (no invitations are sent).
    pub optional_attendees: Vec<EmailAddress>,
    /// All-day event.
    pub is_all_day: bool,
    /// Categories (as the user tags an item in Outlook, e.g. for tracking).
    pub categories: Vec<String>,
    /// Extended properties.
    pub extended_properties: Vec<ExtendedProperty>,
}

/// A contact created on the user's side.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    /// Display name; when empty, "given surname", else the e-mail address.
    pub display_name: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// E-mail address (EmailAddress1).
    pub email: Option<String>,
    /// Business phone.
    pub business_phone: Option<String>,
    /// Categories (as the user tags an item in Outlook, e.g. for tracking).
    pub categories: Vec<String>,
    /// Extended properties.
    pub extended_properties: Vec<ExtendedProperty>,
}

/// A task created on the user's side.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    /// Subject.
    pub subject: String,
    /// Body text.
    pub body_text: Option<String>,
    /// Start date.
    pub start: Option<OffsetDateTime>,
    /// Due date.
    pub due: Option<OffsetDateTime>,
    /// Status (`NotStarted`, `InProgress`, `Completed`, `WaitingOnOthers`, `Deferred`);
    /// `Completed` also marks the task complete (100 %, completed now).
    pub status: Option<String>,
    /// Categories (as the user tags an item in Outlook, e.g. for tracking).
    pub categories: Vec<String>,
    /// Extended properties.
    pub extended_properties: Vec<ExtendedProperty>,
}

/// A change made on the user's side; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ItemUpdate {
    /// New subject.
    pub subject: Option<String>,
    /// New plain-text body.
    pub body_text: Option<String>,
    /// New read flag (alone, it is reported as a ReadFlagChange by SyncFolderItems).
    pub is_read: Option<bool>,
    /// New location (calendar items).
    pub location: Option<String>,
    /// New start (calendar items).
    pub start: Option<OffsetDateTime>,
    /// New end (calendar items).
    pub end: Option<OffsetDateTime>,
    /// Extended properties to set or replace.
    pub extended_properties: Vec<ExtendedProperty>,
    /// New categories (as the user tags an item in Outlook).
    pub categories: Option<Vec<String>>,
    /// New required attendees, the whole list (calendar items; nobody is told).
    pub required_attendees: Option<Vec<EmailAddress>>,
    /// New optional attendees, the whole list (calendar items; nobody is told).
    pub optional_attendees: Option<Vec<EmailAddress>>,
}

impl ItemUpdate {
    pub(crate) fn read_flag_only(&self) -> bool {
        self.is_read.is_some()
            && self.subject.is_none()
            && self.body_text.is_none()
            && self.location.is_none()
            && self.start.is_none()
            && self.end.is_none()
            && self.extended_properties.is_empty()
            && self.categories.is_none()
            && self.required_attendees.is_none()
            && self.optional_attendees.is_none()
    }
}
