//! How failures become HTTP answers. Every error body is JSON with an `error` text; a 400
//! also lists each bad field, a 403 names the missing privilege. Only real server failures
//! are 5xx, and their body says nothing about the internals (the cause
//! is logged instead).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use exsync_domain::DomainError;
use exsync_domain::error::error_chain;
use exsync_domain::privilege::Privilege;
use exsync_domain::validation::{FieldError, ValidationErrors};
use serde::Serialize;

/// An API failure, one HTTP status per variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed or a field is invalid (400); every bad field is named.
    #[error("invalid request: {0}")]
    BadRequest(ValidationErrors),
    /// The caller could not be identified (401).
    #[error("no caller identity")]
    Unauthenticated,
    /// The caller lacks a privilege (403).
    #[error("missing privilege {0}")]
    Forbidden(Privilege),
    /// Nothing at this id (404).
    #[error("{kind} {id} not found")]
    NotFound {
        /// Entity kind.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// No route for this path (404).
    #[error("no such endpoint")]
    NoRoute,
    /// The path exists, the method does not (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is not JSON (415).
    #[error("the body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The body is larger than the API accepts (413).
    #[error("the body is too large")]
    PayloadTooLarge,
    /// The entity changed since the caller read it (409).
    #[error("{kind} {id} was changed by someone else (expected version {expected})")]
    VersionConflict {
        /// Entity kind.
        kind: &'static str,
        /// The id.
        id: String,
        /// The version the caller sent.
        expected: u64,
    },
    /// The request conflicts with the entity's state (409).
    #[error("{0}")]
    Conflict(String),
    /// A failure that is not the caller's (500); the cause is logged, never answered.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A 400 naming one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errs = ValidationErrors::default();
        errs.add(field, message);
        ApiError::BadRequest(errs)
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::VersionConflict { .. } | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(v) => ApiError::BadRequest(v),
            DomainError::Forbidden(p) => ApiError::Forbidden(p),
            DomainError::NotFound { kind, id } => ApiError::NotFound { kind, id },
            DomainError::VersionConflict { kind, id, expected } => {
                ApiError::VersionConflict { kind, id, expected }
            }
            DomainError::Conflict(text) => ApiError::Conflict(text),
            // Storage, key management, queues, and whatever the domain adds later: not the
            // caller's fault, and nothing about them belongs in an answer.
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(v: ValidationErrors) -> Self {
        ApiError::BadRequest(v)
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// What went wrong, in one line.
    pub error: String,
    /// Each bad field (400 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// The missing privilege (403 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privilege: Option<Privilege>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::BadRequest(v) => ErrorBody {
                error: format!("invalid request: {v}"),
                fields: v.0,
                privilege: None,
            },
            ApiError::Forbidden(p) => ErrorBody {
                error: format!("missing privilege {p}"),
                fields: Vec::new(),
                privilege: Some(p),
            },
            ApiError::Internal(source) => {
                tracing::error!(error = %error_chain(source.as_ref()), "request failed on the server side");
                ErrorBody {
                    error: "internal error".into(),
                    fields: Vec::new(),
                    privilege: None,
                }
            }
            other => ErrorBody {
                error: other.to_string(),
                fields: Vec::new(),
                privilege: None,
            },
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    async fn answer(e: ApiError) -> (StatusCode, serde_json::Value) {
        let response = e.into_response();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_validation_error_is_a_400_listing_each_field() {
        let mut v = ValidationErrors::default();
        v.add("name", "is required");
        v.add("max_concurrent_connections", "must be between 1 and 300");
        let (status, body) = answer(DomainError::Validation(v).into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let fields: Vec<&str> = body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["name", "max_concurrent_connections"]);
    }

    #[tokio::test]
    async fn a_missing_privilege_is_a_403_naming_it() {
        let (status, body) = answer(DomainError::Forbidden(Privilege::ApproveEmail).into()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["privilege"], "approve_email");
    }

    #[tokio::test]
    async fn a_version_conflict_is_a_409() {
        let e = DomainError::VersionConflict {
            kind: "profile",
            id: "p1".into(),
            expected: 3,
        };
        let (status, _) = answer(e.into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn a_storage_failure_is_a_500_that_leaks_nothing() {
        let cause = std::io::Error::other("table exsync-secret-name throttled at 10.0.0.7");
        let (status, body) = answer(DomainError::Store(Box::new(cause)).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, serde_json::json!({"error": "internal error"}));
    }

    #[tokio::test]
    async fn not_found_names_the_kind_and_id() {
        let e = DomainError::NotFound {
            kind: "mailbox",
            id: "m-42".into(),
        };
        let (status, body) = answer(e.into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "mailbox m-42 not found");
    }
}
