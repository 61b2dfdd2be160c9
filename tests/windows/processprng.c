/* bcryptprimitives.dll with the one function Wine 8 lacks: ProcessPrng, which Rust's std
 * calls for every random number on Windows (HashMap keys, getrandom). Over RtlGenRandom
 * (advapi32's SystemFunction036), the OS generator Wine does implement. Test use only:
 * tests/windows.sh places it beside the test programs; real Windows has its own. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a ULONG length: large requests go in pieces. */
    while (length > 0) {
        ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
