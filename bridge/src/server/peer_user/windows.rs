//! The Win32 side of the peer check: the TCP table with owning process ids, and the user
//! SID of a process's token. Calls into the OS through windows-sys, which are `unsafe`;
//! each call's conditions are stated where it is made.
#![allow(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::ptr::null_mut;

use windows_sys::Win32::Foundation::{CloseHandle, ERROR_INSUFFICIENT_BUFFER, HANDLE, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GetExtendedTcpTable, TCP_TABLE_OWNER_PID_ALL,
};
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};
use windows_sys::Win32::Security::{
    GetLengthSid, GetTokenInformation, IsValidSid, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentProcessId, OpenProcess, OpenProcessToken,
    PROCESS_QUERY_LIMITED_INFORMATION,
};

use super::{PeerCheck, is_ipv6_socket, owning_pid};

/// Closes a handle when dropped.
struct Owned(HANDLE);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the handle was returned open by the OS and is closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

/// The bridge's own user SID.
pub fn own_sid() -> io::Result<Vec<u8>> {
    // SAFETY: the pseudo-handle of the current process needs no closing.
    user_sid(unsafe { GetCurrentProcess() })
}

/// The user SID in the token of `process` (a handle with query rights).
fn user_sid(process: HANDLE) -> io::Result<Vec<u8>> {
    let mut token: HANDLE = null_mut();
    // SAFETY: `process` is a valid process handle and `token` an out pointer.
    if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let token = Owned(token);
    let mut size = 0u32;
    // SAFETY: a size query (null buffer, zero length); it fails with the size needed.
    unsafe { GetTokenInformation(token.0, TokenUser, null_mut(), 0, &mut size) };
    if (size as usize) < std::mem::size_of::<TOKEN_USER>() {
        return Err(io::Error::last_os_error());
    }
    // u64 words: TOKEN_USER holds a pointer, so the buffer must be pointer-aligned.
    let mut buf = vec![0u64; (size as usize).div_ceil(8)];
    // SAFETY: the buffer is `size` bytes at least and aligned for TOKEN_USER.
    let ok = unsafe {
        GetTokenInformation(token.0, TokenUser, buf.as_mut_ptr().cast(), size, &mut size)
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call filled a TOKEN_USER at the start of `buf`; its SID pointer points
    // into `buf`, which lives until the bytes are copied out below.
    unsafe {
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let sid = user.User.Sid;
        if sid.is_null() || IsValidSid(sid) == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "invalid user SID",
            ));
        }
        let len = GetLengthSid(sid) as usize;
        Ok(std::slice::from_raw_parts(sid as *const u8, len).to_vec())
    }
}

/// The whole TCP table of one family with owning process ids, as bytes.
fn tcp_table(ipv6: bool) -> io::Result<Vec<u8>> {
    let family = u32::from(if ipv6 { AF_INET6 } else { AF_INET });
    // u32 words: the rows are DWORD-aligned.
    let mut buf: Vec<u32> = Vec::new();
    // Connections come and go between the size query and the read: a few tries.
    for _ in 0..4 {
        let mut size = (buf.len() * 4) as u32;
        let ptr = if buf.is_empty() {
            null_mut()
        } else {
            buf.as_mut_ptr().cast()
        };
        // SAFETY: `ptr` is null with size 0, or `buf` with its length in bytes.
        let status =
            unsafe { GetExtendedTcpTable(ptr, &mut size, 0, family, TCP_TABLE_OWNER_PID_ALL, 0) };
        match status {
            NO_ERROR => {
                let len = (size as usize).min(buf.len() * 4);
                return Ok(buf.iter().flat_map(|w| w.to_le_bytes()).take(len).collect());
            }
            ERROR_INSUFFICIENT_BUFFER => {
                // Room for some more rows than asked, for the ones opened meanwhile.
                buf = vec![0u32; (size as usize).div_ceil(4) + 256];
            }
            e => return Err(io::Error::from_raw_os_error(e as i32)),
        }
    }
    Err(io::Error::other("the TCP table kept growing"))
}

/// Who owns the client's end of the accepted connection from `peer` on `local`.
pub fn check(own: &[u8], peer: SocketAddr, local: SocketAddr) -> PeerCheck {
    let ipv6 = is_ipv6_socket(peer);
    let table = match tcp_table(ipv6) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("cannot read the TCP table to check a connection's user: {e}");
            return PeerCheck::Refused(None);
        }
    };
    // No row, or a row without an owner (pid 0: Wine lists sockets of processes that are
    // not Wine's so): the owner is unknown, and unknown is refused.
    let Some(pid) = owning_pid(&table, ipv6, peer, local).filter(|&p| p != 0) else {
        return PeerCheck::Refused(None);
    };
    // SAFETY: no arguments beyond the call.
    if pid == unsafe { GetCurrentProcessId() } {
        return PeerCheck::SameUser;
    }
    match process_sid(pid) {
        Ok(sid) if sid == own => PeerCheck::SameUser,
        Ok(_) => PeerCheck::Refused(Some(pid)),
        Err(e) => {
            // Another user's process usually cannot even be opened: refused as well.
            tracing::debug!(pid, "cannot read the owner of a connecting process: {e}");
            PeerCheck::Refused(Some(pid))
        }
    }
}

fn process_sid(pid: u32) -> io::Result<Vec<u8>> {
    // SAFETY: plain call; a null handle is an error, checked.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        return Err(io::Error::last_os_error());
    }
    let process = Owned(process);
    user_sid(process.0)
}
