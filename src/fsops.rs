//! What fsslower and fsdist share (their BPF side is src/bpf/fsops.bpf.h):
//! the file-system types and their functions (libbpf-tools' `fs_configs`),
//! the type from `-t` or from the name the tool runs as (`ext4slower`,
//! `xfsdist`), and hooking by the chosen mechanism: fentry/fexit or
//! kprobe/kretprobe on the file system's functions, else the syscalls
//! tracepoints filtered by the file's file-system type.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::{Result, bail};
use libbpf_rs::{Link, Object, OpenObject};

use crate::probe::{self, Mechanism, Needs, ProbeMode};
use crate::row::{Align, Cell, Table};

/// `-t`: the file systems libbpf-tools' fsslower and fsdist know that
/// bpfkit offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FsType {
    Btrfs,
    Ext4,
    Nfs,
    Xfs,
    F2fs,
}

/// The operations, indexed by `enum fs_file_op` (src/bpf/fsops.h).
pub const OP_NAMES: [&str; 5] = ["read", "write", "open", "fsync", "getattr"];

/// fsslower's T column (libbpf-tools' `file_op`).
pub const OP_LETTERS: [char; 5] = ['R', 'W', 'O', 'F', 'G'];

/// The syscall tracepoints of the fallback (`open` exists on x86 only and
/// is used where it exists).
pub const SYSCALL_TRACEPOINTS: [&str; 18] = [
    "syscalls:sys_enter_read",
    "syscalls:sys_exit_read",
    "syscalls:sys_enter_readv",
    "syscalls:sys_exit_readv",
    "syscalls:sys_enter_pread64",
    "syscalls:sys_exit_pread64",
    "syscalls:sys_enter_write",
    "syscalls:sys_exit_write",
    "syscalls:sys_enter_writev",
    "syscalls:sys_exit_writev",
    "syscalls:sys_enter_pwrite64",
    "syscalls:sys_exit_pwrite64",
    "syscalls:sys_enter_openat",
    "syscalls:sys_exit_openat",
    "syscalls:sys_enter_fsync",
    "syscalls:sys_exit_fsync",
    "syscalls:sys_enter_fdatasync",
    "syscalls:sys_exit_fdatasync",
];

impl FsType {
    pub const ALL: [FsType; 5] = [
        FsType::Btrfs,
        FsType::Ext4,
        FsType::Nfs,
        FsType::Xfs,
        FsType::F2fs,
    ];

    /// The name as `-t` takes it and the kernel's `s_type->name`.
    pub fn name(self) -> &'static str {
        match self {
            FsType::Btrfs => "btrfs",
            FsType::Ext4 => "ext4",
            FsType::Nfs => "nfs",
            FsType::Xfs => "xfs",
            FsType::F2fs => "f2fs",
        }
    }

    /// Another `s_type->name` of the same functions: NFSv4 mounts are `nfs4`.
    pub fn alt_name(self) -> Option<&'static str> {
        (self == FsType::Nfs).then_some("nfs4")
    }

    /// The kernel functions of read, write, open, fsync and getattr
    /// (libbpf-tools' `fs_configs`; no getattr for btrfs and xfs).
    pub fn funcs(self) -> [Option<&'static str>; 5] {
        match self {
            FsType::Btrfs => [
                Some("btrfs_file_read_iter"),
                Some("btrfs_file_write_iter"),
                Some("btrfs_file_open"),
                Some("btrfs_sync_file"),
                None,
            ],
            FsType::Ext4 => [
                Some("ext4_file_read_iter"),
                Some("ext4_file_write_iter"),
                Some("ext4_file_open"),
                Some("ext4_sync_file"),
                Some("ext4_file_getattr"),
            ],
            FsType::Nfs => [
                Some("nfs_file_read"),
                Some("nfs_file_write"),
                Some("nfs_file_open"),
                Some("nfs_file_fsync"),
                Some("nfs_getattr"),
            ],
            FsType::Xfs => [
                Some("xfs_file_read_iter"),
                Some("xfs_file_write_iter"),
                Some("xfs_file_open"),
                Some("xfs_file_fsync"),
                None,
            ],
            FsType::F2fs => [
                Some("f2fs_file_read_iter"),
                Some("f2fs_file_write_iter"),
                Some("f2fs_file_open"),
                Some("f2fs_sync_file"),
                Some("f2fs_getattr"),
            ],
        }
    }

    /// The type a tool's installed name picks (`ext4slower` with suffix
    /// `slower`, `xfsdist` with `dist`), as libbpf-tools' `alias_parse`.
    pub fn from_program_name(argv0: &OsStr, suffix: &str) -> Option<FsType> {
        let name = Path::new(argv0).file_name()?.to_str()?;
        FsType::ALL
            .into_iter()
            .find(|fs| name.contains(&format!("{}{suffix}", fs.name())))
    }

    /// `-t`, else the installed name's; an error like libbpf-tools' without.
    pub fn chosen(flag: Option<FsType>, suffix: &str) -> Result<FsType> {
        let argv0 = std::env::args_os().next().unwrap_or_default();
        match flag.or_else(|| FsType::from_program_name(&argv0, suffix)) {
            Some(fs) => Ok(fs),
            None => {
                bail!("filesystem must be specified using -t option (btrfs, ext4, nfs, xfs, f2fs)")
            }
        }
    }

    /// What hooking this file system needs, per mechanism (getattr only
    /// for fsdist, and only where the file system has the function).
    pub fn needs(self, getattr: bool) -> Needs {
        let funcs: Vec<&'static str> = self
            .funcs()
            .into_iter()
            .take(if getattr { 5 } else { 4 })
            .flatten()
            .collect();
        Needs {
            fentry: funcs.clone(),
            kprobe: funcs,
            tracepoint: SYSCALL_TRACEPOINTS.to_vec(),
        }
    }
}

/// The operation a program of fsops.bpf.h times, from its name.
fn op_of_program(name: &str) -> Option<usize> {
    const PREFIXES: [&str; 5] = [
        "file_read_",
        "file_write_",
        "file_open_",
        "file_sync_",
        "getattr_",
    ];
    PREFIXES.iter().position(|p| name.starts_with(p))
}

/// A file-system type name as the BPF side's `targ_fs` holds it.
pub fn c_name(name: Option<&str>) -> [i8; 16] {
    let mut out = [0i8; 16];
    for (d, s) in out.iter_mut().zip(name.unwrap_or("").bytes().take(15)) {
        *d = s as i8;
    }
    out
}

/// Before load: chooses the mechanism (said on stderr), turns on exactly
/// its programs, sets the fentry targets, and leaves out what this file
/// system or kernel lacks (getattr of xfs, the `open` syscall on arm64).
pub fn prepare(
    object: &mut OpenObject,
    mode: ProbeMode,
    fs: FsType,
    getattr: bool,
) -> Result<Mechanism> {
    let mechanism = probe::apply(object, mode, &fs.needs(getattr))?;
    let funcs = fs.funcs();
    for mut prog in object.progs_mut() {
        let section = prog.section().to_string_lossy().into_owned();
        if Mechanism::of_section(&section) != Some(mechanism) {
            continue;
        }
        let name = prog.name().to_string_lossy().into_owned();
        let func = op_of_program(&name).and_then(|op| funcs[op]);
        match mechanism {
            Mechanism::Fentry => match func {
                Some(f) => prog.set_attach_target(0, Some(f.to_string()))?,
                None => prog.set_autoload(false),
            },
            Mechanism::Kprobe => prog.set_autoload(func.is_some()),
            Mechanism::Tracepoint => {
                let present = match crate::progs::tracepoint_of(&section) {
                    Some((cat, tp)) => probe::tracepoint_exists(cat, tp)?,
                    None => false,
                };
                prog.set_autoload(present);
            }
        }
    }
    if getattr && mechanism == Mechanism::Tracepoint {
        crate::output::note(format_args!(
            "getattr is not timed: the syscalls tracepoints do not see it"
        ));
    }
    Ok(mechanism)
}

/// After load, for kprobes: attaches each loaded kprobe/kretprobe program
/// to its function (they have no target in their section). The links
/// must live while tracing. Other mechanisms (no links here): `bpf::attach`
/// does it.
pub fn attach_kprobes(object: &Object, fs: FsType, mechanism: Mechanism) -> Result<Vec<Link>> {
    if mechanism != Mechanism::Kprobe {
        return Ok(Vec::new());
    }
    let funcs = fs.funcs();
    let mut links = Vec::new();
    for prog in object.progs_mut() {
        let section = prog.section().to_string_lossy().into_owned();
        let retprobe = match section.as_str() {
            "kprobe" => false,
            "kretprobe" => true,
            _ => continue,
        };
        if !prog.autoload() {
            continue;
        }
        let name = prog.name().to_string_lossy().into_owned();
        if let Some(f) = op_of_program(&name).and_then(|op| funcs[op]) {
            let link = prog
                .attach_kprobe(retprobe, f)
                .map_err(|e| crate::bpf::explain(e, &format!("attaching a kprobe to {f}")))?;
            links.push(link);
        }
    }
    Ok(links)
}

/// How a column gets its value from a row.
type CellOf<R> = fn(&R) -> Cell;

/// One operation fsslower reports, as the kernel sent it.
pub struct FsOp {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// An index into OP_NAMES and OP_LETTERS.
    pub op: usize,
    /// Bytes; `None` for an fsync of the whole file (libbpf-tools' LL_MAX).
    pub bytes: Option<i64>,
    pub offset: i64,
    pub delta_us: u64,
    pub end_ns: u64,
    pub file: String,
}

impl From<&crate::skel::fsslower::types::fs_event> for FsOp {
    fn from(e: &crate::skel::fsslower::types::fs_event) -> Self {
        FsOp {
            pid: e.pid,
            tid: e.tid,
            comm: crate::fmt::c_chars(&e.task),
            op: (e.op as usize).min(OP_NAMES.len() - 1),
            bytes: (e.size != i64::MAX).then_some(e.size),
            offset: e.offset,
            delta_us: e.delta_us,
            end_ns: e.end_ns,
            file: crate::fmt::c_chars(&e.file),
        }
    }
}

impl FsOp {
    /// BYTES: the count, or LL_MAX (JSON: null) for a whole-file fsync.
    pub fn bytes_cell(&self) -> Cell {
        self.bytes
            .map_or(Cell::both("LL_MAX", None::<i64>), Cell::from)
    }

    /// fsslower -c: libbpf-tools' csv lines (a table only; `--json` keeps
    /// the table's keys).
    pub fn csv() -> Table<'static, FsOp> {
        let mut t = Table::new();
        let columns: [(&'static str, CellOf<FsOp>); 8] = [
            ("ENDTIME_ns", |o| o.end_ns.into()),
            ("TASK", |o| Cell::text(&o.comm)),
            ("PID", |o| o.pid.into()),
            ("TYPE", |o| OP_LETTERS[o.op].to_string().into()),
            ("BYTES", FsOp::bytes_cell),
            ("OFFSET_b", |o| o.offset.into()),
            ("LATENCY_us", |o| o.delta_us.into()),
            ("FILE", |o| Cell::text(&o.file)),
        ];
        for (i, (name, cell)) in columns.into_iter().enumerate() {
            t = t.table_only(name, 0, Align::Left, cell);
            if i > 0 {
                t = t.sep(",");
            }
        }
        t
    }
}

// SAFETY: fsdist's .bss is its `struct fs_hist hists[F_MAX_OP]`, u64s only
// (src/bpf/fsdist.bpf.c): any bytes are a valid value.
unsafe impl plain::Plain for crate::skel::fsdist::types::bss {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_names_pick_the_type() {
        let pick = |n: &str, s| FsType::from_program_name(OsStr::new(n), s);
        assert_eq!(pick("/usr/sbin/ext4slower", "slower"), Some(FsType::Ext4));
        assert_eq!(pick("bpfkit-xfsslower", "slower"), Some(FsType::Xfs));
        assert_eq!(pick("nfsdist", "dist"), Some(FsType::Nfs));
        assert_eq!(pick("f2fsdist", "dist"), Some(FsType::F2fs));
        assert_eq!(pick("btrfsslower", "slower"), Some(FsType::Btrfs));
        assert_eq!(pick("fsslower", "slower"), None);
        assert_eq!(pick("ext4dist", "slower"), None);
    }

    #[test]
    fn programs_map_to_operations() {
        assert_eq!(op_of_program("file_read_fentry"), Some(0));
        assert_eq!(op_of_program("file_sync_exit"), Some(3));
        assert_eq!(op_of_program("getattr_fexit"), Some(4));
        assert_eq!(op_of_program("tp_enter_read"), None);
    }

    #[test]
    fn needs_follow_libbpf_tools_functions() {
        let n = FsType::Xfs.needs(true);
        assert_eq!(n.fentry.len(), 4, "xfs has no getattr function");
        assert_eq!(FsType::Ext4.needs(true).kprobe.len(), 5);
        assert_eq!(FsType::Ext4.needs(false).kprobe[3], "ext4_sync_file");
        assert_eq!(c_name(Some("ext4"))[..5], [101, 120, 116, 52, 0]);
    }
}
