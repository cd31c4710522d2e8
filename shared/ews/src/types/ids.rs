//! Item, folder and attachment identifiers.

use super::Mailbox;
use super::ews_enum;
use crate::xml::{Element, XmlWriter};
use serde::Serialize;

/// An item's id and, when known, its change key (which names one version of the item;
/// writes with a stale one fail with `ErrorStaleObject`).
///
/// Reference: [ItemId](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/itemid).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ItemId {
    /// The opaque id.
    pub id: String,
    /// The opaque change key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_key: Option<String>,
}

impl ItemId {
    /// An id without a change key.
    pub fn new(id: impl Into<String>) -> Self {
        ItemId {
            id: id.into(),
            change_key: None,
        }
    }

    /// An id with its change key.
    pub fn with_change_key(id: impl Into<String>, change_key: impl Into<String>) -> Self {
        ItemId {
            id: id.into(),
            change_key: Some(change_key.into()),
        }
    }

    /// Writes `<{element} Id=".." ChangeKey=".."/>`.
    pub(crate) fn write_as(&self, w: &mut XmlWriter, element: &str) {
        match &self.change_key {
            Some(ck) => w.empty(element, &[("Id", &self.id), ("ChangeKey", ck)]),
            None => w.empty(element, &[("Id", &self.id)]),
        };
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        self.write_as(w, "t:ItemId");
    }

    /// Reads an `ItemIdType` element; `None` without an `Id`.
    pub(crate) fn read(el: &Element) -> Option<ItemId> {
        Some(ItemId {
            id: el.attr("Id")?.to_owned(),
            change_key: el.attr("ChangeKey").map(str::to_owned),
        })
    }
}

/// A folder's id and change key.
///
/// Reference: [FolderId](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/folderid).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FolderId {
    /// The opaque id.
    pub id: String,
    /// The opaque change key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_key: Option<String>,
}

impl FolderId {
    /// An id without a change key.
    pub fn new(id: impl Into<String>) -> Self {
        FolderId {
            id: id.into(),
            change_key: None,
        }
    }

    pub(crate) fn write_as(&self, w: &mut XmlWriter, element: &str) {
        match &self.change_key {
            Some(ck) => w.empty(element, &[("Id", &self.id), ("ChangeKey", ck)]),
            None => w.empty(element, &[("Id", &self.id)]),
        };
    }

    pub(crate) fn read(el: &Element) -> Option<FolderId> {
        Some(FolderId {
            id: el.attr("Id")?.to_owned(),
            change_key: el.attr("ChangeKey").map(str::to_owned),
        })
    }
}

ews_enum! {
    /// The well-known folders every mailbox has, addressable without knowing their ids.
    ///
    /// Reference: [DistinguishedFolderId](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/distinguishedfolderid).
    closed DistinguishedFolderName {
        /// The Calendar folder.
        Calendar = "calendar",
        /// The Contacts folder.
        Contacts = "contacts",
        /// Deleted Items.
        DeletedItems = "deleteditems",
        /// Drafts.
        Drafts = "drafts",
        /// The Inbox.
        Inbox = "inbox",
        /// The Journal folder.
        Journal = "journal",
        /// The Notes folder.
        Notes = "notes",
        /// The Outbox.
        Outbox = "outbox",
        /// Sent Items.
        SentItems = "sentitems",
        /// The Tasks folder.
        Tasks = "tasks",
        /// The root of the visible folder tree ("Top of Information Store").
        MsgFolderRoot = "msgfolderroot",
        /// The root of the public folders.
        PublicFoldersRoot = "publicfoldersroot",
        /// The mailbox's root folder.
        Root = "root",
        /// Junk E-mail.
        JunkEmail = "junkemail",
        /// The Search Folders folder.
        SearchFolders = "searchfolders",
        /// The voice mail folder.
        VoiceMail = "voicemail",
        /// The Recoverable Items root.
        RecoverableItemsRoot = "recoverableitemsroot",
        /// Recoverable Items: Deletions.
        RecoverableItemsDeletions = "recoverableitemsdeletions",
        /// Recoverable Items: Versions.
        RecoverableItemsVersions = "recoverableitemsversions",
        /// Recoverable Items: Purges.
        RecoverableItemsPurges = "recoverableitemspurges",
        /// The archive mailbox's root.
        ArchiveRoot = "archiveroot",
        /// The archive mailbox's visible root.
        ArchiveMsgFolderRoot = "archivemsgfolderroot",
        /// The archive mailbox's Deleted Items.
        ArchiveDeletedItems = "archivedeleteditems",
        /// The archive mailbox's Recoverable Items root.
        ArchiveRecoverableItemsRoot = "archiverecoverableitemsroot",
        /// The archive mailbox's Recoverable Items: Deletions.
        ArchiveRecoverableItemsDeletions = "archiverecoverableitemsdeletions",
        /// The archive mailbox's Recoverable Items: Versions.
        ArchiveRecoverableItemsVersions = "archiverecoverableitemsversions",
        /// The archive mailbox's Recoverable Items: Purges.
        ArchiveRecoverableItemsPurges = "archiverecoverableitemspurges",
    }
}

/// A distinguished folder, optionally of another mailbox (delegate access; with
/// impersonation the impersonated mailbox is meant and `mailbox` stays `None`).
///
/// Reference: [DistinguishedFolderId](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/distinguishedfolderid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistinguishedFolderId {
    /// Which folder.
    pub name: DistinguishedFolderName,
    /// Whose folder, when not the caller's (or impersonated user's) own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<Mailbox>,
}

/// A folder named either by id or as a distinguished folder (`BaseFolderIdType`).
///
/// Reference: [FolderIds](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/folderids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BaseFolderId {
    /// A folder by id.
    Id(FolderId),
    /// A distinguished folder.
    Distinguished(DistinguishedFolderId),
}

impl BaseFolderId {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match self {
            BaseFolderId::Id(id) => id.write_as(w, "t:FolderId"),
            BaseFolderId::Distinguished(d) => match &d.mailbox {
                None => {
                    w.empty("t:DistinguishedFolderId", &[("Id", d.name.as_str())]);
                }
                Some(mailbox) => {
                    w.start("t:DistinguishedFolderId", &[("Id", d.name.as_str())]);
                    mailbox.write_as(w, "t:Mailbox");
                    w.end("t:DistinguishedFolderId");
                }
            },
        }
    }
}

impl From<DistinguishedFolderName> for BaseFolderId {
    fn from(name: DistinguishedFolderName) -> Self {
        BaseFolderId::Distinguished(DistinguishedFolderId {
            name,
            mailbox: None,
        })
    }
}

impl From<FolderId> for BaseFolderId {
    fn from(id: FolderId) -> Self {
        BaseFolderId::Id(id)
    }
}

/// An attachment's id, as GetAttachment takes it.
///
/// Reference: [AttachmentId](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/attachmentid-getattachment-and-deleteattachment).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AttachmentId(pub String);

/// The opaque synchronization state SyncFolderItems hands out: store it only once the
/// changes it covers are applied, send it back to get what changed since.
///
/// Reference: [SyncState](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncstate-ex15websvcsotherref).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SyncState(pub String);

impl std::fmt::Debug for SyncState {
    // Sync states run to kilobytes; the length is what a log or test failure needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SyncState({} chars)", self.0.len())
    }
}
