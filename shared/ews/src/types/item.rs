//! Items: messages, calendar items, contacts, tasks, and everything else kept as
//! [`Item::Other`].
//!
//! types.xsd defines every item type as an `xs:sequence` in a fixed order: the `ItemType`
//! fields first (`ExtendedProperty` sits among them, after `HasAttachments`), then the
//! fields of the derived type. Requests that break the order fail schema validation, so the
//! writers below follow it field by field; reading does not depend on order.

use super::read;
use super::{
    AttachmentId, Attendee, Binary, DateTime, ExtendedFieldUri, ExtendedProperty, ExtendedValue,
    FolderId, ItemId, Mailbox, ews_enum,
};
use crate::xml::{Element, NS_TYPES, XmlWriter};
use serde::Serialize;

ews_enum! {
    /// The format of a body.
    ///
    /// Reference: [Body](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/body).
    closed BodyType {
        /// HTML.
        Html = "HTML",
        /// Plain text.
        Text = "Text",
    }
}

ews_enum! {
    /// An item's importance.
    ///
    /// Reference: [Importance](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/importance).
    closed Importance {
        /// Low.
        Low = "Low",
        /// Normal.
        Normal = "Normal",
        /// High.
        High = "High",
    }
}

ews_enum! {
    /// How a calendar item shows in free/busy.
    ///
    /// Reference: [LegacyFreeBusyStatus](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/legacyfreebusystatus).
    open LegacyFreeBusyStatus {
        /// Free.
        Free = "Free",
        /// Tentative.
        Tentative = "Tentative",
        /// Busy.
        Busy = "Busy",
        /// Out of office.
        Oof = "OOF",
        /// No data.
        NoData = "NoData",
        /// Working elsewhere (Exchange 2013+).
        WorkingElsewhere = "WorkingElsewhere",
    }
}

ews_enum! {
    /// A task's status.
    ///
    /// Reference: [Status](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/status).
    open TaskStatus {
        /// Not started.
        NotStarted = "NotStarted",
        /// In progress.
        InProgress = "InProgress",
        /// Completed.
        Completed = "Completed",
        /// Waiting on others.
        WaitingOnOthers = "WaitingOnOthers",
        /// Deferred.
        Deferred = "Deferred",
    }
}

ews_enum! {
    /// An attendee's answer to a meeting.
    ///
    /// Reference: [ResponseType](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsetype).
    open ResponseType {
        /// Unknown.
        Unknown = "Unknown",
        /// The organizer.
        Organizer = "Organizer",
        /// Tentatively accepted.
        Tentative = "Tentative",
        /// Accepted.
        Accept = "Accept",
        /// Declined.
        Decline = "Decline",
        /// No response yet.
        NoResponseReceived = "NoResponseReceived",
    }
}

ews_enum! {
    /// The three e-mail address slots of a contact.
    ///
    /// Reference: [Entry (EmailAddress)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/entry-emailaddress).
    closed EmailAddressKey {
        /// The first address.
        EmailAddress1 = "EmailAddress1",
        /// The second address.
        EmailAddress2 = "EmailAddress2",
        /// The third address.
        EmailAddress3 = "EmailAddress3",
    }
}

ews_enum! {
    /// A contact's phone number slots.
    ///
    /// Reference: [Entry (PhoneNumber)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/entry-phonenumber).
    open PhoneNumberKey {
        /// Assistant.
        AssistantPhone = "AssistantPhone",
        /// Business fax.
        BusinessFax = "BusinessFax",
        /// Business.
        BusinessPhone = "BusinessPhone",
        /// Second business number.
        BusinessPhone2 = "BusinessPhone2",
        /// Callback.
        Callback = "Callback",
        /// Car.
        CarPhone = "CarPhone",
        /// Company main number.
        CompanyMainPhone = "CompanyMainPhone",
        /// Home fax.
        HomeFax = "HomeFax",
        /// Home.
        HomePhone = "HomePhone",
        /// Second home number.
        HomePhone2 = "HomePhone2",
        /// ISDN.
        Isdn = "Isdn",
        /// Mobile.
        MobilePhone = "MobilePhone",
        /// Other fax.
        OtherFax = "OtherFax",
        /// Other.
        OtherTelephone = "OtherTelephone",
        /// Pager.
        Pager = "Pager",
        /// Primary.
        PrimaryPhone = "PrimaryPhone",
        /// Radio.
        RadioPhone = "RadioPhone",
        /// Telex.
        Telex = "Telex",
        /// TTY/TDD.
        TtyTddPhone = "TtyTddPhone",
    }
}

ews_enum! {
    /// A contact's postal address slots.
    ///
    /// Reference: [Entry (PhysicalAddress)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/entry-physicaladdress).
    closed PhysicalAddressKey {
        /// Business.
        Business = "Business",
        /// Home.
        Home = "Home",
        /// Other.
        Other = "Other",
    }
}

ews_enum! {
    /// The kinds of item exsync creates and updates, named as their elements.
    closed ItemKind {
        /// `t:Message`.
        Message = "Message",
        /// `t:CalendarItem`.
        CalendarItem = "CalendarItem",
        /// `t:Contact`.
        Contact = "Contact",
        /// `t:Task`.
        Task = "Task",
    }
}

ews_enum! {
    /// File or item attachment.
    closed AttachmentKind {
        /// `t:FileAttachment`.
        File = "FileAttachment",
        /// `t:ItemAttachment` (an attached message, contact…).
        Item = "ItemAttachment",
    }
}

/// A body and its format.
///
/// Reference: [Body](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Body {
    /// HTML or text.
    pub body_type: BodyType,
    /// The content (HTML arrives entity-escaped and is unescaped here).
    pub text: String,
    /// Whether the server cut it short (`IsTruncated`, Exchange 2013+).
    pub is_truncated: bool,
}

impl Body {
    /// A plain-text body.
    pub fn text(text: impl Into<String>) -> Self {
        Body {
            body_type: BodyType::Text,
            text: text.into(),
            is_truncated: false,
        }
    }

    /// An HTML body.
    pub fn html(html: impl Into<String>) -> Self {
        Body {
            body_type: BodyType::Html,
            text: html.into(),
            is_truncated: false,
        }
    }

    /// `IsTruncated` is not written: it is not in the 2010 SP2 schema and only servers set it.
    fn write(&self, w: &mut XmlWriter) {
        w.start("t:Body", &[("BodyType", self.body_type.as_str())]);
        w.text(&self.text);
        w.end("t:Body");
    }

    fn read(el: &Element) -> Body {
        Body {
            // Unknown formats are read as text: the content is still the body.
            body_type: el
                .attr("BodyType")
                .and_then(BodyType::parse)
                .unwrap_or(BodyType::Text),
            text: el.text.clone(),
            is_truncated: read::attr_bool(el, "IsTruncated").unwrap_or(false),
        }
    }
}

/// One Internet header of a received message.
///
/// Reference: [InternetMessageHeader](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/internetmessageheader).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InternetMessageHeader {
    /// The header name (`Received`, `X-Mailer`…).
    pub name: String,
    /// Its value.
    pub value: String,
}

/// What an item says about one attachment.
///
/// Reference: [Attachments](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/attachments-ex15websvcsotherref).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentInfo {
    /// File or item attachment.
    pub kind: AttachmentKind,
    /// Its id, for GetAttachment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<AttachmentId>,
    /// Its file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its MIME type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Its Content-ID (inline images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// Its size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Whether it is shown inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_inline: Option<bool>,
}

impl AttachmentInfo {
    pub(crate) fn read(el: &Element) -> Option<AttachmentInfo> {
        if el.ns != NS_TYPES {
            return None;
        }
        Some(AttachmentInfo {
            kind: AttachmentKind::parse(&el.name)?,
            id: el
                .child(NS_TYPES, "AttachmentId")
                .and_then(|a| a.attr("Id"))
                .map(|id| AttachmentId(id.to_owned())),
            name: read::string(el, "Name"),
            content_type: read::token(el, "ContentType").map(str::to_owned),
            content_id: read::token(el, "ContentId").map(str::to_owned),
            size: read::number(el, "Size"),
            is_inline: read::boolean(el, "IsInline"),
        })
    }

    fn read_list(item: &Element) -> Vec<AttachmentInfo> {
        item.child(NS_TYPES, "Attachments")
            .map(|a| a.children.iter().filter_map(AttachmentInfo::read).collect())
            .unwrap_or_default()
    }
}

/// An attachment as GetAttachment returns it.
///
/// Reference: [GetAttachment operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getattachment-operation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attachment {
    /// A file, with its bytes.
    File {
        /// What it is.
        info: AttachmentInfo,
        /// Its content, decoded from base64.
        content: Binary,
    },
    /// An attached item; only its description is kept.
    Item {
        /// What it is.
        info: AttachmentInfo,
    },
}

impl Attachment {
    /// Reads a `FileAttachment`/`ItemAttachment`; `None` for anything else, or a file whose
    /// content is missing or not base64.
    pub(crate) fn read(el: &Element) -> Option<Attachment> {
        let info = AttachmentInfo::read(el)?;
        match info.kind {
            AttachmentKind::File => {
                let content = el.child(NS_TYPES, "Content")?;
                let content = Binary::from_base64(&content.text)?;
                Some(Attachment::File { info, content })
            }
            AttachmentKind::Item => Some(Attachment::Item { info }),
        }
    }

    /// What it is.
    pub fn info(&self) -> &AttachmentInfo {
        match self {
            Attachment::File { info, .. } | Attachment::Item { info } => info,
        }
    }
}

/// A contact's e-mail address slot.
///
/// Reference: [EmailAddresses](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/emailaddresses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailAddressEntry {
    /// Which slot.
    pub key: EmailAddressKey,
    /// The address.
    pub address: String,
    /// The display name for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A contact's phone number.
///
/// Reference: [PhoneNumbers](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/phonenumbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneNumberEntry {
    /// Which slot.
    pub key: PhoneNumberKey,
    /// The number.
    pub number: String,
}

/// A contact's postal address.
///
/// Reference: [PhysicalAddresses](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/physicaladdresses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhysicalAddress {
    /// Which slot.
    pub key: PhysicalAddressKey,
    /// Street.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Country or region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_or_region: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// The `ItemType` fields every item kind shares, read once.
struct Common {
    mime_content: Option<Binary>,
    item_id: Option<ItemId>,
    parent_folder_id: Option<FolderId>,
    item_class: Option<String>,
    subject: Option<String>,
    body: Option<Body>,
    attachments: Vec<AttachmentInfo>,
    date_time_received: Option<DateTime>,
    size: Option<u64>,
    categories: Vec<String>,
    importance: Option<Importance>,
    in_reply_to: Option<String>,
    internet_message_headers: Vec<InternetMessageHeader>,
    date_time_sent: Option<DateTime>,
    date_time_created: Option<DateTime>,
    has_attachments: Option<bool>,
    extended_properties: Vec<ExtendedProperty>,
    last_modified_time: Option<DateTime>,
    conversation_id: Option<ItemId>,
}

impl Common {
    fn read(el: &Element) -> Common {
        Common {
            mime_content: el.child(NS_TYPES, "MimeContent").and_then(|m| {
                let b = Binary::from_base64(&m.text);
                if b.is_none() {
                    read::dropped("MimeContent");
                }
                b
            }),
            item_id: el.child(NS_TYPES, "ItemId").and_then(ItemId::read),
            parent_folder_id: el
                .child(NS_TYPES, "ParentFolderId")
                .and_then(FolderId::read),
            item_class: read::token(el, "ItemClass").map(str::to_owned),
            subject: read::string(el, "Subject"),
            body: el.child(NS_TYPES, "Body").map(Body::read),
            attachments: AttachmentInfo::read_list(el),
            date_time_received: read::datetime(el, "DateTimeReceived"),
            size: read::number(el, "Size"),
            categories: read_strings(el, "Categories"),
            importance: read::token(el, "Importance").and_then(Importance::parse),
            in_reply_to: read::string(el, "InReplyTo"),
            internet_message_headers: el
                .child(NS_TYPES, "InternetMessageHeaders")
                .map(|h| {
                    h.children_named(NS_TYPES, "InternetMessageHeader")
                        .filter_map(|h| {
                            Some(InternetMessageHeader {
                                name: h.attr("HeaderName")?.to_owned(),
                                value: h.text.clone(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            date_time_sent: read::datetime(el, "DateTimeSent"),
            date_time_created: read::datetime(el, "DateTimeCreated"),
            has_attachments: read::boolean(el, "HasAttachments"),
            extended_properties: ExtendedProperty::read_all(el),
            last_modified_time: read::datetime(el, "LastModifiedTime"),
            conversation_id: el.child(NS_TYPES, "ConversationId").and_then(ItemId::read),
        }
    }
}

/// The writable `ItemType` fields, in schema order.
struct CommonOut<'a> {
    mime_content: Option<&'a Binary>,
    item_class: Option<&'a str>,
    subject: Option<&'a str>,
    body: Option<&'a Body>,
    categories: &'a [String],
    importance: Option<Importance>,
    in_reply_to: Option<&'a str>,
    extended_properties: &'a [ExtendedProperty],
}

impl CommonOut<'_> {
    fn write(&self, w: &mut XmlWriter) {
        if let Some(mime) = self.mime_content {
            w.text_element("t:MimeContent", &mime.to_base64());
        }
        if let Some(class) = self.item_class {
            w.text_element("t:ItemClass", class);
        }
        if let Some(subject) = self.subject {
            w.text_element("t:Subject", subject);
        }
        if let Some(body) = self.body {
            body.write(w);
        }
        if !self.categories.is_empty() {
            w.start("t:Categories", &[]);
            for c in self.categories {
                w.text_element("t:String", c);
            }
            w.end("t:Categories");
        }
        if let Some(importance) = self.importance {
            w.text_element("t:Importance", importance.as_str());
        }
        if let Some(irt) = self.in_reply_to {
            w.text_element("t:InReplyTo", irt);
        }
        for p in self.extended_properties {
            p.write(w);
        }
    }
}

fn read_strings(el: &Element, name: &str) -> Vec<String> {
    el.child(NS_TYPES, name)
        .map(|c| {
            c.children_named(NS_TYPES, "String")
                .map(|s| s.text.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn opt_text(w: &mut XmlWriter, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        w.text_element(name, v);
    }
}

fn opt_bool(w: &mut XmlWriter, name: &str, value: Option<bool>) {
    if let Some(v) = value {
        w.text_element(name, if v { "true" } else { "false" });
    }
}

fn opt_time(w: &mut XmlWriter, name: &str, value: Option<DateTime>) {
    if let Some(v) = value {
        w.text_element(name, &v.to_ews());
    }
}

/// An e-mail message (and every item kind the server reports as one, such as IPM.Sharing).
///
/// Reference: [Message](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/message-ex15websvcsotherref).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Message {
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    /// The folder holding it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<FolderId>,
    /// `IPM.Note`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_class: Option<String>,
    /// The subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Its attachments (descriptions only; read the content with GetAttachment).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInfo>,
    /// When it arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_received: Option<DateTime>,
    /// When it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_sent: Option<DateTime>,
    /// When it was created in this mailbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_created: Option<DateTime>,
    /// Its size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Its categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Its importance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
    /// The `In-Reply-To` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Its Internet headers (ask for `item:InternetMessageHeaders`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub internet_message_headers: Vec<InternetMessageHeader>,
    /// Whether it has attachments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_attachments: Option<bool>,
    /// Extended properties asked for in the shape, or to set on creation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_properties: Vec<ExtendedProperty>,
    /// When it was last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<DateTime>,
    /// Its conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ItemId>,
    /// The conversation index (decoded from base64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_index: Option<Binary>,
    /// The conversation topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_topic: Option<String>,
    /// The sending mailbox (differs from `from` when sent on behalf).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<Mailbox>,
    /// The author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Mailbox>,
    /// To.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_recipients: Vec<Mailbox>,
    /// Cc.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc_recipients: Vec<Mailbox>,
    /// Bcc.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bcc_recipients: Vec<Mailbox>,
    /// The `Message-ID` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internet_message_id: Option<String>,
    /// Whether it has been read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_read: Option<bool>,
    /// The `References` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// The whole message as MIME (ask with `IncludeMimeContent`; decoded from base64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_content: Option<Binary>,
}

impl Message {
    fn read(el: &Element) -> Message {
        let c = Common::read(el);
        Message {
            item_id: c.item_id,
            parent_folder_id: c.parent_folder_id,
            item_class: c.item_class,
            subject: c.subject,
            body: c.body,
            attachments: c.attachments,
            date_time_received: c.date_time_received,
            date_time_sent: c.date_time_sent,
            date_time_created: c.date_time_created,
            size: c.size,
            categories: c.categories,
            importance: c.importance,
            in_reply_to: c.in_reply_to,
            internet_message_headers: c.internet_message_headers,
            has_attachments: c.has_attachments,
            extended_properties: c.extended_properties,
            last_modified_time: c.last_modified_time,
            conversation_id: c.conversation_id,
            conversation_index: read::token(el, "ConversationIndex").and_then(|t| {
                let b = Binary::from_base64(t);
                if b.is_none() {
                    read::dropped("ConversationIndex");
                }
                b
            }),
            conversation_topic: read::string(el, "ConversationTopic"),
            sender: Mailbox::read_single(el, "Sender"),
            from: Mailbox::read_single(el, "From"),
            to_recipients: Mailbox::read_list(el, "ToRecipients"),
            cc_recipients: Mailbox::read_list(el, "CcRecipients"),
            bcc_recipients: Mailbox::read_list(el, "BccRecipients"),
            internet_message_id: read::string(el, "InternetMessageId"),
            is_read: read::boolean(el, "IsRead"),
            references: read::string(el, "References"),
            mime_content: c.mime_content,
        }
    }

    /// Writes the settable fields in `MessageType` order. Server-maintained fields (ids,
    /// times, sizes, headers, conversation data) are never written.
    fn write(&self, w: &mut XmlWriter) {
        w.start("t:Message", &[]);
        CommonOut {
            mime_content: self.mime_content.as_ref(),
            item_class: self.item_class.as_deref(),
            subject: self.subject.as_deref(),
            body: self.body.as_ref(),
            categories: &self.categories,
            importance: self.importance,
            in_reply_to: self.in_reply_to.as_deref(),
            extended_properties: &self.extended_properties,
        }
        .write(w);
        Mailbox::write_single(w, "t:Sender", &self.sender);
        Mailbox::write_list(w, "t:ToRecipients", &self.to_recipients);
        Mailbox::write_list(w, "t:CcRecipients", &self.cc_recipients);
        Mailbox::write_list(w, "t:BccRecipients", &self.bcc_recipients);
        Mailbox::write_single(w, "t:From", &self.from);
        opt_text(w, "t:InternetMessageId", &self.internet_message_id);
        opt_bool(w, "t:IsRead", self.is_read);
        opt_text(w, "t:References", &self.references);
        w.end("t:Message");
    }
}

/// An appointment or meeting.
///
/// Reference: [CalendarItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/calendaritem).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CalendarItem {
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    /// The folder holding it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<FolderId>,
    /// `IPM.Appointment`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_class: Option<String>,
    /// The subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Its attachments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInfo>,
    /// Its categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Its importance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
    /// Extended properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_properties: Vec<ExtendedProperty>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_created: Option<DateTime>,
    /// When it was last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<DateTime>,
    /// The iCalendar UID, shared by every copy of the meeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime>,
    /// End.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime>,
    /// Whether it lasts whole days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_all_day_event: Option<bool>,
    /// Free/busy status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_free_busy_status: Option<LegacyFreeBusyStatus>,
    /// Location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Whether it has attendees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_meeting: Option<bool>,
    /// Whether it was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_cancelled: Option<bool>,
    /// Whether it recurs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_recurring: Option<bool>,
    /// The organizer (server-maintained; not written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizer: Option<Mailbox>,
    /// Required attendees.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_attendees: Vec<Attendee>,
    /// Optional attendees.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub optional_attendees: Vec<Attendee>,
}

impl CalendarItem {
    fn read(el: &Element) -> CalendarItem {
        let c = Common::read(el);
        CalendarItem {
            item_id: c.item_id,
            parent_folder_id: c.parent_folder_id,
            item_class: c.item_class,
            subject: c.subject,
            body: c.body,
            attachments: c.attachments,
            categories: c.categories,
            importance: c.importance,
            extended_properties: c.extended_properties,
            date_time_created: c.date_time_created,
            last_modified_time: c.last_modified_time,
            uid: read::token(el, "UID").map(str::to_owned),
            start: read::datetime(el, "Start"),
            end: read::datetime(el, "End"),
            is_all_day_event: read::boolean(el, "IsAllDayEvent"),
            legacy_free_busy_status: read::token(el, "LegacyFreeBusyStatus")
                .map(LegacyFreeBusyStatus::parse),
            location: read::string(el, "Location"),
            is_meeting: read::boolean(el, "IsMeeting"),
            is_cancelled: read::boolean(el, "IsCancelled"),
            is_recurring: read::boolean(el, "IsRecurring"),
            organizer: Mailbox::read_single(el, "Organizer"),
            required_attendees: Attendee::read_list(el, "RequiredAttendees"),
            optional_attendees: Attendee::read_list(el, "OptionalAttendees"),
        }
    }

    /// Writes the settable fields in `CalendarItemType` order.
    fn write(&self, w: &mut XmlWriter) {
        w.start("t:CalendarItem", &[]);
        CommonOut {
            mime_content: None,
            item_class: self.item_class.as_deref(),
            subject: self.subject.as_deref(),
            body: self.body.as_ref(),
            categories: &self.categories,
            importance: self.importance,
            in_reply_to: None,
            extended_properties: &self.extended_properties,
        }
        .write(w);
        opt_text(w, "t:UID", &self.uid);
        opt_time(w, "t:Start", self.start);
        opt_time(w, "t:End", self.end);
        opt_bool(w, "t:IsAllDayEvent", self.is_all_day_event);
        if let Some(status) = &self.legacy_free_busy_status {
            w.text_element("t:LegacyFreeBusyStatus", status.as_str());
        }
        opt_text(w, "t:Location", &self.location);
        Attendee::write_list(w, "t:RequiredAttendees", &self.required_attendees);
        Attendee::write_list(w, "t:OptionalAttendees", &self.optional_attendees);
        w.end("t:CalendarItem");
    }
}

/// A contact.
///
/// Reference: [Contact](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/contact).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Contact {
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    /// The folder holding it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<FolderId>,
    /// `IPM.Contact`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_class: Option<String>,
    /// The subject (servers derive it from the name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Its categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Extended properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_properties: Vec<ExtendedProperty>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_created: Option<DateTime>,
    /// When it was last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<DateTime>,
    /// How it is filed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_as: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Middle name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// E-mail addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<EmailAddressEntry>,
    /// Postal addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub physical_addresses: Vec<PhysicalAddress>,
    /// Phone numbers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<PhoneNumberEntry>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Surname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
}

impl Contact {
    fn read(el: &Element) -> Contact {
        let c = Common::read(el);
        let entries = |name: &str| -> Vec<&Element> {
            el.child(NS_TYPES, name)
                .map(|d| d.children_named(NS_TYPES, "Entry").collect())
                .unwrap_or_default()
        };
        Contact {
            item_id: c.item_id,
            parent_folder_id: c.parent_folder_id,
            item_class: c.item_class,
            subject: c.subject,
            body: c.body,
            categories: c.categories,
            extended_properties: c.extended_properties,
            date_time_created: c.date_time_created,
            last_modified_time: c.last_modified_time,
            file_as: read::string(el, "FileAs"),
            display_name: read::string(el, "DisplayName"),
            given_name: read::string(el, "GivenName"),
            middle_name: read::string(el, "MiddleName"),
            company_name: read::string(el, "CompanyName"),
            email_addresses: entries("EmailAddresses")
                .into_iter()
                .filter_map(|e| {
                    Some(EmailAddressEntry {
                        key: EmailAddressKey::parse(e.attr("Key")?)?,
                        address: e.trimmed().to_owned(),
                        name: e.attr("Name").map(str::to_owned),
                    })
                })
                .collect(),
            physical_addresses: entries("PhysicalAddresses")
                .into_iter()
                .filter_map(|e| {
                    Some(PhysicalAddress {
                        key: PhysicalAddressKey::parse(e.attr("Key")?)?,
                        street: read::string(e, "Street"),
                        city: read::string(e, "City"),
                        state: read::string(e, "State"),
                        country_or_region: read::string(e, "CountryOrRegion"),
                        postal_code: read::string(e, "PostalCode"),
                    })
                })
                .collect(),
            phone_numbers: entries("PhoneNumbers")
                .into_iter()
                .filter_map(|e| {
                    Some(PhoneNumberEntry {
                        key: PhoneNumberKey::parse(e.attr("Key")?),
                        number: e.trimmed().to_owned(),
                    })
                })
                .collect(),
            department: read::string(el, "Department"),
            job_title: read::string(el, "JobTitle"),
            surname: read::string(el, "Surname"),
        }
    }

    /// Writes the settable fields in `ContactItemType` order.
    fn write(&self, w: &mut XmlWriter) {
        w.start("t:Contact", &[]);
        CommonOut {
            mime_content: None,
            item_class: self.item_class.as_deref(),
            subject: self.subject.as_deref(),
            body: self.body.as_ref(),
            categories: &self.categories,
            importance: None,
            in_reply_to: None,
            extended_properties: &self.extended_properties,
        }
        .write(w);
        opt_text(w, "t:FileAs", &self.file_as);
        opt_text(w, "t:DisplayName", &self.display_name);
        opt_text(w, "t:GivenName", &self.given_name);
        opt_text(w, "t:MiddleName", &self.middle_name);
        opt_text(w, "t:CompanyName", &self.company_name);
        if !self.email_addresses.is_empty() {
            w.start("t:EmailAddresses", &[]);
            for e in &self.email_addresses {
                match &e.name {
                    Some(name) => w.start("t:Entry", &[("Key", e.key.as_str()), ("Name", name)]),
                    None => w.start("t:Entry", &[("Key", e.key.as_str())]),
                };
                w.text(&e.address);
                w.end("t:Entry");
            }
            w.end("t:EmailAddresses");
        }
        if !self.physical_addresses.is_empty() {
            w.start("t:PhysicalAddresses", &[]);
            for a in &self.physical_addresses {
                w.start("t:Entry", &[("Key", a.key.as_str())]);
                opt_text(w, "t:Street", &a.street);
                opt_text(w, "t:City", &a.city);
                opt_text(w, "t:State", &a.state);
                opt_text(w, "t:CountryOrRegion", &a.country_or_region);
                opt_text(w, "t:PostalCode", &a.postal_code);
                w.end("t:Entry");
            }
            w.end("t:PhysicalAddresses");
        }
        if !self.phone_numbers.is_empty() {
            w.start("t:PhoneNumbers", &[]);
            for p in &self.phone_numbers {
                w.start("t:Entry", &[("Key", p.key.as_str())]);
                w.text(&p.number);
                w.end("t:Entry");
            }
            w.end("t:PhoneNumbers");
        }
        opt_text(w, "t:Department", &self.department);
        opt_text(w, "t:JobTitle", &self.job_title);
        opt_text(w, "t:Surname", &self.surname);
        w.end("t:Contact");
    }
}

/// A task.
///
/// Reference: [Task](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/task).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Task {
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    /// The folder holding it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<FolderId>,
    /// `IPM.Task`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_class: Option<String>,
    /// The subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Its categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Its importance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
    /// Extended properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_properties: Vec<ExtendedProperty>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_created: Option<DateTime>,
    /// When it was last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<DateTime>,
    /// When it was completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_date: Option<DateTime>,
    /// When it is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<DateTime>,
    /// Whether it is complete (server-maintained; not written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_complete: Option<bool>,
    /// Percent complete, 0 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_complete: Option<f64>,
    /// When it starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<DateTime>,
    /// Its status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
}

impl Task {
    fn read(el: &Element) -> Task {
        let c = Common::read(el);
        Task {
            item_id: c.item_id,
            parent_folder_id: c.parent_folder_id,
            item_class: c.item_class,
            subject: c.subject,
            body: c.body,
            categories: c.categories,
            importance: c.importance,
            extended_properties: c.extended_properties,
            date_time_created: c.date_time_created,
            last_modified_time: c.last_modified_time,
            complete_date: read::datetime(el, "CompleteDate"),
            due_date: read::datetime(el, "DueDate"),
            is_complete: read::boolean(el, "IsComplete"),
            percent_complete: read::number(el, "PercentComplete"),
            start_date: read::datetime(el, "StartDate"),
            status: read::token(el, "Status").map(TaskStatus::parse),
        }
    }

    /// Writes the settable fields in `TaskType` order.
    fn write(&self, w: &mut XmlWriter) {
        w.start("t:Task", &[]);
        CommonOut {
            mime_content: None,
            item_class: self.item_class.as_deref(),
            subject: self.subject.as_deref(),
            body: self.body.as_ref(),
            categories: &self.categories,
            importance: self.importance,
            in_reply_to: None,
            extended_properties: &self.extended_properties,
        }
        .write(w);
        opt_time(w, "t:CompleteDate", self.complete_date);
        opt_time(w, "t:DueDate", self.due_date);
        if let Some(p) = self.percent_complete {
            w.text_element("t:PercentComplete", &p.to_string());
        }
        opt_time(w, "t:StartDate", self.start_date);
        if let Some(s) = &self.status {
            w.text_element("t:Status", s.as_str());
        }
        w.end("t:Task");
    }
}

/// Any item a response can hold. Kinds exsync does not model (meeting requests,
/// distribution lists, posts…) are kept as [`Item::Other`] so they never fail a document.
///
/// Reference: [Items](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/items).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum Item {
    /// `t:Message`.
    Message(Box<Message>),
    /// `t:CalendarItem`.
    CalendarItem(Box<CalendarItem>),
    /// `t:Contact`.
    Contact(Box<Contact>),
    /// `t:Task`.
    Task(Box<Task>),
    /// Any other item element.
    Other {
        /// The element's local name (`MeetingRequest`, `DistributionList`…).
        element: String,
        /// Its id, when present.
        #[serde(skip_serializing_if = "Option::is_none")]
        item_id: Option<ItemId>,
        /// Its item class, when present.
        #[serde(skip_serializing_if = "Option::is_none")]
        item_class: Option<String>,
        /// Its subject, when present.
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
    },
}

impl Item {
    /// Reads an item element of any kind; never fails.
    pub(crate) fn read(el: &Element) -> Item {
        if el.ns == NS_TYPES {
            match el.name.as_str() {
                "Message" => return Item::Message(Box::new(Message::read(el))),
                "CalendarItem" => return Item::CalendarItem(Box::new(CalendarItem::read(el))),
                "Contact" => return Item::Contact(Box::new(Contact::read(el))),
                "Task" => return Item::Task(Box::new(Task::read(el))),
                _ => {}
            }
        }
        Item::Other {
            element: el.name.clone(),
            item_id: el.child(NS_TYPES, "ItemId").and_then(ItemId::read),
            item_class: read::token(el, "ItemClass").map(str::to_owned),
            subject: read::string(el, "Subject"),
        }
    }

    /// Every item in an `ArrayOfRealItemsType` element (`t:Items`, `m:Items`).
    pub(crate) fn read_list(items: &Element) -> Vec<Item> {
        items.children.iter().map(Item::read).collect()
    }

    /// The item's id, whatever its kind.
    pub fn item_id(&self) -> Option<&ItemId> {
        match self {
            Item::Message(m) => m.item_id.as_ref(),
            Item::CalendarItem(c) => c.item_id.as_ref(),
            Item::Contact(c) => c.item_id.as_ref(),
            Item::Task(t) => t.item_id.as_ref(),
            Item::Other { item_id, .. } => item_id.as_ref(),
        }
    }

    /// The item's subject, whatever its kind.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Item::Message(m) => m.subject.as_deref(),
            Item::CalendarItem(c) => c.subject.as_deref(),
            Item::Contact(c) => c.subject.as_deref(),
            Item::Task(t) => t.subject.as_deref(),
            Item::Other { subject, .. } => subject.as_deref(),
        }
    }

    /// The item's extended properties, whatever its kind (none for [`Item::Other`], whose
    /// content is not read).
    pub fn extended_properties(&self) -> &[ExtendedProperty] {
        match self {
            Item::Message(m) => &m.extended_properties,
            Item::CalendarItem(c) => &c.extended_properties,
            Item::Contact(c) => &c.extended_properties,
            Item::Task(t) => &t.extended_properties,
            Item::Other { .. } => &[],
        }
    }

    /// The value of the single-valued extended property `uri` names, if the item carries
    /// it. Matched by which property it is (set and name, tag or id), not by the type asked
    /// for: Exchange names a property by those alone. A multi-valued one has no such value.
    pub fn extended_property(&self, uri: &ExtendedFieldUri) -> Option<&str> {
        self.extended_properties()
            .iter()
            .find_map(|p| match &p.value {
                ExtendedValue::Single(v) if p.field_uri.property == uri.property => {
                    Some(v.as_str())
                }
                _ => None,
            })
    }

    /// The element name of the item's kind (`Message`, `MeetingRequest`…).
    pub fn element_name(&self) -> &str {
        match self {
            Item::Message(_) => "Message",
            Item::CalendarItem(_) => "CalendarItem",
            Item::Contact(_) => "Contact",
            Item::Task(_) => "Task",
            Item::Other { element, .. } => element,
        }
    }

    /// The identifying facts about the item, without its content (for logs and the CLI).
    pub fn summary(&self) -> ItemSummary {
        let mut s = ItemSummary {
            kind: self.element_name().to_owned(),
            item_id: self.item_id().cloned(),
            subject: self.subject().map(str::to_owned),
            ..ItemSummary::default()
        };
        match self {
            Item::Message(m) => {
                s.item_class = m.item_class.clone();
                s.from = m.from.as_ref().or(m.sender.as_ref()).and_then(address);
                s.date_time_received = m.date_time_received;
                s.date_time_sent = m.date_time_sent;
                s.date_time_created = m.date_time_created;
                s.internet_message_id = m.internet_message_id.clone();
                s.is_read = m.is_read;
            }
            Item::CalendarItem(c) => {
                s.item_class = c.item_class.clone();
                s.from = c.organizer.as_ref().and_then(address);
                s.date_time_created = c.date_time_created;
                s.start = c.start;
                s.end = c.end;
                s.uid = c.uid.clone();
            }
            Item::Contact(c) => {
                s.item_class = c.item_class.clone();
                s.date_time_created = c.date_time_created;
            }
            Item::Task(t) => {
                s.item_class = t.item_class.clone();
                s.date_time_created = t.date_time_created;
                s.start = t.start_date;
                s.end = t.due_date;
            }
            Item::Other { item_class, .. } => s.item_class = item_class.clone(),
        }
        s
    }
}

fn address(m: &Mailbox) -> Option<String> {
    m.email_address.clone().or_else(|| m.name.clone())
}

/// What identifies an item, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ItemSummary {
    /// The element name (`Message`, `CalendarItem`, `MeetingRequest`…).
    pub kind: String,
    /// Id and change key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    /// Item class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_class: Option<String>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Sender (or organizer) address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// When it arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_received: Option<DateTime>,
    /// When it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_sent: Option<DateTime>,
    /// When it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_created: Option<DateTime>,
    /// The `Message-ID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internet_message_id: Option<String>,
    /// Read flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_read: Option<bool>,
    /// Start (calendar items, tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime>,
    /// End or due date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime>,
    /// iCalendar UID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// An item to create, or the one-property item an update sets.
///
/// Reference: [Items (NonEmptyArrayOfAllItemsType)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/items-nonemptyarrayofallitemstype).
#[derive(Debug, Clone, PartialEq)]
pub enum NewItem {
    /// A message.
    Message(Box<Message>),
    /// A calendar item.
    CalendarItem(Box<CalendarItem>),
    /// A contact.
    Contact(Box<Contact>),
    /// A task.
    Task(Box<Task>),
}

impl NewItem {
    /// The kind of item.
    pub fn kind(&self) -> ItemKind {
        match self {
            NewItem::Message(_) => ItemKind::Message,
            NewItem::CalendarItem(_) => ItemKind::CalendarItem,
            NewItem::Contact(_) => ItemKind::Contact,
            NewItem::Task(_) => ItemKind::Task,
        }
    }

    /// The extended properties the item will be created with, to add one whatever its kind.
    pub fn extended_properties_mut(&mut self) -> &mut Vec<ExtendedProperty> {
        match self {
            NewItem::Message(m) => &mut m.extended_properties,
            NewItem::CalendarItem(c) => &mut c.extended_properties,
            NewItem::Contact(c) => &mut c.extended_properties,
            NewItem::Task(t) => &mut t.extended_properties,
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match self {
            NewItem::Message(m) => m.write(w),
            NewItem::CalendarItem(c) => c.write(w),
            NewItem::Contact(c) => c.write(w),
            NewItem::Task(t) => t.write(w),
        }
    }
}

/// The item as Exchange holds it once created (before it adds ids and computed fields).
impl From<NewItem> for Item {
    fn from(new: NewItem) -> Self {
        match new {
            NewItem::Message(m) => Item::Message(m),
            NewItem::CalendarItem(c) => Item::CalendarItem(c),
            NewItem::Contact(c) => Item::Contact(c),
            NewItem::Task(t) => Item::Task(t),
        }
    }
}

impl From<Message> for NewItem {
    fn from(m: Message) -> Self {
        NewItem::Message(Box::new(m))
    }
}

impl From<CalendarItem> for NewItem {
    fn from(c: CalendarItem) -> Self {
        NewItem::CalendarItem(Box::new(c))
    }
}

impl From<Contact> for NewItem {
    fn from(c: Contact) -> Self {
        NewItem::Contact(Box::new(c))
    }
}

impl From<Task> for NewItem {
    fn from(t: Task) -> Self {
        NewItem::Task(Box::new(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ExtendedFieldUri, MapiPropertyType};
    use crate::xml::{Limits, parse};

    fn written(item: &NewItem) -> String {
        let mut w = XmlWriter::new();
        item.write(&mut w);
        w.into_string()
    }

    #[test]
    fn a_message_puts_extended_properties_between_item_and_message_fields() {
        let m = Message {
            subject: Some("S".into()),
            body: Some(Body::text("B")),
            importance: Some(Importance::High),
            extended_properties: vec![ExtendedProperty::new(
                ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer),
                "102",
            )],
            to_recipients: vec![Mailbox::smtp("a@example.com")],
            is_read: Some(false),
            ..Message::default()
        };
        assert_eq!(
            written(&m.into()),
            concat!(
                r#"<t:Message><t:Subject>S</t:Subject><t:Body BodyType="Text">B</t:Body>"#,
                r#"<t:Importance>High</t:Importance>"#,
                r#"<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1081" PropertyType="Integer"/><t:Value>102</t:Value></t:ExtendedProperty>"#,
                r#"<t:ToRecipients><t:Mailbox><t:EmailAddress>a@example.com</t:EmailAddress></t:Mailbox></t:ToRecipients>"#,
                r#"<t:IsRead>false</t:IsRead></t:Message>"#
            )
        );
    }

    #[test]
    fn a_contact_writes_surname_after_job_title() {
        let c = Contact {
            given_name: Some("Ann".into()),
            surname: Some("Lee".into()),
            job_title: Some("CTO".into()),
            email_addresses: vec![EmailAddressEntry {
                key: EmailAddressKey::EmailAddress1,
                address: "ann@example.com".into(),
                name: None,
            }],
            phone_numbers: vec![PhoneNumberEntry {
                key: PhoneNumberKey::MobilePhone,
                number: "+1 555".into(),
            }],
            ..Contact::default()
        };
        assert_eq!(
            written(&c.into()),
            concat!(
                r#"<t:Contact><t:GivenName>Ann</t:GivenName>"#,
                r#"<t:EmailAddresses><t:Entry Key="EmailAddress1">ann@example.com</t:Entry></t:EmailAddresses>"#,
                r#"<t:PhoneNumbers><t:Entry Key="MobilePhone">+1 555</t:Entry></t:PhoneNumbers>"#,
                r#"<t:JobTitle>CTO</t:JobTitle><t:Surname>Lee</t:Surname></t:Contact>"#
            )
        );
    }

    #[test]
    fn an_unknown_item_kind_is_kept_with_its_id() {
        let doc = format!(
            r#"<t:MeetingRequest xmlns:t="{NS_TYPES}"><t:ItemId Id="A" ChangeKey="B"/><t:Subject>Budget</t:Subject></t:MeetingRequest>"#
        );
        let el = parse(doc.as_bytes(), Limits::default()).unwrap();
        assert_eq!(
            Item::read(&el),
            Item::Other {
                element: "MeetingRequest".into(),
                item_id: Some(ItemId::with_change_key("A", "B")),
                item_class: None,
                subject: Some("Budget".into()),
            }
        );
    }

    #[test]
    fn unreadable_optional_values_are_dropped_not_fatal() {
        let doc = format!(
            r#"<t:Message xmlns:t="{NS_TYPES}"><t:ItemId Id="A"/><t:Size/><t:IsRead>maybe</t:IsRead><t:DateTimeSent>soon</t:DateTimeSent></t:Message>"#
        );
        let el = parse(doc.as_bytes(), Limits::default()).unwrap();
        let Item::Message(m) = Item::read(&el) else {
            panic!("a message")
        };
        assert_eq!(m.item_id, Some(ItemId::new("A")));
        assert_eq!((m.size, m.is_read, m.date_time_sent), (None, None, None));
    }

    #[test]
    fn an_extended_property_is_found_by_its_name_whatever_the_item_kind() {
        let set = uuid::Uuid::from_u128(7);
        let wanted = ExtendedFieldUri::named_in(set, "Id", MapiPropertyType::String);
        let other = ExtendedFieldUri::named_in(set, "Other", MapiPropertyType::String);
        let props = vec![
            ExtendedProperty::new(other, "no"),
            ExtendedProperty {
                field_uri: wanted.clone(),
                value: ExtendedValue::Multiple(vec!["many".into()]),
            },
            ExtendedProperty::new(wanted.clone(), "yes"),
        ];
        let mut new = NewItem::from(Task::default());
        new.extended_properties_mut().extend(props.clone());
        let NewItem::Task(task) = new else {
            panic!("a task")
        };
        let items = [
            Item::Task(task),
            Item::Message(Box::new(Message {
                extended_properties: props.clone(),
                ..Message::default()
            })),
            Item::CalendarItem(Box::new(CalendarItem {
                extended_properties: props.clone(),
                ..CalendarItem::default()
            })),
            Item::Contact(Box::new(Contact {
                extended_properties: props,
                ..Contact::default()
            })),
        ];
        for item in &items {
            assert_eq!(item.extended_property(&wanted), Some("yes"), "{item:?}");
            // The type asked for does not matter: the property is its set and name.
            let as_int = ExtendedFieldUri::named_in(set, "Id", MapiPropertyType::Integer);
            assert_eq!(item.extended_property(&as_int), Some("yes"));
        }
        let other = Item::Other {
            element: "Post".into(),
            item_id: None,
            item_class: None,
            subject: None,
        };
        assert_eq!(other.extended_property(&wanted), None);
        assert!(other.extended_properties().is_empty());
    }
}
