//! The one owner of both documents ("one owner, many handles").
//!
//! [`Repo`] lives on a thread of its own. The API, peer connections, SSE, reminders and
//! backups hold a [`Writer`], a cheap handle, and send it operations. The writer runs every
//! operation waiting, each of which stages what it changes in the logs, then makes the
//! batch durable with one fsync per log (group commit) and only then acknowledges each
//! write and announces its events, in order.
//!
//! Who runs that fsync depends on what is waiting. When nothing is queued and no earlier
//! batch is still being synced, the writer syncs the batch itself: a lone write then
//! crosses only two threads (runtime worker, writer, back), not three. Otherwise the batch
//! goes to a second thread, `tandem-fsync`, and the writer goes on with the next
//! operations while the disk works; batches that pile up there share one fsync.
//!
//! An operation that changes nothing (a read) is answered as soon as it ran, without
//! waiting for any disk of its own (it may wait behind a batch the writer is syncing
//! itself, at most one fsync). It may see a change whose fsync is still under way; that
//! change is acknowledged and announced only once it is durable, and if a crash comes
//! first it was never acknowledged to anyone.
//!
//! Nothing here holds a lock: the repo is reached only through the channel, and the
//! runtime's workers never block on it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use tandem_protocol::document::DocKind;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::repo::{ChangeEvent, Repo, RepoError, Unsynced};
use crate::store::{LogSync, StoreError};

/// Operations waiting beyond this make senders wait: natural back-pressure.
const QUEUE: usize = 1024;
/// The most writes acknowledged by one fsync; more wait for the next.
const MAX_BATCH: usize = 512;
/// How many change events a slow SSE reader may lag behind before it misses some.
const EVENT_BUFFER: usize = 256;

/// What the durability thread does with a write once its batch is synced (or failed).
type Reply = Box<dyn FnOnce(Option<&Arc<StoreError>>) + Send>;
/// An operation on the repo; it returns how to answer its caller.
type Job = Box<dyn FnOnce(&mut Repo) -> Reply + Send>;

enum Message {
    Run(Job),
    Stop(oneshot::Sender<Result<(), RepoError>>),
}

/// A handle on the writer. Clone it freely.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Message>,
    events: broadcast::Sender<ChangeEvent>,
    /// What the writer thread is doing, for whoever waits for it to fall quiet.
    activity: Arc<Activity>,
}

/// The writer thread's activity, written by it alone.
#[derive(Default)]
struct Activity {
    /// Whether it is running operations (from taking the first of a batch until the
    /// queue is found empty).
    running: AtomicBool,
    /// Operations run so far.
    ran: AtomicU64,
}

/// Writes run since the last hand-over, with their answers.
#[derive(Default)]
struct Batch {
    documents: Vec<DocKind>,
    events: Vec<ChangeEvent>,
    replies: Vec<Reply>,
}

impl Batch {
    fn add(&mut self, unsynced: Unsynced, reply: Reply) {
        for kind in unsynced.documents {
            if !self.documents.contains(&kind) {
                self.documents.push(kind);
            }
        }
        self.events.extend(unsynced.events);
        self.replies.push(reply);
    }
}

impl Writer {
    /// Moves `repo` onto its own thread, with the thread that makes its writes durable.
    pub fn spawn(repo: Repo) -> Result<Self, RepoError> {
        let logs = DocKind::ALL.map(|kind| repo.log_sync(kind));
        let [shared, private] = logs;
        let (jobs, queue) = mpsc::channel(QUEUE);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let disk = Arc::new(Disk {
            logs: [shared?, private?],
            events: events.clone(),
            syncing: AtomicUsize::new(0),
        });
        let activity = Arc::new(Activity::default());
        let seen = activity.clone();
        std::thread::Builder::new()
            .name("tandem-writer".into())
            .spawn(move || own(repo, queue, disk, &seen))
            .map_err(RepoError::Thread)?;
        Ok(Self {
            jobs,
            events,
            activity,
        })
    }

    /// Runs `op` on the repo. A write is answered once it is durable; a read at once.
    pub async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Repo) -> Result<T, RepoError> + Send + 'static,
    ) -> Result<T, RepoError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |repo| {
            let result = op(repo);
            Box::new(move |failure| {
                let result = match (result, failure) {
                    (Ok(_), Some(failure)) => Err(RepoError::NotDurable(failure.clone())),
                    (result, _) => result,
                };
                let _ = answer.send(result);
            })
        });
        self.jobs
            .send(Message::Run(job))
            .await
            .map_err(|_| RepoError::Stopped)?;
        answered.await.map_err(|_| RepoError::Stopped)?
    }

    /// How many operations the writer has run, or `None` while it is running some: a
    /// cheap sign of activity for whoever waits for the daemon to fall quiet
    /// ([`crate::memory`]). A long operation (a first sync, a backup) reads as `None`
    /// throughout.
    pub fn operations_run(&self) -> Option<u64> {
        if self.activity.running.load(Ordering::Acquire) {
            return None;
        }
        Some(self.activity.ran.load(Ordering::Acquire))
    }

    /// Receives every change event from now on, each once it is durable.
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.events.subscribe()
    }

    /// Answers what is queued, waits until every write is durable, compacts both
    /// documents (so the next start loads one file each) and ends the threads. Operations
    /// sent afterwards fail with [`RepoError::Stopped`].
    pub async fn stop(&self) -> Result<(), RepoError> {
        let (done, stopped) = oneshot::channel();
        self.jobs
            .send(Message::Stop(done))
            .await
            .map_err(|_| RepoError::Stopped)?;
        stopped.await.map_err(|_| RepoError::Stopped)?
    }
}

/// What both threads need to make batches durable and answer them.
struct Disk {
    /// Each document's log, to fsync.
    logs: [LogSync; 2],
    /// Where durable changes are announced.
    events: broadcast::Sender<ChangeEvent>,
    /// Batches handed to the durability thread and not yet answered. While any are, the
    /// writer may not answer a batch itself: it would overtake them.
    syncing: AtomicUsize,
}

impl Disk {
    /// Syncs each log the batches touched, once, then announces and answers them in order.
    fn settle(&self, batches: Vec<Batch>) {
        let mut failure = None;
        for (kind, log) in DocKind::ALL.iter().zip(&self.logs) {
            if !batches.iter().any(|b| b.documents.contains(kind)) {
                continue;
            }
            if let Err(e) = log.sync() {
                tracing::error!("cannot save changes to disk: {e}");
                failure = Some(Arc::new(e));
            }
        }
        for batch in batches {
            if failure.is_none() {
                for event in batch.events {
                    // Nobody listening is fine.
                    let _ = self.events.send(event);
                }
            }
            for reply in batch.replies {
                reply(failure.as_ref());
            }
        }
    }
}

/// The writer thread: runs operations in batches until told to stop (then it compacts)
/// or every handle is gone.
fn own(mut repo: Repo, mut queue: mpsc::Receiver<Message>, disk: Arc<Disk>, activity: &Activity) {
    let (to_sync, batches) = std_mpsc::channel::<Batch>();
    let syncer = {
        let disk = disk.clone();
        std::thread::Builder::new()
            .name("tandem-fsync".into())
            .spawn(move || make_durable(&disk, &batches))
    };
    let syncer: JoinHandle<()> = match syncer {
        Ok(syncer) => syncer,
        Err(e) => {
            tracing::error!("cannot start the thread that saves changes: {e}");
            return;
        }
    };
    let mut stop = None;
    while stop.is_none() {
        activity.running.store(false, Ordering::Release);
        let Some(mut message) = queue.blocking_recv() else {
            break;
        };
        activity.running.store(true, Ordering::Release);
        let mut batch = Batch::default();
        // Whether the queue was found empty: nothing else is waiting for the writer.
        let mut drained = false;
        loop {
            match message {
                Message::Run(job) => {
                    let reply = run_job(&mut repo, job);
                    activity.ran.fetch_add(1, Ordering::Release);
                    let unsynced = repo.take_unsynced();
                    if unsynced.is_empty() {
                        reply(None);
                    } else {
                        batch.add(unsynced, reply);
                    }
                }
                Message::Stop(done) => {
                    stop = Some(done);
                    break;
                }
            }
            if batch.replies.len() >= MAX_BATCH {
                break;
            }
            match queue.try_recv() {
                Ok(next) => message = next,
                Err(_) => {
                    drained = true;
                    break;
                }
            }
        }
        if batch.replies.is_empty() {
            continue;
        }
        // `syncing` only falls to zero on the durability thread after it answered every
        // batch handed to it, so answering here cannot overtake one of them.
        if drained && disk.syncing.load(Ordering::Acquire) == 0 {
            disk.settle(vec![batch]);
        } else {
            disk.syncing.fetch_add(1, Ordering::AcqRel);
            // The durability thread lives until `to_sync` is dropped below.
            let _ = to_sync.send(batch);
        }
    }
    drop(to_sync);
    if syncer.join().is_err() {
        tracing::error!("the thread that saves changes failed");
    }
    // Only a stop asked for compacts: handles dropped without one (a repair that gave up
    // and is putting the damaged files back) must leave the directories alone.
    if let Some(done) = stop {
        let flushed = repo.flush();
        if let Err(e) = &flushed {
            tracing::error!("cannot compact the documents at shutdown: {e}");
        }
        let _ = done.send(flushed);
    }
}

/// Runs one operation. A panic is a bug that may have left a document half-changed in
/// memory: the daemon stops at once, before anything could persist that state (every
/// acknowledged change is already durable).
fn run_job(repo: &mut Repo, job: Job) -> Reply {
    match std::panic::catch_unwind(AssertUnwindSafe(|| job(repo))) {
        Ok(reply) => reply,
        Err(_) => {
            tracing::error!(
                "an operation failed unexpectedly; tandemd stops to keep your data safe"
            );
            std::process::abort();
        }
    }
}

/// The durability thread: settles every batch waiting at once (one fsync per log for
/// all of them), in the order the writer handed them over.
fn make_durable(disk: &Disk, batches: &std_mpsc::Receiver<Batch>) {
    while let Ok(first) = batches.recv() {
        let mut waiting = vec![first];
        waiting.extend(batches.try_iter());
        let settled = waiting.len();
        disk.settle(waiting);
        disk.syncing.fetch_sub(settled, Ordering::AcqRel);
    }
}
