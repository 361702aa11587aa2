//! oomkill — OOM kills: the task that triggered the kill, the victim, the
//! pages of the OOM domain and the load average.
//!
//! Same output as libbpf-tools oomkill, plus `-d`, `--json` and `--probe`:
//! fentry or kprobe on oom_kill_process, or the oom:mark_victim tracepoint
//! (which does not carry the pages: shown as `?`).
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::oomkill::Args;
use bpfkit::row::{Align, Cell, Table};
use bpfkit::skel::oomkill::OomkillSkelBuilder;
use bpfkit::skel::oomkill::types::oom_event;
use bpfkit::{bpf, events, fmt, hooks, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("oomkill", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(OomkillSkelBuilder::default(), &mut object, &args.run.common)?;
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &hooks::oomkill(),
    )?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    events::stream(
        &skel,
        &args.run.common,
        args.run.duration,
        &table(),
        |e: &oom_event| Some(Kill::new(e, std::fs::read_to_string("/proc/loadavg").ok())),
    )
}

/// One OOM kill, with the load average when it was printed.
struct Kill {
    tpid: u32,
    tcomm: String,
    kpid: u32,
    kcomm: String,
    /// `None` where the mechanism cannot see it (the tracepoint).
    pages: Option<u64>,
    loadavg: Option<String>,
}

impl Kill {
    fn new(e: &oom_event, loadavg: Option<String>) -> Kill {
        Kill {
            tpid: e.tpid,
            tcomm: fmt::c_chars(&e.tcomm),
            kpid: e.kpid,
            kcomm: fmt::c_chars(&e.kcomm),
            pages: u64::try_from(e.pages).ok(),
            loadavg: loadavg.map(|l| l.trim_end().to_string()),
        }
    }

    /// libbpf-tools' line after the time.
    fn sentence(&self) -> String {
        let pages = self.pages.map_or("?".into(), |p| p.to_string());
        format!(
            "Triggered by PID {} (\"{}\"), OOM kill of PID {} (\"{}\"), {pages} pages, loadavg: {}",
            self.tpid,
            self.tcomm,
            self.kpid,
            self.kcomm,
            self.loadavg.as_deref().unwrap_or("?")
        )
    }
}

/// libbpf-tools prints a sentence per kill and no header: no column has a
/// title. JSON has the sentence's fields.
fn table() -> Table<'static, Kill> {
    Table::new()
        .left("", 8, "time", |_| Cell::Text(fmt::hms_now()))
        .table_only("", 0, Align::Left, |k: &Kill| Cell::text(k.sentence()))
        .json("trigger_pid", |k| k.tpid.into())
        .json("trigger_comm", |k| Cell::text(&k.tcomm))
        .json("victim_pid", |k| k.kpid.into())
        .json("victim_comm", |k| Cell::text(&k.kcomm))
        .json("pages", |k| k.pages.map_or(Cell::Null("?"), Cell::from))
        .json("loadavg", |k| Cell::opt_text(k.loadavg.clone(), "?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn event(pages: i64) -> oom_event {
        let mut e = oom_event {
            pages,
            tpid: 181,
            kpid: 182,
            ..Default::default()
        };
        for (d, s) in e.tcomm.iter_mut().zip(b"python3") {
            *d = *s as i8;
        }
        for (d, s) in e.kcomm.iter_mut().zip(b"hog") {
            *d = *s as i8;
        }
        e
    }

    const LOADAVG: &str = "0.52 0.58 0.59 2/345 12345\n";

    #[test]
    fn rows_match_libbpf_tools() {
        let t = table();
        assert_eq!(t.header_line().trim(), "");
        let (out, cap) = Output::captured(false);
        t.print_header(&out);
        t.print(&out, &Kill::new(&event(262144), Some(LOADAVG.into())));
        t.print(&out, &Kill::new(&event(-1), None));
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "no header: {text:?}");
        assert_eq!(
            &lines[0][8..],
            " Triggered by PID 181 (\"python3\"), OOM kill of PID 182 (\"hog\"), 262144 pages, \
             loadavg: 0.52 0.58 0.59 2/345 12345"
        );
        assert_eq!(
            &lines[1][8..],
            " Triggered by PID 181 (\"python3\"), OOM kill of PID 182 (\"hog\"), ? pages, loadavg: ?"
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("oomkill", &table().keys());
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        table().print(&out, &Kill::new(&event(-1), Some(LOADAVG.into())));
        let mut v = cap.json_lines()[0].clone();
        assert!(v["time"].is_string());
        v.as_object_mut().unwrap().remove("time");
        assert_eq!(
            v,
            serde_json::json!({"trigger_pid": 181, "trigger_comm": "python3", "victim_pid": 182,
                "victim_comm": "hog", "pages": null, "loadavg": "0.52 0.58 0.59 2/345 12345"})
        );
    }
}
