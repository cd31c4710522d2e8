//! Mailboxes: the lists by profile, status and approval, kept in step on every write, and
//! paged.

use crate::common::{invalid_field, mailbox, profile, stack};
use exsync_aws::DynamoStore;
use exsync_domain::DomainError;
use exsync_domain::mailbox::{Approval, Mailbox, WorkloadStatus};
use exsync_domain::ports::{ConfigStore, MailboxFilter};
use serde_json::json;

/// Every page of a listing, checking no page exceeds `limit`; the names in order.
async fn all_pages(store: &DynamoStore, f: &MailboxFilter, limit: u32) -> Vec<String> {
    let mut names = Vec::new();
    let mut next = None;
    for _ in 0..100 {
        let page = store.list_mailboxes(f, limit, next).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        names.extend(page.items.into_iter().map(|m| m.name));
        match page.next {
            Some(t) => next = Some(t),
            None => return names,
        }
    }
    panic!("paging did not end");
}

fn failed(m: &mut Mailbox) {
    m.incoming_state.status = WorkloadStatus::Failure;
}

fn succeeded(m: &mut Mailbox) {
    m.outgoing_state.status = WorkloadStatus::Success;
}

#[tokio::test]
async fn a_created_mailbox_reads_back_as_written() {
    let s = stack().await;
    let m = mailbox("Alice", json!({"approval": "approved"}));
    s.store.create_mailbox(&m).await.unwrap();
    assert_eq!(s.store.get_mailbox(&m.id).await.unwrap(), Some(m));
}

#[tokio::test]
async fn mailboxes_list_by_profile_across_pages() {
    let s = stack().await;
    let p = profile("P", json!({}));
    let other = profile("Other", json!({}));
    for n in ["erin", "Bob", "dave", "Alice", "carol"] {
        s.store
            .create_mailbox(&mailbox(n, json!({"profile_id": p.id})))
            .await
            .unwrap();
    }
    s.store
        .create_mailbox(&mailbox("Zed", json!({"profile_id": other.id})))
        .await
        .unwrap();
    let f = MailboxFilter {
        profile: Some(p.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        all_pages(&s.store, &f, 2).await,
        ["Alice", "Bob", "carol", "dave", "erin"]
    );
}

#[tokio::test]
async fn mailboxes_list_by_status_across_pages() {
    let s = stack().await;
    for (n, fail) in [
        ("a", true),
        ("b", false),
        ("c", true),
        ("d", true),
        ("e", false),
    ] {
        let mut m = mailbox(n, json!({}));
        if fail {
            failed(&mut m);
        }
        s.store.create_mailbox(&m).await.unwrap();
    }
    let f = MailboxFilter {
        status: Some(WorkloadStatus::Failure),
        ..Default::default()
    };
    assert_eq!(all_pages(&s.store, &f, 2).await, ["a", "c", "d"]);
}

#[tokio::test]
async fn mailboxes_list_by_approval_across_pages() {
    let s = stack().await;
    for (n, a) in [
        ("a", "pending"),
        ("b", "approved"),
        ("c", "pending"),
        ("d", "pending"),
        ("e", "rejected"),
    ] {
        s.store
            .create_mailbox(&mailbox(n, json!({"approval": a})))
            .await
            .unwrap();
    }
    let f = MailboxFilter {
        approval: Some(Approval::Pending),
        ..Default::default()
    };
    assert_eq!(all_pages(&s.store, &f, 1).await, ["a", "c", "d"]);
}

#[tokio::test]
async fn filters_combine_with_and() {
    let s = stack().await;
    let p = profile("P", json!({}));
    let cases = [
        ("match", "approved", true),
        ("inactive", "approved", false),
        ("pending", "pending", true),
        ("match-too", "approved", true),
    ];
    for (n, a, active) in cases {
        let mut m = mailbox(
            n,
            json!({"profile_id": p.id, "approval": a, "active": active}),
        );
        failed(&mut m);
        s.store.create_mailbox(&m).await.unwrap();
    }
    // Same shape on another profile: never listed.
    s.store
        .create_mailbox(&mailbox("elsewhere", json!({"approval": "approved"})))
        .await
        .unwrap();
    let f = MailboxFilter {
        profile: Some(p.id.clone()),
        active: Some(true),
        status: Some(WorkloadStatus::Failure),
        approval: Some(Approval::Approved),
    };
    assert_eq!(all_pages(&s.store, &f, 1).await, ["match", "match-too"]);
}

#[tokio::test]
async fn without_filters_every_mailbox_is_listed_by_name_across_pages() {
    let s = stack().await;
    // Spread over the three status lists so the listing must merge them.
    let names = ["h", "c", "a", "f", "b", "g", "e", "d"];
    for (i, n) in names.iter().enumerate() {
        let mut m = mailbox(n, json!({}));
        match i % 3 {
            0 => failed(&mut m),
            1 => succeeded(&mut m),
            _ => {}
        }
        s.store.create_mailbox(&m).await.unwrap();
    }
    let f = MailboxFilter::default();
    for limit in [1, 3, 100] {
        assert_eq!(
            all_pages(&s.store, &f, limit).await,
            ["a", "b", "c", "d", "e", "f", "g", "h"],
            "page size {limit}"
        );
    }
}

#[tokio::test]
async fn only_active_mailboxes_are_listed_when_asked() {
    let s = stack().await;
    for (n, active) in [("a", true), ("b", false), ("c", true)] {
        s.store
            .create_mailbox(&mailbox(n, json!({"active": active})))
            .await
            .unwrap();
    }
    let f = MailboxFilter {
        active: Some(false),
        ..Default::default()
    };
    assert_eq!(all_pages(&s.store, &f, 1).await, ["b"]);
}

#[tokio::test]
async fn an_update_moves_the_mailbox_between_lists() {
    let s = stack().await;
    let p1 = profile("P1", json!({}));
    let p2 = profile("P2", json!({}));
    let mut m = mailbox("Mover", json!({"profile_id": p1.id, "approval": "pending"}));
    s.store.create_mailbox(&m).await.unwrap();

    m.profile_id = Some(p2.id.clone());
    m.approval = Approval::Approved;
    failed(&mut m);
    m.version = 2;
    s.store.update_mailbox(&m, 1).await.unwrap();

    let by = |profile, approval, status| MailboxFilter {
        profile,
        approval,
        status,
        active: None,
    };
    let empty: [&str; 0] = [];
    assert_eq!(
        all_pages(&s.store, &by(Some(p1.id.clone()), None, None), 10).await,
        empty
    );
    assert_eq!(
        all_pages(&s.store, &by(Some(p2.id.clone()), None, None), 10).await,
        ["Mover"]
    );
    assert_eq!(
        all_pages(&s.store, &by(None, Some(Approval::Pending), None), 10).await,
        empty
    );
    assert_eq!(
        all_pages(&s.store, &by(None, Some(Approval::Approved), None), 10).await,
        ["Mover"]
    );
    assert_eq!(
        all_pages(&s.store, &by(None, None, Some(WorkloadStatus::NotRun)), 10).await,
        empty
    );
    assert_eq!(
        all_pages(&s.store, &by(None, None, Some(WorkloadStatus::Failure)), 10).await,
        ["Mover"]
    );
}

#[tokio::test]
async fn a_stale_mailbox_update_is_a_version_conflict() {
    let s = stack().await;
    let mut m = mailbox("Alice", json!({}));
    s.store.create_mailbox(&m).await.unwrap();
    m.version = 2;
    s.store.update_mailbox(&m, 1).await.unwrap();
    m.name = "Alice (stale)".into();
    let e = s.store.update_mailbox(&m, 1).await.unwrap_err();
    assert!(matches!(e, DomainError::VersionConflict { .. }), "{e:?}");
    assert_eq!(
        s.store.get_mailbox(&m.id).await.unwrap().unwrap().name,
        "Alice"
    );
}

#[tokio::test]
async fn a_token_from_another_list_is_refused() {
    let s = stack().await;
    let p = profile("P", json!({}));
    for n in ["a", "b"] {
        s.store
            .create_mailbox(&mailbox(
                n,
                json!({"profile_id": p.id, "approval": "pending"}),
            ))
            .await
            .unwrap();
    }
    let by_profile = MailboxFilter {
        profile: Some(p.id.clone()),
        ..Default::default()
    };
    let token = s
        .store
        .list_mailboxes(&by_profile, 1, None)
        .await
        .unwrap()
        .next
        .expect("a second page");
    let by_approval = MailboxFilter {
        approval: Some(Approval::Pending),
        ..Default::default()
    };
    let e = s
        .store
        .list_mailboxes(&by_approval, 1, Some(token))
        .await
        .unwrap_err();
    assert_eq!(invalid_field(e), "next");
}

#[tokio::test]
async fn a_filtered_merged_listing_skips_nothing_a_short_list_has_not_reached() {
    // The not-run list's first entry is filtered out, so its page comes back empty but
    // unfinished, while the success list stops after "c": "c" must not be returned before
    // not-run's "b", which no list has read yet.
    let s = stack().await;
    s.store
        .create_mailbox(&mailbox("a", json!({"active": false})))
        .await
        .unwrap();
    s.store
        .create_mailbox(&mailbox("b", json!({})))
        .await
        .unwrap();
    for n in ["c", "e"] {
        let mut m = mailbox(n, json!({}));
        succeeded(&mut m);
        s.store.create_mailbox(&m).await.unwrap();
    }
    let f = MailboxFilter {
        active: Some(true),
        ..Default::default()
    };
    assert_eq!(all_pages(&s.store, &f, 1).await, ["b", "c", "e"]);
}
