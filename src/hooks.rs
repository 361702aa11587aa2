//! What each kernel-function tool hooks, per mechanism: declared once here
//! so the tool and its tests (which check detection and every mechanism)
//! agree. Order of preference is probe.rs's: fentry → kprobe → tracepoint.

use crate::probe::Needs;

/// fentry-unlink (lesson 3): all three; kprobe-unlink (lesson 2): no fentry.
pub fn unlink(with_fentry: bool) -> Needs {
    Needs {
        fentry: if with_fentry {
            vec!["do_unlinkat"]
        } else {
            vec![]
        },
        kprobe: vec!["do_unlinkat"],
        tracepoint: vec!["syscalls:sys_enter_unlinkat", "syscalls:sys_exit_unlinkat"],
    }
}

/// tcpconnlat (lesson 13): connect entry plus the SYN-SENT state handler, or
/// the socket state tracepoint (SYN_SENT → ESTABLISHED).
pub fn tcpconnlat() -> Needs {
    let funcs = vec!["tcp_v4_connect", "tcp_v6_connect", "tcp_rcv_state_process"];
    Needs {
        fentry: funcs.clone(),
        kprobe: funcs,
        tracepoint: vec!["sock:inet_sock_set_state"],
    }
}

/// tcprtt (lesson 14): the established-state receive path, or tcp_probe
/// (which carries srtt).
pub fn tcprtt() -> Needs {
    Needs {
        fentry: vec!["tcp_rcv_established"],
        kprobe: vec!["tcp_rcv_established"],
        tracepoint: vec!["tcp:tcp_probe"],
    }
}

/// capable: cap_capable (fexit, or kprobe + kretprobe as libbpf-tools), or
/// the capability:cap_capable tracepoint (no capability options there).
pub fn capable() -> Needs {
    Needs {
        fentry: vec!["cap_capable"],
        kprobe: vec!["cap_capable"],
        tracepoint: vec!["capability:cap_capable"],
    }
}

/// oomkill: oom_kill_process (libbpf-tools), or the oom:mark_victim
/// tracepoint (no oom_control there: the pages are unknown).
pub fn oomkill() -> Needs {
    Needs {
        fentry: vec!["oom_kill_process"],
        kprobe: vec!["oom_kill_process"],
        tracepoint: vec!["oom:mark_victim"],
    }
}

/// tcpconnect: connect's return (fexit, or kprobe + kretprobe as
/// libbpf-tools), or the socket state tracepoint (CLOSE → SYN_SENT, in the
/// connecting task) completed by the first answer or SYN retransmission.
pub fn tcpconnect() -> Needs {
    let funcs = vec!["tcp_v4_connect", "tcp_v6_connect"];
    Needs {
        fentry: funcs.clone(),
        kprobe: funcs,
        tracepoint: vec!["sock:inet_sock_set_state", "tcp:tcp_retransmit_skb"],
    }
}

/// bindsnoop: inet_bind/inet6_bind's return (fexit, or kprobe + kretprobe
/// as libbpf-tools), or the bind syscall's tracepoints (the socket found
/// through the fd).
pub fn bindsnoop() -> Needs {
    let funcs = vec!["inet_bind", "inet6_bind"];
    Needs {
        fentry: funcs.clone(),
        kprobe: funcs,
        tracepoint: vec!["syscalls:sys_enter_bind", "syscalls:sys_exit_bind"],
    }
}

/// tcptracer: connect's return, the socket's state change to ESTABLISHED,
/// accept's return and tcp_close (fentry/fexit, or kprobes as
/// libbpf-tools); or the socket state tracepoint for connects and the
/// accept and close syscalls, in the task making them, for the others.
pub fn tcptracer() -> Needs {
    let funcs = vec![
        "tcp_v4_connect",
        "tcp_v6_connect",
        "tcp_set_state",
        "inet_csk_accept",
        "tcp_close",
    ];
    Needs {
        fentry: funcs.clone(),
        kprobe: funcs,
        tracepoint: vec![
            "sock:inet_sock_set_state",
            "syscalls:sys_exit_accept4",
            "syscalls:sys_exit_accept",
            "syscalls:sys_enter_close",
        ],
    }
}
