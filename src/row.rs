//! A tool's output row, declared once.
//!
//! A tool lists its columns in one [`Table`]: each with its header, width,
//! alignment, JSON key and the one function that takes the value out of the
//! tool's row type. The table header, every table line and every JSON object
//! come from that declaration, so a column cannot be printed in one form
//! and forgotten in another. `-T` (`TIME`, wall clock) and `-t`
//! (`TIME(s)`, seconds since tracing began) are columns the library adds.
//!
//! Text taken from traced data is shown in tables with its control bytes
//! escaped ([`crate::fmt::escape_control`]): a path holding a newline or an
//! ESC sequence cannot forge a row or drive the terminal. JSON holds the
//! text as it was (serde escapes it).
//!
//! ```text
//! let table = Table::new()
//!     .time(args.timestamp)
//!     .left("PID", 6, "pid", |e: &Open| e.pid.into())
//!     .left("COMM", 16, "comm", |e| Cell::text(&e.comm))
//!     .json("tid", |e| e.tid.into())
//!     .last("PATH", "path", |e| Cell::text(&e.path));
//! ```

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::Value;

use crate::fmt;
use crate::output::Output;

/// Where a value sits in its column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One value of a row: how the table shows it and what JSON holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Int(i64),
    UInt(u64),
    /// A number shown with this many decimals in the table.
    Float(f64, usize),
    Bool(bool),
    /// Text from traced data or the user: control bytes escaped in tables.
    Text(String),
    /// A number shown in octal in the table (`open` flags), an integer in JSON.
    Octal(u64),
    /// Table text and JSON value that differ in kind (a name shown, a
    /// number kept; an argument list shown quoted, kept as an array).
    Both(String, Value),
    /// JSON `null`, shown as this text in the table.
    Null(&'static str),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A float with `decimals` places in the table, a number in JSON.
    pub fn float(v: f64, decimals: usize) -> Cell {
        Cell::Float(v, decimals)
    }

    /// The table shows `shown`; JSON holds `json`.
    pub fn both(shown: impl Into<String>, json: impl Into<Value>) -> Cell {
        Cell::Both(shown.into(), json.into())
    }

    /// Traced text cut to `max` characters in the table (C's `%-12.12s`),
    /// whole in JSON.
    pub fn text_cut(s: &str, max: usize) -> Cell {
        match s.char_indices().nth(max) {
            Some((end, _)) => Cell::Both(s[..end].to_string(), Value::from(s)),
            None => Cell::Text(s.to_string()),
        }
    }

    /// `Some(text)` as text; `None` as JSON `null` and `none` in the table.
    pub fn opt_text(v: Option<String>, none: &'static str) -> Cell {
        match v {
            Some(s) => Cell::Text(s),
            None => Cell::Null(none),
        }
    }

    /// The table's text for this value.
    pub fn shown(&self) -> Cow<'_, str> {
        match self {
            Cell::Int(v) => Cow::Owned(v.to_string()),
            Cell::UInt(v) => Cow::Owned(v.to_string()),
            Cell::Float(v, d) => Cow::Owned(format!("{v:.d$}")),
            Cell::Bool(v) => Cow::Borrowed(if *v { "true" } else { "false" }),
            Cell::Text(s) => fmt::escape_control(s),
            Cell::Octal(v) => Cow::Owned(format!("{v:08o}")),
            Cell::Both(s, _) => fmt::escape_control(s),
            Cell::Null(s) => Cow::Borrowed(s),
        }
    }

    fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        match self {
            Cell::Int(v) => write!(w, "{v}"),
            Cell::UInt(v) | Cell::Octal(v) => write!(w, "{v}"),
            // serde_json writes non-finite floats as null.
            Cell::Float(v, _) => serde_json::to_writer(w, v).map_err(io::Error::from),
            Cell::Bool(v) => write!(w, "{v}"),
            Cell::Text(s) => serde_json::to_writer(w, s).map_err(io::Error::from),
            Cell::Both(_, v) => serde_json::to_writer(w, v).map_err(io::Error::from),
            Cell::Null(_) => w.write_all(b"null"),
        }
    }

    /// The JSON value (for tests and for nesting rows in an interval).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Int(v) => Value::from(*v),
            Cell::UInt(v) | Cell::Octal(v) => Value::from(*v),
            Cell::Float(v, _) => Value::from(*v),
            Cell::Bool(v) => Value::from(*v),
            Cell::Text(s) => Value::from(s.as_str()),
            Cell::Both(_, v) => v.clone(),
            Cell::Null(_) => Value::Null,
        }
    }
}

macro_rules! cell_from {
    ($variant:ident: $($t:ty),*) => {$(
        impl From<$t> for Cell {
            fn from(v: $t) -> Cell {
                Cell::$variant(v.into())
            }
        }
    )*};
}
cell_from!(Int: i8, i16, i32, i64);
cell_from!(UInt: u8, u16, u32, u64);
cell_from!(Bool: bool);
cell_from!(Text: String, &str);

impl From<usize> for Cell {
    fn from(v: usize) -> Cell {
        Cell::UInt(v as u64)
    }
}

type Value_<'a, R> = Box<dyn Fn(&R) -> Cell + 'a>;
type Lines<'a, R> = Box<dyn Fn(&R) -> Vec<String> + 'a>;

struct Column<'a, R> {
    header: &'static str,
    /// Padded to this width (0: not padded).
    width: usize,
    align: Align,
    /// Printed before the column in table lines (after the first column).
    sep: &'static str,
    /// `None`: a table-only column.
    key: Option<&'static str>,
    in_table: bool,
    value: Value_<'a, R>,
}

/// The columns of one tool's rows. Built once at start-up from the flags.
pub struct Table<'a, R> {
    columns: Vec<Column<'a, R>>,
    /// A line printed above the table header (tables only).
    title: Option<String>,
    /// Lines a table prints under a row (a stack); JSON carries them as keys.
    below: Option<Lines<'a, R>>,
}

impl<R> Default for Table<'_, R> {
    fn default() -> Self {
        Table {
            columns: Vec::new(),
            title: None,
            below: None,
        }
    }
}

impl<'a, R> Table<'a, R> {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(
        mut self,
        header: &'static str,
        width: usize,
        align: Align,
        key: Option<&'static str>,
        value: impl Fn(&R) -> Cell + 'a,
    ) -> Self {
        self.columns.push(Column {
            header,
            width,
            align,
            sep: " ",
            key,
            in_table: true,
            value: Box::new(value),
        });
        self
    }

    /// A left-aligned column (`%-6s`).
    pub fn left(
        self,
        header: &'static str,
        width: usize,
        key: &'static str,
        value: impl Fn(&R) -> Cell + 'a,
    ) -> Self {
        self.push(header, width, Align::Left, Some(key), value)
    }

    /// A right-aligned column (`%6s`).
    pub fn right(
        self,
        header: &'static str,
        width: usize,
        key: &'static str,
        value: impl Fn(&R) -> Cell + 'a,
    ) -> Self {
        self.push(header, width, Align::Right, Some(key), value)
    }

    /// An unpadded column, usually the last (`PATH`, `ARGS`).
    pub fn last(
        self,
        header: &'static str,
        key: &'static str,
        value: impl Fn(&R) -> Cell + 'a,
    ) -> Self {
        self.push(header, 0, Align::Left, Some(key), value)
    }

    /// A value only JSON carries (the table has no column for it).
    pub fn json(mut self, key: &'static str, value: impl Fn(&R) -> Cell + 'a) -> Self {
        self = self.push("", 0, Align::Left, Some(key), value);
        if let Some(c) = self.columns.last_mut() {
            c.in_table = false;
        }
        self
    }

    /// A column only the table shows (JSON has the value under another key).
    pub fn table_only(
        self,
        header: &'static str,
        width: usize,
        align: Align,
        value: impl Fn(&R) -> Cell + 'a,
    ) -> Self {
        self.push(header, width, align, None, value)
    }

    /// Shows the column just declared in the table only when `on` (a flag
    /// such as `-U`); JSON keeps it either way.
    pub fn shown_if(mut self, on: bool) -> Self {
        if let Some(c) = self.columns.last_mut() {
            c.in_table &= on;
        }
        self
    }

    /// Drops the column just declared from both forms unless `on` (a value
    /// that exists only with a flag, such as `-T`'s time).
    pub fn only_if(mut self, on: bool) -> Self {
        if !on {
            self.columns.pop();
        }
        self
    }

    /// A line the table prints above its header (runqslower's "Tracing run
    /// queue latency higher than 10000 us"); JSON has no such line.
    pub fn title(mut self, line: impl Into<String>) -> Self {
        self.title = Some(line.into());
        self
    }

    /// The separator printed before the column just declared (default one space).
    pub fn sep(mut self, sep: &'static str) -> Self {
        if let Some(c) = self.columns.last_mut() {
            c.sep = sep;
        }
        self
    }

    /// libbpf-tools' `-T`: `TIME` as `HH:MM:SS`, first column, JSON `time`.
    pub fn time(self, on: bool) -> Self {
        self.time_headed(on, "TIME")
    }

    /// [`Table::time`] under another header: libbpf-tools' exitsnoop heads
    /// its `HH:MM:SS` column `TIME(s)`.
    pub fn time_headed(self, on: bool, header: &'static str) -> Self {
        self.left(header, 8, "time", |_| Cell::Text(fmt::hms_now()))
            .only_if(on)
    }

    /// libbpf-tools' `-t`: `TIME(s)`, seconds since `start`, JSON `elapsed_s`.
    pub fn elapsed(
        self,
        on: bool,
        start: fmt::Elapsed,
        header: &'static str,
        width: usize,
    ) -> Self {
        self.left(header, width, "elapsed_s", move |_| {
            Cell::Float(start.secs(), 3)
        })
        .only_if(on)
    }

    /// The schema's `errno` (positive, 0 on success) and `error` (its name,
    /// `null` on success), JSON-only, from `ret`, a return value that is
    /// `-errno` on failure; both left out unless `on`.
    pub fn errno_of_ret(self, on: bool, ret: impl Fn(&R) -> i64 + Copy + 'a) -> Self {
        let errno = move |r: &R| fmt::errno_of_ret(ret(r));
        self.json("errno", move |r| errno(r).into())
            .only_if(on)
            .json("error", move |r| {
                let e = errno(r);
                Cell::opt_text((e != 0).then(|| fmt::errno_name(e as i32)), "-")
            })
            .only_if(on)
    }

    /// A wait(2)-style status in the schema's keys, JSON-only: `exit_code`,
    /// `signal`, `signal_name`, `core_dumped`, then the raw `status`; all
    /// `null` for a row where `status` gives `None` (not an exit).
    pub fn wait_status(self, status: impl Fn(&R) -> Option<u32> + Copy + 'a) -> Self {
        let part = move |r: &R, f: fn((u32, u32, bool)) -> Cell| {
            status(r).map_or(Cell::Null("-"), |s| f(fmt::decode_wait_status(s)))
        };
        self.json("exit_code", move |r| part(r, |(code, _, _)| code.into()))
            .json("signal", move |r| part(r, |(_, sig, _)| sig.into()))
            .json("signal_name", move |r| {
                part(r, |(_, sig, _)| {
                    let name = (sig != 0).then(|| fmt::signal_name(sig as i32));
                    Cell::opt_text(name.flatten(), "-")
                })
            })
            .json("core_dumped", move |r| part(r, |(_, _, core)| core.into()))
            .json("status", move |r| {
                status(r).map_or(Cell::Null("-"), Cell::from)
            })
    }

    /// Lines the table prints under each row, as they are (a row's stack
    /// frames); JSON has no form for them: give it the same data with
    /// [`json`](Self::json).
    pub fn lines_below(mut self, lines: impl Fn(&R) -> Vec<String> + 'a) -> Self {
        self.below = Some(Box::new(lines));
        self
    }

    /// Where the last table column starts: the widths and separators of
    /// the columns before it (lines under a row lined up with it).
    pub fn last_column_offset(&self) -> usize {
        let shown: Vec<&Column<'a, R>> = self.columns.iter().filter(|c| c.in_table).collect();
        let before = shown.len().saturating_sub(1);
        (shown.iter().take(before).map(|c| c.width).sum::<usize>())
            + (shown.iter().skip(1).map(|c| c.sep.len()).sum::<usize>())
    }

    /// The JSON keys, in order (the schema test reads them).
    pub fn keys(&self) -> Vec<&'static str> {
        self.columns.iter().filter_map(|c| c.key).collect()
    }

    /// The table header line.
    pub fn header_line(&self) -> String {
        let mut line = String::new();
        self.write_table(&mut line, |c| Cow::Borrowed(c.header));
        line
    }

    /// One table line for `row`.
    pub fn table_line(&self, row: &R) -> String {
        let mut line = String::with_capacity(128);
        self.write_table(&mut line, |c| {
            Cow::Owned((c.value)(row).shown().into_owned())
        });
        line
    }

    fn write_table<'c>(
        &'c self,
        line: &mut String,
        text: impl Fn(&'c Column<'a, R>) -> Cow<'c, str>,
    ) {
        let mut first = true;
        for c in self.columns.iter().filter(|c| c.in_table) {
            if !first {
                line.push_str(c.sep);
            }
            first = false;
            let t = text(c);
            let pad = c.width.saturating_sub(t.chars().count());
            if c.align == Align::Right {
                line.extend(std::iter::repeat_n(' ', pad));
            }
            line.push_str(&t);
            if c.align == Align::Left {
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
    }

    /// Writes `row` as one JSON object (keys in declaration order).
    pub fn write_json(&self, w: &mut dyn Write, row: &R) -> io::Result<()> {
        w.write_all(b"{")?;
        let mut first = true;
        for c in &self.columns {
            let Some(key) = c.key else { continue };
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut *w, key).map_err(io::Error::from)?;
            w.write_all(b":")?;
            (c.value)(row).write_json(w)?;
        }
        w.write_all(b"}")
    }

    /// The JSON object of `row` as a value (nested in an interval's `rows`).
    pub fn json_value(&self, row: &R) -> Value {
        let mut m = serde_json::Map::new();
        for c in &self.columns {
            if let Some(key) = c.key {
                m.insert(key.to_string(), (c.value)(row).to_json());
            }
        }
        Value::Object(m)
    }

    /// Prints the header (tables only).
    /// A table whose columns all have empty headers (a sentence per row,
    /// as oomkill's) has no header line.
    pub fn print_header(&self, out: &Output) {
        let titled = self
            .columns
            .iter()
            .any(|c| c.in_table && !c.header.is_empty());
        if !out.is_json()
            && let Some(title) = &self.title
        {
            out.line(format_args!("{title}"));
        }
        if !out.is_json() && titled {
            out.line(format_args!("{}", self.header_line()));
        }
    }

    /// Prints one row in the output's form.
    pub fn print(&self, out: &Output, row: &R) {
        if out.is_json() {
            out.record(|w| {
                self.write_json(w, row)?;
                w.write_all(b"\n")
            });
        } else {
            out.line(format_args!("{}", self.table_line(row)));
            for line in self.below.iter().flat_map(|below| below(row)) {
                out.line(format_args!("{line}"));
            }
        }
    }

    /// Prints one interval's rows: the header and a line each in a table;
    /// one object `{<fields>, "rows": [...]}` in JSON, printed even when
    /// there are no rows (a reader sees every interval).
    pub fn print_interval(&self, out: &Output, fields: Value, rows: &[R]) {
        if out.is_json() {
            let mut obj = match fields {
                Value::Object(m) => m,
                _ => serde_json::Map::new(),
            };
            obj.insert(
                "rows".into(),
                Value::Array(rows.iter().map(|r| self.json_value(r)).collect()),
            );
            out.json(&Value::Object(obj));
        } else {
            self.print_header(out);
            for r in rows {
                out.line(format_args!("{}", self.table_line(r)));
            }
        }
    }
}

/// The schema every tool's JSON follows (docs/json.md).
const SCHEMA: &str = include_str!("../docs/json.md");

/// The keys docs/json.md lists: every `name` in backticks on a table row or
/// a tool's key line.
pub fn schema_keys() -> std::collections::BTreeSet<&'static str> {
    SCHEMA
        .lines()
        .filter(|l| l.starts_with('|') || l.starts_with("keys:"))
        .flat_map(|l| l.split('`').skip(1).step_by(2))
        .flat_map(|k| k.split([',', ' ']))
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

/// Panics (a unit test's failure) naming every key of `keys` that
/// docs/json.md does not list: each tool's tests call it on its table.
pub fn assert_keys_in_schema(tool: &str, keys: &[&str]) {
    let known = schema_keys();
    let missing: Vec<&&str> = keys.iter().filter(|k| !known.contains(**k)).collect();
    assert!(
        missing.is_empty(),
        "{tool}: JSON keys {missing:?} are not in docs/json.md: use the schema's name for the \
         meaning, or list the key under the tool's section there"
    );
}

/// [`assert_keys_in_schema`] for every key of a JSON value a tool prints
/// (nested objects and arrays included): for output that is not one row,
/// such as stack reports.
pub fn assert_value_keys_in_schema(tool: &str, value: &Value) {
    fn collect<'v>(v: &'v Value, keys: &mut Vec<&'v str>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    keys.push(k);
                    collect(v, keys);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| collect(v, keys)),
            _ => {}
        }
    }
    let mut keys = Vec::new();
    collect(value, &mut keys);
    assert_keys_in_schema(tool, &keys);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_lists_the_common_keys() {
        let k = schema_keys();
        for key in [
            "time",
            "pid",
            "tid",
            "comm",
            "errno",
            "signal_name",
            "laddr",
            "buckets",
        ] {
            assert!(k.contains(key), "{key}");
        }
        assert!(!k.contains("timestamp"));
    }

    struct Ev {
        pid: u32,
        comm: &'static str,
        ret: i32,
        path: &'static str,
    }

    fn table<'a>(uid: bool) -> Table<'a, Ev> {
        Table::new()
            .left("UID", 7, "uid", |_: &Ev| 0u32.into())
            .shown_if(uid)
            .left("PID", 6, "pid", |e: &Ev| e.pid.into())
            .left("COMM", 16, "comm", |e| Cell::text(e.comm))
            .right("FD", 3, "fd", |e| e.ret.into())
            .json("errno", |_| 0.into())
            .last("PATH", "path", |e| Cell::text(e.path))
    }

    fn ev() -> Ev {
        Ev {
            pid: 42,
            comm: "cat",
            ret: 3,
            path: "/etc/passwd",
        }
    }

    #[test]
    fn header_and_row_come_from_one_declaration() {
        let t = table(false);
        assert_eq!(
            t.header_line(),
            format!("{:<6} {:<16} {:>3} {}", "PID", "COMM", "FD", "PATH")
        );
        assert_eq!(
            t.table_line(&ev()),
            format!("{:<6} {:<16} {:>3} {}", 42, "cat", 3, "/etc/passwd")
        );
        assert!(table(true).header_line().starts_with("UID     PID"));
    }

    #[test]
    fn json_has_every_key_in_order_and_hidden_columns_too() {
        let t = table(false);
        let mut buf = Vec::new();
        t.write_json(&mut buf, &ev()).unwrap();
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(
            s,
            r#"{"uid":0,"pid":42,"comm":"cat","fd":3,"errno":0,"path":"/etc/passwd"}"#
        );
        assert_eq!(t.keys(), ["uid", "pid", "comm", "fd", "errno", "path"]);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v, t.json_value(&ev()));
    }

    #[test]
    fn traced_text_cannot_split_a_row() {
        let t = table(false);
        let mut e = ev();
        e.path = "/tmp/h\nnew\"line\x1b[31m";
        let line = t.table_line(&e);
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line:?}");
        assert!(line.ends_with("/tmp/h\\nnew\"line\\x1b[31m"), "{line:?}");
        let mut buf = Vec::new();
        t.write_json(&mut buf, &e).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["path"], "/tmp/h\nnew\"line\x1b[31m");
    }

    #[test]
    fn optional_columns_and_cells() {
        let t: Table<'_, Ev> = Table::new()
            .time(false)
            .left("X", 4, "x", |_| Cell::float(1.5, 3))
            .right("F", 9, "flags", |_| Cell::Octal(0o100))
            .left("S", 4, "sig", |_| Cell::both("INT", 2))
            .left("N", 3, "n", |_| Cell::opt_text(None, "-"));
        assert_eq!(t.header_line(), "X            F S    N  ");
        assert_eq!(t.table_line(&ev()), "1.500  00000100 INT  -  ");
        assert_eq!(
            t.json_value(&ev()),
            serde_json::json!({"x": 1.5, "flags": 64, "sig": 2, "n": null})
        );
        assert_eq!(Table::<Ev>::new().time(true).keys(), ["time"]);
        let cut = Cell::text_cut("a-very-long-name", 12);
        assert_eq!(
            (cut.shown(), cut.to_json()),
            ("a-very-long-".into(), "a-very-long-name".into())
        );
        assert_eq!(Cell::text_cut("short", 12), Cell::text("short"));
    }

    #[test]
    fn errno_and_error_come_from_a_return_value() {
        let t: Table<'_, Ev> = Table::new().errno_of_ret(true, |e: &Ev| e.ret.into());
        let mut e = ev();
        assert_eq!(
            t.json_value(&e),
            serde_json::json!({"errno": 0, "error": null})
        );
        e.ret = -2;
        assert_eq!(
            t.json_value(&e),
            serde_json::json!({"errno": 2, "error": "ENOENT"})
        );
        assert!(
            Table::<Ev>::new()
                .errno_of_ret(false, |e: &Ev| e.ret.into())
                .keys()
                .is_empty()
        );
    }

    #[test]
    fn wait_status_is_decoded_or_null() {
        let t: Table<'_, Ev> =
            Table::new().wait_status(|e: &Ev| (e.ret >= 0).then_some(e.ret as u32));
        let mut e = ev();
        e.ret = 9 | 0x80;
        assert_eq!(
            t.json_value(&e),
            serde_json::json!({"exit_code": 0, "signal": 9, "signal_name": "SIGKILL",
                "core_dumped": true, "status": 137})
        );
        e.ret = 3 << 8;
        assert_eq!(t.json_value(&e)["exit_code"], 3);
        assert_eq!(t.json_value(&e)["signal_name"], Value::Null);
        e.ret = -1;
        assert!(
            t.json_value(&e)
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_null)
        );
    }

    #[test]
    fn a_title_goes_above_the_table_header_only() {
        let t = table(false).title("Tracing...");
        let (out, buf) = Output::captured(false);
        t.print_header(&out);
        assert_eq!(buf.text(), format!("Tracing...\n{}\n", t.header_line()));
        let (out, buf) = Output::captured(true);
        t.print_header(&out);
        assert_eq!(buf.text(), "");
    }

    #[test]
    fn an_empty_interval_still_prints_its_object() {
        let (out, buf) = Output::captured(true);
        table(false).print_interval(&out, serde_json::json!({"time": "12:00:00"}), &[]);
        assert_eq!(buf.text(), "{\"rows\":[],\"time\":\"12:00:00\"}\n");
    }

    #[test]
    fn last_column_offset_counts_the_shown_columns_before_it() {
        let t = Table::new()
            .left("A", 6, "a", |n: &u32| (*n).into())
            .left("B", 4, "b", |n| (*n).into())
            .shown_if(false)
            .right("C", 3, "c", |n| (*n).into())
            .last("D", "d", |n| (*n).into());
        assert_eq!(t.last_column_offset(), 6 + 1 + 3 + 1);
        let line = t.table_line(&5);
        assert_eq!(&line[t.last_column_offset()..], "5");
    }

    #[test]
    fn lines_below_rows_and_untitled_tables() {
        let t = Table::new()
            .left("", 3, "n", |n: &u32| (*n).into())
            .lines_below(|n| vec![format!("    below {n}")]);
        let (out, buf) = Output::captured(false);
        t.print_header(&out);
        t.print(&out, &7);
        assert_eq!(
            buf.text(),
            "7  \n    below 7\n",
            "no header line, then the lines below"
        );
        let (out, buf) = Output::captured(true);
        t.print_header(&out);
        t.print(&out, &7);
        assert_eq!(buf.text(), "{\"n\":7}\n");
    }
}
