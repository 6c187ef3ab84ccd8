// The 32-bit MicroPython: MicroPython's webassembly port (wasm32: 31-bit small
// ints, 4-byte pointers, as on an RP2040 or ESP32) run under node, with the
// command line of the unix port so the simulator and the tests use it the same
// way:
//
//   node mp32.mjs [-X heapsize=N[k|m]] [--mount DIR]... [--heap-report FILE]
//                 SCRIPT.py [ARG...]
//
// The port has only an in-memory filesystem: every --mount DIR (and the
// script's own directory) is copied into it at the same absolute path before
// the script runs, and the working directory is the host's.  Files the script
// writes stay in memory.
//
// stdin and stdout are the process's, byte-exact and blocking as on the unix
// port: a read waits for the host (so the tick link works over pipes); output
// is buffered and flushed before every read and at exit.  stderr is written at
// once.  The exit status is the script's: sys.exit(n) gives n, an uncaught
// exception prints its traceback on stderr and gives 1.
//
// The heap: -X heapsize is the GC heap the port starts with.  This build grows
// the heap on demand instead of raising MemoryError (and gc.mem_free() counts
// what it could still grow to), so a board-sized heap is proved by
// --heap-report: it writes {"start": total, "end": total, "peak": ...} in bytes,
// as micropython.mem_info() counts the heap's total, before and after the
// script; end > start means the script needed more than the heap it was given.
//
// An exception that reaches JavaScript with the heap locked would hang node:
// the firmware unlocks in a finally, and so does everything here.
import fs from "fs";
import path from "path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const SKIP_DIRS = new Set([".git", "node_modules", "__pycache__", ".venv", ".pytest_cache"]);

function usage(msg) {
  process.stderr.write("mp32: " + msg + "\n");
  process.exit(2);
}

function parseSize(s) {
  const m = /^(\d+)([kKmM]?)$/.exec(s);
  if (!m) usage("bad heapsize: " + s);
  let n = parseInt(m[1], 10);
  if (m[2].toLowerCase() === "k") n *= 1024;
  if (m[2].toLowerCase() === "m") n *= 1024 * 1024;
  return n;
}

const argv = process.argv.slice(2);
let heapsize = 1024 * 1024;
let heapReport = null;
const mounts = [];
let i = 0;
for (; i < argv.length; i++) {
  const a = argv[i];
  if (a === "-X" && i + 1 < argv.length) {
    const v = argv[++i];
    if (v.startsWith("heapsize=")) heapsize = parseSize(v.slice(9));
    else usage("unknown -X option: " + v);
  } else if (a === "--mount" && i + 1 < argv.length) {
    mounts.push(path.resolve(argv[++i]));
  } else if (a === "--heap-report" && i + 1 < argv.length) {
    heapReport = path.resolve(argv[++i]);
  } else {
    break;
  }
}
if (i >= argv.length) usage("no script given");
const script = path.resolve(argv[i]);
const scriptArgs = argv.slice(i + 1);
if (!fs.existsSync(script)) usage("cannot open file '" + argv[i] + "'");

// -- stdio -------------------------------------------------------------------
const inBuf = Buffer.alloc(65536);
let inLen = 0;
let inPos = 0;
let inEof = false;
let outBuf = Buffer.alloc(65536);
let outLen = 0;
let capture = null;          // while set, stdout goes here (mem_info), not fd 1

function flushOut() {
  let off = 0;
  while (off < outLen) {
    try {
      off += fs.writeSync(1, outBuf, off, outLen - off);
    } catch (e) {
      if (e.code === "EAGAIN") continue;
      if (e.code === "EPIPE") { outLen = 0; return; }
      throw e;
    }
  }
  outLen = 0;
}

function putc(c) {
  if (capture !== null) { capture.push(c); return; }
  if (outLen === outBuf.length) flushOut();
  outBuf[outLen++] = c;
}

function getc() {
  if (inPos >= inLen) {
    if (inEof) return null;
    flushOut();
    for (;;) {
      try {
        inLen = fs.readSync(0, inBuf, 0, inBuf.length, null);
        break;
      } catch (e) {
        if (e.code === "EAGAIN") continue;
        if (e.code === "EOF") { inLen = 0; break; }
        throw e;
      }
    }
    inPos = 0;
    if (inLen === 0) { inEof = true; return null; }
  }
  return inBuf[inPos++];
}

const errByte = Buffer.alloc(1);
function errc(c) {
  errByte[0] = c;
  try { fs.writeSync(2, errByte); } catch (e) { /* stderr gone: drop */ }
}

const mp = await loadMicroPython({
  heapsize, linebuffer: false, stdin: getc,
  stdout: (b) => { for (const c of b) putc(c); },
  stderr: (b) => { for (const c of b) errc(c); },
});

// -- the filesystem ----------------------------------------------------------
const FS = mp.FS;
function mkdirs(p) {
  let cur = "";
  for (const part of p.split("/").filter((x) => x)) {
    cur += "/" + part;
    try { FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}
function copyTree(dir) {
  mkdirs(dir);
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      if (!SKIP_DIRS.has(ent.name)) copyTree(p);
    } else if (ent.isFile()) {
      FS.writeFile(p, fs.readFileSync(p));
    }
  }
}
const scriptDir = path.dirname(script);
for (const d of [scriptDir, ...mounts]) copyTree(d);
mkdirs(process.cwd());
FS.chdir(process.cwd());

// -- run ---------------------------------------------------------------------
function heapTotal() {
  capture = [];
  try {
    mp.runPython("import micropython\nmicropython.mem_info()\n");
  } finally {
    const text = Buffer.from(capture).toString();
    capture = null;
    const m = /GC: total: (\d+), used: (\d+)/.exec(text);
    if (!m) throw new Error("mp32: no GC line in mem_info: " + text);
    return parseInt(m[1], 10);
  }
}

const start = heapReport ? heapTotal() : 0;
mp.globals.set("_mp32_argv", [script, ...scriptArgs]);
mp.globals.set("_mp32_script", script);
let rc = 1;
try {
  mp.runPython(`
import sys
sys.argv[:] = list(_mp32_argv)
sys.path[:] = [_mp32_script.rsplit("/", 1)[0], ".frozen"]
def _mp32_main():
    g = {"__name__": "__main__", "__file__": _mp32_script}
    with open(_mp32_script) as f:
        src = f.read()
    try:
        exec(compile(src, _mp32_script, "exec"), g)
    except SystemExit as e:
        a = e.args
        if not a or a[0] is None:
            return 0
        if isinstance(a[0], int):
            return a[0]
        sys.stderr.write(str(a[0]) + "\\n")
        return 1
    except BaseException as e:
        sys.print_exception(e, sys.stderr)
        return 1
    return 0
_mp32_rc = _mp32_main()
`);
  rc = mp.globals.get("_mp32_rc");
} catch (e) {
  // Only the wrapper itself can get here (it catches everything the script
  // raises): report one line, never the port's minified source.
  process.stderr.write("mp32: " + (e && e.message ? e.message.trim().split("\n").pop() : e) + "\n");
  rc = 1;
} finally {
  flushOut();
}
if (heapReport) {
  const end = heapTotal();
  fs.writeFileSync(heapReport, JSON.stringify({ heapsize, start, end }) + "\n");
}
process.exitCode = rc;
