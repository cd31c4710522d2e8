//! `exsync ews sync`: what changed in one folder of a mailbox, the way the sync worker will
//! ask: [SyncFolderItems](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderitems-operation)
//! with `IdOnly` until `IncludesLastItemInRange`, then
//! [GetItem](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem-operation)
//! for the new and changed items, at most ten per call (Microsoft's advice for staying clear
//! of throttling). Bodies are never fetched or printed.

use std::collections::HashMap;
use std::fmt::Write as _;

use clap::Args;
use exsync_ews::EwsError;
use exsync_ews::client::{EwsClient, EwsClientConfig};
use exsync_ews::operations::{GetItem, MaxChangesReturned, SyncChange, SyncFolderItems};
use exsync_ews::types::{
    BaseFolderId, DistinguishedFolderName, FieldUri, FolderId, ItemId, ItemShape, ItemSummary,
    PropertyPath, SyncState,
};
use serde::Serialize;

use crate::connection::ServiceAccountArgs;
use exsync_domain::diagnosis::{Finding, diagnose_call};

/// Most items one GetItem asks for.
pub const GET_ITEM_BATCH: usize = 10;

/// SyncFolderItems calls one run makes at most. A server that never says
/// `IncludesLastItemInRange` would otherwise keep the command running forever; 512 changes
/// per call times this is far more than any folder holds.
pub const MAX_SYNC_CALLS: usize = 10_000;

/// `exsync ews sync`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// The mailbox, the service account and how to reach the server.
    #[command(flatten)]
    pub account: ServiceAccountArgs,
    /// The EWS endpoint, https://HOST/EWS/Exchange.asmx.
    #[arg(long, value_name = "URL")]
    pub ews_url: String,
    /// The folder: a distinguished folder name (inbox, sentitems, calendar…) or id:FOLDER-ID.
    #[arg(long, default_value = "inbox", value_parser = parse_folder)]
    pub folder: BaseFolderId,
    /// Where an earlier run left off (its printed sync state); omit to list everything.
    #[arg(long, value_name = "STATE")]
    pub sync_state: Option<String>,
    /// Most changes per SyncFolderItems call (1 to 512).
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=512))]
    pub max_changes: u32,
    /// Print the changes as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Reads `--folder`.
fn parse_folder(text: &str) -> Result<BaseFolderId, String> {
    if let Some(id) = text.strip_prefix("id:") {
        return if id.is_empty() {
            Err("id: needs a folder id after it".into())
        } else {
            Ok(FolderId::new(id).into())
        };
    }
    DistinguishedFolderName::parse(&text.to_ascii_lowercase())
        .map(BaseFolderId::from)
        .ok_or_else(|| {
            format!("{text:?} is not a distinguished folder name (inbox, sentitems, calendar, …) or id:FOLDER-ID")
        })
}

/// One change, with what GetItem said about the item.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// `create`, `update`, `delete` or `read_flag_change`.
    pub change: &'static str,
    /// The item's id (and change key, when the server gave one).
    pub item_id: Option<ItemId>,
    /// Subject, sender, times, Internet Message-ID (creates and updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemSummary>,
    /// The new read flag (read-flag changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_read: Option<bool>,
    /// Why GetItem could not read the item (deleted meanwhile, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a sync run found.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// The mailbox.
    pub email: String,
    /// The folder, as given.
    pub folder: BaseFolderId,
    /// SyncFolderItems calls made.
    pub sync_calls: usize,
    /// GetItem calls made.
    pub get_item_calls: usize,
    /// Every change, in server order.
    pub changes: Vec<ChangeReport>,
    /// The state to pass as `--sync-state` next time.
    pub sync_state: String,
}

/// Why a sync run stopped.
#[derive(Debug)]
pub enum SyncFailure {
    /// The options cannot be used.
    Usage(anyhow::Error),
    /// Exchange or the way to it failed; the finding says where.
    Exchange(Finding),
}

/// Runs SyncFolderItems to the end of the range, then GetItem for new and changed items.
pub async fn run(args: &SyncArgs) -> Result<SyncReport, SyncFailure> {
    let config = args
        .account
        .transport_config()
        .map_err(SyncFailure::Usage)?;
    let ctx = args.account.context();
    let fail = |e: EwsError| SyncFailure::Exchange(diagnose_call(&e, &ctx));
    let client = EwsClient::new(EwsClientConfig {
        ews_url: args.ews_url.clone(),
        credentials: config.credentials,
        ca_pem: config.ca_pem,
        request_timeout: config.request_timeout,
        max_connections: config.max_connections,
        max_response_bytes: config.max_response_bytes,
        connect_overrides: config.connect_overrides,
    })
    .map_err(fail)?;
    let email = args.account.email.as_str();
    let max_changes = MaxChangesReturned::new(args.max_changes)
        .ok_or_else(|| SyncFailure::Usage(anyhow::anyhow!("--max-changes must be 1 to 512")))?;

    let mut state = args.sync_state.clone().map(SyncState);
    let mut changes = Vec::new();
    let mut sync_calls = 0;
    loop {
        if sync_calls >= MAX_SYNC_CALLS {
            return Err(SyncFailure::Usage(anyhow::anyhow!(
                "the server never reported the end of the range after {MAX_SYNC_CALLS} SyncFolderItems calls"
            )));
        }
        let op = SyncFolderItems {
            shape: ItemShape::id_only(),
            folder_id: args.folder.clone(),
            sync_state: state.clone(),
            ignore: Vec::new(),
            max_changes_returned: max_changes,
            sync_scope: None,
        };
        let result = client
            .call(Some(email), &op, args.account.deadline())
            .await
            .map_err(fail)?
            .body;
        sync_calls += 1;
        tracing::info!(
            changes = result.changes.len(),
            last = result.includes_last_item_in_range,
            "SyncFolderItems batch"
        );
        changes.extend(result.changes);
        state = Some(result.sync_state);
        if result.includes_last_item_in_range {
            break;
        }
    }

    let mut reports: Vec<ChangeReport> = changes.iter().map(change_report).collect();
    let wanted: Vec<ItemId> = unique_ids(&reports);
    let mut found: HashMap<String, Result<ItemSummary, String>> = HashMap::new();
    let mut get_item_calls = 0;
    for batch in wanted.chunks(GET_ITEM_BATCH) {
        let op = GetItem {
            shape: ItemShape::id_only().with_properties(summary_properties()),
            item_ids: batch.to_vec(),
        };
        let results = client
            .call(Some(email), &op, args.account.deadline())
            .await
            .map_err(fail)?
            .body;
        get_item_calls += 1;
        for (id, result) in batch.iter().zip(results) {
            let entry = result.map(|item| item.summary()).map_err(|e| e.to_string());
            found.insert(id.id.clone(), entry);
        }
    }
    for report in &mut reports {
        if report.item.is_none() && matches!(report.change, "create" | "update") {
            let looked_up = report.item_id.as_ref().and_then(|id| found.get(&id.id));
            match looked_up {
                Some(Ok(summary)) => report.item = Some(summary.clone()),
                Some(Err(error)) => report.error = Some(error.clone()),
                None => {}
            }
        }
    }
    Ok(SyncReport {
        email: email.to_owned(),
        folder: args.folder.clone(),
        sync_calls,
        get_item_calls,
        changes: reports,
        sync_state: state.map(|s| s.0).unwrap_or_default(),
    })
}

/// What GetItem asks for: what identifies a message and what an activity is matched on.
fn summary_properties() -> Vec<PropertyPath> {
    vec![
        FieldUri::ITEM_SUBJECT.into(),
        FieldUri::ITEM_CLASS.into(),
        FieldUri::MESSAGE_FROM.into(),
        FieldUri::ITEM_DATE_TIME_RECEIVED.into(),
        FieldUri::MESSAGE_INTERNET_MESSAGE_ID.into(),
    ]
}

fn change_report(change: &SyncChange) -> ChangeReport {
    let (change, item_id, is_read) = match change {
        SyncChange::Create(item) => ("create", item.item_id().cloned(), None),
        SyncChange::Update(item) => ("update", item.item_id().cloned(), None),
        SyncChange::Delete(id) => ("delete", Some(id.clone()), None),
        SyncChange::ReadFlagChange { item_id, is_read } => {
            ("read_flag_change", Some(item_id.clone()), Some(*is_read))
        }
    };
    ChangeReport {
        change,
        item_id,
        item: None,
        is_read,
        error: None,
    }
}

/// The ids to read, each once, in first-seen order. The change key is left out so GetItem
/// returns the latest version of an item created and then updated within the range.
fn unique_ids(reports: &[ChangeReport]) -> Vec<ItemId> {
    let mut seen = std::collections::HashSet::new();
    reports
        .iter()
        .filter(|r| matches!(r.change, "create" | "update"))
        .filter_map(|r| r.item_id.as_ref())
        .filter(|id| seen.insert(id.id.as_str()))
        .map(|id| ItemId::new(id.id.clone()))
        .collect()
}

/// The report as pretty JSON.
pub fn to_json(report: &SyncReport) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(report).unwrap_or_default()
    )
}

/// The report as text: one block per change, then the sync state.
pub fn to_text(report: &SyncReport) -> String {
    let mut out = String::new();
    let folder = match &report.folder {
        BaseFolderId::Distinguished(d) => d.name.as_str().to_owned(),
        BaseFolderId::Id(id) => format!("id:{}", id.id),
    };
    let _ = writeln!(
        out,
        "{} change(s) in {folder} of {} ({} SyncFolderItems call(s), {} GetItem call(s))",
        report.changes.len(),
        report.email,
        report.sync_calls,
        report.get_item_calls
    );
    for c in &report.changes {
        out.push('\n');
        let subject = c
            .item
            .as_ref()
            .and_then(|i| i.subject.as_deref())
            .unwrap_or("");
        let _ = writeln!(out, "  {:<7} {subject}", c.change);
        if let Some(item) = &c.item {
            if let Some(from) = &item.from {
                let _ = writeln!(out, "          from:       {from}");
            }
            if let Some(received) = &item.date_time_received {
                let _ = writeln!(out, "          received:   {received}");
            }
            if let Some(id) = &item.internet_message_id {
                let _ = writeln!(out, "          message-id: {id}");
            }
        }
        if let Some(is_read) = c.is_read {
            let _ = writeln!(out, "          is read:    {is_read}");
        }
        if let Some(error) = &c.error {
            let _ = writeln!(out, "          not read:   {error}");
        }
        if let Some(id) = &c.item_id {
            let _ = writeln!(out, "          item id:    {}", id.id);
        }
    }
    let _ = writeln!(out, "\nsync state: {}", report.sync_state);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_distinguished_folders_case_insensitively() {
        let f = parse_folder("Inbox").unwrap();
        assert_eq!(f, BaseFolderId::from(DistinguishedFolderName::Inbox));
    }

    #[test]
    fn id_prefix_names_a_folder_by_id() {
        assert_eq!(
            parse_folder("id:AAMk=").unwrap(),
            BaseFolderId::from(FolderId::new("AAMk="))
        );
        assert!(parse_folder("id:").is_err());
    }

    #[test]
    fn a_misspelt_folder_name_is_refused_not_sent_as_an_id() {
        let err = parse_folder("inbx").unwrap_err();
        assert!(err.contains("\"inbx\""), "{err}");
    }

    #[test]
    fn an_item_created_then_updated_is_read_once() {
        let report = |change, id: &str| ChangeReport {
            change,
            item_id: Some(ItemId::with_change_key(id, "ck")),
            item: None,
            is_read: None,
            error: None,
        };
        let ids = unique_ids(&[
            report("create", "A"),
            report("create", "B"),
            report("update", "A"),
            report("delete", "C"),
        ]);
        let ids: Vec<&str> = ids.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["A", "B"]);
    }
}
