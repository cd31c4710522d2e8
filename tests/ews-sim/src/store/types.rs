//! The public vocabulary of the mailbox store: ids, addresses, extended properties, folders.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id as it travels in EWS documents.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps an id received from outside; whether it names anything is the store's
            /// business.
            pub fn new(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// An item's EWS id (`t:ItemId/@Id`): opaque base64, random, unique across mailboxes.
    /// Like Exchange's, it changes when the item moves to another folder.
    ItemId
);
opaque_id!(
    /// A folder's EWS id (`t:FolderId/@Id`).
    FolderId
);
opaque_id!(
    /// A change key: a new one on every change of the item or folder.
    ChangeKey
);
opaque_id!(
    /// An attachment's id (`t:AttachmentId/@Id`).
    AttachmentId
);

/// What kind of object an opaque id was minted for (its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdTag {
    Item = b'I' as isize,
    Folder = b'F' as isize,
    Attachment = b'A' as isize,
}

const ID_BYTES: usize = 32;

/// A fresh random id of the given kind.
pub(crate) fn mint_id(tag: IdTag) -> String {
    let mut bytes: [u8; ID_BYTES] = rand::random();
    bytes[0] = tag as u8;
    B64.encode(bytes)
}

/// True when `raw` has the shape of an id this store mints for `tag` (it may still name
/// nothing). Exchange answers `ErrorInvalidIdMalformed` for ids that fail this.
pub(crate) fn is_well_formed(raw: &str, tag: IdTag) -> bool {
    match B64.decode(raw.trim()) {
        Ok(bytes) => bytes.len() == ID_BYTES && bytes.first() == Some(&(tag as u8)),
        Err(_) => false,
    }
}

/// A change key for change number `seq`.
pub(crate) fn change_key_for(seq: u64) -> ChangeKey {
    let mut bytes = vec![0x09, 0x00, 0x00, 0x00];
    bytes.extend_from_slice(&seq.to_be_bytes());
    ChangeKey(B64.encode(bytes))
}

/// The folders every mailbox has, named as in `t:DistinguishedFolderId/@Id`.
///
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/distinguishedfolderid>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DistinguishedFolder {
    /// `root`: the top of the mailbox, above msgfolderroot.
    Root,
    /// `msgfolderroot`: "Top of Information Store", parent of the folders a user sees.
    MsgFolderRoot,
    /// `inbox`.
    Inbox,
    /// `sentitems`.
    SentItems,
    /// `drafts`.
    Drafts,
    /// `deleteditems`.
    DeletedItems,
    /// `outbox`.
    Outbox,
    /// `junkemail`.
    JunkEmail,
    /// `calendar`.
    Calendar,
    /// `contacts`.
    Contacts,
    /// `tasks`.
    Tasks,
}

impl DistinguishedFolder {
    /// Every distinguished folder the simulator creates, parents before children.
    pub const ALL: [DistinguishedFolder; 11] = [
        DistinguishedFolder::Root,
        DistinguishedFolder::MsgFolderRoot,
        DistinguishedFolder::Inbox,
        DistinguishedFolder::SentItems,
        DistinguishedFolder::Drafts,
        DistinguishedFolder::DeletedItems,
        DistinguishedFolder::Outbox,
        DistinguishedFolder::JunkEmail,
        DistinguishedFolder::Calendar,
        DistinguishedFolder::Contacts,
        DistinguishedFolder::Tasks,
    ];

    /// The `DistinguishedFolderId/@Id` value.
    pub fn id(self) -> &'static str {
        match self {
            DistinguishedFolder::Root => "root",
            DistinguishedFolder::MsgFolderRoot => "msgfolderroot",
            DistinguishedFolder::Inbox => "inbox",
            DistinguishedFolder::SentItems => "sentitems",
            DistinguishedFolder::Drafts => "drafts",
            DistinguishedFolder::DeletedItems => "deleteditems",
            DistinguishedFolder::Outbox => "outbox",
            DistinguishedFolder::JunkEmail => "junkemail",
            DistinguishedFolder::Calendar => "calendar",
            DistinguishedFolder::Contacts => "contacts",
            DistinguishedFolder::Tasks => "tasks",
        }
    }

    /// Parses a `DistinguishedFolderId/@Id` value; `None` for names the simulator does not
    /// model (journal, archive folders, …).
    pub fn from_id(id: &str) -> Option<Self> {
        DistinguishedFolder::ALL.into_iter().find(|f| f.id() == id)
    }

    /// The display name an English-language mailbox gives it.
    pub fn display_name(self) -> &'static str {
        match self {
            DistinguishedFolder::Root => "",
            DistinguishedFolder::MsgFolderRoot => "Top of Information Store",
            DistinguishedFolder::Inbox => "Inbox",
            DistinguishedFolder::SentItems => "Sent Items",
            DistinguishedFolder::Drafts => "Drafts",
            DistinguishedFolder::DeletedItems => "Deleted Items",
            DistinguishedFolder::Outbox => "Outbox",
            DistinguishedFolder::JunkEmail => "Junk Email",
            DistinguishedFolder::Calendar => "Calendar",
            DistinguishedFolder::Contacts => "Contacts",
            DistinguishedFolder::Tasks => "Tasks",
        }
    }

    /// Its parent among the distinguished folders (`None` for root).
    pub fn parent(self) -> Option<Self> {
        match self {
            DistinguishedFolder::Root => None,
            DistinguishedFolder::MsgFolderRoot => Some(DistinguishedFolder::Root),
            _ => Some(DistinguishedFolder::MsgFolderRoot),
        }
    }

    pub(crate) fn kind(self) -> FolderKind {
        match self {
            DistinguishedFolder::Calendar => FolderKind::Calendar,
            DistinguishedFolder::Contacts => FolderKind::Contacts,
            DistinguishedFolder::Tasks => FolderKind::Tasks,
            _ => FolderKind::Mail,
        }
    }

    pub(crate) fn folder_class(self) -> Option<&'static str> {
        match self {
            DistinguishedFolder::Root | DistinguishedFolder::MsgFolderRoot => None,
            other => Some(other.kind().default_class()),
        }
    }
}

/// Which `t:*Folder` element a folder is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FolderKind {
    Mail,
    Calendar,
    Contacts,
    Tasks,
}

impl FolderKind {
    pub(crate) fn default_class(self) -> &'static str {
        match self {
            FolderKind::Mail => "IPF.Note",
            FolderKind::Calendar => "IPF.Appointment",
            FolderKind::Contacts => "IPF.Contact",
            FolderKind::Tasks => "IPF.Task",
        }
    }

    pub(crate) fn element(self) -> &'static str {
        match self {
            FolderKind::Mail => "Folder",
            FolderKind::Calendar => "CalendarFolder",
            FolderKind::Contacts => "ContactsFolder",
            FolderKind::Tasks => "TasksFolder",
        }
    }

    pub(crate) fn from_class(class: &str) -> Self {
        let lower = class.to_ascii_lowercase();
        if lower.starts_with("ipf.appointment") {
            FolderKind::Calendar
        } else if lower.starts_with("ipf.contact") {
            FolderKind::Contacts
        } else if lower.starts_with("ipf.task") {
            FolderKind::Tasks
        } else {
            FolderKind::Mail
        }
    }
}

/// The kinds of item the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// An e-mail (`t:Message`, IPM.Note).
    Message,
    /// An appointment or meeting (`t:CalendarItem`, IPM.Appointment).
    CalendarItem,
    /// A contact (`t:Contact`, IPM.Contact).
    Contact,
    /// A task (`t:Task`, IPM.Task).
    Task,
}

impl ItemKind {
    /// The element name in `t:Items` and friends.
    pub fn element(self) -> &'static str {
        match self {
            ItemKind::Message => "Message",
            ItemKind::CalendarItem => "CalendarItem",
            ItemKind::Contact => "Contact",
            ItemKind::Task => "Task",
        }
    }

    /// The item class new items of this kind get.
    pub fn default_class(self) -> &'static str {
        match self {
            ItemKind::Message => "IPM.Note",
            ItemKind::CalendarItem => "IPM.Appointment",
            ItemKind::Contact => "IPM.Contact",
            ItemKind::Task => "IPM.Task",
        }
    }

    /// Where items of this kind go when no folder is named.
    pub fn default_folder(self) -> DistinguishedFolder {
        match self {
            ItemKind::Message => DistinguishedFolder::Drafts,
            ItemKind::CalendarItem => DistinguishedFolder::Calendar,
            ItemKind::Contact => DistinguishedFolder::Contacts,
            ItemKind::Task => DistinguishedFolder::Tasks,
        }
    }
}

/// A mailbox address (`t:Mailbox`: Name + EmailAddress, routing type SMTP).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailAddress {
    /// Display name.
    pub name: Option<String>,
    /// SMTP address.
    pub address: String,
}

impl EmailAddress {
    /// An address without a display name.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            name: None,
            address: address.into(),
        }
    }

    /// An address with a display name.
    pub fn named(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            address: address.into(),
        }
    }

    /// `"Name" <address>` or `address`, as in an RFC 5322 header.
    pub fn to_header(&self) -> String {
        match &self.name {
            Some(name) if !name.is_empty() => {
                let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
                format!(
                    "\"{}\" <{}>",
                    crate::store::mime::encode_word(&quoted),
                    self.address
                )
            }
            _ => self.address.clone(),
        }
    }
}

/// A MAPI property set known by name in EWS (`DistinguishedPropertySetId`).
///
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/extendedfielduri>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistinguishedPropertySet {
    /// PSETID_Meeting.
    Meeting,
    /// PSETID_Appointment.
    Appointment,
    /// PSETID_Common.
    Common,
    /// PS_PUBLIC_STRINGS.
    PublicStrings,
    /// PSETID_Address.
    Address,
    /// PS_INTERNET_HEADERS.
    InternetHeaders,
    /// PSETID_CalendarAssistant.
    CalendarAssistant,
    /// PSETID_UnifiedMessaging.
    UnifiedMessaging,
    /// PSETID_Task.
    Task,
}

impl DistinguishedPropertySet {
    const ALL: [DistinguishedPropertySet; 9] = [
        DistinguishedPropertySet::Meeting,
        DistinguishedPropertySet::Appointment,
        DistinguishedPropertySet::Common,
        DistinguishedPropertySet::PublicStrings,
        DistinguishedPropertySet::Address,
        DistinguishedPropertySet::InternetHeaders,
        DistinguishedPropertySet::CalendarAssistant,
        DistinguishedPropertySet::UnifiedMessaging,
        DistinguishedPropertySet::Task,
    ];

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            DistinguishedPropertySet::Meeting => "Meeting",
            DistinguishedPropertySet::Appointment => "Appointment",
            DistinguishedPropertySet::Common => "Common",
            DistinguishedPropertySet::PublicStrings => "PublicStrings",
            DistinguishedPropertySet::Address => "Address",
            DistinguishedPropertySet::InternetHeaders => "InternetHeaders",
            DistinguishedPropertySet::CalendarAssistant => "CalendarAssistant",
            DistinguishedPropertySet::UnifiedMessaging => "UnifiedMessaging",
            DistinguishedPropertySet::Task => "Task",
        }
    }

    /// Parses the attribute value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The set's GUID (lower case), so `DistinguishedPropertySetId="PublicStrings"` and
    /// `PropertySetId="00020329-…"` name the same properties, as in MAPI.
    pub fn guid(self) -> &'static str {
        match self {
            DistinguishedPropertySet::Meeting => "6ed8da90-450b-101b-98da-00aa003f1305",
            DistinguishedPropertySet::Appointment => "00062002-0000-0000-c000-000000000046",
            DistinguishedPropertySet::Common => "00062008-0000-0000-c000-000000000046",
            DistinguishedPropertySet::PublicStrings => "00020329-0000-0000-c000-000000000046",
            DistinguishedPropertySet::Address => "00062004-0000-0000-c000-000000000046",
            DistinguishedPropertySet::InternetHeaders => "00020386-0000-0000-c000-000000000046",
            DistinguishedPropertySet::CalendarAssistant => "11000e07-b51b-40d6-af21-caa85edab1d0",
            DistinguishedPropertySet::UnifiedMessaging => "4442858e-a9e3-4e80-b900-317a210cc15b",
            DistinguishedPropertySet::Task => "00062003-0000-0000-c000-000000000046",
        }
    }
}

/// The property set of a named property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertySet {
    /// By name (`DistinguishedPropertySetId`).
    Distinguished(DistinguishedPropertySet),
    /// By GUID (`PropertySetId`), kept as written.
    Guid(String),
}

impl PropertySet {
    fn normalized_guid(&self) -> String {
        match self {
            PropertySet::Distinguished(d) => d.guid().to_owned(),
            PropertySet::Guid(g) => g.trim().to_ascii_lowercase(),
        }
    }
}

/// The name or numeric id of a named property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyName {
    /// `PropertyName`.
    Name(String),
    /// `PropertyId`.
    Id(i32),
}

/// Which extended property (`t:ExtendedFieldURI` without the type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyKey {
    /// A tagged property (`PropertyTag="0x1081"`).
    Tag(u16),
    /// A named property in a property set.
    Named {
        /// The set.
        set: PropertySet,
        /// Name or id within the set.
        name: PropertyName,
    },
}

impl PropertyKey {
    /// A string-named property in PS_PUBLIC_STRINGS.
    pub fn public_string(name: impl Into<String>) -> Self {
        PropertyKey::Named {
            set: PropertySet::Distinguished(DistinguishedPropertySet::PublicStrings),
            name: PropertyName::Name(name.into()),
        }
    }

    /// A string-named property in the set with this GUID.
    pub fn named(set_guid: impl Into<String>, name: impl Into<String>) -> Self {
        PropertyKey::Named {
            set: PropertySet::Guid(set_guid.into()),
            name: PropertyName::Name(name.into()),
        }
    }

    /// True when both name the same MAPI property (set GUIDs compared case-insensitively,
    /// distinguished sets by their GUID).
    pub fn same_property(&self, other: &PropertyKey) -> bool {
        match (self, other) {
            (PropertyKey::Tag(a), PropertyKey::Tag(b)) => a == b,
            (
                PropertyKey::Named { set: sa, name: na },
                PropertyKey::Named { set: sb, name: nb },
            ) => na == nb && sa.normalized_guid() == sb.normalized_guid(),
            _ => false,
        }
    }
}

/// An extended property's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    /// `t:Value`.
    Single(String),
    /// `t:Values/t:Value*` (array types).
    Multiple(Vec<String>),
}

/// An extended (MAPI) property on an item or folder.
///
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/extendedproperty>
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedProperty {
    /// Which property.
    pub key: PropertyKey,
    /// `PropertyType` (`String`, `Integer`, `SystemTime`, `StringArray`, …).
    pub property_type: String,
    /// The value, in EWS's string form.
    pub value: PropertyValue,
}

impl ExtendedProperty {
    /// A `String` property.
    pub fn string(key: PropertyKey, value: impl Into<String>) -> Self {
        Self {
            key,
            property_type: "String".into(),
            value: PropertyValue::Single(value.into()),
        }
    }

    /// The single value, if it is not an array.
    pub fn single(&self) -> Option<&str> {
        match &self.value {
            PropertyValue::Single(v) => Some(v),
            PropertyValue::Multiple(_) => None,
        }
    }
}

/// Sets or replaces `prop` in `list` (one value per property).
pub(crate) fn upsert_property(list: &mut Vec<ExtendedProperty>, prop: ExtendedProperty) {
    match list.iter_mut().find(|p| p.key.same_property(&prop.key)) {
        Some(existing) => *existing = prop,
        None => list.push(prop),
    }
}

/// A file attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Content-ID for inline parts.
    pub content_id: Option<String>,
    /// Whether it is shown inline.
    pub is_inline: bool,
    /// The bytes.
    pub content: Vec<u8>,
}
