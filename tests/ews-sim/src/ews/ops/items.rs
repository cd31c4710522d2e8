//! GetItem, CreateItem, UpdateItem, DeleteItem, MoveItem, CopyItem, SendItem, GetAttachment,
//! and sending: delivery to every recipient that is a local mailbox.
//!
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem-operation>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem-operation-email-message>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem-operation>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem-operation>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/moveitem-operation>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem-operation>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getattachment-operation>

use super::{Ctx, Out, item_ids, resolve_folder, resolve_item, target_ref};
use crate::directory::Directory;
use crate::ews::codes::{EwsError, ResponseCode};
use crate::ews::fields::{ItemShape, PropertyPath, ShapeUse, parse_path};
use crate::ews::itemparse::{
    apply_append, apply_create, apply_delete, apply_set, parse_attachment,
};
use crate::ews::render::{write_item, write_item_id_only};
use crate::ews::xml::{NS_M, NS_T, child, children, elements, parse_bool, text};
use crate::store::{
    Attachment, ChangeKind, DistinguishedFolder, EmailAddress, FolderId, FolderKind, Item, ItemId,
    ItemKind, Store, mime,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use roxmltree::Node;
use std::collections::HashSet;
use time::OffsetDateTime;

/// GetItem.
pub(crate) fn get_item(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let shape = child(req, NS_M, "ItemShape")
        .map_or_else(ItemShape::id_only, |n| ItemShape::parse(n, ShapeUse::Get));
    let ids = child(req, NS_M, "ItemIds")
        .map(item_ids)
        .unwrap_or_default();
    out.begin("GetItem");
    for (raw, _) in &ids {
        let found = resolve_item(store, ctx, raw);
        let hit = found.as_ref().ok().and_then(|(smtp, id)| {
            store
                .mailbox(smtp)
                .and_then(|m| m.items.get(id).map(|i| (m, i)))
        });
        match (found.as_ref(), hit) {
            (Ok(_), Some((mbx, item))) => {
                out.msg_start("GetItemResponseMessage", None);
                out.w.start("m:Items", &[]);
                write_item(&mut out.w, mbx, item, &shape);
                out.w.end("m:Items");
                out.msg_end("GetItemResponseMessage");
            }
            (Err(e), _) => out.msg_error("GetItemResponseMessage", e, &["m:Items"]),
            (Ok(_), None) => {
                out.msg_error(
                    "GetItemResponseMessage",
                    &EwsError::item_not_found(),
                    &["m:Items"],
                );
            }
        }
    }
    out.end("GetItem");
}

/// Sends `item` from `sender`: a copy to the Inbox of every recipient that is a local
/// mailbox (external recipients are accepted and dropped), and, when `save_in` is given,
/// a copy there (Sent Items) carrying the item's extended properties.
///
/// Copies delivered inside the organisation keep the sender's extended properties too:
/// Exchange transports MAPI properties between its own mailboxes.
pub(crate) fn send(
    store: &mut Store,
    directory: &Directory,
    sender: &str,
    mut item: Item,
    save_in: Option<FolderId>,
    now: OffsetDateTime,
) -> Result<(), EwsError> {
    let recipients: Vec<String> = item
        .to
        .iter()
        .chain(&item.cc)
        .chain(&item.bcc)
        .map(|a| a.address.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    if recipients.is_empty() {
        return Err(EwsError::new(
            ResponseCode::ErrorMissingRecipients,
            "The message must have at least one recipient.",
        ));
    }
    let owner = store
        .mailbox(sender)
        .map(|m| EmailAddress::named(m.display_name.clone(), m.smtp.clone()))
        .unwrap_or_else(|| EmailAddress::new(sender));
    if item.from.is_none() {
        item.from = Some(owner.clone());
    }
    item.sender = Some(owner);
    item.kind = ItemKind::Message;
    item.sent = Some(now);
    item.received = Some(now);
    item.is_draft = false;
    item.is_submitted = false;
    if item.internet_message_id.is_none() {
        item.internet_message_id = Some(mime::new_message_id(sender));
    }
    if item.conversation_index.is_empty() {
        let parent = item
            .in_reply_to
            .as_deref()
            .and_then(|irt| store.mailbox(sender)?.find_by_message_id(irt))
            .map(|p| p.conversation_index.clone())
            .filter(|p| !p.is_empty());
        item.conversation_index = match parent {
            Some(p) => mime::child_conversation_index(&p, now),
            None => mime::new_conversation_index(now),
        };
    }
    if item.conversation_topic.is_none() {
        item.conversation_topic = item.subject.as_deref().map(mime::conversation_topic);
    }
    let mut seen = HashSet::new();
    let mut delivered = 0usize;
    for address in recipients {
        if !seen.insert(address.to_ascii_lowercase()) {
            continue;
        }
        if let Some(entry) = directory.mailbox(&address) {
            store.ensure_mailbox(&entry.smtp, &entry.display_name);
            store.deliver_copy(&entry.smtp, &item, now)?;
            delivered += 1;
        }
    }
    tracing::info!(
        sender,
        local_recipients = delivered,
        recipients = seen.len(),
        saved = save_in.is_some(),
        "message sent"
    );
    if let Some(folder) = save_in {
        item.is_read = true;
        item.is_from_me = true;
        store.insert_item(sender, &folder, item)?;
    }
    Ok(())
}

fn distinguished(
    store: &Store,
    smtp: &str,
    which: DistinguishedFolder,
) -> Result<FolderId, EwsError> {
    store
        .mailbox(smtp)
        .and_then(|m| m.folder_id(which))
        .cloned()
        .ok_or_else(EwsError::folder_not_found)
}

fn folder_kind(store: &Store, smtp: &str, folder: &FolderId) -> Option<FolderKind> {
    store.mailbox(smtp)?.folders.get(folder).map(|f| f.kind)
}

struct CreateOptions<'a> {
    disposition: Option<&'a str>,
    invitations: &'a str,
    saved: &'a Result<Option<(String, FolderId)>, EwsError>,
}

/// Creates one item; `Ok(None)` for messages that were sent (Exchange returns no id then).
fn create_one(
    store: &mut Store,
    ctx: &Ctx<'_>,
    element: Node<'_, '_>,
    opts: &CreateOptions<'_>,
) -> Result<Option<(String, ItemId)>, EwsError> {
    let kind = match element.tag_name().name() {
        "Message" | "Item" => ItemKind::Message,
        "CalendarItem" => ItemKind::CalendarItem,
        "Contact" => ItemKind::Contact,
        "Task" => ItemKind::Task,
        other => {
            return Err(EwsError::new(
                ResponseCode::ErrorInvalidRequest,
                format!("The simulator cannot create {other} items."),
            ));
        }
    };
    let saved = opts.saved.clone()?;
    let smtp = match &saved {
        Some((smtp, _)) => smtp.clone(),
        None => {
            let acting = ctx.acting()?.to_owned();
            ctx.open_mailbox(store, &acting)?
        }
    };
    let now = ctx.now;
    let mut item = Item::new(kind, now);
    apply_create(&mut item, element, now)?;
    let owner = store
        .mailbox(&smtp)
        .map(|m| EmailAddress::named(m.display_name.clone(), m.smtp.clone()))
        .unwrap_or_else(|| EmailAddress::new(smtp.clone()));
    let folder_or = |store: &Store, which| match &saved {
        Some((_, f)) => Ok(f.clone()),
        None => distinguished(store, &smtp, which),
    };
    match kind {
        ItemKind::Message => match opts.disposition {
            None => Err(EwsError::new(
                ResponseCode::ErrorMessageDispositionRequired,
                "MessageDisposition is required for this operation.",
            )),
            Some("SaveOnly") => {
                let folder = folder_or(store, DistinguishedFolder::Drafts)?;
                item.is_draft = true;
                item.is_from_me = true;
                item.is_read = true;
                if item.from.is_none() {
                    item.from = Some(owner);
                }
                let id = store.insert_item(&smtp, &folder, item)?;
                Ok(Some((smtp, id)))
            }
            Some("SendOnly") => {
                send(store, ctx.directory, &smtp, item, None, now)?;
                Ok(None)
            }
            Some(_) => {
                let folder = folder_or(store, DistinguishedFolder::SentItems)?;
                send(store, ctx.directory, &smtp, item, Some(folder), now)?;
                Ok(None)
            }
        },
        ItemKind::CalendarItem => {
            let folder = folder_or(store, DistinguishedFolder::Calendar)?;
            if folder_kind(store, &smtp, &folder) != Some(FolderKind::Calendar) {
                return Err(EwsError::new(
                    ResponseCode::ErrorCannotCreateCalendarItemInNonCalendarFolder,
                    "Calendar items can only be created in calendar folders.",
                ));
            }
            if item.calendar.organizer.is_none() {
                item.calendar.organizer = Some(owner);
            }
            if item.calendar.uid.is_none() {
                item.calendar.uid = Some(uuid::Uuid::new_v4().simple().to_string());
            }
            let attendees: Vec<EmailAddress> = item
                .calendar
                .required_attendees
                .iter()
                .chain(&item.calendar.optional_attendees)
                .cloned()
                .collect();
            let invite = opts.invitations != "SendToNone" && !attendees.is_empty();
            if invite {
                item.calendar.is_meeting = Some(true);
                item.calendar.meeting_request_was_sent = Some(true);
                item.calendar.my_response_type = Some("Organizer".into());
                invite_attendees(store, ctx.directory, &smtp, &item, &attendees)?;
            }
            let id = store.insert_item(&smtp, &folder, item)?;
            Ok(Some((smtp, id)))
        }
        ItemKind::Contact | ItemKind::Task => {
            let (which, expected, code, what) = if kind == ItemKind::Contact {
                (
                    DistinguishedFolder::Contacts,
                    FolderKind::Contacts,
                    ResponseCode::ErrorCannotCreateContactInNonContactFolder,
                    "Contacts can only be created in contact folders.",
                )
            } else {
                (
                    DistinguishedFolder::Tasks,
                    FolderKind::Tasks,
                    ResponseCode::ErrorCannotCreateTaskInNonTaskFolder,
                    "Tasks can only be created in task folders.",
                )
            };
            let folder = folder_or(store, which)?;
            if folder_kind(store, &smtp, &folder) != Some(expected) {
                return Err(EwsError::new(code, what));
            }
            let id = store.insert_item(&smtp, &folder, item)?;
            Ok(Some((smtp, id)))
        }
    }
}

/// Puts the meeting into each local attendee's calendar, awaiting their response (the
/// simulator skips the meeting-request message itself).
fn invite_attendees(
    store: &mut Store,
    directory: &Directory,
    organizer: &str,
    item: &Item,
    attendees: &[EmailAddress],
) -> Result<(), EwsError> {
    let mut seen = HashSet::new();
    for a in attendees {
        if a.address.eq_ignore_ascii_case(organizer) || !seen.insert(a.address.to_ascii_lowercase())
        {
            continue;
        }
        let Some(entry) = directory.mailbox(&a.address) else {
            continue;
        };
        store.ensure_mailbox(&entry.smtp, &entry.display_name);
        let calendar = distinguished(store, &entry.smtp, DistinguishedFolder::Calendar)?;
        let mut copy = item.clone();
        copy.calendar.my_response_type = Some("NoResponseReceived".into());
        for att in &mut copy.attachments {
            att.id = Store::new_attachment_id();
        }
        store.insert_item(&entry.smtp, &calendar, copy)?;
    }
    Ok(())
}

fn saved_folder(
    store: &mut Store,
    ctx: &Ctx<'_>,
    req: Node<'_, '_>,
) -> Result<Option<(String, FolderId)>, EwsError> {
    match child(req, NS_M, "SavedItemFolderId").and_then(target_ref) {
        None => Ok(None),
        Some(r) => resolve_folder(store, ctx, &r).map(Some),
    }
}

fn write_id_items(out: &mut Out, store: &Store, created: Option<&(String, ItemId)>) {
    out.w.start("m:Items", &[]);
    if let Some(item) = created.and_then(|(smtp, id)| store.mailbox(smtp)?.items.get(id)) {
        write_item_id_only(&mut out.w, item);
    }
    out.w.end("m:Items");
}

/// CreateItem (messages with SaveOnly / SendOnly / SendAndSaveCopy, calendar items,
/// contacts, tasks).
pub(crate) fn create_item(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let saved = saved_folder(store, ctx, req);
    let opts = CreateOptions {
        disposition: req.attribute("MessageDisposition"),
        invitations: req
            .attribute("SendMeetingInvitations")
            .unwrap_or("SendToNone"),
        saved: &saved,
    };
    let elements: Vec<Node<'_, '_>> = child(req, NS_M, "Items")
        .map(|n| elements(n).collect())
        .unwrap_or_default();
    out.begin("CreateItem");
    for element in elements {
        match create_one(store, ctx, element, &opts) {
            Ok(created) => {
                out.msg_start("CreateItemResponseMessage", None);
                write_id_items(out, store, created.as_ref());
                out.msg_end("CreateItemResponseMessage");
            }
            Err(e) => out.msg_error("CreateItemResponseMessage", &e, &["m:Items"]),
        }
    }
    out.end("CreateItem");
}

fn is_read_path(p: &PropertyPath) -> bool {
    matches!(p, PropertyPath::Field(uri) if uri == "message:IsRead")
}

struct UpdateOptions<'a> {
    conflict: &'a str,
    disposition: Option<&'a str>,
    saved: &'a Result<Option<(String, FolderId)>, EwsError>,
}

fn update_one(
    store: &mut Store,
    ctx: &Ctx<'_>,
    change: Node<'_, '_>,
    opts: &UpdateOptions<'_>,
) -> Result<Option<(String, ItemId)>, EwsError> {
    let id_node = child(change, NS_T, "ItemId").ok_or_else(|| {
        EwsError::new(
            ResponseCode::ErrorInvalidRequest,
            "The simulator updates items by ItemId only.",
        )
    })?;
    let (smtp, id) = resolve_item(store, ctx, id_node.attribute("Id").unwrap_or_default())?;
    let current = store
        .mailbox(&smtp)
        .and_then(|m| m.items.get(&id))
        .cloned()
        .ok_or_else(EwsError::item_not_found)?;
    let stale = id_node
        .attribute("ChangeKey")
        .is_some_and(|ck| ck != current.change_key.as_str());
    if stale && opts.conflict == "NeverOverwrite" {
        return Err(EwsError::new(
            ResponseCode::ErrorIrresolvableConflict,
            "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
        ));
    }
    let mut updated = current.clone();
    let mut read_flag_only = true;
    let updates = child(change, NS_T, "Updates").ok_or_else(|| {
        EwsError::new(
            ResponseCode::ErrorInvalidRequest,
            "ItemChange has no Updates.",
        )
    })?;
    for u in elements(updates) {
        let path = elements(u).find_map(parse_path).ok_or_else(|| {
            EwsError::new(
                ResponseCode::ErrorInvalidRequest,
                "The change names no property.",
            )
        })?;
        read_flag_only &= is_read_path(&path);
        match u.tag_name().name() {
            "SetItemField" => apply_set(&mut updated, &path, u, ctx.now)?,
            "AppendToItemField" => apply_append(&mut updated, &path, u)?,
            "DeleteItemField" => apply_delete(&mut updated, &path)?,
            _ => {
                return Err(EwsError::new(
                    ResponseCode::ErrorInvalidRequest,
                    "Unknown change description.",
                ));
            }
        }
    }
    let kind = if read_flag_only {
        ChangeKind::ReadFlag
    } else {
        ChangeKind::Update
    };
    updated.last_modified_name = store.mailbox(&smtp).map(|m| m.display_name.clone());
    store.modify_item(&smtp, &id, kind, |item| *item = updated)?;

    let sending = matches!(opts.disposition, Some("SendOnly" | "SendAndSaveCopy"));
    if sending && current.kind == ItemKind::Message {
        let save_in = match (opts.disposition, opts.saved.clone()?) {
            (Some("SendOnly"), _) => None,
            (_, Some((_, folder))) => Some(folder),
            (_, None) => Some(distinguished(store, &smtp, DistinguishedFolder::SentItems)?),
        };
        let draft = store.remove_item(&smtp, &id)?;
        send(store, ctx.directory, &smtp, draft, save_in, ctx.now)?;
        return Ok(None);
    }
    Ok(Some((smtp, id)))
}

/// UpdateItem (SetItemField, AppendToItemField, DeleteItemField; change-key conflicts).
pub(crate) fn update_item(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let saved = saved_folder(store, ctx, req);
    let opts = UpdateOptions {
        conflict: req.attribute("ConflictResolution").unwrap_or("AutoResolve"),
        disposition: req.attribute("MessageDisposition"),
        saved: &saved,
    };
    let changes: Vec<Node<'_, '_>> = child(req, NS_M, "ItemChanges")
        .map(|n| children(n, NS_T, "ItemChange").collect())
        .unwrap_or_default();
    out.begin("UpdateItem");
    for change in changes {
        match update_one(store, ctx, change, &opts) {
            Ok(updated) => {
                out.msg_start("UpdateItemResponseMessage", None);
                write_id_items(out, store, updated.as_ref());
                out.w.start("m:ConflictResults", &[]);
                out.w.leaf_num("t:Count", 0);
                out.w.end("m:ConflictResults");
                out.msg_end("UpdateItemResponseMessage");
            }
            Err(e) => out.msg_error("UpdateItemResponseMessage", &e, &["m:Items"]),
        }
    }
    out.end("UpdateItem");
}

/// DeleteItem (HardDelete and SoftDelete remove the item for good — the simulator keeps
/// no dumpster; MoveToDeletedItems moves it to Deleted Items, or removes it when it is
/// already there).
pub(crate) fn delete_item(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let delete_type = req.attribute("DeleteType").unwrap_or("MoveToDeletedItems");
    let ids = child(req, NS_M, "ItemIds")
        .map(item_ids)
        .unwrap_or_default();
    out.begin("DeleteItem");
    for (raw, _) in &ids {
        let done = resolve_item(store, ctx, raw).and_then(|(smtp, id)| {
            let deleted_items = distinguished(store, &smtp, DistinguishedFolder::DeletedItems)?;
            let in_deleted_items = store
                .mailbox(&smtp)
                .and_then(|m| m.items.get(&id))
                .is_some_and(|i| i.folder == deleted_items);
            if delete_type == "MoveToDeletedItems" && !in_deleted_items {
                store.move_item(&smtp, &id, &deleted_items)?;
            } else {
                store.remove_item(&smtp, &id)?;
            }
            Ok(())
        });
        match done {
            Ok(()) => {
                out.msg_start("DeleteItemResponseMessage", None);
                out.msg_end("DeleteItemResponseMessage");
            }
            Err(e) => out.msg_error("DeleteItemResponseMessage", &e, &[]),
        }
    }
    out.end("DeleteItem");
}

/// MoveItem and CopyItem. Items get new ids in the target folder; the answer carries them
/// unless `ReturnNewItemIds` is false.
pub(crate) fn move_or_copy(
    store: &mut Store,
    ctx: &Ctx<'_>,
    req: Node<'_, '_>,
    out: &mut Out,
    copy: bool,
) {
    let op = if copy { "CopyItem" } else { "MoveItem" };
    let message = if copy {
        "CopyItemResponseMessage"
    } else {
        "MoveItemResponseMessage"
    };
    let target = child(req, NS_M, "ToFolderId")
        .and_then(target_ref)
        .ok_or_else(|| EwsError::new(ResponseCode::ErrorInvalidRequest, "ToFolderId is missing."))
        .and_then(|r| resolve_folder(store, ctx, &r));
    let return_ids = child(req, NS_M, "ReturnNewItemIds")
        .and_then(|n| parse_bool(&text(n)))
        .unwrap_or(true);
    let ids = child(req, NS_M, "ItemIds")
        .map(item_ids)
        .unwrap_or_default();
    out.begin(op);
    for (raw, _) in &ids {
        let done = target.clone().and_then(|(to_smtp, to_folder)| {
            let (smtp, id) = resolve_item(store, ctx, raw)?;
            let new_id = if smtp.eq_ignore_ascii_case(&to_smtp) {
                if copy {
                    store.copy_item(&smtp, &id, &to_folder)?
                } else {
                    store.move_item(&smtp, &id, &to_folder)?
                }
            } else {
                let mut item = store
                    .mailbox(&smtp)
                    .and_then(|m| m.items.get(&id))
                    .cloned()
                    .ok_or_else(EwsError::item_not_found)?;
                for a in &mut item.attachments {
                    a.id = Store::new_attachment_id();
                }
                let new_id = store.insert_item(&to_smtp, &to_folder, item)?;
                if !copy {
                    store.remove_item(&smtp, &id)?;
                }
                new_id
            };
            Ok((to_smtp, new_id))
        });
        match done {
            Ok(created) => {
                out.msg_start(message, None);
                write_id_items(out, store, return_ids.then_some(&created));
                out.msg_end(message);
            }
            Err(e) => out.msg_error(message, &e, &["m:Items"]),
        }
    }
    out.end(op);
}

/// SendItem: sends drafts.
pub(crate) fn send_item(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let save = req
        .attribute("SaveItemToFolder")
        .and_then(parse_bool)
        .unwrap_or(true);
    let saved = saved_folder(store, ctx, req);
    let ids = child(req, NS_M, "ItemIds")
        .map(item_ids)
        .unwrap_or_default();
    out.begin("SendItem");
    for (raw, _) in &ids {
        let done = saved.clone().and_then(|saved| {
            let (smtp, id) = resolve_item(store, ctx, raw)?;
            let is_message = store
                .mailbox(&smtp)
                .and_then(|m| m.items.get(&id))
                .is_some_and(|i| i.kind == ItemKind::Message);
            if !is_message {
                return Err(EwsError::new(
                    ResponseCode::ErrorInvalidOperation,
                    "Only messages can be sent.",
                ));
            }
            let save_in = match (save, saved) {
                (false, _) => None,
                (true, Some((_, folder))) => Some(folder),
                (true, None) => Some(distinguished(store, &smtp, DistinguishedFolder::SentItems)?),
            };
            let draft = store.remove_item(&smtp, &id)?;
            send(store, ctx.directory, &smtp, draft, save_in, ctx.now)
        });
        match done {
            Ok(()) => {
                out.msg_start("SendItemResponseMessage", None);
                out.msg_end("SendItemResponseMessage");
            }
            Err(e) => out.msg_error("SendItemResponseMessage", &e, &[]),
        }
    }
    out.end("SendItem");
}

/// Finds an attachment the caller may open: (mailbox, item, attachment).
fn find_attachment(
    store: &mut Store,
    ctx: &Ctx<'_>,
    raw: &str,
) -> Result<(String, ItemId, Attachment), EwsError> {
    if raw.trim().is_empty() {
        return Err(EwsError::new(
            ResponseCode::ErrorInvalidIdEmpty,
            "Id is empty.",
        ));
    }
    if !Store::attachment_id_is_well_formed(raw) {
        return Err(EwsError::new(
            ResponseCode::ErrorInvalidAttachmentId,
            "The attachment id is not valid.",
        ));
    }
    let (smtp, item, attachment) = store.find_attachment(raw).ok_or_else(|| {
        EwsError::new(
            ResponseCode::ErrorItemNotFound,
            "The specified attachment was not found.",
        )
    })?;
    let smtp = ctx.open_mailbox(store, &smtp)?;
    Ok((smtp, item, attachment))
}

/// GetAttachment (file attachments, with content).
pub(crate) fn get_attachment(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let ids: Vec<String> = child(req, NS_M, "AttachmentIds")
        .map(|n| {
            children(n, NS_T, "AttachmentId")
                .map(|a| a.attribute("Id").unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    out.begin("GetAttachment");
    for raw in &ids {
        let found = find_attachment(store, ctx, raw).map(|(_, _, a)| a);
        match found {
            Ok(a) => {
                out.msg_start("GetAttachmentResponseMessage", None);
                out.w.start("m:Attachments", &[]);
                out.w.start("t:FileAttachment", &[]);
                out.w.empty("t:AttachmentId", &[("Id", a.id.as_str())]);
                out.w.leaf("t:Name", &a.name);
                out.w.leaf("t:ContentType", &a.content_type);
                if let Some(cid) = &a.content_id {
                    out.w.leaf("t:ContentId", cid);
                }
                out.w.leaf_num("t:Size", a.content.len());
                out.w.leaf_date("t:LastModifiedTime", a.last_modified);
                out.w.leaf_bool("t:IsInline", a.is_inline);
                out.w.leaf_bool("t:IsContactPhoto", false);
                out.w.leaf("t:Content", &B64.encode(&a.content));
                out.w.end("t:FileAttachment");
                out.w.end("m:Attachments");
                out.msg_end("GetAttachmentResponseMessage");
            }
            Err(e) => out.msg_error("GetAttachmentResponseMessage", &e, &["m:Attachments"]),
        }
    }
    out.end("GetAttachment");
}

/// CreateAttachment: adds file attachments to an existing item (exchangelib saves a new
/// message with attachments as CreateItem, then this). The item gets a new change key.
///
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createattachment-operation>
pub(crate) fn create_attachment(
    store: &mut Store,
    ctx: &Ctx<'_>,
    req: Node<'_, '_>,
    out: &mut Out,
) {
    let parent = child(req, NS_M, "ParentItemId")
        .map(|p| p.attribute("Id").unwrap_or_default().to_owned())
        .unwrap_or_default();
    let parent = resolve_item(store, ctx, &parent);
    let attachments: Vec<Node<'_, '_>> = child(req, NS_M, "Attachments")
        .map(|n| elements(n).collect())
        .unwrap_or_default();
    out.begin("CreateAttachment");
    for element in attachments {
        let done = parent.clone().and_then(|(smtp, id)| {
            let attachment = parse_attachment(element, ctx.now)?;
            let attachment_id = attachment.id.clone();
            let change_key = store.modify_item(&smtp, &id, ChangeKind::Update, |item| {
                item.attachments.push(attachment);
            })?;
            Ok((attachment_id, id, change_key))
        });
        match done {
            Ok((attachment_id, root, change_key)) => {
                out.msg_start("CreateAttachmentResponseMessage", None);
                out.w.start("m:Attachments", &[]);
                out.w.start("t:FileAttachment", &[]);
                out.w.empty(
                    "t:AttachmentId",
                    &[
                        ("Id", attachment_id.as_str()),
                        ("RootItemId", root.as_str()),
                        ("RootItemChangeKey", change_key.as_str()),
                    ],
                );
                out.w.end("t:FileAttachment");
                out.w.end("m:Attachments");
                out.msg_end("CreateAttachmentResponseMessage");
            }
            Err(e) => out.msg_error("CreateAttachmentResponseMessage", &e, &["m:Attachments"]),
        }
    }
    out.end("CreateAttachment");
}

/// DeleteAttachment: removes attachments; each answer names the item and its new change key.
///
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteattachment-operation>
pub(crate) fn delete_attachment(
    store: &mut Store,
    ctx: &Ctx<'_>,
    req: Node<'_, '_>,
    out: &mut Out,
) {
    let ids: Vec<String> = child(req, NS_M, "AttachmentIds")
        .map(|n| {
            children(n, NS_T, "AttachmentId")
                .map(|a| a.attribute("Id").unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    out.begin("DeleteAttachment");
    for raw in &ids {
        let done = find_attachment(store, ctx, raw).and_then(|(smtp, item, attachment)| {
            let change_key = store.modify_item(&smtp, &item, ChangeKind::Update, |i| {
                i.attachments.retain(|a| a.id != attachment.id);
            })?;
            Ok((item, change_key))
        });
        match done {
            Ok((item, change_key)) => {
                out.msg_start("DeleteAttachmentResponseMessage", None);
                out.w.empty(
                    "m:RootItemId",
                    &[
                        ("RootItemId", item.as_str()),
                        ("RootItemChangeKey", change_key.as_str()),
                    ],
                );
                out.msg_end("DeleteAttachmentResponseMessage");
            }
            Err(e) => out.msg_error("DeleteAttachmentResponseMessage", &e, &[]),
        }
    }
    out.end("DeleteAttachment");
}
