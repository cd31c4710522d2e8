//! `exsync ews sync` against an in-process simulator: SyncFolderItems to the end of the
//! range, GetItem for what changed, the sync state to continue from.

mod support;

use exsync_ews_sim::ews::IncomingMessage;
use exsync_ews_sim::store::EmailAddress;
use support::*;

fn sync(sim: &exsync_ews_sim::SimHandle, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["ews".into(), "sync".into()];
    args.extend(account_args(sim, MAILBOX, SERVICE_ACCOUNT, "ntlm"));
    args.extend(["--ews-url".into(), sim.ews_url().to_owned()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_with_password(&args, &password(SERVICE_ACCOUNT))
}

fn created_subjects(report: &serde_json::Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "create")
        .map(|c| c["item"]["subject"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn sync_prints_every_seeded_subject_and_a_sync_state() {
    let sim = start_sim();
    let run = sync(&sim, &[]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    for subject in seeded_subjects(MAILBOX) {
        assert!(
            run.stdout.contains(&format!("create  {subject}\n")),
            "{subject:?} missing:\n{}",
            run.stdout
        );
    }
    let state = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("sync state: "))
        .unwrap_or("");
    assert!(!state.trim().is_empty(), "{}", run.stdout);
}

#[test]
fn sync_shows_sender_time_and_message_id_of_each_message() {
    let sim = start_sim();
    let run = sync(&sim, &["--json"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();
    let config = example_config();
    let seeds = &config
        .mailboxes
        .iter()
        .find(|m| m.smtp == MAILBOX)
        .unwrap()
        .seed_messages;
    for seed in seeds {
        let change = report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["item"]["subject"] == seed.subject.as_str())
            .unwrap_or_else(|| panic!("{} missing", seed.subject));
        assert_eq!(change["item"]["from"], seed.from.as_str());
        assert_eq!(
            change["item"]["internet_message_id"],
            seed.internet_message_id.as_deref().unwrap()
        );
        assert_eq!(
            change["item"]["date_time_received"],
            seed.received.as_deref().unwrap()
        );
    }
}

#[test]
fn a_small_max_changes_pages_until_the_last_item_in_range() {
    let sim = start_sim();
    let seeded = seeded_subjects(MAILBOX);
    let run = sync(&sim, &["--max-changes", "1", "--json"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();
    assert!(
        report["sync_calls"].as_u64().unwrap() >= seeded.len() as u64,
        "{report:#}"
    );
    let mut got = created_subjects(&report);
    let mut want = seeded;
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn items_are_read_in_get_item_batches_of_at_most_ten() {
    let sim = start_sim();
    let extra = 12;
    for n in 0..extra {
        sim.exchange()
            .deliver(
                MAILBOX,
                IncomingMessage {
                    from: EmailAddress::new("bulk@fabrikam.test"),
                    subject: format!("Bulk {n}"),
                    ..IncomingMessage::default()
                },
            )
            .unwrap();
    }
    let run = sync(&sim, &["--json"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();
    let items = seeded_subjects(MAILBOX).len() + extra;
    assert_eq!(created_subjects(&report).len(), items);
    assert_eq!(
        report["get_item_calls"].as_u64().unwrap() as usize,
        items.div_ceil(10)
    );
}

#[test]
fn a_sync_from_the_printed_state_reports_only_what_arrived_since() {
    let sim = start_sim();
    let first = sync(&sim, &["--json"]).json();
    let state = first["sync_state"].as_str().unwrap().to_owned();
    sim.exchange()
        .deliver(
            MAILBOX,
            IncomingMessage {
                from: EmailAddress::new("bob@contoso.test"),
                subject: "Lunch on Friday?".into(),
                message_id: Some("<lunch-1@contoso.test>".into()),
                ..IncomingMessage::default()
            },
        )
        .unwrap();
    let run = sync(&sim, &["--sync-state", &state, "--json"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();
    assert_eq!(created_subjects(&report), ["Lunch on Friday?"]);
    assert_eq!(
        report["changes"][0]["item"]["internet_message_id"],
        "<lunch-1@contoso.test>"
    );
}

#[test]
fn an_invalid_sync_state_fails_at_the_mailbox_step_and_says_to_start_over() {
    let sim = start_sim();
    let first = sync(&sim, &["--json"]).json();
    let state = first["sync_state"].as_str().unwrap().to_owned();
    sim.exchange().invalidate_sync_states(MAILBOX).unwrap();
    let run = sync(&sim, &["--sync-state", &state]);
    assert_eq!(run.code, Some(15), "{run:#?}");
    assert!(
        run.stderr.contains("ErrorInvalidSyncStateData"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("drop --sync-state"), "{}", run.stderr);
}

#[test]
fn a_misspelt_folder_is_a_usage_error() {
    let run = run(&[
        "ews",
        "sync",
        "--email",
        MAILBOX,
        "--ews-url",
        "https://localhost/EWS/Exchange.asmx",
        "--user",
        "CONTOSO\\svc-exsync",
        "--password-env",
        PASSWORD_VAR,
        "--auth",
        "ntlm",
        "--folder",
        "inbx",
    ]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("inbx"), "{}", run.stderr);
}
