//! The EWS operations, one module per group, and what they share: the caller's context,
//! response writing, and resolving folder and item ids with the mailbox access checks.

pub(crate) mod find;
pub(crate) mod folders;
pub(crate) mod items;
pub(crate) mod names;
pub(crate) mod sync;

use super::codes::{EwsError, ResponseCode};
use super::xml::{NS_M, NS_T, XmlWriter, child, child_text, elements, is};
use crate::directory::{Account, Directory};
use crate::store::{DistinguishedFolder, FolderId, ItemId, Lookup, Store};
use roxmltree::Node;
use time::OffsetDateTime;

/// Who is asking, for which mailbox.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub logon: &'a Account,
    pub directory: &'a Directory,
    /// The mailbox requests act on: the impersonated one, else the logon's own.
    pub acting: Option<String>,
    pub now: OffsetDateTime,
}

impl Ctx<'_> {
    /// The acting mailbox, or the error Exchange gives an account without one.
    pub(crate) fn acting(&self) -> Result<&str, EwsError> {
        self.acting.as_deref().ok_or_else(|| {
            EwsError::new(
                ResponseCode::ErrorMissingEmailAddress,
                "When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folders.",
            )
        })
    }

    /// Checks that the caller may open `smtp` and makes sure the store has it. Reachable:
    /// the acting mailbox, the logon's own, and mailboxes the logon account holds
    /// ApplicationImpersonation for. Returns the address as the directory spells it.
    pub(crate) fn open_mailbox(&self, store: &mut Store, smtp: &str) -> Result<String, EwsError> {
        let entry = self.directory.mailbox(smtp).ok_or_else(|| {
            EwsError::new(
                ResponseCode::ErrorNonExistentMailbox,
                "The SMTP address has no mailbox associated with it.",
            )
        })?;
        let is_acting = self
            .acting
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(&entry.smtp));
        let is_own = self
            .logon
            .smtp
            .as_deref()
            .is_some_and(|own| own.eq_ignore_ascii_case(&entry.smtp));
        if !(is_acting
            || is_own
            || self
                .directory
                .can_impersonate(&self.logon.user, &entry.smtp))
        {
            return Err(EwsError::new(
                ResponseCode::ErrorAccessDenied,
                "Access is denied. Check credentials and try again.",
            ));
        }
        store.ensure_mailbox(&entry.smtp, &entry.display_name);
        Ok(entry.smtp.clone())
    }
}

/// A response document being written, and the ResponseCodes it carries.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub w: XmlWriter,
    pub codes: Vec<String>,
}

impl Out {
    /// `<m:{op}Response …><m:ResponseMessages>`
    pub(crate) fn begin(&mut self, op: &str) {
        self.w.start(
            &format!("m:{op}Response"),
            &[("xmlns:m", NS_M), ("xmlns:t", NS_T)],
        );
        self.w.start("m:ResponseMessages", &[]);
    }

    pub(crate) fn end(&mut self, op: &str) {
        self.w.end("m:ResponseMessages");
        self.w.end(&format!("m:{op}Response"));
    }

    /// Opens a response message with ResponseClass and the code (and text, on error).
    pub(crate) fn msg_start(&mut self, element: &str, err: Option<&EwsError>) {
        let name = format!("m:{element}");
        match err {
            None => {
                self.w.start(&name, &[("ResponseClass", "Success")]);
                self.w.leaf("m:ResponseCode", "NoError");
                self.codes.push("NoError".into());
            }
            Some(e) => {
                self.w.start(&name, &[("ResponseClass", "Error")]);
                self.w.leaf("m:MessageText", &e.text);
                self.w.leaf("m:ResponseCode", e.code.as_str());
                self.w.leaf_num("m:DescriptiveLinkKey", 0);
                self.codes.push(e.code.as_str().to_owned());
            }
        }
    }

    pub(crate) fn msg_end(&mut self, element: &str) {
        self.w.end(&format!("m:{element}"));
    }

    /// A whole error message with optional required-but-empty trailing elements
    /// (`m:Items`, `m:Attachments`).
    pub(crate) fn msg_error(&mut self, element: &str, err: &EwsError, empty: &[&str]) {
        self.msg_start(element, Some(err));
        for e in empty {
            self.w.empty(e, &[]);
        }
        self.msg_end(element);
    }
}

/// A folder reference from a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FolderRef {
    Id(String),
    Distinguished {
        name: String,
        mailbox: Option<String>,
    },
}

/// Reads `t:FolderId` or `t:DistinguishedFolderId`.
pub(crate) fn parse_folder_ref(n: Node<'_, '_>) -> Option<FolderRef> {
    if is(n, NS_T, "FolderId") {
        Some(FolderRef::Id(n.attribute("Id")?.to_owned()))
    } else if is(n, NS_T, "DistinguishedFolderId") {
        let mailbox = child(n, NS_T, "Mailbox")
            .and_then(|m| child_text(m, NS_T, "EmailAddress"))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        Some(FolderRef::Distinguished {
            name: n.attribute("Id")?.to_owned(),
            mailbox,
        })
    } else {
        None
    }
}

/// Every folder reference in a `NonEmptyArrayOfBaseFolderIdsType` element.
pub(crate) fn folder_refs(container: Node<'_, '_>) -> Vec<FolderRef> {
    elements(container).filter_map(parse_folder_ref).collect()
}

/// The folder a `TargetFolderIdType` element names.
pub(crate) fn target_ref(container: Node<'_, '_>) -> Option<FolderRef> {
    elements(container).find_map(parse_folder_ref)
}

/// Resolves a folder reference to (mailbox, folder), applying the mailbox checks.
pub(crate) fn resolve_folder(
    store: &mut Store,
    ctx: &Ctx<'_>,
    r: &FolderRef,
) -> Result<(String, FolderId), EwsError> {
    match r {
        FolderRef::Distinguished { name, mailbox } => {
            let smtp = match mailbox {
                Some(m) => ctx.open_mailbox(store, m)?,
                None => {
                    let acting = ctx.acting()?.to_owned();
                    ctx.open_mailbox(store, &acting)?
                }
            };
            let which =
                DistinguishedFolder::from_id(name).ok_or_else(EwsError::folder_not_found)?;
            let id = store
                .mailbox(&smtp)
                .and_then(|m| m.folder_id(which))
                .cloned()
                .ok_or_else(EwsError::folder_not_found)?;
            Ok((smtp, id))
        }
        FolderRef::Id(raw) => {
            if raw.trim().is_empty() {
                return Err(EwsError::new(
                    ResponseCode::ErrorInvalidIdEmpty,
                    "Id is empty.",
                ));
            }
            let (mbx, id) = store.locate_folder(raw).map_err(|e| match e {
                Lookup::Malformed => EwsError::malformed_id(),
                Lookup::NotFound => EwsError::folder_not_found(),
            })?;
            let smtp = ctx.open_mailbox(store, &mbx)?;
            Ok((smtp, id))
        }
    }
}

/// Resolves an item id to (mailbox, item), applying the mailbox checks.
pub(crate) fn resolve_item(
    store: &mut Store,
    ctx: &Ctx<'_>,
    raw: &str,
) -> Result<(String, ItemId), EwsError> {
    if raw.trim().is_empty() {
        return Err(EwsError::new(
            ResponseCode::ErrorInvalidIdEmpty,
            "Id is empty.",
        ));
    }
    let (mbx, id) = store.locate_item(raw).map_err(|e| match e {
        Lookup::Malformed => EwsError::malformed_id(),
        Lookup::NotFound => EwsError::item_not_found(),
    })?;
    let smtp = ctx.open_mailbox(store, &mbx)?;
    Ok((smtp, id))
}

/// `(Id, ChangeKey)` of every `t:ItemId` in a `NonEmptyArrayOfBaseItemIdsType` element;
/// other id kinds (occurrences, recurring masters) come back with an empty id and fail as
/// `ErrorInvalidIdEmpty`.
pub(crate) fn item_ids(container: Node<'_, '_>) -> Vec<(String, Option<String>)> {
    elements(container)
        .map(|n| {
            if is(n, NS_T, "ItemId") {
                (
                    n.attribute("Id").unwrap_or_default().to_owned(),
                    n.attribute("ChangeKey").map(str::to_owned),
                )
            } else {
                (String::new(), None)
            }
        })
        .collect()
}
