//! What the peer hub knows, behind one lock: the book of pinned devices, one record per
//! pinned device (its live connection, when it was last seen, its dial backoff, what its
//! last Hello said, whether it is in sync, how its address was learned) and the pairing
//! window.
//!
//! Every change is one method on [`Peers`] that finds out what to do before it writes, so
//! a status never sees half an update and a panic leaves no half-written record. The lock
//! is reached only through [`Shared::with`], whose closure cannot await: no caller holds it
//! across an `.await` or while taking another lock. Nothing here does I/O; the book is
//! written to `peers.toml` by the hub after letting go.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use parking_lot::Mutex;
use tandem_protocol::api::PeerStatus;
use tandem_protocol::device::DeviceId;
use tandem_protocol::pairing::PairingWindow;
use tandem_protocol::time::Stamp;
use tokio::sync::watch;

use super::Route;
use super::framed::Traffic;
use crate::peers::{PeerBook, PeerEntry};

/// First and longest wait between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Connections registered within this window of each other are a simultaneous dial.
const RACE_WINDOW: Duration = Duration::from_secs(5);

/// The peer state behind its one lock, shared by the hub, its tasks and the TLS verifiers.
pub(super) struct Shared(Mutex<Peers>);

impl Shared {
    /// The state of a daemon that has just loaded `book`.
    pub(super) fn new(book: PeerBook) -> Self {
        Self(Mutex::new(Peers {
            book,
            devices: HashMap::new(),
            window: None,
            next_serial: 0,
        }))
    }

    /// Runs `f` on the state under the lock: the only place the lock is taken. `f` cannot
    /// await, so the lock is held for a few map operations only. The lock does not poison:
    /// a panic in `f` is a bug that, since every method decides before it writes, left
    /// nothing half-changed.
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Peers) -> T) -> T {
        f(&mut self.0.lock())
    }
}

/// Everything the hub knows about peers.
pub(super) struct Peers {
    /// The pinned devices, as `peers.toml` will hold them; the TLS verifiers ask it on every
    /// handshake.
    pub(super) book: PeerBook,
    /// One record per pinned device that something happened to since the start; unpinning a
    /// device drops its record.
    devices: HashMap<DeviceId, DeviceState>,
    /// The pairing code this device offers, while one is open (or recently was).
    pub(super) window: Option<PairingWindow>,
    /// The serial the next registered connection gets.
    next_serial: u64,
}

/// What is known of one pinned device.
#[derive(Default)]
struct DeviceState {
    /// The connection kept for it, if one is up.
    live: Option<Live>,
    /// When a connection to it last started or ended.
    last_seen: Option<Stamp>,
    /// When the dial loop may try it again after failures; none: at once.
    backoff: Option<Backoff>,
    /// Whether a dial attempt to it is under way, so the dial loop starts no second one.
    dialing: bool,
    /// Its clock minus ours at its last Hello, in milliseconds.
    clock_skew_ms: Option<i64>,
    /// The schema version its build announced at its last Hello.
    schema: Option<u32>,
    /// Whether it had everything we have, as of its last message (shown only while
    /// connected).
    in_sync: bool,
    /// How its address was learned.
    found_by: FoundBy,
}

/// A live connection.
struct Live {
    /// Tells the connection task to close.
    close: watch::Sender<bool>,
    /// Which side dialed: decides which of two simultaneous connections stays.
    dialed_by: DeviceId,
    /// The peer's address.
    addr: SocketAddr,
    /// Our address on this connection.
    local: Option<IpAddr>,
    /// Distinguishes this connection from a later one to the same device.
    serial: u64,
    /// Bytes moved.
    traffic: Arc<Traffic>,
    /// When the connection was registered.
    registered_at: Instant,
}

/// Reconnection bookkeeping of one device.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    /// No dial before this.
    next_try: Instant,
    /// The wait that led to `next_try`, without its jitter: the next failure doubles it.
    delay: Duration,
}

impl Backoff {
    /// The wait after another failed attempt at `now`: twice the last one (the first is
    /// [`BACKOFF_MIN`]), at most [`BACKOFF_MAX`], plus up to a quarter more at random so
    /// two daemons that lost each other do not dial in lockstep.
    fn after(previous: Option<Backoff>, now: Instant) -> Self {
        let delay = (previous.map_or(BACKOFF_MIN / 2, |b| b.delay) * 2).min(BACKOFF_MAX);
        let jitter = delay.mul_f64(rand::random_range(0.0..0.25));
        Self {
            next_try: now + delay + jitter,
            delay,
        }
    }
}

/// How a device's address was learned, as `tandem peers` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum FoundBy {
    /// Pairing: the address the pairing connection came from or went to.
    #[default]
    Pairing,
    /// Its mDNS announcement.
    Mdns,
    /// `tandem peer add HOST:PORT`.
    Manual,
}

impl FoundBy {
    /// Its name in [`PeerStatus::found_by`].
    fn name(self) -> &'static str {
        match self {
            FoundBy::Pairing => "pairing",
            FoundBy::Mdns => "mdns",
            FoundBy::Manual => "manual",
        }
    }
}

impl Peers {
    /// The record of `device`, made on first use; `None` unless it is pinned, so no record
    /// outlives its device's pairing.
    fn record(&mut self, device: &DeviceId) -> Option<&mut DeviceState> {
        self.book.get(device)?;
        Some(self.devices.entry(*device).or_default())
    }

    /// Whether `device` is pinned.
    pub(super) fn is_paired(&self, device: &DeviceId) -> bool {
        self.book.get(device).is_some()
    }

    /// Whether a pairing code was opened recently enough to answer pairing requests (it
    /// may be spent or expired: the joiner is then told why in a pairing message). A stale
    /// window is forgotten, so the pairing protocol is refused in the handshake again.
    pub(super) fn pairing_open(&mut self, now: Timestamp) -> bool {
        if self.window.as_ref().is_some_and(|w| w.stale(now)) {
            self.window = None;
        }
        self.window.is_some()
    }

    /// The pinned devices with an address to dial that are neither connected, nor being
    /// dialed, nor waiting out a backoff at `now`; each is marked as being dialed, so the
    /// caller owns its attempt and reports it with [`Peers::dialed`].
    pub(super) fn due_for_dialing(&mut self, now: Instant) -> Vec<PeerEntry> {
        let due: Vec<PeerEntry> = self
            .book
            .all()
            .iter()
            .filter(|p| !p.addrs.is_empty())
            .filter(|p| {
                self.devices.get(&p.device_id).is_none_or(|r| {
                    r.live.is_none() && !r.dialing && r.backoff.is_none_or(|b| b.next_try <= now)
                })
            })
            .cloned()
            .collect();
        for peer in &due {
            self.devices.entry(peer.device_id).or_default().dialing = true;
        }
        due
    }

    /// Ends the dial attempt to `device` at `now`: a success forgets its backoff, a failure
    /// makes it wait longer.
    pub(super) fn dialed(&mut self, device: &DeviceId, connected: bool, now: Instant) {
        let Some(record) = self.record(device) else {
            return;
        };
        record.dialing = false;
        record.backoff = (!connected).then(|| Backoff::after(record.backoff, now));
    }

    /// Registers a connection to `device` after the Hello exchange, at `now`. Of two
    /// connections to the same device, both sides keep the one dialed by the lower device
    /// id (`me` is ours), or the newer, if the same side dialed both, or if the new one runs
    /// between other addresses: a laptop changed address and the old connection is dead.
    /// Returns the serial and close signal, or `None` if this connection is the one to drop
    /// (or the device was unpinned while it said Hello).
    pub(super) fn register(
        &mut self,
        me: DeviceId,
        device: DeviceId,
        dialed_by: DeviceId,
        route: Route,
        traffic: Arc<Traffic>,
        now: Instant,
    ) -> Option<(u64, watch::Receiver<bool>)> {
        let serial = self.next_serial;
        self.next_serial += 1;
        let record = self.record(&device)?;
        if let Some(existing) = &record.live {
            // Two fresh connections are a race: both sides keep the one the lower device id
            // dialed. An older one is stale (the peer redialed because it lost it, e.g. it
            // restarted), so the new one wins.
            // A new connection between other addresses means the network changed under the
            // existing one (a new DHCP lease on either side): the existing one is dead even
            // if it is young.
            let race = now.duration_since(existing.registered_at) < RACE_WINDOW
                && existing.addr.ip() == route.remote.ip()
                && existing.local == route.local;
            let keep_existing =
                race && existing.dialed_by != dialed_by && existing.dialed_by == me.min(device);
            if keep_existing {
                return None;
            }
            let _ = existing.close.send(true);
        }
        let (close, closed) = watch::channel(false);
        record.live = Some(Live {
            close,
            dialed_by,
            addr: route.remote,
            local: route.local,
            serial,
            traffic,
            registered_at: now,
        });
        record.backoff = None;
        record.last_seen = Some(Stamp(Timestamp::now()));
        Some((serial, closed))
    }

    /// The connection `serial` to `device` ended; a newer one to it stays registered.
    pub(super) fn unregister(&mut self, device: &DeviceId, serial: u64) {
        let Some(record) = self.devices.get_mut(device) else {
            return;
        };
        if record.live.as_ref().is_some_and(|l| l.serial == serial) {
            record.live = None;
        }
        record.last_seen = Some(Stamp(Timestamp::now()));
    }

    /// Unpins `device`, closes its connection and forgets its record; `false` if it was not
    /// pinned. The book still has to be written.
    pub(super) fn unpin(&mut self, device: &DeviceId) -> bool {
        if !self.book.remove(device) {
            return false;
        }
        if let Some(live) = self.devices.remove(device).and_then(|r| r.live) {
            let _ = live.close.send(true);
        }
        true
    }

    /// Records what `device`'s Hello said: how far its clock is from ours and the schema
    /// version its build knows.
    pub(super) fn heard_hello(&mut self, device: &DeviceId, clock_skew_ms: i64, schema: u32) {
        if let Some(record) = self.record(device) {
            record.clock_skew_ms = Some(clock_skew_ms);
            record.schema = Some(schema);
        }
    }

    /// Records whether `device` is in sync with us.
    pub(super) fn set_in_sync(&mut self, device: &DeviceId, in_sync: bool) {
        if let Some(record) = self.record(device) {
            record.in_sync = in_sync;
        }
    }

    /// Records how `device`'s address was learned.
    pub(super) fn found(&mut self, device: &DeviceId, by: FoundBy) {
        if let Some(record) = self.record(device) {
            record.found_by = by;
        }
    }

    /// mDNS saw `device` at `addrs` (best first). If it is pinned, remembers them and skips
    /// its backoff (it just said it is here); returns the address to dial now if its live
    /// connection runs to none of them (its address changed and that connection is
    /// probably dead). The book may have changed and then has to be written.
    pub(super) fn discovered(
        &mut self,
        device: &DeviceId,
        addrs: &[SocketAddr],
    ) -> Option<SocketAddr> {
        for addr in addrs.iter().rev() {
            self.book.remember_addr(device, *addr);
        }
        let record = self.record(device)?;
        record.found_by = FoundBy::Mdns;
        record.backoff = None;
        let live = record.live.as_ref()?;
        if addrs.iter().any(|a| a.ip() == live.addr.ip()) {
            return None;
        }
        addrs.first().copied()
    }

    /// Every pinned device and its state, in pairing order.
    pub(super) fn status(&self) -> Vec<PeerStatus> {
        let never_heard_of = DeviceState::default();
        self.book
            .all()
            .iter()
            .map(|p| {
                let record = self.devices.get(&p.device_id).unwrap_or(&never_heard_of);
                let live = record.live.as_ref();
                let traffic = |count: fn(&Traffic) -> u64| live.map_or(0, |l| count(&l.traffic));
                PeerStatus {
                    device_id: p.device_id,
                    name: p.name.clone(),
                    relation: p.relation,
                    connected: live.is_some(),
                    addr: live
                        .map(|l| l.addr)
                        .or(p.addrs.first().copied())
                        .map(|a| a.to_string()),
                    last_seen: record.last_seen,
                    clock_skew_ms: record.clock_skew_ms,
                    schema: record.schema,
                    in_sync: live.is_some() && record.in_sync,
                    found_by: record.found_by.name().to_owned(),
                    bytes_sent: traffic(|t| t.sent.load(std::sync::atomic::Ordering::Relaxed)),
                    bytes_received: traffic(|t| {
                        t.received.load(std::sync::atomic::Ordering::Relaxed)
                    }),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home::Home;
    use tandem_protocol::ids::PersonId;
    use tandem_protocol::pairing::Relation;

    fn device(n: u8) -> DeviceId {
        DeviceId::of_certificate(&[n])
    }

    fn entry(device: DeviceId, addrs: &[&str]) -> PeerEntry {
        PeerEntry {
            device_id: device,
            name: "Sam".into(),
            person: PersonId::parse("sam").unwrap(),
            relation: Relation::Partner,
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            paired_at: Stamp(Timestamp::now()),
            mailbox: Default::default(),
        }
    }

    /// State whose book pins `pinned`; the book lives in a temporary home that is never
    /// written.
    fn peers(pinned: &[PeerEntry]) -> (tempfile::TempDir, Peers) {
        let dir = tempfile::tempdir().unwrap();
        let mut book = PeerBook::load(&Home::resolve(Some(dir.path().to_owned()))).unwrap();
        for entry in pinned {
            book.pin(entry.clone());
        }
        let Shared(state) = Shared::new(book);
        (dir, state.into_inner())
    }

    fn route(remote: &str, local: &str) -> Route {
        Route {
            remote: remote.parse().unwrap(),
            local: Some(local.parse().unwrap()),
        }
    }

    /// Registers a connection from `them` to `me` (or the other way) at `now`.
    fn connect(
        peers: &mut Peers,
        (me, them): (DeviceId, DeviceId),
        dialed_by: DeviceId,
        route: Route,
        now: Instant,
    ) -> Option<(u64, watch::Receiver<bool>)> {
        peers.register(me, them, dialed_by, route, Arc::default(), now)
    }

    fn closed(signal: &watch::Receiver<bool>) -> bool {
        *signal.borrow()
    }

    #[test]
    fn a_simultaneous_dial_keeps_the_connection_the_lower_id_dialed() {
        let (low, high) = if device(1) < device(2) {
            (device(1), device(2))
        } else {
            (device(2), device(1))
        };
        let here = route("10.0.0.2:4000", "10.0.0.1");
        let now = Instant::now();

        // Seen from the higher id: its own dial came first, the lower id's wins.
        let (_, mut state) = peers(&[entry(low, &[])]);
        let (first, first_closed) = connect(&mut state, (high, low), high, here, now).unwrap();
        let (second, second_closed) = connect(&mut state, (high, low), low, here, now).unwrap();
        assert_ne!(first, second);
        assert!(closed(&first_closed), "the higher id's dial is closed");
        assert!(!closed(&second_closed));

        // Seen from the lower id: its own dial stays, the higher id's is refused.
        let (_, mut state) = peers(&[entry(high, &[])]);
        let (_, kept) = connect(&mut state, (low, high), low, here, now).unwrap();
        assert!(connect(&mut state, (low, high), high, here, now).is_none());
        assert!(!closed(&kept));
        assert!(state.status()[0].connected);
    }

    #[test]
    fn a_newer_connection_replaces_a_stale_one_or_one_on_other_addresses() {
        let (me, them) = (device(1), device(2));
        let preferred = me.min(them);
        let other = me.max(them);
        let (_, mut state) = peers(&[entry(them, &[])]);
        let start = Instant::now();
        let here = route("10.0.0.2:4000", "10.0.0.1");
        let (_, old) = connect(&mut state, (me, them), preferred, here, start).unwrap();
        // Past the race window the peer redialed because it lost the old one.
        let later = start + RACE_WINDOW;
        let (_, newer) = connect(&mut state, (me, them), other, here, later).unwrap();
        assert!(closed(&old));
        // Within the window but between other addresses: the network changed.
        let moved = route("10.0.9.2:4000", "10.0.0.1");
        let (_, newest) = connect(&mut state, (me, them), preferred, moved, later).unwrap();
        assert!(closed(&newer));
        assert!(!closed(&newest));
        assert_eq!(state.status()[0].addr.as_deref(), Some("10.0.9.2:4000"));
    }

    #[test]
    fn only_the_registered_connection_unregisters_its_device() {
        let (me, them) = (device(1), device(2));
        let (_, mut state) = peers(&[entry(them, &[])]);
        let here = route("10.0.0.2:4000", "10.0.0.1");
        let now = Instant::now();
        let (old, _) = connect(&mut state, (me, them), me, here, now).unwrap();
        let (new, _) = connect(&mut state, (me, them), me, here, now).unwrap();
        state.unregister(&them, old);
        assert!(
            state.status()[0].connected,
            "the replaced one leaving changes nothing"
        );
        state.unregister(&them, new);
        let status = &state.status()[0];
        assert!(!status.connected);
        assert!(status.last_seen.is_some());
    }

    #[test]
    fn a_device_is_dialed_once_at_a_time_and_waits_longer_after_each_failure() {
        let them = device(2);
        let (_, mut state) = peers(&[entry(them, &["10.0.0.2:4000"]), entry(device(3), &[])]);
        let now = Instant::now();
        let due = state.due_for_dialing(now);
        assert_eq!(
            due.iter().map(|p| p.device_id).collect::<Vec<_>>(),
            [them],
            "a device without addresses is not dialed"
        );
        assert!(
            state.due_for_dialing(now).is_empty(),
            "already being dialed"
        );

        let mut waits = Vec::new();
        for _ in 0..8 {
            state.dialed(&them, false, now);
            let backoff = state.devices[&them].backoff.unwrap();
            assert!(backoff.next_try >= now + backoff.delay);
            assert!(backoff.next_try <= now + backoff.delay.mul_f64(1.25));
            assert!(
                state.due_for_dialing(now).is_empty(),
                "waiting out the backoff"
            );
            assert_eq!(state.due_for_dialing(backoff.next_try).len(), 1);
            waits.push(backoff.delay);
        }
        assert_eq!(waits[0], BACKOFF_MIN);
        assert_eq!(waits[1], BACKOFF_MIN * 2);
        assert_eq!(*waits.last().unwrap(), BACKOFF_MAX);

        state.dialed(&them, true, now);
        assert!(state.devices[&them].backoff.is_none());
        assert_eq!(state.due_for_dialing(now).len(), 1);
    }

    #[test]
    fn a_connected_device_is_not_dialed_and_connecting_forgets_the_backoff() {
        let (me, them) = (device(1), device(2));
        let (_, mut state) = peers(&[entry(them, &["10.0.0.2:4000"])]);
        let now = Instant::now();
        state.due_for_dialing(now);
        state.dialed(&them, false, now);
        let here = route("10.0.0.2:4000", "10.0.0.1");
        // The peer dialed us meanwhile.
        connect(&mut state, (me, them), them, here, now).unwrap();
        assert!(state.devices[&them].backoff.is_none());
        assert!(state.due_for_dialing(now + BACKOFF_MAX * 2).is_empty());
    }

    #[test]
    fn unpinning_closes_the_connection_and_forgets_the_device() {
        let (me, them) = (device(1), device(2));
        let (_, mut state) = peers(&[entry(them, &[])]);
        let now = Instant::now();
        let here = route("10.0.0.2:4000", "10.0.0.1");
        let (serial, signal) = connect(&mut state, (me, them), me, here, now).unwrap();
        state.found(&them, FoundBy::Manual);
        let revision = state.book.revision();

        assert!(state.unpin(&them));
        assert!(closed(&signal));
        assert!(
            state.book.revision() > revision,
            "the book has to be written"
        );
        assert!(!state.unpin(&them), "already gone");
        assert!(state.status().is_empty());
        // Its connection ending, or a late update, brings back no record.
        state.unregister(&them, serial);
        state.set_in_sync(&them, true);
        state.heard_hello(&them, 5, 2);
        assert!(state.devices.is_empty());
        assert!(connect(&mut state, (me, them), me, here, now).is_none());

        // Paired again, it starts afresh.
        state.book.pin(entry(them, &[]));
        let status = &state.status()[0];
        assert_eq!(status.found_by, "pairing");
        assert!(status.last_seen.is_none());
    }

    #[test]
    fn status_shows_each_record_and_in_sync_only_while_connected() {
        let (me, them) = (device(1), device(2));
        let (_, mut state) = peers(&[entry(them, &["10.0.0.2:4000"])]);
        let status = &state.status()[0];
        assert_eq!(
            (status.connected, status.in_sync, status.found_by.as_str()),
            (false, false, "pairing")
        );
        assert_eq!(status.addr.as_deref(), Some("10.0.0.2:4000"));

        state.heard_hello(&them, -1500, 3);
        let here = route("10.0.0.7:4100", "10.0.0.1");
        let (serial, _) = connect(&mut state, (me, them), them, here, Instant::now()).unwrap();
        state.set_in_sync(&them, true);
        let status = &state.status()[0];
        assert_eq!(
            (
                status.connected,
                status.in_sync,
                status.clock_skew_ms,
                status.schema
            ),
            (true, true, Some(-1500), Some(3))
        );
        assert_eq!(status.addr.as_deref(), Some("10.0.0.7:4100"));

        state.unregister(&them, serial);
        let status = &state.status()[0];
        assert!(!status.in_sync, "not in sync with a device that is gone");
        assert_eq!(status.clock_skew_ms, Some(-1500), "its last Hello is kept");
    }

    #[test]
    fn an_announcement_is_remembered_and_a_moved_device_redialed() {
        let (me, them, stranger) = (device(1), device(2), device(3));
        let (_, mut state) = peers(&[entry(them, &["10.0.0.2:4000"])]);
        let announced: Vec<SocketAddr> = vec![
            "10.0.5.2:4000".parse().unwrap(),
            "10.0.0.2:4000".parse().unwrap(),
        ];

        assert_eq!(state.discovered(&stranger, &announced), None);
        assert!(state.devices.is_empty(), "no record for a stranger");

        let now = Instant::now();
        state.due_for_dialing(now);
        state.dialed(&them, false, now);
        assert_eq!(state.discovered(&them, &announced), None, "not connected");
        assert_eq!(state.book.get(&them).unwrap().addrs, announced);
        assert!(
            state.devices[&them].backoff.is_none(),
            "it just said it is here"
        );
        assert_eq!(state.status()[0].found_by, "mdns");

        let here = route("10.0.0.2:4000", "10.0.0.1");
        connect(&mut state, (me, them), me, here, now).unwrap();
        assert_eq!(
            state.discovered(&them, &announced),
            None,
            "still at one of them"
        );
        let moved: Vec<SocketAddr> = vec!["10.0.7.2:4000".parse().unwrap()];
        assert_eq!(state.discovered(&them, &moved), Some(moved[0]));
    }

    #[test]
    fn a_stale_pairing_window_is_forgotten() {
        use tandem_protocol::pairing::{PairingCode, PairingWindow};
        let (_, mut state) = peers(&[]);
        let opened = Timestamp::now();
        assert!(!state.pairing_open(opened));
        state.window = Some(PairingWindow::open(
            PairingCode::from_random(7),
            Relation::Partner,
            opened,
        ));
        assert!(state.pairing_open(opened));
        let much_later = opened + jiff::SignedDuration::from_hours(1);
        assert!(!state.pairing_open(much_later));
        assert!(state.window.is_none());
        assert!(!state.pairing_open(opened));
    }
}
