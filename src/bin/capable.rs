//! capable — trace security capability checks (cap_capable()): who asked
//! for which capability, whether the check is audited, and the verdict.
//!
//! Same flags and columns as libbpf-tools capable, plus `-d`, `--json` and
//! `--probe`: fexit or kprobe on cap_capable, or the capability:cap_capable
//! tracepoint (which does not carry the audit and insetid options).
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::capable::{Args, Unique};
use bpfkit::event_stacks::{self, EventStacks};
use bpfkit::row::{Cell, Table};
use bpfkit::skel::capable::CapableSkelBuilder;
use bpfkit::skel::capable::types::{cap_event, uniqueness};
use bpfkit::stacks::Side;
use bpfkit::{bpf, capability, cgroup, events, fmt, hooks, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("capable", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    // A wrong path fails before anything is loaded.
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(CapableSkelBuilder::default(), &mut object, &args.run.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.my_pid = std::process::id() as i32;
    rodata.targ_pid = args.target.pid.unwrap_or(0);
    rodata.filter_cg = cgroup.is_on();
    rodata.kernel_stack = args.kernel_stack;
    rodata.user_stack = args.user_stack;
    rodata.unique_type = match args.unique {
        None => uniqueness::UNQ_OFF,
        Some(Unique::Pid) => uniqueness::UNQ_PID,
        Some(Unique::Cgroup) => uniqueness::UNQ_CGROUP,
    };
    let stacks = args.kernel_stack || args.user_stack;
    let (depth, storage) = (args.perf_max_stack_depth, args.stack_storage_size);
    event_stacks::size_map(&mut open.maps.stackmap, stacks, depth, storage)?;
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &hooks::capable(),
    )?;
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;
    let named = EventStacks::new(&skel.maps.stackmap, args.run.common.verbose);
    events::stream(
        &skel,
        &args.run.common,
        args.run.duration,
        &table(&args),
        |e: &cap_event| {
            Some(Check {
                e: *e,
                kernel: named.kernel(args.kernel_stack, e.kern_stack_id),
                user: named.user(args.user_stack, e.pid, e.user_stack_id),
            })
        },
    )
}

/// One capability check and its stacks.
struct Check {
    e: cap_event,
    kernel: Side,
    user: Side,
}

/// libbpf-tools' columns (`-x` adds TID and INSETID); AUDIT and INSETID
/// are `-` (JSON null) where the mechanism cannot see them.
fn table(args: &Args) -> Table<'_, Check> {
    // -1: the mechanism cannot see the option (the tracepoint).
    let (x, flag) = (args.extra_fields, |v: i32| match v {
        ..0 => Cell::Null("-"),
        _ => Cell::both(v.to_string(), v != 0),
    });
    Table::new()
        .time(true)
        .left("UID", 5, "uid", |c: &Check| c.e.uid.into())
        .left("PID", 7, "pid", |c| c.e.pid.into())
        .left("TID", 7, "tid", |c| c.e.tid.into())
        .shown_if(x)
        .left("COMM", 16, "comm", |c| Cell::text(fmt::c_chars(&c.e.comm)))
        .left("CAP", 7, "cap", |c| c.e.cap.into())
        .left("NAME", 20, "cap_name", |c| {
            Cell::opt_text(capability::name(c.e.cap).map(Into::into), "?")
        })
        .left("AUDIT", 7, "audit", move |c| flag(c.e.audit))
        .left("VERDICT", if x { 7 } else { 0 }, "verdict", |c| {
            Cell::text(if c.e.ret == 0 { "allow" } else { "deny" })
        })
        .last("INSETID", "insetid", move |c| flag(c.e.insetid))
        .shown_if(x)
        .json("kernel_stack", |c| event_stacks::json(&c.kernel))
        .only_if(args.kernel_stack)
        .json("user_stack", |c| event_stacks::json(&c.user))
        .only_if(args.user_stack)
        .lines_below(|c| event_stacks::lines(&c.kernel, &c.user, &fmt::c_chars(&c.e.comm), c.e.pid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    /// `audit` -1: unknown (the tracepoint), as insetid then.
    fn check(ret: i32, audit: i32) -> Check {
        let mut e = cap_event {
            pid: 181,
            tid: 182,
            uid: 65534,
            cap: 1,
            audit,
            insetid: audit.min(0),
            ret,
            ..Default::default()
        };
        for (d, s) in e.comm.iter_mut().zip(b"cat") {
            *d = *s as i8;
        }
        Check {
            e,
            kernel: Side::Absent,
            user: Side::Absent,
        }
    }

    /// The time column is the wall clock: compare what follows it.
    fn after_time(line: String) -> String {
        line[9..].to_string()
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let a = args(&[]);
        let t = table(&a);
        assert_eq!(
            t.header_line(),
            "TIME     UID   PID     COMM             CAP     NAME                 AUDIT   VERDICT"
        );
        assert_eq!(
            after_time(t.table_line(&check(-1, 1))),
            "65534 181     cat              1       CAP_DAC_OVERRIDE     1       deny"
        );
        let mut allowed = check(0, -1);
        allowed.e.cap = 99;
        assert_eq!(
            after_time(t.table_line(&allowed)),
            "65534 181     cat              99      ?                    -       allow"
        );
        let a = args(&["-x"]);
        let t = table(&a);
        assert_eq!(
            t.header_line(),
            "TIME     UID   PID     TID     COMM             CAP     NAME                 AUDIT   VERDICT INSETID"
        );
        assert_eq!(
            after_time(t.table_line(&check(0, 0))),
            "65534 181     182     cat              1       CAP_DAC_OVERRIDE     0       allow   0"
        );
    }

    #[test]
    fn stacks_print_under_the_row() {
        let a = args(&["-K"]);
        let (out, cap) = Output::captured(false);
        let mut c = check(-1, 1);
        c.kernel = Side::Frames(vec!["cap_capable".into()]);
        table(&a).print(&out, &c);
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1..],
            ["    cap_capable", "    -                cat (181)"]
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let a = args(&["-x", "-K", "-U"]);
        bpfkit::row::assert_keys_in_schema("capable", &table(&a).keys());
    }

    #[test]
    fn json_has_every_field() {
        let a = args(&["--json", "-U"]);
        let (out, cap) = Output::captured(true);
        let mut c = check(-1, -1);
        c.user = Side::Missed;
        table(&a).print(&out, &c);
        let mut v = cap.json_lines()[0].clone();
        assert!(v["time"].is_string());
        v.as_object_mut().unwrap().remove("time");
        assert_eq!(
            v,
            serde_json::json!({"uid": 65534, "pid": 181, "tid": 182, "comm": "cat", "cap": 1,
                "cap_name": "CAP_DAC_OVERRIDE", "audit": null, "verdict": "deny",
                "insetid": null, "user_stack": null})
        );
    }
}
