//! The mailbox store behind the simulated EWS endpoint: per mailbox, a folder tree with the
//! distinguished folders, items of four kinds with extended properties and attachments, and a
//! per-folder change log that SyncFolderItems reads.
//!
//! Everything here is synchronous and owned by one `Mutex` in [`crate::ews::Exchange`]; the
//! store knows nothing about XML.

mod item;
pub(crate) mod mime;
mod mime_in;
mod sync;
mod types;

pub(crate) use item::{Attachment, Body, Item, html_to_text};
pub(crate) use mime_in::parse_message;
pub(crate) use sync::{SyncChange, SyncPage};
pub use types::{
    AttachmentId, ChangeKey, DistinguishedFolder, DistinguishedPropertySet, EmailAddress,
    ExtendedProperty, FolderId, ItemId, ItemKind, NewAttachment, PropertyKey, PropertyName,
    PropertySet, PropertyValue,
};
pub(crate) use types::{FolderKind, IdTag, upsert_property};

use std::collections::HashMap;
use time::OffsetDateTime;
use types::{change_key_for, is_well_formed, mint_id};

/// Why a store operation (usually a control call from a test) could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No mailbox with this address (in the directory or the store).
    #[error("no mailbox {0}")]
    NoSuchMailbox(String),
    /// No item with this id in that mailbox.
    #[error("no item {0}")]
    NoSuchItem(String),
    /// No folder with this id in that mailbox.
    #[error("no folder {0}")]
    NoSuchFolder(String),
    /// A folder of that name already exists under the parent.
    #[error("a folder named {0} already exists there")]
    FolderExists(String),
    /// A value given to the store could not be used (e.g. a seed message's date).
    #[error("invalid value for {field}: {value}")]
    InvalidValue {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: String,
    },
}

/// Why an id from a request could not be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Not an id this server could have issued (`ErrorInvalidIdMalformed`).
    Malformed,
    /// Well-formed, but names nothing (any more) (`ErrorItemNotFound`/`ErrorFolderNotFound`).
    NotFound,
}

/// What kind of change a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Create,
    Update,
    Delete,
    ReadFlag,
}

#[derive(Debug, Clone)]
pub(crate) struct LogEntry {
    pub seq: u64,
    pub item: ItemId,
    pub change: ChangeKind,
}

/// A folder.
#[derive(Debug, Clone)]
pub(crate) struct Folder {
    pub id: FolderId,
    pub change_key: ChangeKey,
    pub parent: Option<FolderId>,
    pub display_name: String,
    pub class: Option<String>,
    pub kind: FolderKind,
    pub extended: Vec<ExtendedProperty>,
    pub log: Vec<LogEntry>,
}

/// One mailbox's folders and items.
#[derive(Debug)]
pub(crate) struct Mailbox {
    pub smtp: String,
    pub display_name: String,
    /// Bumped by `invalidate_sync_states`: states carry the epoch they were issued in.
    pub epoch: u32,
    pub folders: HashMap<FolderId, Folder>,
    pub distinguished: HashMap<DistinguishedFolder, FolderId>,
    pub items: HashMap<ItemId, Item>,
}

impl Mailbox {
    pub(crate) fn folder_id(&self, which: DistinguishedFolder) -> Option<&FolderId> {
        self.distinguished.get(&which)
    }

    /// Items in `folder`, newest received/created first (the order Exchange's default views
    /// use), ties broken by id for a stable order.
    pub(crate) fn items_in(&self, folder: &FolderId) -> Vec<&Item> {
        let mut items: Vec<&Item> = self
            .items
            .values()
            .filter(|i| &i.folder == folder)
            .collect();
        items.sort_by(|a, b| {
            let ka = a.received.unwrap_or(a.created);
            let kb = b.received.unwrap_or(b.created);
            kb.cmp(&ka).then_with(|| a.id.cmp(&b.id))
        });
        items
    }

    pub(crate) fn children(&self, folder: &FolderId) -> Vec<&Folder> {
        let mut out: Vec<&Folder> = self
            .folders
            .values()
            .filter(|f| f.parent.as_ref() == Some(folder))
            .collect();
        out.sort_by(|a, b| {
            a.display_name
                .to_lowercase()
                .cmp(&b.display_name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }

    /// Every folder below `folder`, depth-first, parents before children.
    pub(crate) fn descendants(&self, folder: &FolderId) -> Vec<&Folder> {
        let mut out = Vec::new();
        let mut stack: Vec<&Folder> = self.children(folder).into_iter().rev().collect();
        while let Some(f) = stack.pop() {
            out.push(f);
            stack.extend(self.children(&f.id).into_iter().rev());
        }
        out
    }

    pub(crate) fn total_count(&self, folder: &FolderId) -> usize {
        self.items.values().filter(|i| &i.folder == folder).count()
    }

    pub(crate) fn unread_count(&self, folder: &FolderId) -> usize {
        self.items
            .values()
            .filter(|i| &i.folder == folder && i.kind == ItemKind::Message && !i.is_read)
            .count()
    }

    pub(crate) fn find_by_message_id(&self, message_id: &str) -> Option<&Item> {
        self.items
            .values()
            .find(|i| i.internet_message_id.as_deref() == Some(message_id))
    }
}

/// All mailboxes, and the indexes from opaque ids to the mailbox holding them.
#[derive(Debug)]
pub(crate) struct Store {
    secret: [u8; 32],
    seq: u64,
    mailboxes: HashMap<String, Mailbox>,
    item_index: HashMap<ItemId, String>,
    folder_index: HashMap<FolderId, String>,
}

fn key(smtp: &str) -> String {
    smtp.trim().to_ascii_lowercase()
}

impl Store {
    pub(crate) fn new() -> Self {
        Store {
            secret: rand::random(),
            seq: 0,
            mailboxes: HashMap::new(),
            item_index: HashMap::new(),
            folder_index: HashMap::new(),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Creates the mailbox with its distinguished folders if it does not exist yet.
    pub(crate) fn ensure_mailbox(&mut self, smtp: &str, display_name: &str) {
        let k = key(smtp);
        if self.mailboxes.contains_key(&k) {
            return;
        }
        let mut mbx = Mailbox {
            smtp: smtp.trim().to_owned(),
            display_name: display_name.to_owned(),
            epoch: 1,
            folders: HashMap::new(),
            distinguished: HashMap::new(),
            items: HashMap::new(),
        };
        for which in DistinguishedFolder::ALL {
            let id = FolderId::new(mint_id(IdTag::Folder));
            let seq = self.next_seq();
            let parent = which
                .parent()
                .and_then(|p| mbx.distinguished.get(&p).cloned());
            mbx.folders.insert(
                id.clone(),
                Folder {
                    id: id.clone(),
                    change_key: change_key_for(seq),
                    parent,
                    display_name: which.display_name().to_owned(),
                    class: which.folder_class().map(str::to_owned),
                    kind: which.kind(),
                    extended: Vec::new(),
                    log: Vec::new(),
                },
            );
            mbx.distinguished.insert(which, id.clone());
            self.folder_index.insert(id, k.clone());
        }
        self.mailboxes.insert(k, mbx);
    }

    pub(crate) fn mailbox(&self, smtp: &str) -> Option<&Mailbox> {
        self.mailboxes.get(&key(smtp))
    }

    pub(crate) fn mailbox_mut(&mut self, smtp: &str) -> Option<&mut Mailbox> {
        self.mailboxes.get_mut(&key(smtp))
    }

    fn mailbox_or_err(&self, smtp: &str) -> Result<&Mailbox, StoreError> {
        self.mailbox(smtp)
            .ok_or_else(|| StoreError::NoSuchMailbox(smtp.to_owned()))
    }

    /// Which mailbox holds the item with this id.
    pub(crate) fn locate_item(&self, raw: &str) -> Result<(String, ItemId), Lookup> {
        if !is_well_formed(raw, IdTag::Item) {
            return Err(Lookup::Malformed);
        }
        let id = ItemId::new(raw.trim());
        match self.item_index.get(&id) {
            Some(mbx) => Ok((mbx.clone(), id)),
            None => Err(Lookup::NotFound),
        }
    }

    /// Which mailbox holds the folder with this id.
    pub(crate) fn locate_folder(&self, raw: &str) -> Result<(String, FolderId), Lookup> {
        if !is_well_formed(raw, IdTag::Folder) {
            return Err(Lookup::Malformed);
        }
        let id = FolderId::new(raw.trim());
        match self.folder_index.get(&id) {
            Some(mbx) => Ok((mbx.clone(), id)),
            None => Err(Lookup::NotFound),
        }
    }

    /// Whether `raw` has the shape of an attachment id this server issues.
    pub(crate) fn attachment_id_is_well_formed(raw: &str) -> bool {
        is_well_formed(raw, IdTag::Attachment)
    }

    /// Finds an attachment anywhere in the store: (mailbox, item, attachment).
    pub(crate) fn find_attachment(&self, raw: &str) -> Option<(String, ItemId, Attachment)> {
        let wanted = raw.trim();
        self.mailboxes.values().find_map(|m| {
            m.items.values().find_map(|i| {
                i.attachments
                    .iter()
                    .find(|a| a.id.as_str() == wanted)
                    .map(|a| (m.smtp.clone(), i.id.clone(), a.clone()))
            })
        })
    }

    /// A fresh attachment id.
    pub(crate) fn new_attachment_id() -> AttachmentId {
        AttachmentId::new(mint_id(IdTag::Attachment))
    }

    /// Stores `item` in `folder` with a fresh id and change key and logs its creation.
    pub(crate) fn insert_item(
        &mut self,
        smtp: &str,
        folder: &FolderId,
        mut item: Item,
    ) -> Result<ItemId, StoreError> {
        let seq = self.next_seq();
        let k = key(smtp);
        let mbx = self
            .mailboxes
            .get_mut(&k)
            .ok_or_else(|| StoreError::NoSuchMailbox(smtp.to_owned()))?;
        let f = mbx
            .folders
            .get_mut(folder)
            .ok_or_else(|| StoreError::NoSuchFolder(folder.to_string()))?;
        let id = ItemId::new(mint_id(IdTag::Item));
        item.id = id.clone();
        item.change_key = change_key_for(seq);
        item.folder = folder.clone();
        f.log.push(LogEntry {
            seq,
            item: id.clone(),
            change: ChangeKind::Create,
        });
        mbx.items.insert(id.clone(), item);
        self.item_index.insert(id.clone(), k);
        Ok(id)
    }

    /// Applies `f` to the item, gives it a new change key and logs the change (`ReadFlag`
    /// when only IsRead changed, so SyncFolderItems reports a ReadFlagChange).
    pub(crate) fn modify_item(
        &mut self,
        smtp: &str,
        id: &ItemId,
        change: ChangeKind,
        f: impl FnOnce(&mut Item),
    ) -> Result<ChangeKey, StoreError> {
        let seq = self.next_seq();
        let mbx = self
            .mailboxes
            .get_mut(&key(smtp))
            .ok_or_else(|| StoreError::NoSuchMailbox(smtp.to_owned()))?;
        let item = mbx
            .items
            .get_mut(id)
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))?;
        f(item);
        item.change_key = change_key_for(seq);
        item.last_modified = OffsetDateTime::now_utc();
        let folder = item.folder.clone();
        let ck = item.change_key.clone();
        if let Some(fl) = mbx.folders.get_mut(&folder) {
            fl.log.push(LogEntry {
                seq,
                item: id.clone(),
                change,
            });
        }
        Ok(ck)
    }

    /// Removes the item for good and logs the deletion.
    pub(crate) fn remove_item(&mut self, smtp: &str, id: &ItemId) -> Result<Item, StoreError> {
        let seq = self.next_seq();
        let mbx = self
            .mailboxes
            .get_mut(&key(smtp))
            .ok_or_else(|| StoreError::NoSuchMailbox(smtp.to_owned()))?;
        let item = mbx
            .items
            .remove(id)
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))?;
        if let Some(fl) = mbx.folders.get_mut(&item.folder) {
            fl.log.push(LogEntry {
                seq,
                item: id.clone(),
                change: ChangeKind::Delete,
            });
        }
        self.item_index.remove(id);
        Ok(item)
    }

    /// Moves the item to `to` (same mailbox). Like Exchange, the moved item gets a new id;
    /// the source folder logs a deletion and the target a creation.
    pub(crate) fn move_item(
        &mut self,
        smtp: &str,
        id: &ItemId,
        to: &FolderId,
    ) -> Result<ItemId, StoreError> {
        if !self.mailbox_or_err(smtp)?.folders.contains_key(to) {
            return Err(StoreError::NoSuchFolder(to.to_string()));
        }
        let item = self.remove_item(smtp, id)?;
        self.insert_item(smtp, to, item)
    }

    /// Copies the item to `to` (same mailbox) under a new id.
    pub(crate) fn copy_item(
        &mut self,
        smtp: &str,
        id: &ItemId,
        to: &FolderId,
    ) -> Result<ItemId, StoreError> {
        let mut copy = self
            .mailbox_or_err(smtp)?
            .items
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))?;
        for a in &mut copy.attachments {
            a.id = Self::new_attachment_id();
        }
        self.insert_item(smtp, to, copy)
    }

    /// Creates a folder under `parent`; names are unique per parent, case-insensitively.
    pub(crate) fn create_folder(
        &mut self,
        smtp: &str,
        parent: &FolderId,
        display_name: &str,
        class: Option<String>,
        kind: FolderKind,
        extended: Vec<ExtendedProperty>,
    ) -> Result<FolderId, StoreError> {
        let seq = self.next_seq();
        let k = key(smtp);
        let mbx = self
            .mailboxes
            .get_mut(&k)
            .ok_or_else(|| StoreError::NoSuchMailbox(smtp.to_owned()))?;
        if !mbx.folders.contains_key(parent) {
            return Err(StoreError::NoSuchFolder(parent.to_string()));
        }
        let lower = display_name.to_lowercase();
        if mbx
            .folders
            .values()
            .any(|f| f.parent.as_ref() == Some(parent) && f.display_name.to_lowercase() == lower)
        {
            return Err(StoreError::FolderExists(display_name.to_owned()));
        }
        let id = FolderId::new(mint_id(IdTag::Folder));
        mbx.folders.insert(
            id.clone(),
            Folder {
                id: id.clone(),
                change_key: change_key_for(seq),
                parent: Some(parent.clone()),
                display_name: display_name.to_owned(),
                class,
                kind,
                extended,
                log: Vec::new(),
            },
        );
        if let Some(p) = mbx.folders.get_mut(parent) {
            p.change_key = change_key_for(seq);
        }
        self.folder_index.insert(id.clone(), k);
        Ok(id)
    }

    /// Makes every sync state issued so far for this mailbox invalid.
    pub(crate) fn invalidate_sync_states(&mut self, smtp: &str) -> Result<(), StoreError> {
        let mbx = self
            .mailbox_mut(smtp)
            .ok_or_else(|| StoreError::NoSuchMailbox(smtp.to_owned()))?;
        mbx.epoch = mbx.epoch.wrapping_add(1);
        Ok(())
    }

    /// A copy of `template` delivered to `smtp`'s Inbox as a new, unread, received message
    /// with fresh ids; threading follows an earlier message in that mailbox when
    /// `in_reply_to` names one.
    pub(crate) fn deliver_copy(
        &mut self,
        smtp: &str,
        template: &Item,
        received: OffsetDateTime,
    ) -> Result<ItemId, StoreError> {
        let mbx = self.mailbox_or_err(smtp)?;
        let inbox = mbx
            .folder_id(DistinguishedFolder::Inbox)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchFolder("inbox".into()))?;
        let mut item = template.clone();
        item.kind = ItemKind::Message;
        item.received = Some(received);
        item.created = received;
        item.last_modified = received;
        item.is_read = false;
        item.is_draft = false;
        item.is_submitted = false;
        item.is_from_me = item
            .from
            .as_ref()
            .is_some_and(|f| f.address.eq_ignore_ascii_case(smtp));
        // Recipients never see Bcc.
        item.bcc.clear();
        for a in &mut item.attachments {
            a.id = Self::new_attachment_id();
        }
        if item.conversation_index.is_empty() {
            let parent = item
                .in_reply_to
                .as_deref()
                .and_then(|irt| mbx.find_by_message_id(irt))
                .map(|p| p.conversation_index.clone());
            item.conversation_index = match parent {
                Some(p) if !p.is_empty() => mime::child_conversation_index(&p, received),
                _ => mime::new_conversation_index(received),
            };
        }
        if item.conversation_topic.is_none() {
            item.conversation_topic = item.subject.as_deref().map(mime::conversation_topic);
        }
        self.insert_item(smtp, &inbox, item)
    }

    /// Reads a page of changes of `folder` since change number `since`.
    pub(crate) fn sync_page(
        &self,
        smtp: &str,
        folder: &FolderId,
        since: u64,
        max_changes: usize,
        ignore: &[ItemId],
    ) -> Result<SyncPage, StoreError> {
        let mbx = self.mailbox_or_err(smtp)?;
        let f = mbx
            .folders
            .get(folder)
            .ok_or_else(|| StoreError::NoSuchFolder(folder.to_string()))?;
        Ok(sync::page(mbx, f, since, max_changes, ignore, self.seq))
    }

    /// An opaque sync state for `folder` at change number `seq`.
    pub(crate) fn encode_sync_state(&self, smtp: &str, folder: &FolderId, seq: u64) -> String {
        let epoch = self.mailbox(smtp).map_or(0, |m| m.epoch);
        sync::encode_state(&self.secret, folder, epoch, seq)
    }

    /// The change number inside a sync state, if the state was issued by this store for this
    /// folder in the mailbox's current epoch.
    pub(crate) fn decode_sync_state(
        &self,
        smtp: &str,
        folder: &FolderId,
        raw: &str,
    ) -> Option<u64> {
        let epoch = self.mailbox(smtp)?.epoch;
        let seq = sync::decode_state(&self.secret, folder, epoch, raw)?;
        (seq <= self.seq).then_some(seq)
    }
}
