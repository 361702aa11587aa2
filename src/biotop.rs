//! biotop's shared logic: what it hooks on this kernel, its rows read from
//! BPF and their order (as libbpf-tools biotop), and the interval print
//! (`HH:MM:SS loadavg` line above the table). The binary declares the
//! columns and runs the loop.

use libbpf_rs::OpenObject;
use serde_json::json;

use crate::args::biotop::Sort;
use crate::disks::{Partitions, mkdev};
use crate::output::Output;
use crate::probe::{self, Needs};
use crate::row::Table;
use crate::skel::biotop::types::{info_t, val_t};

/// The accounting functions: `__blk_account_io_start`/`_done` where the
/// kernel has them (libbpf-tools prefers those), else the plain names.
fn account_functions() -> (&'static str, &'static str) {
    let dunder = probe::kernel_functions_exist(&["__blk_account_io_start"]);
    if dunder[0] {
        ("__blk_account_io_start", "__blk_account_io_done")
    } else {
        ("blk_account_io_start", "blk_account_io_done")
    }
}

/// What biotop hooks per mechanism: the request's accounting start and end
/// and its issue to the driver (blk_mq_start_request), or their
/// tracepoints (block_io_start/done are 6.5+).
pub fn needs() -> Needs {
    let (start, done) = account_functions();
    let funcs = vec!["blk_mq_start_request", start, done];
    Needs {
        fentry: funcs.clone(),
        kprobe: funcs,
        tracepoint: vec![
            "block:block_io_start",
            "block:block_rq_issue",
            "block:block_io_done",
        ],
    }
}

/// Of the accounting programs, loads only those of the names in `needs`
/// (after [`probe::apply`] chose the mechanism).
pub fn select_account_programs(object: &mut OpenObject, needs: &Needs) {
    let dunder = needs.kprobe.contains(&"__blk_account_io_start");
    for mut prog in object.progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        if name.contains("blk_account_io") && name.contains("__blk_account") != dunder {
            prog.set_autoload(false);
        }
    }
}

/// One row: a process's I/O to one disk in one direction this interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub pid: u32,
    pub comm: String,
    pub write: bool,
    pub major: u32,
    pub minor: u32,
    /// The disk's name, `None` for one not in /proc/partitions.
    pub disk: Option<String>,
    pub io: u64,
    pub bytes: u64,
    pub us: u64,
}

impl Row {
    pub fn from_map((k, v): (info_t, val_t), disks: &Partitions) -> Row {
        let (major, minor) = (k.major as u32, k.minor as u32);
        Row {
            pid: k.pid,
            comm: crate::fmt::c_chars(&k.name),
            write: k.rwflag != 0,
            major,
            minor,
            disk: disks.by_dev(mkdev(major, minor)).map(|p| p.name.clone()),
            io: u64::from(v.io),
            bytes: v.bytes,
            us: v.us,
        }
    }

    /// Mean time from issue to completion, in ms (0 without I/O).
    pub fn avg_ms(&self) -> f64 {
        if self.io == 0 {
            0.0
        } else {
            self.us as f64 / 1000.0 / self.io as f64
        }
    }
}

/// Largest first by `sort` (`all`: I/O count + bytes + microseconds, as
/// libbpf-tools), ties by pid, cut to `max` rows.
pub fn top(mut rows: Vec<Row>, sort: Sort, max: usize) -> Vec<Row> {
    let by = |r: &Row| match sort {
        Sort::All => u128::from(r.io) + u128::from(r.bytes) + u128::from(r.us),
        Sort::Io => r.io.into(),
        Sort::Bytes => r.bytes.into(),
        Sort::Time => r.us.into(),
    };
    rows.sort_by(|a, b| (by(b), a.pid, &a.comm).cmp(&(by(a), b.pid, &b.comm)));
    rows.truncate(max);
    rows
}

/// /proc/loadavg as libbpf-tools' `str_loadavg` shows it.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// One interval: in a table the `HH:MM:SS loadavg` line, the header and the
/// rows; in JSON one object `{"time", "loadavg", "rows"}`.
pub fn print(out: &Output, table: &Table<Row>, time: &str, load: &str, rows: &[Row]) {
    if !out.is_json() {
        out.line(format_args!("{time:>8} {load}"));
    }
    table.print_interval(out, json!({"time": time, "loadavg": load}), rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pid: u32, io: u64, bytes: u64, us: u64) -> Row {
        Row {
            pid,
            io,
            bytes,
            us,
            ..Row::default()
        }
    }

    #[test]
    fn sorted_like_libbpf_tools_and_cut() {
        let rows = vec![
            row(1, 10, 100, 5000),
            row(2, 50, 10, 10),
            row(3, 1, 4096, 1),
        ];
        let pids = |v: Vec<Row>| v.iter().map(|r| r.pid).collect::<Vec<_>>();
        assert_eq!(pids(top(rows.clone(), Sort::All, 20)), [1, 3, 2]);
        assert_eq!(pids(top(rows.clone(), Sort::Io, 20)), [2, 1, 3]);
        assert_eq!(pids(top(rows.clone(), Sort::Bytes, 20)), [3, 1, 2]);
        assert_eq!(pids(top(rows.clone(), Sort::Time, 2)), [1, 2]);
        // Ties: by pid.
        assert_eq!(
            pids(top(vec![row(9, 1, 0, 0), row(4, 1, 0, 0)], Sort::Io, 5)),
            [4, 9]
        );
    }

    #[test]
    fn rows_from_the_map() {
        let disks = Partitions::parse("major minor #blocks name\n 7 3 65536 loop3\n");
        let mut k = info_t {
            pid: 42,
            rwflag: 1,
            major: 7,
            minor: 3,
            ..info_t::default()
        };
        crate::fmt::to_c_chars("dd", &mut k.name);
        let v = val_t {
            bytes: 6400 * 1024,
            us: 250_000,
            io: 100,
            ..val_t::default()
        };
        let r = Row::from_map((k, v), &disks);
        assert_eq!((r.pid, r.comm.as_str(), r.write), (42, "dd", true));
        assert_eq!(
            (r.disk.as_deref(), r.io, r.bytes),
            (Some("loop3"), 100, 6553600)
        );
        assert!((r.avg_ms() - 2.5).abs() < 1e-9);
        k.minor = 9;
        assert_eq!(Row::from_map((k, v), &disks).disk, None);
        assert_eq!(row(1, 0, 0, 7).avg_ms(), 0.0);
    }
}
