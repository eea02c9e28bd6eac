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

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::eventlog::NewEvent;
use super::text::win32;
use crate::dpapi::api::{DpapiError, ProtectFlags};
use crate::filetime::FileTime;

/// What a program sees of the host while the SCM starts it: DPAPI as the service's logon
/// account and as the machine, randomness, the clock, its own process memory, and the event log.
pub trait ServiceHost {
    /// `CryptUnprotectData` as the service's account.
    fn unprotect(&mut self, blob: &[u8], entropy: &[u8]) -> Result<Zeroizing<Vec<u8>>, DpapiError>;
    /// `CryptUnprotectData` as the service's account with its password alone: no recovery
    /// through the domain's backup key. The engine of a ≤1.1.443.0 build reads its keyset
    /// this way in a world that follows the 2023 article ("Windows destroys the encryption
    /// keys", with no exception for domain accounts; see
    /// [`crate::adsync::engine::Engine::keyset_follows_dpapi`]).
    fn unprotect_without_backup_key(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DpapiError>;
    /// `CryptProtectData` as the service's account.
    fn protect(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
        flags: ProtectFlags,
    ) -> Result<Vec<u8>, DpapiError>;
    /// `CryptUnprotectData` of a `CRYPTPROTECT_LOCAL_MACHINE` blob.
    fn unprotect_machine(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DpapiError>;
    /// `CryptProtectData(CRYPTPROTECT_LOCAL_MACHINE)`.
    fn protect_machine(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
    ) -> Result<Vec<u8>, DpapiError>;
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

/// The program behind a service, run by the SCM after the logon succeeded (the ADSync model
/// implements it).
pub trait ServiceProgram {
    /// Starts the program.
    fn start(&mut self, host: &mut dyn ServiceHost) -> Result<(), ServiceFailure>;
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
    /// The `sc query` block.
    pub fn sc_query(&self) -> String {
        let mut out = format!(
            "SERVICE_NAME: {}\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : {}  {}\n",
            self.name,
            self.state.code(),
            self.state.as_str()
        );
        if self.state == ServiceState::Running {
            out.push_str(
                "                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\n",
            );
        } else {
            out.push_str(
                "                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)\n",
            );
        }
        out.push_str(&format!(
            "        WIN32_EXIT_CODE    : {}  (0x{:x})\n        SERVICE_EXIT_CODE  : {}  (0x{:x})\n        CHECKPOINT         : 0x0\n        WAIT_HINT          : 0x0\n",
            self.win32_exit_code,
            self.win32_exit_code,
            self.service_exit_code as i32,
            self.service_exit_code
        ));
        if let Some(pid) = self.pid {
            out.push_str(&format!(
                "        PID                : {pid}\n        FLAGS              :\n"
            ));
        }
        out
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
    pub password: Option<crate::command::Secret>,
}
