//! syscount's shared logic: syscall names of the running architecture, the
//! rows read from BPF, their order and columns (as libbpf-tools syscount),
//! and which programs load. The binary wires these to the interval loop;
//! the exporter's `syscount` collector reuses the names and programs.

use libbpf_rs::OpenObject;
use serde_json::json;
use syscalls::Sysno;

use crate::args::syscount::Args;
use crate::output::Output;
use crate::probe::{self, RawTpStyle};
use crate::row::{Cell, Table};
use crate::skel::syscount::types::data_t;

/// The syscall's name on this architecture; `[unknown: N]` (as
/// libbpf-tools) for a number the table does not know.
pub fn syscall_name(nr: u32) -> String {
    match Sysno::new(nr as usize) {
        Some(s) => s.name().to_string(),
        None => format!("[unknown: {nr}]"),
    }
}

/// `-l`: every syscall this architecture has, `%3d: name` (libbpf-tools'
/// format), by number.
pub fn list_lines() -> Vec<String> {
    Sysno::iter()
        .map(|s| format!("{:3}: {}", s.id(), s.name()))
        .collect()
}

/// One row: a syscall (key = its number) or with -P a process (key = pid).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub key: u32,
    pub count: u64,
    pub total_ns: u64,
    pub comm: String,
}

impl Row {
    pub fn from_map((key, d): (u32, data_t)) -> Row {
        Row {
            key,
            count: d.count,
            total_ns: d.total_ns,
            comm: crate::fmt::c_chars(&d.comm),
        }
    }
}

/// Largest first (the total time with -L, else the count), ties by key,
/// cut to the top `-T`.
pub fn top(mut rows: Vec<Row>, args: &Args) -> Vec<Row> {
    let by = |r: &Row| if args.latency { r.total_ns } else { r.count };
    rows.sort_by(|a, b| (by(b), a.key).cmp(&(by(a), b.key)));
    rows.truncate(usize::try_from(args.top).unwrap_or(usize::MAX));
    rows
}

/// libbpf-tools' columns: `%-22s %8llu` (`SYSCALL` or `PID    COMM`,
/// `COUNT`), and with -L `%16.3lf` of `TIME (us)` or `TIME (ms)`.
pub fn table(args: &Args) -> Table<'static, Row> {
    let t = if args.process {
        Table::new()
            .left("PID", 6, "pid", |r: &Row| r.key.into())
            .left("COMM", 15, "comm", |r| Cell::text(&r.comm))
    } else {
        Table::new().left("SYSCALL", 22, "syscall", |r: &Row| {
            Cell::text(syscall_name(r.key))
        })
    };
    let t = t.right("COUNT", 8, "count", |r| r.count.into());
    if !args.latency {
        return t;
    }
    if args.milliseconds {
        t.right("TIME (ms)", 16, "time_ms", |r| {
            Cell::float(r.total_ns as f64 / 1e6, 3)
        })
    } else {
        t.right("TIME (us)", 16, "time_us", |r| {
            Cell::float(r.total_ns as f64 / 1e3, 3)
        })
    }
}

/// One interval: in a table (as libbpf-tools) nothing when no syscall was
/// counted, else `[HH:MM:SS]` and the table; in JSON always one object
/// `{"time", "rows"}`.
pub fn print(out: &Output, table: &Table<Row>, time: &str, rows: &[Row]) {
    if !out.is_json() {
        if rows.is_empty() {
            return;
        }
        out.line(format_args!("[{time}]"));
    }
    table.print_interval(out, json!({ "time": time }), rows);
}

/// Turns on the programs syscount needs: tp_btf or raw_tp (whichever the
/// kernel takes), sys_exit always, sys_enter only to time (`latency`).
pub fn select_programs(object: &mut OpenObject, latency: bool) -> RawTpStyle {
    let style = probe::apply_raw_tp_style(object, &["sys_enter", "sys_exit"]);
    if !latency {
        for mut prog in object.progs_mut() {
            if prog.name().to_string_lossy().starts_with("sys_enter") {
                prog.set_autoload(false);
            }
        }
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("syscount").chain(argv.iter().copied())).unwrap()
    }

    fn row(key: u32, count: u64, total_ns: u64) -> Row {
        Row {
            key,
            count,
            total_ns,
            comm: "dd".into(),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn names_of_this_architecture() {
        assert_eq!(syscall_name(0), "read");
        assert_eq!(syscall_name(146), "sched_get_priority_max");
        assert_eq!(syscall_name(435), "clone3");
        assert_eq!(syscall_name(400), "[unknown: 400]");
        let list = list_lines();
        assert_eq!(list[0], "  0: read");
        assert!(list.contains(&"309: getcpu".to_string()));
    }

    #[test]
    fn columns_like_libbpf_tools() {
        let t = table(&args(&[]));
        assert_eq!(t.header_line(), format!("{:<22} {:>8}", "SYSCALL", "COUNT"));
        let read = row(0, 7731, 0);
        let name = syscall_name(0);
        assert_eq!(t.table_line(&read), format!("{name:<22} {:>8}", 7731));
        let t = table(&args(&["-P", "-L"]));
        assert_eq!(
            t.header_line(),
            format!("{:<22} {:>8} {:>16}", "PID    COMM", "COUNT", "TIME (us)")
        );
        assert_eq!(
            t.table_line(&row(28279, 26, 1_708_911_699)),
            format!("{:<6} {:<15} {:>8} {:>16.3}", 28279, "dd", 26, 1708911.699)
        );
        let t = table(&args(&["-Lm"]));
        assert!(t.header_line().ends_with("       TIME (ms)"));
        assert!(
            t.table_line(&row(0, 1, 2_500_000))
                .ends_with("           2.500")
        );
    }

    #[test]
    fn sorted_by_count_or_time_and_cut_to_top() {
        let rows = vec![row(1, 5, 100), row(2, 9, 10), row(3, 5, 900), row(0, 1, 50)];
        let keys = |v: Vec<Row>| v.iter().map(|r| r.key).collect::<Vec<_>>();
        assert_eq!(keys(top(rows.clone(), &args(&[]))), [2, 1, 3, 0]);
        assert_eq!(keys(top(rows.clone(), &args(&["-T", "2"]))), [2, 1]);
        assert_eq!(keys(top(rows, &args(&["-L"]))), [3, 1, 0, 2]);
    }

    #[test]
    fn json_rows_and_empty_intervals() {
        let (out, cap) = Output::captured(true);
        let a = args(&["-L", "--json"]);
        print(&out, &table(&a), "12:00:00", &[row(0, 3, 1500)]);
        print(&out, &table(&a), "12:00:01", &[]);
        let name = syscall_name(0);
        assert_eq!(
            cap.json_lines(),
            [
                json!({"time": "12:00:00", "rows": [{"syscall": name, "count": 3, "time_us": 1.5}]}),
                json!({"time": "12:00:01", "rows": []}),
            ]
        );
        // A table prints nothing for an interval without syscalls.
        let (out, cap) = Output::captured(false);
        print(&out, &table(&args(&[])), "12:00:01", &[]);
        assert_eq!(cap.text(), "");
        print(&out, &table(&args(&[])), "12:00:02", &[row(0, 1, 0)]);
        assert!(
            cap.text().starts_with("[12:00:02]\nSYSCALL "),
            "{}",
            cap.text()
        );
    }
}
