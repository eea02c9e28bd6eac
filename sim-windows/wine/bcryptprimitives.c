/* A stand-in for Windows' bcryptprimitives.dll, for running Rust test binaries under Wine 8.0.
 *
 * Rust's std (since 1.78) imports ProcessPrng from bcryptprimitives.dll; Wine 8.0 does not ship
 * it, so every Rust .exe dies at start with STATUS_DLL_NOT_FOUND (c0000135). This DLL exports
 * ProcessPrng and fills the buffer from advapi32's RtlGenRandom (SystemFunction036), which Wine
 * implements. Built by .ci/windows and copied into the Wine prefix's system32; never shipped.
 * See `docs/windows-on-linux.md`.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE buf, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(buf, chunk))
            return FALSE;
        buf += chunk;
        len -= chunk;
    }
    return TRUE;
}
