//! The operating-system account the process runs as.
//!
//! pg takes the role name from `user`, `PGUSER`, then `USER` (`USERNAME` on Windows); when
//! none is set it would send no user at all and the server refuses the connection with a
//! message that names nothing useful. libpq falls back to the account the process runs as
//! instead, and so do we: it is the role a local `trust` or `peer` setup expects.

/// The name of the effective user, if the system knows one.
#[cfg(unix)]
#[allow(unsafe_code)]
pub(crate) fn os_user() -> Option<String> {
    use std::ffi::CStr;

    // SAFETY: `getpwuid_r` writes only into `pwd` and `buf` (sized as passed) and sets
    // `result` to `&pwd` or null; `pw_name` then points into `buf`, which outlives its use.
    let uid = unsafe { libc::geteuid() };
    let mut buf = vec![0u8; 1024];
    loop {
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = unsafe { CStr::from_ptr(pwd.pw_name) }.to_str().ok()?;
        return (!name.is_empty()).then(|| name.to_string());
    }
}

/// Windows has no account database to ask here; pg's `USERNAME` is the only source.
#[cfg(not(unix))]
pub(crate) fn os_user() -> Option<String> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_process_runs_as_someone() {
        let name = super::os_user().expect("a user name for the effective uid");
        assert!(!name.is_empty() && !name.contains('\0'));
    }
}
