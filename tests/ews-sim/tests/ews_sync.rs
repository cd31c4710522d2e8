//! SyncFolderItems: paging, the kinds of change, and sync-state validity.

mod ews_support;

use ews_support::*;
use exsync_ews_sim::ews::{IncomingMessage, ItemUpdate};
use exsync_ews_sim::store::{DistinguishedFolder, EmailAddress, ItemId};
use std::collections::HashSet;

fn sync(folder: &str, base: &str, state: Option<&str>, max: u32, ignore: &[&str]) -> String {
    let state = state
        .map(|s| format!("<m:SyncState>{s}</m:SyncState>"))
        .unwrap_or_default();
    let ignore = if ignore.is_empty() {
        String::new()
    } else {
        let ids: String = ignore
            .iter()
            .map(|i| format!(r#"<t:ItemId Id="{i}"/>"#))
            .collect();
        format!("<m:Ignore>{ids}</m:Ignore>")
    };
    format!(
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>{base}</t:BaseShape></m:ItemShape><m:SyncFolderId>{}</m:SyncFolderId>{state}{ignore}<m:MaxChangesReturned>{max}</m:MaxChangesReturned></m:SyncFolderItems>",
        dfolder(folder, None)
    )
}

struct Page {
    state: String,
    last: bool,
    /// `(change kind, item id)` in order.
    changes: Vec<(String, String)>,
    body: String,
}

fn page(h: &Harness, mailbox: &str, op: &str) -> Page {
    let reply = h.as_svc(mailbox, op);
    assert_eq!(codes(&reply), ["NoError"], "{}", reply.body);
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    let changes = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Changes")
        .map(|c| {
            c.children()
                .filter(|n| n.is_element())
                .map(|n| {
                    let id = n
                        .descendants()
                        .find(|d| d.tag_name().name() == "ItemId")
                        .and_then(|d| d.attribute("Id"))
                        .unwrap_or_default()
                        .to_owned();
                    (n.tag_name().name().to_owned(), id)
                })
                .collect()
        })
        .unwrap_or_default();
    Page {
        state: text(&reply.body, "SyncState").unwrap(),
        last: text(&reply.body, "IncludesLastItemInRange").as_deref() == Some("true"),
        changes,
        body: reply.body,
    }
}

fn deliver(h: &Harness, to: &str, subject: &str) -> ItemId {
    h.exchange
        .deliver(
            to,
            IncomingMessage {
                from: EmailAddress::new("x@fabrikam.test"),
                subject: subject.into(),
                ..Default::default()
            },
        )
        .unwrap()
}

#[test]
fn an_initial_sync_reports_every_item_as_created_and_then_nothing() {
    let h = Harness::new();
    let first = page(&h, ALICE, &sync("inbox", "IdOnly", None, 512, &[]));
    assert!(first.last);
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].0, "Create");
    let second = page(
        &h,
        ALICE,
        &sync("inbox", "IdOnly", Some(&first.state), 512, &[]),
    );
    assert!(second.last);
    assert!(second.changes.is_empty());
}

#[test]
fn paging_over_1500_items_returns_each_exactly_once_and_flags_the_last_page() {
    let h = Harness::new();
    for i in 0..1500 {
        deliver(&h, BOB, &format!("Message {i}"));
    }
    let mut state: Option<String> = None;
    let mut seen = HashSet::new();
    let mut pages = Vec::new();
    loop {
        let p = page(
            &h,
            BOB,
            &sync("inbox", "IdOnly", state.as_deref(), 512, &[]),
        );
        pages.push((p.changes.len(), p.last));
        for (kind, id) in &p.changes {
            assert_eq!(kind, "Create");
            assert!(seen.insert(id.clone()), "{id} reported twice");
        }
        state = Some(p.state);
        if p.last {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(pages, [(512, false), (512, false), (476, true)]);
    assert_eq!(seen.len(), 1500);
    let after = page(
        &h,
        BOB,
        &sync("inbox", "IdOnly", state.as_deref(), 512, &[]),
    );
    assert!(after.changes.is_empty());
}

#[test]
fn updates_read_flags_deletions_and_new_mail_are_reported_once_each() {
    let h = Harness::new();
    let changed = deliver(&h, BOB, "will change");
    let read = deliver(&h, BOB, "will be read");
    let deleted = deliver(&h, BOB, "will be deleted");
    let moved = deliver(&h, BOB, "will be moved");
    let base = page(&h, BOB, &sync("inbox", "IdOnly", None, 512, &[]));
    assert_eq!(base.changes.len(), 4);

    h.exchange
        .update_item(
            BOB,
            &changed,
            ItemUpdate {
                subject: Some("changed".into()),
                ..Default::default()
            },
        )
        .unwrap();
    h.exchange.set_read(BOB, &read, true).unwrap();
    h.exchange.delete_item(BOB, &deleted).unwrap();
    h.exchange
        .move_item(BOB, &moved, DistinguishedFolder::JunkEmail)
        .unwrap();
    let fresh = deliver(&h, BOB, "new");
    let transient = deliver(&h, BOB, "here and gone");
    h.exchange.delete_item(BOB, &transient).unwrap();

    let next = page(
        &h,
        BOB,
        &sync("inbox", "IdOnly", Some(&base.state), 512, &[]),
    );
    let mut got = next.changes.clone();
    got.sort();
    let mut want = vec![
        ("Update".to_owned(), changed.to_string()),
        ("ReadFlagChange".to_owned(), read.to_string()),
        ("Delete".to_owned(), deleted.to_string()),
        ("Delete".to_owned(), moved.to_string()),
        ("Create".to_owned(), fresh.to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(next.body.contains("<t:IsRead>true</t:IsRead>"));
}

#[test]
fn a_richer_shape_carries_the_properties_in_each_change() {
    let h = Harness::new();
    let p = page(&h, ALICE, &sync("inbox", "Default", None, 10, &[]));
    assert_eq!(text(&p.body, "Subject").as_deref(), Some("Welcome"));
    assert_eq!(text(&p.body, "IsRead").as_deref(), Some("false"));
}

#[test]
fn ignored_items_are_left_out() {
    let h = Harness::new();
    let keep = deliver(&h, BOB, "keep");
    let skip = deliver(&h, BOB, "skip");
    let p = page(
        &h,
        BOB,
        &sync("inbox", "IdOnly", None, 512, &[skip.as_str()]),
    );
    assert_eq!(p.changes, [("Create".to_owned(), keep.to_string())]);
}

#[test]
fn a_made_up_sync_state_is_invalid() {
    let h = Harness::new();
    for state in [
        "garbage",
        "SGVsbG8gd29ybGQ=",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let reply = h.as_svc(ALICE, &sync("inbox", "IdOnly", Some(state), 10, &[]));
        assert_eq!(codes(&reply), ["ErrorInvalidSyncStateData"], "{state}");
        assert_eq!(reply.status, 200);
    }
}

#[test]
fn a_sync_state_of_another_folder_is_invalid() {
    let h = Harness::new();
    let sent = page(&h, ALICE, &sync("sentitems", "IdOnly", None, 10, &[]));
    let reply = h.as_svc(ALICE, &sync("inbox", "IdOnly", Some(&sent.state), 10, &[]));
    assert_eq!(codes(&reply), ["ErrorInvalidSyncStateData"]);
}

#[test]
fn states_issued_before_invalidation_are_refused_and_a_fresh_sync_works() {
    let h = Harness::new();
    let before = page(&h, ALICE, &sync("inbox", "IdOnly", None, 10, &[]));
    h.exchange.invalidate_sync_states(ALICE).unwrap();
    let reply = h.as_svc(
        ALICE,
        &sync("inbox", "IdOnly", Some(&before.state), 10, &[]),
    );
    assert_eq!(codes(&reply), ["ErrorInvalidSyncStateData"]);
    let again = page(&h, ALICE, &sync("inbox", "IdOnly", None, 10, &[]));
    assert_eq!(again.changes.len(), 1);
    let after = page(
        &h,
        ALICE,
        &sync("inbox", "IdOnly", Some(&again.state), 10, &[]),
    );
    assert!(after.changes.is_empty());
    // Other mailboxes keep their states.
    let bob = page(&h, BOB, &sync("inbox", "IdOnly", None, 10, &[]));
    assert_eq!(
        codes(&h.as_svc(BOB, &sync("inbox", "IdOnly", Some(&bob.state), 10, &[]))),
        ["NoError"]
    );
}

#[test]
fn a_sync_state_is_not_valid_in_another_mailbox() {
    let h = Harness::new();
    let alice = page(&h, ALICE, &sync("inbox", "IdOnly", None, 10, &[]));
    let reply = h.as_svc(BOB, &sync("inbox", "IdOnly", Some(&alice.state), 10, &[]));
    assert_eq!(codes(&reply), ["ErrorInvalidSyncStateData"]);
}

#[test]
fn replaying_an_older_state_repeats_its_changes() {
    let h = Harness::new();
    let base = page(&h, BOB, &sync("inbox", "IdOnly", None, 10, &[]));
    let id = deliver(&h, BOB, "one");
    let first = page(
        &h,
        BOB,
        &sync("inbox", "IdOnly", Some(&base.state), 10, &[]),
    );
    let replay = page(
        &h,
        BOB,
        &sync("inbox", "IdOnly", Some(&base.state), 10, &[]),
    );
    assert_eq!(first.changes, replay.changes);
    assert_eq!(first.changes, [("Create".to_owned(), id.to_string())]);
}
