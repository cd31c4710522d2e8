//! The item and folder properties the simulator models, their field URIs and element names
//! in schema order, property paths, and response shapes.
//!
//! Order matters: ItemType's elements come first (with ExtendedProperty between
//! HasAttachments and Culture), then the kind's own (MessageType, CalendarItemType,
//! ContactItemType, TaskType), each in its `xs:sequence` order.
//!
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/fielduri>

use super::xml::{NS_T, children, elements, is, parse_bool};
use crate::store::{
    DistinguishedPropertySet, ExtendedProperty, ItemKind, PropertyKey, PropertyName, PropertySet,
    PropertyValue,
};
use roxmltree::Node;
use std::collections::HashSet;

/// An item property the simulator stores or computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum F {
    MimeContent,
    ItemId,
    ParentFolderId,
    ItemClass,
    Subject,
    Sensitivity,
    Body,
    Attachments,
    DateTimeReceived,
    Size,
    Categories,
    Importance,
    InReplyTo,
    IsSubmitted,
    IsDraft,
    IsFromMe,
    IsResend,
    IsUnmodified,
    InternetMessageHeaders,
    DateTimeSent,
    DateTimeCreated,
    DisplayCc,
    DisplayTo,
    HasAttachments,
    EffectiveRights,
    LastModifiedName,
    LastModifiedTime,
    IsAssociated,
    ConversationId,
    // MessageType
    Sender,
    ToRecipients,
    CcRecipients,
    BccRecipients,
    IsReadReceiptRequested,
    IsDeliveryReceiptRequested,
    ConversationIndex,
    ConversationTopic,
    From,
    InternetMessageId,
    IsRead,
    References,
    ReplyTo,
    // CalendarItemType
    Uid,
    Start,
    End,
    IsAllDayEvent,
    LegacyFreeBusyStatus,
    Location,
    IsMeeting,
    IsCancelled,
    CalIsRecurring,
    MeetingRequestWasSent,
    CalendarItemType,
    MyResponseType,
    Organizer,
    RequiredAttendees,
    OptionalAttendees,
    // ContactItemType
    FileAs,
    DisplayName,
    GivenName,
    CompanyName,
    EmailAddresses,
    PhoneNumbers,
    JobTitle,
    Surname,
    // TaskType
    CompleteDate,
    DueDate,
    IsComplete,
    TaskIsRecurring,
    PercentComplete,
    StartDate,
    Status,
}

/// A property: its enum, `FieldURI` and element local name.
pub(crate) type Def = (F, &'static str, &'static str);

/// ItemType's elements up to HasAttachments (ExtendedProperty comes next).
pub(crate) const ITEM_HEAD: &[Def] = &[
    (F::MimeContent, "item:MimeContent", "MimeContent"),
    (F::ItemId, "item:ItemId", "ItemId"),
    (F::ParentFolderId, "item:ParentFolderId", "ParentFolderId"),
    (F::ItemClass, "item:ItemClass", "ItemClass"),
    (F::Subject, "item:Subject", "Subject"),
    (F::Sensitivity, "item:Sensitivity", "Sensitivity"),
    (F::Body, "item:Body", "Body"),
    (F::Attachments, "item:Attachments", "Attachments"),
    (
        F::DateTimeReceived,
        "item:DateTimeReceived",
        "DateTimeReceived",
    ),
    (F::Size, "item:Size", "Size"),
    (F::Categories, "item:Categories", "Categories"),
    (F::Importance, "item:Importance", "Importance"),
    (F::InReplyTo, "item:InReplyTo", "InReplyTo"),
    (F::IsSubmitted, "item:IsSubmitted", "IsSubmitted"),
    (F::IsDraft, "item:IsDraft", "IsDraft"),
    (F::IsFromMe, "item:IsFromMe", "IsFromMe"),
    (F::IsResend, "item:IsResend", "IsResend"),
    (F::IsUnmodified, "item:IsUnmodified", "IsUnmodified"),
    (
        F::InternetMessageHeaders,
        "item:InternetMessageHeaders",
        "InternetMessageHeaders",
    ),
    (F::DateTimeSent, "item:DateTimeSent", "DateTimeSent"),
    (
        F::DateTimeCreated,
        "item:DateTimeCreated",
        "DateTimeCreated",
    ),
    (F::DisplayCc, "item:DisplayCc", "DisplayCc"),
    (F::DisplayTo, "item:DisplayTo", "DisplayTo"),
    (F::HasAttachments, "item:HasAttachments", "HasAttachments"),
];

/// ItemType's elements after ExtendedProperty.
pub(crate) const ITEM_TAIL: &[Def] = &[
    (
        F::EffectiveRights,
        "item:EffectiveRights",
        "EffectiveRights",
    ),
    (
        F::LastModifiedName,
        "item:LastModifiedName",
        "LastModifiedName",
    ),
    (
        F::LastModifiedTime,
        "item:LastModifiedTime",
        "LastModifiedTime",
    ),
    (F::IsAssociated, "item:IsAssociated", "IsAssociated"),
    (F::ConversationId, "item:ConversationId", "ConversationId"),
];

pub(crate) const MESSAGE: &[Def] = &[
    (F::Sender, "message:Sender", "Sender"),
    (F::ToRecipients, "message:ToRecipients", "ToRecipients"),
    (F::CcRecipients, "message:CcRecipients", "CcRecipients"),
    (F::BccRecipients, "message:BccRecipients", "BccRecipients"),
    (
        F::IsReadReceiptRequested,
        "message:IsReadReceiptRequested",
        "IsReadReceiptRequested",
    ),
    (
        F::IsDeliveryReceiptRequested,
        "message:IsDeliveryReceiptRequested",
        "IsDeliveryReceiptRequested",
    ),
    (
        F::ConversationIndex,
        "message:ConversationIndex",
        "ConversationIndex",
    ),
    (
        F::ConversationTopic,
        "message:ConversationTopic",
        "ConversationTopic",
    ),
    (F::From, "message:From", "From"),
    (
        F::InternetMessageId,
        "message:InternetMessageId",
        "InternetMessageId",
    ),
    (F::IsRead, "message:IsRead", "IsRead"),
    (F::References, "message:References", "References"),
    (F::ReplyTo, "message:ReplyTo", "ReplyTo"),
];

pub(crate) const CALENDAR: &[Def] = &[
    (F::Uid, "calendar:UID", "UID"),
    (F::Start, "calendar:Start", "Start"),
    (F::End, "calendar:End", "End"),
    (F::IsAllDayEvent, "calendar:IsAllDayEvent", "IsAllDayEvent"),
    (
        F::LegacyFreeBusyStatus,
        "calendar:LegacyFreeBusyStatus",
        "LegacyFreeBusyStatus",
    ),
    (F::Location, "calendar:Location", "Location"),
    (F::IsMeeting, "calendar:IsMeeting", "IsMeeting"),
    (F::IsCancelled, "calendar:IsCancelled", "IsCancelled"),
    (F::CalIsRecurring, "calendar:IsRecurring", "IsRecurring"),
    (
        F::MeetingRequestWasSent,
        "calendar:MeetingRequestWasSent",
        "MeetingRequestWasSent",
    ),
    (
        F::CalendarItemType,
        "calendar:CalendarItemType",
        "CalendarItemType",
    ),
    (
        F::MyResponseType,
        "calendar:MyResponseType",
        "MyResponseType",
    ),
    (F::Organizer, "calendar:Organizer", "Organizer"),
    (
        F::RequiredAttendees,
        "calendar:RequiredAttendees",
        "RequiredAttendees",
    ),
    (
        F::OptionalAttendees,
        "calendar:OptionalAttendees",
        "OptionalAttendees",
    ),
];

pub(crate) const CONTACT: &[Def] = &[
    (F::FileAs, "contacts:FileAs", "FileAs"),
    (F::DisplayName, "contacts:DisplayName", "DisplayName"),
    (F::GivenName, "contacts:GivenName", "GivenName"),
    (F::CompanyName, "contacts:CompanyName", "CompanyName"),
    (
        F::EmailAddresses,
        "contacts:EmailAddresses",
        "EmailAddresses",
    ),
    (F::PhoneNumbers, "contacts:PhoneNumbers", "PhoneNumbers"),
    (F::JobTitle, "contacts:JobTitle", "JobTitle"),
    (F::Surname, "contacts:Surname", "Surname"),
];

pub(crate) const TASK: &[Def] = &[
    (F::CompleteDate, "task:CompleteDate", "CompleteDate"),
    (F::DueDate, "task:DueDate", "DueDate"),
    (F::IsComplete, "task:IsComplete", "IsComplete"),
    (F::TaskIsRecurring, "task:IsRecurring", "IsRecurring"),
    (
        F::PercentComplete,
        "task:PercentComplete",
        "PercentComplete",
    ),
    (F::StartDate, "task:StartDate", "StartDate"),
    (F::Status, "task:Status", "Status"),
];

/// The kind's own properties, in schema order.
pub(crate) fn kind_defs(kind: ItemKind) -> &'static [Def] {
    match kind {
        ItemKind::Message => MESSAGE,
        ItemKind::CalendarItem => CALENDAR,
        ItemKind::Contact => CONTACT,
        ItemKind::Task => TASK,
    }
}

fn all_defs() -> impl Iterator<Item = &'static Def> {
    ITEM_HEAD
        .iter()
        .chain(ITEM_TAIL)
        .chain(MESSAGE)
        .chain(CALENDAR)
        .chain(CONTACT)
        .chain(TASK)
}

/// The property a `FieldURI` names, if the simulator models it.
pub(crate) fn by_uri(uri: &str) -> Option<F> {
    all_defs().find(|d| d.1 == uri).map(|d| d.0)
}

/// The property an element of a `kind` item is, if modelled.
pub(crate) fn by_element(kind: ItemKind, element: &str) -> Option<F> {
    ITEM_HEAD
        .iter()
        .chain(ITEM_TAIL)
        .chain(kind_defs(kind))
        .find(|d| d.2 == element)
        .map(|d| d.0)
}

/// The element name of a property.
pub(crate) fn element_of(f: F) -> &'static str {
    all_defs().find(|d| d.0 == f).map_or("", |d| d.2)
}

/// A property path from a request (`t:FieldURI`, `t:IndexedFieldURI`, `t:ExtendedFieldURI`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PropertyPath {
    /// `FieldURI` (kept as written; [`by_uri`] tells whether it is modelled).
    Field(String),
    /// `IndexedFieldURI` (`contacts:EmailAddress` + `EmailAddress1`).
    Indexed { uri: String, index: String },
    /// `ExtendedFieldURI`.
    Extended {
        key: PropertyKey,
        property_type: String,
    },
}

/// Parses a property tag (`0x1081` or decimal).
pub(crate) fn parse_tag(s: &str) -> Option<u16> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Reads an `ExtendedFieldURI` element; `None` when its attribute combination names no
/// property (Exchange: ErrorInvalidExtendedProperty, reported by the caller).
pub(crate) fn parse_extended_uri(n: Node<'_, '_>) -> Option<(PropertyKey, String)> {
    let property_type = n.attribute("PropertyType")?.to_owned();
    if let Some(tag) = n.attribute("PropertyTag") {
        return Some((PropertyKey::Tag(parse_tag(tag)?), property_type));
    }
    let set = match (
        n.attribute("DistinguishedPropertySetId"),
        n.attribute("PropertySetId"),
    ) {
        (Some(d), None) => PropertySet::Distinguished(DistinguishedPropertySet::parse(d)?),
        (None, Some(g)) => PropertySet::Guid(g.to_owned()),
        _ => return None,
    };
    let name = match (n.attribute("PropertyName"), n.attribute("PropertyId")) {
        (Some(name), None) => PropertyName::Name(name.to_owned()),
        (None, Some(id)) => PropertyName::Id(id.trim().parse().ok()?),
        _ => return None,
    };
    Some((PropertyKey::Named { set, name }, property_type))
}

/// Reads any property path element.
pub(crate) fn parse_path(n: Node<'_, '_>) -> Option<PropertyPath> {
    if is(n, NS_T, "FieldURI") {
        Some(PropertyPath::Field(n.attribute("FieldURI")?.to_owned()))
    } else if is(n, NS_T, "IndexedFieldURI") {
        Some(PropertyPath::Indexed {
            uri: n.attribute("FieldURI")?.to_owned(),
            index: n.attribute("FieldIndex")?.to_owned(),
        })
    } else if is(n, NS_T, "ExtendedFieldURI") {
        let (key, property_type) = parse_extended_uri(n)?;
        Some(PropertyPath::Extended { key, property_type })
    } else {
        None
    }
}

/// Reads a `t:ExtendedProperty` element.
pub(crate) fn parse_extended_property(n: Node<'_, '_>) -> Option<ExtendedProperty> {
    let uri = elements(n).find(|c| is(*c, NS_T, "ExtendedFieldURI"))?;
    let (key, property_type) = parse_extended_uri(uri)?;
    let value = if let Some(v) = elements(n).find(|c| is(*c, NS_T, "Value")) {
        PropertyValue::Single(super::xml::text(v))
    } else {
        let values = elements(n).find(|c| is(*c, NS_T, "Values"))?;
        PropertyValue::Multiple(
            children(values, NS_T, "Value")
                .map(super::xml::text)
                .collect(),
        )
    };
    Some(ExtendedProperty {
        key,
        property_type,
        value,
    })
}

/// Which body format the response should carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyPref {
    Best,
    Html,
    Text,
}

/// The base shape names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseShape {
    IdOnly,
    Default,
    AllProperties,
}

impl BaseShape {
    pub(crate) fn parse(s: &str) -> Self {
        match s.trim() {
            "Default" => BaseShape::Default,
            "AllProperties" => BaseShape::AllProperties,
            _ => BaseShape::IdOnly,
        }
    }
}

/// Which operation a shape is for: FindItem never returns bodies or MIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShapeUse {
    Get,
    Find,
}

/// What properties to write for each item.
#[derive(Debug, Clone)]
pub(crate) struct ItemShape {
    pub fields: HashSet<F>,
    pub extended: Vec<PropertyKey>,
    pub body: BodyPref,
}

const DEFAULT_ITEM: &[F] = &[
    F::ItemId,
    F::Subject,
    F::Sensitivity,
    F::Body,
    F::Attachments,
    F::DateTimeReceived,
    F::Size,
    F::Importance,
    F::DateTimeSent,
    F::DateTimeCreated,
    F::DisplayCc,
    F::DisplayTo,
    F::HasAttachments,
    F::IsAssociated,
    F::From,
    F::ToRecipients,
    F::CcRecipients,
    F::IsRead,
    F::Start,
    F::End,
    F::Location,
    F::Organizer,
    F::IsAllDayEvent,
    F::LegacyFreeBusyStatus,
    F::CalendarItemType,
    F::MyResponseType,
    F::IsMeeting,
    F::FileAs,
    F::DisplayName,
    F::GivenName,
    F::Surname,
    F::CompanyName,
    F::EmailAddresses,
    F::PhoneNumbers,
    F::JobTitle,
    F::DueDate,
    F::Status,
    F::PercentComplete,
    F::IsComplete,
    F::StartDate,
    F::CompleteDate,
];

impl ItemShape {
    /// Only the id.
    pub(crate) fn id_only() -> Self {
        Self {
            fields: HashSet::from([F::ItemId]),
            extended: Vec::new(),
            body: BodyPref::Best,
        }
    }

    /// Reads `m:ItemShape`. Unknown field URIs are skipped silently: clients such as
    /// exchangelib ask for properties of newer schemas, and Exchange omits what it lacks.
    pub(crate) fn parse(n: Node<'_, '_>, usage: ShapeUse) -> Self {
        let mut shape = Self::id_only();
        let base = super::xml::child_text(n, NS_T, "BaseShape")
            .map_or(BaseShape::IdOnly, |s| BaseShape::parse(&s));
        match base {
            BaseShape::IdOnly => {}
            BaseShape::Default => shape.fields.extend(DEFAULT_ITEM.iter().copied()),
            BaseShape::AllProperties => {
                shape.fields.extend(all_defs().map(|d| d.0));
                shape.fields.remove(&F::MimeContent);
            }
        }
        if usage == ShapeUse::Find {
            for f in [F::Body, F::Attachments, F::InternetMessageHeaders] {
                shape.fields.remove(&f);
            }
        }
        if super::xml::child_text(n, NS_T, "IncludeMimeContent")
            .and_then(|s| parse_bool(&s))
            .unwrap_or(false)
        {
            shape.fields.insert(F::MimeContent);
        }
        shape.body = match super::xml::child_text(n, NS_T, "BodyType")
            .as_deref()
            .map(str::trim)
        {
            Some("HTML") => BodyPref::Html,
            Some("Text") => BodyPref::Text,
            _ => BodyPref::Best,
        };
        if let Some(props) = super::xml::child(n, NS_T, "AdditionalProperties") {
            for p in elements(props).filter_map(parse_path) {
                match p {
                    PropertyPath::Field(uri) => {
                        if let Some(f) = by_uri(&uri) {
                            shape.fields.insert(f);
                        }
                    }
                    // Indexed paths select the whole dictionary.
                    PropertyPath::Indexed { uri, .. } => {
                        let f = match uri.as_str() {
                            "contacts:EmailAddress" => Some(F::EmailAddresses),
                            "contacts:PhoneNumber" => Some(F::PhoneNumbers),
                            "item:InternetMessageHeader" => Some(F::InternetMessageHeaders),
                            _ => None,
                        };
                        shape.fields.extend(f);
                    }
                    PropertyPath::Extended { key, .. } => {
                        if !shape.extended.iter().any(|k| k.same_property(&key)) {
                            shape.extended.push(key);
                        }
                    }
                }
            }
        }
        if usage == ShapeUse::Find {
            shape.fields.remove(&F::MimeContent);
        }
        shape
    }

    pub(crate) fn wants(&self, f: F) -> bool {
        self.fields.contains(&f)
    }
}

/// A folder property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FF {
    FolderId,
    ParentFolderId,
    FolderClass,
    DisplayName,
    TotalCount,
    ChildFolderCount,
    EffectiveRights,
    UnreadCount,
}

const FOLDER_DEFS: &[(FF, &str)] = &[
    (FF::FolderId, "folder:FolderId"),
    (FF::ParentFolderId, "folder:ParentFolderId"),
    (FF::FolderClass, "folder:FolderClass"),
    (FF::DisplayName, "folder:DisplayName"),
    (FF::TotalCount, "folder:TotalCount"),
    (FF::ChildFolderCount, "folder:ChildFolderCount"),
    (FF::EffectiveRights, "folder:EffectiveRights"),
    (FF::UnreadCount, "folder:UnreadCount"),
];

/// The folder property a `FieldURI` names.
pub(crate) fn folder_field(uri: &str) -> Option<FF> {
    FOLDER_DEFS.iter().find(|d| d.1 == uri).map(|d| d.0)
}

/// What properties to write for each folder.
#[derive(Debug, Clone)]
pub(crate) struct FolderShape {
    pub fields: HashSet<FF>,
    pub extended: Vec<PropertyKey>,
}

impl FolderShape {
    pub(crate) fn id_only() -> Self {
        Self {
            fields: HashSet::from([FF::FolderId]),
            extended: Vec::new(),
        }
    }

    /// Reads `m:FolderShape`; unknown field URIs are skipped.
    pub(crate) fn parse(n: Node<'_, '_>) -> Self {
        let mut shape = Self::id_only();
        let base = super::xml::child_text(n, NS_T, "BaseShape")
            .map_or(BaseShape::IdOnly, |s| BaseShape::parse(&s));
        match base {
            BaseShape::IdOnly => {}
            BaseShape::Default => shape.fields.extend([
                FF::DisplayName,
                FF::TotalCount,
                FF::ChildFolderCount,
                FF::UnreadCount,
            ]),
            BaseShape::AllProperties => shape.fields.extend(FOLDER_DEFS.iter().map(|d| d.0)),
        }
        if let Some(props) = super::xml::child(n, NS_T, "AdditionalProperties") {
            for p in elements(props).filter_map(parse_path) {
                match p {
                    PropertyPath::Field(uri) => shape.fields.extend(folder_field(&uri)),
                    PropertyPath::Extended { key, .. } => shape.extended.push(key),
                    PropertyPath::Indexed { .. } => {}
                }
            }
        }
        shape
    }

    pub(crate) fn wants(&self, f: FF) -> bool {
        self.fields.contains(&f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_has_one_uri_and_round_trips() {
        let mut seen = HashSet::new();
        for (f, uri, element) in all_defs() {
            assert!(seen.insert(*uri), "{uri} twice");
            assert_eq!(by_uri(uri), Some(*f));
            assert_eq!(element_of(*f), *element);
        }
    }

    #[test]
    fn tags_parse_in_hex_and_decimal() {
        assert_eq!(parse_tag("0x1081"), Some(0x1081));
        assert_eq!(parse_tag("4225"), Some(4225));
        assert_eq!(parse_tag("0xZZ"), None);
    }
}
