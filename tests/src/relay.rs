//! A bad Wi-Fi link in userspace: a loopback TCP relay that delays every chunk and now and
//! then cuts the connection. Used where the kernel has no `tc netem`; stops on drop.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// A running relay.
pub struct FlakyRelay {
    /// Where to connect instead of the target.
    pub addr: SocketAddr,
    /// Connections it cut on purpose.
    pub cuts: Arc<AtomicU64>,
    /// Chance per chunk of cutting the connection, as `f64` bits.
    cut_chance: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Duration,
    cut_chance: Arc<AtomicU64>,
    cuts: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = [0u8; 16 * 1024];
    let _ = from.set_read_timeout(Some(Duration::from_millis(200)));
    while !stop.load(Ordering::Relaxed) {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => break,
        };
        std::thread::sleep(delay);
        if rand::random_bool(f64::from_bits(cut_chance.load(Ordering::Relaxed))) {
            cuts.fetch_add(1, Ordering::Relaxed);
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl FlakyRelay {
    /// Relays to `target` with `delay` each way, cutting a connection with probability
    /// `cut_chance` per chunk.
    pub fn start(target: SocketAddr, delay: Duration, cut_chance: f64) -> Self {
        let chance = Arc::new(AtomicU64::new(cut_chance.to_bits()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("relay address");
        let stop = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicU64::new(0));
        let (stop_loop, cuts_loop, chance_loop) = (stop.clone(), cuts.clone(), chance.clone());
        std::thread::spawn(move || {
            while !stop_loop.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                for (from, to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ] {
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let (stop, cuts, chance) =
                        (stop_loop.clone(), cuts_loop.clone(), chance_loop.clone());
                    std::thread::spawn(move || pump(from, to, delay, chance, cuts, stop));
                }
            }
        });
        Self {
            addr,
            cuts,
            cut_chance: chance,
            stop,
        }
    }

    /// Changes how often connections are cut from now on.
    pub fn set_cut_chance(&self, chance: f64) {
        self.cut_chance.store(chance.to_bits(), Ordering::Relaxed);
    }
}

impl Drop for FlakyRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
