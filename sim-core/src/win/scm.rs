//! The Service Control Manager: services, their logon account and stored password, their states
//! and exit codes, and how `sc.exe` prints them.
//!
//! Follows docs/design.md §7 and the seed
//! `"Azure AD Connect sync: Changing the Azure AD Connect Sync service account password" (2017-04-03)` (error 1069 and event 7038 when the
//! stored password no longer logs on). The `sc.exe` layouts (`SERVICE_NAME:`, `STATE`,
//! `WIN32_EXIT_CODE`, `SERVICE_EXIT_CODE`, `[SC] StartService FAILED 1069:`) are sc.exe's own.
//!
//! Named choice: `sc start` waits for the simulated service to settle (as the Services console
//! does), so a service that stops during its start returns 1066 with its service-specific code
//! instead of sc.exe's asynchronous `START_PENDING`.

use crate::dpapi::secret::SecretBytes;
use serde::{Deserialize, Serialize};

use super::eventlog::NewEvent;
use super::text::win32;
use crate::dpapi::api::{DpapiError, ProtectFlags};
use crate::filetime::FileTime;
use crate::secret::Secret;

/// Why a call a program makes on its host failed.
///
/// `E` is the host's own error: the simulated world's when the world is the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostFailure<E> {
    /// DPAPI refused, as Windows refuses: the program handles it as the real program does.
    Dpapi(DpapiError),
    /// The host itself could not answer (its own state is damaged): the start is abandoned
    /// and the host reports its error.
    Host(E),
}

impl<E> From<DpapiError> for HostFailure<E> {
    fn from(e: DpapiError) -> Self {
        Self::Dpapi(e)
    }
}

/// What a program sees of the host while the SCM starts it: DPAPI as the service's logon
/// account and as the machine, randomness, the clock, its own process memory, and the event log.
pub trait ServiceHost {
    /// The host's own error ([`HostFailure::Host`]).
    type Error;
    /// `CryptUnprotectData` as the service's account.
    fn unprotect(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostFailure<Self::Error>>;
    /// `CryptUnprotectData` as the service's account with its password alone: no recovery
    /// through the domain's backup key. The engine of a ≤1.1.443.0 build reads its keyset
    /// this way in a world that follows the 2023 article ("Windows destroys the encryption
    /// keys", with no exception for domain accounts; see
    /// [`crate::adsync::engine::Engine::keyset_follows_dpapi`]).
    fn unprotect_without_backup_key(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostFailure<Self::Error>>;
    /// `CryptProtectData` as the service's account.
    fn protect(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
        flags: ProtectFlags,
    ) -> Result<Vec<u8>, HostFailure<Self::Error>>;
    /// `CryptUnprotectData` of a `CRYPTPROTECT_LOCAL_MACHINE` blob.
    fn unprotect_machine(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostFailure<Self::Error>>;
    /// `CryptProtectData(CRYPTPROTECT_LOCAL_MACHINE)`.
    fn protect_machine(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
    ) -> Result<Vec<u8>, HostFailure<Self::Error>>;
    /// The SID of the account the service runs as.
    fn account_sid(&self) -> String;
    /// Random bytes (the world's seeded stream).
    fn random(&mut self, buf: &mut [u8]);
    /// The host's clock.
    fn now(&self) -> FileTime;
    /// Keeps a secret in the process's memory until the service stops.
    fn retain(&mut self, name: &str, secret: &[u8]);
    /// Writes an event.
    fn write_event(&mut self, event: NewEvent);
}

/// A start that failed inside the service: it stops with a service-specific error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFailure {
    /// The `SERVICE_EXIT_CODE` the SCM records.
    pub code: u32,
    /// The code as the Services console prints it.
    pub code_text: String,
}

/// Why a start did not complete: the service stopped with its own error (what the SCM
/// records), or the host failed under it (`E`, the host's error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartFailure<E> {
    /// The service stopped with a service-specific error.
    Service(ServiceFailure),
    /// The host could not answer the program.
    Host(E),
}

/// The program behind a service, run by the SCM after the logon succeeded (the ADSync model
/// implements it) on a host whose own error is `E`.
pub trait ServiceProgram<E> {
    /// Starts the program.
    fn start(&mut self, host: &mut dyn ServiceHost<Error = E>) -> Result<(), StartFailure<E>>;
}

/// A service's current state (`SERVICE_STATUS.dwCurrentState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceState {
    /// 1.
    Stopped,
    /// 2.
    StartPending,
    /// 3.
    StopPending,
    /// 4.
    Running,
}

impl ServiceState {
    /// The number sc.exe prints.
    pub fn code(self) -> u32 {
        match self {
            Self::Stopped => 1,
            Self::StartPending => 2,
            Self::StopPending => 3,
            Self::Running => 4,
        }
    }

    /// The name sc.exe prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "STOPPED",
            Self::StartPending => "START_PENDING",
            Self::StopPending => "STOP_PENDING",
            Self::Running => "RUNNING",
        }
    }

    /// The word event 7036 uses ("entered the running state").
    pub fn event_word(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::StartPending => "start pending",
            Self::StopPending => "stop pending",
            Self::Running => "running",
        }
    }

    /// Parses `STOPPED`, `Running`, … as scenario expectations spell them.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Stopped,
            Self::StartPending,
            Self::StopPending,
            Self::Running,
        ]
        .into_iter()
        .find(|st| {
            st.as_str().eq_ignore_ascii_case(s)
                || st.as_str().replace('_', "").eq_ignore_ascii_case(s)
        })
    }
}

/// How a service starts (`sc config start=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartType {
    /// `auto` (2).
    Auto,
    /// `demand` (3).
    Demand,
    /// `disabled` (4).
    Disabled,
}

impl StartType {
    /// sc.exe's `START_TYPE` line value.
    pub fn display(self) -> &'static str {
        match self {
            Self::Auto => "2   AUTO_START",
            Self::Demand => "3   DEMAND_START",
            Self::Disabled => "4   DISABLED",
        }
    }

    /// Parses sc.exe's `start=` values.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "delayed-auto" => Some(Self::Auto),
            "demand" => Some(Self::Demand),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// One installed service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// The key name, e.g. `ADSync`.
    pub name: String,
    /// The display name, e.g. "Microsoft Azure AD Sync".
    pub display_name: String,
    /// The image path.
    pub binary_path: String,
    /// The start type.
    pub start_type: StartType,
    /// The logon account as the SCM stores it (`LocalSystem`, `NT SERVICE\ADSync`,
    /// `SERVER\AAD_…`, `CONTOSO\gmsa$`).
    pub account: String,
    /// The current state.
    pub state: ServiceState,
    /// `WIN32_EXIT_CODE` of the last stop or failed start.
    pub win32_exit_code: u32,
    /// `SERVICE_EXIT_CODE` (the service-specific code when `win32_exit_code` is 1066).
    pub service_exit_code: u32,
    /// Process id while running.
    pub pid: Option<u32>,
}

impl Service {
    /// The status block sc.exe prints for `sc query` and `sc stop` (a `SERVICE_STATUS`), or,
    /// with `ex`, for `sc queryex` and `sc start` (a `SERVICE_STATUS_PROCESS`, which adds `PID`
    /// and `FLAGS`).
    fn status_block(&self, state: ServiceState, ex: bool) -> String {
        let controls = match state {
            ServiceState::Running | ServiceState::StopPending => {
                "(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)"
            }
            _ => "(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)",
        };
        let mut out = format!(
            "SERVICE_NAME: {}\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : {}  {}\n                                {controls}\n        WIN32_EXIT_CODE    : {}\n        SERVICE_EXIT_CODE  : {}\n        CHECKPOINT         : 0x0\n        WAIT_HINT          : 0x0\n",
            self.name,
            state.code(),
            state.as_str(),
            super::text::exit_code(self.win32_exit_code),
            super::text::exit_code(self.service_exit_code),
        );
        if ex {
            out.push_str(&format!(
                "        PID                : {}\n        FLAGS              :\n",
                self.pid.unwrap_or(0)
            ));
        }
        out
    }

    /// The `sc query` block (no `PID`, no `FLAGS`: sc.exe prints those only for `queryex`).
    pub fn sc_query(&self) -> String {
        self.status_block(self.state, false)
    }

    /// The `sc queryex` block.
    pub fn sc_queryex(&self) -> String {
        self.status_block(self.state, true)
    }

    /// What `sc start` prints once the SCM launched the process: the `START_PENDING` status
    /// with the process id (sc.exe's `StartService` output is a `SERVICE_STATUS_PROCESS`).
    pub fn sc_start_pending(&self) -> String {
        self.status_block(ServiceState::StartPending, true)
    }

    /// What `sc stop` prints: the `STOP_PENDING` status the control returned (a
    /// `SERVICE_STATUS`, without `PID` and `FLAGS`).
    pub fn sc_stop_pending(&self) -> String {
        self.status_block(ServiceState::StopPending, false)
    }

    /// The `sc qc` output (`QueryServiceConfig`): sc.exe's success line, then the
    /// configuration fields in sc.exe's order. `ERROR_CONTROL` is `1 NORMAL`, `TAG` 0 and the
    /// load order group and dependencies empty for an own-process service installed without
    /// them (named choice: ADSync's real dependencies are not in the sources).
    pub fn sc_qc(&self) -> String {
        format!(
            "[SC] QueryServiceConfig SUCCESS\n\nSERVICE_NAME: {}\n        TYPE               : 10  WIN32_OWN_PROCESS\n        START_TYPE         : {}\n        ERROR_CONTROL      : 1   NORMAL\n        BINARY_PATH_NAME   : {}\n        LOAD_ORDER_GROUP   : \n        TAG                : 0\n        DISPLAY_NAME       : {}\n        DEPENDENCIES       : \n        SERVICE_START_NAME : {}\n",
            self.name,
            self.start_type.display(),
            self.binary_path,
            self.display_name,
            self.account
        )
    }
}

/// sc.exe's failure line for an operation: `[SC] StartService FAILED 1069:` and the message.
pub fn sc_failed(operation: &str, code: u32) -> String {
    format!(
        "[SC] {operation} FAILED {code}:\n\n{}\n",
        win32::message(code)
    )
}

/// A service to install (`sc create`, `CreateServiceW`): a demand-start own-process service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The key name.
    pub name: String,
    /// The display name.
    pub display_name: String,
    /// The image path with its arguments, quoted as the SCM stores it.
    pub binary_path: String,
    /// The logon account (`LocalSystem`, `.\NAME`, `DOMAIN\NAME`).
    pub account: String,
    /// The password the SCM stores for it (user accounts).
    pub password: Option<Secret>,
}
