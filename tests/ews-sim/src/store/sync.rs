//! SyncFolderItems over a folder's change log, and the opaque sync states it hands out.
//!
//! A sync state is base64 of: magic, the mailbox's sync epoch, a change number, the folder
//! id, and a MAC keyed with the store's random secret. A state for another folder, from
//! before `invalidate_sync_states`, from another simulator run, or bytes a client made up all
//! fail to decode and the operation answers `ErrorInvalidSyncStateData`.
//!
//! Paging: the log entries after the state's change number are read in order, one change
//! per distinct item, until `MaxChangesReturned` items are collected; the next state is the
//! change number of the last entry read. An item's entries inside one page collapse into a
//! single change (created then deleted: nothing; read flag only: ReadFlagChange).

use super::types::{FolderId, ItemId};
use super::{ChangeKind, Folder, Mailbox};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use std::collections::HashMap;

type HmacMd5 = Hmac<md5::Md5>;

const MAGIC: &[u8; 4] = b"ESS1";
const MAC_LEN: usize = 8;

/// One change as SyncFolderItems reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyncChange {
    Create(ItemId),
    Update(ItemId),
    Delete(ItemId),
    ReadFlag(ItemId, bool),
}

/// One page of changes.
#[derive(Debug, Clone)]
pub(crate) struct SyncPage {
    pub changes: Vec<SyncChange>,
    /// The change number the next state carries.
    pub seq: u64,
    /// No more changes after this page (`IncludesLastItemInRange`).
    pub includes_last: bool,
}

struct Collapsed {
    first: ChangeKind,
    last: ChangeKind,
    read_flag_only: bool,
}

pub(super) fn page(
    mbx: &Mailbox,
    folder: &Folder,
    since: u64,
    max_changes: usize,
    ignore: &[ItemId],
    current_seq: u64,
) -> SyncPage {
    let start = folder.log.partition_point(|e| e.seq <= since);
    let mut order: Vec<ItemId> = Vec::new();
    let mut collapsed: HashMap<&ItemId, Collapsed> = HashMap::new();
    let mut last_seq = since;
    let mut complete = true;
    for entry in folder.log.get(start..).unwrap_or(&[]) {
        if ignore.contains(&entry.item) {
            last_seq = entry.seq;
            continue;
        }
        match collapsed.get_mut(&entry.item) {
            Some(c) => {
                c.last = entry.change;
                c.read_flag_only &= entry.change == ChangeKind::ReadFlag;
            }
            None => {
                if order.len() >= max_changes {
                    complete = false;
                    break;
                }
                order.push(entry.item.clone());
                collapsed.insert(
                    &entry.item,
                    Collapsed {
                        first: entry.change,
                        last: entry.change,
                        read_flag_only: entry.change == ChangeKind::ReadFlag,
                    },
                );
            }
        }
        last_seq = entry.seq;
    }
    let mut changes = Vec::with_capacity(order.len());
    for id in order {
        let Some(c) = collapsed.get(&id) else {
            continue;
        };
        let present = mbx.items.get(&id).filter(|i| i.folder == folder.id);
        let change = match (c.first, c.last, present) {
            (ChangeKind::Create, ChangeKind::Delete, _) => None,
            (ChangeKind::Create, _, Some(_)) => Some(SyncChange::Create(id)),
            // Created here, gone by now: its deletion is further down the log.
            (ChangeKind::Create, _, None) => None,
            (_, ChangeKind::Delete, _) => Some(SyncChange::Delete(id)),
            (_, _, Some(item)) if c.read_flag_only => Some(SyncChange::ReadFlag(id, item.is_read)),
            (_, _, Some(_)) => Some(SyncChange::Update(id)),
            (_, _, None) => None,
        };
        changes.extend(change);
    }
    SyncPage {
        changes,
        seq: if complete {
            current_seq.max(last_seq)
        } else {
            last_seq
        },
        includes_last: complete,
    }
}

fn mac(secret: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let mut m = <HmacMd5 as Mac>::new_from_slice(secret).ok()?;
    m.update(data);
    Some(m.finalize().into_bytes().get(..MAC_LEN)?.to_vec())
}

pub(super) fn encode_state(secret: &[u8], folder: &FolderId, epoch: u32, seq: u64) -> String {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&epoch.to_be_bytes());
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(folder.as_str().as_bytes());
    let tag = mac(secret, &bytes).unwrap_or_default();
    bytes.extend_from_slice(&tag);
    B64.encode(bytes)
}

pub(super) fn decode_state(secret: &[u8], folder: &FolderId, epoch: u32, raw: &str) -> Option<u64> {
    let bytes = B64.decode(raw.trim()).ok()?;
    let body_len = bytes.len().checked_sub(MAC_LEN)?;
    let (body, tag) = bytes.split_at(body_len);
    if mac(secret, body)? != tag {
        return None;
    }
    let magic = body.get(..4)?;
    let state_epoch = u32::from_be_bytes(body.get(4..8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(body.get(8..16)?.try_into().ok()?);
    let state_folder = body.get(16..)?;
    (magic == MAGIC && state_epoch == epoch && state_folder == folder.as_str().as_bytes())
        .then_some(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_decodes_only_for_its_folder_epoch_and_secret() {
        let secret = [7u8; 32];
        let folder = FolderId::new("F1");
        let state = encode_state(&secret, &folder, 3, 42);
        assert_eq!(decode_state(&secret, &folder, 3, &state), Some(42));
        assert_eq!(decode_state(&secret, &FolderId::new("F2"), 3, &state), None);
        assert_eq!(decode_state(&secret, &folder, 4, &state), None);
        assert_eq!(decode_state(&[8u8; 32], &folder, 3, &state), None);
        assert_eq!(decode_state(&secret, &folder, 3, "garbage!"), None);
        assert_eq!(decode_state(&secret, &folder, 3, ""), None);
    }
}
