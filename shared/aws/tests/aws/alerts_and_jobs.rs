//! Alerts (one copy per audience, newest first, with TTL) and job progress.

use crate::common::{alert, job, now, stack};
use exsync_aws::DynamoStore;
use exsync_domain::DomainError;
use exsync_domain::alert::AlertSubject;
use exsync_domain::ids::{AlertId, JobId, MailboxId, Principal, ProfileId};
use exsync_domain::job::JobState;
use exsync_domain::ports::OpsStore;
use serde_json::json;
use std::sync::Arc;

fn p(name: &str) -> Principal {
    Principal::parse(name).unwrap()
}

#[tokio::test]
async fn an_alert_reaches_its_subject_and_every_owner_newest_first() {
    let s = stack().await;
    let mbx = MailboxId::new();
    let t0 = now();
    let older = alert(
        "TestAndEnableFailed",
        json!({"kind": "mailbox", "id": mbx}),
        &["alice", "admin"],
        t0,
    );
    let newer = alert(
        "ErrorImpersonateUserDenied",
        json!({"kind": "mailbox", "id": mbx}),
        &["alice"],
        t0 + time::Duration::minutes(1),
    );
    s.store.put_alert(&older).await.unwrap();
    s.store.put_alert(&newer).await.unwrap();

    let by_mailbox = s
        .store
        .alerts_for_subject(&AlertSubject::Mailbox(mbx.clone()), 10)
        .await
        .unwrap();
    assert_eq!(by_mailbox, [newer.clone(), older.clone()]);
    assert_eq!(
        s.store.alerts_for_owner(&p("alice"), 10).await.unwrap(),
        [newer.clone(), older.clone()]
    );
    assert_eq!(
        s.store.alerts_for_owner(&p("admin"), 10).await.unwrap(),
        [older]
    );
    assert_eq!(
        s.store
            .alerts_for_subject(&AlertSubject::Mailbox(mbx), 1)
            .await
            .unwrap(),
        [newer]
    );
}

#[tokio::test]
async fn profile_alerts_are_listed_by_profile() {
    let s = stack().await;
    let profile = ProfileId::new();
    let a = alert(
        "AutodiscoverFailed",
        json!({"kind": "profile", "id": profile}),
        &["admin"],
        now(),
    );
    s.store.put_alert(&a).await.unwrap();
    assert_eq!(
        s.store
            .alerts_for_subject(&AlertSubject::Profile(profile), 10)
            .await
            .unwrap(),
        [a]
    );
    assert!(
        s.store
            .alerts_for_subject(&AlertSubject::Profile(ProfileId::new()), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn every_copy_of_an_alert_carries_its_expiry_as_ttl() {
    let s = stack().await;
    let a = alert(
        "X",
        json!({"kind": "mailbox", "id": MailboxId::new()}),
        &["alice", "bob"],
        now(),
    );
    s.store.put_alert(&a).await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&s.sdk);
    let items = client
        .scan()
        .table_name(&s.names.table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    // Three copies (mailbox, alice, bob) and the index item that dismissal reads.
    assert_eq!(items.len(), 4);
    for item in items {
        let ttl = item
            .get("ttl")
            .and_then(|v| v.as_n().ok())
            .expect("ttl set");
        assert_eq!(ttl, &a.expires_at.unix_timestamp().to_string());
    }
}

#[tokio::test]
async fn an_expired_alert_is_not_listed_before_ttl_removes_it() {
    let s = stack().await;
    let mbx = MailboxId::new();
    let long_ago = now() - time::Duration::days(3);
    let expired = alert(
        "Old",
        json!({"kind": "mailbox", "id": mbx}),
        &["alice"],
        long_ago,
    );
    let current = alert(
        "New",
        json!({"kind": "mailbox", "id": mbx}),
        &["alice"],
        now(),
    );
    s.store.put_alert(&expired).await.unwrap();
    s.store.put_alert(&current).await.unwrap();
    assert_eq!(
        s.store.alerts_for_owner(&p("alice"), 10).await.unwrap(),
        [current]
    );
}

#[tokio::test]
async fn dismissing_an_alert_marks_every_copy() {
    let s = stack().await;
    let mbx = MailboxId::new();
    let a = alert(
        "X",
        json!({"kind": "mailbox", "id": mbx}),
        &["alice", "admin"],
        now(),
    );
    s.store.put_alert(&a).await.unwrap();
    s.store.dismiss_alert(&a.id).await.unwrap();
    let lists = [
        s.store
            .alerts_for_subject(&AlertSubject::Mailbox(mbx), 10)
            .await
            .unwrap(),
        s.store.alerts_for_owner(&p("alice"), 10).await.unwrap(),
        s.store.alerts_for_owner(&p("admin"), 10).await.unwrap(),
    ];
    for l in lists {
        assert_eq!(l.len(), 1);
        assert!(l[0].dismissed);
    }
}

#[tokio::test]
async fn dismissing_an_unknown_alert_is_not_found() {
    let s = stack().await;
    let e = s.store.dismiss_alert(&AlertId::new()).await.unwrap_err();
    assert!(matches!(e, DomainError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn many_alerts_are_all_written() {
    // More copies than one BatchWriteItem call takes (25).
    let s = stack().await;
    let owners: Vec<String> = (0..30).map(|i| format!("owner{i}")).collect();
    let owner_refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    let a = alert(
        "Wide",
        json!({"kind": "profile", "id": ProfileId::new()}),
        &owner_refs,
        now(),
    );
    s.store.put_alert(&a).await.unwrap();
    for o in &owners {
        assert_eq!(
            s.store.alerts_for_owner(&p(o), 10).await.unwrap(),
            std::slice::from_ref(&a)
        );
    }
}

#[tokio::test]
async fn a_created_job_reads_back_as_written() {
    let s = stack().await;
    let j = job(
        json!({"kind": "test_and_enable_profile", "profile_id": ProfileId::new()}),
        3,
    );
    s.store.create_job(&j).await.unwrap();
    assert_eq!(s.store.get_job(&j.id).await.unwrap(), Some(j.clone()));
    let e = s.store.create_job(&j).await.unwrap_err();
    assert!(matches!(e, DomainError::Conflict(_)), "{e:?}");
}

#[tokio::test]
async fn concurrent_progress_reports_all_count() {
    let s = stack().await;
    let j = job(
        json!({"kind": "test_and_enable_mailboxes", "mailbox_ids": []}),
        20,
    );
    s.store.create_job(&j).await.unwrap();
    let store: Arc<DynamoStore> = Arc::new(s.store.clone());
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let id = j.id.clone();
            let ok = i % 4 != 0;
            tokio::spawn(async move {
                store
                    .job_progress(&id, 1, u64::from(ok), u64::from(!ok), None, now())
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let after = s.store.get_job(&j.id).await.unwrap().unwrap();
    assert_eq!((after.done, after.succeeded, after.failed), (20, 15, 5));
    assert_eq!(after.state, JobState::Queued);
}

#[tokio::test]
async fn progress_can_set_the_state_and_time() {
    let s = stack().await;
    let j = job(
        json!({"kind": "test_and_enable_mailboxes", "mailbox_ids": []}),
        1,
    );
    s.store.create_job(&j).await.unwrap();
    let at = now() + time::Duration::seconds(5);
    s.store
        .job_progress(&j.id, 1, 1, 0, Some(JobState::Completed), at)
        .await
        .unwrap();
    let after = s.store.get_job(&j.id).await.unwrap().unwrap();
    assert_eq!(after.state, JobState::Completed);
    assert_eq!(after.updated_at, at);
    assert_eq!(after.done, 1);
}

#[tokio::test]
async fn progress_on_a_missing_job_is_not_found_and_creates_nothing() {
    let s = stack().await;
    let id = JobId::new();
    let e = s
        .store
        .job_progress(&id, 1, 1, 0, None, now())
        .await
        .unwrap_err();
    assert!(matches!(e, DomainError::NotFound { .. }), "{e:?}");
    assert_eq!(s.store.get_job(&id).await.unwrap(), None);
}
