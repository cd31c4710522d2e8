//! GetFolder, FindFolder, CreateFolder.
//!
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/findfolder-operation>
//! - <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createfolder-operation>

use super::find::{View, page};
use super::{Ctx, Out, folder_refs, resolve_folder, target_ref};
use crate::ews::codes::{EwsError, ResponseCode};
use crate::ews::fields::{FolderShape, parse_extended_property};
use crate::ews::render::{FolderView, write_folder};
use crate::ews::restriction;
use crate::ews::xml::{NS_M, NS_T, child, child_text, children, elements};
use crate::store::{FolderId, FolderKind, Store};
use roxmltree::Node;

/// GetFolder.
pub(crate) fn get_folder(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let shape =
        child(req, NS_M, "FolderShape").map_or_else(FolderShape::id_only, FolderShape::parse);
    let refs = child(req, NS_M, "FolderIds")
        .map(folder_refs)
        .unwrap_or_default();
    out.begin("GetFolder");
    for r in &refs {
        match resolve_folder(store, ctx, r) {
            Ok((smtp, id)) => {
                let Some((mbx, folder)) = store
                    .mailbox(&smtp)
                    .and_then(|m| m.folders.get(&id).map(|f| (m, f)))
                else {
                    out.msg_error(
                        "GetFolderResponseMessage",
                        &EwsError::folder_not_found(),
                        &[],
                    );
                    continue;
                };
                out.msg_start("GetFolderResponseMessage", None);
                out.w.start("m:Folders", &[]);
                write_folder(&mut out.w, mbx, folder, &shape);
                out.w.end("m:Folders");
                out.msg_end("GetFolderResponseMessage");
            }
            Err(e) => out.msg_error("GetFolderResponseMessage", &e, &[]),
        }
    }
    out.end("GetFolder");
}

/// FindFolder (Shallow, Deep; SoftDeleted finds nothing: the simulator keeps no dumpster).
pub(crate) fn find_folder(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let shape =
        child(req, NS_M, "FolderShape").map_or_else(FolderShape::id_only, FolderShape::parse);
    let traversal = req.attribute("Traversal").unwrap_or("Shallow");
    let view = View::parse(req, "IndexedPageFolderView", "FractionalPageFolderView");
    let restriction = child(req, NS_M, "Restriction").map(restriction::parse);
    let refs = child(req, NS_M, "ParentFolderIds")
        .map(folder_refs)
        .unwrap_or_default();
    out.begin("FindFolder");
    for r in &refs {
        let found = resolve_folder(store, ctx, r).and_then(|(smtp, id)| {
            let view = view.clone()?;
            let mbx = store
                .mailbox(&smtp)
                .ok_or_else(EwsError::folder_not_found)?;
            let candidates = match traversal {
                "Deep" => mbx.descendants(&id),
                "SoftDeleted" => Vec::new(),
                _ => mbx.children(&id),
            };
            let mut matching = Vec::new();
            for f in candidates {
                let keep = match &restriction {
                    None => true,
                    Some(Ok(r)) => restriction::eval(r, &FolderView(mbx, f))?,
                    Some(Err(e)) => return Err(e.clone()),
                };
                if keep {
                    matching.push(f.id.clone());
                }
            }
            Ok((smtp, page(matching, &view)))
        });
        match found {
            Ok((smtp, paged)) => {
                out.msg_start("FindFolderResponseMessage", None);
                let attrs = paged.attributes();
                let attrs: Vec<(&str, &str)> =
                    attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                out.w.start("m:RootFolder", &attrs);
                out.w.start("t:Folders", &[]);
                if let Some(mbx) = store.mailbox(&smtp) {
                    for id in &paged.items {
                        if let Some(f) = mbx.folders.get(id) {
                            write_folder(&mut out.w, mbx, f, &shape);
                        }
                    }
                }
                out.w.end("t:Folders");
                out.w.end("m:RootFolder");
                out.msg_end("FindFolderResponseMessage");
            }
            Err(e) => out.msg_error("FindFolderResponseMessage", &e, &[]),
        }
    }
    out.end("FindFolder");
}

fn kind_of(element: Node<'_, '_>, class: Option<&str>) -> Option<FolderKind> {
    match element.tag_name().name() {
        "CalendarFolder" => Some(FolderKind::Calendar),
        "ContactsFolder" => Some(FolderKind::Contacts),
        "TasksFolder" => Some(FolderKind::Tasks),
        "Folder" => Some(class.map_or(FolderKind::Mail, FolderKind::from_class)),
        _ => None,
    }
}

/// CreateFolder.
pub(crate) fn create_folder(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let parent = child(req, NS_M, "ParentFolderId")
        .and_then(target_ref)
        .ok_or_else(|| {
            EwsError::new(
                ResponseCode::ErrorInvalidRequest,
                "ParentFolderId is missing.",
            )
        })
        .and_then(|r| resolve_folder(store, ctx, &r));
    let folders: Vec<Node<'_, '_>> = child(req, NS_M, "Folders")
        .map(|f| elements(f).collect())
        .unwrap_or_default();
    out.begin("CreateFolder");
    for element in folders {
        let created = parent.clone().and_then(|(smtp, parent_id)| {
            create_one(store, &smtp, &parent_id, element).map(|id| (smtp, id))
        });
        match created {
            Ok((smtp, id)) => {
                out.msg_start("CreateFolderResponseMessage", None);
                out.w.start("m:Folders", &[]);
                if let Some((mbx, f)) = store
                    .mailbox(&smtp)
                    .and_then(|m| m.folders.get(&id).map(|f| (m, f)))
                {
                    write_folder(&mut out.w, mbx, f, &FolderShape::id_only());
                }
                out.w.end("m:Folders");
                out.msg_end("CreateFolderResponseMessage");
            }
            Err(e) => out.msg_error("CreateFolderResponseMessage", &e, &[]),
        }
    }
    out.end("CreateFolder");
}

fn create_one(
    store: &mut Store,
    smtp: &str,
    parent: &FolderId,
    element: Node<'_, '_>,
) -> Result<FolderId, EwsError> {
    let class = child_text(element, NS_T, "FolderClass").filter(|c| !c.trim().is_empty());
    let kind = kind_of(element, class.as_deref()).ok_or_else(|| {
        EwsError::new(
            ResponseCode::ErrorInvalidRequest,
            "The simulator cannot create search folders.",
        )
    })?;
    let name = child_text(element, NS_T, "DisplayName")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            EwsError::new(
                ResponseCode::ErrorInvalidRequest,
                "A folder needs a DisplayName.",
            )
        })?;
    let extended = children(element, NS_T, "ExtendedProperty")
        .filter_map(parse_extended_property)
        .collect();
    let class = class.or_else(|| Some(kind.default_class().to_owned()));
    Ok(store.create_folder(smtp, parent, &name, class, kind, extended)?)
}
