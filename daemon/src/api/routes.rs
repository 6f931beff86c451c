//! The `/v1/` routes over the documents.
//!
//! Collections share one generic set of handlers (`get_one::<E>` and the rest); utoipa
//! documents concrete functions, so [`collection!`] gives each kind its thin handlers,
//! declared with their paths, bodies and answers. The few operations that are not plain
//! create/read/update/delete (RSVP, accept, draw, comments, other times, what needs me,
//! check-in, personal time) have their own.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tandem_protocol::activity::Activity;
use tandem_protocol::api::{
    ActivityEntry, BalanceQuery, BalanceWeeksQuery, CheckinAnswered, CheckinWeek, ItemPath,
    KeepRequest, LogQuery, MAX_LOG, PersonalTimeView, PlanQuery, Status, TimeBound, WeekPath,
    WindowQuery, paths,
};
use tandem_protocol::balance::{Balance, BalanceSeries};
use tandem_protocol::document::Conflict;
use tandem_protocol::entity::Entity;
use tandem_protocol::error::ValidationError;
use tandem_protocol::inbox::Today;
use tandem_protocol::model::agreement::{Agreement, AgreementPatch, NewAgreement};
use tandem_protocol::model::checkin::NewCheckin;
use tandem_protocol::model::idea::{Idea, IdeaPatch, IdeaToPlan, NewIdea};
use tandem_protocol::model::note::{NewNote, Note, NotePatch};
use tandem_protocol::model::personal_time::{NewPersonalTime, PersonalTime, PersonalTimePatch};
use tandem_protocol::model::plan::{
    NewComment, NewPlan, NewProposal, Plan, PlanPatch, RsvpRequest,
};
use tandem_protocol::model::settings::{Settings, SettingsPatch};
use tandem_protocol::remind::Reminder;
use tandem_protocol::time::IsoWeek;
use tandem_protocol::trash::TrashEntry;
use utoipa_axum::routes;

use super::error::{Body, Params, Segment};
use super::openapi::{
    BadBody, BadParams, Conflict as InConflict, Guarded, Missing, Stopping, Unprocessable,
};
use super::{ApiError, AppState, Routes};
use crate::repo::RepoError;

/// Every document route.
pub fn routes() -> Routes {
    Routes::default()
        .routes(routes!(status))
        .routes(routes!(list_plans, plans::create))
        .routes(routes!(plans::get_one, plans::update, plans::delete))
        .routes(routes!(plans::conflicts))
        .routes(routes!(plans::keep))
        .routes(routes!(rsvp))
        .routes(routes!(comment_plan))
        .routes(routes!(propose_time))
        .routes(routes!(accept_time))
        .routes(routes!(decline_time))
        .routes(routes!(seen_plan))
        .routes(routes!(ideas::list, ideas::create))
        .routes(routes!(ideas::get_one, ideas::update, ideas::delete))
        .routes(routes!(ideas::conflicts))
        .routes(routes!(ideas::keep))
        .routes(routes!(draw_idea))
        .routes(routes!(plan_idea))
        .routes(routes!(retire_idea))
        .routes(routes!(agreements::list, agreements::create))
        .routes(routes!(
            agreements::get_one,
            agreements::update,
            agreements::delete
        ))
        .routes(routes!(agreements::conflicts))
        .routes(routes!(agreements::keep))
        .routes(routes!(accept))
        .routes(routes!(notes::list, notes::create))
        .routes(routes!(notes::get_one, notes::update, notes::delete))
        .routes(routes!(notes::conflicts))
        .routes(routes!(notes::keep))
        .routes(routes!(list_personal_time, create_personal_time))
        .routes(routes!(
            get_personal_time,
            update_personal_time,
            delete_personal_time
        ))
        .routes(routes!(trash))
        .routes(routes!(restore_item))
        .routes(routes!(undo))
        .routes(routes!(list_checkins, answer_checkin))
        .routes(routes!(get_checkin))
        .routes(routes!(balance))
        .routes(routes!(balance_weeks))
        .routes(routes!(today))
        .routes(routes!(settings, update_settings))
        .routes(routes!(log))
        .routes(routes!(reminders))
}

/// The documented handlers of one collection, each a thin call of the generic one for
/// `$entity`: get, change, delete, conflicts and keep on one item of `$paths`, and (unless
/// the collection has a list of its own) list and create on its list.
macro_rules! collection {
    ($module:ident: $entity:ty, $new:ty, $patch:ty, $paths:expr, $noun:literal $(, $list:ident)?) => {
        #[doc = concat!("The handlers of ", $noun, "s.")]
        mod $module {
            use super::*;

            $(
            #[utoipa::path(
                get,
                path = $paths.list,
                tag = stringify!($module),
                operation_id = concat!("list_", stringify!($module)),
                summary = concat!("every ", $noun, " not in the trash"),
                responses((status = 200, body = Vec<$entity>), Guarded, Stopping)
            )]
            pub async fn $list(state: State<AppState>) -> Result<Json<Vec<$entity>>, ApiError> {
                super::list::<$entity>(state).await
            }
            )?

            #[utoipa::path(
                post,
                path = $paths.list,
                tag = stringify!($module),
                operation_id = concat!("create_", $noun),
                summary = concat!("adds a ", $noun),
                request_body = $new,
                responses(
                    (status = 201, body = $entity),
                    BadBody, Unprocessable, Guarded, Stopping,
                )
            )]
            pub async fn create(
                state: State<AppState>,
                body: Body<$new>,
            ) -> Result<impl IntoResponse, ApiError> {
                super::create::<$entity>(state, body).await
            }

            #[utoipa::path(
                get,
                path = $paths.item,
                tag = stringify!($module),
                operation_id = concat!("get_", $noun),
                summary = concat!("one ", $noun),
                params(ItemPath),
                responses(
                    (status = 200, body = $entity),
                    BadParams, Missing, InConflict, Guarded, Stopping,
                )
            )]
            pub async fn get_one(
                state: State<AppState>,
                id: Segment<ItemPath>,
            ) -> Result<Json<$entity>, ApiError> {
                super::get_one::<$entity>(state, id).await
            }

            #[utoipa::path(
                patch,
                path = $paths.item,
                tag = stringify!($module),
                operation_id = concat!("update_", $noun),
                summary = concat!("changes a ", $noun, "'s fields; absent fields stay"),
                params(ItemPath),
                request_body = $patch,
                responses(
                    (status = 200, body = $entity),
                    BadParams, BadBody, Missing, InConflict, Unprocessable, Guarded, Stopping,
                )
            )]
            pub async fn update(
                state: State<AppState>,
                id: Segment<ItemPath>,
                body: Body<$patch>,
            ) -> Result<Json<$entity>, ApiError> {
                super::update::<$entity>(state, id, body).await
            }

            #[utoipa::path(
                delete,
                path = $paths.item,
                tag = stringify!($module),
                operation_id = concat!("delete_", $noun),
                summary = concat!(
                    "puts a ", $noun, " in the trash (a tombstone both laptops keep; ",
                    "POST /v1/trash/{id}/restore brings it back)"
                ),
                params(ItemPath),
                responses(
                    (status = 204, description = "in the trash"),
                    BadParams, Missing, InConflict, Guarded, Stopping,
                )
            )]
            pub async fn delete(
                state: State<AppState>,
                id: Segment<ItemPath>,
            ) -> Result<StatusCode, ApiError> {
                super::delete::<$entity>(state, id).await
            }

            #[utoipa::path(
                get,
                path = $paths.conflicts,
                tag = stringify!($module),
                operation_id = concat!("conflicts_of_", $noun),
                summary = concat!(
                    "values of a ", $noun, " that lost concurrent edits, with who wrote them ",
                    "and when"
                ),
                params(ItemPath),
                responses(
                    (status = 200, body = Vec<Conflict>),
                    BadParams, Missing, InConflict, Guarded, Stopping,
                )
            )]
            pub async fn conflicts(
                state: State<AppState>,
                id: Segment<ItemPath>,
            ) -> Result<Json<Vec<Conflict>>, ApiError> {
                super::conflicts::<$entity>(state, id).await
            }

            #[utoipa::path(
                post,
                path = $paths.keep,
                tag = stringify!($module),
                operation_id = concat!("keep_", $noun, "_value"),
                summary = concat!("restores the value a ", $noun, "'s field lost in a conflict"),
                params(ItemPath),
                request_body = KeepRequest,
                responses(
                    (status = 200, body = $entity),
                    BadParams, BadBody, Missing, InConflict, Guarded, Stopping,
                )
            )]
            pub async fn keep(
                state: State<AppState>,
                id: Segment<ItemPath>,
                body: Body<KeepRequest>,
            ) -> Result<Json<$entity>, ApiError> {
                super::keep::<$entity>(state, id, body).await
            }
        }
    };
}

collection!(plans: Plan, NewPlan, PlanPatch, paths::PLANS, "plan");
collection!(ideas: Idea, NewIdea, IdeaPatch, paths::IDEAS, "idea", list);
collection!(agreements: Agreement, NewAgreement, AgreementPatch, paths::AGREEMENTS, "agreement", list);
collection!(notes: Note, NewNote, NotePatch, paths::NOTES, "note", list);

async fn conflicts<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<Json<Vec<Conflict>>, ApiError> {
    state
        .with_repo(move |repo| repo.conflicts::<E>(&id))
        .await
        .map(Json)
}

async fn keep<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
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
    Segment(ItemPath { id }): Segment<ItemPath>,
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
    Segment(ItemPath { id }): Segment<ItemPath>,
    Body(patch): Body<E::Patch>,
) -> Result<Json<E>, ApiError> {
    state
        .with_repo(move |repo| repo.update::<E>(&id, patch))
        .await
        .map(Json)
}

async fn delete<E: Entity + Send + 'static>(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<StatusCode, ApiError> {
    state.with_repo(move |repo| repo.delete::<E>(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A from/to bound as an instant: a date means its midnight in `tz`.
fn bound(
    field: &str,
    bound: Option<TimeBound>,
    tz: &TimeZone,
) -> Result<Option<Timestamp>, ValidationError> {
    match bound {
        None => Ok(None),
        Some(TimeBound::Instant(instant)) => Ok(Some(instant)),
        Some(TimeBound::Day(day)) => tz
            .to_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
            .map(Some)
            .map_err(|e| ValidationError::rule(field, format!("{day} has no midnight here: {e}"))),
    }
}

/// A query's time window, resolved in the daemon's zone.
struct Window {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

impl Window {
    fn new(
        from: Option<TimeBound>,
        to: Option<TimeBound>,
        tz: &TimeZone,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            from: bound("from", from, tz)?,
            to: bound("to", to, tz)?,
        })
    }

    fn overlaps(&self, start: Timestamp, end: Timestamp) -> bool {
        self.from.is_none_or(|f| end > f) && self.to.is_none_or(|t| start < t)
    }
}

/// Plans, soonest first; filtered by a time window (occurrences of recurring plans count)
/// and a status.
#[utoipa::path(get, path = paths::PLANS.list, tag = "plans", params(PlanQuery),
    responses((status = 200, body = Vec<Plan>), BadParams, Unprocessable, Guarded, Stopping))]
async fn list_plans(
    State(state): State<AppState>,
    Params(query): Params<PlanQuery>,
) -> Result<Json<Vec<Plan>>, ApiError> {
    state
        .with_repo(move |repo| {
            let window = Window::new(query.from, query.to, repo.tz())?;
            let status = query.status;
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

/// Answers a plan; a second yes schedules it.
#[utoipa::path(post, path = paths::PLAN_RSVP, tag = "plans", params(ItemPath),
    request_body = RsvpRequest,
    responses(
        (status = 200, body = Plan),
        BadParams, BadBody, Missing, InConflict, Guarded, Stopping,
    ))]
async fn rsvp(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
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

/// Accepts an agreement's current wording.
#[utoipa::path(post, path = paths::AGREEMENT_ACCEPT, tag = "agreements", params(ItemPath),
    responses(
        (status = 200, body = Agreement),
        BadParams, Missing, InConflict, Guarded, Stopping,
    ))]
async fn accept(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
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

/// One idea from the jar at random, passing over the last three drawn while others are
/// left; retired and planned ideas are out of the jar (404 `empty_jar` when none is in).
#[utoipa::path(post, path = paths::IDEA_DRAW, tag = "ideas",
    responses((status = 200, body = Idea), Missing, Guarded, Stopping))]
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

/// Personal-time blocks of both partners (details only one's own), filtered by a window.
#[utoipa::path(get, path = paths::PERSONAL_TIME, tag = "personal_time", params(WindowQuery),
    responses(
        (status = 200, body = Vec<PersonalTimeView>),
        BadParams, Unprocessable, Guarded, Stopping,
    ))]
async fn list_personal_time(
    State(state): State<AppState>,
    Params(query): Params<WindowQuery>,
) -> Result<Json<Vec<PersonalTimeView>>, ApiError> {
    state
        .with_repo(move |repo| {
            let window = Window::new(query.from, query.to, repo.tz())?;
            let blocks = repo.personal_time()?;
            Ok(blocks
                .into_iter()
                .filter(|b| window.overlaps(b.block.start.timestamp(), b.block.end.timestamp()))
                .collect())
        })
        .await
        .map(Json)
}

/// One personal-time block.
#[utoipa::path(get, path = paths::PERSONAL_TIME_ITEM, tag = "personal_time", params(ItemPath),
    responses(
        (status = 200, body = PersonalTimeView),
        BadParams, Missing, InConflict, Guarded, Stopping,
    ))]
async fn get_personal_time(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<Json<PersonalTimeView>, ApiError> {
    state
        .with_repo(move |repo| repo.personal_time_one(&id))
        .await
        .map(Json)
}

/// Adds a block of one's own time; what it is for (`details`) stays on one's own devices.
#[utoipa::path(post, path = paths::PERSONAL_TIME, tag = "personal_time",
    request_body = NewPersonalTime,
    responses(
        (status = 201, body = PersonalTimeView),
        BadBody, Unprocessable, Guarded, Stopping,
    ))]
async fn create_personal_time(
    State(state): State<AppState>,
    Body(new): Body<NewPersonalTime>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state
        .with_repo(move |repo| repo.create_personal_time(new))
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Changes one's own block; absent fields stay.
#[utoipa::path(patch, path = paths::PERSONAL_TIME_ITEM, tag = "personal_time", params(ItemPath),
    request_body = PersonalTimePatch,
    responses(
        (status = 200, body = PersonalTimeView),
        BadParams, BadBody, Missing, InConflict, Unprocessable, Guarded, Stopping,
    ))]
async fn update_personal_time(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
    Body(patch): Body<PersonalTimePatch>,
) -> Result<Json<PersonalTimeView>, ApiError> {
    state
        .with_repo(move |repo| repo.update_personal_time(&id, patch))
        .await
        .map(Json)
}

/// Puts one's own block in the trash.
#[utoipa::path(delete, path = paths::PERSONAL_TIME_ITEM, tag = "personal_time", params(ItemPath),
    responses(
        (status = 204, description = "in the trash"),
        BadParams, Missing, InConflict, Guarded, Stopping,
    ))]
async fn delete_personal_time(
    state: State<AppState>,
    id: Segment<ItemPath>,
) -> Result<StatusCode, ApiError> {
    delete::<PersonalTime>(state, id).await
}

/// What either partner deleted in the last 30 days, newest first.
#[utoipa::path(get, path = paths::TRASH, tag = "trash",
    responses((status = 200, body = Vec<TrashEntry>), Guarded, Stopping))]
async fn trash(State(state): State<AppState>) -> Result<Json<Vec<TrashEntry>>, ApiError> {
    state.with_repo(|repo| repo.trash()).await.map(Json)
}

/// Brings a deleted item of any kind back; says what came back.
#[utoipa::path(post, path = paths::TRASH_RESTORE, tag = "trash", params(ItemPath),
    responses(
        (status = 200, body = TrashEntry),
        BadParams, Missing, InConflict, Guarded, Stopping,
    ))]
async fn restore_item(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<Json<TrashEntry>, ApiError> {
    state
        .with_repo(move |repo| repo.restore_item(&id))
        .await
        .map(Json)
}

/// Reverts this person's last command made on this device, as a new change; says which
/// command it was (409 when there is nothing to undo).
#[utoipa::path(post, path = paths::UNDO, tag = "undo",
    responses((status = 200, body = Activity), InConflict, Guarded, Stopping))]
async fn undo(State(state): State<AppState>) -> Result<Json<Activity>, ApiError> {
    state.with_repo(|repo| repo.undo()).await.map(Json)
}

/// Check-in weeks, newest first; the partner's answers only once both answered.
#[utoipa::path(get, path = paths::CHECKINS, tag = "checkins",
    responses((status = 200, body = Vec<CheckinWeek>), Guarded, Stopping))]
async fn list_checkins(State(state): State<AppState>) -> Result<Json<Vec<CheckinWeek>>, ApiError> {
    state.with_repo(|repo| repo.checkin_weeks()).await.map(Json)
}

/// One check-in week (404 while nobody has answered it).
#[utoipa::path(get, path = paths::CHECKIN_WEEK, tag = "checkins", params(WeekPath),
    responses(
        (status = 200, body = CheckinWeek),
        BadParams, Missing, Unprocessable, Guarded, Stopping,
    ))]
async fn get_checkin(
    State(state): State<AppState>,
    Segment(WeekPath { week }): Segment<WeekPath>,
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

/// Answers a week's check-in; before the reveal, answering again replaces the earlier
/// answer (409 `revealed` once both answered: answers are final).
#[utoipa::path(post, path = paths::CHECKINS, tag = "checkins", request_body = NewCheckin,
    responses(
        (status = 201, body = CheckinAnswered),
        BadBody, InConflict, Unprocessable, Guarded, Stopping,
    ))]
async fn answer_checkin(
    State(state): State<AppState>,
    Body(new): Body<NewCheckin>,
) -> Result<impl IntoResponse, ApiError> {
    let answered = state
        .with_repo(move |repo| repo.answer_checkin(new))
        .await?;
    Ok((StatusCode::CREATED, Json(answered)))
}

/// The week's hours together and apart, and its reading.
#[utoipa::path(get, path = paths::BALANCE, tag = "balance", params(BalanceQuery),
    responses((status = 200, body = Balance), BadParams, Unprocessable, Guarded, Stopping))]
async fn balance(
    State(state): State<AppState>,
    Params(query): Params<BalanceQuery>,
) -> Result<Json<Balance>, ApiError> {
    state
        .with_repo(move |repo| {
            let tz = zone(query.tz.as_deref(), repo.tz())?;
            let week = match query.week {
                Some(week) => week.parse::<IsoWeek>()?,
                None => IsoWeek::of(&crate::clock::now().to_zoned_datetime(tz.clone())),
            };
            repo.balance(week, &tz)
        })
        .await
        .map(Json)
}

/// The zone named `name` (422 naming `tz` when the zone database does not know it), or
/// the daemon's.
fn zone(name: Option<&str>, daemon: &TimeZone) -> Result<TimeZone, ValidationError> {
    match name {
        Some(name) => TimeZone::get(name).map_err(|e| ValidationError::rule("tz", e.to_string())),
        None => Ok(daemon.clone()),
    }
}

/// The weeks up to this one (12 unless asked), each with hours together and apart against
/// what each asked for in that week's check-in, and one sentence about the trend.
#[utoipa::path(get, path = paths::BALANCE_WEEKS, tag = "balance", params(BalanceWeeksQuery),
    responses((status = 200, body = BalanceSeries), BadParams, Unprocessable, Guarded, Stopping))]
async fn balance_weeks(
    State(state): State<AppState>,
    Params(query): Params<BalanceWeeksQuery>,
) -> Result<Json<BalanceSeries>, ApiError> {
    state
        .with_repo(move |repo| {
            let tz = zone(query.tz.as_deref(), repo.tz())?;
            repo.balance_series(query.weeks.unwrap_or(12), &tz)
        })
        .await
        .map(Json)
}

/// What needs me now: plans and times awaiting my answer, new comments, a due check-in,
/// agreements, conflicts and today's plans.
#[utoipa::path(get, path = paths::TODAY, tag = "today",
    responses((status = 200, body = Today), Guarded, Stopping))]
async fn today(State(state): State<AppState>) -> Result<Json<Today>, ApiError> {
    state.with_repo(|repo| repo.today()).await.map(Json)
}

/// Adds a comment to a plan (either partner; not while it is in the trash).
#[utoipa::path(post, path = paths::PLAN_COMMENTS, tag = "plans", params(ItemPath),
    request_body = NewComment,
    responses(
        (status = 201, body = Plan),
        BadParams, BadBody, Missing, InConflict, Unprocessable, Guarded, Stopping,
    ))]
async fn comment_plan(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
    Body(new): Body<NewComment>,
) -> Result<impl IntoResponse, ApiError> {
    let plan = state
        .with_repo(move |repo| repo.comment_plan(&id, new))
        .await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// Proposes another time for a plan the partner created (409 `own_plan` for one's own:
/// move it instead; 409 `plan_closed` once done or cancelled). An earlier open proposal of
/// the same person is superseded.
#[utoipa::path(post, path = paths::PLAN_PROPOSALS, tag = "plans", params(ItemPath),
    request_body = NewProposal,
    responses(
        (status = 201, body = Plan),
        BadParams, BadBody, Missing, InConflict, Unprocessable, Guarded, Stopping,
    ))]
async fn propose_time(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
    Body(new): Body<NewProposal>,
) -> Result<impl IntoResponse, ApiError> {
    let plan = state
        .with_repo(move |repo| repo.propose_time(&id, new))
        .await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// The plan's creator takes the proposed time: the plan moves there, scheduled with both
/// answers (403 `not_yours` for the partner; 409 `no_proposal` when none awaits).
#[utoipa::path(post, path = paths::PLAN_ACCEPT, tag = "plans", params(ItemPath),
    responses((status = 200, body = Plan), BadParams, Missing, InConflict, Guarded, Stopping))]
async fn accept_time(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<Json<Plan>, ApiError> {
    state
        .with_repo(move |repo| repo.answer_time(&id, true))
        .await
        .map(Json)
}

/// The plan's creator keeps the original time; the proposal stays in the history.
#[utoipa::path(post, path = paths::PLAN_DECLINE, tag = "plans", params(ItemPath),
    responses((status = 200, body = Plan), BadParams, Missing, InConflict, Guarded, Stopping))]
async fn decline_time(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<Json<Plan>, ApiError> {
    state
        .with_repo(move |repo| repo.answer_time(&id, false))
        .await
        .map(Json)
}

/// Marks a plan's comments as read on this laptop (what needs me stops listing them).
#[utoipa::path(post, path = paths::PLAN_SEEN, tag = "plans", params(ItemPath),
    responses(
        (status = 204, description = "marked as read"),
        BadParams, Missing, InConflict, Guarded, Stopping,
    ))]
async fn seen_plan(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<StatusCode, ApiError> {
    state.with_repo(move |repo| repo.mark_seen(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns an idea into a proposed plan (at the time given, or none yet) and takes it out
/// of the jar (409 `idea_used` once retired or planned).
#[utoipa::path(post, path = paths::IDEA_PLAN, tag = "ideas", params(ItemPath),
    request_body = IdeaToPlan,
    responses(
        (status = 201, body = Plan),
        BadParams, BadBody, Missing, InConflict, Unprocessable, Guarded, Stopping,
    ))]
async fn plan_idea(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
    Body(when): Body<IdeaToPlan>,
) -> Result<impl IntoResponse, ApiError> {
    let plan = state
        .with_repo(move |repo| repo.plan_idea(&id, when))
        .await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// Takes an idea out of the jar without deleting it (409 `idea_used` if it is out).
#[utoipa::path(post, path = paths::IDEA_RETIRE, tag = "ideas", params(ItemPath),
    responses((status = 200, body = Idea), BadParams, Missing, InConflict, Guarded, Stopping))]
async fn retire_idea(
    State(state): State<AppState>,
    Segment(ItemPath { id }): Segment<ItemPath>,
) -> Result<Json<Idea>, ApiError> {
    state
        .with_repo(move |repo| repo.retire_idea(&id))
        .await
        .map(Json)
}

/// Shared settings.
#[utoipa::path(get, path = paths::SETTINGS, tag = "settings",
    responses((status = 200, body = Settings), Guarded, Stopping))]
async fn settings(State(state): State<AppState>) -> Result<Json<Settings>, ApiError> {
    state.with_repo(|repo| repo.settings()).await.map(Json)
}

/// Changes shared settings.
#[utoipa::path(patch, path = paths::SETTINGS, tag = "settings", request_body = SettingsPatch,
    responses((status = 200, body = Settings), BadBody, Guarded, Stopping))]
async fn update_settings(
    State(state): State<AppState>,
    Body(patch): Body<SettingsPatch>,
) -> Result<Json<Settings>, ApiError> {
    state
        .with_repo(move |repo| repo.update_settings(patch))
        .await
        .map(Json)
}

/// Activity of both documents, newest first.
#[utoipa::path(get, path = paths::LOG, tag = "log", params(LogQuery),
    responses((status = 200, body = Vec<ActivityEntry>), BadParams, Guarded, Stopping))]
async fn log(
    State(state): State<AppState>,
    Params(query): Params<LogQuery>,
) -> Result<Json<Vec<ActivityEntry>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if limit > MAX_LOG {
        return Err(ValidationError::new(
            "limit",
            format!("is {limit}; at most {MAX_LOG} entries can be asked for"),
        )
        .into());
    }
    state
        .with_repo(move |repo| repo.activity(limit))
        .await
        .map(Json)
}

/// What is due now: the check-in, plans starting soon, agreements to review.
#[utoipa::path(get, path = paths::REMINDERS, tag = "reminders",
    responses((status = 200, body = Vec<Reminder>), Guarded, Stopping))]
async fn reminders(State(state): State<AppState>) -> Result<Json<Vec<Reminder>>, ApiError> {
    state
        .with_repo(|repo| {
            let now = crate::clock::now().to_zoned_datetime(repo.tz().clone());
            repo.reminders(&now)
        })
        .await
        .map(Json)
}

/// Who this daemon is, its partner and its documents.
#[utoipa::path(get, path = paths::STATUS, tag = "status",
    responses((status = 200, body = Status), Guarded, Stopping))]
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
