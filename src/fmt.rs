//! Formatting shared by the tools: task names, times, errno and signal names.

use std::borrow::Cow;
use std::time::Instant;

/// `s` with every control character made visible, so text from outside
/// (arguments, task names, paths) can never split a line or drive the
/// terminal: `\n`, `\r`, `\t` by name, other C0 controls, ESC and DEL as
/// `\x1b`-style hex, C1 controls (U+0080..U+009F, which some terminals
/// take as escape sequences) as `\u{9b}`. Everything else, backslashes
/// included, is kept as is; text without control characters is borrowed.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A relative `path` joined to the directory it starts from, given as its
/// components leaf first (as BPF reads them up the dentry chain, see
/// `src/bpf/path.bpf.h`). An absolute `path` is returned as it is. When the
/// walk stopped early (`truncated`), the result does not start with `/`; when
/// it failed, `path` is returned unresolved: never a wrong absolute path.
pub fn join_start_dir(
    dir_leaf_first: &[String],
    truncated: bool,
    failed: bool,
    path: &str,
) -> String {
    if path.starts_with('/') || failed {
        return path.to_string();
    }
    let mut full = String::new();
    if !truncated {
        full.push('/');
    }
    for name in dir_leaf_first.iter().rev() {
        full.push_str(name);
        full.push('/');
    }
    full.push_str(path);
    full
}

/// Slots of `struct dir_path`'s `names` (src/bpf/path.h's PATH_DEPTH).
const PATH_DEPTH: usize = 16;

/// A `struct dir_path` (src/bpf/path.h) as a skeleton has it: `names`
/// (its PATH_DEPTH fixed-size slots), `depth` (how many are filled),
/// `truncated`, `failed`. build.rs implements it for every program whose
/// header includes path.h.
pub trait DirPath {
    fn parts(&self) -> (&[i8], u32, bool, bool);
}

/// [`join_start_dir`] for a `struct dir_path` as BPF sends it.
pub fn join_dir_path(dir: &impl DirPath, path: &str) -> String {
    let (names, depth, truncated, failed) = dir.parts();
    let slot = (names.len() / PATH_DEPTH).max(1);
    let names: Vec<String> = names
        .chunks(slot)
        .take(depth as usize)
        .map(c_chars)
        .collect();
    join_start_dir(&names, truncated, failed, path)
}

/// libbpf-tools' `TIME(s)` of its connect tools: seconds since the first
/// event's BPF timestamp (µs); 0 for an event stamped before it (another
/// CPU's, read later).
#[derive(Clone, Copy, Debug, Default)]
pub struct SinceFirst(Option<u64>);

impl SinceFirst {
    pub fn secs(&mut self, ts_us: u64) -> f64 {
        let first = *self.0.get_or_insert(ts_us);
        ts_us.saturating_sub(first) as f64 / 1e6
    }
}

/// A NUL-terminated kernel char array (`comm`, paths) as text.
/// Invalid UTF-8 is replaced rather than rejected: a task name is data.
pub fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The first `count` NUL-terminated strings of `bytes` (the last may lack
/// its NUL): an argument list as BPF copies it.
pub fn c_strings(bytes: &[u8], count: usize) -> Vec<String> {
    bytes
        .split_inclusive(|&b| b == 0)
        .take(count)
        .map(c_str)
        .collect()
}

/// Same as [`c_str`] for the `[i8; N]` arrays the skeleton generates for `char[]`.
pub fn c_chars(chars: &[i8]) -> String {
    // SAFETY: i8 and u8 have the same size, alignment and validity.
    let bytes = unsafe { std::slice::from_raw_parts(chars.as_ptr().cast::<u8>(), chars.len()) };
    c_str(bytes)
}

/// Fills a kernel `char[]` (`[i8; N]`) with `s`, NUL-terminated and cut to
/// fit: tests build raw events with it.
pub fn to_c_chars(s: &str, dst: &mut [i8]) {
    dst.fill(0);
    let n = s.len().min(dst.len().saturating_sub(1));
    for (d, b) in dst.iter_mut().zip(&s.as_bytes()[..n]) {
        *d = *b as i8;
    }
}

/// Local wall-clock time as `HH:MM:SS`, the libbpf-tools `TIME` column.
pub fn hms_now() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

/// Seconds since the tool started, the libbpf-tools `TIME(s)` column.
#[derive(Clone, Copy, Debug)]
pub struct Elapsed(Instant);

impl Elapsed {
    pub fn start() -> Self {
        Elapsed(Instant::now())
    }

    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Nanoseconds since boot (CLOCK_MONOTONIC, what `bpf_ktime_get_ns` reads).
pub fn monotonic_ns() -> anyhow::Result<u64> {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map_err(|e| anyhow::anyhow!("reading CLOCK_MONOTONIC: {e}"))?;
    Ok(ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
}

/// `ENOENT` for 2; the number itself when the kernel has an errno we don't know.
pub fn errno_name(errno: i32) -> String {
    let e = nix::errno::Errno::from_raw(errno);
    if e == nix::errno::Errno::UnknownErrno {
        errno.to_string()
    } else {
        format!("{e:?}")
    }
}

/// The error number in a return value that is `-errno` on failure: positive,
/// 0 for a success (any value outside -4095..0).
pub fn errno_of_ret(ret: i64) -> i64 {
    if (-4095..0).contains(&ret) { -ret } else { 0 }
}

/// libbpf-tools sigsnoop's `-n` label: the name, `N/A` for the null signal
/// of `kill(pid, 0)`, the number for a signal without a name.
pub fn signal_label(sig: i32) -> String {
    match sig {
        0 => "N/A".to_string(),
        _ => signal_name(sig).unwrap_or_else(|| sig.to_string()),
    }
}

/// `SIGUSR1` for 10, `SIGRTMIN+2` for real-time signals; `None` when out of range.
pub fn signal_name(sig: i32) -> Option<String> {
    use nix::sys::signal::Signal;
    if let Ok(s) = Signal::try_from(sig) {
        return Some(s.as_str().to_string());
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    match sig {
        s if s == min => Some("SIGRTMIN".into()),
        s if s == max => Some("SIGRTMAX".into()),
        s if s > min && s < max => Some(format!("SIGRTMIN+{}", s - min)),
        _ => None,
    }
}

/// The C library's description of a signal ("Killed" for 9), as `strsignal(3)`.
pub fn signal_description(sig: i32) -> String {
    use nix::sys::signal::Signal;
    let known = match Signal::try_from(sig) {
        Ok(Signal::SIGHUP) => "Hangup",
        Ok(Signal::SIGINT) => "Interrupt",
        Ok(Signal::SIGQUIT) => "Quit",
        Ok(Signal::SIGILL) => "Illegal instruction",
        Ok(Signal::SIGTRAP) => "Trace/breakpoint trap",
        Ok(Signal::SIGABRT) => "Aborted",
        Ok(Signal::SIGBUS) => "Bus error",
        Ok(Signal::SIGFPE) => "Floating point exception",
        Ok(Signal::SIGKILL) => "Killed",
        Ok(Signal::SIGUSR1) => "User defined signal 1",
        Ok(Signal::SIGSEGV) => "Segmentation fault",
        Ok(Signal::SIGUSR2) => "User defined signal 2",
        Ok(Signal::SIGPIPE) => "Broken pipe",
        Ok(Signal::SIGALRM) => "Alarm clock",
        Ok(Signal::SIGTERM) => "Terminated",
        Ok(Signal::SIGSTKFLT) => "Stack fault",
        Ok(Signal::SIGCHLD) => "Child exited",
        Ok(Signal::SIGCONT) => "Continued",
        Ok(Signal::SIGSTOP) => "Stopped (signal)",
        Ok(Signal::SIGTSTP) => "Stopped",
        Ok(Signal::SIGTTIN) => "Stopped (tty input)",
        Ok(Signal::SIGTTOU) => "Stopped (tty output)",
        Ok(Signal::SIGURG) => "Urgent I/O condition",
        Ok(Signal::SIGXCPU) => "CPU time limit exceeded",
        Ok(Signal::SIGXFSZ) => "File size limit exceeded",
        Ok(Signal::SIGVTALRM) => "Virtual timer expired",
        Ok(Signal::SIGPROF) => "Profiling timer expired",
        Ok(Signal::SIGWINCH) => "Window changed",
        Ok(Signal::SIGIO) => "I/O possible",
        Ok(Signal::SIGPWR) => "Power failure",
        Ok(Signal::SIGSYS) => "Bad system call",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    match signal_name(sig) {
        Some(name) if name.starts_with("SIGRT") => {
            format!("Real-time signal {}", sig - libc::SIGRTMIN())
        }
        _ => format!("Unknown signal {sig}"),
    }
}

/// Splits a wait(2)-style status into (exit code, terminating signal, core dumped).
pub fn decode_wait_status(status: u32) -> (u32, u32, bool) {
    let sig = status & 0x7f;
    let core = status & 0x80 != 0;
    let code = (status >> 8) & 0xff;
    (code, sig, core)
}

/// Renders a wait status the way libbpf-tools exitsnoop does:
/// `0`, `code 3`, `signal 9 (Killed)`, `signal 11 (Segmentation fault), core dumped`.
pub fn exit_status_text(status: u32) -> String {
    let (code, sig, core) = decode_wait_status(status);
    if sig == 0 {
        if code == 0 {
            "0".to_string()
        } else {
            format!("code {code}")
        }
    } else {
        let mut s = format!("signal {sig} ({})", signal_description(sig as i32));
        if core {
            s.push_str(", core dumped");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_their_start_dir() {
        let dir = ["b".to_string(), "a".to_string()];
        assert_eq!(join_start_dir(&dir, false, false, "f.txt"), "/a/b/f.txt");
        assert_eq!(join_start_dir(&[], false, false, "f"), "/f");
        assert_eq!(join_start_dir(&dir, false, false, "/etc/x"), "/etc/x");
        assert_eq!(join_start_dir(&dir, true, false, "f"), "a/b/f");
        assert_eq!(join_start_dir(&dir, false, true, "f"), "f");
    }

    #[test]
    fn c_strings_stop_at_nul_and_tolerate_garbage() {
        assert_eq!(c_str(b"cat\0\0\0junk"), "cat");
        assert_eq!(c_str(b"full"), "full");
        assert_eq!(c_str(&[0xff, b'a', 0]), "\u{fffd}a");
        assert_eq!(c_chars(&[b'b' as i8, b's' as i8, 0, 5]), "bs");
        assert_eq!(c_strings(b"a\0\0bc\0d", 9), ["a", "", "bc", "d"]);
        assert_eq!(c_strings(b"a\0bc\0", 1), ["a"]);
    }

    #[test]
    fn c_chars_round_trip_and_keep_a_nul() {
        let mut comm = [7i8; 4];
        to_c_chars("bash", &mut comm);
        assert_eq!(c_chars(&comm), "bas");
        to_c_chars("s", &mut comm);
        assert_eq!(comm, [b's' as i8, 0, 0, 0]);
    }

    #[test]
    fn errno_from_return_values() {
        assert_eq!(errno_of_ret(-2), 2);
        assert_eq!(errno_of_ret(0), 0);
        assert_eq!(errno_of_ret(3), 0);
        assert_eq!(errno_of_ret(-4096), 0);
        assert_eq!(errno_of_ret(i32::MIN.into()), 0);
    }

    #[test]
    fn signal_labels() {
        assert_eq!(signal_label(10), "SIGUSR1");
        assert_eq!(signal_label(0), "N/A");
        // glibc reserves 32 and 33: they have no name.
        assert_eq!(signal_label(32), "32");
        assert_eq!(signal_label(libc::SIGRTMIN() + 1), "SIGRTMIN+1");
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(2), "ENOENT");
        assert_eq!(errno_name(13), "EACCES");
        assert_eq!(errno_name(99999), "99999");
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(10).as_deref(), Some("SIGUSR1"));
        assert_eq!(signal_name(9).as_deref(), Some("SIGKILL"));
        assert_eq!(signal_name(libc::SIGRTMIN()).as_deref(), Some("SIGRTMIN"));
        assert_eq!(
            signal_name(libc::SIGRTMIN() + 3).as_deref(),
            Some("SIGRTMIN+3")
        );
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(200), None);
        assert_eq!(signal_description(9), "Killed");
    }

    #[test]
    fn exit_statuses_like_exitsnoop() {
        assert_eq!(exit_status_text(0), "0");
        assert_eq!(exit_status_text(3 << 8), "code 3");
        assert_eq!(exit_status_text(9), "signal 9 (Killed)");
        assert_eq!(
            exit_status_text(11 | 0x80),
            "signal 11 (Segmentation fault), core dumped"
        );
        assert_eq!(decode_wait_status(42 << 8), (42, 0, false));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert!(matches!(escape_control("plain /x y"), Cow::Borrowed(_)));
        assert!(matches!(escape_control("é ü \\n"), Cow::Borrowed(_)));
        assert_eq!(escape_control("lo\nx"), "lo\\nx");
        assert_eq!(escape_control("a\tb\rc"), "a\\tb\\rc");
        assert_eq!(escape_control("\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(escape_control("\0\x01\x7f"), "\\x00\\x01\\x7f");
        assert_eq!(escape_control("\u{9b}2J"), "\\u{9b}2J");
        let escaped = escape_control("/x\ny\u{85}z");
        assert!(!escaped.contains('\n') && !escaped.contains('\u{85}'));
        assert_eq!(escaped, "/x\\ny\\u{85}z");
    }

    #[test]
    fn hms_shape() {
        let t = hms_now();
        assert_eq!(t.len(), 8);
        assert_eq!(&t[2..3], ":");
        assert_eq!(&t[5..6], ":");
    }

    #[test]
    fn since_first_counts_from_the_first_event() {
        let mut t = SinceFirst::default();
        assert_eq!(t.secs(7_000_000), 0.0);
        assert_eq!(t.secs(8_500_000), 1.5);
        assert_eq!(t.secs(6_000_000), 0.0);
    }
}
