//! Email server profiles: create, read, list, update, delete, set as default, Test
//! Connection, and Test & Enable of all their mailboxes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use exsync_domain::ids::ProfileId;
use exsync_domain::job::Job;
use exsync_domain::profile::{ProfileInput, ProfileView, TestConnectionResult};
use exsync_domain::service::PageRequest;
use exsync_domain::test_connection::TestConnectionInput;
use serde::Deserialize;

use super::{PageBody, Routes, path_id};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, OptionalJson};
use crate::{AppState, Caller};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(Method::POST, "/profiles", create)
        .add(Method::GET, "/profiles", list)
        .add(Method::GET, "/profiles/{id}", get)
        .add(Method::PATCH, "/profiles/{id}", update)
        .add(Method::DELETE, "/profiles/{id}", delete)
        .add(Method::POST, "/profiles/{id}/default", set_default)
        .add(
            Method::POST,
            "/profiles/{id}/test-connection",
            test_connection,
        )
        .add(
            Method::POST,
            "/profiles/{id}/test-and-enable",
            test_and_enable,
        )
}

fn id(raw: &str) -> Result<ProfileId, ApiError> {
    path_id(raw, ProfileId::parse, "id")
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ProfileInput>,
) -> Result<impl IntoResponse, ApiError> {
    let view = s.admin().create_profile(&caller.grants, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageRequest>,
) -> Result<Json<PageBody<ProfileView>>, ApiError> {
    let page = s.admin().list_profiles(&caller.grants, &page).await?;
    Ok(Json(page.into()))
}

async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ProfileView>, ApiError> {
    let view = s.admin().get_profile(&caller.grants, &id(&raw)?).await?;
    Ok(Json(view))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(input): ApiJson<ProfileInput>,
) -> Result<Json<ProfileView>, ApiError> {
    let view = s
        .admin()
        .update_profile(&caller.grants, &id(&raw)?, input)
        .await?;
    Ok(Json(view))
}

/// `?version=N`: the version the caller read; without it the profile is deleted whatever
/// its version.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    version: Option<u64>,
}

async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    s.admin()
        .delete_profile(&caller.grants, &id(&raw)?, q.version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_default(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ProfileView>, ApiError> {
    let view = s
        .admin()
        .set_default_profile(&caller.grants, &id(&raw)?)
        .await?;
    Ok(Json(view))
}

/// Always 200 once the test ran: a failed connection is a result (its steps say where it
/// failed), not an API error.
async fn test_connection(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(input): OptionalJson<TestConnectionInput>,
) -> Result<Json<TestConnectionResult>, ApiError> {
    let result = s
        .admin()
        .test_connection(&caller.grants, &id(&raw)?, input)
        .await?;
    Ok(Json(result))
}

/// 202: the job runs in the jobs worker; `GET /jobs/{id}` reports its progress.
async fn test_and_enable(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = s
        .admin()
        .test_and_enable_profile(&caller.grants, &id(&raw)?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}
