//! POX Autodiscover: the request a client POSTs to `…/autodiscover/autodiscover.xml` and the
//! answers Exchange gives, including the error and redirect forms, and a per-host behaviour
//! so a test can make `https://<domain>/…` fail while `https://autodiscover.<domain>/…` serves.
//!
//! Shapes follow Microsoft's published examples:
//! [request](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/pox-autodiscover-request-for-exchange),
//! [response](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/pox-autodiscover-response-for-exchange),
//! [errors and redirects](https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/handling-autodiscover-error-messages).
//! The namespaces are `http://`, as servers send them (the pages print `https://`).

use crate::config::ServerVersion;
use serde::{Deserialize, Serialize};

/// Outer namespace of every POX Autodiscover response.
pub const RESPONSE_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
/// Namespace of the Outlook provider's `Response` element.
pub const OUTLOOK_RESPONSE_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
/// Namespace of the request.
pub const REQUEST_NS: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";

/// How the Autodiscover endpoint answers requests arriving for one host name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutodiscoverBehavior {
    /// Authenticate and answer with the user's settings (the default).
    #[default]
    Serve,
    /// HTTP 404 before authentication, as a web site on the bare domain answers.
    NotFound,
    /// HTTP 401 whatever the credentials.
    Unauthorized,
    /// After authentication, a 200 carrying error 600 "Invalid Request".
    Error600,
    /// After authentication, `Action` `redirectAddr` to this e-mail address.
    RedirectAddr(String),
    /// After authentication, `Action` `redirectUrl` to this URL.
    RedirectUrl(String),
}

/// What the server needs to answer with settings.
#[derive(Debug, Clone)]
pub struct SettingsContext<'a> {
    /// The mailbox's primary SMTP address.
    pub smtp: &'a str,
    /// Its display name.
    pub display_name: &'a str,
    /// The EWS URL to hand out.
    pub ews_url: &'a str,
    /// The host name clients use from outside.
    pub public_host: &'a str,
    /// The emulated version (ServerVersion in the EXCH block).
    pub version: ServerVersion,
    /// The auth package to advertise for EXPR (`Ntlm` or `Basic`).
    pub auth_package: &'a str,
    /// The organisation's NetBIOS name, for the LegacyDN.
    pub organisation: &'a str,
}

/// Reads `Request/EMailAddress` from a POX Autodiscover request; `None` when the document is
/// not one.
pub fn requested_address(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let doc = roxmltree::Document::parse(text).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "Autodiscover" || root.tag_name().namespace() != Some(REQUEST_NS) {
        return None;
    }
    root.children()
        .find(|n| n.has_tag_name((REQUEST_NS, "Request")))?
        .children()
        .find(|n| n.has_tag_name((REQUEST_NS, "EMailAddress")))?
        .text()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The `ServerVersion` hex string of the EXCH block: the build packed as Outlook reads it
/// (4 bits `0111`, 6 bits major, 6 bits minor, a set bit, 15 bits build).
pub fn server_version_hex(version: ServerVersion) -> String {
    let (major, minor, build, _, _) = version.server_version_info();
    let packed: u32 = (0b0111 << 28)
        | ((major & 0x3f) << 22)
        | ((minor & 0x3f) << 16)
        | (1 << 15)
        | (build & 0x7fff);
    format!("{packed:08X}")
}

/// The settings answer: User, then Account with the EXCH and EXPR protocol blocks, both
/// carrying the EWS URL.
pub fn settings_response(ctx: &SettingsContext<'_>) -> String {
    let smtp = escape(ctx.smtp);
    let display_name = escape(ctx.display_name);
    let ews_url = escape(ctx.ews_url);
    let host = escape(ctx.public_host);
    let org = escape(ctx.organisation);
    let local = escape(ctx.smtp.split('@').next().unwrap_or(ctx.smtp));
    let version = server_version_hex(ctx.version);
    let auth = escape(ctx.auth_package);
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{RESPONSE_NS}">
  <Response xmlns="{OUTLOOK_RESPONSE_NS}">
    <User>
      <DisplayName>{display_name}</DisplayName>
      <LegacyDN>/o={org}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={local}</LegacyDN>
      <AutoDiscoverSMTPAddress>{smtp}</AutoDiscoverSMTPAddress>
      <DeploymentId>644560b8-a1ce-429c-8ace-23395843f701</DeploymentId>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <MicrosoftOnline>False</MicrosoftOnline>
      <Protocol>
        <Type>EXCH</Type>
        <Server>{host}</Server>
        <ServerDN>/o={org}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=EXCH01</ServerDN>
        <ServerVersion>{version}</ServerVersion>
        <AuthPackage>{auth}</AuthPackage>
        <ASUrl>{ews_url}</ASUrl>
        <EwsUrl>{ews_url}</EwsUrl>
        <OOFUrl>{ews_url}</OOFUrl>
        <OABUrl>https://{host}/OAB/d29844a9-724e-468c-8820-0f7b345b767b/</OABUrl>
      </Protocol>
      <Protocol>
        <Type>EXPR</Type>
        <Server>{host}</Server>
        <SSL>On</SSL>
        <AuthPackage>{auth}</AuthPackage>
        <ServerExclusiveConnect>On</ServerExclusiveConnect>
        <ASUrl>{ews_url}</ASUrl>
        <EwsUrl>{ews_url}</EwsUrl>
        <OOFUrl>{ews_url}</OOFUrl>
        <OABUrl>https://{host}/OAB/d29844a9-724e-468c-8820-0f7b345b767b/</OABUrl>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
"#
    )
}

/// An error answer (HTTP 200): 500 "The e-mail address cannot be found.", 600 "Invalid
/// Request", …
pub fn error_response(code: u32, message: &str) -> String {
    let message = escape(message);
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{RESPONSE_NS}">
  <Response>
    <Error Time="00:00:00.0000000" Id="2477272013">
      <ErrorCode>{code}</ErrorCode>
      <Message>{message}</Message>
      <DebugData />
    </Error>
  </Response>
</Autodiscover>
"#
    )
}

/// A redirect answer: `Action` `redirectAddr` with `RedirectAddr`, or `redirectUrl` with
/// `RedirectUrl`.
pub fn redirect_response(behavior: &AutodiscoverBehavior) -> Option<String> {
    let (action, element, target) = match behavior {
        AutodiscoverBehavior::RedirectAddr(addr) => ("redirectAddr", "RedirectAddr", addr),
        AutodiscoverBehavior::RedirectUrl(url) => ("redirectUrl", "RedirectUrl", url),
        _ => return None,
    };
    let target = escape(target);
    Some(format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{RESPONSE_NS}">
  <Response xmlns="{OUTLOOK_RESPONSE_NS}">
    <Account>
      <Action>{action}</Action>
      <{element}>{target}</{element}>
    </Account>
  </Response>
</Autodiscover>
"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(addr: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{REQUEST_NS}">
  <Request>
    <EMailAddress>{addr}</EMailAddress>
    <AcceptableResponseSchema>{OUTLOOK_RESPONSE_NS}</AcceptableResponseSchema>
  </Request>
</Autodiscover>"#
        )
    }

    fn text_of(doc: &roxmltree::Document<'_>, ns: &str, name: &str) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name((ns, name)))
            .filter_map(|n| n.text().map(str::to_owned))
            .collect()
    }

    #[test]
    fn request_address_is_read() {
        assert_eq!(
            requested_address(request("jdoe@contoso.test").as_bytes()).as_deref(),
            Some("jdoe@contoso.test")
        );
    }

    #[test]
    fn request_in_another_namespace_is_not_a_pox_request() {
        let wrong = request("jdoe@contoso.test").replace(REQUEST_NS, "urn:other");
        assert_eq!(requested_address(wrong.as_bytes()), None);
        assert_eq!(requested_address(b"not xml"), None);
    }

    #[test]
    fn settings_carry_exch_and_expr_blocks_with_the_ews_url() {
        let body = settings_response(&SettingsContext {
            smtp: "jdoe@contoso.test",
            display_name: "J & Doe",
            ews_url: "https://localhost:4443/EWS/Exchange.asmx",
            public_host: "localhost",
            version: ServerVersion::Exchange2016,
            auth_package: "Ntlm",
            organisation: "CONTOSO",
        });
        let doc = roxmltree::Document::parse(&body).unwrap();
        assert_eq!(doc.root_element().tag_name().namespace(), Some(RESPONSE_NS));
        assert_eq!(
            text_of(&doc, OUTLOOK_RESPONSE_NS, "Type"),
            vec!["EXCH", "EXPR"]
        );
        assert_eq!(
            text_of(&doc, OUTLOOK_RESPONSE_NS, "EwsUrl"),
            vec![
                "https://localhost:4443/EWS/Exchange.asmx",
                "https://localhost:4443/EWS/Exchange.asmx"
            ]
        );
        assert_eq!(
            text_of(&doc, OUTLOOK_RESPONSE_NS, "DisplayName"),
            vec!["J & Doe"]
        );
    }

    #[test]
    fn server_version_packs_major_minor_and_build() {
        // 15.1 build 225: 0111 001111 000001 1 000000011100001.
        assert_eq!(server_version_hex(ServerVersion::Exchange2016), "73C180E1");
        let v =
            u32::from_str_radix(&server_version_hex(ServerVersion::Exchange2010Sp3), 16).unwrap();
        assert_eq!((v >> 22) & 0x3f, 14);
        assert_eq!((v >> 16) & 0x3f, 3);
    }

    #[test]
    fn error_600_is_in_the_outer_namespace() {
        let body = error_response(600, "Invalid Request");
        let doc = roxmltree::Document::parse(&body).unwrap();
        assert_eq!(text_of(&doc, RESPONSE_NS, "ErrorCode"), vec!["600"]);
        assert_eq!(
            text_of(&doc, RESPONSE_NS, "Message"),
            vec!["Invalid Request"]
        );
    }

    #[test]
    fn redirect_addr_names_the_new_address() {
        let body = redirect_response(&AutodiscoverBehavior::RedirectAddr(
            "j@fabrikam.test".into(),
        ))
        .unwrap();
        let doc = roxmltree::Document::parse(&body).unwrap();
        assert_eq!(
            text_of(&doc, OUTLOOK_RESPONSE_NS, "Action"),
            vec!["redirectAddr"]
        );
        assert_eq!(
            text_of(&doc, OUTLOOK_RESPONSE_NS, "RedirectAddr"),
            vec!["j@fabrikam.test"]
        );
    }

    #[test]
    fn redirect_url_names_the_new_url() {
        let body = redirect_response(&AutodiscoverBehavior::RedirectUrl(
            "https://autodiscover.fabrikam.test/autodiscover/autodiscover.xml".into(),
        ))
        .unwrap();
        let doc = roxmltree::Document::parse(&body).unwrap();
        assert_eq!(
            text_of(&doc, OUTLOOK_RESPONSE_NS, "Action"),
            vec!["redirectUrl"]
        );
        assert!(redirect_response(&AutodiscoverBehavior::Serve).is_none());
    }

    #[test]
    fn behaviors_read_from_json() {
        let b: Vec<AutodiscoverBehavior> = serde_json::from_str(
            r#"["serve","not_found","unauthorized","error600",{"redirect_addr":"a@b.test"},{"redirect_url":"https://x/"}]"#,
        )
        .unwrap();
        assert_eq!(b[3], AutodiscoverBehavior::Error600);
        assert_eq!(b[4], AutodiscoverBehavior::RedirectAddr("a@b.test".into()));
    }
}
