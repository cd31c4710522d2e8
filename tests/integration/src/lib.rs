//! What the integration tests share: one directory for the simulator, a simulator per test
//! whose every response is checked against Microsoft's schema when the test ends, and
//! `exsync-ews` clients and transports that trust the simulator's CA.
//!
//! Every test starts its own simulator on free loopback ports, so tests run in parallel
//! without seeing each other's mailboxes, faults or load figures.
//!
//! These are test helpers: they panic (with a message) when the simulator cannot start or a
//! client cannot be built, because that is a failed test, not a condition to handle.

use std::collections::HashSet;
use std::ops::Deref;
use std::time::{Duration, Instant};

use exsync_ews::client::{EwsClient, EwsClientConfig};
use exsync_ews::operations::{GetFolder, MaxChangesReturned, SyncChange, SyncFolderItems};
use exsync_ews::transport::{
    AuthScheme, ConnectOverrides, Credentials, HttpTransport, Secret, TransportConfig,
};
use exsync_ews::types::{
    BaseFolderId, BaseShape, DistinguishedFolderName, FolderShape, ItemShape, SyncState,
};
use exsync_ews::{EwsError, Operation};
use exsync_ews_sim::config::{
    AccountConfig, AuthConfig, GrantConfig, GrantScope, MailboxConfig, ServerConfig,
    ThrottlingConfig,
};
use exsync_ews_sim::ews::IncomingMessage;
use exsync_ews_sim::store::EmailAddress;
use exsync_ews_sim::{SimConfig, SimHandle, SimOptions, Simulator};

/// The organisation's mail domain.
pub const DOMAIN: &str = "contoso.test";
/// A second domain the simulator serves, for Autodiscover `redirectAddr` across domains.
pub const OTHER_DOMAIN: &str = "fabrikam.test";
/// The NetBIOS domain of `DOMAIN\user` logons.
pub const NETBIOS_DOMAIN: &str = "CONTOSO";
/// The service account's logon name without domain.
pub const SERVICE_USER: &str = "svc-exsync";
/// The service account as exsync's profiles name it.
pub const SERVICE_LOGON: &str = "CONTOSO\\svc-exsync";
/// The service account's password (simulator only).
pub const SERVICE_PASSWORD: &str = "Integration-Svc-Pa55!";
/// The service account's own mailbox.
pub const SERVICE_MAILBOX: &str = "svc-exsync@contoso.test";
/// A mailbox the service account may impersonate.
pub const ALICE: &str = "alice@contoso.test";
/// Another mailbox the service account may impersonate.
pub const BOB: &str = "bob@contoso.test";
/// A mailbox that exists but lies outside the service account's impersonation grant.
pub const CAROL: &str = "carol@contoso.test";
/// An address in our domain with no mailbox behind it.
pub const NOBODY: &str = "nobody@contoso.test";
/// Alice's mailbox in the second domain (target of an Autodiscover `redirectAddr`).
pub const ALICE_OTHER_DOMAIN: &str = "alice.anders@fabrikam.test";
/// A host only SRV records name; the simulator's certificate covers it.
pub const SRV_HOST: &str = "exch-srv.contoso.test";
/// The mail host the simulator's certificate covers (`mail.<domain>`).
pub const MAIL_HOST: &str = "mail.contoso.test";

/// How long any one test call may take. Generous: a deadline is a safety net here, never
/// what a test measures.
pub const CALL_BUDGET: Duration = Duration::from_secs(60);

/// The deadline for a call made now.
pub fn deadline() -> Instant {
    Instant::now() + CALL_BUDGET
}

/// The directory every test starts from: the service account with ApplicationImpersonation
/// for Alice, Bob and Alice's second address only; Carol exists outside the grant; both
/// authentication schemes on; Exchange 2010's default EWSMaxConcurrency of 10.
pub fn config() -> SimConfig {
    let account = |user: &str, password: &str, smtp: &str| AccountConfig {
        user: user.into(),
        password: password.into(),
        smtp: Some(smtp.into()),
    };
    let mailbox = |smtp: &str, display_name: &str| MailboxConfig {
        smtp: smtp.into(),
        display_name: display_name.into(),
        seed_messages: Vec::new(),
        seed_contacts: Vec::new(),
        seed_calendar_items: Vec::new(),
        seed_tasks: Vec::new(),
    };
    SimConfig {
        domains: vec![DOMAIN.into(), OTHER_DOMAIN.into()],
        netbios_domain: NETBIOS_DOMAIN.into(),
        accounts: vec![
            account(SERVICE_USER, SERVICE_PASSWORD, SERVICE_MAILBOX),
            account("alice", "Integration-Alice-Pa55!", ALICE),
        ],
        mailboxes: vec![
            mailbox(SERVICE_MAILBOX, "exsync service account"),
            mailbox(ALICE, "Alice Anders"),
            mailbox(BOB, "Bob Berg"),
            mailbox(CAROL, "Carol Christensen"),
            mailbox(ALICE_OTHER_DOMAIN, "Alice Anders (Fabrikam)"),
        ],
        impersonation: vec![GrantConfig {
            account: SERVICE_USER.into(),
            scope: GrantScope::Mailboxes(vec![ALICE.into(), BOB.into(), ALICE_OTHER_DOMAIN.into()]),
        }],
        auth: AuthConfig {
            ntlm: true,
            basic: true,
        },
        throttling: ThrottlingConfig::default(),
        server: ServerConfig::default(),
        arrivals: Vec::new(),
    }
}

/// How the tests start the simulator: free loopback ports, reproducible probabilistic
/// faults, and a certificate that also covers [`SRV_HOST`].
pub fn options() -> SimOptions {
    SimOptions {
        fault_seed: Some(1),
        extra_names: vec![SRV_HOST.into()],
        ..SimOptions::default()
    }
}

/// A simulator for one test.
///
/// When it is dropped at the end of a test that has not already failed, it asserts that
/// every response the simulator sent validated against Microsoft's EWS schema. Doing it in
/// `Drop` means no test can forget the check.
pub struct Sim {
    handle: SimHandle,
}

impl Sim {
    /// A simulator with [`config`].
    pub fn start() -> Sim {
        Sim::start_with(config())
    }

    /// A simulator with `config` and [`options`].
    ///
    /// Refuses to run with request or response validation off: the tests' promise is that
    /// every request exsync sent and every answer it parsed is schema-valid.
    pub fn start_with(config: SimConfig) -> Sim {
        let handle = match Simulator::start(config, options()) {
            Ok(handle) => handle,
            Err(e) => panic!("the simulator did not start: {}", error_chain(&e)),
        };
        let opts = handle.exchange().options();
        assert!(
            opts.validate_requests && opts.validate_responses,
            "the simulator must validate requests and responses against the schema"
        );
        Sim { handle }
    }

    /// The port of the simulator's HTTPS listener.
    pub fn https_port(&self) -> u16 {
        self.handle.https_addr().port()
    }

    /// A client configuration for the simulator's EWS URL as the service account, trusting
    /// the simulator's CA.
    pub fn client_config(&self, scheme: AuthScheme) -> EwsClientConfig {
        let mut config = EwsClientConfig::new(self.handle.ews_url(), service_credentials(scheme));
        config.ca_pem = Some(self.handle.ca_pem().to_vec());
        config
    }

    /// A client as the service account.
    pub fn client(&self, scheme: AuthScheme) -> EwsClient {
        client(self.client_config(scheme))
    }

    /// A transport as the service account, trusting the simulator's CA, connecting as
    /// `overrides` say (Autodiscover tests point real-looking host names at the simulator).
    pub fn transport(&self, scheme: AuthScheme, overrides: ConnectOverrides) -> HttpTransport {
        let mut config = TransportConfig::new(service_credentials(scheme));
        config.ca_pem = Some(self.handle.ca_pem().to_vec());
        config.connect_overrides = overrides;
        match HttpTransport::new(config) {
            Ok(transport) => transport,
            Err(e) => panic!("transport configuration refused: {}", error_chain(&e)),
        }
    }

    /// Delivers `count` messages to `mailbox`'s Inbox (as SMTP would) and returns their ids.
    pub fn deliver_messages(&self, mailbox: &str, count: usize) -> Vec<String> {
        (0..count)
            .map(|n| {
                let message = IncomingMessage {
                    from: EmailAddress::named("Fabrikam Orders", "orders@fabrikam.test"),
                    subject: format!("Order {n}"),
                    body_text: Some(format!("Order {n} has shipped.")),
                    ..IncomingMessage::default()
                };
                match self.handle.exchange().deliver(mailbox, message) {
                    Ok(id) => id.as_str().to_owned(),
                    Err(e) => panic!("delivery to {mailbox} failed: {e}"),
                }
            })
            .collect()
    }
}

impl Deref for Sim {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // A second panic while unwinding would abort the test binary and hide the first.
        if std::thread::panicking() {
            return;
        }
        let invalid = self.handle.exchange().invalid_responses();
        assert!(
            invalid.is_empty(),
            "the simulator sent {} response(s) that do not validate against the EWS schema:\n{}",
            invalid.len(),
            invalid.join("\n")
        );
    }
}

/// The service account's credentials for `scheme`.
pub fn service_credentials(scheme: AuthScheme) -> Credentials {
    credentials(scheme, SERVICE_PASSWORD)
}

/// The service account with `password`.
pub fn credentials(scheme: AuthScheme, password: &str) -> Credentials {
    Credentials {
        scheme,
        user: SERVICE_LOGON.into(),
        password: Secret::new(password),
    }
}

/// A client for `config`.
pub fn client(config: EwsClientConfig) -> EwsClient {
    match EwsClient::new(config) {
        Ok(client) => client,
        Err(e) => panic!("client configuration refused: {}", error_chain(&e)),
    }
}

/// GetFolder of the Inbox (the impersonated mailbox's, or the caller's own).
pub fn get_inbox() -> GetFolder {
    GetFolder {
        shape: FolderShape::new(BaseShape::Default),
        folder_ids: vec![DistinguishedFolderName::Inbox.into()],
    }
}

/// One page of SyncFolderItems on `folder`, ids only.
pub fn sync_page(
    folder: impl Into<BaseFolderId>,
    state: Option<SyncState>,
    max: MaxChangesReturned,
) -> SyncFolderItems {
    SyncFolderItems {
        shape: ItemShape::id_only(),
        folder_id: folder.into(),
        sync_state: state,
        ignore: Vec::new(),
        max_changes_returned: max,
        sync_scope: None,
    }
}

/// What a sync loop saw: every page's changes, and the state to continue from.
#[derive(Debug)]
pub struct FullSync {
    /// How many SyncFolderItems calls it took.
    pub pages: usize,
    /// The id of every `Create`, in the order they came.
    pub created: Vec<String>,
    /// Every change that was not a `Create`.
    pub other_changes: Vec<SyncChange>,
    /// The state after the last page.
    pub state: SyncState,
}

impl FullSync {
    /// The created ids as a set (to compare with what was delivered).
    pub fn created_set(&self) -> HashSet<String> {
        self.created.iter().cloned().collect()
    }
}

/// Pages through SyncFolderItems on `mailbox`'s Inbox from `state` until the server says
/// `IncludesLastItemInRange`. Stops with an error after `max_pages`, so a server that never
/// finishes fails the test instead of hanging it.
pub async fn sync_inbox(
    client: &EwsClient,
    mailbox: &str,
    mut state: Option<SyncState>,
    max: MaxChangesReturned,
    max_pages: usize,
) -> Result<FullSync, EwsError> {
    let mut created = Vec::new();
    let mut other_changes = Vec::new();
    for page in 1..=max_pages {
        let op = sync_page(DistinguishedFolderName::Inbox, state.take(), max);
        let result = client.call(Some(mailbox), &op, deadline()).await?.body;
        for change in result.changes {
            match change {
                SyncChange::Create(item) => created.push(
                    item.item_id()
                        .map(|id| id.id.clone())
                        .unwrap_or_else(|| panic!("a Create without an ItemId on page {page}")),
                ),
                other => other_changes.push(other),
            }
        }
        if result.includes_last_item_in_range {
            return Ok(FullSync {
                pages: page,
                created,
                other_changes,
                state: result.sync_state,
            });
        }
        state = Some(result.sync_state);
    }
    panic!("SyncFolderItems did not reach the last item within {max_pages} pages");
}

/// Blocks the calling thread until `condition` holds, checking every millisecond; panics
/// (failing the test) if it does not within [`CALL_BUDGET`].
///
/// For state the simulator changes on its own runtime after a control call returns (closing
/// connections, for example): the test proceeds on the observed state, never on elapsed
/// time. It blocks rather than awaits so that a test can keep the client's runtime stopped
/// meanwhile, as a Lambda execution environment is frozen between invocations.
pub fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let give_up = Instant::now() + CALL_BUDGET;
    while !condition() {
        assert!(Instant::now() < give_up, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Calls `op` and returns its error; panics (failing the test) when it succeeds.
pub async fn call_err<Op: Operation>(client: &EwsClient, mailbox: Option<&str>, op: &Op) -> EwsError
where
    Op::Response: std::fmt::Debug,
{
    match client.call(mailbox, op, deadline()).await {
        Ok(response) => panic!(
            "{} was expected to fail but answered {:?}",
            Op::NAME,
            response.body
        ),
        Err(e) => e,
    }
}

pub use exsync_ews::error::error_chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "do not validate against the EWS schema")]
    fn a_response_outside_the_schema_fails_the_test_when_the_simulator_is_dropped() {
        let sim = Sim::start();
        sim.exchange().check_response("<NotASoapEnvelope/>");
    }

    #[test]
    #[should_panic(expected = "must validate requests and responses")]
    fn a_simulator_without_request_validation_is_refused() {
        let mut config = config();
        config.server.validate_requests = false;
        let _sim = Sim::start_with(config);
    }
}
