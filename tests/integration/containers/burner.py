"""A stand-in for a container's workload, run as a script by the container tests.

It waits on stdin until the test has moved it into its cgroups, then allocates and touches
``MEMORY_MB`` of memory, burns ``CPU_S`` seconds of CPU, optionally sends ``NET_BYTES`` over
loopback UDP (inside its own network namespace), prints ``ready`` and waits on stdin again
before exiting, so the test can read the counters while it is alive.

Usage: ``python burner.py CPU_S MEMORY_MB [NET_BYTES]``
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time


def main() -> None:
    cpu_s = float(sys.argv[1])
    memory_mb = int(sys.argv[2])
    net_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    sys.stdin.readline()  # attached to the cgroups now
    block = bytearray(memory_mb * 1024 * 1024)
    for offset in range(0, len(block), 4096):
        block[offset] = 1  # touch every page so it is charged
    if net_bytes:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
        ):
            receiver.bind(("127.0.0.1", 0))
            sent = 0
            while sent < net_bytes:
                sent += sender.sendto(b"x" * 1000, receiver.getsockname())
                receiver.recv(2048)
    start = time.process_time()
    while time.process_time() - start < cpu_s:
        pass
    print("ready", flush=True)
    sys.stdin.readline()
    del block


if __name__ == "__main__":
    main()
