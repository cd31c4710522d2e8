//! `demo-config.json`, the configuration of the `make demo` walkthrough: it loads and
//! validates, holds what the walkthrough shows, and everything it seeds is served
//! schema-valid.

mod ews_support;

use ews_support::{Harness, codes, dfolder};
use exsync_ews_sim::SimConfig;
use exsync_ews_sim::config::GrantScope;
use exsync_ews_sim::directory::Directory;
use exsync_ews_sim::ews::{Exchange, ExchangeOptions, ItemSummary};
use exsync_ews_sim::store::{DistinguishedFolder, ItemKind};
use std::path::Path;

const SERVICE: &str = "svc-exsync";
const ALICE: &str = "alice@contoso.test";
const SUPPORT: &str = "support@contoso.test";

fn demo_config() -> SimConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    SimConfig::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The demo's store and directory; dropping it fails the test if any EWS response it
/// produced did not validate against the schema.
fn demo_harness() -> Harness {
    let cfg = demo_config();
    Harness {
        exchange: Exchange::new(&cfg, ExchangeOptions::from_config(&cfg)).unwrap(),
        directory: Directory::from_config(&cfg),
    }
}

fn items(h: &Harness, mailbox: &str, folder: DistinguishedFolder) -> Vec<ItemSummary> {
    h.exchange.items(mailbox, folder).unwrap()
}

#[test]
fn the_demo_configuration_loads_and_validates() {
    let cfg = demo_config();
    cfg.validate().unwrap();
    assert_eq!(cfg.domains, ["contoso.test"]);
    assert_eq!(cfg.netbios_domain, "CONTOSO");
    assert!(
        cfg.impersonation
            .iter()
            .any(|g| g.account == SERVICE && g.scope == GrantScope::All),
        "the service account impersonates every mailbox"
    );
    let mailboxes: Vec<&str> = cfg.mailboxes.iter().map(|m| m.smtp.as_str()).collect();
    for smtp in [
        "svc-exsync@contoso.test",
        ALICE,
        "bob@contoso.test",
        "carol@contoso.test",
        "dave@contoso.test",
        SUPPORT,
    ] {
        assert!(mailboxes.contains(&smtp), "{smtp} missing");
    }
    assert!(
        cfg.mailboxes
            .iter()
            .any(|m| m.smtp == "dave@contoso.test" && m.display_name == "Dave Dalton")
    );
    let periods: Vec<(&str, f64)> = cfg
        .arrivals
        .iter()
        .map(|a| (a.to.as_str(), a.every_seconds))
        .collect();
    assert_eq!(periods, [(SUPPORT, 15.0), (ALICE, 25.0)]);
    for a in &cfg.arrivals {
        for m in &a.messages {
            assert!(
                !m.from.ends_with("@contoso.test"),
                "arrivals come from outside: {}",
                m.from
            );
        }
    }
}

#[test]
fn every_seeded_item_of_the_demo_is_served_schema_valid_to_the_service_account() {
    let h = demo_harness();
    let cfg = demo_config();
    for mailbox in cfg.mailboxes.iter().map(|m| m.smtp.as_str()) {
        for folder in ["inbox", "calendar", "contacts", "tasks"] {
            let op = format!(
                "<m:SyncFolderItems><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:SyncFolderId>{}</m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>",
                dfolder(folder, None)
            );
            let reply = h.as_svc(mailbox, &op);
            assert_eq!(
                codes(&reply),
                ["NoError"],
                "{mailbox} {folder}: {}",
                reply.body
            );
        }
    }
    // The harness's drop asserts that none of those responses failed validation.
}

#[test]
fn the_demo_seeds_reply_threads_contacts_an_appointment_and_a_task() {
    let h = demo_harness();
    for mailbox in [ALICE, "bob@contoso.test", "dave@contoso.test", SUPPORT] {
        let inbox = items(&h, mailbox, DistinguishedFolder::Inbox);
        let threaded = inbox.iter().any(|reply| {
            inbox.iter().any(|original| {
                reply.in_reply_to.is_some() && reply.in_reply_to == original.internet_message_id
            })
        });
        assert!(
            threaded,
            "{mailbox} holds a reply to a message it also holds"
        );
    }
    assert!(items(&h, SUPPORT, DistinguishedFolder::Inbox).len() >= 3);

    let contacts = items(&h, ALICE, DistinguishedFolder::Contacts);
    assert!((2..=3).contains(&contacts.len()), "{contacts:#?}");
    for c in &contacts {
        assert_eq!(c.kind, ItemKind::Contact);
        let fields = c.contact.as_ref().unwrap();
        assert!(fields.display_name.is_some() && fields.company_name.is_some());
        assert!(!fields.email_addresses.is_empty(), "{fields:?}");
    }
    let calendar = items(&h, ALICE, DistinguishedFolder::Calendar);
    assert_eq!(calendar.len(), 1);
    assert!(calendar[0].start < calendar[0].end);
    let tasks = items(&h, ALICE, DistinguishedFolder::Tasks);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].status.as_deref(), Some("InProgress"));
}
