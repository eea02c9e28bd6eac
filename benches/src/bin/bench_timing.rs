//! `bench-timing`: single measurements of the real crypto path, one number per run on stdout, for
//! `benches/compare.sh` to interleave with the reference implementations' runs.
//!
//! ```text
//! bench-timing kdf ROUNDS                        seconds of one dpapi_pbkdf2 (SHA-512, 48 bytes)
//! bench-timing mk-open FILE SID PASSWORD REPS    seconds per master key open (local account)
//! bench-timing blob protect|unprotect BYTES SECS bytes per second over about SECS seconds
//! bench-timing parts BYTES SECS                  bytes per second of the blob's parts (see below)
//! bench-timing prekey SID PASSWORD               a local account's pre-key, hex (for --prekey)
//! ```
//!
//! Times are this process's CPU time (see `Clock`), as `openssl speed` reports by default.
//!
//! `mk-open` times what impacket's `MasterKey.decrypt(prekey)` does: the KDF, the CBC decryption
//! and the two HMACs, with the file parsed and the pre-key derived beforehand. `parts` times the
//! pieces a blob of BYTES is made of through sim-core's public crypto functions (AES-256-CBC
//! encryption and decryption, SHA-512 over the data), one line each, to show what bounds the blob.

use std::hint::black_box;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use sim_benches::{blob, master_key_file};
use sim_core::dpapi::alg::{CipherAlg, Digest};
use sim_core::dpapi::blob::{Blob, BlobPolicy};
use sim_core::dpapi::crypto::{Padding, cbc_decrypt, cbc_encrypt, hash};
use sim_core::dpapi::kdf::dpapi_pbkdf2;
use sim_core::dpapi::masterkey::{MasterKeyFile, MasterKeyPolicy};
use sim_core::dpapi::prekey::{PreKey, sha1_password};
use uuid::Uuid;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = match run(&strs) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("bench-timing: {e}");
            return ExitCode::from(2);
        }
    };
    // A reader that stops early (`| head -1`) is not an error; any other write failure is.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("bench-timing: cannot write the result: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// Runs one measurement and returns its output lines.
fn run(args: &[&str]) -> Result<String, String> {
    let mut out = String::new();
    match args {
        ["kdf", rounds] => {
            let rounds: u32 = num(rounds)?;
            let start = Clock::start();
            let key = dpapi_pbkdf2(
                Digest::Sha512,
                black_box(&[0x42; 20]),
                black_box(&[0x17; 16]),
                rounds,
                48,
            );
            let secs = start.elapsed().as_secs_f64();
            black_box(key);
            out += &format!("{secs:.6}\n");
        }
        ["mk-open", file, sid, password, reps] => {
            let reps: u32 = num(reps)?;
            let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
            let mk = MasterKeyFile::parse(&bytes).map_err(|e| format!("{file}: {e}"))?;
            let prekey = PreKey::from_hash(&sha1_password(password)[..], sid);
            mk.open(&prekey)
                .map_err(|e| format!("{file}: does not open: {e}"))?;
            let start = Clock::start();
            for _ in 0..reps {
                black_box(mk.open(black_box(&prekey)).map_err(|e| e.to_string())?);
            }
            out += &format!(
                "{:.6}\n",
                start.elapsed().as_secs_f64() / f64::from(reps.max(1))
            );
        }
        ["blob", op, len, secs] => {
            let len: usize = num(len)?;
            let secs: f64 = num(secs)?;
            let (_, key) = master_key_file(&MasterKeyPolicy::WINDOWS_10.with_rounds(1));
            let data = vec![0xa5u8; len];
            let sealed = blob(&key, len);
            let mut rng = sim_benches::rng();
            let rate = match *op {
                "protect" => throughput(len, secs, || {
                    Blob::seal_bytes(
                        &mut rng,
                        &key,
                        Uuid::nil(),
                        black_box(&data),
                        &[7; 16],
                        "",
                        0,
                        &BlobPolicy::WINDOWS_10,
                    )
                }),
                "unprotect" => throughput(len, secs, || {
                    sealed.open(&key, black_box(&[7; 16])).expect("opens")
                }),
                other => return Err(format!("unknown blob operation {other}")),
            };
            out += &format!("{rate:.0}\n");
        }
        ["parts", len, secs] => {
            let len: usize = num(len)?;
            let secs: f64 = num(secs)?;
            let data = vec![0xa5u8; len];
            let (key, iv) = ([0x11u8; 32], [0u8; 16]);
            let ct = cbc_encrypt(CipherAlg::Aes256, &key, &iv, &data, Padding::Pkcs7)
                .map_err(|_| "cbc".to_string())?;
            let enc = throughput(len, secs, || {
                cbc_encrypt(
                    CipherAlg::Aes256,
                    &key,
                    &iv,
                    black_box(&data),
                    Padding::Pkcs7,
                )
            });
            let dec = throughput(len, secs, || {
                cbc_decrypt(CipherAlg::Aes256, &key, &iv, black_box(&ct), Padding::Pkcs7)
            });
            let sha = throughput(len, secs, || hash(Digest::Sha512, &[black_box(&data)]));
            out += &format!("aes-256-cbc-encrypt {enc:.0}\n");
            out += &format!("aes-256-cbc-decrypt {dec:.0}\n");
            out += &format!("sha512 {sha:.0}\n");
        }
        ["prekey", sid, password] => {
            let prekey = PreKey::from_hash(&sha1_password(password)[..], sid);
            out += &format!("{}\n", hex_lower(prekey.as_bytes()));
        }
        _ => {
            return Err(
                "usage: bench-timing kdf ROUNDS | mk-open FILE SID PASSWORD REPS | \
                 blob protect|unprotect BYTES SECS | parts BYTES SECS | \
                 prekey SID PASSWORD"
                    .into(),
            );
        }
    }
    Ok(out)
}

/// The clock of every in-process measurement: this process's CPU time (user and system) on Unix,
/// the time `openssl speed` and `openssl_pbkdf2` count too, so that other work on the machine
/// shows far less than it does in wall-clock time; wall-clock time elsewhere.
struct Clock(Duration);

impl Clock {
    fn now() -> Duration {
        #[cfg(unix)]
        {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
            Duration::new(
                u64::try_from(t.tv_sec).unwrap_or(0),
                u32::try_from(t.tv_nsec).unwrap_or(0),
            )
        }
        #[cfg(not(unix))]
        {
            static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
            ORIGIN.get_or_init(std::time::Instant::now).elapsed()
        }
    }

    fn start() -> Self {
        Self(Self::now())
    }

    fn elapsed(&self) -> Duration {
        Self::now().saturating_sub(self.0)
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

/// Bytes per second of `op` over `len` bytes, run for about `secs` seconds after a short warm-up.
fn throughput<R>(len: usize, secs: f64, mut op: impl FnMut() -> R) -> f64 {
    let warm = Clock::start();
    while warm.elapsed() < Duration::from_millis(50) {
        black_box(op());
    }
    let budget = Duration::from_secs_f64(secs);
    let start = Clock::start();
    let mut n: u64 = 0;
    while n == 0 || start.elapsed() < budget {
        black_box(op());
        n += 1;
    }
    (n as f64) * (len as f64) / start.elapsed().as_secs_f64()
}
