#!/usr/bin/env python3
"""Captures the example output in docs/*.md from real runs (`make docs`, as root).

Each example in a page is an HTML comment followed by a ```text block; the
block is rewritten with the command and what it printed:

    <!-- example
    cmd: opensnoop -n cat
    workload: cat /etc/hostname /nonexistent
    keep: cat
    -->
    ```text
    (replaced)
    ```

Keys (one per line, all but cmd optional):
  cmd       the tool and its arguments (run as target/debug/<tool> ...);
            {pid} is replaced by the pid of the `setup` process
  setup     a shell command started first, in the background, killed at
            the end (a process to point -p at); a line arrives on its
            stdin once the tool has attached (`read x` waits for it)
  settle    seconds to wait after starting `setup` (default 0.5), e.g. for
            a JVM to start
  workload  a shell command run once the tool has attached (it printed
            "Hit Ctrl-C to end" on stderr, or 120 s passed: attaching
            kprobes in an emulated guest takes that long)
  after     seconds to wait after the workload before SIGINT (default 1);
            a tool that ends by itself (-d, COUNT) is just waited for
  keep      a regex: only output lines matching it are kept (plus `header`)
  header    how many first lines to keep regardless of `keep`
            (default 1, 0 for --json commands)
  head      at most this many lines (default 14)
  stderr    yes: show stderr lines before stdout (for tools whose report
            is on stderr, or to show the mechanism line)

Usage: scripts/docs-examples.py [--only REGEX] [docs/<tool>.md ...]
(default: docs/*.md; with --only, only the examples whose cmd matches REGEX
are captured again, the others are left as they are)
"""

import glob
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug")
# What a tool prints on stderr once attached (the exporter: once it serves).
READY = ("Hit Ctrl-C to end", "serving http://")
# Workloads run with a plain environment: no locale files in opensnoop's
# output, no PATH search through a developer's directories in execsnoop's.
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "HOME": "/root"}
EXAMPLE = re.compile(
    r"(<!-- example\n(?P<spec>.*?)-->\n```text\n)(?P<body>.*?)(```)", re.S
)


def parse_spec(text):
    spec = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(":")
        spec[key.strip()] = value.strip()
    if "cmd" not in spec:
        raise SystemExit(f"example without cmd: {text!r}")
    return spec


def reader(stream, sink, ready):
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        sink.append(line)
        if any(r in line for r in READY):
            ready.set()
    ready.set()


def run_example(spec):
    setup = None
    cmd = spec["cmd"]
    if "setup" in spec:
        setup = subprocess.Popen(
            ["/bin/bash", "-c", spec["setup"]],
            env=ENV,
            stdin=subprocess.PIPE,
            cwd="/tmp",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(float(spec.get("settle", "0.5")))
        cmd = cmd.replace("{pid}", str(setup.pid))
    argv = shlex.split(cmd)
    argv[0] = os.path.join(BIN, argv[0])
    out, err = [], []
    ready = threading.Event()
    tool = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/tmp",
    )
    threads = [
        threading.Thread(target=reader, args=(tool.stdout, out, threading.Event())),
        threading.Thread(target=reader, args=(tool.stderr, err, ready)),
    ]
    for t in threads:
        t.start()
    # A tool that never says it is ready (no banner) costs this wait.
    ready.wait(timeout=120)
    time.sleep(0.3)
    if setup is not None:
        try:
            setup.stdin.write(b"go\n")
            setup.stdin.close()
        except BrokenPipeError:
            pass
    if "workload" in spec:
        subprocess.run(
            ["/bin/bash", "-c", spec["workload"]],
            env=ENV,
            cwd="/tmp",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
    deadline = time.time() + float(spec.get("after", "1"))
    while time.time() < deadline and tool.poll() is None:
        time.sleep(0.1)
    if tool.poll() is None:
        tool.send_signal(signal.SIGINT)
    try:
        tool.wait(timeout=30)
    except subprocess.TimeoutExpired:
        tool.kill()
        tool.wait()
    for t in threads:
        t.join()
    if setup is not None:
        os.killpg(setup.pid, signal.SIGKILL)
        setup.wait()
    if tool.returncode != 0:
        raise SystemExit(
            f"`{cmd}` exited {tool.returncode}: " + "\n".join(err[-5:])
        )
    return cmd, out, err


def select(spec, cmd, out, err):
    is_json = "--json" in cmd.split()
    header = int(spec.get("header", "0" if is_json else "1"))
    lines = out
    if "keep" in spec:
        keep = re.compile(spec["keep"])
        lines = out[:header] + [l for l in out[header:] if keep.search(l)]
    if spec.get("stderr") == "yes":
        lines = [l for l in err if l.strip()] + lines
    lines = lines[: int(spec.get("head", "14"))]
    return "\n".join([f"$ sudo {cmd}"] + lines) + "\n"


def process(path, only=None):
    text = open(path, encoding="utf-8").read()

    def replace(m):
        spec = parse_spec(m.group("spec"))
        if only is not None and not re.search(only, spec["cmd"]):
            return m.group(0)
        cmd, out, err = run_example(spec)
        print(f"{os.path.basename(path)}: {cmd}: {len(out)} lines", file=sys.stderr)
        return m.group(1) + select(spec, cmd, out, err) + m.group(4)

    new = EXAMPLE.sub(replace, text)
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)


def main():
    if os.geteuid() != 0:
        raise SystemExit("docs-examples.py runs the tools: run it as root")
    args = sys.argv[1:]
    only = None
    if args[:1] == ["--only"] and len(args) > 1:
        only, args = args[1], args[2:]
    paths = args or sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for p in paths:
        process(p, only)


if __name__ == "__main__":
    main()
