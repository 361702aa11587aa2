//! The block layer as the disk tools see it: what a request's `cmd_flags`
//! mean on this kernel, the argument list of the block_rq_* tracepoints,
//! and `-d DISK`.
//!
//! The operation numbers and flag bits changed between kernels (6.0 moved
//! REQ_OP_ZONE_RESET from 6 to 15, later kernels added flags): libbpf-tools
//! hard-codes one kernel's values (blk_types.h); bpfkit reads the running
//! kernel's `enum req_op` (`req_opf` before 5.19) and `enum req_flag_bits`
//! from its BTF, and falls back to those values without BTF.

use std::collections::HashMap;

use crate::disks::Partitions;

/// Operation and flag names of the running kernel.
#[derive(Debug, Clone)]
pub struct ReqFlags {
    /// REQ_OP number → its name (`READ`, `WRITE`, `ZONE_RESET`).
    ops: HashMap<u32, String>,
    /// Flag name (`SYNC`, `FUA`) → its bit.
    bits: HashMap<String, u32>,
}

const REQ_OP_MASK: u32 = 0xff;

/// libbpf-tools' blk_types.h (Linux 5.10), for kernels without BTF.
const FALLBACK_OPS: [(u32, &str); 16] = [
    (0, "READ"),
    (1, "WRITE"),
    (2, "FLUSH"),
    (3, "DISCARD"),
    (5, "SECURE_ERASE"),
    (6, "ZONE_RESET"),
    (7, "WRITE_SAME"),
    (8, "ZONE_RESET_ALL"),
    (9, "WRITE_ZEROES"),
    (10, "ZONE_OPEN"),
    (11, "ZONE_CLOSE"),
    (12, "ZONE_FINISH"),
    (32, "SCSI_IN"),
    (33, "SCSI_OUT"),
    (34, "DRV_IN"),
    (35, "DRV_OUT"),
];
const FALLBACK_BITS: [(&str, u32); 11] = [
    ("SYNC", 11),
    ("META", 12),
    ("PRIO", 13),
    ("NOMERGE", 14),
    ("IDLE", 15),
    ("INTEGRITY", 16),
    ("FUA", 17),
    ("PREFLUSH", 18),
    ("RAHEAD", 19),
    ("BACKGROUND", 20),
    ("NOWAIT", 21),
];

/// libbpf-tools' biolatency `-F` names, in its print order.
const FLAG_WORDS: [(&str, &str); 11] = [
    ("NOWAIT", "NoWait-"),
    ("BACKGROUND", "Background-"),
    ("RAHEAD", "ReadAhead-"),
    ("PREFLUSH", "PreFlush-"),
    ("FUA", "FUA-"),
    ("INTEGRITY", "Integrity-"),
    ("IDLE", "Idle-"),
    ("NOMERGE", "NoMerge-"),
    ("PRIO", "Priority-"),
    ("META", "Metadata-"),
    ("SYNC", "Sync-"),
];

impl ReqFlags {
    /// The running kernel's values (from its BTF), else libbpf-tools'.
    pub fn load() -> ReqFlags {
        let op_enum = btf_enum("req_op").or_else(|| btf_enum("req_opf"));
        match (op_enum, btf_enum("req_flag_bits")) {
            (Some(ops), Some(bits)) => ReqFlags::from_enums(&ops, &bits),
            _ => ReqFlags::fallback(),
        }
    }

    /// From `(name, value)` pairs of the kernel's enums.
    pub fn from_enums(ops: &[(String, i64)], bits: &[(String, i64)]) -> ReqFlags {
        ReqFlags {
            ops: ops
                .iter()
                .filter_map(|(n, v)| Some((*v as u32, n.strip_prefix("REQ_OP_")?.to_string())))
                .collect(),
            bits: bits
                .iter()
                .filter_map(|(n, v)| Some((n.strip_prefix("__REQ_")?.to_string(), *v as u32)))
                .collect(),
        }
    }

    pub fn fallback() -> ReqFlags {
        ReqFlags {
            ops: FALLBACK_OPS
                .iter()
                .map(|(v, n)| (*v, n.to_string()))
                .collect(),
            bits: FALLBACK_BITS
                .iter()
                .map(|(n, v)| (n.to_string(), *v))
                .collect(),
        }
    }

    fn has(&self, flags: u32, name: &str) -> bool {
        self.bits
            .get(name)
            .is_some_and(|&b| b < 32 && flags & (1 << b) != 0)
    }

    /// The operation's name (`READ`, `WRITE`...), `None` if unknown.
    pub fn op(&self, flags: u32) -> Option<&str> {
        self.ops.get(&(flags & REQ_OP_MASK)).map(String::as_str)
    }

    /// libbpf-tools' biolatency `-F` label: the flags, then the operation
    /// in CamelCase (`Sync-Write`, `ReadAhead-Read`, `Unknown`).
    pub fn label(&self, flags: u32) -> String {
        let mut s: String = FLAG_WORDS
            .iter()
            .filter(|(name, _)| self.has(flags, name))
            .map(|(_, word)| *word)
            .collect();
        match self.op(flags) {
            Some(op) => s.push_str(&camel(op)),
            None => s.push_str("Unknown"),
        }
        s
    }

    /// blktrace's rwbs letters, as libbpf-tools' biosnoop `T` column
    /// (`W`, `RA`, `FWS`...).
    pub fn rwbs(&self, flags: u32) -> String {
        let mut s = String::new();
        if self.has(flags, "PREFLUSH") {
            s.push('F');
        }
        match self.op(flags) {
            Some("WRITE" | "WRITE_SAME") => s.push('W'),
            Some("DISCARD") => s.push('D'),
            Some("SECURE_ERASE") => s.push_str("DE"),
            Some("FLUSH") => s.push('F'),
            Some("READ") => s.push('R'),
            _ => s.push('N'),
        }
        for (name, c) in [("FUA", 'F'), ("RAHEAD", 'A'), ("SYNC", 'S'), ("META", 'M')] {
            if self.has(flags, name) {
                s.push(c);
            }
        }
        s
    }
}

/// `SECURE_ERASE` → `SecureErase`.
fn camel(op: &str) -> String {
    op.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_string() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

/// The members of vmlinux BTF's `enum name`, or `None` without it.
fn btf_enum(name: &str) -> Option<Vec<(String, i64)>> {
    use std::ffi::{CStr, CString};
    let cname = CString::new(name).ok()?;
    // SAFETY: plain libbpf C calls on pointers checked for NULL; the BTF is
    // freed once, after its strings were copied; enum members follow their
    // btf_type in memory (vlen of them).
    unsafe {
        let btf = libbpf_sys::btf__load_vmlinux_btf();
        if btf.is_null() {
            return None;
        }
        let id = libbpf_sys::btf__find_by_name_kind(btf, cname.as_ptr(), libbpf_sys::BTF_KIND_ENUM);
        let mut out = None;
        if id > 0 {
            let t = libbpf_sys::btf__type_by_id(btf, id as u32);
            if !t.is_null() {
                let vlen = ((*t).info & 0xffff) as usize;
                let members = t.add(1) as *const libbpf_sys::btf_enum;
                let mut v = Vec::with_capacity(vlen);
                for i in 0..vlen {
                    let m = &*members.add(i);
                    let n = libbpf_sys::btf__name_by_offset(btf, m.name_off);
                    if !n.is_null() {
                        v.push((
                            CStr::from_ptr(n).to_string_lossy().into_owned(),
                            i64::from(m.val),
                        ));
                    }
                }
                out = Some(v);
            }
        }
        libbpf_sys::btf__free(btf);
        out
    }
}

/// Whether block_rq_insert/block_rq_issue take `(q, rq)` (before 5.11,
/// commit a54895fa) rather than `(rq)`: the BTF prototype of
/// `btf_trace_block_rq_issue` (context + arguments) says, as libbpf-tools'
/// `has_block_rq_issue_single_arg`; without BTF, the newer form.
pub fn rq_tracepoints_take_queue() -> bool {
    // SAFETY: as in btf_enum: libbpf C calls, NULL-checked, freed once.
    unsafe {
        let btf = libbpf_sys::btf__load_vmlinux_btf();
        if btf.is_null() {
            return false;
        }
        let id = libbpf_sys::btf__find_by_name_kind(
            btf,
            c"btf_trace_block_rq_issue".as_ptr(),
            libbpf_sys::BTF_KIND_TYPEDEF,
        );
        let mut takes_queue = false;
        if id > 0 {
            let typedef = libbpf_sys::btf__type_by_id(btf, id as u32);
            let ptr = if typedef.is_null() {
                std::ptr::null()
            } else {
                libbpf_sys::btf__type_by_id(btf, (*typedef).__bindgen_anon_1.type_)
            };
            let proto = if ptr.is_null() {
                std::ptr::null()
            } else {
                libbpf_sys::btf__type_by_id(btf, (*ptr).__bindgen_anon_1.type_)
            };
            if !proto.is_null() && ((*proto).info >> 24) & 0x1f == libbpf_sys::BTF_KIND_FUNC_PROTO {
                takes_queue = (*proto).info & 0xffff == 3;
            }
        }
        libbpf_sys::btf__free(btf);
        takes_queue
    }
}

/// `-d DISK`: the disk's kernel dev_t, or the one-line error naming it.
pub fn disk_filter(partitions: &Partitions, disk: Option<&str>) -> anyhow::Result<Option<u32>> {
    match disk {
        None => Ok(None),
        Some(d) => Ok(Some(partitions.by_name(d)?.dev)),
    }
}

/// Turns off the programs whose name `off` accepts, leaving the others as
/// they were (after [`crate::probe::apply_raw_tp_style`] chose a style).
pub fn autoload_off(object: &mut libbpf_rs::OpenObject, off: impl Fn(&str) -> bool) {
    for mut prog in object.progs_mut() {
        if off(&prog.name().to_string_lossy()) {
            prog.set_autoload(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel_6_18() -> ReqFlags {
        let ops = [
            ("REQ_OP_READ", 0),
            ("REQ_OP_WRITE", 1),
            ("REQ_OP_FLUSH", 2),
            ("REQ_OP_SECURE_ERASE", 5),
            ("REQ_OP_ZONE_RESET", 17),
        ];
        let bits = [
            ("__REQ_SYNC", 11),
            ("__REQ_META", 12),
            ("__REQ_FUA", 17),
            ("__REQ_PREFLUSH", 18),
            ("__REQ_RAHEAD", 19),
            ("__REQ_NOWAIT", 21),
        ];
        let own = |v: &[(&str, i64)]| {
            v.iter()
                .map(|(n, v)| (n.to_string(), *v))
                .collect::<Vec<_>>()
        };
        ReqFlags::from_enums(&own(&ops), &own(&bits))
    }

    #[test]
    fn labels_like_libbpf_tools() {
        let f = kernel_6_18();
        assert_eq!(f.label(1), "Write");
        assert_eq!(f.label(1 | 1 << 11), "Sync-Write");
        assert_eq!(f.label(1 << 19 | 1 << 21), "NoWait-ReadAhead-Read");
        assert_eq!(f.label(5), "SecureErase");
        assert_eq!(f.label(17), "ZoneReset");
        assert_eq!(f.label(99), "Unknown");
        // The same number is another operation on 5.10.
        assert_eq!(ReqFlags::fallback().label(6), "ZoneReset");
    }

    #[test]
    fn rwbs_like_blktrace() {
        let f = kernel_6_18();
        assert_eq!(f.rwbs(1), "W");
        assert_eq!(f.rwbs(1 | 1 << 11), "WS");
        assert_eq!(f.rwbs(1 << 19), "RA");
        assert_eq!(f.rwbs(2 | 1 << 18), "FF");
        assert_eq!(f.rwbs(1 | 1 << 17 | 1 << 12), "WFM");
        assert_eq!(f.rwbs(5), "DE");
        assert_eq!(f.rwbs(99), "N");
    }

    #[test]
    fn this_kernel_knows_read_and_write() {
        let f = ReqFlags::load();
        assert_eq!((f.op(0), f.op(1)), (Some("READ"), Some("WRITE")));
    }
}
