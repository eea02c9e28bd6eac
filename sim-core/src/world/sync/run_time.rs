//! Runs that take simulated time: a sync cycle the scheduler starts keeps the engine busy for
//! [`RUN_PROFILE_SECONDS`] per run profile it runs; `Get-ADSyncScheduler` shows
//! `SyncCycleInProgress : True` meanwhile, `Start-ADSyncSyncCycle` is refused, and stopping the
//! service ends the unfinished runs. A cycle typed as `Start-ADSyncSyncCycle` (or `sync cycle`)
//! has ended before the next command: commands take no simulated time (named choice, INF).
//!
//! Follows the 2023 article (`crate::sources::ARTICLE_2023`, 'Abandoning the ADSync service
//! account encryption key': "If a synchronization is in progress, wait until it completes"
//! before stopping the service), `docs/adsync.md` §5.3 (`SyncCycleInProgress`), and community
//! reports for the refusal's text and the stopped run's status (each cited below).
//!
//! Named choice (INF): a run's result is decided when the cycle starts (the directories are
//! read as they are then) and shown at once; the cycle only holds the engine busy until its
//! last run would end. The clock does not move by itself (choice 37 of the README), so a run is
//! in progress until `clock advance` passes its end, which completes it.

use serde_json::json;

use crate::adsync::run::{CycleInProgress, RunRecord, RunStatus};
use crate::world::{ADSYNC_SERVICE, Outcome, World, WorldError};

/// How long one run profile of one connector takes: one minute (INF). The sources give no
/// duration; a delta run of a small directory takes seconds to minutes ("it's very quick",
/// easy365manager, 'How To Do Delta Sync', https://www.easy365manager.com/how-to-do-delta-sync/),
/// and a whole cycle must end well within the scheduler's 30-minute interval. With one forest a
/// Delta cycle (three profiles on each of two connectors) takes six minutes.
pub const RUN_PROFILE_SECONDS: u64 = 60;

/// The code a refused `Start-ADSyncSyncCycle` returns: `COR_E_INVALIDOPERATION` (0x80131509),
/// the HResult of the `System.InvalidOperationException` the cmdlet throws (.NET's documented
/// HResult of that exception).
pub const CYCLE_BUSY_CODE: u32 = 0x8013_1509;

/// `Start-ADSyncSyncCycle` while a cycle runs: the scheduler's `InvalidOperationException`
/// naming the busy connector, as PowerShell prints it (COMM: easy365manager, 'How To Do Delta
/// Sync', 'Delta Sync Error: AAD is Busy', https://www.easy365manager.com/how-to-do-delta-sync/,
/// which shows "Connector: … - AAD is busy." with the scheduler's stack).
pub fn cycle_busy_error(connector: &str, typed: &str) -> String {
    let message = format!(
        "System.InvalidOperationException: Connector: {connector} is busy.\n   at Microsoft.MetadirectoryServices.Scheduler.Scheduler.StartSyncCycle(String overridePolicy, Boolean interactiveMode)\n   at SchedulerUtils.StartSyncCycle(SchedulerUtils* , Char* policyType, Int32 interactiveMode, Char** errorString)"
    );
    crate::win::text::ps_error_record(
        "Start-ADSyncSyncCycle",
        &message,
        typed,
        "WriteError: (Microsoft.Ident...ADSyncSyncCycle:StartADSyncSyncCycle) [Start-ADSyncSyncCycle], InvalidOperationException",
        &format!("System.InvalidOperationException: Connector: {connector} is busy."),
    )
}

impl World {
    /// The connector whose runs are still going, when a cycle is in progress now.
    pub(in crate::world) fn cycle_busy(&self) -> Option<String> {
        let now = self.state.clock;
        let c = self.engine().ok()?.scheduler.in_progress.as_ref()?;
        c.ends
            .iter()
            .find(|(_, end)| *end > now)
            .map(|(name, _)| name.clone())
    }

    /// Whether a cycle is in progress now (`SyncCycleInProgress`).
    pub(in crate::world) fn cycle_in_progress(&self) -> bool {
        self.adsync_running() && self.cycle_busy().is_some()
    }

    /// When the cycle in progress ends, if one is.
    pub(in crate::world) fn cycle_end(&self) -> Option<crate::filetime::FileTime> {
        let now = self.state.clock;
        let e = self.engine().ok()?;
        e.scheduler
            .in_progress
            .as_ref()
            .map(CycleInProgress::end)
            .filter(|end| *end > now)
    }

    /// Records a cycle that started now: `profiles` is, per connector in order, its name and how
    /// many run profiles it ran (a failed run ends the connector's part).
    pub(in crate::world) fn cycle_started(
        &mut self,
        profiles: &[(String, u64)],
    ) -> Result<(), WorldError> {
        let started = self.state.clock;
        let mut at = started;
        let ends = profiles
            .iter()
            .map(|(name, n)| {
                at = at.plus_secs(n * RUN_PROFILE_SECONDS);
                (name.clone(), at)
            })
            .collect();
        self.engine_mut()?.scheduler.in_progress = Some(CycleInProgress { started, ends });
        Ok(())
    }

    /// The service stops while a cycle runs: every connector whose runs had not ended gets
    /// `stopped-server-down`, the status the Synchronization Service gives a run it ended by
    /// shutting down (COMM: `docs/adsync.md` §4 F8, "MIISClient shows 'Stopped-Server-Down'" when
    /// the service is stopped), stamped with the stop's time.
    pub(in crate::world) fn stop_during_cycle(&mut self) -> Result<Vec<String>, WorldError> {
        let now = self.state.clock;
        let Some(c) = self.engine_mut()?.scheduler.in_progress.take() else {
            return Ok(vec![]);
        };
        let unfinished: Vec<String> = c
            .ends
            .iter()
            .filter(|(_, end)| *end > now)
            .map(|(n, _)| n.clone())
            .collect();
        let engine = self.engine_mut()?;
        for agent in &mut engine.agents {
            if unfinished.contains(&agent.ma_name)
                && let Some(run) = &mut agent.last_run
            {
                *run = RunRecord {
                    profile: run.profile,
                    status: RunStatus::StoppedServerDown,
                    time: now,
                };
            }
        }
        Ok(unfinished)
    }

    /// `Start-ADSyncSyncCycle` refused while a cycle runs.
    pub(in crate::world) fn cycle_refused(&self, connector: &str, typed: &str) -> Outcome {
        Outcome {
            code: CYCLE_BUSY_CODE,
            text: cycle_busy_error(connector, typed),
            json: json!({"service": ADSYNC_SERVICE, "SyncCycleInProgress": true, "busy_connector": connector}),
            events: vec![],
        }
    }
}
