//! exsync's admin API: one axum router for everything an admin does (email server profiles
//! and Test Connection, org email settings, mailboxes with approval and Test & Enable,
//! alerts, jobs, activities and records, role assignment), served by `lambda_http` in the
//! admin-api Lambda and by `exsync serve` on a local listener.
//!
//! Handlers only translate: they parse the request (every bad field a 400 naming it, see
//! [`extract`]), identify the caller ([`identity`]), call the domain's
//! [`exsync_domain::service::Admin`], which checks privileges and applies every rule, and
//! map its answer to a status ([`error`]). The OpenAPI document at `/openapi.json`
//! ([`openapi`]) lists every route; a test keeps the two in step.

#![warn(missing_docs)]

pub mod bootstrap;
pub mod error;
pub mod extract;
pub mod identity;
pub mod local;
pub mod openapi;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use exsync_domain::ids::Principal;
use exsync_domain::privilege::Grants;
use exsync_domain::service::Admin;

pub use bootstrap::{bootstrap, bootstrap_admin_from_env};
pub use error::ApiError;
pub use identity::{GrantsCache, IdentitySource, LOCAL_PRINCIPAL_HEADER};
pub use routes::route_table;

/// What the router is built from.
#[derive(Debug)]
pub struct ApiConfig {
    /// The domain services.
    pub admin: Admin,
    /// Where the caller's identity comes from.
    pub identity: IdentitySource,
    /// How long a caller's resolved privileges are reused (zero: never).
    pub grants_ttl: Duration,
}

impl ApiConfig {
    /// The configuration deployed functions use: grants cached for a minute.
    pub fn new(admin: Admin, identity: IdentitySource) -> Self {
        Self {
            admin,
            identity,
            grants_ttl: identity::DEFAULT_GRANTS_TTL,
        }
    }
}

/// The state every handler shares: cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    admin: Admin,
    identity: IdentitySource,
    grants: GrantsCache,
}

impl AppState {
    fn admin(&self) -> &Admin {
        &self.inner.admin
    }
}

/// The admin API's router, ready to serve (`lambda_http::run(router)`, or
/// `axum::serve` with connect info for the local header).
pub fn router(config: ApiConfig) -> Router {
    let state = AppState {
        inner: Arc::new(Inner {
            admin: config.admin,
            identity: config.identity,
            grants: GrantsCache::new(config.grants_ttl),
        }),
    };
    routes::build()
        .0
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// The caller of a request and what it may do. Rejected with 401 when the identity source
/// names nobody.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
    /// Its privileges, as the domain resolved them.
    pub grants: Grants,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(principal) = state.inner.identity.principal(parts) else {
            return Err(ApiError::Unauthenticated);
        };
        let grants = state
            .inner
            .grants
            .grants(&state.inner.admin, &principal)
            .await?;
        Ok(Caller { principal, grants })
    }
}

/// One log line per request: method, route template, status and duration. Never the
/// body, the query or headers (they can hold addresses, passwords and tokens).
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "<unrouted>".to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if response.status().is_server_error() {
        tracing::warn!(%method, route, status, duration_ms, "request answered");
    } else {
        tracing::info!(%method, route, status, duration_ms, "request answered");
    }
    response
}

/// One route of the API: its method and path template (`/profiles/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path template, as OpenAPI writes it.
    pub path: &'static str,
}
