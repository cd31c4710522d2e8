//! The EWS vocabulary: ids, folders, items, extended properties, times, shapes and
//! restrictions.
//!
//! Every type here can be written into a request (in the element order types.xsd fixes,
//! since EWS validates requests against the schema) and/or read from a response. Reading is
//! lenient where servers are known to vary: an unparseable optional value is dropped (and
//! logged by field name only), an unknown item kind becomes [`Item::Other`], and open
//! vocabularies keep unknown values verbatim.

mod datetime;
mod folder;
mod ids;
mod item;
mod mailbox;
mod paging;
mod property;
mod restriction;
mod shape;

pub(crate) mod read;

pub use datetime::DateTime;
pub use folder::{Folder, FolderKind, NewFolder};
pub use ids::{
    AttachmentId, BaseFolderId, DistinguishedFolderId, DistinguishedFolderName, FolderId, ItemId,
    SyncState,
};
pub use item::{
    Attachment, AttachmentInfo, AttachmentKind, Body, BodyType, CalendarItem, Contact,
    EmailAddressEntry, EmailAddressKey, Importance, InternetMessageHeader, Item, ItemKind,
    ItemSummary, LegacyFreeBusyStatus, Message, NewItem, PhoneNumberEntry, PhoneNumberKey,
    PhysicalAddress, PhysicalAddressKey, ResponseType, Task, TaskStatus,
};
pub use mailbox::{Attendee, Mailbox};
pub use paging::{IndexBasePoint, IndexedPageView, PageInfo};
pub use property::{
    DistinguishedPropertySet, ExtendedFieldUri, ExtendedProperty, ExtendedPropertyId,
    ExtendedValue, FieldUri, IndexedFieldUri, MapiPropertyType, PropertyPath, PropertySetId,
};
pub use restriction::{
    ComparisonOp, ContainmentComparison, ContainmentMode, Operand, Restriction, SortDirection,
    SortOrder,
};
pub use shape::{BaseShape, BodyTypeResponse, FolderShape, ItemShape};

/// Binary content (MIME, conversation index, attachment bytes) already decoded from base64.
///
/// Serialised (for the CLI's JSON) as standard base64 again, so output stays printable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Binary(pub Vec<u8>);

impl Binary {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Standard base64 of the bytes, as EWS carries them.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }

    /// Decodes base64 as EWS sends it: servers fold long values with line breaks and
    /// indentation, so all ASCII whitespace is ignored.
    pub fn from_base64(text: &str) -> Option<Binary> {
        use base64::Engine as _;
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .ok()
            .map(Binary)
    }
}

impl serde::Serialize for Binary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

/// Declares a vocabulary enum that EWS spells as strings.
///
/// `open` enums keep values they do not know in an `Other(String)` variant, because servers
/// newer than the 2010 SP2 schema add values; `closed` ones are only ever written by exsync,
/// or read where an unknown value can be dropped.
macro_rules! ews_enum {
    (
        $(#[$m:meta])*
        open $name:ident { $( $(#[$vm:meta])* $var:ident = $s:literal ),* $(,)? }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vm])* $var, )*
            /// A value this crate does not know, as the server spelled it.
            Other(String),
        }

        impl $name {
            /// The value as EWS spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$var => $s, )*
                    $name::Other(s) => s,
                }
            }

            /// Reads a value; unknown ones are kept in `Other`.
            pub fn parse(s: &str) -> $name {
                match s.trim() {
                    $( $s => $name::$var, )*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
    (
        $(#[$m:meta])*
        closed $name:ident { $( $(#[$vm:meta])* $var:ident = $s:literal ),* $(,)? }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vm])* $var, )*
        }

        impl $name {
            /// The value as EWS spells it.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( $name::$var => $s, )*
                }
            }

            /// Reads a value; `None` for one this crate does not know.
            pub fn parse(s: &str) -> Option<$name> {
                match s.trim() {
                    $( $s => Some($name::$var), )*
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use ews_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_tolerates_line_breaks_and_indentation() {
        let b = Binary::from_base64("  AQID\r\n    BAU=\n").unwrap();
        assert_eq!(b.as_bytes(), &[1, 2, 3, 4, 5]);
    }

    #[test]
    fn invalid_base64_is_none() {
        assert!(Binary::from_base64("not base64!").is_none());
    }
}
