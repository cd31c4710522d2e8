//! The decision log through the admin services: the mailbox's owner reads it without any
//! privilege (a user may ask why their email was not tracked), others need read_mailboxes.

use std::collections::BTreeSet;

use exsync_domain::DomainError;
use exsync_domain::ids::Principal;
use exsync_domain::mailbox::IncomingTrackingOption;
use exsync_domain::privilege::{Grants, Privilege};
use exsync_domain::service::{Admin, AdminOptions, PageRequest};

use crate::support::{ALICE, Delivery, MAILBOX_OWNER, World};

fn grants(principal: &str, privileges: &[Privilege]) -> Grants {
    Grants {
        principal: Principal::parse(principal),
        privileges: privileges.iter().copied().collect::<BTreeSet<_>>(),
    }
}

async fn two_polls(w: &World) -> (exsync_domain::mailbox::Mailbox, String, String) {
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    let first = w.deliver(ALICE, Delivery::default());
    w.poll(&engine, &m).await;
    w.clock.advance(time::Duration::minutes(5));
    let second = w.deliver(ALICE, Delivery::default());
    w.poll(&engine, &m).await;
    (m, first, second)
}

fn admin(w: &World) -> Admin {
    Admin::new(
        w.adapters().ports(w.clock.clone()),
        w.exchange.clone(),
        AdminOptions::default(),
    )
}

#[tokio::test]
async fn the_mailbox_owner_reads_its_decision_log_newest_first_page_by_page() {
    let w = World::start("log-owner").await;
    let (m, first, second) = two_polls(&w).await;
    let admin = admin(&w);
    let owner = grants(MAILBOX_OWNER, &[]);
    let page = admin
        .list_decisions(
            &owner,
            &m.id,
            &PageRequest {
                limit: Some(1),
                next: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].internet_message_id.as_deref(),
        Some(second.as_str())
    );
    let rest = admin
        .list_decisions(
            &owner,
            &m.id,
            &PageRequest {
                limit: Some(10),
                next: page.next,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(
        rest.items[0].internet_message_id.as_deref(),
        Some(first.as_str())
    );
    assert!(rest.items[0].text.starts_with("tracked as "));
}

#[tokio::test]
async fn anyone_else_needs_read_mailboxes_to_read_a_decision_log() {
    let w = World::start("log-privilege").await;
    let (m, _, _) = two_polls(&w).await;
    let admin = admin(&w);
    let stranger = admin
        .list_decisions(&grants("someone-else", &[]), &m.id, &PageRequest::default())
        .await;
    assert!(matches!(
        stranger,
        Err(DomainError::Forbidden(Privilege::ReadMailboxes))
    ));
    let reader = admin
        .list_decisions(
            &grants("auditor", &[Privilege::ReadMailboxes]),
            &m.id,
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(reader.items.len(), 2);
}
