//! The command-line grammar (docs/design.md §4), parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sim_core::command::Secret;

/// Emulates how Azure AD Connect / Entra Connect Sync keeps its secrets, byte for byte.
#[derive(Debug, Parser)]
#[command(name = "adsync-sim", version = crate::VERSION, about, max_term_width = 100)]
pub struct Cli {
    /// State directory of the simulated world.
    #[arg(
        long,
        global = true,
        env = "ADSYNC_SIM_STATE",
        default_value = "./.adsync-sim"
    )]
    pub state: PathBuf,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text as the real tools print it.
    Human,
    /// One JSON document per command, with stable field names.
    Json,
    /// JUnit XML (`scenario run`; other commands print JSON).
    Junit,
    /// One self-contained HTML page (`timeline`; other commands print JSON).
    Html,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a healthy world: the server, its domain, and ADSync running under its account.
    Init(InitArgs),
    /// Show the world: clock, seed, services, service account.
    Status,
    /// Accounts: `account list | reset NAME --password P | change NAME --old P --new Q |
    /// enable|disable|lock|unlock NAME`. Instead of `--password P` (visible in the process
    /// list): `--password-stdin`, `--password-file FILE`, or ADSYNC_SIM_PASSWORD.
    Account(WorldArgs),
    /// The domain controller: `dc connect | dc disconnect` (whether a writable DC answers).
    Dc(WorldArgs),
    /// The Service Control Manager, as sc.exe: `sc query|queryex|qc|start|stop NAME`,
    /// `sc config NAME [obj= ACCOUNT] [password= P] [start= auto|demand|disabled]`.
    Sc(WorldArgs),
    /// Event logs: `events [--log System|Application] [--id N] [--last N]`.
    Events(WorldArgs),
    /// Simulated time: `clock advance DURATION` (30s, 15m, 2h, 91d, 1w). The sync scheduler
    /// runs its 30-minute cycles as time passes.
    Clock(WorldArgs),
    /// The key management utility: `miiskmu /a` abandons the encryption key set (the service
    /// must be stopped).
    Miiskmu(WorldArgs),
    /// Connectors: `connector list | set-password NAME --password P` (the Synchronization
    /// Service Manager's "Connect to Active Directory Forest" dialog). Instead of `--password
    /// P`: `--password-stdin`, `--password-file FILE`, or ADSYNC_SIM_PASSWORD.
    Connector(WorldArgs),
    /// Runs: `sync run CONNECTOR [--profile NAME] | sync cycle [--policy Delta|Initial]`.
    Sync(WorldArgs),
    /// Run a line as an admin types it on the server: 'sc.exe start ADSync',
    /// 'net user NAME PASSWORD', 'Start-Service ADSync', 'Get-WinEvent -LogName System -MaxEvents 5',
    /// 'Get-EventLog -LogName Application -Newest 5', 'Get-Service ADSync',
    /// 'cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\"' then './miiskmu.exe /a',
    /// 'Add-ADSyncAADServiceAccount -AADCredential USER:PASSWORD',
    /// 'Add-ADSyncADDSConnectorAccount -Name FOREST -EACredential USER:PASSWORD',
    /// 'Get-ADSyncConnector', 'Get-ADSyncScheduler', 'Set-ADSyncScheduler -SyncCycleEnabled $false',
    /// 'Start-ADSyncSyncCycle -PolicyType Delta', 'Set-MsolUserPassword -UserPrincipalName U -NewPassword P',
    /// and the runbook verbs 'diagnose' and 'remediate [--dry-run] [--credential ACCOUNT=PASSWORD]'.
    Exec {
        /// The command line (quote it as one argument).
        line: String,
    },
    /// Write the world's Windows artefacts (Protect folders, DPAPI_SYSTEM, the keyset as the
    /// build stores it, the ADSync database, event logs) to DIR, and the evidence bundle a
    /// collection on that server would write (manifest.json, events/*.xml, scm/*.txt,
    /// adsync/connectors.json), so `diagnose --evidence DIR` reads it.
    Export(ExportArgs),
    /// Collect an evidence bundle from a real Entra Connect server, read-only and without any
    /// secret: `collect --script` prints the PowerShell an administrator runs on the server;
    /// `collect --out DIR` collects on this Windows server itself (`--features windows`).
    Collect(CollectArgs),
    /// Read what an administrator can see (service state and exit codes, event logs, the
    /// connectors' last runs) and name the cause, the evidence and the documented plan, each
    /// step with the article section it follows. Result code 1 when something is wrong.
    /// `--evidence DIR` reads a bundle collected on a real server instead of the world;
    /// `--host local` reads this Windows server live (read-only; `--features windows`).
    Diagnose(DiagnoseArgs),
    /// Run the documented plan, diagnose again, and repeat until the service runs and a delta
    /// sync cycle succeeds on every connector. `--dry-run` only shows the plan.
    Remediate(RemediateArgs),
    /// Scenario files (docs/design.md §6): `scenario run PATH... [--format human|json|junit] [--out FILE]`,
    /// and `scenario explore` (random sessions against the invariants).
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Work with DPAPI files directly: master keys, blobs, CREDHIST.
    #[command(subcommand)]
    Dpapi(DpapiCommand),
    // --- labs, shell, timeline ---
    /// Break/fix training labs: `lab list | start NAME | brief | hint | check | reset |
    /// verify [NAME]`.
    Lab(LabArgs),
    /// An interactive PowerShell-like prompt on the world in the state directory, for the lines
    /// `exec` takes (plus `$cred = Get-Credential`, `help`, `exit`).
    Shell,
    /// Draw the journal (commands, ADSync service state, events over simulated time) as SVG,
    /// `--format html` for one self-contained page, `--format json` for the journal itself.
    Timeline(TimelineArgs),
    /// The keyset probe as a real Windows service (needs Windows and `--features windows`):
    /// install it under an account, run it (what the SCM starts), uninstall it.
    #[command(subcommand)]
    ProbeService(ProbeServiceCommand),
    /// Play the seed scenarios on a throwaway local account and probe service against this
    /// Windows host and the simulator, and print the step-by-step comparison. Needs Windows,
    /// `--features windows`, an Administrator and ADSYNC_SIM_REAL_WINDOWS=1; everything it
    /// creates is removed afterwards.
    Parity,
    /// Print a shell completion script: `completions bash|zsh|fish|powershell|elvish` (for
    /// example `adsync-sim completions bash > /etc/bash_completion.d/adsync-sim`).
    Completions(CompletionsArgs),
    /// The manual pages (roff): `man` prints adsync-sim(1); `man --out DIR` writes it and one
    /// page per verb (adsync-sim-init.1, …) into DIR, for `man -l` or a `man1` folder.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page into this directory (created if missing) instead of printing the main
    /// page.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ProbeServiceCommand {
    /// Protect a random keyset with DPAPI as ACCOUNT, grant it "Log on as a service", and create
    /// the service running `adsync-sim probe-service run`.
    Install(ProbeInstallArgs),
    /// The service itself, as the SCM starts it: unprotect the keyset, or write event 6028 and
    /// stop with the service-specific error 0x80231000.
    Run(ProbeRunArgs),
    /// Stop and delete the service and its keyset file.
    Uninstall(ProbeNameArgs),
}

#[derive(Debug, Args)]
pub struct ProbeNameArgs {
    /// The service name.
    #[arg(long, default_value = "AdsyncSimProbe")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ProbeInstallArgs {
    #[command(flatten)]
    pub name: ProbeNameArgs,
    /// The account the service logs on as (`.\\NAME` or `DOMAIN\\NAME`).
    #[arg(long)]
    pub account: String,
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// A password as real tools take one. On the command line it is visible in the process list;
/// prefer `--password-stdin`, `--password-file` or the `ADSYNC_SIM_PASSWORD` environment variable
/// (used when none of the options is given).
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// The password. Visible in the process list: prefer --password-stdin, --password-file or
    /// ADSYNC_SIM_PASSWORD.
    #[arg(long)]
    pub password: Option<Secret>,
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with_all = ["password", "password_file"])]
    pub password_stdin: bool,
    /// Read the password from the first line of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProbeRunArgs {
    #[command(flatten)]
    pub name: ProbeNameArgs,
    /// The keyset file written at install.
    #[arg(long)]
    pub keyset: PathBuf,
}

/// Options of `remediate`.
#[derive(Debug, Args)]
pub struct RemediateArgs {
    /// Show the diagnosis and the plan without running anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Remediate this Windows server instead of the simulated world (`--features windows`).
    #[arg(long, value_enum)]
    pub host: Option<HostChoice>,
    /// Required with `--host local` unless `--dry-run`: the plan changes this server (the SCM's
    /// stored password, the services, accounts), and each command is printed before it runs.
    #[arg(long)]
    pub yes_really_on_this_host: bool,
    /// The tenant's Global Administrator who runs Add-ADSyncAADServiceAccount (`--host local`:
    /// the server does not know it).
    #[arg(long, value_name = "UPN")]
    pub global_admin: Option<String>,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

/// A real host to work on instead of the simulated world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostChoice {
    /// The Windows server this runs on.
    Local,
}

/// Options of `diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Diagnose an evidence bundle (a folder written by `collect` or `export`) instead of the
    /// simulated world. Reads only the bundle's files; runs nothing.
    #[arg(long, value_name = "DIR", conflicts_with = "host")]
    pub evidence: Option<PathBuf>,
    /// Diagnose this Windows server live, read-only (`--features windows`).
    #[arg(long, value_enum)]
    pub host: Option<HostChoice>,
    /// The tenant's Global Administrator who will run Add-ADSyncAADServiceAccount (evidence and
    /// live hosts: the server does not know it).
    #[arg(long, value_name = "UPN")]
    pub global_admin: Option<String>,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

/// Options of `collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Print the read-only PowerShell collection script to run on the server.
    #[arg(long, conflicts_with = "out")]
    pub script: bool,
    /// Collect on this Windows server into DIR (new or empty).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The passwords an administrator gives `diagnose` and `remediate`.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// A password the administrator knows, as ACCOUNT=PASSWORD (repeatable): used instead of
    /// what the world remembers the administrator typed or was handed at install.
    #[arg(long = "credential", value_name = "ACCOUNT=PASSWORD")]
    pub credentials: Vec<String>,
}
// --- labs, shell, timeline ---

/// `lab …`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// Read lab files from this folder instead of the labs built into adsync-sim.
    #[arg(long, global = true, env = "ADSYNC_SIM_LABS")]
    pub labs: Option<PathBuf>,
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// The labs there are.
    List,
    /// Make the lab's broken world in the state directory (replacing a lab already there; a
    /// world made by `init` needs --force) and print its ticket.
    Start {
        /// The lab's name, file name or number.
        name: String,
        /// Replace a world that is not a lab.
        #[arg(long)]
        force: bool,
    },
    /// Print the active lab's ticket again.
    Brief,
    /// Reveal the next hint (each costs points).
    Hint,
    /// Check the objectives against the world as it is now; prints each and the score. Exits 1
    /// until every objective holds.
    Check,
    /// Start the active lab again from its broken state (hints and checks stay counted).
    Reset,
    /// For lab authors: run each lab's reference solution in a scratch world and prove the lab
    /// starts broken and the solution makes every objective hold.
    Verify {
        /// Only this lab.
        name: Option<String>,
    },
}

/// `timeline [--out FILE] [--scenario FILE]`.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Write the picture to FILE (standard output otherwise).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Draw a run of this scenario file (in a fresh in-memory world) instead of the state
    /// directory's journal.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

// --- end labs, shell, timeline ---

/// The words after a world command, parsed by the shared command language.
#[derive(Debug, Args)]
pub struct WorldArgs {
    /// The command's arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Azure AD Connect / Entra Connect build: it selects the service-account default, where
    /// the keyset lives and how a password change affects it (1.1.443.0, 1.1.484.0, 1.4.18.0,
    /// 1.6.2.4, 2.x). Default: the newest 2.x.
    #[arg(long)]
    pub build: Option<String>,
    /// The ADSync service account: virtual (NT SERVICE\ADSync), local, domain, gmsa or smsa.
    /// Default: the build's (local AAD_ up to 1.1.443.0, virtual later; see --domain-controller).
    #[arg(long, value_parser = ["virtual", "local", "domain", "gmsa", "smsa"])]
    pub service_account: Option<String>,
    /// Install on a domain controller of the first forest: no local accounts, no virtual
    /// account; the default is an sMSA (ADSyncMSA_<hex>$) from 1.6.2.4 and a domain AAD_ before.
    #[arg(long)]
    pub domain_controller: bool,
    /// Opt-in departure from the 2023 article: the keyset survives or breaks as DPAPI alone
    /// decides (a local account's reset loses the Credential Manager layer from 1.4.18.0, INF;
    /// a domain account recovers through the DC's backup key on every build, RE). Without it
    /// the world follows the article: a reset is supported from 1.1.484.0 and destroys the keys
    /// up to 1.1.443.0.
    #[arg(long)]
    pub keyset_follows_dpapi: bool,
    /// The Entra tenant's initial domain. Default: <first forest label>.onmicrosoft.com.
    #[arg(long)]
    pub tenant: Option<String>,
    /// An AD forest (DNS name); repeat for several. The first is the server's domain.
    #[arg(long = "forest", default_values_t = vec!["contoso.com".to_string()])]
    pub forests: Vec<String>,
    /// Seed of every random choice; the same seed and commands give the same world. Without it
    /// a random seed is drawn and shown.
    #[arg(long)]
    pub seed: Option<u64>,
    /// PBKDF2 rounds of new master keys (Windows uses 8000); lower for fast sweeps.
    #[arg(long, default_value_t = 8000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub kdf_rounds: u32,
    /// Replace an existing world in the state directory.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files and folders (recursively, `*.toml`), each in a fresh in-memory world;
    /// exits 0 only if every scenario passes.
    Run(ScenarioRunArgs),
    /// Random administrator sessions against the invariants, on every core; any failure is
    /// shrunk to a minimal sequence and can be written as a scenario file that `scenario run`
    /// replays. Exits 0 only if every case holds.
    Explore(ExploreArgs),
}

#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Cases to run (across all shards).
    #[arg(long, default_value_t = 200)]
    pub cases: u64,
    /// The seed; the same seed gives the same cases, verdict and count. Default: from the clock
    /// (printed, so a run can be repeated).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Most actions per case.
    #[arg(long, default_value_t = 12)]
    pub steps: usize,
    /// Write each failure, shrunk, as DIR/explore-<seed>-case-<n>.toml.
    #[arg(long, value_name = "DIR")]
    pub save_failures: Option<PathBuf>,
    /// Run only shard I of N (1-based): case i belongs to shard (i mod N) + 1.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Skip the remediation invariant (faster sweeps of the model alone).
    #[arg(long)]
    pub no_remediate: bool,
}

#[derive(Debug, Args)]
pub struct ScenarioRunArgs {
    /// Scenario files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write the report (in --format) to FILE; the terminal gets the summary.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run every scenario with this seed instead of its own.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the executed steps of the (one) scenario as a scenario file that replays
    /// identically: the same lines, the seed used, and each step's result code and events as
    /// its expectations.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Where the steps run: `sim`, a fresh simulated world per scenario; `windows`, this
    /// machine through the Windows backend (a build with `--features windows`): the steps an
    /// administrator does to accounts, services and event logs, after a check, before anything
    /// runs, that names every step a machine without ADSync cannot do.
    #[arg(long, value_enum, default_value_t = ScenarioHost::Sim)]
    pub host: ScenarioHost,
    /// Required with `--host windows`: the steps change this machine (account passwords, the
    /// services' logon, starts and stops).
    #[arg(long)]
    pub yes_really_on_this_host: bool,
}

/// Where `scenario run` runs the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioHost {
    /// A fresh simulated world per scenario.
    Sim,
    /// This Windows machine (`--features windows`).
    Windows,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The directory to write (created; must be empty or absent).
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DpapiCommand {
    /// Create or decrypt master key files.
    #[command(subcommand)]
    Masterkey(MasterkeyCommand),
    /// Protect a file as CryptProtectData does, with a given master key.
    Protect(ProtectArgs),
    /// Unprotect a blob (or a credential file) as CryptUnprotectData does; plaintext to stdout.
    Unprotect(UnprotectArgs),
    /// Walk a CREDHIST file back from the current password and print each former password's
    /// hashes.
    Credhist(CredhistArgs),
}

#[derive(Debug, Subcommand)]
pub enum MasterkeyCommand {
    /// Create a master key file as Windows 10 does (AES-256, SHA-512, 8000 rounds).
    Create(CreateArgs),
    /// Decrypt a master key file; prints its GUID and the 64-byte key in hex.
    Decrypt(DecryptArgs),
}

/// Who owns a master key: SID and password, or a raw pre-key.
#[derive(Debug, Args)]
pub struct Owner {
    /// The owner's SID, e.g. S-1-5-21-1004336348-1177238915-682003330-1001.
    #[arg(long)]
    pub sid: Option<String>,
    /// The owner's password (--password, --password-stdin, --password-file or
    /// ADSYNC_SIM_PASSWORD).
    #[command(flatten)]
    pub password: PasswordArgs,
    /// A 20-byte pre-key in hex instead of SID and password (a DPAPI_SYSTEM half for SYSTEM
    /// keys), as impacket's `-key`.
    #[arg(long, conflicts_with_all = ["password", "password_stdin", "password_file"])]
    pub prekey: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The owner's SID.
    #[arg(long)]
    pub sid: String,
    /// The owner's password (--password, --password-stdin, --password-file or
    /// ADSYNC_SIM_PASSWORD).
    #[command(flatten)]
    pub password: PasswordArgs,
    /// A domain account: NT-hash pre-key (Windows 10 1607+ stretch) and flags 0.
    #[arg(long)]
    pub domain: bool,
    /// PBKDF2 rounds (1 to 10,000,000).
    #[arg(long, default_value_t = 8000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub rounds: u32,
    /// Seed for the key, GUID and salts; the same seed gives the same file. Without it the
    /// operating system's randomness is used.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to write the file. Its name is usually the key's GUID.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The master key file.
    pub file: PathBuf,
    #[command(flatten)]
    pub owner: Owner,
}

/// The master key a blob is protected or unprotected with, its owner, and the entropy.
#[derive(Debug, Args)]
pub struct BlobKey {
    /// The master key file (for unprotect: the one the blob names).
    #[arg(long)]
    pub masterkey: PathBuf,
    #[command(flatten)]
    pub owner: Owner,
    /// Optional entropy, in hex (unprotect needs the one the blob was protected with).
    #[arg(long)]
    pub entropy: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProtectArgs {
    #[command(flatten)]
    pub key: BlobKey,
    /// The blob's description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Seed for the salt and HMAC key; without it the operating system's randomness is used.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The data to protect (`-` for standard input).
    #[arg(long = "in")]
    pub input: PathBuf,
    /// Where to write the blob.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct UnprotectArgs {
    /// The blob, or a Credential Manager file (`-` for standard input).
    pub blob: PathBuf,
    #[command(flatten)]
    pub key: BlobKey,
}

#[derive(Debug, Args)]
pub struct CredhistArgs {
    /// The CREDHIST file.
    pub file: PathBuf,
    /// The owner's SID.
    #[arg(long)]
    pub sid: String,
    /// The owner's current password (--password, --password-stdin, --password-file or
    /// ADSYNC_SIM_PASSWORD).
    #[command(flatten)]
    pub password: PasswordArgs,
}
