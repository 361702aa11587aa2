//! VFS calls by operation (vfsstat's programs: fentry or kprobes on the
//! vfs_* functions, or the syscall tracepoints where neither works).

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::bpf;
use crate::probe::ProbeMode;
use crate::skel::vfsstat::{VfsstatSkel, VfsstatSkelBuilder};
use crate::vfsstat::{OPERATIONS, select_programs, totals};

pub const SPEC: Spec = Spec {
    name: "vfsstat",
    about: "VFS calls by operation (a program on every read and write: opt in)",
    // Every read and write of the node runs its program: chosen, never implied.
    default: false,
    load,
};

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        VfsstatSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    select_programs(open.open_object_mut(), ProbeMode::Auto)?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    Ok(super::reading(skel, (), report))
}

fn report(skel: &VfsstatSkel<'static>, _: &mut (), out: &mut Metrics) -> Result<()> {
    for (op, n) in OPERATIONS.iter().zip(totals(&skel.maps.counts)?) {
        out.counter(
            "vfs_calls",
            "VFS calls by operation (on syscall tracepoints: the syscalls that make them).",
            vec![("operation", op.to_string())],
            n,
        );
    }
    Ok(())
}
