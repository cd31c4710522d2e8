//! Mailboxes: create, read, list with filters, update, and the bulk actions (Apply Default
//! Email Settings, edit many, approve or reject email, Test & Enable).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use exsync_domain::ids::{MailboxId, ProfileId};
use exsync_domain::mailbox::{Approval, MailboxInput, MailboxView, WorkloadStatus};
use exsync_domain::ports::MailboxFilter;
use exsync_domain::service::{ApplyDefaultsOutcome, BatchItem, BulkEdit, PageRequest};
use exsync_domain::sync::decisions::DecisionEntry;
use serde::Deserialize;

use super::{MailboxIds, PageBody, Routes, path_id};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::{AppState, Caller};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(Method::POST, "/mailboxes", create)
        .add(Method::GET, "/mailboxes", list)
        .add(Method::GET, "/mailboxes/{id}", get)
        .add(Method::PATCH, "/mailboxes/{id}", update)
        .add(Method::GET, "/mailboxes/{id}/decisions", decisions)
        .add(
            Method::POST,
            "/mailboxes/apply-default-settings",
            apply_default_settings,
        )
        .add(Method::POST, "/mailboxes/edit", edit)
        .add(Method::POST, "/mailboxes/approve", approve)
        .add(Method::POST, "/mailboxes/reject", reject)
        .add(Method::POST, "/mailboxes/test-and-enable", test_and_enable)
}

fn id(raw: &str) -> Result<MailboxId, ApiError> {
    path_id(raw, MailboxId::parse, "id")
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<MailboxInput>,
) -> Result<impl IntoResponse, ApiError> {
    let view = s.admin().create_mailbox(&caller.grants, input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The list filters and paging, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    profile: Option<String>,
    active: Option<bool>,
    status: Option<WorkloadStatus>,
    approval: Option<Approval>,
    limit: Option<i64>,
    next: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageBody<MailboxView>>, ApiError> {
    let profile = q
        .profile
        .as_deref()
        .map(|p| path_id(p, ProfileId::parse, "profile"))
        .transpose()?;
    let filter = MailboxFilter {
        profile,
        active: q.active,
        status: q.status,
        approval: q.approval,
    };
    let page = PageRequest {
        limit: q.limit,
        next: q.next,
    };
    let found = s
        .admin()
        .list_mailboxes(&caller.grants, &filter, &page)
        .await?;
    Ok(Json(found.into()))
}

async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<MailboxView>, ApiError> {
    Ok(Json(
        s.admin().get_mailbox(&caller.grants, &id(&raw)?).await?,
    ))
}

/// Paging of the decision log.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionsQuery {
    limit: Option<i64>,
    next: Option<String>,
}

/// What the sync worker did with each item it evaluated, newest first.
async fn decisions(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiQuery(q): ApiQuery<DecisionsQuery>,
) -> Result<Json<PageBody<DecisionEntry>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        next: q.next,
    };
    let found = s
        .admin()
        .list_decisions(&caller.grants, &id(&raw)?, &page)
        .await?;
    Ok(Json(found.into()))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(input): ApiJson<MailboxInput>,
) -> Result<Json<MailboxView>, ApiError> {
    let view = s
        .admin()
        .update_mailbox(&caller.grants, &id(&raw)?, input)
        .await?;
    Ok(Json(view))
}

/// Apply Default Email Settings: the mailboxes, and whether to Test & Enable them after
/// (default yes, as in Dynamics 365).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyDefaults {
    #[serde(default)]
    mailbox_ids: Vec<String>,
    #[serde(default = "yes")]
    test_and_enable: bool,
}

fn yes() -> bool {
    true
}

async fn apply_default_settings(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ApplyDefaults>,
) -> Result<(StatusCode, Json<ApplyDefaultsOutcome>), ApiError> {
    let outcome = s
        .admin()
        .apply_default_settings(&caller.grants, &body.mailbox_ids, body.test_and_enable)
        .await?;
    let status = if outcome
        .test_and_enable
        .as_ref()
        .is_some_and(|t| t.job.is_some())
    {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome)))
}

/// Edit many at once: the mailboxes and the changes for all of them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(default)]
    mailbox_ids: Vec<String>,
    #[serde(default)]
    changes: BulkEdit,
}

async fn edit(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Edit>,
) -> Result<Json<Vec<BatchItem<MailboxView>>>, ApiError> {
    let items = s
        .admin()
        .edit_mailboxes(&caller.grants, &body.mailbox_ids, &body.changes)
        .await?;
    Ok(Json(items))
}

async fn approve(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MailboxIds>,
) -> Result<Json<Vec<BatchItem<MailboxView>>>, ApiError> {
    let items = s
        .admin()
        .approve_mailboxes(&caller.grants, &body.mailbox_ids)
        .await?;
    Ok(Json(items))
}

async fn reject(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MailboxIds>,
) -> Result<Json<Vec<BatchItem<MailboxView>>>, ApiError> {
    let items = s
        .admin()
        .reject_mailboxes(&caller.grants, &body.mailbox_ids)
        .await?;
    Ok(Json(items))
}

/// 200 when every mailbox was tested inline; 202 when some were handed to a job (its id is
/// in the answer).
async fn test_and_enable(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MailboxIds>,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = s
        .admin()
        .test_and_enable_mailboxes(&caller.grants, &body.mailbox_ids)
        .await?;
    let status = if outcome.job.is_some() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome)))
}
