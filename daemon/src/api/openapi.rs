//! `/v1/openapi.json`: the API described for other clients (a phone app, scripts).
//!
//! Built from one table of endpoints whose request and response schemas come from the very
//! types the handlers use (`utoipa::ToSchema`), so the document cannot drift from the code
//! without a type changing. A test checks that every route answers as documented.

use std::sync::OnceLock;

use axum::Json;
use tandem_protocol::activity::Activity;
use tandem_protocol::api::{
    ActivityEntry, AddPeerRequest, AutoBackupRequest, BackupRequest, BackupStatus, BalanceQuery,
    CheckinAnswered, CheckinWeek, ErrorBody, JoinRequest, KeepRequest, ListQuery, LogQuery,
    NearbyDevice, NewPhone, PairRequest, PairingState, PeerStatus, PersonalTimeView, PhoneAdded,
    PhoneView, Status, TokenQuery,
};
use tandem_protocol::balance::Balance;
use tandem_protocol::document::Conflict;
use tandem_protocol::model::agreement::{Agreement, AgreementPatch, NewAgreement};
use tandem_protocol::model::checkin::NewCheckin;
use tandem_protocol::model::idea::{Idea, IdeaPatch, NewIdea};
use tandem_protocol::model::note::{NewNote, Note, NotePatch};
use tandem_protocol::model::personal_time::{NewPersonalTime, PersonalTimePatch};
use tandem_protocol::model::plan::{NewPlan, Plan, PlanPatch, RsvpRequest};
use tandem_protocol::model::settings::{Settings, SettingsPatch};
use tandem_protocol::remind::Reminder;
use tandem_protocol::trash::TrashEntry;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder,
};
use utoipa::{IntoParams, ToSchema};

/// Serves the OpenAPI document.
pub async fn serve() -> Json<&'static OpenApi> {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    Json(DOC.get_or_init(document))
}

/// Collects component schemas while the endpoint table refers to them by name.
#[derive(Default)]
struct Schemas(Vec<(String, RefOr<Schema>)>);

impl Schemas {
    fn one<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let name = T::name().into_owned();
        if !self.0.iter().any(|(n, _)| *n == name) {
            self.0.push((name.clone(), T::schema()));
            T::schemas(&mut self.0);
        }
        Ref::from_schema_name(name).into()
    }

    fn list<T: ToSchema>(&mut self) -> RefOr<Schema> {
        ArrayBuilder::new().items(self.one::<T>()).into()
    }
}

/// One documented operation.
struct Endpoint {
    method: HttpMethod,
    path: String,
    summary: &'static str,
    body: Option<RefOr<Schema>>,
    /// Success status and its body (`None` for 204).
    ok: (u16, Option<RefOr<Schema>>),
    params: Vec<Parameter>,
    /// When the operation can answer 409: what conflicts.
    conflict: Option<&'static str>,
}

fn id_param() -> Vec<Parameter> {
    vec![
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("the id, or a unique prefix of it"))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build(),
    ]
}

fn op(
    method: HttpMethod,
    path: impl Into<String>,
    summary: &'static str,
    body: Option<RefOr<Schema>>,
    ok: (u16, Option<RefOr<Schema>>),
) -> Endpoint {
    let path = path.into();
    let params = if path.contains("{id}") {
        id_param()
    } else {
        Vec::new()
    };
    Endpoint {
        method,
        path,
        summary,
        body,
        ok,
        params,
        conflict: None,
    }
}

/// The full CRUD set for a collection: list, create, get, update, delete.
fn crud<T: ToSchema, New: ToSchema, Patch: ToSchema>(
    s: &mut Schemas,
    base: &'static str,
    item: &'static str,
) -> Vec<Endpoint> {
    vec![
        op(
            HttpMethod::Get,
            base,
            "list",
            None,
            (200, Some(s.list::<T>())),
        ),
        op(
            HttpMethod::Post,
            base,
            "create",
            Some(s.one::<New>()),
            (201, Some(s.one::<T>())),
        ),
        op(
            HttpMethod::Get,
            item,
            "get one",
            None,
            (200, Some(s.one::<T>())),
        ),
        op(
            HttpMethod::Patch,
            item,
            "change fields; absent fields stay",
            Some(s.one::<Patch>()),
            (200, Some(s.one::<T>())),
        ),
        op(
            HttpMethod::Delete,
            item,
            "put in the trash (a tombstone both laptops keep; restore with /v1/trash/{id}/restore)",
            None,
            (204, None),
        ),
    ]
}

/// The conflict routes of a collection: values lost to concurrent edits, and restoring one.
fn conflict_routes<T: ToSchema>(s: &mut Schemas, item: &str) -> Vec<Endpoint> {
    vec![
        op(
            HttpMethod::Get,
            format!("{item}/conflicts"),
            "values that lost concurrent edits, with who wrote them and when",
            None,
            (200, Some(s.list::<Conflict>())),
        ),
        op(
            HttpMethod::Post,
            format!("{item}/keep"),
            "restore the value a field lost in a conflict",
            Some(s.one::<KeepRequest>()),
            (200, Some(s.one::<T>())),
        ),
    ]
}

/// Documents that `endpoint` may answer 409, saying when, so clients can tell a final
/// state from a bad request.
fn with_conflict(what: &'static str, mut endpoint: Endpoint) -> Endpoint {
    endpoint.conflict = Some(what);
    endpoint
}

fn with_query<P: IntoParams>(mut endpoint: Endpoint) -> Endpoint {
    endpoint
        .params
        .extend(P::into_params(|| Some(ParameterIn::Query)));
    endpoint
}

/// Every endpoint of the API.
fn endpoints(s: &mut Schemas) -> Vec<Endpoint> {
    use HttpMethod::{Get, Patch, Post};
    let mut all = vec![
        op(
            Get,
            "/v1/status",
            "who this daemon is, its partner and documents",
            None,
            (200, Some(s.one::<Status>())),
        ),
        with_query::<ListQuery>(op(
            Get,
            "/v1/plans",
            "plans, soonest first; filter by window and status",
            None,
            (200, Some(s.list::<Plan>())),
        )),
        op(
            Post,
            "/v1/plans",
            "propose a plan",
            Some(s.one::<NewPlan>()),
            (201, Some(s.one::<Plan>())),
        ),
        op(
            Post,
            "/v1/plans/{id}/rsvp",
            "answer a plan; a second yes schedules it",
            Some(s.one::<RsvpRequest>()),
            (200, Some(s.one::<Plan>())),
        ),
        op(
            Post,
            "/v1/ideas/draw",
            "one idea from the jar at random (404 when empty)",
            None,
            (200, Some(s.one::<Idea>())),
        ),
        op(
            Post,
            "/v1/agreements/{id}/accept",
            "accept an agreement's current wording",
            None,
            (200, Some(s.one::<Agreement>())),
        ),
        op(
            Get,
            "/v1/checkins",
            "check-in weeks, newest first; answers only once both answered",
            None,
            (200, Some(s.list::<CheckinWeek>())),
        ),
        with_conflict(
            "the week was already revealed: answers are final once both answered",
            op(
                Post,
                "/v1/checkins",
                "answer a week's check-in; before the reveal, answering again replaces the \
                 earlier answer",
                Some(s.one::<NewCheckin>()),
                (201, Some(s.one::<CheckinAnswered>())),
            ),
        ),
        with_query::<BalanceQuery>(op(
            Get,
            "/v1/balance",
            "the week's hours together and apart, and its reading",
            None,
            (200, Some(s.one::<Balance>())),
        )),
        op(
            Get,
            "/v1/settings",
            "shared settings",
            None,
            (200, Some(s.one::<Settings>())),
        ),
        op(
            Patch,
            "/v1/settings",
            "change shared settings",
            Some(s.one::<SettingsPatch>()),
            (200, Some(s.one::<Settings>())),
        ),
        with_query::<LogQuery>(op(
            Get,
            "/v1/log",
            "activity of both documents, newest first",
            None,
            (200, Some(s.list::<ActivityEntry>())),
        )),
        op(
            Get,
            "/v1/events",
            "Server-Sent Events: one `change` event per change, data as in the log",
            None,
            (200, Some(s.one::<Activity>())),
        ),
        op(Get, "/v1/openapi.json", "this document", None, (200, None)),
        op(
            Get,
            "/v1/trash",
            "what either partner deleted in the last 30 days, newest first",
            None,
            (200, Some(s.list::<TrashEntry>())),
        ),
        op(
            Post,
            "/v1/trash/{id}/restore",
            "bring a deleted item of any kind back; says what came back",
            None,
            (200, Some(s.one::<TrashEntry>())),
        ),
        op(
            Post,
            "/v1/undo",
            "revert this person's last command made on this device, as a new change; \
             says which command it was",
            None,
            (200, Some(s.one::<Activity>())),
        ),
        op(
            Get,
            "/v1/reminders",
            "what is due now: check-in, plans starting soon, agreements to review",
            None,
            (200, Some(s.list::<Reminder>())),
        ),
        op(
            Get,
            "/v1/peers/nearby",
            "tandem devices seen on this network by mDNS, paired or not",
            None,
            (200, Some(s.list::<NearbyDevice>())),
        ),
        op(
            Get,
            "/v1/peers",
            "paired devices and whether they are connected",
            None,
            (200, Some(s.list::<PeerStatus>())),
        ),
        op(
            Post,
            "/v1/peers",
            "connect to a paired device at a known HOST:PORT (502 if none answers)",
            Some(s.one::<AddPeerRequest>()),
            (200, Some(s.one::<PeerStatus>())),
        ),
        Endpoint {
            params: vec![
                ParameterBuilder::new()
                    .name("device")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("the device id"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            ],
            ..op(
                HttpMethod::Delete,
                "/v1/peers/{device}",
                "unpair a device: disconnect it and refuse it from now on",
                None,
                (204, None),
            )
        },
        op(
            Get,
            "/v1/pairing",
            "the pairing window: code, expiry, attempts left",
            None,
            (200, Some(s.one::<PairingState>())),
        ),
        op(
            Post,
            "/v1/pairing",
            "open a pairing window and get its code",
            Some(s.one::<PairRequest>()),
            (200, Some(s.one::<PairingState>())),
        ),
        op(
            HttpMethod::Delete,
            "/v1/pairing",
            "close the pairing window",
            None,
            (204, None),
        ),
        op(
            Post,
            "/v1/pairing/join",
            "pair with the device inviting at an address (409 on a wrong code)",
            Some(s.one::<JoinRequest>()),
            (201, Some(s.one::<PeerStatus>())),
        ),
        with_query::<TokenQuery>(op(
            Get,
            "/v1/calendar.ics",
            "plans and personal-time blocks as text/calendar, for calendar apps to subscribe \
             to; the token may be given as ?token=",
            None,
            (200, None),
        )),
        op(
            Get,
            "/v1/phones",
            "phones allowed in over the home network (laptop token only)",
            None,
            (200, Some(s.list::<PhoneView>())),
        ),
        op(
            Post,
            "/v1/phones",
            "add a phone: starts the HTTPS listener and returns its token once (laptop token only)",
            Some(s.one::<NewPhone>()),
            (201, Some(s.one::<PhoneAdded>())),
        ),
        op(
            HttpMethod::Delete,
            "/v1/phones/{id}",
            "revoke a phone (by id prefix or name): its token stops working at once",
            None,
            (200, Some(s.one::<PhoneView>())),
        ),
        op(
            Post,
            "/v1/backup",
            "an archive of both documents taken now, encrypted with the passphrase (age, \
             scrypt), as application/octet-stream (laptop token only)",
            Some(s.one::<BackupRequest>()),
            (200, None),
        ),
        op(
            Get,
            "/v1/backup",
            "automatic backups: their directory and the newest archive (laptop token only)",
            None,
            (200, Some(s.one::<BackupStatus>())),
        ),
        op(
            Post,
            "/v1/backup/auto",
            "set up automatic backups to a directory, kept to the newest N; the secret key \
             is sealed there with the passphrase (laptop token only)",
            Some(s.one::<AutoBackupRequest>()),
            (200, Some(s.one::<BackupStatus>())),
        ),
    ];
    for plan_op in crud::<Plan, NewPlan, PlanPatch>(s, "/v1/plans", "/v1/plans/{id}")
        .into_iter()
        .skip(2)
    {
        all.push(plan_op);
    }
    all.extend(crud::<Idea, NewIdea, IdeaPatch>(
        s,
        "/v1/ideas",
        "/v1/ideas/{id}",
    ));
    all.extend(crud::<Agreement, NewAgreement, AgreementPatch>(
        s,
        "/v1/agreements",
        "/v1/agreements/{id}",
    ));
    all.extend(crud::<Note, NewNote, NotePatch>(
        s,
        "/v1/notes",
        "/v1/notes/{id}",
    ));
    for (item, conflicts) in [
        (
            "/v1/plans/{id}",
            conflict_routes::<Plan> as fn(&mut Schemas, &str) -> Vec<Endpoint>,
        ),
        ("/v1/ideas/{id}", conflict_routes::<Idea>),
        ("/v1/agreements/{id}", conflict_routes::<Agreement>),
        ("/v1/notes/{id}", conflict_routes::<Note>),
    ] {
        all.extend(conflicts(s, item));
    }
    all.extend(
        crud::<PersonalTimeView, NewPersonalTime, PersonalTimePatch>(
            s,
            "/v1/personal-time",
            "/v1/personal-time/{id}",
        ),
    );
    all
}

/// Builds the document.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::default();
    let error = schemas.one::<ErrorBody>();
    let mut paths = PathsBuilder::new();
    for e in endpoints(&mut schemas) {
        let mut operation = OperationBuilder::new()
            .summary(Some(e.summary))
            .parameters(Some(e.params))
            .security(SecurityRequirement::new::<_, _, &str>("bearer", []));
        if let Some(body) = e.body {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(body)).build(),
                    )
                    .build(),
            ));
        }
        let (status, body) = e.ok;
        let mut ok = ResponseBuilder::new().description("success");
        if let Some(body) = body {
            ok = ok.content(
                "application/json",
                ContentBuilder::new().schema(Some(body)).build(),
            );
        }
        let error_response = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(error.clone())).build(),
                )
                .build()
        };
        operation = operation
            .response(status.to_string(), ok.build())
            .response(
                "400",
                error_response("invalid request: the message names the field"),
            )
            .response("401", error_response("missing or wrong bearer token"))
            .response("403", error_response("foreign Host or Origin"))
            .response("404", error_response("no such id or route"))
            .response("413", error_response("body over 64 KiB"))
            .response(
                "429",
                error_response("too many wrong phone tokens from this address; see Retry-After"),
            );
        if let Some(what) = e.conflict {
            operation = operation.response("409", error_response(what));
        }
        paths = paths.path(e.path, PathItem::new(e.method, operation));
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    for (name, schema) in schemas.0 {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("tandem local API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The API of tandemd: on 127.0.0.1 with the token in api.token of the data home, \
                     and, once a phone is added, over HTTPS on the home network with that \
                     phone's token (no pairing or phone routes there).",
                )),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_referenced_schema_is_defined() {
        let doc = serde_json::to_value(document()).unwrap();
        let text = doc.to_string();
        let defined = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                defined.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        assert!(doc["paths"]["/v1/plans/{id}"]["patch"].is_object());
        assert!(doc["paths"]["/v1/plans"]["post"].is_object());
        assert!(doc["paths"]["/v1/checkins"]["post"]["responses"]["409"].is_object());
    }
}
