//! The typed client: one function per API operation the CLI uses, taking the request
//! types of `tandem-protocol` and returning its response types.
//!
//! Routes are not written here: each function sends one of
//! [`tandem_protocol::api::endpoints`], whose paths are the ones the daemon declares its
//! routes at, and a test (`tests/tests/contract.rs`) holds every endpoint to the daemon's
//! `/v1/openapi.json`. Commands call these functions and never build a path or a body.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_protocol::activity::Activity;
use tandem_protocol::api::endpoints as ep;
use tandem_protocol::api::{
    ActivityEntry, AddPeerRequest, AutoBackupRequest, BackupRequest, BackupStatus, BalanceQuery,
    BalanceWeeksQuery, CheckinAnswered, CheckinWeek, Endpoint, JoinRequest, KeepRequest, LogQuery,
    NearbyDevice, NewPhone, PairRequest, PairingState, PeerStatus, PersonalTimeView, PhoneAdded,
    PhoneView, PlanQuery, Status,
};
use tandem_protocol::balance::{Balance, BalanceSeries};
use tandem_protocol::device::DeviceId;
use tandem_protocol::document::Conflict;
use tandem_protocol::inbox::Today;
use tandem_protocol::mailbox::status::{MailboxQuery, MailboxRequest, MailboxStatus};
use tandem_protocol::model::agreement::{Agreement, AgreementPatch, NewAgreement};
use tandem_protocol::model::checkin::NewCheckin;
use tandem_protocol::model::idea::{Idea, IdeaPatch, IdeaToPlan, NewIdea};
use tandem_protocol::model::note::{NewNote, Note, NotePatch};
use tandem_protocol::model::personal_time::{NewPersonalTime, PersonalTimePatch};
use tandem_protocol::model::plan::{
    NewComment, NewPlan, NewProposal, Plan, PlanPatch, RsvpRequest,
};
use tandem_protocol::model::settings::Settings;
use tandem_protocol::remind::Reminder;
use tandem_protocol::time::IsoWeek;
use tandem_protocol::trash::TrashEntry;

use crate::client::{Client, ClientError, Payload};

/// The answer of an operation, or why there is none.
pub type Answer<T> = Result<T, ClientError>;

/// A collection of items named by id: list, create, read, change and delete, each typed
/// as the collection's `Item` (as the API shows it), `New` and `Patch` bodies.
pub struct Collection<Item, New, Patch> {
    list: Endpoint,
    create: Endpoint,
    get: Endpoint<1>,
    update: Endpoint<1>,
    delete: Endpoint<1>,
    types: PhantomData<fn(&New, &Patch) -> Item>,
}

impl<Item: DeserializeOwned, New: Serialize, Patch: Serialize> Collection<Item, New, Patch> {
    /// Every item not in the trash.
    pub fn list(&self, client: &Client) -> Answer<Vec<Item>> {
        client.call(&self.list, [], Payload::none())
    }

    /// Adds an item.
    pub fn create(&self, client: &Client, new: &New) -> Answer<Item> {
        client.call(&self.create, [], Payload::json(new)?)
    }

    /// The item with id `id`.
    pub fn get(&self, client: &Client, id: &str) -> Answer<Item> {
        client.call(&self.get, [id], Payload::none())
    }

    /// Changes the fields `patch` gives.
    pub fn update(&self, client: &Client, id: &str, patch: &Patch) -> Answer<Item> {
        client.call(&self.update, [id], Payload::json(patch)?)
    }

    /// Puts the item in the trash.
    pub fn delete(&self, client: &Client, id: &str) -> Answer<()> {
        client.call(&self.delete, [id], Payload::none())
    }
}

/// Plans.
pub const PLANS: Collection<Plan, NewPlan, PlanPatch> = Collection {
    list: ep::LIST_PLANS,
    create: ep::CREATE_PLAN,
    get: ep::GET_PLAN,
    update: ep::UPDATE_PLAN,
    delete: ep::DELETE_PLAN,
    types: PhantomData,
};

/// The idea jar.
pub const IDEAS: Collection<Idea, NewIdea, IdeaPatch> = Collection {
    list: ep::LIST_IDEAS,
    create: ep::CREATE_IDEA,
    get: ep::GET_IDEA,
    update: ep::UPDATE_IDEA,
    delete: ep::DELETE_IDEA,
    types: PhantomData,
};

/// Agreements.
pub const AGREEMENTS: Collection<Agreement, NewAgreement, AgreementPatch> = Collection {
    list: ep::LIST_AGREEMENTS,
    create: ep::CREATE_AGREEMENT,
    get: ep::GET_AGREEMENT,
    update: ep::UPDATE_AGREEMENT,
    delete: ep::DELETE_AGREEMENT,
    types: PhantomData,
};

/// Private notes.
pub const NOTES: Collection<Note, NewNote, NotePatch> = Collection {
    list: ep::LIST_NOTES,
    create: ep::CREATE_NOTE,
    get: ep::GET_NOTE,
    update: ep::UPDATE_NOTE,
    delete: ep::DELETE_NOTE,
    types: PhantomData,
};

/// Personal-time blocks of both partners (the details only of one's own).
pub const PERSONAL_TIME: Collection<PersonalTimeView, NewPersonalTime, PersonalTimePatch> =
    Collection {
        list: ep::LIST_PERSONAL_TIME,
        create: ep::CREATE_PERSONAL_TIME,
        get: ep::GET_PERSONAL_TIME,
        update: ep::UPDATE_PERSONAL_TIME,
        delete: ep::DELETE_PERSONAL_TIME,
        types: PhantomData,
    };

/// Who this daemon is, its partner, its time zone and its documents.
pub fn status(client: &Client) -> Answer<Status> {
    client.call(&ep::STATUS, [], Payload::none())
}

/// Plans in a window and with a status, soonest first.
pub fn list_plans(client: &Client, query: &PlanQuery) -> Answer<Vec<Plan>> {
    client.call(&ep::LIST_PLANS, [], Payload::query(query)?)
}

/// The values a plan's fields lost in concurrent edits.
pub fn plan_conflicts(client: &Client, id: &str) -> Answer<Vec<Conflict>> {
    client.call(&ep::PLAN_CONFLICTS, [id], Payload::none())
}

/// Restores the value a plan's field lost in a conflict.
pub fn keep_plan_value(client: &Client, id: &str, keep: &KeepRequest) -> Answer<Plan> {
    client.call(&ep::KEEP_PLAN_VALUE, [id], Payload::json(keep)?)
}

/// Answers a plan.
pub fn rsvp(client: &Client, id: &str, rsvp: &RsvpRequest) -> Answer<Plan> {
    client.call(&ep::RSVP_PLAN, [id], Payload::json(rsvp)?)
}

/// Adds this person's comment to a plan.
pub fn comment_plan(client: &Client, id: &str, comment: &NewComment) -> Answer<Plan> {
    client.call(&ep::COMMENT_PLAN, [id], Payload::json(comment)?)
}

/// Suggests another time for the partner's plan.
pub fn propose_time(client: &Client, id: &str, proposal: &NewProposal) -> Answer<Plan> {
    client.call(&ep::PROPOSE_TIME, [id], Payload::json(proposal)?)
}

/// Takes the time the partner suggested for one's plan.
pub fn accept_time(client: &Client, id: &str) -> Answer<Plan> {
    client.call(&ep::ACCEPT_TIME, [id], Payload::none())
}

/// Keeps one's plan's time, declining the one the partner suggested.
pub fn decline_time(client: &Client, id: &str) -> Answer<Plan> {
    client.call(&ep::DECLINE_TIME, [id], Payload::none())
}

/// Marks a plan's comments read on this laptop, so what needs me stops listing them.
pub fn seen_plan(client: &Client, id: &str) -> Answer<()> {
    client.call(&ep::SEEN_PLAN, [id], Payload::none())
}

/// One idea from the jar at random, passing over the last few drawn.
pub fn draw_idea(client: &Client) -> Answer<Idea> {
    client.call(&ep::DRAW_IDEA, [], Payload::none())
}

/// Turns an idea into a proposed plan; it leaves the jar.
pub fn plan_idea(client: &Client, id: &str, when: &IdeaToPlan) -> Answer<Plan> {
    client.call(&ep::PLAN_IDEA, [id], Payload::json(when)?)
}

/// Takes an idea out of the jar without deleting it.
pub fn retire_idea(client: &Client, id: &str) -> Answer<Idea> {
    client.call(&ep::RETIRE_IDEA, [id], Payload::none())
}

/// What waits for this person now.
pub fn today(client: &Client) -> Answer<Today> {
    client.call(&ep::TODAY, [], Payload::none())
}

/// Accepts an agreement's current wording.
pub fn accept_agreement(client: &Client, id: &str) -> Answer<Agreement> {
    client.call(&ep::ACCEPT_AGREEMENT, [id], Payload::none())
}

/// What was deleted in the last 30 days.
pub fn trash(client: &Client) -> Answer<Vec<TrashEntry>> {
    client.call(&ep::TRASH, [], Payload::none())
}

/// Brings a deleted item of any kind back.
pub fn restore_item(client: &Client, id: &str) -> Answer<TrashEntry> {
    client.call(&ep::RESTORE_ITEM, [id], Payload::none())
}

/// Reverts this person's last command made on this device.
pub fn undo(client: &Client) -> Answer<Activity> {
    client.call(&ep::UNDO, [], Payload::none())
}

/// Check-in weeks, newest first.
pub fn checkins(client: &Client) -> Answer<Vec<CheckinWeek>> {
    client.call(&ep::LIST_CHECKINS, [], Payload::none())
}

/// One check-in week.
pub fn checkin(client: &Client, week: IsoWeek) -> Answer<CheckinWeek> {
    client.call(&ep::GET_CHECKIN, [&week.to_string()], Payload::none())
}

/// Answers a week's check-in.
pub fn answer_checkin(client: &Client, answer: &NewCheckin) -> Answer<CheckinAnswered> {
    client.call(&ep::ANSWER_CHECKIN, [], Payload::json(answer)?)
}

/// A week's hours together and apart.
pub fn balance(client: &Client, query: &BalanceQuery) -> Answer<Balance> {
    client.call(&ep::BALANCE, [], Payload::query(query)?)
}

/// Hours together and apart per week, up to this one, and a sentence about the trend.
pub fn balance_weeks(client: &Client, query: &BalanceWeeksQuery) -> Answer<BalanceSeries> {
    client.call(&ep::BALANCE_WEEKS, [], Payload::query(query)?)
}

/// Shared settings.
pub fn settings(client: &Client) -> Answer<Settings> {
    client.call(&ep::SETTINGS, [], Payload::none())
}

/// Activity of both documents, newest first.
pub fn log(client: &Client, query: &LogQuery) -> Answer<Vec<ActivityEntry>> {
    client.call(&ep::LOG, [], Payload::query(query)?)
}

/// What is due now.
pub fn reminders(client: &Client) -> Answer<Vec<Reminder>> {
    client.call(&ep::REMINDERS, [], Payload::none())
}

/// Paired devices.
pub fn peers(client: &Client) -> Answer<Vec<PeerStatus>> {
    client.call(&ep::LIST_PEERS, [], Payload::none())
}

/// Connects to a paired device at a known address.
pub fn add_peer(client: &Client, peer: &AddPeerRequest) -> Answer<PeerStatus> {
    client.call(&ep::ADD_PEER, [], Payload::json(peer)?)
}

/// Unpairs a device; it is refused from then on.
pub fn remove_peer(client: &Client, device: &DeviceId) -> Answer<()> {
    client.call(&ep::REMOVE_PEER, [&device.to_string()], Payload::none())
}

/// Tandem devices seen on the home network.
pub fn nearby(client: &Client) -> Answer<Vec<NearbyDevice>> {
    client.call(&ep::NEARBY, [], Payload::none())
}

/// This device's pairing window.
pub fn pairing(client: &Client) -> Answer<PairingState> {
    client.call(&ep::PAIRING, [], Payload::none())
}

/// Opens a pairing window.
pub fn open_pairing(client: &Client, pair: &PairRequest) -> Answer<PairingState> {
    client.call(&ep::OPEN_PAIRING, [], Payload::json(pair)?)
}

/// Joins another device's pairing window.
pub fn join_pairing(client: &Client, join: &JoinRequest) -> Answer<PeerStatus> {
    client.call(&ep::JOIN_PAIRING, [], Payload::json(join)?)
}

/// Phones let in.
pub fn phones(client: &Client) -> Answer<Vec<PhoneView>> {
    client.call(&ep::LIST_PHONES, [], Payload::none())
}

/// Lets a phone in.
pub fn add_phone(client: &Client, phone: &NewPhone) -> Answer<PhoneAdded> {
    client.call(&ep::ADD_PHONE, [], Payload::json(phone)?)
}

/// Shuts a phone out, named by its id, a prefix of it, or its name; says which it was.
pub fn revoke_phone(client: &Client, phone: &str) -> Answer<PhoneView> {
    client.call(&ep::REVOKE_PHONE, [phone], Payload::none())
}

/// Whether automatic backups run, and the newest archive.
pub fn backup_status(client: &Client) -> Answer<BackupStatus> {
    client.call(&ep::BACKUP_STATUS, [], Payload::none())
}

/// An encrypted archive of both documents, made now.
pub fn backup(client: &Client, request: &BackupRequest) -> Answer<Vec<u8>> {
    client.call_for_bytes(&ep::BACKUP, [], Payload::json(request)?)
}

/// Sets up daily archives in a directory.
pub fn auto_backup(client: &Client, request: &AutoBackupRequest) -> Answer<BackupStatus> {
    client.call(&ep::AUTO_BACKUP, [], Payload::json(request)?)
}

/// The mailbox folders and what went through them.
pub fn mailbox_status(client: &Client) -> Answer<MailboxStatus> {
    client.call(&ep::MAILBOX_STATUS, [], Payload::none())
}

/// Sets the shared (or, with `own`, the own-devices) mailbox folder.
pub fn set_mailbox(client: &Client, request: &MailboxRequest) -> Answer<MailboxStatus> {
    client.call(&ep::SET_MAILBOX, [], Payload::json(request)?)
}

/// Stops using the shared (or, with `own`, the own-devices) mailbox folder; answers what
/// is left set.
pub fn mailbox_off(client: &Client, which: &MailboxQuery) -> Answer<MailboxStatus> {
    client.call(&ep::MAILBOX_OFF, [], Payload::query(which)?)
}
