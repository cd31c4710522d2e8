//! Property paths (`FieldURI`, `IndexedFieldURI`, `ExtendedFieldURI`) and extended
//! properties.

use super::ews_enum;
use crate::xml::{Element, NS_TYPES, XmlWriter};
use serde::Serialize;
use std::borrow::Cow;

/// A property by its EWS name (`item:Subject`, `message:InternetMessageId`…).
///
/// The 2010 SP2 schema enumerates the valid names, so a misspelt one fails schema
/// validation on the server; the constants here cover what exsync asks for, and
/// [`FieldUri::new`] accepts any other.
///
/// Reference: [FieldURI](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/fielduri).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct FieldUri(pub Cow<'static, str>);

macro_rules! field_uris {
    ($( $(#[$doc:meta])* $const:ident = $s:literal ),* $(,)?) => {
        impl FieldUri {
            $( $(#[$doc])* pub const $const: FieldUri = FieldUri(Cow::Borrowed($s)); )*
        }
    };
}

field_uris! {
    /// `item:ItemId`.
    ITEM_ID = "item:ItemId",
    /// `item:ParentFolderId`.
    ITEM_PARENT_FOLDER_ID = "item:ParentFolderId",
    /// `item:ItemClass`.
    ITEM_CLASS = "item:ItemClass",
    /// `item:MimeContent`.
    ITEM_MIME_CONTENT = "item:MimeContent",
    /// `item:Attachments`.
    ITEM_ATTACHMENTS = "item:Attachments",
    /// `item:Subject`.
    ITEM_SUBJECT = "item:Subject",
    /// `item:DateTimeReceived`.
    ITEM_DATE_TIME_RECEIVED = "item:DateTimeReceived",
    /// `item:DateTimeSent`.
    ITEM_DATE_TIME_SENT = "item:DateTimeSent",
    /// `item:DateTimeCreated`.
    ITEM_DATE_TIME_CREATED = "item:DateTimeCreated",
    /// `item:Size`.
    ITEM_SIZE = "item:Size",
    /// `item:Categories`.
    ITEM_CATEGORIES = "item:Categories",
    /// `item:HasAttachments`.
    ITEM_HAS_ATTACHMENTS = "item:HasAttachments",
    /// `item:Importance`.
    ITEM_IMPORTANCE = "item:Importance",
    /// `item:InReplyTo`.
    ITEM_IN_REPLY_TO = "item:InReplyTo",
    /// `item:InternetMessageHeaders`.
    ITEM_INTERNET_MESSAGE_HEADERS = "item:InternetMessageHeaders",
    /// `item:Body`.
    ITEM_BODY = "item:Body",
    /// `item:LastModifiedTime`.
    ITEM_LAST_MODIFIED_TIME = "item:LastModifiedTime",
    /// `item:ConversationId`.
    ITEM_CONVERSATION_ID = "item:ConversationId",
    /// `message:ConversationIndex`.
    MESSAGE_CONVERSATION_INDEX = "message:ConversationIndex",
    /// `message:ConversationTopic`.
    MESSAGE_CONVERSATION_TOPIC = "message:ConversationTopic",
    /// `message:InternetMessageId`.
    MESSAGE_INTERNET_MESSAGE_ID = "message:InternetMessageId",
    /// `message:IsRead`.
    MESSAGE_IS_READ = "message:IsRead",
    /// `message:References`.
    MESSAGE_REFERENCES = "message:References",
    /// `message:From`.
    MESSAGE_FROM = "message:From",
    /// `message:Sender`.
    MESSAGE_SENDER = "message:Sender",
    /// `message:ToRecipients`.
    MESSAGE_TO_RECIPIENTS = "message:ToRecipients",
    /// `message:CcRecipients`.
    MESSAGE_CC_RECIPIENTS = "message:CcRecipients",
    /// `message:BccRecipients`.
    MESSAGE_BCC_RECIPIENTS = "message:BccRecipients",
    /// `calendar:Start`.
    CALENDAR_START = "calendar:Start",
    /// `calendar:End`.
    CALENDAR_END = "calendar:End",
    /// `calendar:IsAllDayEvent`.
    CALENDAR_IS_ALL_DAY_EVENT = "calendar:IsAllDayEvent",
    /// `calendar:LegacyFreeBusyStatus`.
    CALENDAR_LEGACY_FREE_BUSY_STATUS = "calendar:LegacyFreeBusyStatus",
    /// `calendar:Location`.
    CALENDAR_LOCATION = "calendar:Location",
    /// `calendar:Organizer`.
    CALENDAR_ORGANIZER = "calendar:Organizer",
    /// `calendar:RequiredAttendees`.
    CALENDAR_REQUIRED_ATTENDEES = "calendar:RequiredAttendees",
    /// `calendar:OptionalAttendees`.
    CALENDAR_OPTIONAL_ATTENDEES = "calendar:OptionalAttendees",
    /// `calendar:UID`.
    CALENDAR_UID = "calendar:UID",
    /// `contacts:DisplayName`.
    CONTACTS_DISPLAY_NAME = "contacts:DisplayName",
    /// `contacts:GivenName`.
    CONTACTS_GIVEN_NAME = "contacts:GivenName",
    /// `contacts:Surname`.
    CONTACTS_SURNAME = "contacts:Surname",
    /// `contacts:CompanyName`.
    CONTACTS_COMPANY_NAME = "contacts:CompanyName",
    /// `contacts:JobTitle`.
    CONTACTS_JOB_TITLE = "contacts:JobTitle",
    /// `contacts:EmailAddresses`.
    CONTACTS_EMAIL_ADDRESSES = "contacts:EmailAddresses",
    /// `contacts:PhoneNumbers`.
    CONTACTS_PHONE_NUMBERS = "contacts:PhoneNumbers",
    /// `task:DueDate`.
    TASK_DUE_DATE = "task:DueDate",
    /// `task:StartDate`.
    TASK_START_DATE = "task:StartDate",
    /// `task:Status`.
    TASK_STATUS = "task:Status",
    /// `task:PercentComplete`.
    TASK_PERCENT_COMPLETE = "task:PercentComplete",
    /// `task:CompleteDate`.
    TASK_COMPLETE_DATE = "task:CompleteDate",
    /// `folder:DisplayName`.
    FOLDER_DISPLAY_NAME = "folder:DisplayName",
    /// `folder:FolderClass`.
    FOLDER_CLASS = "folder:FolderClass",
    /// `folder:TotalCount`.
    FOLDER_TOTAL_COUNT = "folder:TotalCount",
    /// `folder:ParentFolderId`.
    FOLDER_PARENT_FOLDER_ID = "folder:ParentFolderId",
}

impl FieldUri {
    /// Any other field URI, as EWS spells it.
    pub fn new(uri: impl Into<Cow<'static, str>>) -> Self {
        FieldUri(uri.into())
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One entry of a dictionary property (`contacts:EmailAddress` with index `EmailAddress1`).
///
/// Reference: [IndexedFieldURI](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/indexedfielduri).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IndexedFieldUri {
    /// The dictionary (`contacts:EmailAddress`, `contacts:PhoneNumber`,
    /// `contacts:PhysicalAddress:City`, `item:InternetMessageHeader`…).
    pub field_uri: Cow<'static, str>,
    /// The key within it (`EmailAddress1`, `MobilePhone`, `Business`, a header name…).
    pub field_index: String,
}

impl IndexedFieldUri {
    /// A contact's e-mail address slot.
    pub fn email_address(key: super::EmailAddressKey) -> Self {
        IndexedFieldUri {
            field_uri: Cow::Borrowed("contacts:EmailAddress"),
            field_index: key.as_str().to_owned(),
        }
    }

    /// A contact's phone number slot.
    pub fn phone_number(key: &super::PhoneNumberKey) -> Self {
        IndexedFieldUri {
            field_uri: Cow::Borrowed("contacts:PhoneNumber"),
            field_index: key.as_str().to_owned(),
        }
    }
}

ews_enum! {
    /// The well-known MAPI property sets, addressable by name instead of GUID.
    ///
    /// Reference: [ExtendedFieldURI](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/extendedfielduri).
    open DistinguishedPropertySet {
        /// PSETID_Meeting.
        Meeting = "Meeting",
        /// PSETID_Appointment.
        Appointment = "Appointment",
        /// PSETID_Common.
        Common = "Common",
        /// PS_PUBLIC_STRINGS: where custom named properties usually live.
        PublicStrings = "PublicStrings",
        /// PSETID_Address.
        Address = "Address",
        /// PS_INTERNET_HEADERS.
        InternetHeaders = "InternetHeaders",
        /// PSETID_CalendarAssistant.
        CalendarAssistant = "CalendarAssistant",
        /// PSETID_UnifiedMessaging.
        UnifiedMessaging = "UnifiedMessaging",
        /// PSETID_Task.
        Task = "Task",
    }
}

ews_enum! {
    /// The MAPI type of an extended property's value.
    ///
    /// Reference: [ExtendedFieldURI](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/extendedfielduri).
    open MapiPropertyType {
        /// A floating-point date.
        ApplicationTime = "ApplicationTime",
        /// An array of ApplicationTime.
        ApplicationTimeArray = "ApplicationTimeArray",
        /// Bytes (base64 in the value).
        Binary = "Binary",
        /// An array of Binary.
        BinaryArray = "BinaryArray",
        /// A boolean.
        Boolean = "Boolean",
        /// A GUID.
        Clsid = "CLSID",
        /// An array of CLSID.
        ClsidArray = "CLSIDArray",
        /// A currency amount.
        Currency = "Currency",
        /// An array of Currency.
        CurrencyArray = "CurrencyArray",
        /// A double.
        Double = "Double",
        /// An array of Double.
        DoubleArray = "DoubleArray",
        /// A MAPI error (reported only).
        Error = "Error",
        /// A float.
        Float = "Float",
        /// An array of Float.
        FloatArray = "FloatArray",
        /// A 32-bit integer.
        Integer = "Integer",
        /// An array of Integer.
        IntegerArray = "IntegerArray",
        /// A 64-bit integer.
        Long = "Long",
        /// An array of Long.
        LongArray = "LongArray",
        /// No value (reported only).
        Null = "Null",
        /// An object (reported only).
        Object = "Object",
        /// An array of Object (reported only).
        ObjectArray = "ObjectArray",
        /// A 16-bit integer.
        Short = "Short",
        /// An array of Short.
        ShortArray = "ShortArray",
        /// A date and time.
        SystemTime = "SystemTime",
        /// An array of SystemTime.
        SystemTimeArray = "SystemTimeArray",
        /// A string.
        String = "String",
        /// An array of String.
        StringArray = "StringArray",
    }
}

/// The property set of a named property.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PropertySetId {
    /// A well-known set.
    Distinguished(DistinguishedPropertySet),
    /// A set by GUID.
    Guid(uuid::Uuid),
}

impl Serialize for PropertySetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PropertySetId::Distinguished(d) => s.serialize_str(d.as_str()),
            PropertySetId::Guid(g) => s.serialize_str(&g.hyphenated().to_string()),
        }
    }
}

/// Which MAPI property: by tag, or by name or number within a property set. The schema
/// allows exactly these combinations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtendedPropertyId {
    /// A property tag without its type part (`0x1081`, PR_LAST_VERB_EXECUTED).
    Tag(u16),
    /// A named property with a string name.
    Name {
        /// The property set.
        set: PropertySetId,
        /// The name.
        name: String,
    },
    /// A named property with a numeric id.
    Id {
        /// The property set.
        set: PropertySetId,
        /// The id.
        id: i32,
    },
}

/// An extended (MAPI) property path: which property, and its type.
///
/// Reference: [ExtendedFieldURI](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/extendedfielduri).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ExtendedFieldUri {
    /// Which property.
    pub property: ExtendedPropertyId,
    /// Its type.
    pub property_type: MapiPropertyType,
}

impl ExtendedFieldUri {
    /// A property by tag.
    pub fn tag(tag: u16, property_type: MapiPropertyType) -> Self {
        ExtendedFieldUri {
            property: ExtendedPropertyId::Tag(tag),
            property_type,
        }
    }

    /// A named property in a distinguished set (usually `PublicStrings`).
    pub fn named(
        set: DistinguishedPropertySet,
        name: impl Into<String>,
        property_type: MapiPropertyType,
    ) -> Self {
        ExtendedFieldUri {
            property: ExtendedPropertyId::Name {
                set: PropertySetId::Distinguished(set),
                name: name.into(),
            },
            property_type,
        }
    }

    /// A named property in a set given by GUID.
    pub fn named_in(
        set: uuid::Uuid,
        name: impl Into<String>,
        property_type: MapiPropertyType,
    ) -> Self {
        ExtendedFieldUri {
            property: ExtendedPropertyId::Name {
                set: PropertySetId::Guid(set),
                name: name.into(),
            },
            property_type,
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        let tag;
        let id;
        let guid;
        let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(3);
        let set = match &self.property {
            ExtendedPropertyId::Tag(_) => None,
            ExtendedPropertyId::Name { set, .. } | ExtendedPropertyId::Id { set, .. } => Some(set),
        };
        match set {
            Some(PropertySetId::Distinguished(d)) => {
                attrs.push(("DistinguishedPropertySetId", d.as_str()))
            }
            Some(PropertySetId::Guid(g)) => {
                guid = g.hyphenated().to_string();
                attrs.push(("PropertySetId", &guid));
            }
            None => {}
        }
        match &self.property {
            ExtendedPropertyId::Tag(t) => {
                tag = format!("0x{t:x}");
                attrs.push(("PropertyTag", &tag));
            }
            ExtendedPropertyId::Name { name, .. } => attrs.push(("PropertyName", name)),
            ExtendedPropertyId::Id { id: n, .. } => {
                id = n.to_string();
                attrs.push(("PropertyId", &id));
            }
        }
        attrs.push(("PropertyType", self.property_type.as_str()));
        w.empty("t:ExtendedFieldURI", &attrs);
    }

    /// Reads an `ExtendedFieldURI` element; `None` for a combination the schema does not
    /// allow or values that do not parse.
    pub(crate) fn read(el: &Element) -> Option<ExtendedFieldUri> {
        let property_type = MapiPropertyType::parse(el.attr("PropertyType")?);
        let property = if let Some(tag) = el.attr("PropertyTag") {
            ExtendedPropertyId::Tag(parse_tag(tag)?)
        } else {
            let set = if let Some(d) = el.attr("DistinguishedPropertySetId") {
                PropertySetId::Distinguished(DistinguishedPropertySet::parse(d))
            } else {
                PropertySetId::Guid(uuid::Uuid::parse_str(el.attr("PropertySetId")?.trim()).ok()?)
            };
            if let Some(name) = el.attr("PropertyName") {
                ExtendedPropertyId::Name {
                    set,
                    name: name.to_owned(),
                }
            } else {
                ExtendedPropertyId::Id {
                    set,
                    id: el.attr("PropertyId")?.trim().parse().ok()?,
                }
            }
        };
        Some(ExtendedFieldUri {
            property,
            property_type,
        })
    }
}

/// Reads a property tag: hex with `0x`/`0X`, or decimal (both allowed by `PropertyTagType`).
fn parse_tag(text: &str) -> Option<u16> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Any property path: by name, by dictionary entry, or an extended property.
///
/// Reference: [AdditionalProperties](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/additionalproperties).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyPath {
    /// `t:FieldURI`.
    Field(FieldUri),
    /// `t:IndexedFieldURI`.
    Indexed(IndexedFieldUri),
    /// `t:ExtendedFieldURI`.
    Extended(ExtendedFieldUri),
}

impl PropertyPath {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match self {
            PropertyPath::Field(f) => {
                w.empty("t:FieldURI", &[("FieldURI", f.as_str())]);
            }
            PropertyPath::Indexed(i) => {
                w.empty(
                    "t:IndexedFieldURI",
                    &[("FieldURI", &i.field_uri), ("FieldIndex", &i.field_index)],
                );
            }
            PropertyPath::Extended(e) => e.write(w),
        }
    }
}

impl From<FieldUri> for PropertyPath {
    fn from(f: FieldUri) -> Self {
        PropertyPath::Field(f)
    }
}

impl From<ExtendedFieldUri> for PropertyPath {
    fn from(e: ExtendedFieldUri) -> Self {
        PropertyPath::Extended(e)
    }
}

impl From<IndexedFieldUri> for PropertyPath {
    fn from(i: IndexedFieldUri) -> Self {
        PropertyPath::Indexed(i)
    }
}

/// An extended property's value: one, or a list for the `*Array` types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ExtendedValue {
    /// `t:Value`.
    Single(String),
    /// `t:Values/t:Value`…
    Multiple(Vec<String>),
}

/// An extended (MAPI) property and its value, as items carry them.
///
/// Reference: [ExtendedProperty](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/extendedproperty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtendedProperty {
    /// Which property.
    pub field_uri: ExtendedFieldUri,
    /// Its value.
    pub value: ExtendedValue,
}

impl ExtendedProperty {
    /// A single-valued property.
    pub fn new(field_uri: ExtendedFieldUri, value: impl Into<String>) -> Self {
        ExtendedProperty {
            field_uri,
            value: ExtendedValue::Single(value.into()),
        }
    }

    /// Writes `t:ExtendedProperty`. A multi-valued property with no values is skipped: the
    /// schema requires at least one, and removing a property is `DeleteItemField`'s job.
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        if matches!(&self.value, ExtendedValue::Multiple(v) if v.is_empty()) {
            tracing::debug!("skipping an extended property with an empty value list");
            return;
        }
        w.start("t:ExtendedProperty", &[]);
        self.field_uri.write(w);
        match &self.value {
            ExtendedValue::Single(v) => {
                w.text_element("t:Value", v);
            }
            ExtendedValue::Multiple(values) => {
                w.start("t:Values", &[]);
                for v in values {
                    w.text_element("t:Value", v);
                }
                w.end("t:Values");
            }
        }
        w.end("t:ExtendedProperty");
    }

    pub(crate) fn read(el: &Element) -> Option<ExtendedProperty> {
        let field_uri = ExtendedFieldUri::read(el.child(NS_TYPES, "ExtendedFieldURI")?)?;
        let value = if let Some(v) = el.child(NS_TYPES, "Value") {
            ExtendedValue::Single(v.text.clone())
        } else {
            ExtendedValue::Multiple(
                el.child(NS_TYPES, "Values")?
                    .children_named(NS_TYPES, "Value")
                    .map(|v| v.text.clone())
                    .collect(),
            )
        };
        Some(ExtendedProperty { field_uri, value })
    }

    /// Every readable `t:ExtendedProperty` child of an item or folder.
    pub(crate) fn read_all(parent: &Element) -> Vec<ExtendedProperty> {
        parent
            .children_named(NS_TYPES, "ExtendedProperty")
            .filter_map(|p| {
                let read = ExtendedProperty::read(p);
                if read.is_none() {
                    super::read::dropped("ExtendedProperty");
                }
                read
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn written(f: impl FnOnce(&mut XmlWriter)) -> String {
        let mut w = XmlWriter::new();
        f(&mut w);
        w.into_string()
    }

    #[test]
    fn a_tagged_property_is_written_in_hex() {
        let uri = ExtendedFieldUri::tag(0x1081, MapiPropertyType::Integer);
        assert_eq!(
            written(|w| uri.write(w)),
            r#"<t:ExtendedFieldURI PropertyTag="0x1081" PropertyType="Integer"/>"#
        );
    }

    #[test]
    fn a_named_property_names_its_set_first() {
        let uri = ExtendedFieldUri::named(
            DistinguishedPropertySet::PublicStrings,
            "X-Exsync",
            MapiPropertyType::String,
        );
        assert_eq!(
            written(|w| uri.write(w)),
            r#"<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="X-Exsync" PropertyType="String"/>"#
        );
    }

    #[test]
    fn property_tags_are_read_in_hex_and_decimal() {
        assert_eq!(parse_tag("0x1081"), Some(0x1081));
        assert_eq!(parse_tag("0X1A"), Some(0x1a));
        assert_eq!(parse_tag("4225"), Some(4225));
        assert_eq!(parse_tag("0x10000"), None);
        assert_eq!(parse_tag("zz"), None);
    }

    #[test]
    fn a_multi_valued_property_reads_every_value() {
        let doc = format!(
            r#"<t:ExtendedProperty xmlns:t="{NS_TYPES}"><t:ExtendedFieldURI PropertySetId="00062008-0000-0000-C000-000000000046" PropertyId="34101" PropertyType="StringArray"/><t:Values><t:Value>a</t:Value><t:Value>b</t:Value></t:Values></t:ExtendedProperty>"#
        );
        let el = parse(doc.as_bytes(), Limits::default()).unwrap();
        let p = ExtendedProperty::read(&el).unwrap();
        assert_eq!(
            p.value,
            ExtendedValue::Multiple(vec!["a".into(), "b".into()])
        );
        assert!(matches!(
            p.field_uri.property,
            ExtendedPropertyId::Id {
                set: PropertySetId::Guid(_),
                id: 34101
            }
        ));
    }

    #[test]
    fn a_property_without_a_valid_combination_is_not_read() {
        let doc = format!(
            r#"<t:ExtendedProperty xmlns:t="{NS_TYPES}"><t:ExtendedFieldURI PropertyName="x" PropertyType="String"/><t:Value>a</t:Value></t:ExtendedProperty>"#
        );
        let el = parse(doc.as_bytes(), Limits::default()).unwrap();
        assert_eq!(ExtendedProperty::read(&el), None);
    }
}
