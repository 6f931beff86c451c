//! The `/v1/` routes over the documents.
//!
//! Collections share one generic set of handlers ([`crud`]); the few operations that are
//! not plain create/read/update/delete (RSVP, accept, draw, check-in, personal-time details)
//! have their own.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tandem_protocol::activity::Activity;
use tandem_protocol::api::{
    ActivityEntry, BalanceQuery, CheckinWeek, KeepRequest, ListQuery, LogQuery, PersonalTimeView,
    Status,
};
use tandem_protocol::balance::Balance;
use tandem_protocol::document::Conflict;
use tandem_protocol::entity::Entity;
use tandem_protocol::error::ValidationError;
use tandem_protocol::model::agreement::Agreement;
use tandem_protocol::model::checkin::NewCheckin;
use tandem_protocol::model::idea::Idea;
use tandem_protocol::model::note::Note;
use tandem_protocol::model::personal_time::{NewPersonalTime, PersonalTime, PersonalTimePatch};
use tandem_protocol::model::plan::{Plan, PlanStatus, RsvpRequest};
use tandem_protocol::model::settings::{Settings, SettingsPatch};
use tandem_protocol::remind::Reminder;
use tandem_protocol::time::IsoWeek;
use tandem_protocol::trash::TrashEntry;

use super::error::{Body, Params};
use super::{ApiError, AppState};
use crate::repo::RepoError;

/// Largest `limit` of the activity log.
const MAX_LOG: usize = 1000;

/// Every document route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/plans", get(list_plans).post(create::<Plan>))
        .route("/v1/plans/{id}/rsvp", post(rsvp))
        .route("/v1/ideas/draw", post(draw_idea))
        .route("/v1/agreements/{id}/accept", post(accept))
        .route(
            "/v1/personal-time",
            get(list_personal_time).post(create_personal_time),
        )
        .route(
            "/v1/personal-time/{id}",
            get(get_personal_time)
                .patch(update_personal_time)
                .delete(delete::<PersonalTime>),
        )
        .route("/v1/trash", get(trash))
        .route("/v1/trash/{id}/restore", post(restore_item))
        .route("/v1/undo", post(undo))
        .route("/v1/checkins", get(list_checkins).post(answer_checkin))
        .route("/v1/checkins/{week}", get(get_checkin))
        .route("/v1/balance", get(balance))
        .route("/v1/settings", get(settings).patch(update_settings))
        .route("/v1/log", get(log))
        .route("/v1/reminders", get(reminders))
        .merge(crud::<Plan>("/v1/plans", false))
        .merge(crud::<Idea>("/v1/ideas", true))
        .merge(crud::<Agreement>("/v1/agreements", true))
        .merge(crud::<Note>("/v1/notes", true))
}

/// `GET/POST {base}` (when `with_list`) and `GET/PATCH/DELETE {base}/{id}` for `E`.
fn crud<E>(base: &str, with_list: bool) -> Router<AppState>
where
    E: Entity + Send + 'static,
{
    let item = format!("{base}/{{id}}");
    let mut router = Router::new()
        .route(
            &item,
            get(get_one::<E>).patch(update::<E>).delete(delete::<E>),
        )
        .route(&format!("{item}/conflicts"), get(conflicts::<E>))
        .route(&format!("{item}/keep"), post(keep::<E>));
    if with_list {
        router = router.route(base, get(list::<E>).post(create::<E>));
    }
    router
}

async fn conflicts<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Conflict>>, ApiError> {
    state
        .with_repo(move |repo| repo.conflicts::<E>(&id))
        .await
        .map(Json)
}

async fn keep<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(req): Body<KeepRequest>,
) -> Result<Json<E>, ApiError> {
    state
        .with_repo(move |repo| repo.keep::<E>(&id, &req.field))
        .await
        .map(Json)
}

async fn list<E: Entity + Send + 'static>(
    State(state): State<AppState>,
) -> Result<Json<Vec<E>>, ApiError> {
    state.with_repo(|repo| repo.list::<E>()).await.map(Json)
}

async fn get_one<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<E>, ApiError> {
    state
        .with_repo(move |repo| repo.get::<E>(&id))
        .await
        .map(Json)
}

async fn create<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Body(new): Body<E::New>,
) -> Result<impl IntoResponse, ApiError> {
    let item = state.with_repo(move |repo| repo.create::<E>(new)).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

async fn update<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(patch): Body<E::Patch>,
) -> Result<Json<E>, ApiError> {
    state
        .with_repo(move |repo| repo.update::<E>(&id, patch))
        .await
        .map(Json)
}

async fn delete<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.with_repo(move |repo| repo.delete::<E>(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A from/to bound: an RFC 3339 instant, or a date meaning its midnight in `tz`.
fn bound(
    field: &str,
    raw: Option<&str>,
    tz: &TimeZone,
) -> Result<Option<Timestamp>, ValidationError> {
    let Some(raw) = raw else { return Ok(None) };
    if let Ok(ts) = raw.parse::<Timestamp>() {
        return Ok(Some(ts));
    }
    raw.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| {
            tz.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .ok()
        })
        .map(Some)
        .ok_or_else(|| {
            ValidationError::new(
                field,
                format!("{raw:?} is not an RFC 3339 instant or a YYYY-MM-DD date"),
            )
        })
}

/// The query's time window, resolved in the daemon's zone.
struct Window {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

impl Window {
    fn parse(query: &ListQuery, tz: &TimeZone) -> Result<Self, ValidationError> {
        Ok(Self {
            from: bound("from", query.from.as_deref(), tz)?,
            to: bound("to", query.to.as_deref(), tz)?,
        })
    }

    fn overlaps(&self, start: Timestamp, end: Timestamp) -> bool {
        self.from.is_none_or(|f| end > f) && self.to.is_none_or(|t| start < t)
    }
}

async fn list_plans(
    State(state): State<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Vec<Plan>>, ApiError> {
    state
        .with_repo(move |repo| {
            let window = Window::parse(&query, repo.tz())?;
            let status: Option<PlanStatus> = query.status.as_deref().map(str::parse).transpose()?;
            let mut plans = repo.list::<Plan>()?;
            plans.sort_by_key(|p| p.start.timestamp());
            Ok(plans
                .into_iter()
                .filter(|p| status.is_none_or(|s| p.status == s))
                .filter(|p| match (window.from, window.to) {
                    (None, None) => true,
                    (from, to) => !p
                        .occurrences(from.unwrap_or(Timestamp::MIN), to.unwrap_or(Timestamp::MAX))
                        .is_empty(),
                })
                .collect())
        })
        .await
        .map(Json)
}

async fn rsvp(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(req): Body<RsvpRequest>,
) -> Result<Json<Plan>, ApiError> {
    state
        .with_repo(move |repo| {
            repo.modify::<Plan>(&id, "rsvp", |plan, author| {
                plan.rsvp(req.answer.require_known("answer")?, author);
                Ok(())
            })
        })
        .await
        .map(Json)
}

async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Agreement>, ApiError> {
    state
        .with_repo(move |repo| {
            repo.modify::<Agreement>(&id, "accept", |agreement, author| {
                agreement.accept(author);
                Ok(())
            })
        })
        .await
        .map(Json)
}

async fn draw_idea(State(state): State<AppState>) -> Result<Json<Idea>, ApiError> {
    match state.with_repo(|repo| repo.draw_idea()).await? {
        Some(idea) => Ok(Json(idea)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "empty_jar",
            "the idea jar is empty: add one with `tandem idea add TITLE`",
        )),
    }
}

async fn list_personal_time(
    State(state): State<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Vec<PersonalTimeView>>, ApiError> {
    state
        .with_repo(move |repo| {
            let window = Window::parse(&query, repo.tz())?;
            let blocks = repo.personal_time()?;
            Ok(blocks
                .into_iter()
                .filter(|b| window.overlaps(b.block.start.timestamp(), b.block.end.timestamp()))
                .collect())
        })
        .await
        .map(Json)
}

async fn get_personal_time(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PersonalTimeView>, ApiError> {
    state
        .with_repo(move |repo| repo.personal_time_one(&id))
        .await
        .map(Json)
}

async fn create_personal_time(
    State(state): State<AppState>,
    Body(new): Body<NewPersonalTime>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state
        .with_repo(move |repo| repo.create_personal_time(new))
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn update_personal_time(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(patch): Body<PersonalTimePatch>,
) -> Result<Json<PersonalTimeView>, ApiError> {
    state
        .with_repo(move |repo| repo.update_personal_time(&id, patch))
        .await
        .map(Json)
}

async fn trash(State(state): State<AppState>) -> Result<Json<Vec<TrashEntry>>, ApiError> {
    state.with_repo(|repo| repo.trash()).await.map(Json)
}

async fn restore_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TrashEntry>, ApiError> {
    state
        .with_repo(move |repo| repo.restore_item(&id))
        .await
        .map(Json)
}

async fn undo(State(state): State<AppState>) -> Result<Json<Activity>, ApiError> {
    state.with_repo(|repo| repo.undo()).await.map(Json)
}

async fn list_checkins(State(state): State<AppState>) -> Result<Json<Vec<CheckinWeek>>, ApiError> {
    state.with_repo(|repo| repo.checkin_weeks()).await.map(Json)
}

async fn get_checkin(
    State(state): State<AppState>,
    Path(week): Path<String>,
) -> Result<Json<CheckinWeek>, ApiError> {
    let week: IsoWeek = week.parse()?;
    let found = state
        .with_repo(move |repo| repo.checkin_weeks())
        .await?
        .into_iter()
        .find(|w| w.week == week);
    found.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("nobody has checked in for {week} yet"),
        )
    })
}

async fn answer_checkin(
    State(state): State<AppState>,
    Body(new): Body<NewCheckin>,
) -> Result<impl IntoResponse, ApiError> {
    let answered = state
        .with_repo(move |repo| repo.answer_checkin(new))
        .await?;
    Ok((StatusCode::CREATED, Json(answered)))
}

async fn balance(
    State(state): State<AppState>,
    Params(query): Params<BalanceQuery>,
) -> Result<Json<Balance>, ApiError> {
    state
        .with_repo(move |repo| {
            let tz = match &query.tz {
                Some(name) => {
                    TimeZone::get(name).map_err(|e| ValidationError::new("tz", e.to_string()))?
                }
                None => repo.tz().clone(),
            };
            let week = match &query.week {
                Some(raw) => raw.parse::<IsoWeek>()?,
                None => IsoWeek::of(&Timestamp::now().to_zoned_datetime(tz.clone())),
            };
            repo.balance(week, &tz)
        })
        .await
        .map(Json)
}

async fn settings(State(state): State<AppState>) -> Result<Json<Settings>, ApiError> {
    state.with_repo(|repo| repo.settings()).await.map(Json)
}

async fn update_settings(
    State(state): State<AppState>,
    Body(patch): Body<SettingsPatch>,
) -> Result<Json<Settings>, ApiError> {
    state
        .with_repo(move |repo| repo.update_settings(patch))
        .await
        .map(Json)
}

async fn log(
    State(state): State<AppState>,
    Params(query): Params<LogQuery>,
) -> Result<Json<Vec<ActivityEntry>>, ApiError> {
    let limit = query.limit.unwrap_or(50).min(MAX_LOG);
    state
        .with_repo(move |repo| repo.activity(limit))
        .await
        .map(Json)
}

async fn reminders(State(state): State<AppState>) -> Result<Json<Vec<Reminder>>, ApiError> {
    state
        .with_repo(|repo| {
            let now = Timestamp::now().to_zoned_datetime(repo.tz().clone());
            repo.reminders(&now)
        })
        .await
        .map(Json)
}

async fn status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let mut status = state.with_repo(|repo| repo.status()).await?;
    status.device_id = state.hub.identity.device_id.to_string();
    status.peer_port = state.hub.port();
    status.mdns = state.discovery.is_some();
    Ok(Json(status))
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        RepoError::from(e).into()
    }
}
