//! Email activities: Message-ID dedup, the outbox and its claim, and the lists by mailbox
//! and regarding record.

use crate::common::{email, now, stack};
use exsync_domain::DomainError;
use exsync_domain::activity::EmailStatus;
use exsync_domain::ids::{ActivityId, MailboxId, RecordId};
use exsync_domain::ports::{ActivityStore, MailFlowStore, Tracked};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn a_created_email_reads_back_as_written() {
    let s = stack().await;
    let e = email(
        "Quote",
        json!({"to": [{"address": "bob@fabrikam.com", "name": "Bob"}], "ews_item_ids": {"m1": "AAMk="}}),
    );
    s.store.create_email(&e).await.unwrap();
    assert_eq!(s.store.get_email(&e.id).await.unwrap(), Some(e));
}

#[tokio::test]
async fn a_message_is_tracked_once_however_many_mailboxes_receive_it() {
    let s = stack().await;
    let first = email(
        "Hello",
        json!({"internet_message_id": "<m1@fabrikam.com>", "receiving_mailboxes": ["alice-mbx"]}),
    );
    let second = email(
        "Hello",
        json!({"internet_message_id": "<m1@fabrikam.com>", "receiving_mailboxes": ["bob-mbx"]}),
    );
    assert_eq!(
        s.store.track_email_once(&first).await.unwrap(),
        Tracked::Created
    );
    assert_eq!(
        s.store.track_email_once(&second).await.unwrap(),
        Tracked::AlreadyTracked(first.id.clone())
    );
    assert_eq!(s.store.get_email(&second.id).await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_trackers_of_one_message_create_one_activity() {
    let s = stack().await;
    let store = Arc::new(s.store.clone());
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        let e = email(
            "Race",
            json!({"internet_message_id": "<race@fabrikam.com>", "receiving_mailboxes": [format!("mbx-{i}")]}),
        );
        tasks.push(tokio::spawn(
            async move { store.track_email_once(&e).await },
        ));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() == Tracked::Created {
            created += 1;
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn a_tracked_email_is_found_by_its_message_id_with_or_without_brackets() {
    let s = stack().await;
    let e = email(
        "Find me",
        json!({"internet_message_id": "<find@fabrikam.com>"}),
    );
    s.store.track_email_once(&e).await.unwrap();
    for form in [
        "<find@fabrikam.com>",
        "find@fabrikam.com",
        " <find@fabrikam.com> ",
    ] {
        assert_eq!(
            s.store
                .email_by_message_id(form)
                .await
                .unwrap()
                .map(|e| e.id),
            Some(e.id.clone()),
            "{form}"
        );
    }
    assert_eq!(
        s.store.email_by_message_id("<other@x.com>").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn tracking_needs_a_message_id() {
    let s = stack().await;
    let e = email("No id", json!({}));
    let err = s.store.track_email_once(&e).await.unwrap_err();
    assert_eq!(crate::common::invalid_field(err), "internet_message_id");
}

#[tokio::test]
async fn creating_an_email_whose_message_id_is_taken_is_a_conflict() {
    let s = stack().await;
    let a = email("A", json!({"internet_message_id": "<dup@x.com>"}));
    let b = email("B", json!({"internet_message_id": "<dup@x.com>"}));
    s.store.create_email(&a).await.unwrap();
    let e = s.store.create_email(&b).await.unwrap_err();
    assert!(matches!(e, DomainError::Conflict(_)), "{e:?}");
}

#[tokio::test]
async fn a_pending_email_is_claimed_by_exactly_one_sender() {
    let s = stack().await;
    let sender = MailboxId::new();
    let e = email(
        "Outgoing",
        json!({"direction": "outgoing", "status": "pending_send", "sender_mailbox": sender}),
    );
    s.store.create_email(&e).await.unwrap();
    let pending = s.store.pending_emails(&sender, 10).await.unwrap();
    assert_eq!(pending.iter().map(|e| &e.id).collect::<Vec<_>>(), [&e.id]);

    let at = now();
    let claimed = s.store.claim_for_sending(&e.id, at).await.unwrap().unwrap();
    assert_eq!(claimed.status, EmailStatus::Sending);
    assert_eq!(claimed.version, e.version + 1);
    assert_eq!(claimed.modified_at, at);
    assert_eq!(s.store.claim_for_sending(&e.id, at).await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_claims_have_one_winner() {
    let s = stack().await;
    let sender = MailboxId::new();
    let e = email(
        "Race",
        json!({"direction": "outgoing", "status": "pending_send", "sender_mailbox": sender}),
    );
    s.store.create_email(&e).await.unwrap();
    let store = Arc::new(s.store.clone());
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            let id = e.id.clone();
            tokio::spawn(async move { store.claim_for_sending(&id, now()).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn an_email_not_pending_cannot_be_claimed() {
    let s = stack().await;
    let e = email("Draft", json!({"direction": "outgoing", "status": "draft"}));
    s.store.create_email(&e).await.unwrap();
    assert_eq!(s.store.claim_for_sending(&e.id, now()).await.unwrap(), None);
    assert_eq!(
        s.store.get_email(&e.id).await.unwrap().unwrap().status,
        EmailStatus::Draft
    );
}

#[tokio::test]
async fn claiming_a_missing_email_is_not_found() {
    let s = stack().await;
    let e = s
        .store
        .claim_for_sending(&ActivityId::new(), now())
        .await
        .unwrap_err();
    assert!(matches!(e, DomainError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn a_sent_email_leaves_the_outbox() {
    let s = stack().await;
    let sender = MailboxId::new();
    let mut e = email(
        "Bye",
        json!({"direction": "outgoing", "status": "pending_send", "sender_mailbox": sender}),
    );
    s.store.create_email(&e).await.unwrap();
    e.status = EmailStatus::Sent;
    e.version = 2;
    s.store.update_email(&e, 1).await.unwrap();
    assert!(
        s.store
            .pending_emails(&sender, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_outbox_lists_oldest_first() {
    let s = stack().await;
    let sender = MailboxId::new();
    let t0 = now();
    let mut ids = Vec::new();
    for i in 0..3 {
        let at = t0 + time::Duration::seconds(i);
        let e = email(
            &format!("e{i}"),
            json!({"direction": "outgoing", "status": "pending_send", "sender_mailbox": sender,
                   "created_at": at.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        );
        ids.push(e.id.clone());
        s.store.create_email(&e).await.unwrap();
    }
    let listed: Vec<_> = s
        .store
        .pending_emails(&sender, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(s.store.pending_emails(&sender, 2).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_stale_email_update_is_a_version_conflict() {
    let s = stack().await;
    let mut e = email("V", json!({}));
    s.store.create_email(&e).await.unwrap();
    e.version = 2;
    s.store.update_email(&e, 1).await.unwrap();
    e.subject = "stale".into();
    let err = s.store.update_email(&e, 1).await.unwrap_err();
    assert!(
        matches!(err, DomainError::VersionConflict { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn emails_list_by_mailbox_newest_first_across_pages() {
    let s = stack().await;
    let mbx = MailboxId::new();
    let t0 = now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let at = t0 + time::Duration::minutes(i);
        let e = email(
            &format!("e{i}"),
            json!({"receiving_mailboxes": [mbx],
                   "created_at": at.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        );
        ids.push(e.id.clone());
        s.store.create_email(&e).await.unwrap();
    }
    // Another mailbox's email is not listed.
    s.store
        .create_email(&email(
            "other",
            json!({"receiving_mailboxes": [MailboxId::new()]}),
        ))
        .await
        .unwrap();
    ids.reverse();
    let mut listed = Vec::new();
    let mut next = None;
    loop {
        let page = s.store.list_emails_by_mailbox(&mbx, 2, next).await.unwrap();
        listed.extend(page.items.into_iter().map(|e| e.id));
        match page.next {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn a_sender_mailbox_lists_the_emails_it_sends() {
    let s = stack().await;
    let sender = MailboxId::new();
    let e = email(
        "Sent by",
        json!({"direction": "outgoing", "status": "draft", "sender_mailbox": sender}),
    );
    s.store.create_email(&e).await.unwrap();
    let page = s
        .store
        .list_emails_by_mailbox(&sender, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items, [e]);
}

#[tokio::test]
async fn emails_list_by_regarding_record_newest_first() {
    let s = stack().await;
    let account = RecordId::new();
    let t0 = now();
    let old = email(
        "old",
        json!({"regarding": account, "created_at": t0.format(&time::format_description::well_known::Rfc3339).unwrap()}),
    );
    let new = email(
        "new",
        json!({"regarding": account,
               "created_at": (t0 + time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).unwrap()}),
    );
    s.store.create_email(&old).await.unwrap();
    s.store.create_email(&new).await.unwrap();
    s.store
        .create_email(&email("unrelated", json!({"regarding": RecordId::new()})))
        .await
        .unwrap();
    let page = s
        .store
        .list_emails_by_regarding(&account, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items, [new, old]);
    assert_eq!(page.next, None);
}
