//! What the EWS endpoint tests share: a directory with a service account, users and grants;
//! a harness that drives `Exchange::handle` directly (no HTTP) and, when dropped, fails the
//! test if any response it produced did not validate against the schema; envelope builders
//! and namespace-aware readers for responses.
#![allow(dead_code)] // every test crate uses a different part of it

use exsync_ews_sim::SimConfig;
use exsync_ews_sim::directory::Directory;
use exsync_ews_sim::ews::{EwsCall, EwsReply, Exchange, ExchangeOptions};

pub const DOMAIN: &str = "contoso.test";
/// Holds ApplicationImpersonation over Alice and Bob (not Carol); has no mailbox.
pub const SVC: &str = "svc-exsync";
pub const ALICE: &str = "alice@contoso.test";
pub const BOB: &str = "bob@contoso.test";
pub const CAROL: &str = "carol@contoso.test";
pub const NOBODY: &str = "nobody@contoso.test";

pub const NS_M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub const NS_T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The extended property exsync stamps on what it sends.
pub const EXSYNC_SET: &str = "5f6e2c1a-8d3b-4c7e-9a10-2b3c4d5e6f70";
pub const EXSYNC_PROP: &str = "ExsyncActivityId";

pub fn config() -> SimConfig {
    SimConfig::from_json(&format!(
        r#"{{
        "domains": ["{DOMAIN}"],
        "accounts": [
            {{"user": "{SVC}", "password": "x"}},
            {{"user": "alice", "password": "x", "smtp": "{ALICE}"}},
            {{"user": "carol", "password": "x", "smtp": "{CAROL}"}}
        ],
        "mailboxes": [
            {{"smtp": "{ALICE}", "display_name": "Alice Anders",
              "seed_messages": [
                {{"from": "dave@fabrikam.test", "from_name": "Dave Dunn", "subject": "Welcome",
                  "body": "Hello Alice", "internet_message_id": "<welcome@fabrikam.test>",
                  "received": "2024-05-01T08:00:00Z"}}
              ]}},
            {{"smtp": "{BOB}", "display_name": "Bob Berg"}},
            {{"smtp": "{CAROL}", "display_name": "Carol Cole"}}
        ],
        "impersonation": [{{"account": "{SVC}", "scope": {{"mailboxes": ["{ALICE}", "{BOB}"]}}}}]
    }}"#
    ))
    .unwrap()
}

/// An `Exchange` with [`config`], the directory built from it, and request and response
/// validation on.
pub struct Harness {
    pub exchange: Exchange,
    pub directory: Directory,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_validation(true)
    }

    pub fn with_validation(validate_requests: bool) -> Self {
        let cfg = config();
        let exchange = Exchange::new(
            &cfg,
            ExchangeOptions {
                validate_requests,
                validate_responses: true,
                server_version: cfg.server.version,
                schema_dir: ExchangeOptions::default_schema_dir(),
            },
        )
        .unwrap();
        Self {
            exchange,
            directory: Directory::from_config(&cfg),
        }
    }

    /// Sends `body` (a whole envelope) as the account `user`.
    pub fn raw(&self, user: &str, body: &str) -> EwsReply {
        let logon = self.directory.account(user).unwrap();
        self.exchange.handle(
            &EwsCall {
                logon,
                directory: &self.directory,
                anchor_mailbox: None,
            },
            body.as_bytes(),
        )
    }

    /// `op` (a body element with `m:`/`t:` prefixes) as the service account impersonating
    /// `mailbox`.
    pub fn as_svc(&self, mailbox: &str, op: &str) -> EwsReply {
        self.raw(SVC, &envelope(Some(mailbox), op))
    }

    /// `op` as `user`, without impersonation.
    pub fn as_user(&self, user: &str, op: &str) -> EwsReply {
        self.raw(user, &envelope(None, op))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let invalid = self.exchange.invalid_responses();
        if !std::thread::panicking() {
            assert!(
                invalid.is_empty(),
                "responses that do not validate against the EWS schema: {invalid:#?}"
            );
        }
    }
}

/// A SOAP envelope at Exchange2010_SP2 with an optional impersonation header.
pub fn envelope(impersonate: Option<&str>, op: &str) -> String {
    let imp = impersonate
        .map(|m| {
            format!(
                "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{m}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
            )
        })
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="{NS_SOAP}" xmlns:t="{NS_T}" xmlns:m="{NS_M}">
  <soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/>{imp}</soap:Header>
  <soap:Body>{op}</soap:Body>
</soap:Envelope>"#
    )
}

/// Every EWS element (not SOAP's own `Body`, `Header`) with this local name, in document
/// order.
fn nodes<'a, 'i>(doc: &'a roxmltree::Document<'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| {
            n.is_element()
                && n.tag_name().name() == name
                && n.tag_name().namespace() != Some(NS_SOAP)
        })
        .collect()
}

/// The text of every element with this local name.
pub fn texts(xml: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    nodes(&doc, name)
        .into_iter()
        .map(|n| n.text().unwrap_or_default().to_owned())
        .collect()
}

/// The text of the first element with this local name.
pub fn text(xml: &str, name: &str) -> Option<String> {
    texts(xml, name).into_iter().next()
}

/// `attr` of every element with this local name.
pub fn attrs(xml: &str, name: &str, attr: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    nodes(&doc, name)
        .into_iter()
        .filter_map(|n| n.attribute(attr).map(str::to_owned))
        .collect()
}

/// The local names of the children of the first element with this local name.
pub fn child_names(xml: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    nodes(&doc, name)
        .first()
        .map(|n| {
            n.children()
                .filter(|c| c.is_element())
                .map(|c| c.tag_name().name().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// ResponseCodes in order (per message, or the fault's).
pub fn codes(reply: &EwsReply) -> Vec<&str> {
    reply.response_codes.iter().map(String::as_str).collect()
}

/// The `m:ResponseCode`s written in the document (per message).
pub fn doc_codes(reply: &EwsReply) -> Vec<String> {
    texts(&reply.body, "ResponseCode")
}

/// `(Id, ChangeKey)` of the first `t:ItemId` in the reply.
pub fn first_item_id(reply: &EwsReply) -> (String, String) {
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    let n = nodes(&doc, "ItemId")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no ItemId in {}", reply.body));
    (
        n.attribute("Id").unwrap().to_owned(),
        n.attribute("ChangeKey").unwrap_or_default().to_owned(),
    )
}

/// A distinguished folder id (optionally in a named mailbox).
pub fn dfolder(id: &str, mailbox: Option<&str>) -> String {
    match mailbox {
        Some(m) => format!(
            r#"<t:DistinguishedFolderId Id="{id}"><t:Mailbox><t:EmailAddress>{m}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"#
        ),
        None => format!(r#"<t:DistinguishedFolderId Id="{id}"/>"#),
    }
}

/// `<t:ExtendedFieldURI>` for exsync's property.
pub fn exsync_uri() -> String {
    format!(
        r#"<t:ExtendedFieldURI PropertySetId="{EXSYNC_SET}" PropertyName="{EXSYNC_PROP}" PropertyType="String"/>"#
    )
}

/// GetItem for one id with a base shape and extra properties.
pub fn get_item(id: &str, base: &str, extra: &str) -> String {
    let props = if extra.is_empty() {
        String::new()
    } else {
        format!("<t:AdditionalProperties>{extra}</t:AdditionalProperties>")
    };
    format!(
        r#"<m:GetItem><m:ItemShape><t:BaseShape>{base}</t:BaseShape>{props}</m:ItemShape><m:ItemIds><t:ItemId Id="{id}"/></m:ItemIds></m:GetItem>"#
    )
}

/// CreateItem of a message with `MessageDisposition`, To recipients and exsync's property.
pub fn create_message(disposition: &str, to: &[&str], subject: &str, activity: &str) -> String {
    let to: String = to
        .iter()
        .map(|a| format!("<t:Mailbox><t:EmailAddress>{a}</t:EmailAddress></t:Mailbox>"))
        .collect();
    format!(
        r#"<m:CreateItem MessageDisposition="{disposition}">
  <m:Items>
    <t:Message>
      <t:Subject>{subject}</t:Subject>
      <t:Body BodyType="HTML">&lt;p&gt;Hi there&lt;/p&gt;</t:Body>
      <t:ExtendedProperty>{uri}<t:Value>{activity}</t:Value></t:ExtendedProperty>
      <t:ToRecipients>{to}</t:ToRecipients>
    </t:Message>
  </m:Items>
</m:CreateItem>"#,
        uri = exsync_uri()
    )
}

/// FindItem in a folder with a restriction (`""` for none) and an optional view.
pub fn find_item(folder: &str, base: &str, view: &str, restriction: &str) -> String {
    let restriction = if restriction.is_empty() {
        String::new()
    } else {
        format!("<m:Restriction>{restriction}</m:Restriction>")
    };
    format!(
        r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>{base}</t:BaseShape></m:ItemShape>{view}{restriction}<m:ParentFolderIds>{folder}</m:ParentFolderIds></m:FindItem>"#
    )
}

/// `IsEqualTo` on a field URI.
pub fn is_equal(field: &str, value: &str) -> String {
    format!(
        r#"<t:IsEqualTo><t:FieldURI FieldURI="{field}"/><t:FieldURIOrConstant><t:Constant Value="{value}"/></t:FieldURIOrConstant></t:IsEqualTo>"#
    )
}
