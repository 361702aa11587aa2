//! mountsnoop's text: mount(2) and umount2(2) flags by name and the call
//! as libbpf-tools' mountsnoop writes it
//! (`mount("src", "/mnt", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") = 0`).

/// `MS_*` by bit (include/uapi/linux/mount.h). Bit 9 has no name;
/// libbpf-tools' `flag_names` leaves it out and so names bits 9-14 one bit
/// off (`MS_BIND` shows as `MS_MOVE`).
const MS_FLAGS: [&str; 32] = [
    "MS_RDONLY",
    "MS_NOSUID",
    "MS_NODEV",
    "MS_NOEXEC",
    "MS_SYNCHRONOUS",
    "MS_REMOUNT",
    "MS_MANDLOCK",
    "MS_DIRSYNC",
    "MS_NOSYMFOLLOW",
    "",
    "MS_NOATIME",
    "MS_NODIRATIME",
    "MS_BIND",
    "MS_MOVE",
    "MS_REC",
    "MS_SILENT",
    "MS_POSIXACL",
    "MS_UNBINDABLE",
    "MS_PRIVATE",
    "MS_SLAVE",
    "MS_SHARED",
    "MS_RELATIME",
    "MS_KERNMOUNT",
    "MS_I_VERSION",
    "MS_STRICTATIME",
    "MS_LAZYTIME",
    "MS_SUBMOUNT",
    "MS_NOREMOTELOCK",
    "MS_NOSEC",
    "MS_BORN",
    "MS_ACTIVE",
    "MS_NOUSER",
];

/// umount2(2)'s flags by bit (include/linux/fs.h).
const UMOUNT_FLAGS: [&str; 4] = ["MNT_FORCE", "MNT_DETACH", "MNT_EXPIRE", "UMOUNT_NOFOLLOW"];

/// The magic number old programs put in mount flags' top 16 bits; the
/// kernel drops it (`MS_MGC_VAL`, fs/namespace.c).
const MS_MGC_VAL: u64 = 0xC0ED_0000;
const MS_MGC_MSK: u64 = 0xffff_0000;

/// The call: mount or umount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Mount,
    Umount,
}

impl Op {
    /// `enum mount_op` of src/bpf/mountsnoop.h.
    pub fn from_raw(op: u32) -> Op {
        if op == 1 { Op::Umount } else { Op::Mount }
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Mount => "mount",
            Op::Umount => "umount",
        }
    }
}

/// The names of the bits set in `flags`: `MS_*` for mount (without the
/// `MS_MGC_VAL` magic), `MNT_*`/`UMOUNT_*` for umount; bits without a
/// name as one hex number at the end.
pub fn flag_names(op: Op, flags: u64) -> Vec<String> {
    let (names, mut flags): (&[&str], u64) = match op {
        Op::Mount if flags & MS_MGC_MSK == MS_MGC_VAL => (&MS_FLAGS, flags & !MS_MGC_MSK),
        Op::Mount => (&MS_FLAGS, flags),
        Op::Umount => (&UMOUNT_FLAGS, flags),
    };
    let mut out = Vec::new();
    for (bit, name) in names.iter().enumerate() {
        if !name.is_empty() && flags & (1 << bit) != 0 {
            out.push(name.to_string());
            flags &= !(1 << bit);
        }
    }
    if flags != 0 {
        out.push(format!("{flags:#x}"));
    }
    out
}

/// libbpf-tools' `strflags`: the names joined by ` | `, `0x0` for none.
pub fn flags_text(names: &[String]) -> String {
    if names.is_empty() {
        "0x0".into()
    } else {
        names.join(" | ")
    }
}

/// libbpf-tools' `strerrno`: `0`, `-ENOENT`, or the number when the errno
/// has no name.
pub fn ret_text(ret: i32) -> String {
    if ret >= 0 {
        return ret.to_string();
    }
    let name = crate::fmt::errno_name(-ret);
    if name.starts_with('E') {
        format!("-{name}")
    } else {
        ret.to_string()
    }
}

/// One traced call's arguments and result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Call {
    pub source: Option<String>,
    pub target: String,
    pub fstype: Option<String>,
    pub data: Option<String>,
    pub flags: String,
    pub ret: i32,
}

/// A string argument quoted, `NULL` for a null pointer.
fn quoted(s: &Option<String>) -> String {
    s.as_ref()
        .map_or_else(|| "NULL".into(), |s| format!("\"{s}\""))
}

impl Call {
    /// The CALL column: `umount("/mnt", 0x0) = 0` or
    /// `mount("src", "/mnt", "tmpfs", MS_NOSUID, "size=1m") = -ENODEV`.
    pub fn text(&self, op: Op) -> String {
        let ret = ret_text(self.ret);
        match op {
            Op::Umount => format!("umount(\"{}\", {}) = {ret}", self.target, self.flags),
            Op::Mount => format!(
                "mount({}, \"{}\", {}, {}, {}) = {ret}",
                quoted(&self.source),
                self.target,
                quoted(&self.fstype),
                self.flags,
                quoted(&self.data)
            ),
        }
    }
}

/// One mount or umount call as the kernel reported it (mountsnoop's row).
pub struct Mount {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub mnt_ns: u32,
    pub op: Op,
    pub flags: u64,
    pub flag_names: Vec<String>,
    pub lat_ns: u64,
    pub call: Call,
}

impl From<&crate::skel::mountsnoop::types::mount_event> for Mount {
    fn from(e: &crate::skel::mountsnoop::types::mount_event) -> Self {
        let op = Op::from_raw(e.op);
        let arg = |bit: u32, s: &[i8]| (e.present & bit != 0).then(|| crate::fmt::c_chars(s));
        let flag_names = flag_names(op, e.flags);
        Mount {
            pid: e.pid,
            tid: e.tid,
            comm: crate::fmt::c_chars(&e.comm),
            mnt_ns: e.mnt_ns,
            op,
            flags: e.flags,
            lat_ns: e.delta_ns,
            call: Call {
                source: arg(1, &e.src),
                target: crate::fmt::c_chars(&e.dest),
                fstype: arg(2, &e.fs),
                data: arg(4, &e.data),
                flags: flags_text(&flag_names),
                ret: e.ret,
            },
            flag_names,
        }
    }
}

/// `-d`: libbpf-tools' one line per value (indented under the time with
/// `-t`), then an empty line; traced text escaped.
pub fn detail_lines(m: &Mount, timestamp: bool) -> Vec<String> {
    let text =
        |s: &Option<String>| crate::fmt::escape_control(s.as_deref().unwrap_or("")).into_owned();
    let c = &m.call;
    let fields = [
        ("PID", m.pid.to_string()),
        ("TID", m.tid.to_string()),
        ("COMM", crate::fmt::escape_control(&m.comm).into_owned()),
        ("OP", m.op.name().to_uppercase()),
        ("RET", ret_text(c.ret)),
        ("LAT", format!("{}us", m.lat_ns / 1000)),
        ("MNT_NS", m.mnt_ns.to_string()),
        ("FS", text(&c.fstype)),
        ("SOURCE", text(&c.source)),
        ("TARGET", crate::fmt::escape_control(&c.target).into_owned()),
        ("DATA", text(&c.data)),
        ("FLAGS", c.flags.clone()),
    ];
    let indent = if timestamp { "    " } else { "" };
    let mut lines: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{indent}{:<8}{v}", format!("{k}:")))
        .collect();
    lines.push(String::new());
    // Without -t the first line is the row's own (see `table`).
    if !timestamp {
        lines.remove(0);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(op: Op, flags: u64) -> String {
        flags_text(&flag_names(op, flags))
    }

    #[test]
    fn flags_by_name() {
        assert_eq!(names(Op::Mount, 0), "0x0");
        assert_eq!(names(Op::Mount, 6), "MS_NOSUID | MS_NODEV");
        assert_eq!(names(Op::Mount, 1 << 31), "MS_NOUSER");
        // Bits 9-15 as the kernel numbers them (libbpf-tools is one off).
        assert_eq!(names(Op::Mount, 4096), "MS_BIND");
        assert_eq!(names(Op::Mount, 8192 | 16384), "MS_MOVE | MS_REC");
        assert_eq!(names(Op::Mount, 1024 | 32768), "MS_NOATIME | MS_SILENT");
        assert_eq!(names(Op::Mount, 512 | 1), "MS_RDONLY | 0x200");
        // The old magic number is dropped, as the kernel drops it.
        assert_eq!(names(Op::Mount, MS_MGC_VAL | 1), "MS_RDONLY");
        assert_eq!(names(Op::Mount, MS_MGC_VAL), "0x0");
        assert_eq!(names(Op::Mount, (1 << 40) | 1), "MS_RDONLY | 0x10000000000");
        assert_eq!(names(Op::Umount, 2), "MNT_DETACH");
        assert_eq!(names(Op::Umount, 9), "MNT_FORCE | UMOUNT_NOFOLLOW");
        assert_eq!(names(Op::Umount, 0x30), "0x30");
    }

    #[test]
    fn results_like_strerrno() {
        assert_eq!(ret_text(0), "0");
        assert_eq!(ret_text(-2), "-ENOENT");
        assert_eq!(ret_text(-19), "-ENODEV");
        assert_eq!(ret_text(-4000), "-4000");
    }

    #[test]
    fn calls_like_libbpf_tools() {
        let call = Call {
            source: Some("src".into()),
            target: "/mnt".into(),
            fstype: Some("tmpfs".into()),
            data: Some("size=1m".into()),
            flags: "MS_NOSUID".into(),
            ret: -19,
        };
        assert_eq!(
            call.text(Op::Mount),
            r#"mount("src", "/mnt", "tmpfs", MS_NOSUID, "size=1m") = -ENODEV"#
        );
        let bind = Call {
            fstype: None,
            data: None,
            ret: 0,
            ..call.clone()
        };
        assert_eq!(
            bind.text(Op::Mount),
            r#"mount("src", "/mnt", NULL, MS_NOSUID, NULL) = 0"#
        );
        assert_eq!(bind.text(Op::Umount), r#"umount("/mnt", MS_NOSUID) = 0"#);
        assert_eq!(Op::from_raw(1), Op::Umount);
        assert_eq!(Op::from_raw(0).name(), "mount");
    }
}
