//! Autodiscover against the simulator along every path exsync knows: the domain URL, the
//! `autodiscover.` host, the plain-HTTP redirect probe, DNS SRV, and the `redirectAddr` and
//! `redirectUrl` answers; and the report when every path fails.
//!
//! Real-looking host names reach the simulator through connect overrides (`contoso.test:443`
//! → its HTTPS listener, `autodiscover.contoso.test:80` → its plain-HTTP listener) and a
//! static SRV resolver, so no test asks real DNS.

use std::net::SocketAddr;

use exsync_ews::ErrorClass;
use exsync_ews::autodiscover::{
    DiscoveryError, DiscoveryReport, Outcome, SrvRecord, StaticSrvResolver, Step, discover,
};
use exsync_ews::client::EwsClient;
use exsync_ews::transport::{AuthScheme, ConnectOverrides};
use exsync_ews_sim::AutodiscoverBehavior;
use exsync_integration_tests::{
    ALICE, ALICE_OTHER_DOMAIN, DOMAIN, MAIL_HOST, OTHER_DOMAIN, SRV_HOST, Sim, deadline, get_inbox,
};

const AUTODISCOVER_HOST: &str = "autodiscover.contoso.test";

fn autodiscover_url(host: &str) -> String {
    format!("https://{host}/autodiscover/autodiscover.xml")
}

fn probe_url() -> String {
    format!("http://{AUTODISCOVER_HOST}/autodiscover/autodiscover.xml")
}

fn srv_name() -> String {
    format!("_autodiscover._tcp.{DOMAIN}")
}

/// A port nothing listens on: a connection there is refused at once.
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Every HTTPS host a test may touch goes to the simulator; the redirect probe goes to its
/// plain-HTTP listener, or to a closed port when `probe_answers` is false.
fn overrides(sim: &Sim, probe_answers: bool) -> ConnectOverrides {
    let mut o = ConnectOverrides::new();
    for host in [DOMAIN, AUTODISCOVER_HOST, MAIL_HOST, SRV_HOST, OTHER_DOMAIN] {
        o.insert(host, 443, sim.https_addr());
    }
    let probe = if probe_answers {
        sim.http_probe_addr()
    } else {
        closed_port()
    };
    o.insert(AUTODISCOVER_HOST, 80, probe);
    o
}

async fn run(sim: &Sim, probe_answers: bool, srv: &StaticSrvResolver) -> DiscoveryReport {
    let transport = sim.transport(AuthScheme::Ntlm, overrides(sim, probe_answers));
    discover(&transport, srv, ALICE, deadline()).await
}

/// Each attempt as (step, URL, outcome kind) for comparing whole reports.
fn steps(report: &DiscoveryReport) -> Vec<(Step, String, &'static str)> {
    report
        .attempts
        .iter()
        .map(|a| {
            let kind = match &a.outcome {
                Outcome::Discovered { .. } => "discovered",
                Outcome::Unauthorized => "unauthorized",
                Outcome::TlsFailed { .. } => "tls_failed",
                Outcome::Unreachable { .. } => "unreachable",
                Outcome::HttpStatus { status: 404 } => "404",
                Outcome::HttpStatus { .. } => "other_status",
                Outcome::HttpRedirect { .. } => "http_redirect",
                Outcome::RedirectAddr { .. } => "redirect_addr",
                Outcome::RedirectUrl { .. } => "redirect_url",
                Outcome::RedirectRefused { .. } => "redirect_refused",
                Outcome::AutodiscoverError { .. } => "autodiscover_error",
                Outcome::InvalidResponse { .. } => "invalid_response",
                Outcome::NoEwsUrl => "no_ews_url",
                Outcome::InsecureEwsUrl { .. } => "insecure_ews_url",
                Outcome::SrvLookupFailed { .. } => "srv_lookup_failed",
                Outcome::NoSrvRecords => "no_srv_records",
                _ => "unknown",
            };
            (a.step, a.url.clone(), kind)
        })
        .collect()
}

fn found_ews_url(report: &DiscoveryReport) -> &str {
    match &report.result {
        Ok(found) => &found.ews_url,
        Err(e) => panic!("discovery failed ({e}): {:#?}", report.attempts),
    }
}

fn not_found(sim: &Sim, host: &str) {
    sim.set_autodiscover_behavior(host, AutodiscoverBehavior::NotFound);
}

/// An SRV record for the host only SRV names, on 443.
fn srv_to_simulator() -> StaticSrvResolver {
    let mut srv = StaticSrvResolver::new();
    srv.insert(
        &srv_name(),
        vec![SrvRecord {
            priority: 0,
            weight: 0,
            port: 443,
            target: SRV_HOST.into(),
        }],
    );
    srv
}

#[tokio::test]
async fn the_domain_url_serves_and_its_ews_url_works() {
    let sim = Sim::start();

    let report = run(&sim, true, &StaticSrvResolver::new()).await;

    assert_eq!(
        steps(&report),
        [(Step::DomainRoot, autodiscover_url(DOMAIN), "discovered")]
    );
    assert_eq!(found_ews_url(&report), sim.ews_url());
    let client = EwsClient::with_transport(
        found_ews_url(&report),
        sim.transport(AuthScheme::Ntlm, ConnectOverrides::new()),
    )
    .unwrap();
    let inbox = client.call(Some(ALICE), &get_inbox(), deadline()).await;
    assert!(inbox.is_ok(), "{:?}", inbox.err());
}

#[tokio::test]
async fn when_the_domain_url_404s_the_autodiscover_host_serves() {
    let sim = Sim::start();
    not_found(&sim, DOMAIN);

    let report = run(&sim, true, &StaticSrvResolver::new()).await;

    assert_eq!(
        steps(&report),
        [
            (Step::DomainRoot, autodiscover_url(DOMAIN), "404"),
            (
                Step::AutodiscoverHost,
                autodiscover_url(AUTODISCOVER_HOST),
                "discovered"
            ),
        ]
    );
    assert_eq!(found_ews_url(&report), sim.ews_url());
}

#[tokio::test]
async fn when_both_https_candidates_fail_the_http_redirect_probe_leads_to_the_endpoint() {
    let sim = Sim::start();
    not_found(&sim, DOMAIN);
    not_found(&sim, AUTODISCOVER_HOST);
    sim.set_http_redirect(&autodiscover_url(MAIL_HOST));

    let report = run(&sim, true, &StaticSrvResolver::new()).await;

    assert_eq!(
        steps(&report),
        [
            (Step::DomainRoot, autodiscover_url(DOMAIN), "404"),
            (
                Step::AutodiscoverHost,
                autodiscover_url(AUTODISCOVER_HOST),
                "404"
            ),
            (Step::HttpRedirect, probe_url(), "http_redirect"),
            (Step::Redirect, autodiscover_url(MAIL_HOST), "discovered"),
        ]
    );
    assert_eq!(found_ews_url(&report), sim.ews_url());
}

#[tokio::test]
async fn when_every_other_path_fails_srv_leads_to_the_endpoint() {
    let sim = Sim::start();
    not_found(&sim, DOMAIN);
    not_found(&sim, AUTODISCOVER_HOST);

    let report = run(&sim, false, &srv_to_simulator()).await;

    assert_eq!(
        steps(&report),
        [
            (Step::DomainRoot, autodiscover_url(DOMAIN), "404"),
            (
                Step::AutodiscoverHost,
                autodiscover_url(AUTODISCOVER_HOST),
                "404"
            ),
            (Step::HttpRedirect, probe_url(), "unreachable"),
            (Step::DnsSrv, autodiscover_url(SRV_HOST), "discovered"),
        ]
    );
    assert_eq!(found_ews_url(&report), sim.ews_url());
}

#[tokio::test]
async fn a_redirect_addr_answer_restarts_discovery_for_the_new_address() {
    let sim = Sim::start();
    sim.set_autodiscover_behavior(
        DOMAIN,
        AutodiscoverBehavior::RedirectAddr(ALICE_OTHER_DOMAIN.into()),
    );

    let report = run(&sim, true, &StaticSrvResolver::new()).await;

    assert_eq!(
        steps(&report),
        [
            (Step::DomainRoot, autodiscover_url(DOMAIN), "redirect_addr"),
            (
                Step::DomainRoot,
                autodiscover_url(OTHER_DOMAIN),
                "discovered"
            ),
        ]
    );
    let emails: Vec<&str> = report.attempts.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(emails, [ALICE, ALICE_OTHER_DOMAIN]);
    let found = report.result.as_ref().unwrap();
    assert_eq!(found.email, ALICE_OTHER_DOMAIN);
    assert_eq!(found.ews_url, sim.ews_url());
}

#[tokio::test]
async fn a_redirect_url_answer_is_followed() {
    let sim = Sim::start();
    sim.set_autodiscover_behavior(
        DOMAIN,
        AutodiscoverBehavior::RedirectUrl(autodiscover_url(MAIL_HOST)),
    );

    let report = run(&sim, true, &StaticSrvResolver::new()).await;

    assert_eq!(
        steps(&report),
        [
            (Step::DomainRoot, autodiscover_url(DOMAIN), "redirect_url"),
            (Step::Redirect, autodiscover_url(MAIL_HOST), "discovered"),
        ]
    );
    let found = report.result.as_ref().unwrap();
    assert_eq!(found.autodiscover_url, autodiscover_url(MAIL_HOST));
    assert_eq!(found.ews_url, sim.ews_url());
}

#[tokio::test]
async fn when_every_path_fails_the_error_comes_with_every_attempt() {
    let sim = Sim::start();
    not_found(&sim, DOMAIN);
    not_found(&sim, AUTODISCOVER_HOST);

    let report = run(&sim, false, &StaticSrvResolver::new()).await;

    assert_eq!(report.result, Err(DiscoveryError::NotFound));
    assert_eq!(
        report.result.as_ref().unwrap_err().class(),
        ErrorClass::ProfileLevel
    );
    assert_eq!(
        steps(&report),
        [
            (Step::DomainRoot, autodiscover_url(DOMAIN), "404"),
            (
                Step::AutodiscoverHost,
                autodiscover_url(AUTODISCOVER_HOST),
                "404"
            ),
            (Step::HttpRedirect, probe_url(), "unreachable"),
            (Step::DnsSrv, srv_name(), "no_srv_records"),
        ]
    );
}
