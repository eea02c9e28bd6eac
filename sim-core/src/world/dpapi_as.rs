//! DPAPI as a service's logon account, outside a service start: what the service process would
//! get from `CryptProtectData` / `CryptUnprotectData` with the credential the SCM logs it on
//! with (`docs/dpapi.md` §3, §4). Exploration's invariants use it to check round trips and
//! the `NTE_BAD_KEY_STATE` (0x8009000B) of keys left behind by a reset.

use crate::dpapi::secret::SecretBytes;

use super::logon::StartHost;
use super::{Outcome, World, WorldError};
use crate::dpapi::api::{DpapiError, ProtectFlags};
use crate::dpapi::prekey::Credential;
use crate::win::scm::{HostFailure, ServiceHost};

impl World {
    /// Runs `f` with DPAPI as account `account` holding `credential`, the way a process of
    /// `service` (empty for none) sees it: domain recovery through a reachable DC, and the
    /// world's randomness, which advances. DPAPI's refusal is the inner error; the world's own
    /// failure under the call is the outer one (and the stream does not advance).
    pub(super) fn with_dpapi_host<T>(
        &mut self,
        account: usize,
        service: String,
        credential: Credential,
        f: impl FnOnce(&mut StartHost<'_>) -> Result<T, HostFailure<WorldError>>,
    ) -> Result<Result<T, DpapiError>, WorldError> {
        let mut rng = self.rng();
        let mut out = Outcome::default();
        let mut host = StartHost {
            world: self,
            service,
            account,
            credential,
            rng: &mut rng,
            out: &mut out,
        };
        let r = match f(&mut host) {
            Ok(v) => Ok(v),
            Err(HostFailure::Dpapi(e)) => Err(e),
            Err(HostFailure::Host(e)) => return Err(e),
        };
        self.save_rng(&rng);
        Ok(r)
    }
}

/// What DPAPI answered, when the service exists: `None` when it does not.
pub type AsService<T> = Option<Result<T, DpapiError>>;

impl World {
    /// Runs `f` with DPAPI as `service`'s logon account (domain recovery through a reachable
    /// DC included, as at a start). `Ok(None)` when there is no such service.
    fn as_service<T>(
        &mut self,
        service: &str,
        f: impl FnOnce(&mut dyn ServiceHost<Error = WorldError>) -> Result<T, HostFailure<WorldError>>,
    ) -> Result<Option<Result<T, DpapiError>>, WorldError> {
        let Some(si) = self.service_index(service) else {
            return Ok(None);
        };
        let svc = self.state.services[si].clone();
        let ai = self.account_index(&svc.account)?;
        let credential = self.service_credential(&svc, ai)?;
        let r = self.with_dpapi_host(ai, svc.name, credential, |h| f(h))?;
        Ok(Some(r))
    }

    /// `CryptProtectData` as `service`'s logon account.
    pub fn protect_as_service(
        &mut self,
        service: &str,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<AsService<Vec<u8>>, WorldError> {
        self.atomically(|w| w.protect_as_service_in_place(service, data, entropy))
    }

    /// [`World::protect_as_service`] inside the caller's transaction.
    fn protect_as_service_in_place(
        &mut self,
        service: &str,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<AsService<Vec<u8>>, WorldError> {
        self.as_service(service, |h| {
            h.protect(data, entropy, "", ProtectFlags::default())
        })
    }

    /// `CryptUnprotectData` as `service`'s logon account.
    pub fn unprotect_as_service(
        &mut self,
        service: &str,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<AsService<SecretBytes>, WorldError> {
        self.atomically(|w| w.unprotect_as_service_in_place(service, blob, entropy))
    }

    /// [`World::unprotect_as_service`] inside the caller's transaction.
    fn unprotect_as_service_in_place(
        &mut self,
        service: &str,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<AsService<SecretBytes>, WorldError> {
        self.as_service(service, |h| h.unprotect(blob, entropy))
    }
}
