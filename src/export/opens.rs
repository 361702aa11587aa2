//! open/openat/openat2 calls by result (opensnoop's programs, counting in
//! a BPF map: no event per open).

use anyhow::Result;

use super::metrics::{LabelCap, Metrics};
use super::{Collector, Options, Spec};
use crate::skel::opensnoop::{OpensnoopSkel, OpensnoopSkelBuilder};
use crate::{bpf, fmt, probe};

pub const SPEC: Spec = Spec {
    name: "opens",
    about: "open, openat and openat2 calls by result (ok or errno)",
    default: true,
    load,
};

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        OpensnoopSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::require_tracefs()?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_count_only = true;
    // No events are sent: the smallest ring buffer will do.
    open.maps.events.set_max_entries(4096)?;
    let progs = &mut open.progs;
    for (syscall, exit) in [
        ("open", &mut progs.exit_open),
        ("openat2", &mut progs.exit_openat2),
    ] {
        exit.set_autoload(probe::tracepoint_exists(
            "syscalls",
            &format!("sys_exit_{syscall}"),
        )?);
    }
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    Ok(super::reading(skel, LabelCap::new(opts.max_series), report))
}

/// `ok`, or the errno's name (`ENOENT`).
fn result_label(ret: i32) -> String {
    if ret >= 0 {
        "ok".into()
    } else {
        fmt::errno_name(-ret)
    }
}

fn report(skel: &OpensnoopSkel<'static>, results: &mut LabelCap, out: &mut Metrics) -> Result<()> {
    let mut entries: Vec<(i32, u64)> = super::read_map(&skel.maps.results)?;
    // Successes first, then errnos by number: a stable admission order.
    entries.sort_by_key(|e| e.0.unsigned_abs());
    let labelled = entries.into_iter().map(|(r, n)| (result_label(r), n));
    for (result, n) in results.fold(labelled, |a, b| *a += b) {
        out.counter(
            "file_opens",
            "open, openat and openat2 calls, by result (ok or the errno).",
            vec![("result", result)],
            n,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn result_labels() {
        assert_eq!(super::result_label(3), "ok");
        assert_eq!(super::result_label(0), "ok");
        assert_eq!(super::result_label(-2), "ENOENT");
    }
}
