//! The SOAP envelope: writing requests around an operation's body, and reading responses
//! (server version, SOAP faults, the body element).
//!
//! References:
//! [RequestServerVersion](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/requestserverversion),
//! [ExchangeImpersonation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/exchangeimpersonation),
//! [ServerVersionInfo](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/serverversioninfo).

use crate::error::{EwsError, ResponseCode, SoapFault};
use crate::operation::Operation;
use crate::types::read;
use crate::xml::{self, Element, Limits, NS_MESSAGES, NS_SOAP, NS_TYPES, XmlWriter};
use serde::Serialize;
use std::time::Duration;

/// The schema level every request asks for: what Exchange 2010 SP3 speaks and 2013/2016
/// accept, and what the schema exsync validates against pins.
pub const REQUEST_SERVER_VERSION: &str = "Exchange2010_SP2";

/// Writes a whole request document: XML declaration, `soap:Envelope` with the `soap:`,
/// `t:` and `m:` prefixes, a header with `t:RequestServerVersion` and, when `impersonate`
/// names a mailbox, `t:ExchangeImpersonation` by primary SMTP address; then the operation's
/// body.
pub fn write_request<Op: Operation>(op: &Op, impersonate: Option<&str>) -> String {
    let mut w = XmlWriter::new();
    w.raw(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    w.start(
        "soap:Envelope",
        &[
            ("xmlns:soap", NS_SOAP),
            ("xmlns:t", NS_TYPES),
            ("xmlns:m", NS_MESSAGES),
        ],
    );
    w.start("soap:Header", &[]);
    w.empty(
        "t:RequestServerVersion",
        &[("Version", REQUEST_SERVER_VERSION)],
    );
    if let Some(mailbox) = impersonate {
        w.start("t:ExchangeImpersonation", &[]);
        w.start("t:ConnectingSID", &[]);
        w.text_element("t:PrimarySmtpAddress", mailbox);
        w.end("t:ConnectingSID");
        w.end("t:ExchangeImpersonation");
    }
    w.end("soap:Header");
    w.start("soap:Body", &[]);
    op.write_body(&mut w);
    w.end("soap:Body");
    w.end("soap:Envelope");
    w.into_string()
}

/// The server's version, from the response header.
///
/// Reference: [ServerVersionInfo](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/serverversioninfo).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ServerVersionInfo {
    /// 14 for Exchange 2010, 15 for 2013 and 2016.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major_version: Option<u32>,
    /// 0 for 2013, 1 for 2016; 1–3 for 2010 service packs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor_version: Option<u32>,
    /// The build number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major_build_number: Option<u32>,
    /// The build revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor_build_number: Option<u32>,
    /// The schema name (`Exchange2010_SP2`, or opaque `V2_x` strings from 2013 on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl ServerVersionInfo {
    /// Reads the attributes leniently: a missing or odd one is simply absent.
    fn read(el: &Element) -> ServerVersionInfo {
        // Attributes may come qualified on some servers; accept any namespace.
        let attr = |name: &str| {
            el.attrs
                .iter()
                .find(|(_, n, _)| n == name)
                .map(|(_, _, v)| v.trim())
        };
        let num = |name: &str| attr(name).and_then(|v| v.parse().ok());
        ServerVersionInfo {
            major_version: num("MajorVersion"),
            minor_version: num("MinorVersion"),
            major_build_number: num("MajorBuildNumber"),
            minor_build_number: num("MinorBuildNumber"),
            version: attr("Version").filter(|v| !v.is_empty()).map(str::to_owned),
        }
    }
}

/// A parsed response: the server's version and the operation's typed body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response<T> {
    /// From `soap:Header/t:ServerVersionInfo`, when the server sent it.
    pub server_version: Option<ServerVersionInfo>,
    /// The operation's result.
    pub body: T,
}

/// Reads a response document for `Op`.
///
/// Works on HTTP 200 and 500 bodies alike: a SOAP fault becomes [`EwsError::Fault`]; a
/// document that is not a SOAP envelope (an HTML page from a proxy, an Autodiscover
/// answer) becomes [`EwsError::NotSoapEnvelope`]; a body element other than
/// `{messages}<NAME>Response` becomes [`EwsError::UnexpectedShape`].
///
/// Batched results are not checked against the request here (this function does not see
/// the request); use [`read_response_for`] where the request is at hand.
pub fn read_response<Op: Operation>(
    bytes: &[u8],
    limits: Limits,
) -> Result<Response<Op::Response>, EwsError> {
    let (server_version, body) = open(bytes, limits)?;
    let expected = format!("{}Response", Op::NAME);
    if body.name != expected {
        return Err(EwsError::shape(
            format!("body element is {}, expected {expected}", body.name),
            "soap:Envelope/soap:Body",
        ));
    }
    if body.ns != NS_MESSAGES {
        return Err(EwsError::shape(
            format!("namespace is \"{}\", expected \"{NS_MESSAGES}\"", body.ns),
            format!("soap:Envelope/soap:Body/{expected}"),
        ));
    }
    let parsed = Op::parse_response(&body)?;
    Ok(Response {
        server_version,
        body: parsed,
    })
}

/// [`read_response`], then [`Operation::check_response`]: batched operations fail with
/// [`EwsError::MessageCount`] when the server did not answer every request item.
pub fn read_response_for<Op: Operation>(
    op: &Op,
    bytes: &[u8],
    limits: Limits,
) -> Result<Response<Op::Response>, EwsError> {
    let response = read_response::<Op>(bytes, limits)?;
    op.check_response(&response.body)?;
    Ok(response)
}

/// The SOAP fault in a document, if it is one (for HTTP 500 bodies).
pub fn read_fault(bytes: &[u8]) -> Option<EwsError> {
    match open(bytes, Limits::default()) {
        Err(e @ EwsError::Fault(_)) => Some(e),
        _ => None,
    }
}

/// What a `soap:Body` held.
pub(crate) enum BodyContent {
    /// The operation's response element.
    Response(Element),
    /// A SOAP fault.
    Fault(SoapFault),
}

/// Reads the envelope: the server version and what the body holds.
pub(crate) fn read_envelope(
    bytes: &[u8],
    limits: Limits,
) -> Result<(Option<ServerVersionInfo>, BodyContent), EwsError> {
    let root = xml::parse(bytes, limits)?;
    if !root.is(NS_SOAP, "Envelope") {
        return Err(EwsError::NotSoapEnvelope {
            root_ns: root.ns,
            root_name: root.name,
        });
    }
    let server_version = root
        .child(NS_SOAP, "Header")
        .and_then(|h| h.child_local("ServerVersionInfo"))
        .map(ServerVersionInfo::read);
    let Some(body) = root.children.into_iter().find(|c| c.is(NS_SOAP, "Body")) else {
        return Err(EwsError::shape("no soap:Body", "soap:Envelope"));
    };
    let Some(first) = body.children.into_iter().next() else {
        return Err(EwsError::shape(
            "empty soap:Body",
            "soap:Envelope/soap:Body",
        ));
    };
    if first.is(NS_SOAP, "Fault") {
        return Ok((server_version, BodyContent::Fault(read_soap_fault(&first))));
    }
    Ok((server_version, BodyContent::Response(first)))
}

/// Reads the envelope: server version, and the body's element, or the fault as an error.
pub(crate) fn open(
    bytes: &[u8],
    limits: Limits,
) -> Result<(Option<ServerVersionInfo>, Element), EwsError> {
    match read_envelope(bytes, limits)? {
        (version, BodyContent::Response(el)) => Ok((version, el)),
        (_, BodyContent::Fault(f)) => Err(EwsError::Fault(Box::new(f))),
    }
}

/// Reads a `soap:Fault` as Exchange sends it. The detail's children are matched by local
/// name: Exchange puts `ResponseCode`/`Message` in the errors namespace and `MessageXml` in
/// the types namespace, and other producers vary.
pub(crate) fn read_soap_fault(fault: &Element) -> SoapFault {
    let text = |el: Option<&Element>| el.map(|e| e.trimmed().to_owned());
    let fault_code = text(fault.child_local("faultcode")).unwrap_or_default();
    let fault_string = text(fault.child_local("faultstring")).unwrap_or_default();
    let detail = fault.child_local("detail");
    let code = detail
        .and_then(|d| d.child_local("ResponseCode"))
        .map(|c| ResponseCode::from(c.trimmed()))
        .filter(|c| !c.as_str().is_empty())
        .unwrap_or_else(|| {
            // `a:ErrorSchemaValidation`: the local part is the EWS code.
            let local = fault_code.rsplit(':').next().unwrap_or_default();
            ResponseCode::from(local)
        });
    let message_xml = detail.and_then(|d| d.child_local("MessageXml"));
    SoapFault {
        code,
        message: text(detail.and_then(|d| d.child_local("Message"))),
        back_off: message_xml.and_then(back_off),
        inner_code: message_xml
            .and_then(|m| message_xml_value(m, "InnerErrorResponseCode"))
            .map(ResponseCode::from),
        fault_code,
        fault_string,
    }
}

/// A `t:Value Name="…"` inside `MessageXml`.
pub(crate) fn message_xml_value<'a>(message_xml: &'a Element, name: &str) -> Option<&'a str> {
    message_xml
        .children
        .iter()
        .find(|v| v.name == "Value" && v.attr("Name") == Some(name))
        .map(Element::trimmed)
        .filter(|v| !v.is_empty())
}

/// `BackOffMilliseconds` from `MessageXml`.
pub(crate) fn back_off(message_xml: &Element) -> Option<Duration> {
    let text = message_xml_value(message_xml, "BackOffMilliseconds")?;
    let ms = text.parse::<u64>().ok();
    if ms.is_none() {
        read::dropped("BackOffMilliseconds");
    }
    ms.map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ping;

    impl Operation for Ping {
        const NAME: &'static str = "Ping";
        type Response = String;

        fn write_body(&self, w: &mut XmlWriter) {
            w.empty("m:Ping", &[]);
        }

        fn parse_response(body: &Element) -> Result<String, EwsError> {
            Ok(body.trimmed().to_owned())
        }
    }

    #[test]
    fn a_request_names_the_schema_level_and_the_impersonated_mailbox() {
        assert_eq!(
            write_request(&Ping, Some("alice@contoso.com")),
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">"#,
                r#"<soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/>"#,
                r#"<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>alice@contoso.com</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"#,
                r#"</soap:Header><soap:Body><m:Ping/></soap:Body></soap:Envelope>"#
            )
        );
    }

    #[test]
    fn a_request_without_impersonation_has_only_the_version_header() {
        let doc = write_request(&Ping, None);
        assert!(doc.contains(
            r#"<soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/></soap:Header>"#
        ));
    }

    #[test]
    fn server_version_is_read_from_any_namespace() {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="225" MinorBuildNumber="x" Version="V2017_07_11" xmlns:h="urn:odd" xmlns="{NS_TYPES}"/></s:Header><s:Body><m:PingResponse xmlns:m="{NS_MESSAGES}">ok</m:PingResponse></s:Body></s:Envelope>"#
        );
        let r = read_response::<Ping>(doc.as_bytes(), Limits::default()).unwrap();
        assert_eq!(r.body, "ok");
        let v = r.server_version.unwrap();
        assert_eq!(
            (v.major_version, v.minor_version, v.major_build_number),
            (Some(15), Some(1), Some(225))
        );
        assert_eq!(v.minor_build_number, None);
        assert_eq!(v.version.as_deref(), Some("V2017_07_11"));
    }

    #[test]
    fn a_body_in_the_wrong_namespace_says_so() {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><PingResponse xmlns="https://schemas.microsoft.com/exchange/services/2006/messages"/></s:Body></s:Envelope>"#
        );
        let err = read_response::<Ping>(doc.as_bytes(), Limits::default()).unwrap_err();
        let EwsError::UnexpectedShape { what, .. } = err else {
            panic!("shape error expected, got {err:?}")
        };
        assert!(what.contains("https://"), "{what}");
    }

    #[test]
    fn the_wrong_response_element_is_an_unexpected_shape() {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><m:PongResponse xmlns:m="{NS_MESSAGES}"/></s:Body></s:Envelope>"#
        );
        assert!(matches!(
            read_response::<Ping>(doc.as_bytes(), Limits::default()),
            Err(EwsError::UnexpectedShape { .. })
        ));
    }

    #[test]
    fn a_fault_without_detail_takes_its_code_from_faultcode() {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><s:Fault><faultcode xmlns:a="{NS_TYPES}">a:ErrorSchemaValidation</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>"#
        );
        let err = read_fault(doc.as_bytes()).unwrap();
        assert_eq!(
            err.response_code(),
            Some(&ResponseCode::ErrorSchemaValidation)
        );
        assert_eq!(err.class(), crate::ErrorClass::Request);
    }

    #[test]
    fn a_document_that_is_no_fault_has_none() {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><m:PingResponse xmlns:m="{NS_MESSAGES}"/></s:Body></s:Envelope>"#
        );
        assert!(read_fault(doc.as_bytes()).is_none());
        assert!(read_fault(b"<html/>").is_none());
    }
}
