//! One item as the store keeps it: the union of the fields of messages, calendar items,
//! contacts and tasks that the simulator models.

use super::types::{
    AttachmentId, ChangeKey, EmailAddress, ExtendedProperty, FolderId, ItemId, ItemKind,
};
use time::OffsetDateTime;

/// The body in the forms the item has it; a message delivered as multipart/alternative
/// has both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Body {
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Body {
    /// Plain text, converting from HTML when that is all there is.
    pub(crate) fn as_text(&self) -> Option<String> {
        match (&self.text, &self.html) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(h)) => Some(html_to_text(h)),
            (None, None) => None,
        }
    }

    /// HTML, wrapping plain text when that is all there is.
    pub(crate) fn as_html(&self) -> Option<String> {
        match (&self.html, &self.text) {
            (Some(h), _) => Some(h.clone()),
            (None, Some(t)) => Some(text_to_html(t)),
            (None, None) => None,
        }
    }
}

/// A crude tag stripper: good enough for the simulator's Text rendering of HTML bodies.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

pub(crate) fn text_to_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "<br>\r\n");
    format!(
        "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n<div>{escaped}</div>\r\n</body>\r\n</html>\r\n"
    )
}

/// A file attachment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attachment {
    pub id: AttachmentId,
    pub name: String,
    pub content_type: String,
    pub content_id: Option<String>,
    pub is_inline: bool,
    pub last_modified: OffsetDateTime,
    pub content: Vec<u8>,
}

/// Calendar fields (`t:CalendarItem`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CalendarFields {
    pub uid: Option<String>,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    pub is_all_day: Option<bool>,
    pub free_busy: Option<String>,
    pub location: Option<String>,
    pub is_meeting: Option<bool>,
    pub is_cancelled: Option<bool>,
    pub meeting_request_was_sent: Option<bool>,
    pub my_response_type: Option<String>,
    pub organizer: Option<EmailAddress>,
    pub required_attendees: Vec<EmailAddress>,
    pub optional_attendees: Vec<EmailAddress>,
}

/// Contact fields (`t:Contact`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContactFields {
    pub file_as: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub company_name: Option<String>,
    /// `(Key, address)`: EmailAddress1..3.
    pub email_addresses: Vec<(String, String)>,
    /// `(Key, number)`: BusinessPhone, MobilePhone, ….
    pub phone_numbers: Vec<(String, String)>,
    pub job_title: Option<String>,
    pub surname: Option<String>,
}

/// Task fields (`t:Task`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TaskFields {
    pub complete_date: Option<OffsetDateTime>,
    pub due_date: Option<OffsetDateTime>,
    pub is_complete: Option<bool>,
    pub percent_complete: Option<f64>,
    pub start_date: Option<OffsetDateTime>,
    pub status: Option<String>,
}

/// One item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: ItemId,
    pub change_key: ChangeKey,
    pub folder: FolderId,
    pub kind: ItemKind,
    pub item_class: String,
    pub subject: Option<String>,
    pub sensitivity: Option<String>,
    pub body: Body,
    pub attachments: Vec<Attachment>,
    pub received: Option<OffsetDateTime>,
    pub categories: Vec<String>,
    pub importance: Option<String>,
    pub in_reply_to: Option<String>,
    pub is_submitted: bool,
    pub is_draft: bool,
    pub is_from_me: bool,
    pub sent: Option<OffsetDateTime>,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    pub last_modified_name: Option<String>,
    pub extended: Vec<ExtendedProperty>,
    // message
    pub sender: Option<EmailAddress>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub is_read_receipt_requested: Option<bool>,
    pub is_delivery_receipt_requested: Option<bool>,
    pub conversation_index: Vec<u8>,
    pub conversation_topic: Option<String>,
    pub from: Option<EmailAddress>,
    pub internet_message_id: Option<String>,
    pub is_read: bool,
    pub references: Option<String>,
    pub reply_to: Vec<EmailAddress>,
    pub calendar: CalendarFields,
    pub contact: ContactFields,
    pub task: TaskFields,
}

impl Item {
    /// An empty item of `kind`; the store assigns id, change key and folder on insert.
    pub(crate) fn new(kind: ItemKind, now: OffsetDateTime) -> Self {
        Item {
            id: ItemId::new(String::new()),
            change_key: ChangeKey::new(String::new()),
            folder: FolderId::new(String::new()),
            kind,
            item_class: kind.default_class().to_owned(),
            subject: None,
            sensitivity: None,
            body: Body::default(),
            attachments: Vec::new(),
            received: None,
            categories: Vec::new(),
            importance: None,
            in_reply_to: None,
            is_submitted: false,
            is_draft: false,
            is_from_me: false,
            sent: None,
            created: now,
            last_modified: now,
            last_modified_name: None,
            extended: Vec::new(),
            sender: None,
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            is_read_receipt_requested: None,
            is_delivery_receipt_requested: None,
            conversation_index: Vec::new(),
            conversation_topic: None,
            from: None,
            internet_message_id: None,
            is_read: false,
            references: None,
            reply_to: Vec::new(),
            calendar: CalendarFields::default(),
            contact: ContactFields::default(),
            task: TaskFields::default(),
        }
    }

    /// An approximation of the item's size in bytes (`t:Size`).
    pub(crate) fn size(&self) -> usize {
        let body = self.body.text.as_ref().map_or(0, String::len)
            + self.body.html.as_ref().map_or(0, String::len);
        let attachments: usize = self.attachments.iter().map(|a| a.content.len()).sum();
        512 + self.subject.as_ref().map_or(0, String::len) + body + attachments
    }

    /// `DisplayTo`: the To names joined as Outlook shows them.
    pub(crate) fn display_list(list: &[EmailAddress]) -> String {
        list.iter()
            .map(|a| a.name.clone().unwrap_or_else(|| a.address.clone()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
