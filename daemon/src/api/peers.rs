//! `/v1/peers` and `/v1/pairing`: paired devices and pairing new ones.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tandem_protocol::api::{
    AddPeerRequest, JoinRequest, NearbyDevice, PairRequest, PairingState, PeerStatus,
};
use tandem_protocol::device::DeviceId;
use tandem_protocol::pairing::{PairingCode, PairingError, Relation};

use super::error::Body;
use super::{ApiError, AppState};
use crate::peer::PeerError;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/peers", get(list).post(add))
        .route("/v1/peers/nearby", get(nearby))
        .route("/v1/peers/{device}", axum::routing::delete(remove))
        .route("/v1/pairing", get(state).post(open).delete(close))
        .route("/v1/pairing/join", post(join))
}

fn relation(own: bool) -> Relation {
    if own {
        Relation::Own
    } else {
        Relation::Partner
    }
}

impl From<PeerError> for ApiError {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Unreachable { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "unreachable", e.to_string())
            }
            PeerError::UnknownDevice(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            PeerError::Home(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<PairingError> for ApiError {
    fn from(e: PairingError) -> Self {
        let code = match e {
            PairingError::BadCode => "bad_code",
            PairingError::WrongCode { .. } => "wrong_code",
            PairingError::LockedOut => "locked_out",
            PairingError::Expired => "expired",
            PairingError::NotOpen => "not_open",
            PairingError::RelationMismatch => "relation_mismatch",
            PairingError::Busy => "busy",
            PairingError::TooSlow => "too_slow",
            PairingError::Unproven => "unproven",
            PairingError::Refused(_) => "refused",
            PairingError::Protocol(_) => "pairing_failed",
        };
        let status = if matches!(e, PairingError::BadCode) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::CONFLICT
        };
        ApiError::new(status, code, e.to_string())
    }
}

async fn list(State(state): State<AppState>) -> Json<Vec<PeerStatus>> {
    Json(state.hub.status())
}

async fn add(
    State(state): State<AppState>,
    Body(req): Body<AddPeerRequest>,
) -> Result<Json<PeerStatus>, ApiError> {
    let device = state.hub.add_address(&req.addr).await?;
    state
        .hub
        .status()
        .into_iter()
        .find(|p| p.device_id == device)
        .map(Json)
        .ok_or_else(|| ApiError::internal("the device connected but is not in the peer list"))
}

async fn remove(
    State(state): State<AppState>,
    Path(device): Path<String>,
) -> Result<StatusCode, ApiError> {
    let device: DeviceId =
        device
            .parse()
            .map_err(|e: tandem_protocol::error::ValidationError| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string())
            })?;
    state.hub.remove(&device).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn state(State(state): State<AppState>) -> Json<PairingState> {
    Json(state.hub.pairing_state())
}

async fn open(State(state): State<AppState>, Body(req): Body<PairRequest>) -> Json<PairingState> {
    state.hub.open_pairing(relation(req.own));
    Json(state.hub.pairing_state())
}

async fn close(State(state): State<AppState>) -> StatusCode {
    state.hub.close_pairing();
    StatusCode::NO_CONTENT
}

async fn join(
    State(state): State<AppState>,
    Body(req): Body<JoinRequest>,
) -> Result<(StatusCode, Json<PeerStatus>), ApiError> {
    let code = PairingCode::parse(&req.code)?;
    let relation = relation(req.own);
    let candidates: Vec<String> = match (&req.addr, &state.discovery) {
        (Some(addr), _) => vec![addr.clone()],
        (None, Some(discovery)) => discovery
            .nearby(|id| state.hub.is_paired(id))
            .into_iter()
            .filter(|d| !d.paired)
            .flat_map(|d| d.addrs)
            .collect(),
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "no_discovery",
                "mDNS is off on this laptop: give the other laptop's address with --addr HOST:PORT",
            ));
        }
    };
    if candidates.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "nobody_nearby",
            "no unpaired tandem device found on this network: check both laptops are on the same Wi-Fi, or give --addr HOST:PORT",
        ));
    }
    let mut last = PairingError::NotOpen;
    for addr in candidates {
        match state.hub.join(code, &addr, relation).await {
            Ok(entry) => {
                // Connect for sync right away rather than waiting for the dial loop.
                let device = state
                    .hub
                    .add_address(&addr)
                    .await
                    .unwrap_or(entry.device_id);
                let status = state
                    .hub
                    .status()
                    .into_iter()
                    .find(|p| p.device_id == device);
                return status
                    .map(|s| (StatusCode::CREATED, Json(s)))
                    .ok_or_else(|| {
                        ApiError::internal("paired, but the device is missing from the peer list")
                    });
            }
            // Not the inviting device (or not reachable at this address): try the next.
            Err(e @ (PairingError::NotOpen | PairingError::Protocol(_))) => last = e,
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.into())
}

async fn nearby(State(state): State<AppState>) -> Json<Vec<NearbyDevice>> {
    let devices = state
        .discovery
        .as_ref()
        .map(|d| d.nearby(|id| state.hub.is_paired(id)))
        .unwrap_or_default();
    Json(devices)
}
