"""A small MQTT 3.1.1 client for the tests (standard library only): connect
(optionally TLS, user and password), subscribe, and collect every PUBLISH
with its topic, payload, QoS and retain flag, acknowledging QoS 1 and 2; and
publish. Also the broker: a real mosquitto with a password file and a TLS
listener whose certificates openssl makes in the test's directory."""

import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time

from harness import Skip, free_port, wait_for


def _tool(name):
    return shutil.which(name) or next(
        (p for p in ("/usr/sbin/" + name, "/usr/bin/" + name) if os.path.exists(p)), None)


def _varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


class Client:
    def __init__(self, port, user=None, password=None, tls_ca=None, host="127.0.0.1",
                 client_id=None, keepalive=60):
        self.msgs = []          # (topic, payload bytes, qos, retain)
        self.lock = threading.Lock()
        self.closed = False
        self.connack = None
        raw = socket.create_connection((host, port), timeout=10)
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            raw = ctx.wrap_socket(raw, server_hostname=host)
        self.s = raw
        self.s.settimeout(None)
        flags = 0x02
        payload = _str(client_id or "t-%d-%d" % (os.getpid(), id(self)))
        if user is not None:
            flags |= 0x80
            payload += _str(user)
        if password is not None:
            flags |= 0x40
            payload += _str(password)
        var = _str("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
        self._send(0x10, var + payload)
        self.mid = 1
        self.t = threading.Thread(target=self._reader, daemon=True)
        self.t.start()
        wait_for(lambda: self.connack is not None or self.closed, 10, "CONNACK")
        if self.connack != 0:
            raise ConnectionRefusedError("CONNACK %r" % self.connack)

    def _send(self, head, body):
        self.s.sendall(bytes([head]) + _varint(len(body)) + body)

    def _recv_exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise EOFError()
            b += chunk
        return b

    def _reader(self):
        try:
            while True:
                h = self._recv_exact(1)[0]
                mult, length = 1, 0
                while True:
                    d = self._recv_exact(1)[0]
                    length += (d & 127) * mult
                    mult *= 128
                    if not d & 128:
                        break
                body = self._recv_exact(length) if length else b""
                self._packet(h, body)
        except (EOFError, OSError):
            self.closed = True

    def _packet(self, h, body):
        kind = h >> 4
        if kind == 2:
            self.connack = body[1]
        elif kind == 3:
            qos = (h >> 1) & 3
            tl = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + tl].decode()
            rest = body[2 + tl:]
            if qos:
                mid = rest[:2]
                rest = rest[2:]
                self._send(0x40 if qos == 1 else 0x50, mid)
            with self.lock:
                self.msgs.append((topic, rest, qos, bool(h & 1)))
        elif kind == 5:  # PUBREC -> PUBREL
            self._send(0x62, body[:2])

    def subscribe(self, topic, qos=1):
        self.mid += 1
        self._send(0x82, struct.pack("!H", self.mid) + _str(topic) + bytes([qos]))

    def publish(self, topic, payload, retain=False, qos=0):
        if isinstance(payload, str):
            payload = payload.encode()
        body = _str(topic)
        if qos:
            self.mid += 1
            body += struct.pack("!H", self.mid)
        self._send(0x30 | (qos << 1) | (1 if retain else 0), body + payload)

    def take(self):
        with self.lock:
            out, self.msgs = self.msgs, []
        return out

    def seen(self):
        with self.lock:
            return list(self.msgs)

    def latest(self):
        """topic -> (payload, retain) of the last message on it."""
        out = {}
        for t, p, q, r in self.seen():
            out[t] = (p, r)
        return out

    def close(self):
        try:
            self._send(0xE0, b"")
            self.s.close()
        except OSError:
            pass


def make_certs(d):
    """A CA and a server certificate for localhost and 127.0.0.1, by openssl."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    def run(*a):
        subprocess.run(["openssl"] + list(a), check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=leafmon test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
        "/CN=localhost")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
        "-days", "2", "-extfile", ext)
    return ca, crt, key


class Broker:
    """mosquitto on loopback: a plain listener and a TLS one, with users."""

    USERS = {"leaf": "leaf-secret-1", "watcher": "watch-secret-2"}

    def __init__(self, d, tls=True, anonymous=False):
        for tool in ("mosquitto", "mosquitto_passwd", "openssl"):
            if _tool(tool) is None:
                raise Skip("%s is not installed (scripts/install-deps --test)" % tool)
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.pwfile = os.path.join(d, "passwd")
        open(self.pwfile, "w").close()
        for u, p in self.USERS.items():
            subprocess.run([_tool("mosquitto_passwd"), "-b", self.pwfile, u, p], check=True,
                           capture_output=True)
        os.chmod(self.pwfile, 0o600)
        lines = ["per_listener_settings false", "allow_anonymous %s" % str(anonymous).lower(),
                 "password_file %s" % self.pwfile, "persistence false",
                 "log_dest file %s" % os.path.join(d, "mosquitto.log"),
                 "log_type error", "log_type warning", "log_type notice",
                 "max_queued_messages 100000",
                 # as root mosquitto would become user mosquitto, who cannot read
                 # the test's private directory
                 ] + (["user root"] if os.geteuid() == 0 else []) + [
                 "listener %d 127.0.0.1" % self.port]
        if tls:
            self.ca, crt, key = make_certs(d)
            lines += ["listener %d 127.0.0.1" % self.tls_port, "cafile %s" % self.ca,
                      "certfile %s" % crt, "keyfile %s" % key]
        self.conf = os.path.join(d, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([_tool("mosquitto"), "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, "mosquitto on %d" % self.port)
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def client(self, user="watcher", **kw):
        return Client(self.port, user=user, password=self.USERS.get(user), **kw)
