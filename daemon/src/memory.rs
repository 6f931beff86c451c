//! Giving the system back the memory the daemon freed.
//!
//! `tandemd` runs in the background all day, so what it holds while idle matters more
//! than what it peaks at. Loading a 10k-entity document peaks at about 78 MB of heap
//! (Automerge builds its indexes), most of it freed at once; glibc's allocator keeps such
//! freed pages in its arenas for reuse, so the daemon stayed at 68 MiB resident while it
//! used about 40. Two glibc calls fix that, and nothing else here touches the allocator:
//! - fewer arenas ([`use_few_arenas`]): glibc gives busy threads arenas of their own, up to
//!   eight per core, and each keeps its own freed pages; the daemon's few threads share two;
//! - `malloc_trim` once the daemon falls quiet after a burst of work ([`release_after_bursts`]),
//!   which returns every arena's free pages.
//!
//! Elsewhere (musl, macOS) both do nothing: those allocators return memory themselves.

use std::time::Duration;

use tokio::sync::watch;

use crate::writer::Writer;

/// How long the writer must have run nothing (and be running nothing) before freed memory
/// is given back: long enough that a burst (start-up, a first sync, a backup) is over,
/// short enough that an idle daemon is small within seconds of it.
const QUIET: Duration = Duration::from_secs(2);

/// The arenas the daemon's threads share (glibc's default is eight per core).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Limits glibc to [`ARENAS`] arenas. Call before any thread starts, as `mallopt` asks.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's mallopt has no safe binding")]
pub fn use_few_arenas() {
    // SAFETY: `mallopt` takes no pointers; M_ARENA_MAX only bounds how many arenas glibc
    // creates from now on, and no other thread allocates yet.
    let accepted = unsafe { libc::mallopt(libc::M_ARENA_MAX, ARENAS) };
    if accepted != 1 {
        tracing::debug!("glibc kept its default number of arenas");
    }
}

/// Elsewhere the allocator sizes itself.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn use_few_arenas() {}

/// Returns the free pages of every arena to the system; whether any came back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's malloc_trim has no safe binding")]
fn release_freed() -> bool {
    // SAFETY: `malloc_trim` takes no pointers and locks each arena while it trims it.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Elsewhere the allocator returns memory itself.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed() -> bool {
    false
}

/// Gives freed memory back each time the writer falls quiet for [`QUIET`] after running
/// operations, starting with start-up's load, until `stopping`. An idle daemon wakes once
/// per [`QUIET`] to compare a counter, and trims nothing twice.
pub async fn release_after_bursts(writer: Writer, mut stopping: watch::Receiver<bool>) {
    let mut bursts = Bursts::after_start_up();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + QUIET, QUIET);
    // Ticks a starved runtime missed are not made up back to back, which would read as a
    // quiet period in the middle of a burst.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        if bursts.quiet_after_burst(writer.operations_run()) {
            // Trimming walks every arena: off the runtime's workers.
            let released = tokio::task::spawn_blocking(release_freed).await;
            tracing::debug!(?released, "gave freed memory back to the system");
        }
    }
}

/// Whether the writer has just fallen quiet after a burst, from what it reports once per
/// period ([`Writer::operations_run`]).
#[derive(Debug)]
struct Bursts {
    /// The count at the last reading, `None` if the writer was running then.
    seen: Option<u64>,
    /// Whether operations ran since memory was last given back.
    busy: bool,
}

impl Bursts {
    /// Start-up's load was a burst of its own.
    fn after_start_up() -> Self {
        Self {
            seen: None,
            busy: true,
        }
    }

    /// Takes this period's reading; true when the writer is idle and ran nothing during
    /// the period, but ran something since the last time this said true.
    fn quiet_after_burst(&mut self, operations_run: Option<u64>) -> bool {
        let moved = operations_run.is_none() || operations_run != self.seen;
        self.seen = operations_run;
        if moved {
            self.busy = true;
            return false;
        }
        std::mem::replace(&mut self.busy, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_goes_back_once_per_quiet_spell_after_work() {
        let mut bursts = Bursts::after_start_up();
        // Answering the first reads: not yet.
        assert!(!bursts.quiet_after_burst(Some(7)));
        // Quiet after start-up: give back, then not again while nothing happens.
        assert!(bursts.quiet_after_burst(Some(7)));
        assert!(!bursts.quiet_after_burst(Some(7)));
        assert!(!bursts.quiet_after_burst(Some(7)));
        // A burst of writes over two periods, then quiet: once more.
        assert!(!bursts.quiet_after_burst(Some(9)));
        assert!(!bursts.quiet_after_burst(Some(400)));
        assert!(bursts.quiet_after_burst(Some(400)));
        assert!(!bursts.quiet_after_burst(Some(400)));
    }

    #[test]
    fn a_quiet_start_gives_back_what_loading_freed() {
        let mut bursts = Bursts::after_start_up();
        assert!(!bursts.quiet_after_burst(Some(0)));
        assert!(bursts.quiet_after_burst(Some(0)));
        assert!(!bursts.quiet_after_burst(Some(0)));
    }

    #[test]
    fn nothing_goes_back_while_a_long_operation_runs() {
        let mut bursts = Bursts::after_start_up();
        assert!(!bursts.quiet_after_burst(Some(5)));
        assert!(bursts.quiet_after_burst(Some(5)));
        // A first sync runs for three periods without finishing an operation.
        assert!(!bursts.quiet_after_burst(None));
        assert!(!bursts.quiet_after_burst(None));
        assert!(!bursts.quiet_after_burst(None));
        // It ends, with nothing counted yet in between: quiet only a period later.
        assert!(!bursts.quiet_after_burst(Some(6)));
        assert!(bursts.quiet_after_burst(Some(6)));
    }
}
