//! The PowerShell an administrator runs on the Entra Connect server to collect an evidence
//! bundle (`adsync-sim collect --script`).
//!
//! It only reads: `wevtutil qe` of the Service Control Manager's events about ADSync and of the
//! ADSync and Directory Synchronization events (docs/design.md §8), `sc.exe qc` and `sc.exe queryex`,
//! the installed build (`miiserver.exe`'s file version under the install folder that
//! `HKLM\SOFTWARE\Microsoft\AD Sync` `Location` names, docs/adsync.md §1), the domain and whether
//! a writable DC answers (`nltest /dsgetdc: /writable`), and, when the ADSync module is present
//! and the engine runs, the connectors (`Get-ADSyncConnector`: name, type, the account's user
//! name only) and each one's last run result (`Get-ADSyncRunProfileResult`). It asks for
//! nothing, prompts for nothing, and writes only the bundle folder and a zip of it.
//!
//! Evidence: the cmdlets and registry names are documented or reverse-engineered
//! (docs/adsync.md §1, §5.3); `Get-ADSyncRunProfileResult` and the AD connector's
//! `forest-login-user` / `forest-login-domain` parameter names are community knowledge (COMM),
//! so the script checks the cmdlet exists and records what it could not collect in
//! `manifest.json`'s `not_collected`. The script is checked structurally by the tests (balanced
//! delimiters, read-only verbs, no prompt); it has not been run on a real server by this project.

/// The Service Control Manager's events the collection reads (System log): start failures
/// (7000, 7009), stops with an error (7024), crashes (7031, 7034), state changes (7036), logon
/// failures (7038), start-type changes (7040), installs (7045).
pub const SCM_EVENT_IDS: [u32; 9] = [7000, 7009, 7024, 7031, 7034, 7036, 7038, 7040, 7045];

/// The XPath of the System log's query: the SCM events above that name the ADSync service (its
/// key name in 7038, its display name in the others).
pub fn system_query(display_name: &str) -> String {
    let ids = SCM_EVENT_IDS
        .iter()
        .map(|i| format!("EventID={i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    format!(
        "*[System[Provider[@Name='{}'] and ({ids})] and EventData[Data='{}' or Data='{}']]",
        crate::win::text::SCM_SOURCE,
        crate::world::ADSYNC_SERVICE,
        display_name.replace('\'', "&apos;")
    )
}

/// The XPath of the Application log's query: every event of the engine's sources
/// ([`crate::adsync::text::ENGINE_SOURCE`], [`crate::adsync::text::PHS_SOURCE`]).
pub const APPLICATION_QUERY: &str =
    "*[System[Provider[@Name='ADSync' or @Name='Directory Synchronization']]]";

/// The PowerShell function that lists the connectors and their last run results as
/// `adsync/connectors.json`: only the name, the type, the account's user name and the result.
const CONNECTORS_FUNCTION: &str = r#"function Get-ConnectorsJson {
    $entraId = 'b891884f-051e-4a83-95af-2544101c9083'
    Import-Module ADSync -ErrorAction Stop
    $rows = New-Object System.Collections.Generic.List[object]
    foreach ($c in @(Get-ADSyncConnector -ErrorAction Stop)) {
        $type = $null
        $user = ''
        if ([string]$c.Identifier -eq $entraId) {
            $type = 'Entra'
            $user = Get-ParamValue $c 'UserName'
        } elseif ($c.Type -eq 'AD') {
            $type = 'AD'
            $user = (Get-ParamValue $c 'forest-login-domain') + '\' + (Get-ParamValue $c 'forest-login-user')
        }
        if (-not $type) { continue }
        $last = $null
        if (Get-Command Get-ADSyncRunProfileResult -ErrorAction SilentlyContinue) {
            $r = @(Get-ADSyncRunProfileResult -ConnectorId $c.Identifier -NumberRequested 1)
            if ($r.Count -gt 0) { $last = [string]$r[0].Result }
        }
        $rows.Add([ordered]@{ name = $c.Name; type = $type; account = $user; last_run = $last })
    }
    return (ConvertTo-Json -Depth 4 -InputObject ([ordered]@{ connectors = @($rows.ToArray()) }))
}
function Get-ParamValue($Connector, [string]$Name) {
    try { $p = $Connector.ConnectivityParameters[$Name] } catch { $p = $null }
    if ($p) { return [string]$p.Value }
    return ''
}"#;

/// The connectors alone, printed as JSON (what `adsync-sim collect` runs through
/// `powershell.exe -NonInteractive` on Windows).
pub fn connectors_script() -> String {
    format!("$ErrorActionPreference = 'Stop'\n{CONNECTORS_FUNCTION}\nGet-ConnectorsJson\n")
}

/// The script, in Windows PowerShell 5.1 syntax (also runs in PowerShell 7).
pub fn collect_script() -> String {
    TEMPLATE
        .replace("@@SYSTEM_QUERY@@", &system_query("$dn"))
        .replace("@@APPLICATION_QUERY@@", APPLICATION_QUERY)
        .replace("@@CONNECTORS_FUNCTION@@", CONNECTORS_FUNCTION)
}

const TEMPLATE: &str = r#"# adsync-sim evidence collection: bundle format adsync-evidence/1.
# Read-only. It reads the System and Application event logs (only the Service Control Manager's
# events about ADSync and the ADSync / Directory Synchronization events), the ADSync service's
# configuration and status (sc.exe qc / queryex), the installed build, the domain, and, when the
# ADSync module is present and the service runs, the connectors and their last run results.
# It asks for nothing and writes only the bundle folder (and a .zip of it unless -NoZip).
# Run it in an elevated Windows PowerShell on the Entra Connect server:
#   powershell.exe -ExecutionPolicy Bypass -File .\collect-adsync-evidence.ps1 -OutDir C:\adsync-evidence
# then on any machine: adsync-sim diagnose --evidence C:\adsync-evidence
[CmdletBinding()]
param(
    [string]$OutDir = (Join-Path $env:TEMP ('adsync-evidence-' + (Get-Date -Format 'yyyyMMdd-HHmmss'))),
    [int]$MaxEvents = 2000,
    [switch]$NoZip
)
$ErrorActionPreference = 'Stop'
$notCollected = New-Object System.Collections.Generic.List[string]
$utf8 = New-Object System.Text.UTF8Encoding($false)

function Write-BundleFile([string]$Rel, [string]$Text) {
    $path = Join-Path $OutDir $Rel
    $dir = Split-Path -Parent $path
    if (-not (Test-Path -LiteralPath $dir)) { New-Item -ItemType Directory -Path $dir | Out-Null }
    [System.IO.File]::WriteAllText($path, $Text, $utf8)
}

if (Test-Path -LiteralPath $OutDir) { throw "$OutDir already exists: name a new folder with -OutDir" }
New-Item -ItemType Directory -Path $OutDir | Out-Null

# The ADSync service as the SCM shows it (sc is Set-Content in PowerShell: call sc.exe).
$qc = (& sc.exe qc ADSync | Out-String)
$queryex = (& sc.exe queryex ADSync | Out-String)
Write-BundleFile 'scm\ADSync.qc.txt' $qc
Write-BundleFile 'scm\ADSync.queryex.txt' $queryex
$displayName = 'Microsoft Azure AD Sync'
if ($qc -match 'DISPLAY_NAME\s*:\s*(.+)') { $displayName = $Matches[1].Trim() }
$startName = $null
if ($qc -match 'SERVICE_START_NAME\s*:\s*(.+)') { $startName = $Matches[1].Trim() }

# Events: the SCM's about this service, and the engine's. wevtutil prints one <Event> per record.
$dn = $displayName.Replace("'", '&apos;')
$systemQuery = "@@SYSTEM_QUERY@@"
$appQuery = "@@APPLICATION_QUERY@@"
foreach ($log in @(@('System', $systemQuery), @('Application', $appQuery))) {
    $lines = & wevtutil.exe qe $log[0] "/q:$($log[1])" /f:xml /rd:true "/c:$MaxEvents"
    if ($LASTEXITCODE -ne 0) { $notCollected.Add("the $($log[0]) log: wevtutil exit code $LASTEXITCODE") }
    Write-BundleFile ("events\" + $log[0] + '.xml') ((@($lines) -join "`r`n") + "`r`n")
}

# The installed build: miiserver.exe's file version under the install folder.
$build = $null
$buildSource = $null
try {
    $location = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\AD Sync' -Name Location).Location
    $exe = Join-Path $location 'Bin\miiserver.exe'
    $vi = (Get-Item -LiteralPath $exe).VersionInfo
    $build = '{0}.{1}.{2}.{3}' -f $vi.FileMajorPart, $vi.FileMinorPart, $vi.FileBuildPart, $vi.FilePrivatePart
    $buildSource = 'miiserver.exe file version'
} catch {
    $notCollected.Add("the installed build: $($_.Exception.Message)")
}

# The service account's kind, from SERVICE_START_NAME alone.
$account = $null
if ($startName) {
    $a = $startName.ToLowerInvariant()
    $kind = 'domain'
    if ($a -eq 'localsystem' -or $a -eq 'nt authority\system') { $kind = 'localsystem' }
    elseif ($a.StartsWith('nt service\')) { $kind = 'virtual' }
    elseif ($a.StartsWith('nt authority\')) { $kind = 'builtin' }
    elseif ($a.EndsWith('$')) { $kind = 'managed' }
    elseif ($a.StartsWith('.\') -or $a.StartsWith($env:COMPUTERNAME.ToLowerInvariant() + '\')) { $kind = 'local' }
    $account = [ordered]@{ name = $startName; kind = $kind }
}

# The domain, and whether a writable domain controller answers.
$computer = $env:COMPUTERNAME
$domain = $null
try {
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem
    if ($cs.PartOfDomain) {
        $computer = "$($env:COMPUTERNAME).$($cs.Domain)"
        $netbios = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon' -Name CachePrimaryDomain).CachePrimaryDomain
        & nltest.exe "/dsgetdc:$($cs.Domain)" /writable | Out-Null
        $domain = [ordered]@{ dns = $cs.Domain; netbios = $netbios; dc_reachable = ($LASTEXITCODE -eq 0) }
    }
} catch {
    $notCollected.Add("the domain: $($_.Exception.Message)")
}

# The connectors and their last run results (the ADSync cmdlets need the running service).
@@CONNECTORS_FUNCTION@@
try {
    Write-BundleFile 'adsync\connectors.json' (Get-ConnectorsJson)
} catch {
    $notCollected.Add("the connectors: $($_.Exception.Message)")
}

$manifest = [ordered]@{
    format = 'adsync-evidence/1'
    computer = $computer
    collected = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
    collector = 'collect script'
    build = $build
    build_source = $buildSource
    service_account = $account
    domain = $domain
    not_collected = @($notCollected.ToArray())
}
Write-BundleFile 'manifest.json' (ConvertTo-Json -Depth 4 -InputObject $manifest)

if (-not $NoZip) {
    Compress-Archive -Path (Join-Path $OutDir '*') -DestinationPath "$OutDir.zip"
    Write-Host "Wrote $OutDir and $OutDir.zip"
} else {
    Write-Host "Wrote $OutDir"
}
"#;
