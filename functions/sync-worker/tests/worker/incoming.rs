//! Incoming tracking: Process Email From, the tracking options, correlation, dedup across
//! mailboxes, resync, Undeliverable, and the decision log.

use exsync_domain::activity::{CorrelationMethod, Direction, EmailActivity, EmailStatus};
use exsync_domain::ids::{ActivityId, Principal, RecordId};
use exsync_domain::mailbox::IncomingTrackingOption;
use exsync_domain::ports::{ActivityStore, SyncStore};
use exsync_domain::record::RecordKind;
use exsync_domain::sync::correlation::CorrelationKeys;
use exsync_domain::sync::decisions::{Decision, SkipReason};
use exsync_ews_sim::store::DistinguishedFolder;
use time::macros::datetime;

use crate::support::{ALICE, BOB, Delivery, World, WorldOptions};

#[tokio::test]
async fn a_new_message_is_tracked_with_its_parties_resolved_and_logged() {
    let w = World::start("tracked").await;
    let contact = w
        .record(RecordKind::Contact, "Fiona Buyer", "fiona@fabrikam.test")
        .await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let mid = w.deliver(
        ALICE,
        Delivery {
            from: "fiona@fabrikam.test",
            subject: "Quote request",
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &m).await;

    let e = w.email(&mid).await.expect("the message is tracked");
    assert_eq!(e.direction, Direction::Incoming);
    assert_eq!(e.status, EmailStatus::Received);
    assert_eq!(e.subject, "Quote request");
    assert_eq!(e.receiving_mailboxes, vec![m.id.clone()]);
    let from = e.from.as_ref().expect("a sender");
    assert_eq!(from.record.as_ref(), Some(&contact));
    assert!(e.to.iter().any(|p| p.address.as_str() == ALICE));
    let d = w.decision_for(&m, &mid).await;
    assert_eq!(d.text, format!("tracked as {}", e.id));
}

#[tokio::test]
async fn a_message_received_before_process_email_from_is_skipped_and_logged() {
    let w = World::start("before").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let old = w.deliver(
        ALICE,
        Delivery {
            subject: "Old news",
            received: Some(datetime!(2023-06-01 12:00 UTC)),
            ..Delivery::default()
        },
    );
    let new = w.deliver(ALICE, Delivery::default());
    w.poll(&w.engine(), &m).await;

    assert!(w.email(&old).await.is_none());
    assert!(w.email(&new).await.is_some());
    let d = w.decision_for(&m, &old).await;
    assert_eq!(
        d.outcome,
        Decision::Skipped {
            reason: SkipReason::ReceivedBeforeProcessEmailFrom
        }
    );
    assert_eq!(d.text, "skipped: received before Process Email From");
}

#[tokio::test]
async fn the_mailboxs_own_process_email_from_counts_when_it_is_later() {
    let w = World::start("mbxfrom").await;
    let mut m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    m.process_email_received_after = Some(datetime!(2025-01-01 00:00 UTC));
    m.version += 1;
    exsync_domain::ports::ConfigStore::update_mailbox(&w.store, &m, m.version - 1)
        .await
        .unwrap();
    let between = w.deliver(
        ALICE,
        Delivery {
            received: Some(datetime!(2024-06-01 12:00 UTC)),
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &m).await;
    assert!(w.email(&between).await.is_none());
    assert_eq!(
        w.decision_for(&m, &between).await.text,
        "skipped: received before Process Email From"
    );
}

#[tokio::test]
async fn with_tracking_off_nothing_is_tracked() {
    let w = World::start("off").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::None).await;
    let mid = w.deliver(ALICE, Delivery::default());
    w.poll(&w.engine(), &m).await;
    assert!(w.email(&mid).await.is_none());
    assert_eq!(
        w.decision_for(&m, &mid).await.outcome,
        Decision::Skipped {
            reason: SkipReason::TrackingOff
        }
    );
}

#[tokio::test]
async fn replies_only_skips_a_message_that_continues_nothing_tracked() {
    let w = World::start("replies-skip").await;
    let m = w
        .mailbox(ALICE, IncomingTrackingOption::RepliesToTrackedEmail)
        .await;
    let mid = w.deliver(ALICE, Delivery::default());
    w.poll(&w.engine(), &m).await;
    assert!(w.email(&mid).await.is_none());
    assert_eq!(
        w.decision_for(&m, &mid).await.text,
        "skipped: not a reply to tracked email"
    );
}

#[tokio::test]
async fn replies_only_tracks_a_reply_to_tracked_email() {
    let w = World::start("replies-track").await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    let alice = w
        .mailbox(ALICE, IncomingTrackingOption::RepliesToTrackedEmail)
        .await;
    let first = w.deliver(BOB, Delivery::default());
    w.poll(&w.engine(), &bob).await;
    let reply = w.deliver(
        ALICE,
        Delivery {
            subject: "RE: Hello",
            in_reply_to: Some(first.clone()),
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &alice).await;
    let e = w.email(&reply).await.expect("the reply is tracked");
    assert_eq!(e.correlation, CorrelationMethod::InReplyTo);
}

#[tokio::test]
async fn known_contacts_tracks_a_contact_and_skips_a_user() {
    let w = World::start("known").await;
    w.record(RecordKind::Lead, "Lena Lead", "lena@fabrikam.test")
        .await;
    w.record(RecordKind::User, "Colleague", "colleague@contoso.test")
        .await;
    let m = w
        .mailbox(
            ALICE,
            IncomingTrackingOption::FromKnownContactsAccountsLeads,
        )
        .await;
    let from_lead = w.deliver(
        ALICE,
        Delivery {
            from: "lena@fabrikam.test",
            ..Delivery::default()
        },
    );
    let from_user = w.deliver(
        ALICE,
        Delivery {
            from: "colleague@contoso.test",
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &m).await;
    assert!(w.email(&from_lead).await.is_some());
    assert!(w.email(&from_user).await.is_none());
    assert_eq!(
        w.decision_for(&m, &from_user).await.text,
        "skipped: sender is not a known contact"
    );
}

#[tokio::test]
async fn any_email_enabled_record_tracks_a_user_and_skips_a_stranger() {
    let w = World::start("anyrecord").await;
    w.record(RecordKind::User, "Colleague", "colleague@contoso.test")
        .await;
    let m = w
        .mailbox(ALICE, IncomingTrackingOption::FromAnyEmailEnabledRecord)
        .await;
    let from_user = w.deliver(
        ALICE,
        Delivery {
            from: "colleague@contoso.test",
            ..Delivery::default()
        },
    );
    let from_stranger = w.deliver(
        ALICE,
        Delivery {
            from: "stranger@example.test",
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &m).await;
    assert!(w.email(&from_user).await.is_some());
    assert!(w.email(&from_stranger).await.is_none());
    assert_eq!(
        w.decision_for(&m, &from_stranger).await.outcome,
        Decision::Skipped {
            reason: SkipReason::SenderNotEmailEnabledRecord
        }
    );
}

#[tokio::test]
async fn all_email_tracks_a_stranger() {
    let w = World::start("all").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let mid = w.deliver(
        ALICE,
        Delivery {
            from: "stranger@example.test",
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &m).await;
    assert!(w.email(&mid).await.is_some());
}

/// An outgoing email as exsync's send leaves it: sent, with its Message-ID, token and
/// regarding record, and its correlation pointers written.
async fn sent_email(w: &World, token: Option<&str>, regarding: Option<RecordId>) -> EmailActivity {
    let now = time::OffsetDateTime::now_utc();
    let e = EmailActivity {
        id: ActivityId::new(),
        subject: match token {
            Some(t) => format!("Your quote {t}"),
            None => "Your quote".into(),
        },
        body_text: "Attached.".into(),
        body_html: None,
        body_truncated: false,
        from: None,
        to: Vec::new(),
        cc: Vec::new(),
        bcc: Vec::new(),
        direction: Direction::Outgoing,
        status: EmailStatus::Sent,
        internet_message_id: Some(format!("<{}@contoso.test>", uuid::Uuid::new_v4().simple())),
        in_reply_to: None,
        conversation_index: None,
        tracking_token: token.map(str::to_owned),
        correlation: CorrelationMethod::None,
        regarding,
        parent: None,
        receiving_mailboxes: Vec::new(),
        sender_mailbox: None,
        ews_item_ids: Default::default(),
        attachments: Vec::new(),
        delivery_attempts: 1,
        failure_reason: None,
        sent_on: Some(now),
        received_on: None,
        owner: Principal::parse("sales-rep").unwrap(),
        version: 1,
        created_at: now,
        modified_at: now,
    };
    ActivityStore::create_email(&w.store, &e).await.unwrap();
    let settings = exsync_domain::ports::ConfigStore::get_settings(&w.store)
        .await
        .unwrap();
    SyncStore::write_page(
        &w.store,
        &[],
        &[(e.id.clone(), CorrelationKeys::of(&e, &settings))],
    )
    .await
    .unwrap();
    e
}

#[tokio::test]
async fn in_reply_to_correlates_a_reply_to_the_email_it_answers() {
    let w = World::start("irt").await;
    let account = w
        .record(RecordKind::Account, "Fabrikam", "info@fabrikam.test")
        .await;
    let sent = sent_email(&w, None, Some(account.clone())).await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let reply = w.deliver(
        ALICE,
        Delivery {
            subject: "RE: Your quote",
            in_reply_to: sent.internet_message_id.clone(),
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &m).await;
    let e = w.email(&reply).await.unwrap();
    assert_eq!(e.correlation, CorrelationMethod::InReplyTo);
    assert_eq!(e.parent.as_ref(), Some(&sent.id));
    assert_eq!(e.regarding.as_ref(), Some(&account));
    assert_eq!(
        w.decision_for(&m, &reply).await.text,
        format!("tracked via In-Reply-To as {}", e.id)
    );
}

#[tokio::test]
async fn a_tracking_token_in_the_subject_correlates_to_the_email_sent_with_it() {
    let w = World::start("token").await;
    let sent = sent_email(&w, Some("CRM:0000042"), None).await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let reply = w.deliver(
        ALICE,
        Delivery {
            subject: "RE: Your quote CRM:0000042",
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &m).await;
    let e = w.email(&reply).await.unwrap();
    assert_eq!(e.correlation, CorrelationMethod::TrackingToken);
    assert_eq!(e.parent.as_ref(), Some(&sent.id));
}

#[tokio::test]
async fn a_conversation_index_correlates_to_the_conversations_tracked_email() {
    let w = World::start("conv").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    // The conversation starts with a message too old to track; a first reply is tracked.
    let root = w.deliver(
        ALICE,
        Delivery {
            subject: "Project kickoff",
            received: Some(datetime!(2023-05-01 09:00 UTC)),
            ..Delivery::default()
        },
    );
    let first = w.deliver(
        ALICE,
        Delivery {
            subject: "RE: Project kickoff",
            in_reply_to: Some(root.clone()),
            ..Delivery::default()
        },
    );
    let engine = w.engine();
    w.poll(&engine, &m).await;
    let first = w.email(&first).await.expect("the first reply is tracked");
    // A second reply to the same untracked root: In-Reply-To finds nothing, the
    // conversation does.
    let second = w.deliver(
        ALICE,
        Delivery {
            subject: "RE: Project kickoff (agenda)",
            in_reply_to: Some(root),
            ..Delivery::default()
        },
    );
    w.poll(&engine, &m).await;
    let e = w.email(&second).await.unwrap();
    assert_eq!(e.correlation, CorrelationMethod::ConversationIndex);
    assert_eq!(e.parent.as_ref(), Some(&first.id));
}

#[tokio::test]
async fn smart_matching_is_off_unless_the_org_turns_it_on() {
    let w = World::start("smart-off").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    w.deliver(
        ALICE,
        Delivery {
            subject: "Quarterly numbers",
            ..Delivery::default()
        },
    );
    w.poll(&engine, &m).await;
    let again = w.deliver(
        ALICE,
        Delivery {
            subject: "RE: Quarterly numbers",
            ..Delivery::default()
        },
    );
    w.poll(&engine, &m).await;
    assert_eq!(
        w.email(&again).await.unwrap().correlation,
        CorrelationMethod::None
    );
}

#[tokio::test]
async fn smart_matching_correlates_the_same_subject_between_the_same_parties() {
    let w = World::start("smart-on").await;
    w.settings(|s| s.smart_matching = true).await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    let first = w.deliver(
        ALICE,
        Delivery {
            subject: "Quarterly numbers",
            ..Delivery::default()
        },
    );
    w.poll(&engine, &m).await;
    let first = w.email(&first).await.unwrap();
    let again = w.deliver(
        ALICE,
        Delivery {
            subject: "RE: Quarterly numbers",
            ..Delivery::default()
        },
    );
    w.poll(&engine, &m).await;
    let e = w.email(&again).await.unwrap();
    assert_eq!(e.correlation, CorrelationMethod::SmartMatching);
    assert_eq!(e.parent.as_ref(), Some(&first.id));
}

#[tokio::test]
async fn a_message_received_by_two_tracked_mailboxes_is_one_activity_with_both() {
    let w = World::start("two-mbx").await;
    let alice = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    let mid = format!("<shared-{}@fabrikam.test>", uuid::Uuid::new_v4().simple());
    for to in [ALICE, BOB] {
        w.deliver(
            to,
            Delivery {
                message_id: Some(mid.clone()),
                ..Delivery::default()
            },
        );
    }
    let engine = w.engine();
    w.poll(&engine, &alice).await;
    w.poll(&engine, &bob).await;
    let e = w.email(&mid).await.unwrap();
    assert_eq!(
        e.receiving_mailboxes,
        vec![alice.id.clone(), bob.id.clone()]
    );
    assert_eq!(w.emails_of(&alice).await.len(), 1);
    assert_eq!(w.emails_of(&bob).await.len(), 1);
    assert_eq!(
        w.decision_for(&bob, &mid).await.outcome,
        Decision::AlreadyTracked {
            activity_id: e.id.clone(),
            added_mailbox: true
        }
    );
}

#[tokio::test]
async fn email_sent_through_exsync_to_a_tracked_user_is_a_second_activity_by_default() {
    let w = World::start("two-acts").await;
    let sent = sent_email(&w, None, None).await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    let mid = sent.internet_message_id.clone().unwrap();
    w.deliver(
        BOB,
        Delivery {
            from: ALICE,
            message_id: Some(mid.clone()),
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &bob).await;
    let received = w.emails_of(&bob).await;
    assert_eq!(received.len(), 1);
    assert_ne!(received[0].id, sent.id);
    assert_eq!(received[0].direction, Direction::Incoming);
    assert_eq!(
        received[0].internet_message_id.as_deref(),
        Some(mid.as_str())
    );
}

#[tokio::test]
async fn email_sent_through_exsync_to_a_tracked_user_is_one_activity_when_the_org_says_so() {
    let w = World::start("one-act").await;
    w.settings(|s| s.track_email_between_users_as_two_activities = false)
        .await;
    let sent = sent_email(&w, None, None).await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    let mid = sent.internet_message_id.clone().unwrap();
    w.deliver(
        BOB,
        Delivery {
            from: ALICE,
            message_id: Some(mid.clone()),
            ..Delivery::default()
        },
    );
    w.poll(&w.engine(), &bob).await;
    let e = ActivityStore::get_email(&w.store, &sent.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.receiving_mailboxes, vec![bob.id.clone()]);
    assert_eq!(w.emails_of(&bob).await.len(), 1);
}

#[tokio::test]
async fn an_invalid_sync_state_resyncs_the_inbox_without_duplicates() {
    let w = World::start("resync").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    w.deliver_many(ALICE, 3);
    w.poll(&engine, &m).await;
    w.sim.exchange().invalidate_sync_states(ALICE).unwrap();
    w.deliver_many(ALICE, 1);
    w.poll(&engine, &m).await;
    let emails = w.emails_of(&m).await;
    assert_eq!(emails.len(), 4);
    let m = w.reload(&m).await;
    assert!(m.incoming_state.enabled);
    assert_eq!(m.incoming_state.consecutive_transient_failures, 0);
}

#[tokio::test]
async fn a_message_that_cannot_be_tracked_moves_to_undeliverable_when_the_profile_says_so() {
    let w = World::start_with(
        "undeliverable",
        WorldOptions {
            move_failed_to_undeliverable: true,
            ..WorldOptions::default()
        },
    )
    .await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.deliver(
        ALICE,
        Delivery {
            subject: "No id",
            message_id: Some("<>".into()),
            ..Delivery::default()
        },
    );
    let good = w.deliver(ALICE, Delivery::default());
    w.poll(&w.engine(), &m).await;

    assert!(w.email(&good).await.is_some());
    let inbox = w
        .sim
        .exchange()
        .items(ALICE, DistinguishedFolder::Inbox)
        .unwrap();
    assert!(
        inbox.iter().all(|i| i.subject.as_deref() != Some("No id")),
        "the message left the Inbox"
    );
    let failed = w
        .decisions(&m)
        .await
        .into_iter()
        .find(|d| d.outcome.is_failure())
        .expect("the failure is logged");
    assert_eq!(
        failed.text,
        "failed: MissingInternetMessageId; moved to Undeliverable"
    );
    let m = w.reload(&m).await;
    assert!(m.scheduler.undeliverable_folder_id.is_some());
    assert_eq!(m.scheduler.items_failed, 1);
}
