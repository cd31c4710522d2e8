//! SyncFolderItems: what changed in a folder since a sync state.

use super::single;
use crate::Operation;
use crate::error::EwsError;
use crate::types::read::parse_bool;
use crate::types::{BaseFolderId, Item, ItemId, ItemShape, SyncState, ews_enum};
use crate::xml::{Element, NS_MESSAGES, NS_TYPES, XmlWriter};
use serde::Serialize;

/// How many changes one SyncFolderItems call may return: 1 to 512, as the schema's
/// `MaxSyncChangesReturnedType` allows (513 fails validation on the server).
///
/// Reference: [MaxChangesReturned](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/maxchangesreturned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaxChangesReturned(u16);

impl MaxChangesReturned {
    /// The largest batch EWS allows.
    pub const MAX: MaxChangesReturned = MaxChangesReturned(512);

    /// `n` changes; `None` outside 1..=512.
    pub fn new(n: u32) -> Option<Self> {
        match u16::try_from(n) {
            Ok(n @ 1..=512) => Some(MaxChangesReturned(n)),
            _ => None,
        }
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<u32> for MaxChangesReturned {
    type Error = u32;

    /// Fails with the refused value.
    fn try_from(n: u32) -> Result<Self, u32> {
        MaxChangesReturned::new(n).ok_or(n)
    }
}

ews_enum! {
    /// Which items to synchronize.
    ///
    /// Reference: [SyncScope](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncscope).
    closed SyncScope {
        /// Normal items only.
        NormalItems = "NormalItems",
        /// Normal and folder-associated (hidden) items.
        NormalAndAssociatedItems = "NormalAndAssociatedItems",
    }
}

/// Asks what changed in a folder since `sync_state` (everything, on the first call).
///
/// Loop while [`SyncFolderItemsResult::includes_last_item_in_range`] is false, and store
/// each new state only once its changes are applied. `ErrorInvalidSyncStateData` (class
/// [`crate::ErrorClass::SyncStateInvalid`]) means: drop the state and start over.
///
/// Reference: [SyncFolderItems operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderitems-operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFolderItems {
    /// Which properties changed items carry (`IdOnly` is the cheap choice).
    pub shape: ItemShape,
    /// The folder.
    pub folder_id: BaseFolderId,
    /// Where the last call left off; `None` for the first sync.
    pub sync_state: Option<SyncState>,
    /// Items whose changes should not be reported.
    pub ignore: Vec<ItemId>,
    /// At most this many changes.
    pub max_changes_returned: MaxChangesReturned,
    /// Normal items only, or associated items too.
    pub sync_scope: Option<SyncScope>,
}

/// One change in a folder.
///
/// Reference: [Changes (Items)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/changes-items).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", content = "item", rename_all = "snake_case")]
pub enum SyncChange {
    /// A new item, in the requested shape.
    Create(Item),
    /// A changed item, in the requested shape.
    Update(Item),
    /// A deleted item.
    Delete(ItemId),
    /// Only the read flag changed.
    ReadFlagChange {
        /// Which item.
        item_id: ItemId,
        /// Its new read flag.
        is_read: bool,
    },
}

/// What SyncFolderItems answered.
///
/// Reference: [SyncFolderItemsResponseMessage](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderitemsresponsemessage).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncFolderItemsResult {
    /// The state to send next time, once these changes are applied.
    pub sync_state: SyncState,
    /// Whether this batch reaches the present; if not, call again at once with the new
    /// state. `true` when the server omits it, so a sync loop ends.
    pub includes_last_item_in_range: bool,
    /// The changes, in server order (newest first from 2010 SP2 on; do not rely on it).
    pub changes: Vec<SyncChange>,
}

impl Operation for SyncFolderItems {
    const NAME: &'static str = "SyncFolderItems";
    const READ_ONLY: bool = true;
    type Response = SyncFolderItemsResult;

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:SyncFolderItems", &[]);
        self.shape.write_as(w, "m:ItemShape");
        w.start("m:SyncFolderId", &[]);
        self.folder_id.write(w);
        w.end("m:SyncFolderId");
        if let Some(state) = &self.sync_state {
            w.text_element("m:SyncState", &state.0);
        }
        if !self.ignore.is_empty() {
            super::write_item_ids(w, "m:Ignore", &self.ignore);
        }
        w.text_element(
            "m:MaxChangesReturned",
            &self.max_changes_returned.get().to_string(),
        );
        if let Some(scope) = self.sync_scope {
            w.text_element("m:SyncScope", scope.as_str());
        }
        w.end("m:SyncFolderItems");
    }

    fn parse_response(body: &Element) -> Result<Self::Response, EwsError> {
        single(body, Self::NAME, read_result)
    }
}

pub(crate) fn read_result(message: &Element) -> Result<SyncFolderItemsResult, EwsError> {
    let sync_state = message
        .child(NS_MESSAGES, "SyncState")
        .map(|s| s.trimmed())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            EwsError::shape(
                "no m:SyncState in a successful message",
                "SyncFolderItemsResponseMessage",
            )
        })?;
    let includes_last_item_in_range = message
        .child_text(NS_MESSAGES, "IncludesLastItemInRange")
        .and_then(parse_bool)
        .unwrap_or(true);
    let changes = message
        .child(NS_MESSAGES, "Changes")
        .map(|c| c.children.iter().filter_map(read_change).collect())
        .unwrap_or_default();
    Ok(SyncFolderItemsResult {
        sync_state: SyncState(sync_state.to_owned()),
        includes_last_item_in_range,
        changes,
    })
}

/// Reads one change. A change without what it must carry (an item, an id) is skipped with
/// a warning: it could not be applied anyway, and failing the call would replay it forever.
fn read_change(change: &Element) -> Option<SyncChange> {
    let item = || change.children.first().map(Item::read);
    let item_id = || change.child(NS_TYPES, "ItemId").and_then(ItemId::read);
    let read = if change.ns != NS_TYPES {
        None
    } else {
        match change.name.as_str() {
            "Create" => item().map(SyncChange::Create),
            "Update" => item().map(SyncChange::Update),
            "Delete" => item_id().map(SyncChange::Delete),
            "ReadFlagChange" => item_id().and_then(|item_id| {
                let is_read = change.child_text(NS_TYPES, "IsRead").and_then(parse_bool)?;
                Some(SyncChange::ReadFlagChange { item_id, is_read })
            }),
            _ => None,
        }
    };
    if read.is_none() {
        tracing::warn!(change = %change.name, "skipping a SyncFolderItems change that could not be read");
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::test_support::{body, respond};
    use crate::types::{DistinguishedFolderName, FieldUri};

    #[test]
    fn max_changes_returned_holds_only_1_to_512() {
        assert!(MaxChangesReturned::new(0).is_none());
        assert_eq!(MaxChangesReturned::new(1).map(|m| m.get()), Some(1));
        assert_eq!(MaxChangesReturned::new(512), Some(MaxChangesReturned::MAX));
        assert_eq!(MaxChangesReturned::try_from(513), Err(513));
    }

    #[test]
    fn request_carries_state_ignore_and_scope_in_schema_order() {
        let op = SyncFolderItems {
            shape: ItemShape::id_only().with_properties([FieldUri::ITEM_SUBJECT.into()]),
            folder_id: DistinguishedFolderName::SentItems.into(),
            sync_state: Some(SyncState("AEbJ94eMOAAA=".into())),
            ignore: vec![ItemId::with_change_key("AQApAHRAA==", "CQAAABY")],
            max_changes_returned: MaxChangesReturned::new(100).unwrap(),
            sync_scope: Some(SyncScope::NormalItems),
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"#,
                r#"<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape>"#,
                r#"<m:SyncFolderId><t:DistinguishedFolderId Id="sentitems"/></m:SyncFolderId>"#,
                r#"<m:SyncState>AEbJ94eMOAAA=</m:SyncState>"#,
                r#"<m:Ignore><t:ItemId Id="AQApAHRAA==" ChangeKey="CQAAABY"/></m:Ignore>"#,
                r#"<m:MaxChangesReturned>100</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>"#
            )
        );
    }

    #[test]
    fn the_first_sync_sends_no_state() {
        let op = SyncFolderItems {
            shape: ItemShape::id_only(),
            folder_id: DistinguishedFolderName::Inbox.into(),
            sync_state: None,
            ignore: vec![],
            max_changes_returned: MaxChangesReturned::MAX,
            sync_scope: None,
        };
        assert_eq!(
            body(&op),
            concat!(
                r#"<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"#,
                r#"<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>"#,
                r#"<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>"#
            )
        );
    }

    #[test]
    fn every_change_kind_is_read() {
        let r = respond::<SyncFolderItems>(concat!(
            r#"<m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode><m:SyncState>S2</m:SyncState>"#,
            r#"<m:IncludesLastItemInRange>false</m:IncludesLastItemInRange><m:Changes>"#,
            r#"<t:Create><t:Message><t:ItemId Id="1"/></t:Message></t:Create>"#,
            r#"<t:Update><t:Contact><t:ItemId Id="2"/></t:Contact></t:Update>"#,
            r#"<t:Delete><t:ItemId Id="3"/></t:Delete>"#,
            r#"<t:ReadFlagChange><t:ItemId Id="4"/><t:IsRead>true</t:IsRead></t:ReadFlagChange>"#,
            r#"<t:Delete/>"#,
            r#"</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>"#
        ))
        .unwrap();
        assert_eq!(r.sync_state, SyncState("S2".into()));
        assert!(!r.includes_last_item_in_range);
        let kinds: Vec<_> = r
            .changes
            .iter()
            .map(|c| match c {
                SyncChange::Create(i) | SyncChange::Update(i) => {
                    i.item_id().map(|id| id.id.clone()).unwrap_or_default()
                }
                SyncChange::Delete(id) => format!("-{}", id.id),
                SyncChange::ReadFlagChange { item_id, is_read } => {
                    format!("{}:{is_read}", item_id.id)
                }
            })
            .collect();
        assert_eq!(kinds, ["1", "2", "-3", "4:true"]);
    }

    #[test]
    fn two_messages_for_one_folder_are_a_count_error() {
        let message = r#"<m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>S</m:SyncState></m:SyncFolderItemsResponseMessage>"#;
        let r = respond::<SyncFolderItems>(&format!(
            "<m:SyncFolderItemsResponse><m:ResponseMessages>{message}{message}</m:ResponseMessages></m:SyncFolderItemsResponse>"
        ));
        assert!(matches!(
            r,
            Err(EwsError::MessageCount {
                expected: 1,
                actual: 2
            })
        ));
    }
}
