//! Roles, principals and idempotency keys.

use crate::common::{now, stack};
use exsync_aws::dynamo::IdempotencyOutcome;
use exsync_domain::ids::Principal;
use exsync_domain::ports::AccessStore;
use exsync_domain::privilege::{Privilege, Role};
use std::collections::BTreeSet;

#[tokio::test]
async fn a_principal_without_roles_has_none() {
    let s = stack().await;
    let p = Principal::parse("nobody").unwrap();
    assert!(s.store.roles_of(&p).await.unwrap().is_empty());
}

#[tokio::test]
async fn assigned_roles_replace_the_previous_ones() {
    let s = stack().await;
    let p = Principal::parse("arn:aws:iam::123456789012:user/alice").unwrap();
    s.store
        .set_roles(&p, &["a".into(), "b".into()])
        .await
        .unwrap();
    s.store.set_roles(&p, &["c".into()]).await.unwrap();
    assert_eq!(s.store.roles_of(&p).await.unwrap(), ["c"]);
}

#[tokio::test]
async fn a_role_reads_back_with_its_privileges() {
    let s = stack().await;
    let r = Role {
        name: "approver".into(),
        privileges: BTreeSet::from([Privilege::ApproveEmail, Privilege::ReadMailboxes]),
    };
    s.store.put_role(&r).await.unwrap();
    assert_eq!(s.store.get_role("approver").await.unwrap(), Some(r));
    assert_eq!(s.store.get_role("nope").await.unwrap(), None);
}

#[tokio::test]
async fn an_idempotency_key_is_first_once_until_it_expires() {
    let s = stack().await;
    let soon = now() + time::Duration::hours(1);
    assert_eq!(
        s.store
            .claim_idempotency_key("send-42", soon)
            .await
            .unwrap(),
        IdempotencyOutcome::First
    );
    assert_eq!(
        s.store
            .claim_idempotency_key("send-42", soon)
            .await
            .unwrap(),
        IdempotencyOutcome::Repeat
    );
    assert_eq!(
        s.store
            .claim_idempotency_key("send-43", soon)
            .await
            .unwrap(),
        IdempotencyOutcome::First
    );
}

#[tokio::test]
async fn an_expired_idempotency_key_can_be_claimed_again() {
    let s = stack().await;
    let past = now() - time::Duration::minutes(1);
    s.store.claim_idempotency_key("k", past).await.unwrap();
    assert_eq!(
        s.store
            .claim_idempotency_key("k", now() + time::Duration::hours(1))
            .await
            .unwrap(),
        IdempotencyOutcome::First
    );
}
