//! `/v1/peers` and `/v1/pairing`: paired devices and pairing new ones.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tandem_protocol::api::{
    AddPeerRequest, DevicePath, ErrorBody, JoinRequest, NearbyDevice, PairRequest, PairingState,
    PeerStatus, check_peer_addr, paths,
};
use tandem_protocol::device::DeviceId;
use tandem_protocol::pairing::{PairingCode, PairingError, Relation};
use utoipa_axum::routes;

use super::error::{Body, Segment};
use super::openapi::{BadBody, BadParams, Conflict, Guarded, Missing};
use super::{ApiError, AppState, Routes};
use crate::peer::PeerError;

/// The routes (laptop only).
pub fn routes() -> Routes {
    Routes::default()
        .routes(routes!(list_peers, add_peer))
        .routes(routes!(nearby_devices))
        .routes(routes!(unpair))
        .routes(routes!(pairing_state, open_pairing, close_pairing))
        .routes(routes!(join_pairing))
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

/// Paired devices and whether they are connected.
#[utoipa::path(get, path = paths::PEERS, tag = "peers",
    responses((status = 200, body = Vec<PeerStatus>), Guarded))]
async fn list_peers(State(state): State<AppState>) -> Json<Vec<PeerStatus>> {
    Json(state.hub.status())
}

/// Connects to a paired device at a known `HOST:PORT` (502 if none answers there).
#[utoipa::path(post, path = paths::PEERS, tag = "peers", request_body = AddPeerRequest,
    responses(
        (status = 200, body = PeerStatus),
        (status = 502, description = "nothing answered at that address as a paired device", body = ErrorBody),
        BadBody, Guarded,
    ))]
async fn add_peer(
    State(state): State<AppState>,
    Body(req): Body<AddPeerRequest>,
) -> Result<Json<PeerStatus>, ApiError> {
    check_peer_addr("addr", &req.addr)?;
    let device = state.hub.add_address(&req.addr).await?;
    state
        .hub
        .status()
        .into_iter()
        .find(|p| p.device_id == device)
        .map(Json)
        .ok_or_else(|| ApiError::internal("the device connected but is not in the peer list"))
}

/// Unpairs a device: disconnects it and refuses it from now on.
#[utoipa::path(delete, path = paths::PEER, tag = "peers", params(DevicePath),
    responses((status = 204, description = "unpaired"), BadParams, Missing, Guarded))]
async fn unpair(
    State(state): State<AppState>,
    Segment(DevicePath { device }): Segment<DevicePath>,
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

/// The pairing window: code, expiry, attempts left.
#[utoipa::path(get, path = paths::PAIRING, tag = "pairing",
    responses((status = 200, body = PairingState), Guarded))]
async fn pairing_state(State(state): State<AppState>) -> Json<PairingState> {
    Json(state.hub.pairing_state())
}

/// Opens a pairing window and shows its code.
#[utoipa::path(post, path = paths::PAIRING, tag = "pairing", request_body = PairRequest,
    responses((status = 200, body = PairingState), BadBody, Guarded))]
async fn open_pairing(
    State(state): State<AppState>,
    Body(req): Body<PairRequest>,
) -> impl IntoResponse {
    state.hub.open_pairing(relation(req.own));
    // The code is a secret for its window: no copy is kept for a retry's answer.
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(state.hub.pairing_state()),
    )
}

/// Closes the pairing window.
#[utoipa::path(delete, path = paths::PAIRING, tag = "pairing",
    responses((status = 204, description = "closed"), Guarded))]
async fn close_pairing(State(state): State<AppState>) -> StatusCode {
    state.hub.close_pairing();
    StatusCode::NO_CONTENT
}

/// Pairs with the device inviting at an address, or found by mDNS (409 on a wrong code).
#[utoipa::path(post, path = paths::PAIRING_JOIN, tag = "pairing", request_body = JoinRequest,
    responses(
        (status = 201, body = PeerStatus),
        BadBody, Missing, Conflict, Guarded,
    ))]
async fn join_pairing(
    State(state): State<AppState>,
    Body(req): Body<JoinRequest>,
) -> Result<(StatusCode, Json<PeerStatus>), ApiError> {
    let code = PairingCode::parse(&req.code)?;
    if let Some(addr) = &req.addr {
        check_peer_addr("addr", addr)?;
    }
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

/// Tandem devices seen on this network by mDNS, paired or not.
#[utoipa::path(get, path = paths::PEERS_NEARBY, tag = "peers",
    responses((status = 200, body = Vec<NearbyDevice>), Guarded))]
async fn nearby_devices(State(state): State<AppState>) -> Json<Vec<NearbyDevice>> {
    let devices = state
        .discovery
        .as_ref()
        .map(|d| d.nearby(|id| state.hub.is_paired(id)))
        .unwrap_or_default();
    Json(devices)
}
