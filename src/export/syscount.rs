//! Syscalls by name (syscount's programs, counting at sys_exit only).

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

use super::metrics::{LabelCap, Metrics};
use super::{Collector, Options, Spec};
use crate::bpf;
use crate::skel::syscount::types::data_t;
use crate::skel::syscount::{SyscountSkel, SyscountSkelBuilder};
use crate::syscount::{select_programs, syscall_name};

pub const SPEC: Spec = Spec {
    name: "syscount",
    about: "syscalls by name (a program on every syscall's return: opt in)",
    // Every syscall of the node runs its program: chosen, never implied.
    default: false,
    load,
};

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        SyscountSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    select_programs(open.open_object_mut(), false);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    Ok(super::reading(skel, LabelCap::new(opts.max_series), report))
}

fn report(skel: &SyscountSkel<'static>, names: &mut LabelCap, out: &mut Metrics) -> Result<()> {
    let mut entries: Vec<(u32, data_t)> = super::read_map(&skel.maps.data)?;
    // The busiest syscalls are admitted first to series of their own.
    entries.sort_by(|a, b| (b.1.count, a.0).cmp(&(a.1.count, b.0)));
    let named = entries
        .into_iter()
        .map(|(nr, d)| (syscall_name(nr), d.count));
    for (name, count) in names.fold(named, |a, b| *a += b) {
        out.counter(
            "syscalls",
            "Syscalls returned, by syscall name.",
            vec![("syscall", name)],
            count,
        );
    }
    Ok(())
}
