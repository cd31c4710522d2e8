//! Request extractors whose rejections are the API's own 400s: a body that is not JSON, a
//! field of the wrong type, an unknown field or a bad query parameter is answered with the
//! field's name, never with axum's plain-text rejection or a 500.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body, decoded with every failure named by field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// A JSON body that may be absent: an empty body is `T::default()` (for actions whose
/// options are all optional, such as Test Connection).
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

/// A query string, decoded with every failure named by parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

/// The largest body the API reads: no admin request comes near it, and an email body over
/// it is refused here rather than half-stored.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type else {
        // Clients that send JSON without saying so (curl -d) are common; the body still has
        // to parse as JSON.
        return true;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let mime = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

async fn body_bytes(req: Request) -> Result<Bytes, ApiError> {
    if !is_json(req.headers().get(CONTENT_TYPE)) {
        return Err(ApiError::UnsupportedMediaType);
    }
    // Reading fails only past the limit or when the client goes away mid-body; in the
    // second case nobody reads the answer.
    axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    ApiError::field(
        "body",
        format!(
            "is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    )
}

/// Decodes `bytes` as the JSON object `T`, naming the field a failure is about.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde reads a struct from an array too (fields by position), which would answer an
    // array body with a confusing "[0]: invalid type"; every body of this API is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => ApiError::field("body", "must be a JSON object"),
                Err(e) => syntax_error(&e),
            },
        );
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return syntax_error(&inner);
        }
        let message = serde_message(&inner.to_string());
        ApiError::field(field_name(&path, &message), message)
    })?;
    // Trailing garbage after the document is malformed input too.
    de.end().map_err(|e| syntax_error(&e))?;
    Ok(value)
}

/// serde_json appends " at line L column C" to data errors; the field name says where.
fn serde_message(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

/// The field an error is about: serde_path_to_error's path (`owner_email`, `to[1]`), with
/// an unknown field's own name appended (the path stops at the object holding it), and
/// `body` for the document itself.
fn field_name(path: &str, message: &str) -> String {
    let base = if path == "." { "" } else { path };
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (base, unknown) {
        ("", Some(name)) => name.to_owned(),
        (base, Some(name)) if !base.ends_with(name) => format!("{base}.{name}"),
        ("", None) => "body".to_owned(),
        (base, _) => base.to_owned(),
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::field("body", "is required (a JSON object)"));
        }
        decode_json(&bytes).map(ApiJson)
    }
}

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        decode_json(&bytes).map(OptionalJson)
    }
}

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = field_name(&path, &message);
                let field = if field == "body" {
                    "query".to_owned()
                } else {
                    field
                };
                ApiError::field(field, message)
            })
    }
}

/// The query's pairs, percent-decoded (`serde_urlencoded` re-exports nothing for this, so
/// the one-line parse lives here).
fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: Option<String>,
        size: Option<u32>,
        owner: Option<Owner>,
        to: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Owner {
        email: Option<String>,
    }

    fn bad_field(json: &str) -> (String, String) {
        match decode_json::<Input>(json.as_bytes()) {
            Err(ApiError::BadRequest(v)) => {
                let f = v.0.into_iter().next().unwrap();
                (f.field, f.message)
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let (field, message) = bad_field(r#"{"size": "ten"}"#);
        assert_eq!(field, "size");
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn a_wrong_type_in_a_nested_object_names_the_dotted_path() {
        assert_eq!(bad_field(r#"{"owner": {"email": 7}}"#).0, "owner.email");
    }

    #[test]
    fn a_wrong_type_in_a_list_names_the_element() {
        assert_eq!(bad_field(r#"{"to": ["a@b.c", 3]}"#).0, "to[1]");
    }

    #[test]
    fn an_unknown_field_is_named() {
        assert_eq!(bad_field(r#"{"nmae": "x"}"#).0, "nmae");
        assert_eq!(bad_field(r#"{"owner": {"mail": "x"}}"#).0, "owner.mail");
    }

    #[test]
    fn malformed_json_is_a_400_on_the_body() {
        let (field, message) = bad_field(r#"{"name": "x""#);
        assert_eq!(field, "body");
        assert!(message.contains("not valid JSON"), "{message}");
    }

    #[test]
    fn trailing_garbage_is_malformed_json() {
        assert_eq!(bad_field(r#"{"name": "x"} {"#).0, "body");
    }

    #[test]
    fn a_document_that_is_not_an_object_is_a_400_on_the_body() {
        assert_eq!(
            bad_field("[1, 2]"),
            ("body".into(), "must be a JSON object".into())
        );
        assert_eq!(bad_field("\"text\"").0, "body");
    }

    #[test]
    fn a_json_content_type_with_parameters_is_json() {
        assert!(is_json(Some(&HeaderValue::from_static(
            "application/json; charset=utf-8"
        ))));
        assert!(is_json(Some(&HeaderValue::from_static(
            "application/merge-patch+json"
        ))));
        assert!(!is_json(Some(&HeaderValue::from_static("text/plain"))));
    }
}
