//! exsync's own named MAPI properties: what marks an Exchange item as exsync's copy of
//! something. Outgoing send stamps each message with its activity id ([`super::outgoing`]),
//! ACT sync each appointment, contact and task it creates with its record id
//! ([`super::act`]); both find their items again by them, so the names never change.

use exsync_ews::types::{ExtendedFieldUri, MapiPropertyType};

/// The property set of exsync's own named MAPI properties (a fixed GUID: changing it
/// would make every earlier send invisible to the Sent Items check).
pub const EXSYNC_PROPERTY_SET: uuid::Uuid =
    uuid::Uuid::from_u128(0x6a1f_3c2e_8b4d_4e57_9c0a_5e2d_7f41_b8c3);

/// The name of the property carrying the activity id on sent messages.
pub const ACTIVITY_ID_PROPERTY: &str = "ExsyncActivityId";

/// The name of the property carrying the record id on the appointments, contacts and
/// tasks exsync creates in Exchange (see [`super::act`]).
pub const RECORD_ID_PROPERTY: &str = "ExsyncRecordId";

/// The extended property (`String`, in [`EXSYNC_PROPERTY_SET`]) that marks a message as
/// the send of one activity.
///
/// Reference: [ExtendedFieldURI](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/extendedfielduri).
pub fn activity_id_property() -> ExtendedFieldUri {
    ExtendedFieldUri::named_in(
        EXSYNC_PROPERTY_SET,
        ACTIVITY_ID_PROPERTY,
        MapiPropertyType::String,
    )
}

/// The extended property (`String`, in [`EXSYNC_PROPERTY_SET`]) that marks an
/// appointment, contact or task as the Exchange copy of one exsync record.
pub fn record_id_property() -> ExtendedFieldUri {
    ExtendedFieldUri::named_in(
        EXSYNC_PROPERTY_SET,
        RECORD_ID_PROPERTY,
        MapiPropertyType::String,
    )
}
