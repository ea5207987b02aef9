#!/usr/bin/env python3
"""tools/kernels/mkroot.py OUT.cpio INIT PROJECT: the guest's root file system.

Writes an initramfs (an uncompressed "newc" cpio archive, which the kernel
unpacks into its RAM-backed root) made of this machine's own programs, so
the guest runs the suite with exactly the tools the host runs it with:

  - every file of the Debian packages that provide the commands the tests
    run (bash, coreutils, strace, bats, python3, the C compiler...), minus
    documentation, and every shared library `ldd` lists for them;
  - INIT as /init (the kernel runs it as process 1);
  - PROJECT, the built course (sources, programs, tests), as /src.

Debian packages list files as /bin/x while /bin is a symlink to usr/bin
(merged /usr), so every path is stored under its real directory and the
top-level symlinks are stored as symlinks.
"""
import os
import stat
import subprocess
import sys

# The commands the suite runs (tests/*.bats, tests/helpers.bash, tests/run,
# the programs' own tours) and the init script needs.  A command missing on
# this machine is left out: its tests skip or fail in the guest as here.
COMMANDS = """
    bash sh env cat cp mv rm ln ls mkdir mktemp chmod touch head tail seq sort
    uniq wc tr tee cut printf sleep timeout stat truncate dd od cmp diff grep
    sed awk find xargs basename dirname readlink realpath id nproc date yes
    mkfifo sync true false kill ps pgrep pkill mount umount mountpoint setsid
    taskset flock prlimit nohup ip hostname strace bats python3 cc gcc cpp as
    ld make time uname sysctl getconf which
""".split()

# Files the C compiler needs besides the programs themselves (headers,
# startup files, libc to link against): their packages come in whole.
CC_FILES = ["stdio.h", "sys/syscall.h", "asm/unistd.h", "linux/io_uring.h"]

# What of the project stays behind: git's store, what the tool builds and
# caches, and the web book's tools (tools/bats/node_modules, a bats fetched
# by make, comes along).
PROJECT_SKIP = {".git", "build", "html", "exercises", "tools/node_modules",
                "tools/web/node_modules", "tools/kernels/cache", "bench/bin"}

SKIP_PREFIXES = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/info/",
                 "/usr/share/locale/", "/usr/share/lintian/",
                 "/usr/share/bash-completion/", "/usr/share/zsh/")
# Large and never used by the suite: the link-time optimiser, other front
# ends, the sanitizer runtimes and static libcs (the sanitizer lane is not
# run in the guest), Python's own tests and GUI toolkit.
SKIP_PARTS = ("/lto1", "lto-dump", "/cc1plus", "/cc1obj", "/f951", "/gnat1", "/libasan",
              "/libtsan", "/liblsan", "/libubsan", "/libhwasan", "gprofng", "/libc.a",
              "/libm-2", "/libmvec.a", "ld.gold", "-dwp", "/test/", "/idlelib/",
              "/tkinter/", "/ensurepip/", "/lib2to3/", "/pydoc_data/")


def which(cmd):
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]:
        p = os.path.join(d, cmd)
        if os.path.isfile(p) and os.access(p, os.X_OK) and "/.pyenv/" not in p:
            return p
    return None


def owners(paths):
    """The Debian packages that own PATHS (unowned paths are ignored)."""
    pkgs = set()
    for p in paths:
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if ": " in line and not line.startswith("diversion"):
                for pkg in line.split(": ", 1)[0].split(", "):
                    pkgs.add(pkg)
    return pkgs


def package_files(pkgs):
    out = subprocess.run(["dpkg-query", "-L"] + sorted(pkgs), capture_output=True,
                         text=True).stdout.splitlines()
    return [p for p in out if p.startswith("/") and not p.startswith(SKIP_PREFIXES)
            and not any(s in p for s in SKIP_PARTS)]


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def ldd(path):
    r = subprocess.run(["ldd", path], capture_output=True, text=True)
    libs = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) > parts.index("=>") + 1:
            lib = parts[parts.index("=>") + 1]
            if lib.startswith("/"):
                libs.append(lib)
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])       # the dynamic loader itself
    return libs


def canonical(path):
    """PATH with its directory resolved (so /bin/x becomes /usr/bin/x)."""
    d, b = os.path.split(path)
    return os.path.join(os.path.realpath(d), b)


class Cpio:
    def __init__(self, f):
        self.f, self.ino, self.dirs, self.names = f, 1, set(), set()

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.lstrip("/")
        if name in self.names:
            return                      # the first entry of a name stands
        self.names.add(name)
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            self.ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data),
            0, 0, rdev[0], rdev[1], len(nb), 0))
        self.ino += 1
        self.f.write(hdr.encode() + nb)
        self.f.write(b"\0" * (-(110 + len(nb)) % 4))
        self.f.write(data)
        self.f.write(b"\0" * (-len(data) % 4))

    def mkdirs(self, path):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self.entry(d, stat.S_IFDIR | 0o755)

    def add(self, name, src=None, data=None, mode=None):
        """Store SRC (a host path: file, symlink or directory) as NAME."""
        name = name.strip("/")
        self.mkdirs(os.path.dirname(name))
        if data is not None:
            self.entry(name, stat.S_IFREG | (mode or 0o644), data)
            return
        st = os.lstat(src)
        if stat.S_ISLNK(st.st_mode):
            self.entry(name, stat.S_IFLNK | 0o777, os.readlink(src).encode())
        elif stat.S_ISDIR(st.st_mode):
            self.mkdirs(name)
        elif stat.S_ISREG(st.st_mode):
            with open(src, "rb") as f:
                self.entry(name, stat.S_IFREG | stat.S_IMODE(st.st_mode), f.read())

    def close(self):
        self.entry("TRAILER!!!", 0)


def main():
    out, init, project = sys.argv[1:4]
    cmds = [p for p in (which(c) for c in COMMANDS) if p]
    gcc = lambda *a: subprocess.run(["gcc"] + list(a), capture_output=True,
                                    text=True).stdout.strip()
    hints = [os.path.realpath(p) for p in cmds]
    hints += [os.path.realpath(gcc("-print-prog-name=" + t)) for t in ("cc1", "as", "ld")]
    hints += [os.path.realpath(gcc("-print-file-name=" + f))
              for f in ("crt1.o", "crtbegin.o", "libc.so", "libc_nonshared.a", "libgcc.a")]
    for h in CC_FILES:
        for d in ("/usr/include", "/usr/include/x86_64-linux-gnu"):
            if os.path.exists(os.path.join(d, h)):
                hints.append(os.path.join(d, h))
    pkgs = owners(hints)
    # python3's standard library lives in packages of its own.
    py = os.path.basename(os.path.realpath(which("python3") or "python3"))
    pkgs |= owners(["/usr/lib/%s/%s" % (py, m) for m in ("os.py", "json/__init__.py")])
    files = set(package_files(pkgs)) | set(cmds)

    # Follow symlinks (cc -> /etc/alternatives/cc -> gcc) and add what every
    # program links against.
    todo, seen = list(files), set()
    while todo:
        p = todo.pop()
        if p in seen or not os.path.lexists(p):
            continue
        seen.add(p)
        if os.path.islink(p):
            t = os.readlink(p)
            todo.append(os.path.normpath(os.path.join(os.path.dirname(p), t)))
        elif os.path.isfile(p) and is_elf(p) and (os.access(p, os.X_OK) or ".so" in p):
            todo.extend(ldd(p))

    with open(out + ".part", "wb") as f:
        c = Cpio(f)
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            if os.path.islink("/" + top):
                c.add(top, "/" + top)
        for p in sorted(seen):
            if os.path.isdir(p) and not os.path.islink(p):
                continue
            c.add(canonical(p), p)
        for d in ("proc", "sys", "dev", "tmp", "run", "root", "etc", "var/tmp"):
            c.mkdirs(d)
        c.entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        c.entry("dev/null", stat.S_IFCHR | 0o666, rdev=(1, 3))
        c.add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/bash\n")
        c.add("etc/group", data=b"root:x:0:\n")
        c.add("etc/hosts", data=b"127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
        c.add("etc/nsswitch.conf", data=b"passwd: files\ngroup: files\nhosts: files\n")
        with open(init, "rb") as i:
            c.add("init", data=i.read(), mode=0o755)
        for d, dirs, names in os.walk(project):
            rel = os.path.relpath(d, project)
            dirs[:] = sorted(x for x in dirs if os.path.normpath(os.path.join(rel, x))
                             not in PROJECT_SKIP)
            for n in sorted(names):
                p = os.path.join(d, n)
                c.add("src/" + os.path.relpath(p, project), p)
        c.close()
    os.replace(out + ".part", out)


if __name__ == "__main__":
    main()
