//! Mailboxes (senders, recipients, organizers) and attendees.

use super::read;
use super::{DateTime, ResponseType};
use crate::xml::{Element, NS_TYPES, XmlWriter};
use serde::Serialize;

/// An e-mail address with its display name (`EmailAddressType`).
///
/// Reference: [Mailbox](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/mailbox).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Mailbox {
    /// The display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The address (SMTP for `RoutingType` `SMTP`, a legacy DN for `EX`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// `SMTP`, `EX`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_type: Option<String>,
    /// `Mailbox`, `PublicDL`, `Contact`… as the server sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox_type: Option<String>,
}

impl Mailbox {
    /// An SMTP address with no display name.
    pub fn smtp(address: impl Into<String>) -> Self {
        Mailbox {
            email_address: Some(address.into()),
            ..Mailbox::default()
        }
    }

    /// An SMTP address with a display name.
    pub fn named(name: impl Into<String>, address: impl Into<String>) -> Self {
        Mailbox {
            name: Some(name.into()),
            email_address: Some(address.into()),
            routing_type: Some("SMTP".into()),
            mailbox_type: None,
        }
    }

    /// Writes `<{element}>` with `Name`, `EmailAddress`, `RoutingType` in schema order.
    /// `MailboxType` is not written: the server derives it.
    pub(crate) fn write_as(&self, w: &mut XmlWriter, element: &str) {
        w.start(element, &[]);
        if let Some(name) = &self.name {
            w.text_element("t:Name", name);
        }
        // EmailAddress and RoutingType are NonEmptyStringType: an empty one is invalid.
        if let Some(address) = self.email_address.as_deref().filter(|a| !a.is_empty()) {
            w.text_element("t:EmailAddress", address);
        }
        if let Some(rt) = self.routing_type.as_deref().filter(|a| !a.is_empty()) {
            w.text_element("t:RoutingType", rt);
        }
        w.end(element);
    }

    pub(crate) fn read(el: &Element) -> Mailbox {
        Mailbox {
            name: read::string(el, "Name"),
            email_address: read::token(el, "EmailAddress").map(str::to_owned),
            routing_type: read::token(el, "RoutingType").map(str::to_owned),
            mailbox_type: read::token(el, "MailboxType").map(str::to_owned),
        }
    }

    /// Reads a `SingleRecipientType` (`<t:From><t:Mailbox>…</t:Mailbox></t:From>`).
    pub(crate) fn read_single(parent: &Element, name: &str) -> Option<Mailbox> {
        parent
            .child(NS_TYPES, name)?
            .child(NS_TYPES, "Mailbox")
            .map(Mailbox::read)
    }

    /// Reads an `ArrayOfRecipientsType`.
    pub(crate) fn read_list(parent: &Element, name: &str) -> Vec<Mailbox> {
        parent
            .child(NS_TYPES, name)
            .map(|list| {
                list.children_named(NS_TYPES, "Mailbox")
                    .map(Mailbox::read)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn write_single(w: &mut XmlWriter, element: &str, mailbox: &Option<Mailbox>) {
        if let Some(m) = mailbox {
            w.start(element, &[]);
            m.write_as(w, "t:Mailbox");
            w.end(element);
        }
    }

    pub(crate) fn write_list(w: &mut XmlWriter, element: &str, list: &[Mailbox]) {
        if !list.is_empty() {
            w.start(element, &[]);
            for m in list {
                m.write_as(w, "t:Mailbox");
            }
            w.end(element);
        }
    }
}

/// A meeting attendee and their answer.
///
/// Reference: [Attendee](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/attendee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendee {
    /// Who.
    pub mailbox: Mailbox,
    /// Their response, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<ResponseType>,
    /// When they last responded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_response_time: Option<DateTime>,
}

impl Attendee {
    /// An attendee who has not responded yet.
    pub fn new(mailbox: Mailbox) -> Self {
        Attendee {
            mailbox,
            response_type: None,
            last_response_time: None,
        }
    }

    pub(crate) fn read_list(parent: &Element, name: &str) -> Vec<Attendee> {
        let Some(list) = parent.child(NS_TYPES, name) else {
            return Vec::new();
        };
        list.children_named(NS_TYPES, "Attendee")
            .filter_map(|a| {
                Some(Attendee {
                    mailbox: a.child(NS_TYPES, "Mailbox").map(Mailbox::read)?,
                    response_type: read::token(a, "ResponseType").map(ResponseType::parse),
                    last_response_time: read::datetime(a, "LastResponseTime"),
                })
            })
            .collect()
    }

    /// Writes a `NonEmptyArrayOfAttendeesType`; nothing for an empty list (the schema
    /// requires at least one attendee).
    pub(crate) fn write_list(w: &mut XmlWriter, element: &str, list: &[Attendee]) {
        if list.is_empty() {
            return;
        }
        w.start(element, &[]);
        for a in list {
            w.start("t:Attendee", &[]);
            a.mailbox.write_as(w, "t:Mailbox");
            w.end("t:Attendee");
        }
        w.end(element);
    }
}
