//! Where a tool's rows go: fixed-width table lines or JSON lines on stdout.
//!
//! On a terminal every line is flushed at once; on a pipe lines are buffered
//! and the event loop flushes once per poll cycle, so `| grep` stays live
//! without a write(2) per event. A closed reader (EPIPE) is not an error: the
//! output marks itself closed, further writes are dropped, and the event loop
//! ends the tool with status 0. Nothing here panics on a write error, which
//! matters because rows are written from inside libbpf callbacks, where a
//! panic cannot unwind and would abort the process.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::fd::AsFd;

use anyhow::{Context, Result};
use serde::Serialize;

pub struct Output {
    writer: RefCell<Box<dyn Write>>,
    line_buffered: bool,
    json: bool,
    /// Set by the first failed write; `BrokenPipe` is the quiet, normal end.
    failed: Cell<Option<io::ErrorKind>>,
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
        let writer = BufWriter::with_capacity(64 * 1024, File::from(fd));
        Ok(Self::new(Box::new(writer), tty, json))
    }

    pub fn new(writer: Box<dyn Write>, line_buffered: bool, json: bool) -> Self {
        Output {
            writer: RefCell::new(writer),
            line_buffered,
            json,
            failed: Cell::new(None),
        }
    }

    /// Whether the tool was asked for `--json`.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// True once a write failed (the reader went away, or the disk is full).
    pub fn is_closed(&self) -> bool {
        self.failed.get().is_some()
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
            // io::Error::from keeps an I/O error's kind (EPIPE stays EPIPE).
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

    /// Flushes and reports a real write failure; EPIPE is a normal end.
    pub fn finish(&self) -> Result<()> {
        self.flush();
        match self.failed.get() {
            None | Some(io::ErrorKind::BrokenPipe) => Ok(()),
            Some(kind) => Err(anyhow::anyhow!(
                "writing output failed: {}",
                io::Error::from(kind)
            )),
        }
    }

    fn write_with(&self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
        if self.is_closed() {
            return;
        }
        let mut writer = self.writer.borrow_mut();
        let mut result = f(&mut **writer);
        if result.is_ok() && self.line_buffered {
            result = writer.flush();
        }
        drop(writer);
        self.note(result);
    }

    fn note(&self, result: io::Result<()>) {
        if let Err(e) = result {
            self.failed.set(Some(e.kind()));
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
        fail_with: Rc<Cell<Option<io::ErrorKind>>>,
    }

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(kind) = self.fail_with.get() {
                return Err(io::Error::from(kind));
            }
            self.writes.set(self.writes.get() + 1);
            self.bytes.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            match self.fail_with.get() {
                Some(kind) => Err(io::Error::from(kind)),
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
        cap.fail_with.set(Some(io::ErrorKind::BrokenPipe));
        out.line(format_args!("after"));
        assert!(out.is_closed());
        out.line(format_args!("dropped"));
        assert!(out.finish().is_ok(), "EPIPE is a normal end");
        assert_eq!(text(&cap), "before\n");
    }

    #[test]
    fn other_write_errors_are_reported() {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, false);
        cap.fail_with.set(Some(io::ErrorKind::StorageFull));
        out.line(format_args!("x"));
        assert!(out.is_closed());
        assert!(out.finish().is_err());
    }
}
