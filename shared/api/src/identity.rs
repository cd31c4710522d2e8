//! Who is calling. Deployed, API Gateway has authenticated the caller and says who it is in
//! the request context: the IAM principal's ARN (IAM authorization) or a JWT claim (a JWT
//! authorizer), as the deployment configures. Locally, `exsync serve` takes the caller from
//! the `X-Exsync-Principal` header, and only from a loopback peer: the header is never read
//! in any other mode, so a Lambda behind API Gateway cannot be fooled by it.
//!
//! Privileges come from the domain ([`exsync_domain::service::Admin::grants_for`], roles in
//! the store) and are cached per warm container for a short while, so a burst of calls reads
//! the roles once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use exsync_domain::DomainError;
use exsync_domain::ids::Principal;
use exsync_domain::privilege::Grants;
use exsync_domain::service::Admin;
use lambda_http::request::RequestContext;

/// The header `exsync serve` reads the caller from (loopback peers only).
pub const LOCAL_PRINCIPAL_HEADER: &str = "x-exsync-principal";

/// Where the caller's identity comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// API Gateway IAM authorization: the caller's `userArn`.
    Iam,
    /// An API Gateway JWT authorizer: the named claim (`sub` by default).
    Jwt {
        /// The claim naming the principal.
        claim: String,
    },
    /// The local listener of `exsync serve`: the `X-Exsync-Principal` header from a
    /// loopback peer. Never chosen from the environment, so a Lambda cannot be configured
    /// into trusting a header.
    LocalHeader,
}

/// The configuration of the identity source is unusable.
#[derive(Debug, thiserror::Error)]
#[error("EXSYNC_IDENTITY must be iam or jwt, not {0:?}")]
pub struct IdentityConfigError(String);

impl IdentitySource {
    /// The deployed source, from `EXSYNC_IDENTITY` (`iam`, the default, or `jwt`) and
    /// `EXSYNC_JWT_CLAIM` (default `sub`).
    pub fn from_env() -> Result<Self, IdentityConfigError> {
        Self::from_values(
            std::env::var("EXSYNC_IDENTITY").ok().as_deref(),
            std::env::var("EXSYNC_JWT_CLAIM").ok().as_deref(),
        )
    }

    /// The source the two settings name.
    pub fn from_values(
        identity: Option<&str>,
        claim: Option<&str>,
    ) -> Result<Self, IdentityConfigError> {
        match identity.map(str::trim).unwrap_or("iam") {
            "" | "iam" => Ok(IdentitySource::Iam),
            "jwt" => Ok(IdentitySource::Jwt {
                claim: claim
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .unwrap_or("sub")
                    .to_owned(),
            }),
            other => Err(IdentityConfigError(other.to_owned())),
        }
    }

    /// The caller of a request, when this source can tell.
    pub fn principal(&self, parts: &Parts) -> Option<Principal> {
        match self {
            IdentitySource::Iam => match parts.extensions.get::<RequestContext>()? {
                RequestContext::ApiGatewayV2(ctx) => ctx
                    .authorizer
                    .as_ref()?
                    .iam
                    .as_ref()?
                    .user_arn
                    .as_deref()
                    .and_then(Principal::parse),
                RequestContext::ApiGatewayV1(ctx) => {
                    ctx.identity.user_arn.as_deref().and_then(Principal::parse)
                }
                #[allow(unreachable_patterns)]
                _ => None,
            },
            IdentitySource::Jwt { claim } => match parts.extensions.get::<RequestContext>()? {
                RequestContext::ApiGatewayV2(ctx) => ctx
                    .authorizer
                    .as_ref()?
                    .jwt
                    .as_ref()?
                    .claims
                    .get(claim)
                    .and_then(|v| Principal::parse(v)),
                // A REST API's Cognito authorizer puts the claims under `claims`.
                RequestContext::ApiGatewayV1(ctx) => ctx
                    .authorizer
                    .fields
                    .get("claims")?
                    .get(claim)?
                    .as_str()
                    .and_then(Principal::parse),
                #[allow(unreachable_patterns)]
                _ => None,
            },
            IdentitySource::LocalHeader => {
                let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
                if !peer.0.ip().is_loopback() {
                    tracing::warn!(peer = %peer.0, "caller header ignored: not a loopback peer");
                    return None;
                }
                parts
                    .headers
                    .get(LOCAL_PRINCIPAL_HEADER)?
                    .to_str()
                    .ok()
                    .and_then(Principal::parse)
            }
        }
    }
}

/// Grants resolved recently, per principal. Role changes made through this container
/// take effect at once (the entry is forgotten); changes made elsewhere within `ttl`.
#[derive(Debug)]
pub struct GrantsCache {
    ttl: Duration,
    entries: Mutex<HashMap<Principal, (Instant, Grants)>>,
}

/// How long resolved grants are reused: short enough that a role change elsewhere is seen
/// within a minute, as docs/data-model.md promises.
pub const DEFAULT_GRANTS_TTL: Duration = Duration::from_secs(60);

/// Entries beyond this are dropped wholesale: a container sees few principals, and an
/// unbounded map keyed by callers would be a memory leak under a scan of names.
const MAX_ENTRIES: usize = 1024;

impl GrantsCache {
    /// A cache keeping grants for `ttl` (zero: always read the store).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The grants of `principal`, from the cache or through the domain.
    pub async fn grants(
        &self,
        admin: &Admin,
        principal: &Principal,
    ) -> Result<Grants, DomainError> {
        if let Some(g) = self.cached(principal) {
            return Ok(g);
        }
        let grants = admin.grants_for(Some(principal)).await?;
        if !self.ttl.is_zero()
            && let Ok(mut entries) = self.entries.lock()
        {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(principal.clone(), (Instant::now(), grants.clone()));
        }
        Ok(grants)
    }

    fn cached(&self, principal: &Principal) -> Option<Grants> {
        let entries = self.entries.lock().ok()?;
        let (at, grants) = entries.get(principal)?;
        (at.elapsed() < self.ttl).then(|| grants.clone())
    }

    /// Forgets `principal`'s grants (its roles just changed).
    pub fn forget(&self, principal: &Principal) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(principal);
        }
    }

    /// Forgets everyone's grants (a role's privileges just changed).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

impl Default for GrantsCache {
    fn default() -> Self {
        Self::new(DEFAULT_GRANTS_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts_with(
        context: Option<RequestContext>,
        header: Option<&str>,
        peer: Option<&str>,
    ) -> Parts {
        let mut builder = Request::builder().uri("/profiles");
        if let Some(h) = header {
            builder = builder.header(LOCAL_PRINCIPAL_HEADER, h);
        }
        let mut request = builder.body(()).unwrap();
        if let Some(ctx) = context {
            request.extensions_mut().insert(ctx);
        }
        if let Some(peer) = peer {
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        request.into_parts().0
    }

    fn http_api_context(authorizer: serde_json::Value) -> RequestContext {
        let ctx = serde_json::json!({
            "routeKey": "$default",
            "accountId": "123456789012",
            "stage": "$default",
            "requestId": "r-1",
            "apiId": "api",
            "domainName": "api.example.com",
            "time": "27/Nov/2026:20:00:00 +0000",
            "timeEpoch": 0,
            "http": {"method": "GET", "path": "/profiles", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "t"},
            "authorizer": authorizer,
        });
        RequestContext::ApiGatewayV2(serde_json::from_value(ctx).unwrap())
    }

    fn rest_api_context(
        identity: serde_json::Value,
        authorizer: serde_json::Value,
    ) -> RequestContext {
        let ctx = serde_json::json!({
            "accountId": "123456789012",
            "resourceId": "r",
            "stage": "prod",
            "requestId": "r-1",
            "identity": identity,
            "resourcePath": "/profiles",
            "authorizer": authorizer,
            "httpMethod": "GET",
            "apiId": "api",
        });
        RequestContext::ApiGatewayV1(serde_json::from_value(ctx).unwrap())
    }

    const ARN: &str = "arn:aws:iam::123456789012:user/alice";

    #[test]
    fn iam_mode_takes_the_user_arn_of_an_http_api() {
        let ctx = http_api_context(serde_json::json!({"iam": {"userArn": ARN}}));
        let p = IdentitySource::Iam.principal(&parts_with(Some(ctx), None, None));
        assert_eq!(p.unwrap().as_str(), ARN);
    }

    #[test]
    fn iam_mode_takes_the_user_arn_of_a_rest_api() {
        let ctx = rest_api_context(serde_json::json!({"userArn": ARN}), serde_json::json!({}));
        let p = IdentitySource::Iam.principal(&parts_with(Some(ctx), None, None));
        assert_eq!(p.unwrap().as_str(), ARN);
    }

    #[test]
    fn jwt_mode_takes_the_configured_claim() {
        let ctx = http_api_context(serde_json::json!({
            "jwt": {"claims": {"sub": "u-1", "email": "alice@contoso.test"}, "scopes": null}
        }));
        let parts = parts_with(Some(ctx), None, None);
        let sub = IdentitySource::Jwt {
            claim: "sub".into(),
        }
        .principal(&parts);
        let email = IdentitySource::Jwt {
            claim: "email".into(),
        }
        .principal(&parts);
        assert_eq!(sub.unwrap().as_str(), "u-1");
        assert_eq!(email.unwrap().as_str(), "alice@contoso.test");
    }

    #[test]
    fn jwt_mode_reads_a_rest_api_cognito_authorizer() {
        let ctx = rest_api_context(
            serde_json::json!({}),
            serde_json::json!({"claims": {"sub": "u-2"}}),
        );
        let p = IdentitySource::Jwt {
            claim: "sub".into(),
        }
        .principal(&parts_with(Some(ctx), None, None));
        assert_eq!(p.unwrap().as_str(), "u-2");
    }

    #[test]
    fn iam_mode_ignores_jwt_claims_and_the_local_header() {
        let ctx = http_api_context(serde_json::json!({"jwt": {"claims": {"sub": "u-1"}}}));
        let parts = parts_with(Some(ctx), Some("admin"), Some("127.0.0.1:5000"));
        assert_eq!(IdentitySource::Iam.principal(&parts), None);
    }

    #[test]
    fn deployed_modes_never_trust_the_local_header() {
        let parts = parts_with(None, Some("admin"), Some("127.0.0.1:5000"));
        assert_eq!(IdentitySource::Iam.principal(&parts), None);
        assert_eq!(
            IdentitySource::Jwt {
                claim: "sub".into()
            }
            .principal(&parts),
            None
        );
    }

    #[test]
    fn the_local_header_is_trusted_from_loopback() {
        let parts = parts_with(None, Some("admin"), Some("127.0.0.1:5000"));
        let p = IdentitySource::LocalHeader.principal(&parts);
        assert_eq!(p.unwrap().as_str(), "admin");
        let parts = parts_with(None, Some("admin"), Some("[::1]:5000"));
        assert!(IdentitySource::LocalHeader.principal(&parts).is_some());
    }

    #[test]
    fn the_local_header_is_ignored_from_another_host() {
        let parts = parts_with(None, Some("admin"), Some("192.0.2.7:5000"));
        assert_eq!(IdentitySource::LocalHeader.principal(&parts), None);
    }

    #[test]
    fn the_local_header_is_ignored_when_the_peer_is_unknown() {
        let parts = parts_with(None, Some("admin"), None);
        assert_eq!(IdentitySource::LocalHeader.principal(&parts), None);
    }

    #[test]
    fn the_environment_chooses_iam_by_default_and_never_the_local_header() {
        assert_eq!(
            IdentitySource::from_values(None, None).unwrap(),
            IdentitySource::Iam
        );
        assert_eq!(
            IdentitySource::from_values(Some("jwt"), None).unwrap(),
            IdentitySource::Jwt {
                claim: "sub".into()
            }
        );
        assert!(IdentitySource::from_values(Some("local"), None).is_err());
        assert!(IdentitySource::from_values(Some("header"), None).is_err());
    }
}
