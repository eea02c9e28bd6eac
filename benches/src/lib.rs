//! Fixtures shared by the benchmarks: a fixed account, a seeded RNG, and ready-made master keys
//! and blobs, so every bench measures only the operation it is named for.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sim_core::dpapi::blob::{Blob, BlobPolicy};
use sim_core::dpapi::masterkey::{
    FLAGS_LOCAL_USER, MasterKey, MasterKeyFile, MasterKeyPolicy, backup_prekey,
};
use sim_core::dpapi::prekey::Credential;
use sim_core::dpapi::sid::Sid;
use uuid::Uuid;

/// The SID every bench uses.
pub const SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";
/// The password every bench uses.
pub const PASSWORD: &str = "Spring2026!";

/// A deterministic RNG.
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x5eed)
}

/// The bench account's credential (local account, SHA-1 pre-key).
pub fn credential() -> Credential {
    let sid: Sid = SID.parse().expect("valid SID");
    Credential::local_password(&sid, PASSWORD)
}

/// A master key file for the bench account with the given policy, and its key.
pub fn master_key_file(policy: &MasterKeyPolicy) -> (MasterKeyFile, MasterKey) {
    let mut rng = rng();
    let key = MasterKey::generate(&mut rng);
    let file = MasterKeyFile::seal(
        &mut rng,
        Uuid::from_u128(0x9fb6_442f_626a_4980_9c85_d238_be95_5b3c),
        FLAGS_LOCAL_USER,
        &key,
        credential().primary().1,
        &backup_prekey(SID),
        policy,
        None,
    )
    .expect("seal master key");
    (file, key)
}

/// A blob of `len` bytes protected by `key` with the Windows 10 policy and 16 bytes of entropy.
pub fn blob(key: &MasterKey, len: usize) -> Blob {
    let data = vec![0xa5u8; len];
    Blob::seal(
        &mut rng(),
        key,
        Uuid::nil(),
        &data,
        &[7; 16],
        "",
        0,
        &BlobPolicy::WINDOWS_10,
    )
}
