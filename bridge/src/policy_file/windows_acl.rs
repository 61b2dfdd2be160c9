//! Windows: whether a policy file's owner and DACL leave it to administrators.
//!
//! The decision is a pure function of the owner SID and the DACL's entries, as strings and
//! numbers, so it is tested on every platform; only the reading of a security descriptor
//! (`sys`) is Windows code.

/// The SIDs that may own, and alone may write, a policy file: the Administrators group,
/// SYSTEM (device management runs as it) and TrustedInstaller.
pub const TRUSTED_SIDS: [&str; 3] = [
    "S-1-5-32-544",
    "S-1-5-18",
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
];

const TRUSTED_NAMES: &str = "Administrators, SYSTEM or TrustedInstaller";

// Access rights (winnt.h), spelt out so the pure part compiles everywhere.
const FILE_WRITE_DATA: u32 = 0x0002;
const FILE_APPEND_DATA: u32 = 0x0004;
const FILE_DELETE_CHILD: u32 = 0x0040;
const DELETE: u32 = 0x0001_0000;
const WRITE_DAC: u32 = 0x0004_0000;
const WRITE_OWNER: u32 = 0x0008_0000;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;

/// Rights on the file that would let someone change what it says, or replace it.
pub const FILE_WRITE_RIGHTS: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | WRITE_DAC
    | WRITE_OWNER
    | DELETE
    | GENERIC_WRITE
    | GENERIC_ALL;

/// Rights on its folder that would let someone remove or rename the file, or take the folder
/// over. Adding files (FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY: the same bits as write and
/// append data) is left out: ProgramData grants it to Users on every subfolder, and a new
/// file cannot replace the administrator's.
pub const FOLDER_WRITE_RIGHTS: u32 =
    FILE_DELETE_CHILD | WRITE_DAC | WRITE_OWNER | DELETE | GENERIC_WRITE | GENERIC_ALL;

// ACE types (winnt.h) that grant rights.
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0x0;
const ACCESS_ALLOWED_COMPOUND_ACE_TYPE: u8 = 0x4;
const ACCESS_ALLOWED_OBJECT_ACE_TYPE: u8 = 0x5;
const ACCESS_ALLOWED_CALLBACK_ACE_TYPE: u8 = 0x9;
const ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE: u8 = 0xB;
/// An ACE that only passes to children and does not apply to the object itself.
const INHERIT_ONLY_ACE: u8 = 0x08;

/// One entry of a DACL, as far as the decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    pub ace_type: u8,
    pub flags: u8,
    pub mask: u32,
    /// The SID in string form; None where it is not read (object entries, which then count
    /// as untrusted when they grant write rights; deny entries, which never count).
    pub sid: Option<String>,
}

impl Ace {
    /// Whether the entry grants rights with ACCESS_ALLOWED_ACE's layout (header, mask,
    /// SID): the only entries whose SID is read. Deny entries do not matter to the decision.
    pub fn has_plain_layout(ace_type: u8) -> bool {
        matches!(
            ace_type,
            ACCESS_ALLOWED_ACE_TYPE | ACCESS_ALLOWED_CALLBACK_ACE_TYPE
        )
    }
}

/// A file's or folder's owner and DACL. `dacl: None` is a NULL DACL: everyone has every
/// right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Security {
    pub owner: String,
    pub dacl: Option<Vec<Ace>>,
}

fn grants(ace_type: u8) -> bool {
    matches!(
        ace_type,
        ACCESS_ALLOWED_ACE_TYPE
            | ACCESS_ALLOWED_COMPOUND_ACE_TYPE
            | ACCESS_ALLOWED_OBJECT_ACE_TYPE
            | ACCESS_ALLOWED_CALLBACK_ACE_TYPE
            | ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE
    )
}

pub fn is_trusted_sid(sid: &str) -> bool {
    TRUSTED_SIDS.iter().any(|t| t.eq_ignore_ascii_case(sid))
}

/// The owner is trusted and no entry grants any of `rights` to anyone else. Deny entries are
/// ignored (they only take rights away), as are inherit-only ones (they do not apply here).
pub fn check(security: &Security, rights: u32) -> Result<(), super::trusted::Untrusted> {
    use super::trusted::Untrusted;
    if !is_trusted_sid(&security.owner) {
        return Err(Untrusted::Owner {
            owner: security.owner.clone(),
            trusted: TRUSTED_NAMES,
        });
    }
    let Some(dacl) = &security.dacl else {
        return Err(Untrusted::Writable(
            "it has no access list (a NULL DACL): everyone may write it".into(),
        ));
    };
    for ace in dacl {
        if !grants(ace.ace_type) || ace.flags & INHERIT_ONLY_ACE != 0 {
            continue;
        }
        if ace.mask & rights == 0 {
            continue;
        }
        match &ace.sid {
            Some(sid) if is_trusted_sid(sid) => {}
            Some(sid) => {
                return Err(Untrusted::Writable(format!(
                    "its access list lets {sid} write it (rights 0x{:08x})",
                    ace.mask & rights
                )));
            }
            None => {
                return Err(Untrusted::Writable(format!(
                    "its access list has an object entry (type {}) granting write rights",
                    ace.ace_type
                )));
            }
        }
    }
    Ok(())
}

// The crate denies `unsafe`; this module is its one exception (Windows only). Security
// descriptors, the DACL's entries and the process token are read through raw Win32 calls
// (windows-sys), which are `unsafe` to call; each call's conditions are stated where made.
#[cfg(windows)]
#[allow(unsafe_code)]
pub mod sys {
    //! Reading security descriptors and the process token (Win32 through windows-sys).

    use std::ffi::OsString;
    use std::fs::File;
    use std::os::windows::ffi::{OsStrExt, OsStringExt};
    use std::os::windows::io::AsRawHandle;
    use std::path::{Path, PathBuf};
    use std::ptr::null_mut;

    use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::{
        ConvertSidToStringSidW, GetNamedSecurityInfoW, GetSecurityInfo, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::{
        ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, GetAce, GetTokenInformation,
        OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_ELEVATION, TOKEN_QUERY,
        TokenElevation,
    };
    use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_DISK, GetFileType};
    use windows_sys::Win32::System::Com::CoTaskMemFree;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    use windows_sys::Win32::UI::Shell::{
        FOLDERID_ProgramData, KF_FLAG_DEFAULT, SHGetKnownFolderPath,
    };

    use super::{Ace, Security};

    /// ProgramData from the OS (the known folder), never from the user's environment,
    /// which the user controls. Windows' own default if the call fails.
    pub fn program_data() -> PathBuf {
        let mut raw: windows_sys::core::PWSTR = null_mut();
        // SAFETY: a valid GUID pointer, no token (the machine's folder), and an out
        // pointer; the buffer is freed with CoTaskMemFree whether or not the call worked,
        // as its documentation asks.
        let found = unsafe {
            let hr = SHGetKnownFolderPath(
                &FOLDERID_ProgramData,
                KF_FLAG_DEFAULT as u32,
                null_mut(),
                &mut raw,
            );
            let path = (hr >= 0 && !raw.is_null()).then(|| PathBuf::from(wide_to_os(raw)));
            CoTaskMemFree(raw as *const core::ffi::c_void);
            path
        };
        found.unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
    }

    /// Whether the process token is elevated (an administrator's full token, or SYSTEM).
    pub fn running_elevated() -> bool {
        let mut token: HANDLE = null_mut();
        // SAFETY: the pseudo-handle of the current process needs no closing; the token
        // handle is closed below; TOKEN_ELEVATION is the buffer TokenElevation fills.
        unsafe {
            if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
                return false;
            }
            let mut elevation = TOKEN_ELEVATION::default();
            let mut len = 0u32;
            let ok = GetTokenInformation(
                token,
                TokenElevation,
                &mut elevation as *mut TOKEN_ELEVATION as *mut core::ffi::c_void,
                std::mem::size_of::<TOKEN_ELEVATION>() as u32,
                &mut len,
            );
            CloseHandle(token);
            ok != 0 && elevation.TokenIsElevated != 0
        }
    }

    /// Whether the handle is a file on disk (not a pipe or a character device).
    pub fn is_disk_file(file: &File) -> bool {
        // SAFETY: a live handle owned by `file`.
        unsafe { GetFileType(file.as_raw_handle() as HANDLE) == FILE_TYPE_DISK }
    }

    /// The owner and DACL of an open file: what was opened is what is checked.
    pub fn handle_security(file: &File) -> std::io::Result<Security> {
        let mut owner: PSID = null_mut();
        let mut dacl: *mut ACL = null_mut();
        let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
        // SAFETY: a live handle opened with read access (which includes READ_CONTROL); the
        // out pointers point into `descriptor`, freed by `summarise`.
        let status = unsafe {
            GetSecurityInfo(
                file.as_raw_handle() as HANDLE,
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                &mut owner,
                null_mut(),
                &mut dacl,
                null_mut(),
                &mut descriptor,
            )
        };
        if status != ERROR_SUCCESS {
            return Err(std::io::Error::from_raw_os_error(status as i32));
        }
        // SAFETY: as returned by a successful GetSecurityInfo.
        unsafe { summarise(owner, dacl, descriptor) }
    }

    /// The owner and DACL of a folder, by path.
    pub fn named_security(path: &Path) -> std::io::Result<Security> {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
        let mut owner: PSID = null_mut();
        let mut dacl: *mut ACL = null_mut();
        let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
        // SAFETY: a NUL-terminated wide path; out pointers as in `handle_security`.
        let status = unsafe {
            GetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                &mut owner,
                null_mut(),
                &mut dacl,
                null_mut(),
                &mut descriptor,
            )
        };
        if status != ERROR_SUCCESS {
            return Err(std::io::Error::from_raw_os_error(status as i32));
        }
        // SAFETY: as returned by a successful GetNamedSecurityInfoW.
        unsafe { summarise(owner, dacl, descriptor) }
    }

    /// Reads the owner and every DACL entry out of a descriptor, then frees it.
    ///
    /// # Safety
    /// `owner` and `dacl` must point into `descriptor` as returned by Get*SecurityInfo.
    unsafe fn summarise(
        owner: PSID,
        dacl: *mut ACL,
        descriptor: PSECURITY_DESCRIPTOR,
    ) -> std::io::Result<Security> {
        // SAFETY: per the function's contract; every ACE pointer comes from GetAce on this
        // DACL, and every ACE starts with a header followed by its 32-bit mask; only the
        // types with ACCESS_ALLOWED_ACE's layout have their SID read at offset 8.
        let result = unsafe {
            (|| {
                let owner = sid_string(owner)?;
                if dacl.is_null() {
                    return Ok(Security { owner, dacl: None });
                }
                let count = (*dacl).AceCount;
                let mut aces = Vec::with_capacity(count.into());
                for i in 0..u32::from(count) {
                    let mut ace: *mut core::ffi::c_void = null_mut();
                    if GetAce(dacl, i, &mut ace) == 0 || ace.is_null() {
                        return Err(std::io::Error::last_os_error());
                    }
                    let header = &*(ace as *const ACE_HEADER);
                    let mask = std::ptr::read_unaligned((ace as *const u8).add(4) as *const u32);
                    let sid = if Ace::has_plain_layout(header.AceType) {
                        Some(sid_string((ace as *mut u8).add(8) as PSID)?)
                    } else {
                        None
                    };
                    aces.push(Ace {
                        ace_type: header.AceType,
                        flags: header.AceFlags,
                        mask,
                        sid,
                    });
                }
                Ok(Security {
                    owner,
                    dacl: Some(aces),
                })
            })()
        };
        // SAFETY: allocated by Get*SecurityInfo with LocalAlloc.
        unsafe { LocalFree(descriptor) };
        result
    }

    /// The "S-1-5-..." form of a SID.
    ///
    /// # Safety
    /// `sid` must point to a valid SID.
    unsafe fn sid_string(sid: PSID) -> std::io::Result<String> {
        let mut raw: windows_sys::core::PWSTR = null_mut();
        // SAFETY: per the contract; the string is freed with LocalFree as documented.
        unsafe {
            if ConvertSidToStringSidW(sid, &mut raw) == 0 {
                return Err(std::io::Error::last_os_error());
            }
            let text = wide_to_os(raw).to_string_lossy().into_owned();
            LocalFree(raw as *mut core::ffi::c_void);
            Ok(text)
        }
    }

    /// # Safety
    /// `raw` must be a NUL-terminated wide string.
    unsafe fn wide_to_os(raw: *const u16) -> OsString {
        // SAFETY: per the contract, reading stops at the terminating NUL.
        unsafe {
            let mut len = 0;
            while *raw.add(len) != 0 {
                len += 1;
            }
            OsString::from_wide(std::slice::from_raw_parts(raw, len))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = "S-1-5-32-545";
    const ADMINS: &str = "S-1-5-32-544";
    const SYSTEM: &str = "S-1-5-18";

    fn allow(sid: &str, mask: u32) -> Ace {
        Ace {
            ace_type: ACCESS_ALLOWED_ACE_TYPE,
            flags: 0,
            mask,
            sid: Some(sid.into()),
        }
    }

    /// What an administrator's deployment into ProgramData gives the file.
    fn deployed() -> Vec<Ace> {
        vec![
            allow(SYSTEM, 0x001f_01ff),
            allow(ADMINS, 0x001f_01ff),
            allow(USERS, 0x0012_00a9), // read and execute
        ]
    }

    #[test]
    fn an_administrators_file_readable_by_users_is_trusted() {
        let s = Security {
            owner: ADMINS.into(),
            dacl: Some(deployed()),
        };
        check(&s, FILE_WRITE_RIGHTS).unwrap();
        let by_system = Security {
            owner: SYSTEM.into(),
            ..s.clone()
        };
        check(&by_system, FILE_WRITE_RIGHTS).unwrap();
        let by_installer = Security {
            owner: TRUSTED_SIDS[2].into(),
            ..s
        };
        check(&by_installer, FILE_WRITE_RIGHTS).unwrap();
    }

    #[test]
    fn a_users_file_or_one_others_may_write_is_refused() {
        let user = "S-1-5-21-1-2-3-1001";
        let owned = Security {
            owner: user.into(),
            dacl: Some(deployed()),
        };
        assert!(
            check(&owned, FILE_WRITE_RIGHTS)
                .unwrap_err()
                .to_string()
                .contains(user)
        );
        for right in [
            FILE_WRITE_DATA,
            FILE_APPEND_DATA,
            WRITE_DAC,
            WRITE_OWNER,
            DELETE,
            GENERIC_WRITE,
            GENERIC_ALL,
        ] {
            let mut dacl = deployed();
            dacl.push(allow(USERS, right));
            let s = Security {
                owner: ADMINS.into(),
                dacl: Some(dacl),
            };
            let e = check(&s, FILE_WRITE_RIGHTS).unwrap_err().to_string();
            assert!(e.contains(USERS), "{right:#x}: {e}");
        }
        let null_dacl = Security {
            owner: ADMINS.into(),
            dacl: None,
        };
        assert!(check(&null_dacl, FILE_WRITE_RIGHTS).is_err());
        // An object entry's SID is not read: write rights in one are refused.
        let mut dacl = deployed();
        dacl.push(Ace {
            ace_type: ACCESS_ALLOWED_OBJECT_ACE_TYPE,
            flags: 0,
            mask: FILE_WRITE_DATA,
            sid: None,
        });
        let s = Security {
            owner: ADMINS.into(),
            dacl: Some(dacl),
        };
        assert!(check(&s, FILE_WRITE_RIGHTS).is_err());
    }

    #[test]
    fn deny_and_inherit_only_entries_do_not_count() {
        let mut dacl = deployed();
        // CREATOR OWNER full control, passed to new files only.
        dacl.push(Ace {
            ace_type: ACCESS_ALLOWED_ACE_TYPE,
            flags: INHERIT_ONLY_ACE | 0x3,
            mask: GENERIC_ALL,
            sid: Some("S-1-3-0".into()),
        });
        // A deny entry for Users.
        dacl.push(Ace {
            ace_type: 0x1,
            flags: 0,
            mask: FILE_WRITE_DATA,
            sid: Some(USERS.into()),
        });
        let s = Security {
            owner: ADMINS.into(),
            dacl: Some(dacl),
        };
        check(&s, FILE_WRITE_RIGHTS).unwrap();
    }

    #[test]
    fn a_folder_may_let_users_add_files_but_not_delete_them() {
        let mut dacl = deployed();
        // ProgramData's "Users: create files / create folders" on subfolders.
        dacl.push(allow(USERS, FILE_WRITE_DATA | FILE_APPEND_DATA));
        let folder = Security {
            owner: ADMINS.into(),
            dacl: Some(dacl.clone()),
        };
        check(&folder, FOLDER_WRITE_RIGHTS).unwrap();
        assert!(
            check(&folder, FILE_WRITE_RIGHTS).is_err(),
            "on the file itself it is write access"
        );
        dacl.push(allow(USERS, FILE_DELETE_CHILD));
        let folder = Security {
            owner: ADMINS.into(),
            dacl: Some(dacl),
        };
        assert!(check(&folder, FOLDER_WRITE_RIGHTS).is_err());
    }
}
