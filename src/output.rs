//! Where a tool's rows go: fixed-width table lines or JSON lines on stdout.
//!
//! On a terminal every line is flushed at once; on a pipe lines are buffered
//! and the event loop flushes once per poll cycle, so `| grep` stays live
//! without a write(2) per event. A closed reader (EPIPE) is not an error: the
//! output marks itself closed, further writes are dropped, and the event loop
//! ends the tool with status 0. Nothing here panics on a write error, which
//! matters because rows are written from inside libbpf callbacks, where a
//! panic cannot unwind and would abort the process.
//!
//! A stop request (SIGINT...) must end the tool even when stdout is a full
//! pipe nobody reads: the signal interrupts a blocked write (the handler is
//! installed without SA_RESTART, see [`crate::stop`]), and from then on
//! writes go out only while the reader takes them, for a short grace
//! period; what does not fit is dropped and the tool ends with status 0.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::fd::AsFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

/// How long, once a stop is requested, output may wait for a slow reader
/// before the rest is dropped.
const STOP_WRITE_GRACE: Duration = Duration::from_millis(300);

/// Why the output stopped taking rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// EPIPE: the reader has gone; the quiet, normal end of `| head`.
    ReaderGone,
    /// A stop was requested while the reader was not reading: the rest was
    /// dropped rather than keep the tool alive.
    Stopped,
    /// A real write error (a full disk...), reported at the end.
    Error(io::ErrorKind, Option<i32>),
}

impl Failure {
    fn of(e: &io::Error) -> Failure {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure::ReaderGone
        } else if e.get_ref().is_some_and(|inner| inner.is::<Stopped>()) {
            Failure::Stopped
        } else {
            Failure::Error(e.kind(), e.raw_os_error())
        }
    }
}

/// The error a write returns once a stop request has cut output short.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("output dropped at stop: the reader was not reading")
    }
}

impl std::error::Error for Stopped {}

/// The text of a write error: the C library's words for an errno,
/// lower-cased like the rest of our messages ("no space left on device").
fn error_text(kind: io::ErrorKind, errno: Option<i32>) -> String {
    match errno {
        Some(n) => {
            let desc = nix::errno::Errno::from_raw(n).desc();
            let mut chars = desc.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => io::Error::from(kind).to_string(),
            }
        }
        None => io::Error::from(kind).to_string(),
    }
}

/// fd 1 as a writer that a stop request can unblock (see the module doc).
struct StopAwareFile {
    file: File,
    /// [`crate::stop::requested`]; the unit tests pass their own.
    stop_requested: fn() -> bool,
    /// Set at the first write after a stop request.
    give_up_at: Option<Instant>,
    /// Bytes that reached the file, shared with [`Output`]'s row count.
    written: Rc<Cell<u64>>,
}

impl StopAwareFile {
    fn new(file: File, stop_requested: fn() -> bool) -> Self {
        StopAwareFile {
            file,
            stop_requested,
            give_up_at: None,
            written: Rc::default(),
        }
    }

    fn write_once(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !(self.stop_requested)() {
            match self.file.write(buf) {
                // The stop signal interrupted a blocked write.
                Err(e) if e.kind() == io::ErrorKind::Interrupted && (self.stop_requested)() => {}
                result => return result,
            }
        }
        self.write_while_stopping(buf)
    }

    /// A write after a stop request: only what the reader takes now, and
    /// only until the grace period is over. A pipe that polls writable has
    /// room for at least one page, so a write of at most PIPE_BUF bytes
    /// then does not block.
    fn write_while_stopping(&mut self, buf: &[u8]) -> io::Result<usize> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let give_up_at = *self
            .give_up_at
            .get_or_insert_with(|| Instant::now() + STOP_WRITE_GRACE);
        loop {
            let Some(left) = give_up_at.checked_duration_since(Instant::now()) else {
                return Err(io::Error::other(Stopped));
            };
            let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::ZERO);
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLOUT)];
            match poll(&mut fds, timeout) {
                Ok(0) => return Err(io::Error::other(Stopped)),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let chunk = &buf[..buf.len().min(libc::PIPE_BUF)];
            match self.file.write(chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }
}

impl Write for StopAwareFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.write_once(buf);
        if let Ok(n) = result {
            self.written.set(self.written.get() + n as u64);
        }
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub struct Output {
    writer: RefCell<Box<dyn Write>>,
    line_buffered: bool,
    json: bool,
    /// Set by the first failed write.
    failed: Cell<Option<Failure>>,
    /// Rows not (wholly) written, for the report when output is dropped
    /// at a stop; kept only where the bytes reaching the file are known.
    rows: Option<RowTally>,
}

/// Which rows reached the file: each row's end as a byte offset in the
/// stream, against the bytes written so far.
struct RowTally {
    written: Rc<Cell<u64>>,
    accepted: Cell<u64>,
    /// Ends of rows accepted but not yet known to be written.
    pending: RefCell<VecDeque<u64>>,
    /// Rows refused or cut by a failed write.
    refused: Cell<u64>,
}

impl RowTally {
    fn forget_written(&self) {
        let written = self.written.get();
        let mut pending = self.pending.borrow_mut();
        while pending.front().is_some_and(|&end| end <= written) {
            pending.pop_front();
        }
    }

    fn unwritten(&self) -> u64 {
        self.forget_written();
        self.pending.borrow().len() as u64 + self.refused.get()
    }
}

/// Counts the bytes a row hands to the writer.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    bytes: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Output {
    /// stdout, line-buffered on a terminal, block-buffered otherwise.
    pub fn stdout(json: bool) -> Result<Self> {
        let stdout = io::stdout();
        let tty = stdout.is_terminal();
        // Our own descriptor for fd 1: Rust's `Stdout` is always line-buffered,
        // which would cost one write(2) per event on a pipe.
        let fd = stdout
            .as_fd()
            .try_clone_to_owned()
            .context("duplicating stdout")?;
        Ok(Self::over_file(
            File::from(fd),
            crate::stop::requested,
            tty,
            json,
        ))
    }

    /// Output to `file`, buffered (64 KiB), cut short on a stop request
    /// the reader does not keep up with, counting the rows that were not
    /// written then.
    fn over_file(
        file: File,
        stop_requested: fn() -> bool,
        line_buffered: bool,
        json: bool,
    ) -> Self {
        let file = StopAwareFile::new(file, stop_requested);
        let written = Rc::clone(&file.written);
        let writer = BufWriter::with_capacity(64 * 1024, file);
        let mut out = Self::new(Box::new(writer), line_buffered, json);
        out.rows = Some(RowTally {
            written,
            accepted: Cell::new(0),
            pending: RefCell::default(),
            refused: Cell::new(0),
        });
        out
    }

    /// Rows not written because a stop request cut the output short.
    pub fn rows_dropped_at_stop(&self) -> u64 {
        match &self.rows {
            Some(rows) if self.dropped_at_stop() => rows.unwritten(),
            _ => 0,
        }
    }

    pub fn new(writer: Box<dyn Write>, line_buffered: bool, json: bool) -> Self {
        Output {
            writer: RefCell::new(writer),
            line_buffered,
            json,
            failed: Cell::new(None),
            rows: None,
        }
    }

    /// Whether the tool was asked for `--json`.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// True once a write failed (the reader went away, the disk is full, or
    /// a stop request found the reader not reading).
    pub fn is_closed(&self) -> bool {
        self.failed.get().is_some()
    }

    /// True once a write found the reader gone (EPIPE): nobody is left to
    /// tell about anything further.
    pub fn reader_gone(&self) -> bool {
        self.failed.get() == Some(Failure::ReaderGone)
    }

    /// True once a stop request found the reader not reading and the rest
    /// of the output was dropped.
    pub fn dropped_at_stop(&self) -> bool {
        self.failed.get() == Some(Failure::Stopped)
    }

    /// Writes one text line (a newline is appended).
    pub fn line(&self, args: std::fmt::Arguments<'_>) {
        self.write_with(|w| {
            w.write_fmt(args)?;
            w.write_all(b"\n")
        });
    }

    /// Writes a table header line; JSON output has no header.
    pub fn header(&self, args: std::fmt::Arguments<'_>) {
        if !self.json {
            self.line(args);
        }
    }

    /// Writes one record with `f` (which writes its own newline): rows
    /// serialized straight into the buffer, without an intermediate value.
    pub fn record(&self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
        self.write_with(f);
    }

    /// An output into memory, for tests of a tool's rows (no root, no
    /// stdout): returns the output and a handle to read what it wrote.
    pub fn captured(json: bool) -> (Self, Captured) {
        let cap = Captured::default();
        (Self::new(Box::new(cap.clone()), true, json), cap)
    }

    /// Writes one JSON object on its own line.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) {
        self.write_with(|w| {
            // `io::Error::from` hands back the writer's own error (EPIPE,
            // ENOSPC) rather than hiding it as "other error".
            serde_json::to_writer(&mut *w, value).map_err(io::Error::from)?;
            w.write_all(b"\n")
        });
    }

    pub fn flush(&self) {
        if self.is_closed() {
            return;
        }
        let result = self.writer.borrow_mut().flush();
        self.note(result);
    }

    /// Flushes and reports a real write failure; EPIPE and output dropped
    /// at a stop are a normal end.
    pub fn finish(&self) -> Result<()> {
        self.flush();
        if self.dropped_at_stop() {
            let rows = self.rows_dropped_at_stop();
            if rows > 0 {
                note(format_args!(
                    "{rows} rows dropped at exit (stdout was not being read)"
                ));
            }
        }
        match self.failed.get() {
            None | Some(Failure::ReaderGone | Failure::Stopped) => Ok(()),
            Some(Failure::Error(kind, errno)) => Err(anyhow::anyhow!(
                "writing output failed: {}",
                error_text(kind, errno)
            )),
        }
    }

    fn write_with(&self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
        if self.is_closed() {
            if let Some(rows) = &self.rows {
                rows.refused.set(rows.refused.get() + 1);
            }
            return;
        }
        let mut writer = self.writer.borrow_mut();
        let mut counting = Counting {
            inner: &mut **writer,
            bytes: 0,
        };
        let mut result = f(&mut counting);
        let bytes = counting.bytes;
        if let Some(rows) = &self.rows {
            if result.is_ok() {
                let end = rows.accepted.get() + bytes;
                rows.accepted.set(end);
                rows.pending.borrow_mut().push_back(end);
                rows.forget_written();
            } else {
                // Part of it may be buffered: it still takes stream bytes.
                rows.accepted.set(rows.accepted.get() + bytes);
                rows.refused.set(rows.refused.get() + 1);
            }
        }
        if result.is_ok() && self.line_buffered {
            result = writer.flush();
        }
        drop(writer);
        self.note(result);
    }

    fn note(&self, result: io::Result<()>) {
        if let Err(e) = result {
            self.failed.set(Some(Failure::of(&e)));
        }
    }
}

/// What an [`Output::captured`] wrote.
#[derive(Clone, Default)]
pub struct Captured(std::rc::Rc<RefCell<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }

    /// Each line parsed as JSON (panics on a line that is not: test use).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A diagnostic line on stderr (`using tp_btf`, `N events lost`, banners).
/// A closed stderr is ignored: diagnostics must never end or panic a tool.
pub fn note(args: std::fmt::Arguments<'_>) {
    // One write(2) per line: stderr is unbuffered and `writeln!` writes the
    // text and the newline separately, so a child sharing stderr (memleak
    // -c) could land its output in between.
    let _ = io::stderr().write_all(format!("{args}\n").as_bytes());
}

/// True when stdout is a pipe or socket whose reader has gone away, so a
/// tool whose filter prints nothing still ends when `| head` has exited.
pub fn stdout_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdout = io::stdout();
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) if n > 0 => fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// A writer whose bytes the test can read back, and which can be made to
    /// fail like a pipe whose reader has gone.
    #[derive(Clone, Default)]
    struct Capture {
        bytes: Rc<RefCell<Vec<u8>>>,
        writes: Rc<Cell<usize>>,
        /// An errno every write fails with (EPIPE, ENOSPC).
        fail_with: Rc<Cell<Option<i32>>>,
    }

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(errno) = self.fail_with.get() {
                return Err(io::Error::from_raw_os_error(errno));
            }
            self.writes.set(self.writes.get() + 1);
            self.bytes.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            match self.fail_with.get() {
                Some(errno) => Err(io::Error::from_raw_os_error(errno)),
                None => Ok(()),
            }
        }
    }

    fn text(c: &Capture) -> String {
        String::from_utf8(c.bytes.borrow().clone()).unwrap()
    }

    #[test]
    fn table_lines_and_header() {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, false);
        out.header(format_args!("{:<6} {}", "PID", "COMM"));
        out.line(format_args!("{:<6} {}", 42, "cat"));
        assert_eq!(text(&cap), "PID    COMM\n42     cat\n");
    }

    #[test]
    fn json_has_no_header_and_one_object_per_line() {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, true);
        out.header(format_args!("PID"));
        out.json(&serde_json::json!({"pid": 1, "comm": "a"}));
        out.json(&serde_json::json!({"pid": 2, "comm": "b\"c"}));
        let lines: Vec<serde_json::Value> = text(&cap)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["comm"], "b\"c");
    }

    #[test]
    fn pipe_output_is_buffered_until_flush() {
        let cap = Capture::default();
        let inner = BufWriter::new(cap.clone());
        let out = Output::new(Box::new(inner), false, false);
        out.line(format_args!("one"));
        out.line(format_args!("two"));
        assert_eq!(cap.writes.get(), 0, "a pipe must not get a write per line");
        out.flush();
        assert_eq!(text(&cap), "one\ntwo\n");
        assert_eq!(cap.writes.get(), 1);
    }

    #[test]
    fn broken_pipe_closes_quietly() {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, false);
        out.line(format_args!("before"));
        cap.fail_with.set(Some(libc::EPIPE));
        out.line(format_args!("after"));
        assert!(out.is_closed() && out.reader_gone());
        out.line(format_args!("dropped"));
        assert!(out.finish().is_ok(), "EPIPE is a normal end");
        assert_eq!(text(&cap), "before\n");
    }

    #[test]
    fn other_write_errors_are_reported_by_name() {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, false);
        cap.fail_with.set(Some(libc::ENOSPC));
        out.line(format_args!("x"));
        assert!(out.is_closed() && !out.reader_gone());
        let err = out.finish().unwrap_err().to_string();
        assert_eq!(err, "writing output failed: no space left on device");
    }

    #[test]
    fn json_broken_pipe_closes_quietly() {
        // serde_json wraps the writer's error; it must still read as EPIPE.
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, true);
        cap.fail_with.set(Some(libc::EPIPE));
        out.json(&serde_json::json!({"pid": 1}));
        assert!(out.reader_gone());
        assert!(out.finish().is_ok(), "EPIPE is a normal end in JSON too");
    }

    #[test]
    fn json_full_disk_is_named() {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, true);
        cap.fail_with.set(Some(libc::ENOSPC));
        out.json(&serde_json::json!({"pid": 1}));
        let err = out.finish().unwrap_err().to_string();
        assert_eq!(err, "writing output failed: no space left on device");
    }

    #[test]
    fn buffered_json_errors_keep_their_cause() {
        // On a pipe the error shows at the flush, through BufWriter.
        for (errno, reader_gone) in [(libc::EPIPE, true), (libc::ENOSPC, false)] {
            let cap = Capture::default();
            let out = Output::new(Box::new(BufWriter::new(cap.clone())), false, true);
            cap.fail_with.set(Some(errno));
            out.json(&serde_json::json!({"pid": 1}));
            out.flush();
            assert!(out.is_closed());
            assert_eq!(out.reader_gone(), reader_gone, "errno {errno}");
            assert_eq!(out.finish().is_ok(), reader_gone, "errno {errno}");
        }
    }

    /// A pipe whose buffer is full and whose reader never reads.
    fn full_pipe() -> (std::os::fd::OwnedFd, File) {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let (reader, writer) = nix::unistd::pipe().unwrap();
        let mut writer = File::from(writer);
        fcntl(&writer, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        while writer.write(&[0u8; 4096]).is_ok() {}
        fcntl(&writer, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
        (reader, writer)
    }

    fn always() -> bool {
        true
    }

    #[test]
    fn a_stop_drops_output_the_reader_does_not_take() {
        let (_reader, writer) = full_pipe();
        let out = Output::new(
            Box::new(BufWriter::new(StopAwareFile::new(writer, always))),
            false,
            false,
        );
        out.line(format_args!("never read"));
        let start = Instant::now();
        out.flush();
        let took = start.elapsed();
        assert!(out.is_closed() && !out.reader_gone());
        // (poll's timeout is in whole milliseconds)
        assert!(
            took >= STOP_WRITE_GRACE - Duration::from_millis(2),
            "{took:?}"
        );
        assert!(took < STOP_WRITE_GRACE * 5, "{took:?}");
        assert!(out.finish().is_ok(), "output dropped at a stop is no error");
        // Dropping the BufWriter (which flushes) must not block either.
        let start = Instant::now();
        drop(out);
        assert!(start.elapsed() < STOP_WRITE_GRACE, "{:?}", start.elapsed());
    }

    #[test]
    fn rows_dropped_at_a_stop_are_counted_exactly() {
        use std::io::Read;
        // A full pipe, never read but for one page: room for 4096 bytes.
        let (reader, writer) = full_pipe();
        let mut page = vec![0u8; 4096];
        File::from(reader.try_clone().unwrap())
            .read_exact(&mut page)
            .unwrap();
        let out = Output::over_file(writer, always, false, false);
        let row = "x".repeat(99);
        for _ in 0..60 {
            out.line(format_args!("{row}"));
        }
        out.flush();
        assert!(out.dropped_at_stop());
        // 40 rows of 100 bytes fit in the page (the 41st only in part).
        assert_eq!(out.rows_dropped_at_stop(), 20);
        // Any row after the stop is dropped too.
        out.line(format_args!("{row}"));
        assert_eq!(out.rows_dropped_at_stop(), 21);
        drop(reader);
    }

    #[test]
    fn a_stop_still_writes_what_the_reader_takes() {
        use std::io::Read;
        let (reader, writer) = nix::unistd::pipe().unwrap();
        let mut file = StopAwareFile::new(File::from(writer), always);
        let big = vec![b'x'; 3 * libc::PIPE_BUF];
        let reading = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::from(reader).read_to_end(&mut got).unwrap();
            got.len()
        });
        file.write_all(&big).unwrap();
        drop(file);
        assert_eq!(reading.join().unwrap(), big.len());
    }
}
