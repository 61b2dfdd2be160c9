//! Windows toasts under office-bridge's own name.
//!
//! A toast on Windows belongs to an application user model ID (AUMID). An unpackaged
//! program has none of its own, so notify-rust falls back to PowerShell's: the toasts then
//! say "Windows PowerShell" and are switched off with PowerShell's. `office-bridge notify`
//! instead registers its own ID for the user, the way Windows documents for unpackaged
//! apps: a key `HKEY_CURRENT_USER\Software\Classes\AppUserModelId\<AUMID>` with a
//! `DisplayName`, and shows its toasts under it. Written through the registry API (no
//! `reg.exe` child, no console window flashing at login), idempotent, for this user only.

/// office-bridge's AUMID (company.product.part, no spaces, as the format asks).
pub const AUMID: &str = "OfficeBridge.Notify";

/// The name Windows shows on the toasts and in Settings > Notifications.
pub const DISPLAY_NAME: &str = "office-bridge";

/// The key under HKEY_CURRENT_USER that registers `aumid`.
pub fn registration_key(aumid: &str) -> String {
    format!(r"Software\Classes\AppUserModelId\{aumid}")
}

/// What the registration holds: (value name, string).
pub fn registration_values() -> [(&'static str, &'static str); 1] {
    [("DisplayName", DISPLAY_NAME)]
}

/// Registers [`AUMID`] for the current user.
#[cfg(windows)]
pub fn register() -> std::io::Result<()> {
    let key = registration_key(AUMID);
    for (name, value) in registration_values() {
        sys::set_string(&key, name, value)?;
    }
    Ok(())
}

#[cfg(windows)]
#[allow(unsafe_code)]
pub mod sys {
    //! HKEY_CURRENT_USER string values through the registry API (windows-sys).

    use std::ffi::OsStr;
    use std::io;
    use std::os::windows::ffi::OsStrExt;
    use std::ptr::null_mut;

    use windows_sys::Win32::Foundation::ERROR_SUCCESS;
    use windows_sys::Win32::System::Registry::{
        HKEY_CURRENT_USER, REG_SZ, RRF_RT_REG_SZ, RegDeleteTreeW, RegGetValueW, RegSetKeyValueW,
    };

    fn wide(s: &str) -> Vec<u16> {
        OsStr::new(s).encode_wide().chain(Some(0)).collect()
    }

    fn status(code: u32) -> io::Result<()> {
        if code == ERROR_SUCCESS {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(code as i32))
        }
    }

    /// Sets `name` under `HKCU\key` (creating the key) to the string `value`.
    pub fn set_string(key: &str, name: &str, value: &str) -> io::Result<()> {
        let (key, name, data) = (wide(key), wide(name), wide(value));
        // SAFETY: NUL-terminated UTF-16 strings; `data` is passed with its length in bytes,
        // the terminator included, as REG_SZ asks.
        status(unsafe {
            RegSetKeyValueW(
                HKEY_CURRENT_USER,
                key.as_ptr(),
                name.as_ptr(),
                REG_SZ,
                data.as_ptr().cast(),
                (data.len() * 2) as u32,
            )
        })
    }

    /// The string `name` under `HKCU\key`.
    pub fn get_string(key: &str, name: &str) -> io::Result<String> {
        let (key, name) = (wide(key), wide(name));
        // SAFETY: NUL-terminated UTF-16 strings; `data` is null (a size query) or holds
        // `size` bytes; RRF_RT_REG_SZ guarantees a terminated string.
        let get = |data: *mut u16, size: &mut u32| {
            status(unsafe {
                RegGetValueW(
                    HKEY_CURRENT_USER,
                    key.as_ptr(),
                    name.as_ptr(),
                    RRF_RT_REG_SZ,
                    null_mut(),
                    data.cast(),
                    size,
                )
            })
        };
        let mut size = 0u32;
        get(null_mut(), &mut size)?;
        let mut buf = vec![0u16; (size as usize).div_ceil(2)];
        get(buf.as_mut_ptr(), &mut size)?;
        let len = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        String::from_utf16(&buf[..len]).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Removes `HKCU\key` and everything under it.
    pub fn delete_tree(key: &str) -> io::Result<()> {
        let key = wide(key);
        // SAFETY: a NUL-terminated UTF-16 string.
        status(unsafe { RegDeleteTreeW(HKEY_CURRENT_USER, key.as_ptr()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_a_valid_aumid_under_the_documented_key() {
        // At most 129 characters, no spaces, and dotted parts (the documented format).
        assert!(AUMID.len() <= 129 && !AUMID.contains(' ') && AUMID.contains('.'));
        assert_eq!(
            registration_key(AUMID),
            r"Software\Classes\AppUserModelId\OfficeBridge.Notify"
        );
        assert_eq!(registration_values(), [("DisplayName", "office-bridge")]);
    }

    /// The registration lands in the user's registry and reads back (Wine has a real
    /// registry; whether Windows then shows the toast under this name is not testable
    /// here).
    #[cfg(windows)]
    #[test]
    fn registration_writes_the_display_name_for_the_user() {
        let key = registration_key("OfficeBridge.Test.Registration");
        let _ = sys::delete_tree(&key);
        for (name, value) in registration_values() {
            sys::set_string(&key, name, value).unwrap();
            assert_eq!(sys::get_string(&key, name).unwrap(), value);
        }
        // Idempotent: a second registration changes nothing.
        sys::set_string(&key, "DisplayName", DISPLAY_NAME).unwrap();
        assert_eq!(sys::get_string(&key, "DisplayName").unwrap(), DISPLAY_NAME);
        sys::delete_tree(&key).unwrap();
        assert!(sys::get_string(&key, "DisplayName").is_err());
        register().unwrap();
        assert_eq!(
            sys::get_string(&registration_key(AUMID), "DisplayName").unwrap(),
            DISPLAY_NAME
        );
    }
}
