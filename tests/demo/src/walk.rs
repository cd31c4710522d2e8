//! The seed's walkthrough, step by step, through exsync's admin API only (what an admin's
//! browser or script would call) with the simulator's control API standing in for the
//! Exchange side: mail arriving over SMTP, a user working in Outlook, an Exchange admin
//! removing an impersonation grant, and for looking into mailboxes.
//!
//! Every step checks what it should have caused and fails with what it saw otherwise. Steps
//! that wait on the sync (the scheduler's next slot, the sync worker's poll) wait up to
//! `wait`, printing progress, because a mailbox is polled at most once a minute.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cast::{Cast, Person};
use crate::http::{Endpoint, list, text};

/// The category a user gives an Outlook item to have exsync track it (the domain's
/// `TRACKED_CATEGORY`).
const TRACKED_CATEGORY: &str = "Tracked to exsync";

/// What the walkthrough needs to run.
pub struct Walk {
    api: Endpoint,
    sim: Endpoint,
    cast: Cast,
    admin: String,
    wait: Duration,
    started: OffsetDateTime,
    profile_id: String,
    /// Mailbox ids by address.
    ids: BTreeMap<String, String>,
}

/// One of the eight steps (or the set-up before them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// 1 to 8; 0 for the set-up.
    pub number: u8,
    /// What it shows.
    pub title: &'static str,
}

/// The steps, in order.
pub const STEPS: [Step; 9] = [
    Step {
        number: 0,
        title: "The organisation's mailboxes exist in exsync (users and a queue)",
    },
    Step {
        number: 1,
        title: "Create the Exchange email server profile (Autodiscover, NTLM, impersonation) and Test Connection",
    },
    Step {
        number: 2,
        title: "Org email settings: Server-Side Synchronization with that profile by default",
    },
    Step {
        number: 3,
        title: "Apply Default Email Settings to the active mailboxes; edit one by hand",
    },
    Step {
        number: 4,
        title: "Approve Email; Test & Enable mailboxes, then the whole profile as a background job",
    },
    Step {
        number: 5,
        title: "Mail arrives: tracked email activities, correlation and the decision log",
    },
    Step {
        number: 6,
        title: "Send an email from exsync: recipient's inbox and sender's Sent Items",
    },
    Step {
        number: 7,
        title: "Appointments, contacts and tasks created on each side appear on the other",
    },
    Step {
        number: 8,
        title: "Break a mailbox's impersonation grant: status, alerts and the profile owner's alert",
    },
];

impl Walk {
    /// A walkthrough against `api` and `sim`, calling as the administrator `admin`.
    pub fn new(api: Endpoint, sim: Endpoint, cast: Cast, admin: &str, wait: Duration) -> Self {
        Self {
            api,
            sim,
            cast,
            admin: admin.to_owned(),
            wait,
            // A little before now: the simulator's clock is this machine's.
            started: OffsetDateTime::now_utc() - time::Duration::seconds(5),
            profile_id: String::new(),
            ids: BTreeMap::new(),
        }
    }

    /// Runs step `n`.
    pub async fn run(&mut self, n: u8) -> anyhow::Result<()> {
        match n {
            0 => self.mailboxes_exist().await,
            1 => self.create_profile_and_test_connection().await,
            2 => self.org_settings().await,
            3 => self.apply_defaults_and_edit_one().await,
            4 => self.approve_and_test_and_enable().await,
            5 => self.mail_arrives().await,
            6 => self.send_email().await,
            7 => self.appointments_contacts_tasks().await,
            8 => self.break_impersonation().await,
            _ => bail!("there is no step {n}"),
        }
    }

    fn id(&self, email: &str) -> anyhow::Result<&str> {
        self.ids
            .get(email)
            .map(String::as_str)
            .with_context(|| format!("no exsync mailbox for {email}"))
    }

    fn users(&self) -> Vec<Person> {
        self.cast.users().cloned().collect()
    }

    /// The user whose mail, sent email and Outlook items the walkthrough follows.
    fn first_user(&self) -> anyhow::Result<Person> {
        self.cast.users().next().cloned().context("no user mailbox")
    }

    /// The user whose impersonation grant step 8 removes (the last one, so the first
    /// three keep working).
    fn broken_user(&self) -> anyhow::Result<Person> {
        self.cast.users().last().cloned().context("no user mailbox")
    }

    /// Who owns a mailbox in exsync: each user owns their own; the administrator owns
    /// the queues.
    fn owner_of(&self, person: &Person) -> String {
        if person.queue {
            self.admin.clone()
        } else {
            person.email.clone()
        }
    }

    /// Polls `check` every two seconds until it yields a value or `self.wait` passes,
    /// saying every 15 seconds what it is still waiting for.
    async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        let started = Instant::now();
        let mut said = Instant::now();
        loop {
            if let Some(value) = check().await? {
                println!("    ({what}: after {} s)", started.elapsed().as_secs());
                return Ok(value);
            }
            if started.elapsed() > self.wait {
                bail!("{what}: not seen within {} s", self.wait.as_secs());
            }
            if said.elapsed() >= Duration::from_secs(15) {
                println!(
                    "    ... waiting for {what} ({} s so far; mailboxes are polled once a minute, \
                     appointments, contacts and tasks on every third poll)",
                    started.elapsed().as_secs()
                );
                said = Instant::now();
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    async fn mailbox(&self, email: &str) -> anyhow::Result<Value> {
        self.api
            .get(&format!("/mailboxes/{}", self.id(email)?))
            .await
    }

    async fn sim_items(&self, mailbox: &str, folder: &str) -> anyhow::Result<Vec<Value>> {
        let items = self
            .sim
            .get(&format!("/items?mailbox={mailbox}&folder={folder}"))
            .await?;
        Ok(items.as_array().cloned().unwrap_or_default())
    }

    async fn tracked_emails(&self, email: &str) -> anyhow::Result<Vec<Value>> {
        let page = self
            .api
            .get(&format!("/emails?mailbox={}&limit=100", self.id(email)?))
            .await?;
        Ok(list(&page, "items").to_vec())
    }

    // --- 0 ---------------------------------------------------------------------------------

    async fn mailboxes_exist(&mut self) -> anyhow::Result<()> {
        for person in self.cast.mailboxes.clone() {
            let created = self
                .api
                .post(
                    "/mailboxes",
                    json!({
                        "name": person.name,
                        "email": person.email,
                        "kind": if person.queue { "queue" } else { "user" },
                        "owner": self.owner_of(&person),
                        "owner_email": if person.queue { self.admin.as_str() } else { person.email.as_str() },
                    }),
                )
                .await?;
            let id = text(&created, "id").to_owned();
            ensure!(
                !id.is_empty(),
                "POST /mailboxes answered without an id: {created}"
            );
            println!(
                "  {:<7} {:<26} {:<22} owner {}",
                text(&created, "kind"),
                person.email,
                person.name,
                text(&created, "owner")
            );
            self.ids.insert(person.email.clone(), id);
        }
        Ok(())
    }

    // --- 1 ---------------------------------------------------------------------------------

    async fn create_profile_and_test_connection(&mut self) -> anyhow::Result<()> {
        let profile = self
            .api
            .post(
                "/profiles",
                json!({
                    "name": "Contoso Exchange",
                    "description": "On-premises Exchange 2016: Autodiscover, NTLM, the exsync service account impersonating each mailbox",
                    "owner_email": self.admin,
                    "exchange_version": "2016",
                    "use_autodiscover": true,
                    "auth_type": "ntlm",
                    "credentials_location": "profile",
                    "user_name": self.cast.service_user,
                    "password": self.cast.service_password,
                    // The simulator's seeded mail is from 2024.
                    "process_email_from": "2024-01-01T00:00:00Z",
                    "min_polling_interval_minutes": 1,
                    "max_concurrent_connections": 10,
                    "move_failed_to_undeliverable": true,
                    "alert_owner_on_majority_failure": true,
                }),
            )
            .await?;
        self.profile_id = text(&profile, "id").to_owned();
        ensure!(!self.profile_id.is_empty(), "no profile id in {profile}");
        ensure!(
            profile.get("password").is_none(),
            "the profile came back with its password"
        );
        println!(
            "  profile {:?} (id {}): Autodiscover {}, {} as {}, owner {}",
            text(&profile, "name"),
            self.profile_id,
            profile["use_autodiscover"],
            text(&profile, "auth_type"),
            text(&profile, "user_name"),
            text(&profile, "owner_email"),
        );
        let mailbox = self.first_user()?.email;
        let result = self
            .api
            .post(
                &format!("/profiles/{}/test-connection", self.profile_id),
                json!({ "test_mailbox": mailbox }),
            )
            .await?;
        println!(
            "  Test Connection as {mailbox}: {} in {} ms, EWS URL {}",
            text(&result, "outcome"),
            result["duration_ms"],
            text(&result, "ews_url")
        );
        for step in list(&result, "steps") {
            let ok = step["ok"].as_bool().unwrap_or(false);
            println!(
                "    [{}] {:<15} {}",
                if ok { "ok" } else { "FAILED" },
                text(step, "step"),
                text(step, "detail")
            );
            if !ok {
                println!("           advice: {}", text(step, "advice"));
            }
        }
        ensure!(
            text(&result, "outcome") == "success",
            "Test Connection did not succeed"
        );
        ensure!(
            list(&result, "steps")
                .first()
                .is_some_and(|s| text(s, "step") == "autodiscover"),
            "Test Connection did not start with Autodiscover"
        );
        Ok(())
    }

    // --- 2 ---------------------------------------------------------------------------------

    async fn org_settings(&self) -> anyhow::Result<()> {
        let current = self.api.get("/org-settings").await?;
        let settings = self
            .api
            .patch(
                "/org-settings",
                json!({
                    "version": current["version"],
                    "default_profile": self.profile_id,
                    "incoming": "server_side_synchronization",
                    "outgoing": "server_side_synchronization",
                    "appointments_contacts_tasks": "server_side_synchronization",
                    "approval_required_for_user_mailboxes": true,
                    "approval_required_for_queue_mailboxes": true,
                    // A mailbox with recent mail is polled every minute rather than every
                    // five, so each step below waits a minute at most.
                    "active_polling_interval_minutes": 1,
                }),
            )
            .await?;
        println!(
            "  default profile {}; incoming {}, outgoing {}, appointments/contacts/tasks {}; approval required: users {}, queues {}; active mailboxes polled every {} min",
            text(&settings, "default_profile"),
            text(&settings, "incoming"),
            text(&settings, "outgoing"),
            text(&settings, "appointments_contacts_tasks"),
            settings["approval_required_for_user_mailboxes"],
            settings["approval_required_for_queue_mailboxes"],
            settings["active_polling_interval_minutes"],
        );
        ensure!(
            text(&settings, "default_profile") == self.profile_id,
            "the default profile is not the new profile: {settings}"
        );
        for workload in ["incoming", "outgoing", "appointments_contacts_tasks"] {
            ensure!(
                text(&settings, workload) == "server_side_synchronization",
                "{workload} is not Server-Side Synchronization: {settings}"
            );
        }
        Ok(())
    }

    // --- 3 ---------------------------------------------------------------------------------

    async fn apply_defaults_and_edit_one(&self) -> anyhow::Result<()> {
        let active = self.api.get("/mailboxes?active=true&limit=100").await?;
        let ids: Vec<String> = list(&active, "items")
            .iter()
            .map(|m| text(m, "id").to_owned())
            .collect();
        ensure!(
            ids.len() == self.cast.mailboxes.len(),
            "{} active mailboxes listed, {} created",
            ids.len(),
            self.cast.mailboxes.len()
        );
        let outcome = self
            .api
            .post(
                "/mailboxes/apply-default-settings",
                json!({ "mailbox_ids": ids, "test_and_enable": false }),
            )
            .await?;
        for item in list(&outcome, "mailboxes") {
            let m = &item["result"];
            println!(
                "  {:<26} {:<5} profile {}, incoming {}, outgoing {}, ACT {}",
                text(m, "email"),
                text(item, "status"),
                text(m, "profile_id"),
                text(m, "incoming"),
                text(m, "outgoing"),
                text(m, "appointments_contacts_tasks"),
            );
            ensure!(text(item, "status") == "ok", "apply defaults: {item}");
            ensure!(
                text(m, "profile_id") == self.profile_id
                    && text(m, "incoming") == "server_side_synchronization",
                "the defaults were not applied: {m}"
            );
        }
        // A sales user tracks all her email, not only replies to tracked email (a user's
        // default): the one hand edit.
        let user = self.first_user()?;
        let before = self.mailbox(&user.email).await?;
        let edited = self
            .api
            .patch(
                &format!("/mailboxes/{}", self.id(&user.email)?),
                json!({ "version": before["version"], "tracking": "all_email" }),
            )
            .await?;
        println!(
            "  edited {} by hand: tracking {} -> {}",
            user.email,
            text(&before, "tracking"),
            text(&edited, "tracking")
        );
        ensure!(
            text(&edited, "tracking") == "all_email",
            "the edit did not stick: {edited}"
        );
        Ok(())
    }

    // --- 4 ---------------------------------------------------------------------------------

    async fn approve_and_test_and_enable(&self) -> anyhow::Result<()> {
        let all: Vec<String> = self.ids.values().cloned().collect();
        let approved = self
            .api
            .post("/mailboxes/approve", json!({ "mailbox_ids": all }))
            .await?;
        for item in approved.as_array().map(Vec::as_slice).unwrap_or(&[]) {
            ensure!(text(item, "status") == "ok", "approve: {item}");
            ensure!(
                text(&item["result"], "approval") == "approved",
                "not approved: {item}"
            );
        }
        println!("  Approve Email: {} mailboxes approved", all.len());

        // Test & Enable two users and the queue now; the profile's job covers the rest.
        let mut now: Vec<String> = self
            .users()
            .iter()
            .take(2)
            .map(|p| p.email.clone())
            .collect();
        now.extend(self.cast.queues().map(|p| p.email.clone()));
        let now_ids: Vec<String> = now
            .iter()
            .map(|e| self.id(e).map(str::to_owned))
            .collect::<anyhow::Result<_>>()?;
        let outcome = self
            .api
            .post(
                "/mailboxes/test-and-enable",
                json!({ "mailbox_ids": now_ids }),
            )
            .await?;
        for item in list(&outcome, "results") {
            let report = &item["result"];
            let checks: Vec<String> = list(report, "workloads")
                .iter()
                .map(|w| format!("{} {}", text(w, "workload"), text(w, "outcome")))
                .collect();
            println!(
                "  Test & Enable {:<26} {} ({})",
                text(report, "email"),
                text(report, "status"),
                checks.join(", ")
            );
            match text(item, "status") {
                "ok" => ensure!(
                    text(report, "status") == "success",
                    "Test & Enable failed: {report}"
                ),
                "queued" => {}
                _ => bail!("Test & Enable: {item}"),
            }
        }

        let job = self
            .api
            .post(
                &format!("/profiles/{}/test-and-enable", self.profile_id),
                json!({}),
            )
            .await?;
        let job_id = text(&job, "id").to_owned();
        println!(
            "  Test & Enable the whole profile: background job {job_id} {}",
            text(&job, "state")
        );
        let done = self
            .eventually("the profile's Test & Enable job to finish", || async {
                let job = self.api.get(&format!("/jobs/{job_id}")).await?;
                Ok(matches!(text(&job, "state"), "completed" | "failed").then_some(job))
            })
            .await?;
        println!(
            "  job {}: {} of {} done, {} succeeded, {} failed",
            text(&done, "state"),
            done["done"],
            done["total"],
            done["succeeded"],
            done["failed"]
        );
        ensure!(
            text(&done, "state") == "completed" && done["failed"] == 0,
            "the job did not complete cleanly: {done}"
        );
        ensure!(
            done["succeeded"] == json!(self.ids.len()),
            "the job tested {} mailboxes, the profile has {}",
            done["succeeded"],
            self.ids.len()
        );
        for person in self.cast.mailboxes.clone() {
            let m = self.mailbox(&person.email).await?;
            ensure!(
                text(&m, "status") == "success",
                "{} is not enabled: {m}",
                person.email
            );
            // A queue has no calendar, contacts or tasks of its own to synchronise.
            let states: &[&str] = if person.queue {
                &["incoming_state", "outgoing_state"]
            } else {
                &["incoming_state", "outgoing_state", "act_state"]
            };
            for state in states {
                ensure!(
                    m[state]["enabled"] == true,
                    "{}: {state} is not enabled: {m}",
                    person.email
                );
            }
        }
        println!(
            "  every mailbox: status success; incoming and outgoing enabled, and appointments, contacts and tasks for the users"
        );
        Ok(())
    }

    // --- 5 ---------------------------------------------------------------------------------

    async fn mail_arrives(&self) -> anyhow::Result<()> {
        let queue = self
            .cast
            .queues()
            .next()
            .cloned()
            .context("no queue mailbox")?;
        let user = self.first_user()?;
        let started = self.started;
        // Mail the simulator delivered after the demo began (it keeps arriving), tracked.
        let arrived = self
            .eventually(
                &format!(
                    "mail that arrived during the demo to be tracked from {}",
                    queue.email
                ),
                || async {
                    let emails = self.tracked_emails(&queue.email).await?;
                    let fresh: Vec<Value> = emails
                        .iter()
                        .filter(|e| received_after(e, started))
                        .cloned()
                        .collect();
                    Ok((!fresh.is_empty()).then_some(emails))
                },
            )
            .await?;
        let correlated = self
            .eventually(
                &format!("a reply tracked with correlation in {}", user.email),
                || async {
                    let emails = self.tracked_emails(&user.email).await?;
                    let any = emails
                        .iter()
                        .any(|e| !matches!(text(e, "correlation"), "" | "none"));
                    Ok(any.then_some(emails))
                },
            )
            .await?;
        for (who, emails) in [(&queue.email, &arrived), (&user.email, &correlated)] {
            println!("  tracked from {who}: {} email activities", emails.len());
            for e in emails.iter().take(6) {
                println!(
                    "    {:<32} {:<44} correlation {}",
                    text(&e["from"], "address"),
                    clip(text(e, "subject"), 44),
                    text(e, "correlation"),
                );
            }
        }
        let decisions = self
            .api
            .get(&format!(
                "/mailboxes/{}/decisions?limit=8",
                self.id(&user.email)?
            ))
            .await?;
        println!("  decision log of {}:", user.email);
        for d in list(&decisions, "items") {
            println!("    {} {}", text(d, "workload"), text(d, "text"));
        }
        ensure!(
            !list(&decisions, "items").is_empty(),
            "the decision log of {} is empty",
            user.email
        );
        Ok(())
    }

    // --- 6 ---------------------------------------------------------------------------------

    async fn send_email(&self) -> anyhow::Result<()> {
        let users = self.users();
        let (sender, recipient) = (&users[0], &users[1]);
        let subject = "Proposal for Fabrikam, sent from exsync";
        let email = self
            .api
            .post(
                "/emails",
                json!({
                    "sender_mailbox_id": self.id(&sender.email)?,
                    "to": [recipient.email],
                    "subject": subject,
                    "body_text": "Hello, the proposal we discussed is ready for review.",
                }),
            )
            .await?;
        let id = text(&email, "id").to_owned();
        println!(
            "  POST /emails from {} to {}: activity {id}, {}",
            sender.email,
            recipient.email,
            text(&email, "status")
        );
        let sent = self
            .eventually("the email to be sent", || async {
                let e = self.api.get(&format!("/emails/{id}")).await?;
                match text(&e, "status") {
                    "sent" => Ok(Some(e)),
                    "failed" => bail!("sending failed: {}", text(&e, "failure_reason")),
                    _ => Ok(None),
                }
            })
            .await?;
        println!(
            "  status sent at {}, Message-ID {}",
            text(&sent, "sent_on"),
            text(&sent, "internet_message_id")
        );
        for (mailbox, folder) in [(&recipient.email, "inbox"), (&sender.email, "sentitems")] {
            let items = self.sim_items(mailbox, folder).await?;
            // The tracking token (org setting, on by default) is appended to the subject.
            let found = items
                .iter()
                .find(|i| text(i, "subject").starts_with(subject));
            let found = found.with_context(|| {
                format!("{subject:?} is not in {mailbox}'s {folder} on Exchange")
            })?;
            println!(
                "  on Exchange: {mailbox} {folder}: {:?} from {}",
                text(found, "subject"),
                text(&found["from"], "address")
            );
        }
        Ok(())
    }

    // --- 7 ---------------------------------------------------------------------------------

    async fn appointments_contacts_tasks(&self) -> anyhow::Result<()> {
        let user = self.first_user()?;
        let owner = self.owner_of(&user);
        let tomorrow = OffsetDateTime::now_utc()
            .date()
            .next_day()
            .context("date")?;
        let at = |h: u8| -> anyhow::Result<String> {
            Ok(tomorrow.with_hms(h, 0, 0)?.assume_utc().format(&Rfc3339)?)
        };
        // exsync side.
        self.api
            .post(
                "/appointments",
                json!({"owner": owner, "subject": "Fabrikam kickoff (made in exsync)",
                       "start": at(9)?, "end": at(10)?, "location": "Room 4"}),
            )
            .await?;
        self.api
            .post(
                "/contacts",
                json!({"owner": owner, "first_name": "Maria", "last_name": "Anders (exsync)",
                       "email": "maria.anders@fabrikam.test", "company": "Fabrikam"}),
            )
            .await?;
        self.api
            .post(
                "/tasks",
                json!({"owner": owner, "subject": "Send the Fabrikam contract (made in exsync)",
                       "due": at(17)?}),
            )
            .await?;
        println!("  in exsync, for {owner}: an appointment, a contact and a task");
        // Exchange side: the user in Outlook, tagging each item for exsync.
        let tag = json!([TRACKED_CATEGORY]);
        self.sim
            .post(
                "/calendar-items",
                json!({"mailbox": user.email, "subject": "Lunch with Northwind (made in Outlook)",
                       "start": at(12)?, "end": at(13)?, "categories": tag}),
            )
            .await?;
        self.sim
            .post(
                "/contacts",
                json!({"mailbox": user.email, "given_name": "Nancy", "surname": "Davolio (Outlook)",
                       "email": "nancy.davolio@northwind.test", "company": "Northwind",
                       "categories": tag}),
            )
            .await?;
        self.sim
            .post(
                "/tasks",
                json!({"mailbox": user.email, "subject": "Call Northwind back (made in Outlook)",
                       "due": at(15)?, "categories": tag}),
            )
            .await?;
        println!(
            "  in Outlook ({}): an appointment, a contact and a task, each categorised {TRACKED_CATEGORY:?}",
            user.email
        );

        let expect_on_exchange = [
            ("calendar", "Fabrikam kickoff (made in exsync)"),
            ("contacts", "Anders (exsync)"),
            ("tasks", "Send the Fabrikam contract (made in exsync)"),
        ];
        let expect_in_exsync = [
            ("appointments", "Lunch with Northwind (made in Outlook)"),
            ("contacts", "Davolio (Outlook)"),
            ("tasks", "Call Northwind back (made in Outlook)"),
        ];
        let owner_q = owner.clone();
        self.eventually("each record on the other side", || {
            let owner = owner_q.clone();
            let user = user.email.clone();
            async move {
                for (folder, needle) in expect_on_exchange {
                    let items = self.sim_items(&user, folder).await?;
                    if !items.iter().any(|i| i.to_string().contains(needle)) {
                        return Ok(None);
                    }
                }
                for (path, needle) in expect_in_exsync {
                    let records = self.api.get(&format!("/{path}?owner={owner}")).await?;
                    if !list(&records, "items")
                        .iter()
                        .any(|r| r.to_string().contains(needle))
                    {
                        return Ok(None);
                    }
                }
                Ok(Some(()))
            }
        })
        .await?;
        for (folder, needle) in expect_on_exchange {
            println!("  on Exchange, {}'s {folder:<9} has {needle:?}", user.email);
        }
        for (path, needle) in expect_in_exsync {
            println!("  in exsync, {owner}'s {path:<12} has {needle:?}");
        }
        let decisions = self
            .api
            .get(&format!(
                "/mailboxes/{}/decisions?limit=30",
                self.id(&user.email)?
            ))
            .await?;
        for d in list(&decisions, "items")
            .iter()
            .filter(|d| text(d, "workload") == "appointments_contacts_tasks")
            .take(6)
        {
            println!("    decision: {}", text(d, "text"));
        }
        Ok(())
    }

    // --- 8 ---------------------------------------------------------------------------------

    async fn break_impersonation(&self) -> anyhow::Result<()> {
        let victim = self.broken_user()?;
        self.sim
            .post(
                "/impersonation/revoke",
                json!({"account": self.cast.service_account, "mailbox": victim.email}),
            )
            .await?;
        println!(
            "  Exchange admin removed {}'s right to impersonate {}",
            self.cast.service_account, victim.email
        );
        let mailbox = self
            .eventually(&format!("{} to fail", victim.email), || async {
                let m = self.mailbox(&victim.email).await?;
                Ok((text(&m, "status") == "failure").then_some(m))
            })
            .await?;
        for state in ["incoming_state", "outgoing_state", "act_state"] {
            let s = &mailbox[state];
            println!(
                "  {state:<15} enabled {:<5} status {:<8} {} {}",
                s["enabled"],
                text(s, "status"),
                text(s, "last_error_code"),
                text(s, "last_error_text")
            );
        }
        ensure!(
            ["incoming_state", "outgoing_state", "act_state"]
                .iter()
                .any(|s| mailbox[s]["enabled"] == false
                    && text(&mailbox[s], "last_error_code").contains("Impersonat")),
            "no workload was disabled for the impersonation error: {mailbox}"
        );

        let id = self.id(&victim.email)?.to_owned();
        let alerts = self.api.get(&format!("/alerts?mailbox={id}")).await?;
        let alert = list(&alerts, "items")
            .iter()
            .find(|a| text(a, "level") == "error")
            .cloned()
            .with_context(|| format!("no error alert on {}: {alerts}", victim.email))?;
        println!(
            "  alert [{}] {}: {}",
            text(&alert, "level"),
            text(&alert, "code"),
            text(&alert, "text")
        );
        // The mailbox owner's wall and the profile owner's wall both show it.
        let owner = self.owner_of(&victim);
        for (who, caller) in [
            ("mailbox owner", owner.as_str()),
            ("profile owner", self.admin.as_str()),
        ] {
            let wall = self
                .api
                .as_principal(caller)
                .get(&format!("/alerts?owner={caller}"))
                .await?;
            ensure!(
                list(&wall, "items")
                    .iter()
                    .any(|a| text(a, "id") == text(&alert, "id")),
                "the {who} ({caller}) does not see the alert: {wall}"
            );
            println!("  the {who} ({caller}) sees it on their alerts wall");
        }
        // The others keep working.
        for person in self
            .cast
            .mailboxes
            .iter()
            .filter(|p| p.email != victim.email)
        {
            let m = self.mailbox(&person.email).await?;
            ensure!(
                text(&m, "status") == "success",
                "{} failed too: {m}",
                person.email
            );
        }
        println!("  every other mailbox is still syncing (status success)");
        Ok(())
    }

    // --- the report ------------------------------------------------------------------------

    /// Prints mailboxes with their status per workload, tracked emails and alerts.
    pub async fn report(&self) -> anyhow::Result<()> {
        println!("Mailboxes");
        println!(
            "  {:<26} {:<6} {:<9} {:<8} {:<22} {:<22} {:<22}",
            "EMAIL", "KIND", "APPROVAL", "STATUS", "INCOMING", "OUTGOING", "APPOINTMENTS/CONTACTS"
        );
        for email in self.ids.keys() {
            let m = self.mailbox(email).await?;
            let state = |s: &str| {
                let s = &m[s];
                format!(
                    "{} {}",
                    if s["enabled"] == true { "on" } else { "off" },
                    text(s, "status")
                )
            };
            println!(
                "  {:<26} {:<6} {:<9} {:<8} {:<22} {:<22} {:<22}",
                email,
                text(&m, "kind"),
                text(&m, "approval"),
                text(&m, "status"),
                state("incoming_state"),
                state("outgoing_state"),
                state("act_state"),
            );
        }
        println!("\nTracked email activities");
        println!(
            "  {:<22} {:<9} {:<30} {:<44} CORRELATION",
            "MAILBOX", "DIRECTION", "FROM", "SUBJECT"
        );
        for email in self.ids.keys() {
            for e in self.tracked_emails(email).await? {
                println!(
                    "  {:<22} {:<9} {:<30} {:<44} {}",
                    clip(email, 22),
                    text(&e, "direction"),
                    clip(text(&e["from"], "address"), 30),
                    clip(text(&e, "subject"), 44),
                    text(&e, "correlation"),
                );
            }
        }
        println!("\nAlerts");
        // Each mailbox's alerts and the profile's, each alert once.
        let mut seen = std::collections::BTreeSet::new();
        let mut any = false;
        let mut sources = Vec::new();
        if !self.profile_id.is_empty() {
            sources.push(format!("/alerts?profile={}&limit=50", self.profile_id));
        }
        for id in self.ids.values() {
            sources.push(format!("/alerts?mailbox={id}&limit=50"));
        }
        for path in sources {
            let alerts = self.api.get(&path).await?;
            for alert in list(&alerts, "items") {
                if !seen.insert(text(alert, "id").to_owned()) {
                    continue;
                }
                any = true;
                let subject_id = text(&alert["subject"], "id");
                let subject = self
                    .ids
                    .iter()
                    .find(|(_, id)| id.as_str() == subject_id)
                    .map_or_else(|| "the profile".to_owned(), |(email, _)| email.clone());
                println!(
                    "  [{}] {} {}: {}",
                    text(alert, "level"),
                    subject,
                    text(alert, "code"),
                    text(alert, "text")
                );
            }
        }
        if !any {
            println!("  (none)");
        }
        Ok(())
    }

    /// Where the admin API is.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }
}

/// Whether an email activity was received at or after `t`.
fn received_after(email: &Value, t: OffsetDateTime) -> bool {
    OffsetDateTime::parse(text(email, "received_on"), &Rfc3339).is_ok_and(|r| r >= t)
}

/// `s` cut to `n` characters (with an ellipsis when cut), for table columns.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('~');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_marks_cut_text() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 4), "abc~");
    }

    #[test]
    fn mail_received_before_the_demo_is_not_fresh() {
        let t = OffsetDateTime::parse("2026-11-27T10:00:00Z", &Rfc3339).unwrap();
        assert!(received_after(
            &json!({"received_on": "2026-11-27T10:00:01Z"}),
            t
        ));
        assert!(!received_after(
            &json!({"received_on": "2024-05-06T08:15:00Z"}),
            t
        ));
        assert!(!received_after(&json!({}), t));
    }

    #[test]
    fn the_steps_are_numbered_in_order() {
        for (i, step) in STEPS.iter().enumerate() {
            assert_eq!(usize::from(step.number), i);
        }
    }
}
