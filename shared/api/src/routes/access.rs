//! Who may do what: the caller's own privileges, and role assignment (manage_roles).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use exsync_domain::ids::Principal;
use exsync_domain::privilege::{Privilege, Role};
use serde::{Deserialize, Serialize};

use super::Routes;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::{AppState, Caller};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/me", me)
        .add(Method::GET, "/principals/{principal}/roles", roles_of)
        .add(Method::PUT, "/principals/{principal}/roles", set_roles)
        .add(Method::PUT, "/roles/{name}", put_role)
}

/// The caller and its privileges.
#[derive(Debug, Serialize)]
struct Me {
    principal: Principal,
    privileges: BTreeSet<Privilege>,
}

async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        principal: caller.principal,
        privileges: caller.grants.privileges,
    })
}

fn principal(raw: &str) -> Result<Principal, ApiError> {
    Principal::parse(raw).ok_or_else(|| ApiError::field("principal", "is not a principal name"))
}

/// A principal's roles.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Roles {
    #[serde(default)]
    roles: Vec<String>,
}

/// A principal's roles (manage_roles, or the principal itself). The principal is one path
/// segment: an IAM ARN's `/` is sent as `%2F`.
async fn roles_of(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Roles>, ApiError> {
    let roles = s
        .admin()
        .roles_of(&caller.grants, &principal(&raw)?)
        .await?;
    Ok(Json(Roles { roles }))
}

/// Replaces a principal's roles (manage_roles). Its cached privileges in this container are
/// dropped, so the change holds from the next request.
async fn set_roles(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<Roles>,
) -> Result<Json<Roles>, ApiError> {
    let who = principal(&raw)?;
    let roles = s
        .admin()
        .set_roles(&caller.grants, &who, &body.roles)
        .await?;
    s.inner.grants.forget(&who);
    Ok(Json(Roles { roles }))
}

/// A custom role's privileges.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[serde(default)]
    privileges: BTreeSet<Privilege>,
}

/// Creates or replaces a custom role (manage_roles); built-in roles cannot be redefined.
/// Every cached grant in this container is dropped, since any principal may hold the role.
async fn put_role(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<Role>, ApiError> {
    let role = Role {
        name: name.trim().to_owned(),
        privileges: body.privileges,
    };
    s.admin().put_role(&caller.grants, &role).await?;
    s.inner.grants.clear();
    Ok(Json(role))
}
