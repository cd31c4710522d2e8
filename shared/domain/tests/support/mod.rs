//! Test-only support: in-memory ports ([`memory`]) and a world of services wired to them
//! and to an Exchange simulator. Never used by production code.

#![allow(dead_code)]

pub mod memory;

use std::sync::Arc;
use std::time::Duration;

use exsync_domain::exchange::{ExchangeEnvironment, SrvLookup};
use exsync_domain::ids::{MailboxId, Principal, ProfileId};
use exsync_domain::mailbox::{Approval, MailboxInput, MailboxView};
use exsync_domain::org::OrgSettingsInput;
use exsync_domain::privilege::Grants;
use exsync_domain::profile::{ProfileInput, ProfileView};
use exsync_domain::service::{Admin, AdminOptions, Ports};
use exsync_domain::test_enable::RetryPolicy;
use exsync_ews::autodiscover::StaticSrvResolver;
use exsync_ews::transport::ConnectOverrides;
use exsync_ews_sim::config::{
    AccountConfig, AuthConfig, GrantConfig, GrantScope, MailboxConfig, ServerConfig,
    ThrottlingConfig,
};
use exsync_ews_sim::{SimConfig, SimHandle, SimOptions, Simulator};
use memory::{Memory, RecordingQueue, TestClock, TestSealer};

pub const DOMAIN: &str = "contoso.test";
pub const SERVICE_USER: &str = "svc-exsync";
pub const SERVICE_LOGON: &str = "CONTOSO\\svc-exsync";
pub const SERVICE_PASSWORD: &str = "Domain-Svc-Pa55!word";
pub const ALICE: &str = "alice@contoso.test";
pub const ALICE_LOGON: &str = "CONTOSO\\alice";
pub const ALICE_PASSWORD: &str = "Alice-Own-Pa55!word";
pub const BOB: &str = "bob@contoso.test";
/// Exists, but outside the service account's impersonation grant.
pub const CAROL: &str = "carol@contoso.test";
pub const ADMIN_EMAIL: &str = "exchange-admins@contoso.test";

/// The directory: the service account may impersonate Alice and Bob only.
pub fn sim_config() -> SimConfig {
    let mailbox = |smtp: &str, name: &str| MailboxConfig {
        smtp: smtp.into(),
        display_name: name.into(),
        seed_messages: Vec::new(),
        seed_contacts: Vec::new(),
        seed_calendar_items: Vec::new(),
        seed_tasks: Vec::new(),
    };
    SimConfig {
        domains: vec![DOMAIN.into()],
        netbios_domain: "CONTOSO".into(),
        accounts: vec![
            AccountConfig {
                user: SERVICE_USER.into(),
                password: SERVICE_PASSWORD.into(),
                smtp: Some("svc-exsync@contoso.test".into()),
            },
            AccountConfig {
                user: "alice".into(),
                password: ALICE_PASSWORD.into(),
                smtp: Some(ALICE.into()),
            },
        ],
        mailboxes: vec![
            mailbox("svc-exsync@contoso.test", "exsync service"),
            mailbox(ALICE, "Alice Anders"),
            mailbox(BOB, "Bob Berg"),
            mailbox(CAROL, "Carol Christensen"),
        ],
        impersonation: vec![GrantConfig {
            account: SERVICE_USER.into(),
            scope: GrantScope::Mailboxes(vec![ALICE.into(), BOB.into()]),
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

/// Services on in-memory ports, reaching a simulator.
pub struct World {
    pub admin: Admin,
    pub store: Arc<Memory>,
    pub queue: Arc<RecordingQueue>,
    pub clock: Arc<TestClock>,
    pub sim: SimHandle,
}

/// A simulator on free loopback ports.
pub fn start_sim(config: SimConfig) -> SimHandle {
    Simulator::start(
        config,
        SimOptions {
            fault_seed: Some(7),
            ..SimOptions::default()
        },
    )
    .expect("the simulator starts")
}

/// A port nothing listens on.
pub fn closed_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl World {
    /// A world whose environment trusts the simulator's CA and points the Autodiscover
    /// hosts of contoso.test at it.
    pub fn start() -> World {
        Self::start_with(sim_config(), true)
    }

    /// `trust_sim_ca`: false leaves the simulator's CA untrusted (the wrong-CA case).
    pub fn start_with(config: SimConfig, trust_sim_ca: bool) -> World {
        let sim = start_sim(config);
        let mut overrides = ConnectOverrides::new();
        for host in [DOMAIN, "autodiscover.contoso.test", "mail.contoso.test"] {
            overrides.insert(host, 443, sim.https_addr());
        }
        overrides.insert("autodiscover.contoso.test", 80, sim.http_probe_addr());
        let env = ExchangeEnvironment {
            extra_ca_pem: trust_sim_ca.then(|| sim.ca_pem().to_vec()),
            connect_overrides: overrides,
            srv: SrvLookup::Static(StaticSrvResolver::new()),
            budget: Duration::from_secs(60),
        };
        Self::with_environment(sim, env)
    }

    pub fn with_environment(sim: SimHandle, env: ExchangeEnvironment) -> World {
        let store = Arc::new(Memory::default());
        let queue = Arc::new(RecordingQueue::default());
        let clock = Arc::new(TestClock::default());
        let ports = Ports {
            config: store.clone(),
            activities: store.clone(),
            ops: store.clone(),
            access: store.clone(),
            sealer: Arc::new(TestSealer),
            jobs: queue.clone(),
            polls: queue.clone(),
            clock: clock.clone(),
        };
        let options = AdminOptions {
            bootstrap_admin: Principal::parse("admin"),
            job_retry: RetryPolicy {
                attempts: 3,
                delay: Duration::ZERO,
                max_delay: Duration::ZERO,
            },
            ..AdminOptions::default()
        };
        World {
            admin: Admin::new(ports, env, options),
            store,
            queue,
            clock,
            sim,
        }
    }

    /// The EWS URL as the profile names it.
    pub fn ews_url(&self) -> String {
        self.sim.ews_url().to_owned()
    }

    /// A profile on the simulator's EWS URL with the service account.
    pub fn profile_input(&self) -> ProfileInput {
        ProfileInput {
            name: Some("Contoso Exchange".into()),
            owner: Some("exchange-admin".into()),
            owner_email: Some(ADMIN_EMAIL.into()),
            exchange_version: Some(exsync_domain::profile::ExchangeVersion::Exchange2016),
            use_autodiscover: Some(false),
            incoming_ews_url: Some(self.ews_url()),
            user_name: Some(SERVICE_LOGON.into()),
            password: Some(SERVICE_PASSWORD.into()),
            ..ProfileInput::default()
        }
    }

    pub async fn profile(&self) -> ProfileView {
        self.admin
            .create_profile(&admin(), self.profile_input())
            .await
            .expect("the profile is created")
    }

    /// A user mailbox on `profile`, owned by `owner`.
    pub async fn mailbox(&self, profile: &ProfileId, email: &str, owner: &str) -> MailboxView {
        self.admin
            .create_mailbox(
                &admin(),
                MailboxInput {
                    name: Some(email.split('@').next().unwrap().into()),
                    email: Some(email.into()),
                    owner: Some(owner.into()),
                    profile_id: Some(profile.to_string()),
                    ..MailboxInput::default()
                },
            )
            .await
            .expect("the mailbox is created")
    }

    /// Approves mailboxes.
    pub async fn approve(&self, ids: &[&MailboxId]) {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        for item in self.admin.approve_mailboxes(&admin(), &ids).await.unwrap() {
            assert_eq!(item.result.unwrap().approval, Approval::Approved);
        }
    }

    /// Turns off the approval requirement.
    pub async fn no_approval_needed(&self) {
        let settings = self.admin.get_settings(&admin()).await.unwrap();
        self.admin
            .update_settings(
                &admin(),
                OrgSettingsInput {
                    version: Some(settings.version),
                    approval_required_for_user_mailboxes: Some(false),
                    approval_required_for_queue_mailboxes: Some(false),
                    ..OrgSettingsInput::default()
                },
            )
            .await
            .unwrap();
    }
}

impl Drop for World {
    /// Every answer the simulator gave must have been schema-valid (it checks each one);
    /// doing it here means no test can forget.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let invalid = self.sim.exchange().invalid_responses();
            assert!(invalid.is_empty(), "schema-invalid responses: {invalid:?}");
        }
    }
}

/// The bootstrap administrator.
pub fn admin() -> Grants {
    Grants::all(Principal::parse("admin"))
}

/// A caller holding exactly `privileges`.
pub fn caller(name: &str, privileges: &[exsync_domain::privilege::Privilege]) -> Grants {
    Grants {
        principal: Principal::parse(name),
        privileges: privileges.iter().copied().collect(),
    }
}

/// A caller without any privilege (the owner rule only).
pub fn nobody(name: &str) -> Grants {
    caller(name, &[])
}
