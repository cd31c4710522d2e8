//! Org email settings.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use exsync_domain::org::{OrgSettings, OrgSettingsInput};

use super::Routes;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::{AppState, Caller};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/org-settings", get)
        .add(Method::PATCH, "/org-settings", update)
}

async fn get(State(s): State<AppState>, caller: Caller) -> Result<Json<OrgSettings>, ApiError> {
    Ok(Json(s.admin().get_settings(&caller.grants).await?))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<OrgSettingsInput>,
) -> Result<Json<OrgSettings>, ApiError> {
    Ok(Json(
        s.admin().update_settings(&caller.grants, input).await?,
    ))
}
