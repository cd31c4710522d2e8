//! POX Autodiscover: settings with the simulator's EWS URL, errors, per-host behaviour (so a
//! client's fallback from `https://<domain>` to `https://autodiscover.<domain>` can be
//! tested), and the plain-HTTP redirect probe.

mod server_support;

use exsync_ews_sim::AutodiscoverBehavior;
use http::Method;
use server_support::*;

const OUTLOOK_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
const RESPONSE_NS: &str = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";

fn texts(xml: &str, ns: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((ns, name)))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect()
}

async fn autodiscover(sim: &exsync_ews_sim::SimHandle, host: &str, address: &str) -> Reply {
    let mut conn = Connection::open_as(sim, host).await;
    conn.post(
        AUTODISCOVER_PATH,
        Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
        &autodiscover_request(address),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn settings_carry_the_ews_url_in_the_exch_and_expr_blocks() {
    let sim = start();
    let reply = autodiscover(&sim, "autodiscover.contoso.test", ALICE).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(texts(&reply.body, OUTLOOK_NS, "Type"), vec!["EXCH", "EXPR"]);
    assert_eq!(
        texts(&reply.body, OUTLOOK_NS, "EwsUrl"),
        vec![sim.ews_url(), sim.ews_url()]
    );
    assert_eq!(
        texts(&reply.body, OUTLOOK_NS, "AutoDiscoverSMTPAddress"),
        vec![ALICE]
    );
    assert_eq!(
        texts(&reply.body, OUTLOOK_NS, "DisplayName"),
        vec!["Alice Anders"]
    );
}

#[tokio::test]
async fn autodiscover_over_ntlm_works_like_ews() {
    let sim = start();
    let mut conn = Connection::open_as(&sim, "autodiscover.contoso.test").await;
    let reply = conn
        .ntlm(
            AUTODISCOVER_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &autodiscover_request(ALICE),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        texts(&reply.body, OUTLOOK_NS, "EwsUrl")
            .first()
            .map(String::as_str),
        Some(sim.ews_url())
    );
}

#[tokio::test]
async fn autodiscover_requires_authentication() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(AUTODISCOVER_PATH, None, &autodiscover_request(ALICE))
        .await
        .unwrap();
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn unknown_address_is_error_500() {
    let sim = start();
    let reply = autodiscover(&sim, "localhost", "nobody@contoso.test").await;
    assert_eq!(reply.status, 200);
    assert_eq!(texts(&reply.body, RESPONSE_NS, "ErrorCode"), vec!["500"]);
}

#[tokio::test]
async fn a_request_that_is_not_pox_is_error_600() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(
            AUTODISCOVER_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            "<nonsense/>",
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(texts(&reply.body, RESPONSE_NS, "ErrorCode"), vec!["600"]);
}

#[tokio::test]
async fn the_bare_domain_can_fail_while_the_autodiscover_host_serves() {
    let sim = start();
    sim.set_autodiscover_behavior("contoso.test", AutodiscoverBehavior::NotFound);
    sim.set_autodiscover_behavior("autodiscover.contoso.test", AutodiscoverBehavior::Serve);
    let bare = autodiscover(&sim, "contoso.test", ALICE).await;
    assert_eq!(bare.status, 404);
    let served = autodiscover(&sim, "autodiscover.contoso.test", ALICE).await;
    assert_eq!(served.status, 200);
    assert_eq!(
        texts(&served.body, OUTLOOK_NS, "EwsUrl")
            .first()
            .map(String::as_str),
        Some(sim.ews_url())
    );
}

#[tokio::test]
async fn unauthorized_host_refuses_even_good_credentials() {
    let sim = start();
    sim.set_autodiscover_behavior("contoso.test", AutodiscoverBehavior::Unauthorized);
    let reply = autodiscover(&sim, "contoso.test", ALICE).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        autodiscover(&sim, "autodiscover.contoso.test", ALICE)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn error_600_host_answers_invalid_request() {
    let sim = start();
    sim.set_autodiscover_behavior("contoso.test", AutodiscoverBehavior::Error600);
    let reply = autodiscover(&sim, "contoso.test", ALICE).await;
    assert_eq!(reply.status, 200);
    assert_eq!(texts(&reply.body, RESPONSE_NS, "ErrorCode"), vec!["600"]);
    assert_eq!(
        texts(&reply.body, RESPONSE_NS, "Message"),
        vec!["Invalid Request"]
    );
}

#[tokio::test]
async fn redirect_addr_host_names_the_new_address() {
    let sim = start();
    sim.set_autodiscover_behavior(
        "contoso.test",
        AutodiscoverBehavior::RedirectAddr("alice@fabrikam.test".into()),
    );
    let reply = autodiscover(&sim, "contoso.test", ALICE).await;
    assert_eq!(
        texts(&reply.body, OUTLOOK_NS, "Action"),
        vec!["redirectAddr"]
    );
    assert_eq!(
        texts(&reply.body, OUTLOOK_NS, "RedirectAddr"),
        vec!["alice@fabrikam.test"]
    );
}

#[tokio::test]
async fn redirect_url_host_names_the_new_url() {
    let sim = start();
    let target = "https://autodiscover.contoso.test/autodiscover/autodiscover.xml";
    sim.set_autodiscover_behavior(
        "contoso.test",
        AutodiscoverBehavior::RedirectUrl(target.into()),
    );
    let reply = autodiscover(&sim, "contoso.test", ALICE).await;
    assert_eq!(
        texts(&reply.body, OUTLOOK_NS, "Action"),
        vec!["redirectUrl"]
    );
    assert_eq!(texts(&reply.body, OUTLOOK_NS, "RedirectUrl"), vec![target]);
}

#[tokio::test]
async fn clearing_behaviors_serves_every_host_again() {
    let sim = start();
    sim.set_autodiscover_behavior("contoso.test", AutodiscoverBehavior::NotFound);
    sim.clear_autodiscover_behaviors();
    assert_eq!(autodiscover(&sim, "contoso.test", ALICE).await.status, 200);
}

#[tokio::test]
async fn http_probe_redirects_to_the_https_autodiscover_url_without_credentials() {
    let sim = start();
    let reply = plain_http(sim.http_probe_addr(), Method::GET, AUTODISCOVER_PATH).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.headers["location"], sim.autodiscover_url());
    assert!(reply.www_authenticate().is_empty());
}

#[tokio::test]
async fn http_probe_answers_only_the_autodiscover_get() {
    let sim = start();
    let other_path = plain_http(sim.http_probe_addr(), Method::GET, "/owa/").await;
    assert_eq!(other_path.status, 404);
    let post = plain_http(sim.http_probe_addr(), Method::POST, AUTODISCOVER_PATH).await;
    assert_eq!(post.status, 404);
}

#[tokio::test]
async fn http_probe_target_can_be_changed() {
    let sim = start();
    sim.set_http_redirect("http://evil.test/autodiscover/autodiscover.xml");
    let reply = plain_http(sim.http_probe_addr(), Method::GET, AUTODISCOVER_PATH).await;
    assert_eq!(
        reply.headers["location"],
        "http://evil.test/autodiscover/autodiscover.xml"
    );
}

#[test]
fn curl_gets_settings_from_the_autodiscover_host_over_ntlm() {
    let sim = start();
    let port = sim.https_addr().port();
    let result = curl(
        &sim,
        &[
            "--ntlm",
            "-u",
            &format!("{SERVICE_LOGON}:{SERVICE_PASSWORD}"),
            "--resolve",
            &format!("autodiscover.contoso.test:{port}:127.0.0.1"),
        ],
        &format!("https://autodiscover.contoso.test:{port}{AUTODISCOVER_PATH}"),
        &autodiscover_request(ALICE),
    );
    assert_eq!(result.status, 200, "{result:?}");
    assert_eq!(
        texts(&result.body, OUTLOOK_NS, "EwsUrl")
            .first()
            .map(String::as_str),
        Some(sim.ews_url())
    );
}
