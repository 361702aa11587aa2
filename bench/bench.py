#!/usr/bin/env python3
"""bpfkit benchmarks (`make bench`): bpfkit tools side by side with Debian's
libbpf-tools (/usr/sbin) in the same run. Prints a report; numbers go into
the issue notes. Not a test: nothing here asserts."""

import os
import pty
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
STORM_CALLS = int(os.environ.get("STORM_CALLS", "1000000"))
STARTUP_RUNS = int(os.environ.get("STARTUP_RUNS", "11"))


def run_storm(path, calls):
    out = subprocess.run([os.path.join(REL, "examples", "open_storm"), str(calls), path],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"rate=(\d+)", out)
    return float(m.group(1)) if m else float("nan")


def traced_storm(tool_cmd, path, calls, lost_re):
    """Run the storm while `tool_cmd` traces; count what it printed and lost."""
    out_path = f"/tmp/bpfkit-bench-{os.getpid()}.out"
    err_path = out_path + ".err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(tool_cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        time.sleep(3.0)  # attach
        rate = run_storm(path, calls)
        time.sleep(2.0)  # let the consumer drain
        p.send_signal(signal.SIGINT)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = status
    printed = 0
    needle = path.encode()
    with open(out_path, "rb") as f:
        for line in f:
            if needle in line:
                printed += 1
    errtext = open(err_path, "r", errors="replace").read()
    lost = sum(int(n) for n in re.findall(lost_re, errtext))
    os.unlink(out_path)
    os.unlink(err_path)
    return {"rate": rate, "printed": printed, "lost": lost, "cpu": ru.ru_utime + ru.ru_stime}


def fmt_s(x):
    return "n/a" if x is None else f"{x * 1000:.1f} ms"


def bench_opensnoop():
    print("== opensnoop ==")
    ours = [os.path.join(REL, "opensnoop")]
    theirs = ["/usr/sbin/opensnoop"]
    have_c = os.path.exists(theirs[0])
    startups = median_startups([ours, theirs] if have_c else [ours], b"PID")
    (s_ours, n1) = startups[0]
    print(f"startup (exec -> header, median of {n1}, runs interleaved): bpfkit {fmt_s(s_ours)}", end="")
    if have_c:
        s_c, n2 = startups[1]
        print(f" | libbpf-tools {fmt_s(s_c)} (median of {n2})")
    else:
        print(" | libbpf-tools: not installed")

    path = f"/tmp/bpfkit-storm-missing-{os.getpid()}"
    # Other activity on the machine moves single runs by ±20 %: the untraced
    # rate is the median of 3 runs, one before and after each traced run.
    untraced = [run_storm(path, STORM_CALLS)]
    print(f"open() storm, {STORM_CALLS} calls on a missing path:")
    rows = [("bpfkit", ours, r"(\d+) events lost")]
    if have_c:
        rows.append(("libbpf-tools", theirs, r"[Ll]ost (\d+) events"))
    results = []
    for name, cmd, lost_re in rows:
        results.append((name, traced_storm(cmd, path, STORM_CALLS, lost_re)))
        untraced.append(run_storm(path, STORM_CALLS))
    base = statistics.median(untraced)
    print(f"  untraced: {base:,.0f} calls/s (median of {', '.join(f'{u:,.0f}' for u in untraced)})")
    for name, r in results:
        acc = r["printed"] + r["lost"]
        print(f"  {name:<12} {r['rate']:>12,.0f} calls/s ({100 * r['rate'] / base:5.1f}% of untraced)"
              f"  printed {r['printed']:>8} ({100 * r['printed'] / STORM_CALLS:5.1f}%)"
              f"  lost {r['lost']:>7}  accounted {acc}/{STORM_CALLS}"
              f"  tool CPU {r['cpu']:.2f} s")


CONNECTS = int(os.environ.get("CONNECTS", "20000"))


def connect_rate(calls):
    out = subprocess.run([os.path.join(REL, "examples", "connect_storm"), str(calls)],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"rate=(\d+)", out)
    return float(m.group(1)) if m else float("nan")


def traced_connect_rate(cmd, calls):
    """connects/s while `cmd` traces (None if the tool does not start)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    time.sleep(3.0)
    if p.poll() is not None:
        err = p.stderr.read().decode(errors="replace").strip().splitlines()
        return None, (err[-1] if err else f"exited {p.returncode}")
    rate = connect_rate(calls)
    p.send_signal(signal.SIGINT)
    _, _, ru = os.wait4(p.pid, 0)
    return rate, f"tool CPU {ru.ru_utime + ru.ru_stime:.2f} s"


def bench_tcpconnlat():
    print(f"== tcpconnlat (kernel {os.uname().release}) ==")
    ours = [os.path.join(REL, "tcpconnlat")]
    c_tool = "/usr/sbin/tcpconnlat"
    have_c = os.path.exists(c_tool)
    startups = median_startups([ours, [c_tool]] if have_c else [ours], b"PID")
    s_ours, n = startups[0]
    print(f"startup (exec -> header, median of {n}, runs interleaved): bpfkit {fmt_s(s_ours)}", end="")
    if have_c:
        s_c, n2 = startups[1]
        if s_c is None:
            r = subprocess.run([c_tool], capture_output=True, text=True, timeout=30)
            why = (r.stderr.strip().splitlines() or ["no header"])[-1]
            print(f" | libbpf-tools: fails here ({why})")
        else:
            print(f" | libbpf-tools {fmt_s(s_c)} (median of {n2})")
    else:
        print(" | libbpf-tools: not installed")
    # As for the open() storm: untraced runs interleaved, their median is the base.
    untraced = [connect_rate(CONNECTS)]
    rows = [(f"bpfkit --probe={mech}", ours + [f"--probe={mech}"]) for mech in ["fentry", "kprobe", "tracepoint"]]
    if have_c:
        rows.append(("libbpf-tools", [c_tool]))
    results = []
    for name, cmd in rows:
        rate, note = traced_connect_rate(cmd, CONNECTS)
        results.append((name, rate, note))
        if rate is not None:
            untraced.append(connect_rate(CONNECTS))
    base = statistics.median(untraced)
    print(f"{CONNECTS} loopback connects: untraced {base:,.0f} connects/s"
          f" (median of {', '.join(f'{u:,.0f}' for u in untraced)})")
    for name, rate, note in results:
        if rate is None:
            print(f"  {name:<23} n/a: {note}")
        else:
            print(f"  {name:<23} {rate:>10,.0f} connects/s ({100 * rate / base:5.1f}% of untraced), {note}")


def bench_tcpconnect():
    """tcpconnect beside tcpconnlat's connect storm: one event per connect
    (each mechanism), and -c (a map update per connect, no event)."""
    print(f"== tcpconnect (kernel {os.uname().release}) ==")
    ours = [os.path.join(REL, "tcpconnect")]
    c_tool = "/usr/sbin/tcpconnect"
    have_c = os.path.exists(c_tool)
    startups = median_startups([ours, [c_tool]] if have_c else [ours], b"PID")
    s_ours, n = startups[0]
    print(f"startup (exec -> header, median of {n}, runs interleaved): bpfkit {fmt_s(s_ours)}", end="")
    if have_c and startups[1][0] is None:
        r = subprocess.run([c_tool], capture_output=True, text=True, timeout=30)
        why = (r.stderr.strip().splitlines() or ["no header"])[-1]
        print(f" | libbpf-tools: fails here ({why})")
    elif have_c:
        print(f" | libbpf-tools {fmt_s(startups[1][0])} (median of {startups[1][1]})")
    else:
        print(" | libbpf-tools: not installed")
    untraced = [connect_rate(CONNECTS)]
    rows = [(f"bpfkit --probe={mech}", ours + [f"--probe={mech}"]) for mech in ["fentry", "kprobe", "tracepoint"]]
    rows.append(("bpfkit -c", ours + ["-c"]))
    if have_c:
        rows += [("libbpf-tools", [c_tool]), ("libbpf-tools -c", [c_tool, "-c"])]
    results = []
    for name, cmd in rows:
        rate, note = traced_connect_rate(cmd, CONNECTS)
        results.append((name, rate, note))
        if rate is not None:
            untraced.append(connect_rate(CONNECTS))
    base = statistics.median(untraced)
    print(f"{CONNECTS} loopback connects: untraced {base:,.0f} connects/s"
          f" (median of {', '.join(f'{u:,.0f}' for u in untraced)})")
    for name, rate, note in results:
        if rate is None:
            print(f"  {name:<23} n/a: {note}")
        else:
            print(f"  {name:<23} {rate:>10,.0f} connects/s ({100 * rate / base:5.1f}% of untraced), {note}")


def bench_tcpconnlat_vm():
    """The same inside Debian's 6.12 kernel under qemu TCG, where fentry and
    kprobes exist (absolute numbers are emulation-slow; compare ratios)."""
    kernels = subprocess.run([os.path.join(ROOT, "scripts", "vm-deps.sh")], capture_output=True,
                             text=True, check=True).stdout.split("\n")
    k = [line.split() for line in kernels if line.startswith("6.12")]
    if not k:
        print("== tcpconnlat in a VM: no 6.12 kernel available ==")
        return
    version, vmlinuz = k[0]
    print(f"== tcpconnlat in a VM ({version}, qemu TCG; compare ratios, not absolute rates) ==", flush=True)
    env = f"CONNECTS={min(CONNECTS, 5000)} STARTUP_RUNS=3"
    subprocess.run([os.path.join(ROOT, "scripts", "vm-boot.sh"), vmlinuz, "--memory", "2G", "--quiet", "--",
                    f"{env} python3 {os.path.abspath(__file__)} tcpconnlat"], check=False,
                   stdin=subprocess.DEVNULL)


SWITCH_ROUNDS = int(os.environ.get("SWITCH_ROUNDS", "500000"))  # 2 switches each: 1 M


def switch_rate():
    out = subprocess.run([os.path.join(REL, "examples", "pipe_pingpong"), str(SWITCH_ROUNDS)],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"rate=(\d+)", out)
    return float(m.group(1)) if m else float("nan")


def traced_switch_rate(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    time.sleep(3.0)
    if p.poll() is not None:
        err = p.stderr.read().decode(errors="replace").strip().splitlines()
        return None, (err[-1] if err else f"exited {p.returncode}")
    rate = switch_rate()
    p.send_signal(signal.SIGINT)
    _, _, ru = os.wait4(p.pid, 0)
    return rate, f"tool CPU {ru.ru_utime + ru.ru_stime:.2f} s"


def bench_sched():
    print("== scheduler and irq tools ==")
    tools = [("runqlat", [], b"Tracing"), ("runqslower", [], b"TIME"), ("hardirqs", [], b"Tracing"),
             ("softirqs", [], b"Tracing")]
    print("startup (exec -> attached, median):")
    for name, args, marker in tools:
        c_tool = f"/usr/sbin/{name}"
        cmds = [[os.path.join(REL, name)] + args]
        if os.path.exists(c_tool):
            cmds.append([c_tool] + args)
        startups = median_startups(cmds, marker)
        ours, n = startups[0]
        line = f"  {name:<11} bpfkit {fmt_s(ours)} (n={n})"
        if len(startups) > 1:
            theirs, n2 = startups[1]
            line += f" | libbpf-tools {fmt_s(theirs)} (n={n2})"
        print(line)
    base = switch_rate()
    print(f"context-switch storm ({2 * SWITCH_ROUNDS} switches, pipe ping-pong): untraced {base:,.0f} switches/s")
    rows = [("bpfkit runqlat", [os.path.join(REL, "runqlat")])]
    if os.path.exists("/usr/sbin/runqlat"):
        rows.append(("libbpf-tools runqlat", ["/usr/sbin/runqlat"]))
    for name, cmd in rows:
        rate, note = traced_switch_rate(cmd)
        if rate is None:
            print(f"  {name:<22} n/a: {note}")
        else:
            print(f"  {name:<22} {rate:>10,.0f} switches/s ({100 * rate / base:5.1f}% of untraced), {note}")


def bench_offcpu():
    """offcputime (and cpudist) on the pipe ping-pong: every switch runs
    their sched_switch program; side by side with Debian's C tools."""
    print("== off-CPU tools ==")
    base = switch_rate()
    print(f"context-switch storm ({2 * SWITCH_ROUNDS} switches, pipe ping-pong): untraced {base:,.0f} switches/s")
    rows = []
    for name, variants in [("offcputime", [[], ["-K"]]), ("cpudist", [[]])]:
        if not os.path.exists(os.path.join(REL, name)):
            continue
        for args in variants:
            rows.append((" ".join(["bpfkit", name] + args), [os.path.join(REL, name)] + args))
        # Debian's offcputime has no -K: it always takes both stacks.
        if os.path.exists(f"/usr/sbin/{name}"):
            rows.append((f"libbpf-tools {name}", [f"/usr/sbin/{name}"]))
    for name, cmd in rows:
        rate, note = traced_switch_rate(cmd)
        if rate is None:
            print(f"  {name:<26} n/a: {note}")
        else:
            print(f"  {name:<26} {rate:>10,.0f} switches/s ({100 * rate / base:5.1f}% of untraced), {note}")


def startup_once(cmd, marker):
    """exec -> first output containing `marker` (stdout or stderr) on a
    terminal, where both bpfkit and the C tools line-buffer; None if never."""
    master, slave = pty.openpty()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    buf, elapsed = b"", None
    while time.perf_counter() < t0 + 30:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                buf += os.read(master, 4096)
            except OSError:
                break
            if marker in buf:
                elapsed = time.perf_counter() - t0
                break
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    os.close(master)
    return elapsed


def median_startups(cmds, marker, runs=STARTUP_RUNS):
    """(median, n) of startup_once for each command. The commands take turns
    run by run, so other activity on the machine weighs on all of them alike."""
    samples = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            t = startup_once(cmd, marker)
            if t is not None:
                samples[i].append(t)
    return [((statistics.median(x) if x else None), len(x)) for x in samples]


MALLOC_PAIRS = int(os.environ.get("MALLOC_PAIRS", "1000000"))


def memleak_exit_time(single):
    """Seconds from SIGINT to the exit of `memleak -p` (its uprobes on libc
    detached), with BPFKIT_SINGLE_UPROBES=`single`."""
    target = subprocess.Popen(["sleep", "1000"])
    env = dict(os.environ, BPFKIT_SINGLE_UPROBES=single)
    p = subprocess.Popen([os.path.join(REL, "memleak"), "-p", str(target.pid), "60"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "Tracing" in line:
            break
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    p.communicate()
    elapsed = time.monotonic() - t0
    target.kill()
    target.wait()
    return elapsed


def bench_memleak():
    print("== memleak ==")
    storm = [os.path.join(REL, "examples", "malloc_storm"), str(MALLOC_PAIRS)]
    out = subprocess.run(storm, capture_output=True, text=True, check=True).stdout
    base = float(re.search(r"rate=(\d+)", out).group(1))
    print(f"malloc/free loop, {MALLOC_PAIRS} pairs: untraced {base:,.0f} pairs/s")
    cmd = [os.path.join(REL, "memleak"), "-c", " ".join(storm), "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    m = re.search(r"rate=(\d+)", p.stdout + p.stderr)
    if m:
        rate = float(m.group(1))
        print(f"  bpfkit memleak -c: {rate:,.0f} pairs/s ({100 * rate / base:5.1f}% of untraced, "
              f"{base / rate:.1f}x slower)")
    else:
        print(f"  bpfkit memleak -c: no rate (exit {p.returncode}): {p.stderr.strip()[-200:]}")
    for label, single in (("uprobe_multi", "0"), ("single uprobes", "1")):
        times = [memleak_exit_time(single) for _ in range(5)]
        print(f"  bpfkit memleak -p, exit after SIGINT, {label:<14}: median {fmt_s(statistics.median(times))}")
    if os.path.exists("/usr/sbin/memleak"):
        print("  libbpf-tools memleak: present (not compared yet)")
    else:
        print("  libbpf-tools memleak: not in Debian's libbpf-tools package, no comparison")
    out = subprocess.run([os.path.join(REL, "examples", "symbolize_bench")], capture_output=True,
                         text=True, check=True).stdout
    print("symbolization of a 1000-frame report:")
    for line in out.strip().splitlines():
        print("  " + line)



PACKETS = int(os.environ.get("PACKETS", "1000000"))
NET_RUNS = int(os.environ.get("NET_RUNS", "5"))


class VethPair:
    """A veth pair: `host` here, `peer` in a fresh namespace (10.99.X.0/24),
    removed on exit. Packets from the peer go to the host side's address."""

    def __init__(self):
        tag = f"{os.getpid() % 100000:x}"
        self.ns, self.host, self.peer = f"bkbench{tag}", f"bkbh{tag}", f"bkbp{tag}"
        x = os.getpid() % 200 + 20
        self.host_ip, self.peer_ip = f"10.99.{x}.1", f"10.99.{x}.2"

    def __enter__(self):
        sh = lambda *a: subprocess.run(a, check=True, capture_output=True)
        try:
            sh("ip", "netns", "add", self.ns)
            sh("ip", "link", "add", self.host, "type", "veth", "peer", "name", self.peer, "netns", self.ns)
            sh("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.host)
            sh("ip", "link", "set", self.host, "up")
            sh("ip", "-n", self.ns, "addr", "add", f"{self.peer_ip}/24", "dev", self.peer)
            sh("ip", "-n", self.ns, "link", "set", self.peer, "up")
            sh("ip", "-n", self.ns, "link", "set", "lo", "up")
            # A socket that never reads: the host drops the packets at its full
            # receive buffer instead of answering each with ICMP.
            self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sink.bind((self.host_ip, 9))
            # Warm up ARP in both directions.
            self.flood(10)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if getattr(self, "sink", None):
            self.sink.close()
        subprocess.run(["ip", "link", "del", self.host], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)

    def rx_packets(self):
        with open(f"/sys/class/net/{self.host}/statistics/rx_packets") as f:
            return int(f.read())

    def flood(self, n):
        """(sender packets/s, packets/s the host side received) for n packets."""
        rx0 = self.rx_packets()
        out = subprocess.run(["ip", "netns", "exec", self.ns, os.path.join(REL, "examples", "udp_flood"),
                              self.peer_ip, f"{self.host_ip}:9", str(n)],
                             capture_output=True, text=True, check=True).stdout
        m = re.search(r"secs=([\d.]+) rate=(\d+)", out)
        secs, rate = float(m.group(1)), float(m.group(2))
        time.sleep(0.2)
        return rate, (self.rx_packets() - rx0) / max(secs, 1e-3)


def flood_with(pair, cmd):
    """Median (sent, received) pps over NET_RUNS floods while `cmd` is
    attached to the host side (None: untraced), and the tool's stderr."""
    p = None
    if cmd:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        time.sleep(2.0)
        if p.poll() is not None:
            return None, None, p.stderr.read().decode(errors="replace").strip()
    runs = [pair.flood(PACKETS) for _ in range(NET_RUNS)]
    err = ""
    if p:
        p.send_signal(signal.SIGINT)
        p.wait()
        err = p.stderr.read().decode(errors="replace").strip()
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), err)


def bench_net():
    print(f"== tcsnoop and xdpcount: UDP through a veth pair (kernel {os.uname().release}) ==")
    with VethPair() as pair:
        rows = [
            ("xdpcount (native XDP)", [os.path.join(REL, "xdpcount"), "-i", pair.host]),
            ("xdpcount -S (skb XDP)", [os.path.join(REL, "xdpcount"), "-S", "-i", pair.host]),
            ("tcsnoop (auto)", [os.path.join(REL, "tcsnoop"), "-i", pair.host]),
            ("tcsnoop --attach clsact", [os.path.join(REL, "tcsnoop"), "--attach", "clsact", "-i", pair.host]),
        ]
        print(f"{PACKETS} x 64-byte UDP packets from the peer namespace, median of {NET_RUNS} runs"
              " (sent = sender's rate; received = host side rx_packets / send time;"
              " the no-program rate is the median of runs interleaved with the others):")
        untraced, results = [], []
        for name, cmd in rows:
            sent, recv, err = flood_with(pair, cmd)
            results.append((name, sent, recv, err))
            untraced.append(flood_with(pair, None)[1])
        base = statistics.median(untraced)
        print(f"  {'no program':<24} received {base:>10,.0f} pps"
              f" (median of {', '.join(f'{u:,.0f}' for u in untraced)})")
        for name, sent, recv, err in results:
            if sent is None:
                print(f"  {name:<24} n/a: {err.splitlines()[-1] if err else 'did not start'}")
                continue
            notes = [l for l in err.splitlines() if l.startswith("using") or "lost" in l]
            print(f"  {name:<24} sent {sent:>10,.0f} pps  received {recv:>10,.0f} pps"
                  f" ({100 * recv / base:5.1f}% of no program)  {'; '.join(notes)}")
PROFILE_SECS = int(os.environ.get("PROFILE_SECS", "10"))


def profile_run(cmd, secs, ready=True):
    """Runs a profiler until it is attached, lets it sample `secs`, sends
    SIGINT and returns (tool CPU s, SIGINT -> exit s, stdout lines, stderr)."""
    out_path = f"/tmp/bpfkit-bench-profile-{os.getpid()}.out"
    with open(out_path, "wb") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        err = b""
        deadline = time.time() + 30
        if not ready:  # no banner on stderr to wait for
            time.sleep(2)
        while ready and b"Hit Ctrl-C" not in err and time.time() < deadline and p.poll() is None:
            r, _, _ = select.select([p.stderr], [], [], 0.2)
            if r:
                chunk = os.read(p.stderr.fileno(), 4096)
                if not chunk:
                    break
                err += chunk
        time.sleep(secs)
        t0 = time.perf_counter()
        p.send_signal(signal.SIGINT)
        _, _, ru = os.wait4(p.pid, 0)
        report = time.perf_counter() - t0
        err += p.stderr.read()
    with open(out_path, "rb") as f:
        lines = f.read().count(b"\n")
    os.unlink(out_path)
    return ru.ru_utime + ru.ru_stime, report, lines, err.decode(errors="replace")


def bench_profile():
    print("== profile ==")
    # Load on both CPUs: a shell loop (user time) and dd (kernel time).
    load = [subprocess.Popen(["sh", "-c", "while :; do :; done"]),
            subprocess.Popen(["dd", "if=/dev/zero", "of=/dev/null", "bs=1M"], stderr=subprocess.DEVNULL)]
    try:
        ours = os.path.join(REL, "profile")
        print(f"99 Hz on every CPU for {PROFILE_SECS} s, all threads (+ idle), under a shell loop and dd:")
        for label, args in [("folded (-f)", ["-f"]), ("default", []), ("--samples", ["--samples"])]:
            cpu, report, lines, err = profile_run([ours, "-F", "99", "-I"] + args, PROFILE_SECS)
            clock = next((l for l in err.splitlines() if l.startswith("sampling with")), "?")
            what = "SIGINT -> exit (last samples)" if args == ["--samples"] else \
                "SIGINT -> symbolized report printed"
            print(f"  bpfkit profile {label:<12} tool CPU {cpu:.2f} s, {what} {fmt_s(report)}, "
                  f"{lines} lines; {clock}")
        c_tool = "/usr/sbin/profile"
        if os.path.exists(c_tool):
            cpu, report, lines, _ = profile_run([c_tool, "-F", "99", "-I", "-f"], PROFILE_SECS, ready=False)
            print(f"  libbpf-tools profile -f  tool CPU {cpu:.2f} s, report {fmt_s(report)}, {lines} lines")
        else:
            print("  libbpf-tools profile: not in Debian's libbpf-tools package (/usr/sbin/profile absent), "
                  "and bcc's built profile is not available: no comparison")
    finally:
        for p in load:
            p.kill()
            p.wait()

EXPORTER_PORT = int(os.environ.get("EXPORTER_PORT", "10199"))


def proc_cpu(pid):
    """utime + stime of `pid` so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape_once(port):
    """(seconds, bytes) of one GET /metrics."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return time.perf_counter() - t0, len(data)


def start_exporter(args):
    cmd = [os.path.join(REL, "bpfkit-exporter"), "--listen", f"127.0.0.1:{EXPORTER_PORT}"] + args
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            scrape_once(EXPORTER_PORT)
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    sys.exit("bench: bpfkit-exporter did not start serving")


def stop_exporter(p):
    p.send_signal(signal.SIGTERM)
    p.wait()
    return p.stderr.read().decode(errors="replace")


def bench_exporter():
    print("== exporter ==")
    # Every collector: the default set plus xdp (generic mode on lo).
    p = start_exporter(["--xdp-interface", "lo", "--xdp-skb-mode"])
    times = []
    size = 0
    for _ in range(30):
        t, size = scrape_once(EXPORTER_PORT)
        times.append(t)
    cpu0 = proc_cpu(p.pid)
    time.sleep(10)
    idle_cpu = proc_cpu(p.pid) - cpu0
    print(f"idle, every collector on: scrape {fmt_s(statistics.median(times))} median of {len(times)} "
          f"(max {fmt_s(max(times))}), {size} bytes; exporter CPU {100 * idle_cpu / 10:.2f}% of a core "
          f"over 10 s without scrapes")
    path = f"/tmp/bpfkit-storm-missing-{os.getpid()}"
    base = run_storm(path, STORM_CALLS)
    storm_times = []
    done = []

    def scraper():
        while not done:
            storm_times.append(scrape_once(EXPORTER_PORT)[0])
            time.sleep(1.0)

    import threading
    t = threading.Thread(target=scraper)
    cpu0, w0 = proc_cpu(p.pid), time.perf_counter()
    t.start()
    rate = run_storm(path, STORM_CALLS)
    done.append(True)
    t.join()
    wall = time.perf_counter() - w0
    storm_cpu = proc_cpu(p.pid) - cpu0
    print(f"open() storm ({STORM_CALLS} calls, missing path), scraped every second: "
          f"{rate:,.0f} opens/s vs {base:,.0f} untraced ({100 * rate / base:.1f}%); "
          f"scrape {fmt_s(statistics.median(storm_times))} median of {len(storm_times)} "
          f"(max {fmt_s(max(storm_times))}); exporter CPU {storm_cpu:.2f} s over {wall:.1f} s")
    err = stop_exporter(p)
    down = [l for l in err.splitlines() if "is down" in l]
    if down:
        print("  (" + "; ".join(down) + ")")

    base = switch_rate()
    print(f"context-switch storm ({2 * SWITCH_ROUNDS} switches, pipe ping-pong): untraced {base:,.0f} switches/s")
    rate, note = traced_switch_rate([os.path.join(REL, "runqlat")])
    print(f"  bpfkit runqlat alone       {rate:>10,.0f} switches/s ({100 * rate / base:5.1f}% of untraced), {note}")
    for name, args in [("exporter --collectors runqlat", ["--collectors", "runqlat"]),
                       ("exporter, default collectors", [])]:
        p = start_exporter(args)
        cpu0 = proc_cpu(p.pid)
        rate = switch_rate()
        cpu = proc_cpu(p.pid) - cpu0
        stop_exporter(p)
        print(f"  {name:<28} {rate:>10,.0f} switches/s ({100 * rate / base:5.1f}% of untraced), exporter CPU {cpu:.2f} s")


SYSCALL_CALLS = int(os.environ.get("SYSCALL_CALLS", "5000000"))


def syscall_rate():
    out = subprocess.run([os.path.join(REL, "examples", "syscall_storm"), str(SYSCALL_CALLS)],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"rate=(\d+)", out)
    return float(m.group(1)) if m else float("nan")


def bench_syscount():
    """getppid() storm untraced, under bpfkit syscount (raw tracepoints) and
    under libbpf-tools syscount (tracefs tracepoints), with and without -L."""
    print("== syscount ==")
    c_tool = "/usr/sbin/syscount"
    cmds = [[os.path.join(REL, "syscount")]]
    if os.path.exists(c_tool):
        cmds.append([c_tool])
    startups = median_startups(cmds, b"Tracing")
    line = f"startup (exec -> attached, median): bpfkit {fmt_s(startups[0][0])} (n={startups[0][1]})"
    if len(startups) > 1:
        line += f" | libbpf-tools {fmt_s(startups[1][0])} (n={startups[1][1]})"
    print(line)
    # Untraced before and after: the median of those is the baseline.
    untraced = [syscall_rate()]
    rows = []
    for flags in ([], ["-L"]):
        rows.append((f"bpfkit syscount {' '.join(flags)}".strip(), [os.path.join(REL, "syscount")] + flags))
        if os.path.exists(c_tool):
            rows.append((f"libbpf-tools syscount {' '.join(flags)}".strip(), [c_tool] + flags))
    results = []
    for name, cmd in rows:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        time.sleep(3.0)  # attach
        if p.poll() is not None:
            results.append((name, None, f"exited {p.returncode}"))
            continue
        rate = syscall_rate()
        p.send_signal(signal.SIGINT)
        _, _, ru = os.wait4(p.pid, 0)
        results.append((name, rate, f"tool CPU {ru.ru_utime + ru.ru_stime:.2f} s"))
        untraced.append(syscall_rate())
    base = statistics.median(untraced)
    print(f"getppid() storm, {SYSCALL_CALLS} calls: untraced {base:,.0f} calls/s (median of {len(untraced)})")
    for name, rate, note in results:
        if rate is None:
            print(f"  {name:<26} n/a: {note}")
        else:
            print(f"  {name:<26} {rate:>12,.0f} calls/s ({100 * rate / base:5.1f}% of untraced), {note}")

BIO_WRITES = int(os.environ.get("BIO_WRITES", "20000"))


def direct_io_rate(dev, count=None):
    """4 KiB O_DIRECT writes/s to `dev` (dd, one process, one request each)."""
    count = count or BIO_WRITES
    t0 = time.monotonic()
    subprocess.run(["dd", "if=/dev/zero", f"of={dev}", "bs=4096", f"count={count}", "oflag=direct",
                    "status=none"], check=True)
    return count / (time.monotonic() - t0)


def bench_bio():
    """biolatency on a loop device of its own while dd writes 4 KiB blocks
    with O_DIRECT (one block request each), beside the untraced rate and
    Debian's C tool."""
    print("== biolatency ==")
    img = f"/tmp/bpfkit-bench-bio-{os.getpid()}.img"
    with open(img, "wb") as f:
        f.truncate(128 << 20)  # room for BIO_WRITES 4 KiB blocks
    dev = subprocess.run(["losetup", "--find", "--show", img], capture_output=True, text=True,
                         check=True).stdout.strip()
    name = os.path.basename(dev)
    try:
        untraced = [direct_io_rate(dev)]
        rows = []
        for tool, args in (("biolatency", ["-d", name, "-D"]),):
            rows.append((f"bpfkit {tool}", [os.path.join(REL, tool)] + args))
            if os.path.exists(f"/usr/sbin/{tool}"):
                rows.append((f"libbpf-tools {tool}", [f"/usr/sbin/{tool}"] + args))
        results = []
        for label, cmd in rows:
            out_path = f"/tmp/bpfkit-bench-bio-{os.getpid()}.out"
            with open(out_path, "wb") as out:
                p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                time.sleep(3.0)  # attach
                if p.poll() is not None:
                    err = p.stderr.read().decode(errors="replace").strip().splitlines()
                    results.append((label, None, err[-1] if err else f"exited {p.returncode}"))
                    os.unlink(out_path)
                    continue
                rate = direct_io_rate(dev)
                time.sleep(1.0)  # let the consumer drain
                p.send_signal(signal.SIGINT)
                _, _, ru = os.wait4(p.pid, 0)
            os.unlink(out_path)
            note = f"tool CPU {ru.ru_utime + ru.ru_stime:.2f} s"
            results.append((label, rate, note))
            untraced.append(direct_io_rate(dev))
        base = statistics.median(untraced)
        print(f"4 KiB O_DIRECT writes to {name}, {BIO_WRITES} per run: untraced {base:,.0f} writes/s "
              f"(median of {len(untraced)})")
        for label, rate, note in results:
            if rate is None:
                print(f"  {label:<24} n/a: {note}")
            else:
                print(f"  {label:<24} {rate:>10,.0f} writes/s ({100 * rate / base:5.1f}% of untraced), {note}")
    finally:
        subprocess.run(["losetup", "-d", dev])
        os.unlink(img)


SENDS = int(os.environ.get("SENDS", "500000"))


def send_rate():
    out = subprocess.run([os.path.join(REL, "examples", "send_storm"), str(SENDS)],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"rate=(\d+)", out)
    return float(m.group(1)) if m else float("nan")


def bench_tcptop():
    """64-byte sends over one loopback connection (a send and a receive
    traced per message), untraced, under bpfkit tcptop (each mechanism the
    kernel has) and under libbpf-tools tcptop. The C tool needs kprobes
    (tcp_sendmsg, tcp_cleanup_rbuf): on a kernel without them (this
    Firecracker host) its row is n/a, and bpfkit runs on the
    sock_send_length/sock_recv_length tracepoints."""
    print(f"== tcptop (kernel {os.uname().release}) ==")
    ours = [os.path.join(REL, "tcptop"), "-C", "-S"]
    c_tool = "/usr/sbin/tcptop"
    untraced = [send_rate()]
    rows = [(f"bpfkit --probe={mech}", ours + [f"--probe={mech}"]) for mech in ["fentry", "kprobe", "tracepoint"]]
    if os.path.exists(c_tool):
        rows.append(("libbpf-tools", [c_tool, "-C", "-S"]))
    results = []
    for name, cmd in rows:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        time.sleep(3.0)  # attach
        if p.poll() is not None:
            err = p.stderr.read().decode(errors="replace").strip().splitlines()
            results.append((name, None, err[-1] if err else f"exited {p.returncode}"))
            continue
        rate = send_rate()
        p.send_signal(signal.SIGINT)
        _, _, ru = os.wait4(p.pid, 0)
        results.append((name, rate, f"tool CPU {ru.ru_utime + ru.ru_stime:.2f} s"))
        untraced.append(send_rate())
    base = statistics.median(untraced)
    print(f"{SENDS} loopback sends of 64 bytes: untraced {base:,.0f} sends/s"
          f" (median of {', '.join(f'{u:,.0f}' for u in untraced)})")
    for name, rate, note in results:
        if rate is None:
            print(f"  {name:<23} n/a: {note}")
        else:
            print(f"  {name:<23} {rate:>10,.0f} sends/s ({100 * rate / base:5.1f}% of untraced), {note}")


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (make bench does)")
    only = sys.argv[1:]
    benches = {"opensnoop": bench_opensnoop, "tcpconnlat": bench_tcpconnlat, "tcpconnlat-vm": bench_tcpconnlat_vm,
               "tcpconnect": bench_tcpconnect,
               "sched": bench_sched, "memleak": bench_memleak, "net": bench_net,
               "profile": bench_profile, "exporter": bench_exporter, "syscount": bench_syscount,
               "tcptop": bench_tcptop, "bio": bench_bio, "offcpu": bench_offcpu}
    for name, fn in benches.items():
        if not only or name in only:
            fn()


if __name__ == "__main__":
    main()
