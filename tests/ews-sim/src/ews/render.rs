//! Writing items and folders in a response shape, always in schema order, omitting what an
//! item does not have; and reading an item's property values for restrictions and sorting.

use super::codes::{EwsError, ResponseCode};
use super::fields::{
    BodyPref, CALENDAR, CONTACT, Def, F, FF, FolderShape, ITEM_HEAD, ITEM_TAIL, ItemShape, MESSAGE,
    PropertyPath, TASK, by_uri,
};
use super::restriction::{Subject, Value};
use super::xml::XmlWriter;
use crate::store::{
    EmailAddress, ExtendedProperty, Folder, FolderKind, Item, ItemKind, Mailbox, PropertyKey,
    PropertyName, PropertySet, PropertyValue, mime,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

fn write_address(w: &mut XmlWriter, a: &EmailAddress) {
    w.start("t:Mailbox", &[]);
    if let Some(name) = &a.name {
        w.leaf("t:Name", name);
    }
    if !a.address.trim().is_empty() {
        w.leaf("t:EmailAddress", &a.address);
        w.leaf("t:RoutingType", "SMTP");
    }
    w.end("t:Mailbox");
}

fn write_single_recipient(w: &mut XmlWriter, element: &str, a: &EmailAddress) {
    w.start(element, &[]);
    write_address(w, a);
    w.end(element);
}

fn write_recipients(w: &mut XmlWriter, element: &str, list: &[EmailAddress]) {
    if list.is_empty() {
        return;
    }
    w.start(element, &[]);
    for a in list {
        write_address(w, a);
    }
    w.end(element);
}

fn write_attendees(w: &mut XmlWriter, element: &str, list: &[EmailAddress]) {
    if list.is_empty() {
        return;
    }
    w.start(element, &[]);
    for a in list {
        w.start("t:Attendee", &[]);
        write_address(w, a);
        w.leaf("t:ResponseType", "Unknown");
        w.end("t:Attendee");
    }
    w.end(element);
}

/// Writes `t:ExtendedFieldURI` for a property.
pub(crate) fn write_extended_uri(w: &mut XmlWriter, key: &PropertyKey, property_type: &str) {
    match key {
        PropertyKey::Tag(tag) => {
            let tag = format!("0x{tag:x}");
            w.empty(
                "t:ExtendedFieldURI",
                &[("PropertyTag", &tag), ("PropertyType", property_type)],
            );
        }
        PropertyKey::Named { set, name } => {
            let (set_attr, set_value) = match set {
                PropertySet::Distinguished(d) => {
                    ("DistinguishedPropertySetId", d.as_str().to_owned())
                }
                PropertySet::Guid(g) => ("PropertySetId", g.clone()),
            };
            let (name_attr, name_value) = match name {
                PropertyName::Name(n) => ("PropertyName", n.clone()),
                PropertyName::Id(id) => ("PropertyId", id.to_string()),
            };
            w.empty(
                "t:ExtendedFieldURI",
                &[
                    (set_attr, &set_value),
                    (name_attr, &name_value),
                    ("PropertyType", property_type),
                ],
            );
        }
    }
}

fn write_extended(w: &mut XmlWriter, props: &[ExtendedProperty], wanted: &[PropertyKey]) {
    for key in wanted {
        let Some(p) = props.iter().find(|p| p.key.same_property(key)) else {
            continue;
        };
        if matches!(&p.value, PropertyValue::Multiple(v) if v.is_empty()) {
            continue;
        }
        w.start("t:ExtendedProperty", &[]);
        write_extended_uri(w, &p.key, &p.property_type);
        match &p.value {
            PropertyValue::Single(v) => w.leaf("t:Value", v),
            PropertyValue::Multiple(values) => {
                w.start("t:Values", &[]);
                for v in values {
                    w.leaf("t:Value", v);
                }
                w.end("t:Values");
            }
        }
        w.end("t:ExtendedProperty");
    }
}

fn opt_leaf(w: &mut XmlWriter, name: &str, v: Option<&String>) {
    if let Some(v) = v {
        w.leaf(name, v);
    }
}

fn opt_date(w: &mut XmlWriter, name: &str, v: Option<time::OffsetDateTime>) {
    if let Some(v) = v {
        w.leaf_date(name, v);
    }
}

fn write_body(w: &mut XmlWriter, item: &Item, pref: BodyPref) {
    let (kind, content) = match pref {
        BodyPref::Text => ("Text", item.body.as_text()),
        BodyPref::Html => ("HTML", item.body.as_html()),
        BodyPref::Best => match &item.body.html {
            Some(html) => ("HTML", Some(html.clone())),
            None => ("Text", item.body.text.clone()),
        },
    };
    w.leaf_attrs(
        "t:Body",
        &[("BodyType", kind)],
        content.as_deref().unwrap_or(""),
    );
}

fn write_attachments_meta(w: &mut XmlWriter, item: &Item) {
    if item.attachments.is_empty() {
        return;
    }
    w.start("t:Attachments", &[]);
    for a in &item.attachments {
        w.start("t:FileAttachment", &[]);
        w.empty("t:AttachmentId", &[("Id", a.id.as_str())]);
        w.leaf("t:Name", &a.name);
        w.leaf("t:ContentType", &a.content_type);
        opt_leaf(w, "t:ContentId", a.content_id.as_ref());
        w.leaf_num("t:Size", a.content.len());
        w.leaf_date("t:LastModifiedTime", a.last_modified);
        w.leaf_bool("t:IsInline", a.is_inline);
        w.leaf_bool("t:IsContactPhoto", false);
        w.end("t:FileAttachment");
    }
    w.end("t:Attachments");
}

fn write_item_field(w: &mut XmlWriter, mbx: &Mailbox, item: &Item, f: F, shape: &ItemShape) {
    let is_message = item.kind == ItemKind::Message;
    match f {
        F::MimeContent => {
            w.leaf_attrs(
                "t:MimeContent",
                &[("CharacterSet", "UTF-8")],
                &B64.encode(mime::mime_content(item)),
            );
        }
        F::ItemId => w.empty(
            "t:ItemId",
            &[
                ("Id", item.id.as_str()),
                ("ChangeKey", item.change_key.as_str()),
            ],
        ),
        F::ParentFolderId => {
            let ck = mbx
                .folders
                .get(&item.folder)
                .map_or("", |f| f.change_key.as_str());
            w.empty(
                "t:ParentFolderId",
                &[("Id", item.folder.as_str()), ("ChangeKey", ck)],
            );
        }
        F::ItemClass => w.leaf("t:ItemClass", &item.item_class),
        F::Subject => opt_leaf(w, "t:Subject", item.subject.as_ref()),
        F::Sensitivity => w.leaf(
            "t:Sensitivity",
            item.sensitivity.as_deref().unwrap_or("Normal"),
        ),
        F::Body => write_body(w, item, shape.body),
        F::Attachments => write_attachments_meta(w, item),
        F::DateTimeReceived => {
            w.leaf_date("t:DateTimeReceived", item.received.unwrap_or(item.created))
        }
        F::Size => w.leaf_num("t:Size", item.size()),
        F::Categories => {
            if !item.categories.is_empty() {
                w.start("t:Categories", &[]);
                for c in &item.categories {
                    w.leaf("t:String", c);
                }
                w.end("t:Categories");
            }
        }
        F::Importance => w.leaf(
            "t:Importance",
            item.importance.as_deref().unwrap_or("Normal"),
        ),
        F::InReplyTo => opt_leaf(w, "t:InReplyTo", item.in_reply_to.as_ref()),
        F::IsSubmitted => w.leaf_bool("t:IsSubmitted", item.is_submitted),
        F::IsDraft => w.leaf_bool("t:IsDraft", item.is_draft),
        F::IsFromMe => w.leaf_bool("t:IsFromMe", item.is_from_me),
        F::IsResend => w.leaf_bool("t:IsResend", false),
        F::IsUnmodified => w.leaf_bool("t:IsUnmodified", !item.is_draft),
        F::InternetMessageHeaders => {
            if is_message {
                w.start("t:InternetMessageHeaders", &[]);
                for (name, value) in mime::headers(item) {
                    w.leaf_attrs("t:InternetMessageHeader", &[("HeaderName", &name)], &value);
                }
                w.end("t:InternetMessageHeaders");
            }
        }
        F::DateTimeSent => opt_date(w, "t:DateTimeSent", item.sent),
        F::DateTimeCreated => w.leaf_date("t:DateTimeCreated", item.created),
        F::DisplayCc => w.leaf("t:DisplayCc", &Item::display_list(&item.cc)),
        F::DisplayTo => w.leaf("t:DisplayTo", &Item::display_list(&item.to)),
        F::HasAttachments => w.leaf_bool("t:HasAttachments", !item.attachments.is_empty()),
        F::EffectiveRights => {
            w.start("t:EffectiveRights", &[]);
            w.leaf_bool("t:CreateAssociated", false);
            w.leaf_bool("t:CreateContents", false);
            w.leaf_bool("t:CreateHierarchy", false);
            w.leaf_bool("t:Delete", true);
            w.leaf_bool("t:Modify", true);
            w.leaf_bool("t:Read", true);
            w.end("t:EffectiveRights");
        }
        F::LastModifiedName => opt_leaf(w, "t:LastModifiedName", item.last_modified_name.as_ref()),
        F::LastModifiedTime => w.leaf_date("t:LastModifiedTime", item.last_modified),
        F::IsAssociated => w.leaf_bool("t:IsAssociated", false),
        F::ConversationId => {
            if let Some(id) = mime::conversation_id(&item.conversation_index) {
                w.empty("t:ConversationId", &[("Id", &id)]);
            }
        }
        F::Sender => {
            if let Some(a) = &item.sender {
                write_single_recipient(w, "t:Sender", a);
            }
        }
        F::ToRecipients => write_recipients(w, "t:ToRecipients", &item.to),
        F::CcRecipients => write_recipients(w, "t:CcRecipients", &item.cc),
        F::BccRecipients => write_recipients(w, "t:BccRecipients", &item.bcc),
        F::IsReadReceiptRequested => w.leaf_bool(
            "t:IsReadReceiptRequested",
            item.is_read_receipt_requested.unwrap_or(false),
        ),
        F::IsDeliveryReceiptRequested => w.leaf_bool(
            "t:IsDeliveryReceiptRequested",
            item.is_delivery_receipt_requested.unwrap_or(false),
        ),
        F::ConversationIndex => {
            if !item.conversation_index.is_empty() {
                w.leaf("t:ConversationIndex", &B64.encode(&item.conversation_index));
            }
        }
        F::ConversationTopic => {
            opt_leaf(w, "t:ConversationTopic", item.conversation_topic.as_ref())
        }
        F::From => {
            if let Some(a) = &item.from {
                write_single_recipient(w, "t:From", a);
            }
        }
        F::InternetMessageId => {
            opt_leaf(w, "t:InternetMessageId", item.internet_message_id.as_ref())
        }
        F::IsRead => w.leaf_bool("t:IsRead", item.is_read),
        F::References => opt_leaf(w, "t:References", item.references.as_ref()),
        F::ReplyTo => write_recipients(w, "t:ReplyTo", &item.reply_to),
        F::Uid => opt_leaf(w, "t:UID", item.calendar.uid.as_ref()),
        F::Start => opt_date(w, "t:Start", item.calendar.start),
        F::End => opt_date(w, "t:End", item.calendar.end),
        F::IsAllDayEvent => {
            w.leaf_bool("t:IsAllDayEvent", item.calendar.is_all_day.unwrap_or(false))
        }
        F::LegacyFreeBusyStatus => w.leaf(
            "t:LegacyFreeBusyStatus",
            item.calendar.free_busy.as_deref().unwrap_or("Busy"),
        ),
        F::Location => opt_leaf(w, "t:Location", item.calendar.location.as_ref()),
        F::IsMeeting => w.leaf_bool("t:IsMeeting", item.calendar.is_meeting.unwrap_or(false)),
        F::IsCancelled => w.leaf_bool("t:IsCancelled", item.calendar.is_cancelled.unwrap_or(false)),
        F::CalIsRecurring | F::TaskIsRecurring => w.leaf_bool("t:IsRecurring", false),
        F::MeetingRequestWasSent => w.leaf_bool(
            "t:MeetingRequestWasSent",
            item.calendar.meeting_request_was_sent.unwrap_or(false),
        ),
        F::CalendarItemType => w.leaf("t:CalendarItemType", "Single"),
        F::MyResponseType => w.leaf(
            "t:MyResponseType",
            item.calendar
                .my_response_type
                .as_deref()
                .unwrap_or("Organizer"),
        ),
        F::Organizer => {
            if let Some(a) = &item.calendar.organizer {
                write_single_recipient(w, "t:Organizer", a);
            }
        }
        F::RequiredAttendees => {
            write_attendees(w, "t:RequiredAttendees", &item.calendar.required_attendees);
        }
        F::OptionalAttendees => {
            write_attendees(w, "t:OptionalAttendees", &item.calendar.optional_attendees);
        }
        F::FileAs => opt_leaf(w, "t:FileAs", item.contact.file_as.as_ref()),
        F::DisplayName => opt_leaf(w, "t:DisplayName", item.contact.display_name.as_ref()),
        F::GivenName => opt_leaf(w, "t:GivenName", item.contact.given_name.as_ref()),
        F::CompanyName => opt_leaf(w, "t:CompanyName", item.contact.company_name.as_ref()),
        F::EmailAddresses => {
            if !item.contact.email_addresses.is_empty() {
                w.start("t:EmailAddresses", &[]);
                for (k, v) in &item.contact.email_addresses {
                    w.leaf_attrs("t:Entry", &[("Key", k)], v);
                }
                w.end("t:EmailAddresses");
            }
        }
        F::PhoneNumbers => {
            if !item.contact.phone_numbers.is_empty() {
                w.start("t:PhoneNumbers", &[]);
                for (k, v) in &item.contact.phone_numbers {
                    w.leaf_attrs("t:Entry", &[("Key", k)], v);
                }
                w.end("t:PhoneNumbers");
            }
        }
        F::JobTitle => opt_leaf(w, "t:JobTitle", item.contact.job_title.as_ref()),
        F::Surname => opt_leaf(w, "t:Surname", item.contact.surname.as_ref()),
        F::CompleteDate => opt_date(w, "t:CompleteDate", item.task.complete_date),
        F::DueDate => opt_date(w, "t:DueDate", item.task.due_date),
        F::IsComplete => w.leaf_bool("t:IsComplete", item.task.is_complete.unwrap_or(false)),
        F::PercentComplete => w.leaf_num(
            "t:PercentComplete",
            item.task.percent_complete.unwrap_or(0.0),
        ),
        F::StartDate => opt_date(w, "t:StartDate", item.task.start_date),
        F::Status => w.leaf(
            "t:Status",
            item.task.status.as_deref().unwrap_or("NotStarted"),
        ),
    }
}

fn write_defs(w: &mut XmlWriter, mbx: &Mailbox, item: &Item, defs: &[Def], shape: &ItemShape) {
    for (f, _, _) in defs {
        if shape.wants(*f) {
            write_item_field(w, mbx, item, *f, shape);
        }
    }
}

/// Writes `<t:Message>` (or CalendarItem, Contact, Task) with the shape's properties.
pub(crate) fn write_item(w: &mut XmlWriter, mbx: &Mailbox, item: &Item, shape: &ItemShape) {
    let element = format!("t:{}", item.kind.element());
    w.start(&element, &[]);
    write_defs(w, mbx, item, ITEM_HEAD, shape);
    write_extended(w, &item.extended, &shape.extended);
    write_defs(w, mbx, item, ITEM_TAIL, shape);
    let own = match item.kind {
        ItemKind::Message => MESSAGE,
        ItemKind::CalendarItem => CALENDAR,
        ItemKind::Contact => CONTACT,
        ItemKind::Task => TASK,
    };
    write_defs(w, mbx, item, own, shape);
    w.end(&element);
}

/// Writes `<t:Message><t:ItemId …/></t:Message>`.
pub(crate) fn write_item_id_only(w: &mut XmlWriter, item: &Item) {
    let element = format!("t:{}", item.kind.element());
    w.start(&element, &[]);
    w.empty(
        "t:ItemId",
        &[
            ("Id", item.id.as_str()),
            ("ChangeKey", item.change_key.as_str()),
        ],
    );
    w.end(&element);
}

/// Writes a folder (`t:Folder`, `t:CalendarFolder`, …) with the shape's properties.
pub(crate) fn write_folder(w: &mut XmlWriter, mbx: &Mailbox, folder: &Folder, shape: &FolderShape) {
    let element = format!("t:{}", folder.kind.element());
    w.start(&element, &[]);
    if shape.wants(FF::FolderId) {
        w.empty(
            "t:FolderId",
            &[
                ("Id", folder.id.as_str()),
                ("ChangeKey", folder.change_key.as_str()),
            ],
        );
    }
    let parent = folder.parent.as_ref().and_then(|p| mbx.folders.get(p));
    if let Some(parent) = parent.filter(|_| shape.wants(FF::ParentFolderId)) {
        w.empty(
            "t:ParentFolderId",
            &[
                ("Id", parent.id.as_str()),
                ("ChangeKey", parent.change_key.as_str()),
            ],
        );
    }
    if shape.wants(FF::FolderClass) {
        opt_leaf(w, "t:FolderClass", folder.class.as_ref());
    }
    if shape.wants(FF::DisplayName) {
        w.leaf("t:DisplayName", &folder.display_name);
    }
    if shape.wants(FF::TotalCount) {
        w.leaf_num("t:TotalCount", mbx.total_count(&folder.id));
    }
    if shape.wants(FF::ChildFolderCount) {
        w.leaf_num("t:ChildFolderCount", mbx.children(&folder.id).len());
    }
    write_extended(w, &folder.extended, &shape.extended);
    if shape.wants(FF::EffectiveRights) {
        w.start("t:EffectiveRights", &[]);
        for right in [
            "t:CreateAssociated",
            "t:CreateContents",
            "t:CreateHierarchy",
            "t:Delete",
            "t:Modify",
            "t:Read",
            "t:ViewPrivateItems",
        ] {
            w.leaf_bool(right, true);
        }
        w.end("t:EffectiveRights");
    }
    if shape.wants(FF::UnreadCount) && matches!(folder.kind, FolderKind::Mail | FolderKind::Tasks) {
        w.leaf_num("t:UnreadCount", mbx.unread_count(&folder.id));
    }
    w.end(&element);
}

fn unsupported(uri: &str) -> EwsError {
    EwsError::new(
        ResponseCode::ErrorUnsupportedPathForQuery,
        format!("The property {uri} cannot be used in a restriction or sort order here."),
    )
}

fn addr_list(list: &[EmailAddress]) -> Option<Value> {
    (!list.is_empty()).then(|| Value::List(list.iter().map(|a| a.address.clone()).collect()))
}

/// An item seen through its property values.
pub(crate) struct ItemView<'a>(pub &'a Item);

impl Subject for ItemView<'_> {
    fn value(&self, path: &PropertyPath) -> Result<Option<Value>, EwsError> {
        let item = self.0;
        let s = |v: &Option<String>| v.clone().map(Value::Str);
        match path {
            PropertyPath::Extended { key, .. } => Ok(item
                .extended
                .iter()
                .find(|p| p.key.same_property(key))
                .map(Value::of_extended)),
            PropertyPath::Indexed { uri, index } => Ok(match uri.as_str() {
                "contacts:EmailAddress" => item
                    .contact
                    .email_addresses
                    .iter()
                    .find(|(k, _)| k == index)
                    .map(|(_, v)| Value::Str(v.clone())),
                "contacts:PhoneNumber" => item
                    .contact
                    .phone_numbers
                    .iter()
                    .find(|(k, _)| k == index)
                    .map(|(_, v)| Value::Str(v.clone())),
                "item:InternetMessageHeader" => mime::headers(item)
                    .into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(index))
                    .map(|(_, v)| Value::Str(v)),
                other => return Err(unsupported(other)),
            }),
            PropertyPath::Field(uri) => {
                let Some(f) = by_uri(uri) else {
                    return Err(unsupported(uri));
                };
                let msg = item.kind == ItemKind::Message;
                Ok(match f {
                    F::ItemId => Some(Value::Str(item.id.to_string())),
                    F::ParentFolderId => Some(Value::Str(item.folder.to_string())),
                    F::ItemClass => Some(Value::Str(item.item_class.clone())),
                    F::Subject => s(&item.subject),
                    F::Sensitivity => Some(Value::Str(
                        item.sensitivity.clone().unwrap_or_else(|| "Normal".into()),
                    )),
                    F::Body => item.body.as_text().map(Value::Str),
                    F::DateTimeReceived => Some(Value::Date(item.received.unwrap_or(item.created))),
                    F::Size => Some(Value::Int(i64::try_from(item.size()).unwrap_or(i64::MAX))),
                    F::Categories => {
                        (!item.categories.is_empty()).then(|| Value::List(item.categories.clone()))
                    }
                    F::Importance => Some(Value::Str(
                        item.importance.clone().unwrap_or_else(|| "Normal".into()),
                    )),
                    F::InReplyTo => s(&item.in_reply_to),
                    F::IsSubmitted => Some(Value::Bool(item.is_submitted)),
                    F::IsDraft => Some(Value::Bool(item.is_draft)),
                    F::IsFromMe => Some(Value::Bool(item.is_from_me)),
                    F::IsResend => Some(Value::Bool(false)),
                    F::IsUnmodified => Some(Value::Bool(!item.is_draft)),
                    F::DateTimeSent => item.sent.map(Value::Date),
                    F::DateTimeCreated => Some(Value::Date(item.created)),
                    F::DisplayCc => Some(Value::Str(Item::display_list(&item.cc))),
                    F::DisplayTo => Some(Value::Str(Item::display_list(&item.to))),
                    F::HasAttachments => Some(Value::Bool(!item.attachments.is_empty())),
                    F::LastModifiedName => s(&item.last_modified_name),
                    F::LastModifiedTime => Some(Value::Date(item.last_modified)),
                    F::IsAssociated => Some(Value::Bool(false)),
                    F::ConversationId => {
                        mime::conversation_id(&item.conversation_index).map(Value::Str)
                    }
                    F::Sender if msg => item.sender.as_ref().map(|a| Value::Str(a.address.clone())),
                    F::From if msg => item.from.as_ref().map(|a| Value::Str(a.address.clone())),
                    F::ToRecipients if msg => addr_list(&item.to),
                    F::CcRecipients if msg => addr_list(&item.cc),
                    F::BccRecipients if msg => addr_list(&item.bcc),
                    F::ReplyTo if msg => addr_list(&item.reply_to),
                    F::ConversationIndex if msg => (!item.conversation_index.is_empty())
                        .then(|| Value::Str(B64.encode(&item.conversation_index))),
                    F::ConversationTopic if msg => s(&item.conversation_topic),
                    F::InternetMessageId if msg => s(&item.internet_message_id),
                    F::IsRead if msg => Some(Value::Bool(item.is_read)),
                    F::References if msg => s(&item.references),
                    F::IsReadReceiptRequested if msg => {
                        Some(Value::Bool(item.is_read_receipt_requested.unwrap_or(false)))
                    }
                    F::IsDeliveryReceiptRequested if msg => Some(Value::Bool(
                        item.is_delivery_receipt_requested.unwrap_or(false),
                    )),
                    F::Uid => s(&item.calendar.uid),
                    F::Start => item.calendar.start.map(Value::Date),
                    F::End => item.calendar.end.map(Value::Date),
                    F::IsAllDayEvent => item.calendar.is_all_day.map(Value::Bool),
                    F::LegacyFreeBusyStatus => s(&item.calendar.free_busy),
                    F::Location => s(&item.calendar.location),
                    F::IsMeeting => item.calendar.is_meeting.map(Value::Bool),
                    F::IsCancelled => item.calendar.is_cancelled.map(Value::Bool),
                    F::MeetingRequestWasSent => {
                        item.calendar.meeting_request_was_sent.map(Value::Bool)
                    }
                    F::MyResponseType => s(&item.calendar.my_response_type),
                    F::Organizer => item
                        .calendar
                        .organizer
                        .as_ref()
                        .map(|a| Value::Str(a.address.clone())),
                    F::RequiredAttendees => addr_list(&item.calendar.required_attendees),
                    F::OptionalAttendees => addr_list(&item.calendar.optional_attendees),
                    F::CalendarItemType => {
                        (item.kind == ItemKind::CalendarItem).then(|| Value::Str("Single".into()))
                    }
                    F::CalIsRecurring | F::TaskIsRecurring => Some(Value::Bool(false)),
                    F::FileAs => s(&item.contact.file_as),
                    F::DisplayName => s(&item.contact.display_name),
                    F::GivenName => s(&item.contact.given_name),
                    F::CompanyName => s(&item.contact.company_name),
                    F::JobTitle => s(&item.contact.job_title),
                    F::Surname => s(&item.contact.surname),
                    F::EmailAddresses => (!item.contact.email_addresses.is_empty()).then(|| {
                        Value::List(
                            item.contact
                                .email_addresses
                                .iter()
                                .map(|(_, v)| v.clone())
                                .collect(),
                        )
                    }),
                    F::CompleteDate => item.task.complete_date.map(Value::Date),
                    F::DueDate => item.task.due_date.map(Value::Date),
                    F::IsComplete => item.task.is_complete.map(Value::Bool),
                    F::PercentComplete => item.task.percent_complete.map(Value::Float),
                    F::StartDate => item.task.start_date.map(Value::Date),
                    F::Status => s(&item.task.status),
                    F::MimeContent
                    | F::Attachments
                    | F::InternetMessageHeaders
                    | F::EffectiveRights
                    | F::PhoneNumbers => return Err(unsupported(uri)),
                    // Message properties on other kinds of item.
                    _ => None,
                })
            }
        }
    }
}

/// A folder seen through its property values (FindFolder restrictions).
pub(crate) struct FolderView<'a>(pub &'a Mailbox, pub &'a Folder);

impl Subject for FolderView<'_> {
    fn value(&self, path: &PropertyPath) -> Result<Option<Value>, EwsError> {
        let (mbx, folder) = (self.0, self.1);
        let count = |n: usize| Some(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)));
        match path {
            PropertyPath::Extended { key, .. } => Ok(folder
                .extended
                .iter()
                .find(|p| p.key.same_property(key))
                .map(Value::of_extended)),
            PropertyPath::Indexed { uri, .. } => Err(unsupported(uri)),
            PropertyPath::Field(uri) => match super::fields::folder_field(uri) {
                Some(FF::FolderId) => Ok(Some(Value::Str(folder.id.to_string()))),
                Some(FF::ParentFolderId) => {
                    Ok(folder.parent.as_ref().map(|p| Value::Str(p.to_string())))
                }
                Some(FF::FolderClass) => Ok(folder.class.clone().map(Value::Str)),
                Some(FF::DisplayName) => Ok(Some(Value::Str(folder.display_name.clone()))),
                Some(FF::TotalCount) => Ok(count(mbx.total_count(&folder.id))),
                Some(FF::ChildFolderCount) => Ok(count(mbx.children(&folder.id).len())),
                Some(FF::UnreadCount) => Ok(count(mbx.unread_count(&folder.id))),
                Some(FF::EffectiveRights) | None => Err(unsupported(uri)),
            },
        }
    }
}
