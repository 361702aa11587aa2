//! Processes a tool starts or inspects: a command forked paused, so that
//! probes are attached before its first instruction (`memleak -c`), command
//! lines split into words, programs found in `PATH`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// A forked command that execs only once [`release`](Self::release)d.
pub struct PausedChild {
    pub pid: i32,
    /// Writing a byte here lets the child exec; closing it makes it exit.
    go: Option<OwnedFd>,
    /// Closed by a successful exec; carries errno if exec failed.
    exec_err: Option<OwnedFd>,
    program: String,
    exited: Arc<AtomicBool>,
    /// Reaps the released child (see [`release`](Self::release)).
    waiter: Option<JoinHandle<()>>,
}

impl PausedChild {
    /// Forks a child that waits for [`release`](Self::release), then execs
    /// `command` (its stdout on our stderr with `stdout_to_stderr`).
    pub fn spawn(command: &str, stdout_to_stderr: bool) -> Result<Self> {
        let words = split_command(command)?;
        let program = words
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("empty command"))?;
        let exe = find_program(&program)?;
        let exe_c = CString::new(exe.as_os_str().as_encoded_bytes())
            .map_err(|_| anyhow!("command contains a NUL byte"))?;
        let argv_c: Vec<CString> = words
            .iter()
            .map(|w| CString::new(w.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| anyhow!("command contains a NUL byte"))?;
        let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
        argv.push(std::ptr::null());

        let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .context("creating the command's start pipe")?;
        let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .context("creating the command's start pipe")?;
        let (go_r_fd, go_w_fd, err_r_fd, err_w_fd) = (
            go_r.as_raw_fd(),
            go_w.as_raw_fd(),
            err_r.as_raw_fd(),
            err_w.as_raw_fd(),
        );
        // SAFETY: sigemptyset only writes the set it is given.
        let no_signals = unsafe {
            let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(set.as_mut_ptr());
            set.assume_init()
        };
        // SAFETY: the child only calls async-signal-safe functions (close,
        // read, dup2, signal, sigprocmask, execv, write, _exit) on data
        // prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            bail!("fork failed: {}", std::io::Error::last_os_error());
        }
        if pid == 0 {
            unsafe {
                libc::close(go_w_fd);
                libc::close(err_r_fd);
                let mut b = 0u8;
                let n = loop {
                    let n = libc::read(go_r_fd, (&mut b as *mut u8).cast(), 1);
                    if n >= 0 || *libc::__errno_location() != libc::EINTR {
                        break n;
                    }
                };
                if n != 1 {
                    // The tracer gave up (or died) before attaching.
                    libc::_exit(1);
                }
                if stdout_to_stderr {
                    libc::dup2(2, 1);
                }
                // The command starts as from a shell: Rust ignores SIGPIPE
                // (an ignored signal stays ignored across exec), and no
                // signal blocked.
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::sigprocmask(libc::SIG_SETMASK, &no_signals, std::ptr::null_mut());
                libc::execv(exe_c.as_ptr(), argv.as_ptr());
                let e: i32 = *libc::__errno_location();
                libc::write(err_w_fd, (&e as *const i32).cast(), 4);
                libc::_exit(127);
            }
        }
        drop(go_r);
        drop(err_w);
        Ok(PausedChild {
            pid,
            go: Some(go_w),
            exec_err: Some(err_r),
            program,
            exited: Arc::new(AtomicBool::new(false)),
            waiter: None,
        })
    }

    /// Lets the child exec, and reports an exec failure. From then on the
    /// child is reaped in the background, and its exit requests a stop
    /// ([`crate::stop`]): it ends the tracing.
    pub fn release(&mut self) -> Result<()> {
        let go = self.go.take().context("command already started")?;
        nix::unistd::write(&go, &[1u8]).context("starting the command")?;
        drop(go);
        let err = self.exec_err.take().context("command already started")?;
        let mut buf = [0u8; 4];
        let n = loop {
            match nix::unistd::read(&err, &mut buf) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.unwrap_or(0),
            }
        };
        if n == 4 {
            let e = i32::from_ne_bytes(buf);
            bail!(
                "cannot run {}: {}",
                self.program,
                std::io::Error::from_raw_os_error(e)
            );
        }
        self.waiter = Some(self.watch());
        Ok(())
    }

    fn watch(&self) -> JoinHandle<()> {
        let pid = nix::unistd::Pid::from_raw(self.pid);
        let exited = Arc::clone(&self.exited);
        std::thread::spawn(move || {
            let _ = nix::sys::wait::waitpid(pid, None);
            exited.store(true, Ordering::SeqCst);
            crate::stop::request();
        })
    }

    /// Ends the child if it still runs (SIGTERM, then SIGKILL) and reaps it.
    pub fn finish(mut self) {
        use nix::sys::signal::{Signal, kill};
        let pid = nix::unistd::Pid::from_raw(self.pid);
        // Never released: closing the pipe makes it exit by itself.
        self.go = None;
        let Some(waiter) = self.waiter.take() else {
            let _ = nix::sys::wait::waitpid(pid, None);
            return;
        };
        if !self.exited.load(Ordering::SeqCst) {
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(2);
            while !self.exited.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !self.exited.load(Ordering::SeqCst) {
                let _ = kill(pid, Signal::SIGKILL);
            }
        }
        let _ = waiter.join();
    }
}

impl Drop for PausedChild {
    fn drop(&mut self) {
        // An error before release: the child sees EOF and exits; reap it.
        if self.go.take().is_some() {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None);
        }
    }
}

/// Splits a command line into words: whitespace separates, single quotes
/// keep everything, double quotes keep all but `\"` and `\\`, a backslash
/// outside quotes escapes the next character.
pub fn split_command(s: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => bail!("unterminated ' in command: {s}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => bail!("unterminated \" in command: {s}"),
                        },
                        Some(c) => cur.push(c),
                        None => bail!("unterminated \" in command: {s}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => bail!("trailing \\ in command: {s}"),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        bail!("empty command");
    }
    Ok(words)
}

/// The executable a command word names: a path, or a name searched in PATH.
pub fn find_program(name: &str) -> Result<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        if is_executable(&p) {
            return Ok(p);
        }
        bail!("cannot run {name}: not an executable file");
    }
    search_path(name, |_| true).ok_or_else(|| anyhow!("cannot run {name}: not found in PATH"))
}

/// Whether `path` is a regular file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first executable `name` in `$PATH` (a default PATH when unset) that
/// `accept` also takes, as a shell would find it.
pub fn search_path(name: &str, accept: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p) && accept(p))
}

/// Whether process `pid` has user memory (a kernel thread has none, and
/// neither has a process being torn down).
pub fn has_user_memory(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|m| !m.trim().is_empty())
}

/// The system's memory page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as u64 } else { 4096 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words() {
        assert_eq!(split_command("./a  b").unwrap(), vec!["./a", "b"]);
        assert_eq!(
            split_command(r#"prog 'x y' "a \"q\" \n" c\ d"#).unwrap(),
            vec!["prog", "x y", "a \"q\" \\n", "c d"]
        );
        assert_eq!(split_command("a ''").unwrap(), vec!["a", ""]);
        assert!(split_command("   ").is_err());
        assert!(split_command("a 'b").is_err());
        assert!(split_command("a \"b").is_err());
    }

    #[test]
    fn programs_are_found() {
        assert!(find_program("sh").is_ok());
        assert!(find_program("/bin/sh").is_ok());
        let e = find_program("bpfkit-no-such-program").unwrap_err();
        assert!(e.to_string().contains("not found in PATH"), "{e}");
        assert!(find_program("/nonexistent/x").is_err());
        assert!(search_path("sh", |_| false).is_none());
    }

    #[test]
    fn kernel_threads_have_no_user_memory() {
        assert!(has_user_memory(std::process::id() as i32));
        // kthreadd.
        assert!(!has_user_memory(2));
        assert!(!has_user_memory(1 << 23));
    }

    #[test]
    fn page_size_is_a_power_of_two() {
        assert!(page_size().is_power_of_two() && page_size() >= 4096);
    }
}
