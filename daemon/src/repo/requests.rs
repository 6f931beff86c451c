//! The `Idempotency-Key` requests this device's changes came from, so a retried request
//! is never applied twice ([`crate::api::idempotency`] keeps the answers).
//!
//! The truth is in the documents: each change made for such a request carries its
//! [`RequestMark`] in its activity record, durable with the change itself. At start-up the
//! table is rebuilt from this device's own records of the last [`KEEP`]; it holds at most
//! [`MAX_KEYS`] keys, the oldest forgotten first.

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};
use tandem_protocol::activity::{Activity, RequestMark};

use super::RepoError;

/// How long a key is remembered after the change it made.
pub const KEEP: SignedDuration = SignedDuration::from_hours(24);
/// The most keys remembered at once.
pub const MAX_KEYS: usize = 10_000;

/// One request with an `Idempotency-Key`, as it reaches the writer.
#[derive(Clone, Debug)]
pub struct Request {
    /// Its digests, written into the changes it makes.
    pub mark: RequestMark,
    /// Which arrival of the request this is (one per HTTP request, in memory only): a
    /// handler that runs several operations for one request is not its own retry.
    pub attempt: u64,
}

/// What a key was used for.
#[derive(Debug)]
struct Applied {
    digest: String,
    /// The first change's action and entity, e.g. `plan.add 3f2a…`, for the message.
    what: String,
    at: Timestamp,
    /// The arrival that made it; `None` when read back from the documents.
    attempt: Option<u64>,
}

/// The keys of the changes this device made recently.
#[derive(Debug, Default)]
pub struct Requests {
    applied: HashMap<String, Applied>,
    /// Keys in the order they were applied, for forgetting the oldest.
    order: VecDeque<String>,
}

impl Requests {
    /// The table of `records` (this device's own, any order) made since `now - KEEP`.
    pub fn rebuilt(mut records: Vec<Activity>, now: Timestamp) -> Self {
        records.sort_by_key(|a| a.at);
        let mut requests = Self::default();
        for activity in &records {
            if let Some(mark) = &activity.request {
                requests.insert(mark, activity, None);
            }
        }
        requests.forget_old(now);
        requests
    }

    /// Refuses `request` if its key already made a change for another arrival: 422 for a
    /// different request under the key, "already applied" for a retry.
    pub fn check(&mut self, request: &Request, now: Timestamp) -> Result<(), RepoError> {
        self.forget_old(now);
        match self.applied.get(&request.mark.key) {
            None => Ok(()),
            Some(applied) if applied.digest != request.mark.digest => Err(RepoError::KeyReused),
            Some(applied) if applied.attempt == Some(request.attempt) => Ok(()),
            Some(applied) => Err(RepoError::AlreadyApplied {
                what: applied.what.clone(),
            }),
        }
    }

    /// Remembers that `request` made the change recorded by `activity`.
    pub fn record(&mut self, request: &Request, activity: &Activity, now: Timestamp) {
        if !self.applied.contains_key(&request.mark.key) {
            self.insert(&request.mark, activity, Some(request.attempt));
            self.forget_old(now);
        }
    }

    fn insert(&mut self, mark: &RequestMark, activity: &Activity, attempt: Option<u64>) {
        if self.applied.contains_key(&mark.key) {
            return;
        }
        let what = match &activity.id {
            Some(id) => format!("{} {id}", activity.action),
            None => activity.action.clone(),
        };
        self.applied.insert(
            mark.key.clone(),
            Applied {
                digest: mark.digest.clone(),
                what,
                at: activity.at.0,
                attempt,
            },
        );
        self.order.push_back(mark.key.clone());
    }

    /// Drops keys older than [`KEEP`], then the oldest beyond [`MAX_KEYS`].
    fn forget_old(&mut self, now: Timestamp) {
        let cutoff = now - KEEP;
        while let Some(key) = self.order.front() {
            let expired = self.applied.get(key).is_none_or(|a| a.at < cutoff);
            if !expired && self.applied.len() <= MAX_KEYS {
                break;
            }
            if let Some(key) = self.order.pop_front() {
                self.applied.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tandem_protocol::entity::Author;
    use tandem_protocol::ids::PersonId;
    use tandem_protocol::time::Stamp;

    use super::*;

    fn request(key: &str, body: &str, attempt: u64) -> Request {
        Request {
            mark: RequestMark::new("laptop", key, "POST", "/v1/ideas", body.as_bytes()),
            attempt,
        }
    }

    fn activity(at: Timestamp, mark: Option<&Request>) -> Activity {
        let author = Author {
            person: PersonId::parse("alex").expect("a valid person id"),
            at: Stamp(at),
        };
        let mut activity = Activity::new(&author, "idea.add", None, "picnic");
        activity.request = mark.map(|r| r.mark.clone());
        activity
    }

    #[test]
    fn a_retry_is_refused_a_new_body_is_reused_and_the_same_arrival_goes_on() {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(100);
        let mut requests = Requests::default();
        let first = request("k", "{}", 1);
        assert!(requests.check(&first, now).is_ok());
        requests.record(&first, &activity(now, Some(&first)), now);
        assert!(requests.check(&first, now).is_ok());
        assert!(matches!(
            requests.check(&request("k", "{}", 2), now),
            Err(RepoError::AlreadyApplied { .. })
        ));
        assert!(matches!(
            requests.check(&request("k", "{ }", 2), now),
            Err(RepoError::KeyReused)
        ));
        assert!(requests.check(&request("other", "{}", 2), now).is_ok());
        let later = now + KEEP + SignedDuration::from_secs(1);
        assert!(requests.check(&request("k", "{}", 2), later).is_ok());
    }

    #[test]
    fn rebuilt_from_records_keeps_the_last_day_and_at_most_the_bound() {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(100);
        let old = request("old", "{}", 1);
        let recent = request("recent", "{}", 1);
        let records = vec![
            activity(now - SignedDuration::from_hours(25), Some(&old)),
            activity(now - SignedDuration::from_hours(1), Some(&recent)),
            activity(now, None),
        ];
        let mut requests = Requests::rebuilt(records, now);
        assert!(requests.check(&request("old", "{}", 9), now).is_ok());
        assert!(matches!(
            requests.check(&request("recent", "{}", 9), now),
            Err(RepoError::AlreadyApplied { .. })
        ));

        let mut full = Requests::default();
        for n in 0..=MAX_KEYS {
            let r = request(&format!("k{n}"), "{}", 1);
            full.record(&r, &activity(now, Some(&r)), now);
        }
        assert_eq!(full.applied.len(), MAX_KEYS);
        assert!(full.check(&request("k0", "{}", 2), now).is_ok());
    }
}
