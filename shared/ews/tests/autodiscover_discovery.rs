//! Autodiscover end to end against local servers: candidate order, the plain-HTTP redirect
//! probe, SRV, redirects and their limits, and what the report says.

mod transport_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use exsync_ews::ErrorClass;
use exsync_ews::autodiscover::{
    DiscoveryError, DiscoveryReport, MAX_HOPS, Outcome, RedirectRefusal, SrvRecord,
    StaticSrvResolver, Step, discover,
};
use exsync_ews::transport::{AuthScheme, Credentials, HttpTransport, Secret, TransportConfig};
use transport_support::{Reply, Seen, Server, pki, start, start_plain};

const NAMES: &[&str] = &[
    "contoso.test",
    "autodiscover.contoso.test",
    "mail.contoso.test",
    "cas2.contoso.test",
    "srv.contoso.test",
    "backup.contoso.test",
    "fabrikam.test",
];
const EWS: &str = "https://mail.contoso.test/EWS/Exchange.asmx";

fn settings(ews_url: &str) -> Reply {
    Reply::ok(format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User><DisplayName>Mara Whitley</DisplayName></User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol><Type>EXPR</Type><Server>mail.contoso.test</Server><AuthPackage>Ntlm</AuthPackage><EwsUrl>{ews_url}</EwsUrl></Protocol>
    </Account>
  </Response>
</Autodiscover>"#
    ))
    .header("content-type", "text/xml; charset=utf-8")
}

fn account(body: &str) -> Reply {
    Reply::ok(format!(
        r#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account>{body}</Account></Response></Autodiscover>"#
    ))
}

fn redirect_url(to: &str) -> Reply {
    account(&format!(
        "<Action>redirectUrl</Action><RedirectUrl>{to}</RedirectUrl>"
    ))
}

fn redirect_addr(to: &str) -> Reply {
    account(&format!(
        "<Action>redirectAddr</Action><RedirectAddr>{to}</RedirectAddr>"
    ))
}

fn host(seen: &Seen) -> &str {
    seen.header("host").unwrap_or("")
}

/// A port nothing listens on: connections are refused at once.
fn closed() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Every (host, port) discovery may touch goes to `https` (443 and 8443) or `http` (80),
/// or is refused when that server is absent; no test ever asks real DNS.
struct Env {
    transport: HttpTransport,
}

impl Env {
    fn new(
        ca_pem: &str,
        https: Option<&Server>,
        http: Option<&Server>,
        refuse: &[(&str, u16)],
    ) -> Self {
        let mut config = TransportConfig::new(Credentials {
            scheme: AuthScheme::Basic,
            user: "CONTOSO\\svc-exsync".into(),
            password: Secret::new("Pa55word!"),
        });
        config.ca_pem = Some(ca_pem.as_bytes().to_vec());
        let closed = closed();
        for name in NAMES {
            for port in [443, 8443] {
                let to = https.map(|s| s.addr).unwrap_or(closed);
                config.connect_overrides.insert(name, port, to);
            }
            config
                .connect_overrides
                .insert(name, 80, http.map(|s| s.addr).unwrap_or(closed));
        }
        for (name, port) in refuse {
            config.connect_overrides.insert(name, *port, closed);
        }
        Self {
            transport: HttpTransport::new(config).unwrap(),
        }
    }

    async fn discover(&self, resolver: &StaticSrvResolver, email: &str) -> DiscoveryReport {
        discover(
            &self.transport,
            resolver,
            email,
            Instant::now() + Duration::from_secs(30),
        )
        .await
    }
}

fn steps(report: &DiscoveryReport) -> Vec<(Step, &str)> {
    report
        .attempts
        .iter()
        .map(|a| (a.step, a.url.as_str()))
        .collect()
}

#[tokio::test]
async fn the_domain_itself_is_asked_first_with_an_authenticated_pox_post() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |_, _| settings(EWS)).await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    let found = report.result.as_ref().unwrap();
    assert_eq!(found.ews_url, EWS);
    assert_eq!(found.protocol, "EXPR");
    assert_eq!(found.auth_package.as_deref(), Some("Ntlm"));
    assert_eq!(found.display_name.as_deref(), Some("Mara Whitley"));
    assert_eq!(
        steps(&report),
        [(
            Step::DomainRoot,
            "https://contoso.test/autodiscover/autodiscover.xml"
        )]
    );
    let seen = &https.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(host(seen), "contoso.test");
    assert_eq!(seen.path, "/autodiscover/autodiscover.xml");
    assert!(seen.header("content-type").unwrap().starts_with("text/xml"));
    assert!(seen.header("authorization").unwrap().starts_with("Basic "));
    let body = String::from_utf8(seen.body.clone()).unwrap();
    assert!(
        body.contains("<EMailAddress>mara@contoso.test</EMailAddress>"),
        "{body}"
    );
}

#[tokio::test]
async fn candidates_are_tried_in_order_and_one_401_is_not_the_end() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "autodiscover.contoso.test" => {
            Reply::new(401, "").header("www-authenticate", "Basic realm=\"x\"")
        }
        "mail.contoso.test" => settings(EWS),
        _ => Reply::new(404, ""),
    })
    .await;
    let http = start_plain(|_, _| {
        Reply::new(302, "").header(
            "location",
            "https://mail.contoso.test/autodiscover/autodiscover.xml",
        )
    })
    .await;
    let env = Env::new(
        &pki.ca_pem,
        Some(&https),
        Some(&http),
        &[("contoso.test", 443)],
    );

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert_eq!(report.result.as_ref().unwrap().ews_url, EWS);
    assert_eq!(
        steps(&report),
        [
            (
                Step::DomainRoot,
                "https://contoso.test/autodiscover/autodiscover.xml"
            ),
            (
                Step::AutodiscoverHost,
                "https://autodiscover.contoso.test/autodiscover/autodiscover.xml"
            ),
            (
                Step::HttpRedirect,
                "http://autodiscover.contoso.test/autodiscover/autodiscover.xml"
            ),
            (
                Step::Redirect,
                "https://mail.contoso.test/autodiscover/autodiscover.xml"
            ),
        ]
    );
    assert!(matches!(
        report.attempts[0].outcome,
        Outcome::Unreachable { .. }
    ));
    assert_eq!(report.attempts[1].outcome, Outcome::Unauthorized);
    assert_eq!(
        report.attempts[2].outcome,
        Outcome::HttpRedirect {
            status: 302,
            location: "https://mail.contoso.test/autodiscover/autodiscover.xml".into()
        }
    );
    // The plain-HTTP probe is a GET without credentials.
    let probe = &http.seen()[0];
    assert_eq!(probe.method, "GET");
    assert_eq!(probe.header("authorization"), None);
}

#[tokio::test]
async fn srv_targets_are_tried_last_lowest_priority_first() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "srv.contoso.test:8443" => settings(EWS),
        _ => Reply::new(500, ""),
    })
    .await;
    let env = Env::new(
        &pki.ca_pem,
        Some(&https),
        None,
        &[("contoso.test", 443), ("autodiscover.contoso.test", 443)],
    );
    let mut resolver = StaticSrvResolver::new();
    resolver.insert(
        "_autodiscover._tcp.contoso.test",
        vec![
            SrvRecord {
                priority: 10,
                weight: 0,
                port: 443,
                target: "backup.contoso.test".into(),
            },
            SrvRecord {
                priority: 0,
                weight: 5,
                port: 8443,
                target: "srv.contoso.test".into(),
            },
        ],
    );

    let report = env.discover(&resolver, "mara@contoso.test").await;

    assert_eq!(report.result.as_ref().unwrap().ews_url, EWS);
    let last = report.attempts.last().unwrap();
    assert_eq!(last.step, Step::DnsSrv);
    assert_eq!(
        last.url,
        "https://srv.contoso.test:8443/autodiscover/autodiscover.xml"
    );
    assert!(
        https
            .seen()
            .iter()
            .all(|s| host(s) != "backup.contoso.test")
    );
}

#[tokio::test]
async fn an_http_redirect_to_plain_http_is_not_followed() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |_, _| settings(EWS)).await;
    let http = start_plain(|_, _| {
        Reply::new(302, "").header(
            "location",
            "http://mail.contoso.test/autodiscover/autodiscover.xml",
        )
    })
    .await;
    let env = Env::new(
        &pki.ca_pem,
        Some(&https),
        Some(&http),
        &[("contoso.test", 443), ("autodiscover.contoso.test", 443)],
    );

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert_eq!(report.result, Err(DiscoveryError::NotFound));
    assert!(report.attempts.iter().any(|a| a.outcome
        == Outcome::RedirectRefused {
            to: "http://mail.contoso.test/autodiscover/autodiscover.xml".into(),
            reason: RedirectRefusal::NotHttps
        }));
    assert!(https.seen().is_empty());
    // Nothing but the probe reached the plain-HTTP server: no POST, no credentials.
    assert_eq!(http.seen().len(), 1);
    assert_eq!(http.seen()[0].header("authorization"), None);
}

#[tokio::test]
async fn redirect_url_is_followed_to_the_new_https_url() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "contoso.test" => redirect_url("https://cas2.contoso.test/autodiscover/autodiscover.xml"),
        "cas2.contoso.test" => settings(EWS),
        _ => Reply::new(404, ""),
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    let found = report.result.as_ref().unwrap();
    assert_eq!(
        found.autodiscover_url,
        "https://cas2.contoso.test/autodiscover/autodiscover.xml"
    );
    assert_eq!(
        report.attempts[0].outcome,
        Outcome::RedirectUrl {
            url: "https://cas2.contoso.test/autodiscover/autodiscover.xml".into()
        }
    );
    assert_eq!(report.attempts[1].step, Step::Redirect);
}

#[tokio::test]
async fn a_redirect_loop_is_refused_and_discovery_moves_on() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "contoso.test" => redirect_url("https://cas2.contoso.test/autodiscover/autodiscover.xml"),
        "cas2.contoso.test" => redirect_url("https://contoso.test/autodiscover/autodiscover.xml"),
        "autodiscover.contoso.test" => settings(EWS),
        _ => Reply::new(404, ""),
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert_eq!(report.result.as_ref().unwrap().ews_url, EWS);
    assert!(report.attempts.iter().any(|a| matches!(
        a.outcome,
        Outcome::RedirectRefused {
            reason: RedirectRefusal::Loop,
            ..
        }
    )));
    // contoso.test was asked once, not again after the loop.
    let asked = https.seen();
    assert_eq!(
        asked.iter().filter(|s| host(s) == "contoso.test").count(),
        1
    );
}

#[tokio::test]
async fn more_than_ten_redirects_end_discovery() {
    let pki = pki(NAMES);
    // Every answer redirects to a URL not seen before.
    let hops = AtomicUsize::new(0);
    let https = start(pki.server.clone(), move |_, _| {
        let next = hops.fetch_add(1, Ordering::SeqCst);
        redirect_url(&format!(
            "https://cas2.contoso.test/hop/{next}/autodiscover.xml"
        ))
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert_eq!(
        report.result,
        Err(DiscoveryError::TooManyRedirects { limit: MAX_HOPS })
    );
    assert_eq!(https.seen().len(), MAX_HOPS + 1);
    assert_eq!(
        report.result.as_ref().unwrap_err().class(),
        ErrorClass::ProfileLevel
    );
}

#[tokio::test]
async fn redirect_addr_restarts_discovery_for_the_new_address() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "contoso.test" => redirect_addr("mara@fabrikam.test"),
        "fabrikam.test" => settings(EWS),
        _ => Reply::new(404, ""),
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    let found = report.result.as_ref().unwrap();
    assert_eq!(found.email, "mara@fabrikam.test");
    assert_eq!(
        steps(&report),
        [
            (
                Step::DomainRoot,
                "https://contoso.test/autodiscover/autodiscover.xml"
            ),
            (
                Step::DomainRoot,
                "https://fabrikam.test/autodiscover/autodiscover.xml"
            ),
        ]
    );
    let asked = String::from_utf8(https.seen()[1].body.clone()).unwrap();
    assert!(asked.contains("<EMailAddress>mara@fabrikam.test</EMailAddress>"));
}

#[tokio::test]
async fn redirect_addr_to_the_same_address_is_refused() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "contoso.test" => redirect_addr("Mara@contoso.test"),
        "autodiscover.contoso.test" => settings(EWS),
        _ => Reply::new(404, ""),
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert!(report.result.is_ok());
    assert_eq!(
        report.attempts[1].outcome,
        Outcome::RedirectRefused {
            to: "Mara@contoso.test".into(),
            reason: RedirectRefusal::SameAddress
        }
    );
}

#[tokio::test]
async fn an_autodiscover_error_moves_on_to_the_next_candidate() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "contoso.test" => Reply::ok(
            r#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error Time="21:25:04.8897083" Id="4130155072"><ErrorCode>600</ErrorCode><Message>Invalid Request</Message><DebugData /></Error></Response></Autodiscover>"#,
        ),
        _ => settings(EWS),
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert!(report.result.is_ok());
    assert_eq!(
        report.attempts[0].outcome,
        Outcome::AutodiscoverError {
            code: "600".into(),
            message: Some("Invalid Request".into())
        }
    );
    assert_eq!(report.attempts[1].step, Step::AutodiscoverHost);
}

#[tokio::test]
async fn settings_with_only_an_http_ews_url_are_not_used() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |seen, _| match host(seen) {
        "contoso.test" => settings("http://mail.contoso.test/EWS/Exchange.asmx"),
        _ => settings(EWS),
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert_eq!(report.result.as_ref().unwrap().ews_url, EWS);
    assert_eq!(
        report.attempts[0].outcome,
        Outcome::InsecureEwsUrl {
            url: "http://mail.contoso.test/EWS/Exchange.asmx".into()
        }
    );
}

#[tokio::test]
async fn every_endpoint_refusing_the_credentials_is_reported_as_such() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |_, _| {
        Reply::new(401, "").header("www-authenticate", "Basic realm=\"x\"")
    })
    .await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert_eq!(
        report.result,
        Err(DiscoveryError::CredentialsRejected { attempts: 2 })
    );
    assert_eq!(
        report.attempts.last().unwrap().outcome,
        Outcome::NoSrvRecords
    );
}

#[tokio::test]
async fn nothing_answering_is_not_found() {
    let pki = pki(NAMES);
    let env = Env::new(&pki.ca_pem, None, None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;

    assert_eq!(report.result, Err(DiscoveryError::NotFound));
    let kinds: Vec<_> = report.attempts.iter().map(|a| a.step).collect();
    assert_eq!(
        kinds,
        [
            Step::DomainRoot,
            Step::AutodiscoverHost,
            Step::HttpRedirect,
            Step::DnsSrv
        ]
    );
}

#[tokio::test]
async fn a_passed_deadline_ends_discovery_before_any_request() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |_, _| settings(EWS)).await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = discover(
        &env.transport,
        &StaticSrvResolver::new(),
        "mara@contoso.test",
        Instant::now(),
    )
    .await;

    assert_eq!(report.result, Err(DiscoveryError::DeadlineExceeded));
    assert_eq!(
        report.result.unwrap_err().class(),
        ErrorClass::Transient { back_off: None }
    );
    assert_eq!(https.connections(), 0);
}

#[tokio::test]
async fn an_invalid_address_is_refused_without_any_request() {
    let pki = pki(NAMES);
    let env = Env::new(&pki.ca_pem, None, None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "not-an-address")
        .await;

    assert!(matches!(
        report.result,
        Err(DiscoveryError::InvalidEmail { .. })
    ));
    assert!(report.attempts.is_empty());
}

#[tokio::test]
async fn the_report_serializes_to_json() {
    let pki = pki(NAMES);
    let https = start(pki.server.clone(), |_, _| settings(EWS)).await;
    let env = Env::new(&pki.ca_pem, Some(&https), None, &[]);

    let report = env
        .discover(&StaticSrvResolver::new(), "mara@contoso.test")
        .await;
    let json = serde_json::to_value(&report).unwrap();

    assert_eq!(json["attempts"][0]["step"], "domain_root");
    assert_eq!(json["attempts"][0]["outcome"]["kind"], "discovered");
    assert_eq!(json["result"]["Ok"]["ews_url"], EWS);
}
