#!/usr/bin/env python3
"""Times one server start: from spawning the process to its first answered request.

usage: first_answer.py [--request list|get] [--table T] [--key K] [--timeout S] -- COMMAND...

The command may contain {port}, replaced by a free loopback port picked here. The clock is
time.monotonic_ns(), read just before the spawn. The probe is a tiny DynamoDB request over one fresh TCP
connection per attempt (ListTables, or GetItem of --table/--key), sent every 2 ms until the server answers
HTTP 200. Prints "<seconds> <status> <server CPU seconds so far>" (user + system time of all its threads: on
a shared machine, the figure least disturbed by other load), then the server's pid and port on two more lines, and leaves the server
running, unless --stop, which sends SIGTERM and waits for it to exit.
"""
import argparse, json, os, signal, socket, subprocess, sys, time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe_bytes(kind, table, key, port):
    if kind == "get":
        body = json.dumps({"TableName": table, "Key": {"pk": {"S": key}}}).encode()
        target = "DynamoDB_20120810.GetItem"
    else:
        body = b"{}"
        target = "DynamoDB_20120810.ListTables"
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.0\r\n"
        f"X-Amz-Target: {target}\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0000\r\nX-Amz-Date: 20260101T000000Z\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


def try_once(port, request):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(request)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                data += chunk
            status = data.split(b"\r\n", 1)[0].split()
            return int(status[1]) if len(status) > 1 else None
    except OSError:
        return None


def cpu_seconds(pid):
    """User + system CPU time the server has used so far (all its threads), from /proc/PID/stat."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--request", default="list", choices=["list", "get"])
    p.add_argument("--table", default="bench")
    p.add_argument("--key", default="k0")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cwd", default=None)
    p.add_argument("--log", default=os.devnull)
    p.add_argument("--stop", action="store_true")
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    port = a.port or free_port()
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    request = probe_bytes(a.request, a.table, a.key, port)
    log = open(a.log, "ab")
    t0 = time.monotonic_ns()
    proc = subprocess.Popen(cmd, cwd=a.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = t0 + int(a.timeout * 1e9)
    status = None
    while time.monotonic_ns() < deadline:
        status = try_once(port, request)
        if status == 200:
            break
        if proc.poll() is not None:
            print(f"server exited with {proc.returncode} before answering", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.002)
    elapsed = (time.monotonic_ns() - t0) / 1e9
    cpu = cpu_seconds(proc.pid)
    if status != 200:
        print(f"no answer within {a.timeout} s (last status {status})", file=sys.stderr)
        proc.kill()
        sys.exit(1)
    print(f"{elapsed:.4f} {status} {cpu:.3f}")
    print(proc.pid)
    print(port)
    sys.stdout.flush()
    if a.stop:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
