//! Linux capability numbers and names (include/uapi/linux/capability.h).

const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The name of capability `cap` (`CAP_DAC_OVERRIDE`), `None` for a number
/// this table does not know (a newer kernel's).
pub fn name(cap: i32) -> Option<&'static str> {
    usize::try_from(cap)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_by_number() {
        assert_eq!(super::name(0), Some("CAP_CHOWN"));
        assert_eq!(super::name(1), Some("CAP_DAC_OVERRIDE"));
        assert_eq!(super::name(10), Some("CAP_NET_BIND_SERVICE"));
        assert_eq!(super::name(21), Some("CAP_SYS_ADMIN"));
        assert_eq!(super::name(40), Some("CAP_CHECKPOINT_RESTORE"));
        assert_eq!(super::name(41), None);
        assert_eq!(super::name(-1), None);
    }
}
