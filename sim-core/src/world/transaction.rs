//! One command, one transaction: a command of the world applies all of its effects or none
//! (docs/design.md §4), whatever step it fails at, so no caller keeps a copy of the world.
//!
//! A transaction keeps a savepoint of the state apart from the event logs, and the logs keep an
//! undo journal of their own writes ([`EventLogs::begin`]): the logs are the one part of the state
//! that grows with use, so they are never copied. Transactions nest: an inner failure undoes only
//! the inner work.
//!
//! [`EventLogs::begin`]: crate::win::eventlog::EventLogs::begin

use super::{World, WorldError};

impl World {
    /// Runs `work` as one transaction: when it returns an error, the world is exactly as it was
    /// before (state, seed position and event logs); when it succeeds, all of its changes stay.
    pub fn atomically<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, WorldError>,
    ) -> Result<T, WorldError> {
        let events = std::mem::take(&mut self.state.events);
        let saved = self.state.clone();
        self.state.events = events;
        let mark = self.state.events.begin();
        match work(self) {
            Ok(v) => {
                self.state.events.commit(mark);
                Ok(v)
            }
            Err(e) => {
                let mut events = std::mem::take(&mut self.state.events);
                events.rollback(mark);
                self.state = saved;
                self.state.events = events;
                Err(e)
            }
        }
    }
}
