/*
 * ProcessPrng for wine 8 (Debian 12), which lacks bcryptprimitives.dll.
 * Rust's standard library (1.78 and later) takes its random bytes from
 * ProcessPrng in that DLL on Windows, so without it no Rust program starts
 * under that wine. Built by scripts/windows-tests beside the test binaries,
 * where Windows' loader looks first; never shipped. Windows 10 and later,
 * and wine 9 and later, have the real DLL.
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
