//! One command, one transaction: a command of the world applies all of its effects or none
//! (docs/design.md §4), whatever step it fails at, so no caller keeps a copy of the world.
//!
//! A transaction keeps a savepoint of the state apart from the event logs, and the logs keep an
//! undo journal of their own writes ([`EventLogs::begin`]): the logs are the one part of the state
//! that grows with use, so they are never copied. Transactions nest: an inner failure undoes only
//! the inner work. [`World::atomically`] is the usual form; [`World::savepoint`] is for work
//! that spans several calls (a runbook line run through a `Host`).
//!
//! [`EventLogs::begin`]: crate::win::eventlog::EventLogs::begin

use super::{World, WorldError, WorldState};
use crate::win::eventlog::EventMark;

/// Where a world can return to ([`World::savepoint`]); ended by [`World::rollback_to`] or
/// [`World::release`].
#[derive(Debug)]
#[must_use = "a savepoint is ended with rollback_to or release"]
pub struct Savepoint {
    /// The state without its event logs.
    state: WorldState,
    /// Where the event logs' undo journal was.
    events: EventMark,
}

impl World {
    /// Runs `work` as one transaction: when it returns an error, the world is exactly as it was
    /// before (state, seed position and event logs); when it succeeds, all of its changes stay.
    pub fn atomically<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, WorldError>,
    ) -> Result<T, WorldError> {
        let savepoint = self.savepoint();
        match work(self) {
            Ok(v) => {
                self.release(savepoint);
                Ok(v)
            }
            Err(e) => {
                self.rollback_to(savepoint);
                Err(e)
            }
        }
    }

    /// Opens a transaction that spans several calls. Savepoints nest; end each one, innermost
    /// first.
    pub fn savepoint(&mut self) -> Savepoint {
        Savepoint {
            state: self.state_without_events(),
            events: self.state.events.begin(),
        }
    }

    /// A copy of the state without the event logs (which keep their own undo journal and are
    /// never copied).
    pub(in crate::world) fn state_without_events(&mut self) -> WorldState {
        let events = std::mem::take(&mut self.state.events);
        let state = self.state.clone();
        self.state.events = events;
        state
    }

    /// Returns the world to `savepoint`: everything since is undone.
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        let mut events = std::mem::take(&mut self.state.events);
        events.rollback(savepoint.events);
        self.state = savepoint.state;
        self.state.events = events;
    }

    /// Keeps everything since `savepoint`.
    pub fn release(&mut self, savepoint: Savepoint) {
        self.state.events.commit(savepoint.events);
    }
}
