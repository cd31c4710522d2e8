//! SyncFolderItems.
//!
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderitems-operation>

use super::{Ctx, Out, item_ids, resolve_folder, target_ref};
use crate::ews::codes::{EwsError, ResponseCode};
use crate::ews::fields::{ItemShape, ShapeUse};
use crate::ews::render::write_item;
use crate::ews::xml::{NS_M, child, text};
use crate::store::{ItemId, Store, SyncChange};
use roxmltree::Node;

/// The schema's `MaxSyncChangesReturnedType` range; requests outside it only get here with
/// request validation off, and are clamped.
const MAX_CHANGES: usize = 512;

fn invalid_state() -> EwsError {
    EwsError::new(
        ResponseCode::ErrorInvalidSyncStateData,
        "Synchronization state data is corrupt or otherwise invalid.",
    )
}

/// SyncFolderItems.
pub(crate) fn sync_folder_items(
    store: &mut Store,
    ctx: &Ctx<'_>,
    req: Node<'_, '_>,
    out: &mut Out,
) {
    let shape = child(req, NS_M, "ItemShape")
        .map_or_else(ItemShape::id_only, |n| ItemShape::parse(n, ShapeUse::Get));
    let max = child(req, NS_M, "MaxChangesReturned")
        .and_then(|n| text(n).trim().parse::<usize>().ok())
        .unwrap_or(MAX_CHANGES)
        .clamp(1, MAX_CHANGES);
    let ignore: Vec<ItemId> = child(req, NS_M, "Ignore")
        .map(item_ids)
        .unwrap_or_default()
        .into_iter()
        .map(|(id, _)| ItemId::new(id))
        .collect();
    let state = child(req, NS_M, "SyncState")
        .map(text)
        .filter(|s| !s.trim().is_empty());

    let result = child(req, NS_M, "SyncFolderId")
        .and_then(target_ref)
        .ok_or_else(|| {
            EwsError::new(
                ResponseCode::ErrorInvalidRequest,
                "SyncFolderId is missing.",
            )
        })
        .and_then(|r| resolve_folder(store, ctx, &r))
        .and_then(|(smtp, folder)| {
            let since = match &state {
                None => 0,
                Some(s) => store
                    .decode_sync_state(&smtp, &folder, s)
                    .ok_or_else(invalid_state)?,
            };
            let page = store.sync_page(&smtp, &folder, since, max, &ignore)?;
            let next = store.encode_sync_state(&smtp, &folder, page.seq);
            Ok((smtp, page, next))
        });

    out.begin("SyncFolderItems");
    match result {
        Ok((smtp, page, next)) => {
            out.msg_start("SyncFolderItemsResponseMessage", None);
            out.w.leaf("m:SyncState", &next);
            out.w
                .leaf_bool("m:IncludesLastItemInRange", page.includes_last);
            out.w.start("m:Changes", &[]);
            let mbx = store.mailbox(&smtp);
            for change in &page.changes {
                match change {
                    SyncChange::Create(id) | SyncChange::Update(id) => {
                        let element = if matches!(change, SyncChange::Create(_)) {
                            "t:Create"
                        } else {
                            "t:Update"
                        };
                        if let Some((mbx, item)) = mbx.and_then(|m| m.items.get(id).map(|i| (m, i)))
                        {
                            out.w.start(element, &[]);
                            write_item(&mut out.w, mbx, item, &shape);
                            out.w.end(element);
                        }
                    }
                    SyncChange::Delete(id) => {
                        out.w.start("t:Delete", &[]);
                        out.w.empty("t:ItemId", &[("Id", id.as_str())]);
                        out.w.end("t:Delete");
                    }
                    SyncChange::ReadFlag(id, is_read) => {
                        out.w.start("t:ReadFlagChange", &[]);
                        out.w.empty("t:ItemId", &[("Id", id.as_str())]);
                        out.w.leaf_bool("t:IsRead", *is_read);
                        out.w.end("t:ReadFlagChange");
                    }
                }
            }
            out.w.end("m:Changes");
            out.msg_end("SyncFolderItemsResponseMessage");
        }
        Err(e) => out.msg_error("SyncFolderItemsResponseMessage", &e, &[]),
    }
    out.end("SyncFolderItems");
}
