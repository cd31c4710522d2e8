//! Reading item properties from requests: the item elements of CreateItem, and the single
//! property of UpdateItem's SetItemField / AppendToItemField / DeleteItemField.
//!
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem>

use super::codes::{EwsError, ResponseCode};
use super::fields::{F, PropertyPath, by_element, by_uri, element_of, parse_extended_property};
use super::xml::{
    NS_T, child, child_text, children, elements, is, parse_bool, parse_datetime, text,
};
use crate::store::{
    Attachment, EmailAddress, Item, NewAttachment, Store, html_to_text, parse_message,
    upsert_property,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use roxmltree::Node;
use time::OffsetDateTime;

fn bad_value(f: F, detail: &str) -> EwsError {
    EwsError::new(
        ResponseCode::ErrorInvalidValueForProperty,
        format!("The value of {} is invalid: {detail}", element_of(f)),
    )
}

fn read_only(f: F) -> EwsError {
    EwsError::new(
        ResponseCode::ErrorInvalidPropertySet,
        format!("{} is read-only and cannot be set.", element_of(f)),
    )
}

/// Reads a `t:EmailAddressType` element (`t:Mailbox`).
pub(crate) fn parse_address(n: Node<'_, '_>) -> Option<EmailAddress> {
    let address = child_text(n, NS_T, "EmailAddress")?.trim().to_owned();
    let name = child_text(n, NS_T, "Name").filter(|s| !s.is_empty());
    Some(EmailAddress { name, address })
}

fn single_recipient(n: Node<'_, '_>) -> Option<EmailAddress> {
    child(n, NS_T, "Mailbox").and_then(parse_address)
}

fn recipients(n: Node<'_, '_>) -> Vec<EmailAddress> {
    children(n, NS_T, "Mailbox")
        .filter_map(parse_address)
        .collect()
}

fn attendees(n: Node<'_, '_>) -> Vec<EmailAddress> {
    children(n, NS_T, "Attendee")
        .filter_map(|a| child(a, NS_T, "Mailbox"))
        .filter_map(parse_address)
        .collect()
}

fn entries(n: Node<'_, '_>) -> Vec<(String, String)> {
    children(n, NS_T, "Entry")
        .filter_map(|e| Some((e.attribute("Key")?.to_owned(), text(e))))
        .collect()
}

fn date(f: F, n: Node<'_, '_>) -> Result<OffsetDateTime, EwsError> {
    let raw = text(n);
    parse_datetime(&raw).ok_or_else(|| bad_value(f, &raw))
}

fn boolean(f: F, n: Node<'_, '_>) -> Result<bool, EwsError> {
    let raw = text(n);
    parse_bool(&raw).ok_or_else(|| bad_value(f, &raw))
}

/// Reads one `t:FileAttachment` (item attachments are not modelled).
pub(crate) fn parse_attachment(
    a: Node<'_, '_>,
    now: OffsetDateTime,
) -> Result<Attachment, EwsError> {
    if !is(a, NS_T, "FileAttachment") {
        return Err(EwsError::new(
            ResponseCode::ErrorInvalidRequest,
            "Only file attachments are supported by the simulator.",
        ));
    }
    let raw = child_text(a, NS_T, "Content").unwrap_or_default();
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let content = B64
        .decode(compact.as_bytes())
        .map_err(|_| bad_value(F::Attachments, "Content is not base64"))?;
    Ok(attachment_from(
        NewAttachment {
            name: child_text(a, NS_T, "Name").unwrap_or_default(),
            content_type: child_text(a, NS_T, "ContentType")
                .unwrap_or_else(|| "application/octet-stream".into()),
            content_id: child_text(a, NS_T, "ContentId"),
            is_inline: child_text(a, NS_T, "IsInline")
                .and_then(|s| parse_bool(&s))
                .unwrap_or(false),
            content,
        },
        now,
    ))
}

/// Reads the file attachments of a `t:Attachments` element.
pub(crate) fn parse_attachments(
    n: Node<'_, '_>,
    now: OffsetDateTime,
) -> Result<Vec<Attachment>, EwsError> {
    elements(n).map(|a| parse_attachment(a, now)).collect()
}

/// A stored attachment for a new one, with a fresh id.
pub(crate) fn attachment_from(a: NewAttachment, now: OffsetDateTime) -> Attachment {
    Attachment {
        id: Store::new_attachment_id(),
        name: a.name,
        content_type: a.content_type,
        content_id: a.content_id,
        is_inline: a.is_inline,
        last_modified: now,
        content: a.content,
    }
}

/// Sets property `f` of `item` from element `n`. `Ok(false)` when the property is computed
/// by the server and cannot be set (CreateItem skips those silently, as Exchange ignores
/// e.g. DateTimeReceived on create).
pub(crate) fn set_field(
    item: &mut Item,
    f: F,
    n: Node<'_, '_>,
    now: OffsetDateTime,
) -> Result<bool, EwsError> {
    let s = || Some(text(n));
    match f {
        F::ItemClass => item.item_class = text(n),
        F::Subject => item.subject = s(),
        F::Sensitivity => item.sensitivity = s(),
        F::Body => {
            let content = text(n);
            item.body = match n.attribute("BodyType") {
                Some("HTML") => crate::store::Body {
                    text: None,
                    html: Some(content),
                },
                _ => crate::store::Body {
                    text: Some(content),
                    html: None,
                },
            };
        }
        F::Attachments => item.attachments = parse_attachments(n, now)?,
        F::Categories => item.categories = children(n, NS_T, "String").map(text).collect(),
        F::Importance => item.importance = s(),
        F::InReplyTo => item.in_reply_to = s(),
        F::Sender => item.sender = single_recipient(n),
        F::ToRecipients => item.to = recipients(n),
        F::CcRecipients => item.cc = recipients(n),
        F::BccRecipients => item.bcc = recipients(n),
        F::IsReadReceiptRequested => item.is_read_receipt_requested = Some(boolean(f, n)?),
        F::IsDeliveryReceiptRequested => {
            item.is_delivery_receipt_requested = Some(boolean(f, n)?);
        }
        F::ConversationTopic => item.conversation_topic = s(),
        F::From => item.from = single_recipient(n),
        F::InternetMessageId => item.internet_message_id = s().map(|v| v.trim().to_owned()),
        F::IsRead => item.is_read = boolean(f, n)?,
        F::References => item.references = s(),
        F::ReplyTo => item.reply_to = recipients(n),
        F::Uid => item.calendar.uid = s(),
        F::Start => item.calendar.start = Some(date(f, n)?),
        F::End => item.calendar.end = Some(date(f, n)?),
        F::IsAllDayEvent => item.calendar.is_all_day = Some(boolean(f, n)?),
        F::LegacyFreeBusyStatus => item.calendar.free_busy = s(),
        F::Location => item.calendar.location = s(),
        F::IsCancelled => item.calendar.is_cancelled = Some(boolean(f, n)?),
        F::MyResponseType => item.calendar.my_response_type = s(),
        F::Organizer => item.calendar.organizer = single_recipient(n),
        F::RequiredAttendees => item.calendar.required_attendees = attendees(n),
        F::OptionalAttendees => item.calendar.optional_attendees = attendees(n),
        F::FileAs => item.contact.file_as = s(),
        F::DisplayName => item.contact.display_name = s(),
        F::GivenName => item.contact.given_name = s(),
        F::CompanyName => item.contact.company_name = s(),
        F::EmailAddresses => item.contact.email_addresses = entries(n),
        F::PhoneNumbers => item.contact.phone_numbers = entries(n),
        F::JobTitle => item.contact.job_title = s(),
        F::Surname => item.contact.surname = s(),
        F::CompleteDate => item.task.complete_date = Some(date(f, n)?),
        F::DueDate => item.task.due_date = Some(date(f, n)?),
        F::IsComplete => item.task.is_complete = Some(boolean(f, n)?),
        F::PercentComplete => {
            let raw = text(n);
            let v: f64 = raw.trim().parse().map_err(|_| bad_value(f, &raw))?;
            if !v.is_finite() || !(0.0..=100.0).contains(&v) {
                return Err(bad_value(f, &raw));
            }
            item.task.percent_complete = Some(v);
        }
        F::StartDate => item.task.start_date = Some(date(f, n)?),
        F::Status => item.task.status = s(),
        F::MimeContent
        | F::ItemId
        | F::ParentFolderId
        | F::DateTimeReceived
        | F::Size
        | F::IsSubmitted
        | F::IsDraft
        | F::IsFromMe
        | F::IsResend
        | F::IsUnmodified
        | F::InternetMessageHeaders
        | F::DateTimeSent
        | F::DateTimeCreated
        | F::DisplayCc
        | F::DisplayTo
        | F::HasAttachments
        | F::EffectiveRights
        | F::LastModifiedName
        | F::LastModifiedTime
        | F::IsAssociated
        | F::ConversationId
        | F::ConversationIndex
        | F::IsMeeting
        | F::CalIsRecurring
        | F::MeetingRequestWasSent
        | F::CalendarItemType
        | F::TaskIsRecurring => return Ok(false),
    }
    Ok(true)
}

/// Fills a new item from `t:MimeContent`, as Exchange does before applying the other
/// elements of the item.
fn apply_mime(item: &mut Item, n: Node<'_, '_>, now: OffsetDateTime) -> Result<(), EwsError> {
    let raw = text(n);
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = B64.decode(compact.as_bytes()).map_err(|_| {
        EwsError::new(
            ResponseCode::ErrorMimeContentInvalidBase64String,
            "The MIME content is not valid base64.",
        )
    })?;
    let m = parse_message(&bytes);
    item.subject = m.subject.or(item.subject.take());
    item.from = m.from.or(item.from.take());
    item.sender = m.sender.or(item.sender.take());
    item.to = m.to;
    item.cc = m.cc;
    item.bcc = m.bcc;
    item.reply_to = m.reply_to;
    item.internet_message_id = m.message_id;
    item.in_reply_to = m.in_reply_to;
    item.references = m.references;
    item.conversation_index = m.thread_index.unwrap_or_default();
    item.conversation_topic = m.thread_topic;
    item.body = crate::store::Body {
        text: m.text,
        html: m.html,
    };
    item.attachments = m
        .attachments
        .into_iter()
        .map(|a| attachment_from(a, now))
        .collect();
    Ok(())
}

/// Applies every child of a CreateItem item element. Unknown or server-computed elements
/// are skipped, as Exchange does for read-only properties on create.
pub(crate) fn apply_create(
    item: &mut Item,
    element: Node<'_, '_>,
    now: OffsetDateTime,
) -> Result<(), EwsError> {
    if let Some(mime) = child(element, NS_T, "MimeContent") {
        apply_mime(item, mime, now)?;
    }
    for c in elements(element) {
        if c.tag_name().namespace() != Some(NS_T) {
            continue;
        }
        let name = c.tag_name().name();
        if name == "ExtendedProperty" {
            let prop = parse_extended_property(c).ok_or_else(|| {
                EwsError::new(
                    ResponseCode::ErrorInvalidRequest,
                    "The extended property is not valid.",
                )
            })?;
            upsert_property(&mut item.extended, prop);
        } else if let Some(f) = by_element(item.kind, name) {
            set_field(item, f, c, now)?;
        }
    }
    Ok(())
}

fn update_count_error() -> EwsError {
    EwsError::new(
        ResponseCode::ErrorIncorrectUpdatePropertyCount,
        "An object within a change description must contain one and only one property to modify.",
    )
}

/// The item element (`t:Message`, …) inside a Set/AppendToItemField.
fn change_item<'a, 'i>(change: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    elements(change).find(|c| {
        c.tag_name().namespace() == Some(NS_T)
            && !matches!(
                c.tag_name().name(),
                "FieldURI" | "IndexedFieldURI" | "ExtendedFieldURI"
            )
    })
}

/// Applies one `t:SetItemField`.
pub(crate) fn apply_set(
    item: &mut Item,
    path: &PropertyPath,
    change: Node<'_, '_>,
    now: OffsetDateTime,
) -> Result<(), EwsError> {
    let holder = change_item(change).ok_or_else(update_count_error)?;
    match path {
        PropertyPath::Field(uri) => {
            let f = by_uri(uri).ok_or_else(|| unsupported_set(uri))?;
            let n = elements(holder)
                .find(|c| is(*c, NS_T, element_of(f)))
                .ok_or_else(update_count_error)?;
            if !set_field(item, f, n, now)? {
                return Err(read_only(f));
            }
        }
        PropertyPath::Extended { key, .. } => {
            let prop = children(holder, NS_T, "ExtendedProperty")
                .filter_map(parse_extended_property)
                .find(|p| p.key.same_property(key))
                .ok_or_else(update_count_error)?;
            upsert_property(&mut item.extended, prop);
        }
        PropertyPath::Indexed { uri, index } => {
            let (container, list) = match uri.as_str() {
                "contacts:EmailAddress" => ("EmailAddresses", &mut item.contact.email_addresses),
                "contacts:PhoneNumber" => ("PhoneNumbers", &mut item.contact.phone_numbers),
                other => return Err(unsupported_set(other)),
            };
            let value = child(holder, NS_T, container)
                .and_then(|c| {
                    children(c, NS_T, "Entry").find(|e| e.attribute("Key") == Some(index.as_str()))
                })
                .map(text)
                .ok_or_else(update_count_error)?;
            match list.iter_mut().find(|(k, _)| k == index) {
                Some(entry) => entry.1 = value,
                None => list.push((index.clone(), value)),
            }
        }
    }
    Ok(())
}

fn unsupported_set(uri: &str) -> EwsError {
    EwsError::new(
        ResponseCode::ErrorInvalidPropertySet,
        format!("The simulator cannot set {uri}."),
    )
}

/// Applies one `t:AppendToItemField` (recipient lists, attendees and the body).
pub(crate) fn apply_append(
    item: &mut Item,
    path: &PropertyPath,
    change: Node<'_, '_>,
) -> Result<(), EwsError> {
    let holder = change_item(change).ok_or_else(update_count_error)?;
    let PropertyPath::Field(uri) = path else {
        return Err(EwsError::new(
            ResponseCode::ErrorInvalidPropertyAppend,
            "This property does not support append.",
        ));
    };
    let f = by_uri(uri).ok_or_else(|| unsupported_set(uri))?;
    let n = elements(holder)
        .find(|c| is(*c, NS_T, element_of(f)))
        .ok_or_else(update_count_error)?;
    match f {
        F::ToRecipients => item.to.extend(recipients(n)),
        F::CcRecipients => item.cc.extend(recipients(n)),
        F::BccRecipients => item.bcc.extend(recipients(n)),
        F::ReplyTo => item.reply_to.extend(recipients(n)),
        F::RequiredAttendees => item.calendar.required_attendees.extend(attendees(n)),
        F::OptionalAttendees => item.calendar.optional_attendees.extend(attendees(n)),
        F::Body => {
            let extra = text(n);
            if n.attribute("BodyType") == Some("HTML") {
                let html = item.body.as_html().unwrap_or_default();
                item.body.html = Some(html + &extra);
                if let Some(t) = item.body.text.as_mut() {
                    t.push_str(&html_to_text(&extra));
                }
            } else {
                let plain = item.body.as_text().unwrap_or_default();
                item.body.text = Some(plain + &extra);
                item.body.html = None;
            }
        }
        _ => {
            return Err(EwsError::new(
                ResponseCode::ErrorInvalidPropertyAppend,
                format!("{uri} does not support append."),
            ));
        }
    }
    Ok(())
}

/// Applies one `t:DeleteItemField`.
pub(crate) fn apply_delete(item: &mut Item, path: &PropertyPath) -> Result<(), EwsError> {
    let cannot = |what: &str| {
        EwsError::new(
            ResponseCode::ErrorInvalidPropertyDelete,
            format!("{what} cannot be deleted."),
        )
    };
    match path {
        PropertyPath::Extended { key, .. } => item.extended.retain(|p| !p.key.same_property(key)),
        PropertyPath::Indexed { uri, index } => match uri.as_str() {
            "contacts:EmailAddress" => item.contact.email_addresses.retain(|(k, _)| k != index),
            "contacts:PhoneNumber" => item.contact.phone_numbers.retain(|(k, _)| k != index),
            other => return Err(cannot(other)),
        },
        PropertyPath::Field(uri) => {
            let f = by_uri(uri).ok_or_else(|| cannot(uri))?;
            match f {
                F::Subject => item.subject = None,
                F::Sensitivity => item.sensitivity = None,
                F::Body => item.body = crate::store::Body::default(),
                F::Attachments => item.attachments.clear(),
                F::Categories => item.categories.clear(),
                F::Importance => item.importance = None,
                F::InReplyTo => item.in_reply_to = None,
                F::Sender => item.sender = None,
                F::ToRecipients => item.to.clear(),
                F::CcRecipients => item.cc.clear(),
                F::BccRecipients => item.bcc.clear(),
                F::ConversationTopic => item.conversation_topic = None,
                F::From => item.from = None,
                F::References => item.references = None,
                F::ReplyTo => item.reply_to.clear(),
                F::IsReadReceiptRequested => item.is_read_receipt_requested = None,
                F::IsDeliveryReceiptRequested => item.is_delivery_receipt_requested = None,
                F::Location => item.calendar.location = None,
                F::RequiredAttendees => item.calendar.required_attendees.clear(),
                F::OptionalAttendees => item.calendar.optional_attendees.clear(),
                F::FileAs => item.contact.file_as = None,
                F::DisplayName => item.contact.display_name = None,
                F::GivenName => item.contact.given_name = None,
                F::CompanyName => item.contact.company_name = None,
                F::EmailAddresses => item.contact.email_addresses.clear(),
                F::PhoneNumbers => item.contact.phone_numbers.clear(),
                F::JobTitle => item.contact.job_title = None,
                F::Surname => item.contact.surname = None,
                F::CompleteDate => item.task.complete_date = None,
                F::DueDate => item.task.due_date = None,
                F::StartDate => item.task.start_date = None,
                _ => return Err(cannot(uri)),
            }
        }
    }
    Ok(())
}
