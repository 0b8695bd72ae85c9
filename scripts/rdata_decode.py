#!/usr/bin/env python3
"""Decode R lazy-load databases (.rdx/.rdb) and .rds files without R.

Standard library only.  Enough of R's serialisation format is implemented
to read data sets such as the ones shipped in R packages' ``data/``
directories: vectors (logical, integer, double, complex, character, raw,
list), attributes, pairlists, symbols, CHARSXP encodings, NA strings,
references and the common ALTREP classes.  Closures, environments and
byte code are parsed far enough to be skipped over, not evaluated.

Lazy-load layout:
  NAME.rdx  the index: an R object, serialised and compressed (gzip file,
            as written by saveRDS, or R's own 4-byte length + zlib chunk),
            a list(variables=, references=, compressed=) whose
            ``variables`` maps each object name to c(offset, length) into
  NAME.rdb  the data: one chunk per object, a 4-byte big-endian
            uncompressed length followed by the compressed serialisation
            (zlib; or, with compressed=2/3, a type byte '0'/'1'/'2'/'Z'
            then raw/zlib/bzip2/xz data).

Command line:
  rdata_decode.py list   PATH            names, R types, classes, sizes
  rdata_decode.py dump   PATH NAME       print the object as JSON
  rdata_decode.py lines  PATH NAME [COL] write a character vector (or one
                                         column of a data frame) to stdout,
                                         one element a line
PATH is NAME.rdx / NAME.rdb / the common prefix, or a .rds file.
"""

import bz2
import gzip
import json
import lzma
import math
import os
import struct
import sys
import zlib

# SEXP types
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
SPECIALSXP, BUILTINSXP, CHARSXP, LGLSXP = 7, 8, 9, 10
INTSXP, REALSXP, CPLXSXP, STRSXP, DOTSXP, ANYSXP = 13, 14, 15, 16, 17, 18
VECSXP, EXPRSXP, BCODESXP, EXTPTRSXP, WEAKREFSXP, RAWSXP, S4SXP = (
    19, 20, 21, 22, 23, 24, 25)
# pseudo-SEXP types used only in serialisation streams
REFSXP, NILVALUE_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP = 255, 254, 253, 252
MISSINGARG_SXP, BASENAMESPACE_SXP, NAMESPACESXP, PACKAGESXP = 251, 250, 249, 248
PERSISTSXP, CLASSREFSXP, GENERICREFSXP, BCREPDEF = 247, 246, 245, 244
EMPTYENV_SXP, BASEENV_SXP, ATTRLANGSXP, ATTRLISTSXP, ALTREP_SXP = (
    242, 241, 240, 239, 238)
BCREPREF = 243

TYPE_NAMES = {
    NILSXP: "NULL", SYMSXP: "symbol", LISTSXP: "pairlist", CLOSXP: "closure",
    ENVSXP: "environment", PROMSXP: "promise", LANGSXP: "language",
    SPECIALSXP: "special", BUILTINSXP: "builtin", CHARSXP: "char",
    LGLSXP: "logical", INTSXP: "integer", REALSXP: "double",
    CPLXSXP: "complex", STRSXP: "character", DOTSXP: "...", VECSXP: "list",
    EXPRSXP: "expression", BCODESXP: "bytecode", EXTPTRSXP: "externalptr",
    WEAKREFSXP: "weakref", RAWSXP: "raw", S4SXP: "S4",
}

# CHARSXP "levels" bits
BYTES_MASK, LATIN1_MASK, UTF8_MASK, ASCII_MASK = 1 << 1, 1 << 2, 1 << 3, 1 << 6

NA_INTEGER = -2 ** 31
IS_OBJECT_BIT, HAS_ATTR_BIT, HAS_TAG_BIT = 1 << 8, 1 << 9, 1 << 10


class RDecodeError(Exception):
    pass


class RObject:
    """An R value: ``rtype`` (SEXP type), ``value`` and ``attributes``.

    value by type: NULL -> None; logical -> list of True/False/None;
    integer -> list of int/None; double -> list of float (NA and NaN are
    nan); complex -> list of complex; character -> list of str/None
    (None = NA_character_); list/expression -> list of RObject; raw ->
    bytes; symbol -> str; pairlist/language -> list of (tag, RObject);
    environment and friends -> a short description string.
    """

    __slots__ = ("rtype", "value", "attributes")

    def __init__(self, rtype, value=None, attributes=None):
        self.rtype = rtype
        self.value = value
        self.attributes = attributes if attributes is not None else {}

    def attr(self, name):
        return self.attributes.get(name)

    @property
    def type_name(self):
        return TYPE_NAMES.get(self.rtype, str(self.rtype))

    @property
    def classes(self):
        c = self.attr("class")
        return list(c.value) if c is not None and c.rtype == STRSXP else []

    @property
    def names(self):
        n = self.attr("names")
        return list(n.value) if n is not None and n.rtype == STRSXP else None

    def __len__(self):
        if self.value is None:
            return 0
        if isinstance(self.value, (list, bytes)):
            return len(self.value)
        return 1

    def __getitem__(self, key):
        """Element of a list by position or name."""
        if isinstance(key, str):
            names = self.names or []
            if key not in names:
                raise KeyError(key)
            key = names.index(key)
        return self.value[key]

    def __repr__(self):
        return "<R %s len=%d class=%s>" % (self.type_name, len(self),
                                            self.classes)


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.refs = []
        fmt = data[:2]
        if fmt == b"X\n":
            self.kind = "xdr"
        elif fmt == b"B\n":
            self.kind = "binary"
        elif fmt == b"A\n":
            self.kind = "ascii"
            self._tokens = data[2:].split()
            self._tok = 0
        else:
            raise RDecodeError("not an R serialisation stream (starts %r)"
                               % data[:8])
        self.pos = 2
        self.version = self.int()
        self.writer_version = self.int()
        self.min_reader_version = self.int()
        self.native_encoding = None
        if self.version == 3:
            n = self.int()
            self.native_encoding = self.raw(n).decode("ascii", "replace")
        elif self.version != 2:
            raise RDecodeError("unsupported serialisation version %d"
                               % self.version)

    # -- primitive readers -------------------------------------------------
    def _token(self):
        if self._tok >= len(self._tokens):
            raise RDecodeError("truncated ascii serialisation")
        t = self._tokens[self._tok]
        self._tok += 1
        return t

    def int(self):
        if self.kind == "ascii":
            t = self._token()
            return NA_INTEGER if t == b"NA" else int(t)
        end = self.pos + 4
        if end > len(self.data):
            raise RDecodeError("truncated serialisation stream")
        v = struct.unpack(">i" if self.kind == "xdr" else "<i",
                          self.data[self.pos:end])[0]
        self.pos = end
        return v

    def ints(self, n):
        if self.kind == "ascii":
            return [self.int() for _ in range(n)]
        end = self.pos + 4 * n
        if end > len(self.data):
            raise RDecodeError("truncated serialisation stream")
        v = struct.unpack((">%di" if self.kind == "xdr" else "<%di") % n,
                          self.data[self.pos:end])
        self.pos = end
        return list(v)

    def doubles(self, n):
        if self.kind == "ascii":
            out = []
            for _ in range(n):
                t = self._token()
                if t in (b"NA", b"NaN"):
                    out.append(math.nan)
                elif t == b"Inf":
                    out.append(math.inf)
                elif t == b"-Inf":
                    out.append(-math.inf)
                else:
                    out.append(float(t))
            return out
        end = self.pos + 8 * n
        if end > len(self.data):
            raise RDecodeError("truncated serialisation stream")
        v = struct.unpack((">%dd" if self.kind == "xdr" else "<%dd") % n,
                          self.data[self.pos:end])
        self.pos = end
        return list(v)

    def raw(self, n):
        if self.kind == "ascii":
            # strings in ascii format are written as escaped words
            t = self._token()
            return _unescape_ascii(t)
        end = self.pos + n
        if end > len(self.data):
            raise RDecodeError("truncated serialisation stream")
        v = self.data[self.pos:end]
        self.pos = end
        return v

    def length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + (lo & 0xFFFFFFFF)
        return n

    # -- items -------------------------------------------------------------
    def item(self):
        flags = self.int()
        t = flags & 0xFF
        levels = flags >> 12
        has_attr = bool(flags & HAS_ATTR_BIT)
        has_tag = bool(flags & HAS_TAG_BIT)

        if t == NILVALUE_SXP:
            return RObject(NILSXP)
        if t == REFSXP:
            idx = flags >> 8
            if idx == 0:
                idx = self.int()
            if idx < 1 or idx > len(self.refs):
                raise RDecodeError("bad reference index %d" % idx)
            return self.refs[idx - 1]
        if t in (EMPTYENV_SXP, BASEENV_SXP, GLOBALENV_SXP, BASENAMESPACE_SXP):
            return RObject(ENVSXP, {EMPTYENV_SXP: "<emptyenv>",
                                    BASEENV_SXP: "<baseenv>",
                                    GLOBALENV_SXP: "<globalenv>",
                                    BASENAMESPACE_SXP: "<namespace:base>"}[t])
        if t == UNBOUNDVALUE_SXP:
            return RObject(SYMSXP, "<unbound>")
        if t == MISSINGARG_SXP:
            return RObject(SYMSXP, "")
        if t in (PERSISTSXP, PACKAGESXP, NAMESPACESXP):
            # InStringVec: a 0 then a length then CHARSXP items
            if self.int() != 0:
                raise RDecodeError("names in persistent strings not supported")
            n = self.int()
            strs = [self.item().value for _ in range(n)]
            kind = {PERSISTSXP: "persistent", PACKAGESXP: "package",
                    NAMESPACESXP: "namespace"}[t]
            obj = RObject(ENVSXP, "<%s:%s>" % (kind, ":".join(
                s or "NA" for s in strs)))
            self.refs.append(obj)
            return obj
        if t == SYMSXP:
            name = self.item()  # a CHARSXP
            obj = RObject(SYMSXP, name.value)
            self.refs.append(obj)
            return obj
        if t == ENVSXP:
            obj = RObject(ENVSXP, "<environment>")
            self.refs.append(obj)
            self.int()          # locked
            self.item()         # enclosure
            frame = self.item()
            hashtab = self.item()
            attrs = self.item()
            obj.value = {"frame": frame, "hashtab": hashtab}
            obj.attributes = _pairlist_to_attrs(attrs)
            return obj
        if t in (LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP,
                 ATTRLANGSXP, ATTRLISTSXP):
            # pairlist-like: iterate the cdr chain instead of recursing
            rtype = {ATTRLANGSXP: LANGSXP, ATTRLISTSXP: LISTSXP}.get(t, t)
            if t in (ATTRLANGSXP, ATTRLISTSXP):
                has_attr = True
            head = RObject(rtype, [])
            node_type = t
            while True:
                attrs = self.item() if has_attr else None
                tag = self.item() if has_tag else None
                car = self.item()
                head.value.append((tag.value if tag is not None and
                                   tag.rtype == SYMSXP else None, car))
                if attrs is not None and len(head.value) == 1:
                    head.attributes = _pairlist_to_attrs(attrs)
                # peek at the cdr
                flags = self.int()
                nt = flags & 0xFF
                if nt == node_type or (node_type in (ATTRLANGSXP, LANGSXP)
                                       and nt in (LISTSXP, ATTRLISTSXP)) or \
                        (node_type in (LISTSXP, ATTRLISTSXP) and
                         nt in (LISTSXP, ATTRLISTSXP)):
                    node_type = nt
                    has_attr = bool(flags & HAS_ATTR_BIT) or nt in (
                        ATTRLANGSXP, ATTRLISTSXP)
                    has_tag = bool(flags & HAS_TAG_BIT)
                    continue
                if nt == NILVALUE_SXP:
                    break
                # an improper list: push the flags back and read the cdr
                self._unread_int(flags)
                head.value.append((".cdr", self.item()))
                break
            return head
        if t in (SPECIALSXP, BUILTINSXP):
            n = self.int()
            return RObject(t, self.raw(n).decode("latin-1"))
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return RObject(CHARSXP, None)
            b = self.raw(n)
            return RObject(CHARSXP, _decode_charsxp(b, levels,
                                                    self.native_encoding))
        if t in (LGLSXP, INTSXP):
            n = self.length()
            vals = self.ints(n)
            if t == LGLSXP:
                vals = [None if v == NA_INTEGER else bool(v) for v in vals]
            else:
                vals = [None if v == NA_INTEGER else v for v in vals]
            obj = RObject(t, vals)
        elif t == REALSXP:
            obj = RObject(t, self.doubles(self.length()))
        elif t == CPLXSXP:
            d = self.doubles(2 * self.length())
            obj = RObject(t, [complex(d[i], d[i + 1])
                              for i in range(0, len(d), 2)])
        elif t == STRSXP:
            n = self.length()
            vals = []
            for _ in range(n):
                c = self.item()
                if c.rtype != CHARSXP:
                    raise RDecodeError("STRSXP element is %s, not CHARSXP"
                                       % c.type_name)
                vals.append(c.value)
            obj = RObject(t, vals)
        elif t in (VECSXP, EXPRSXP):
            n = self.length()
            obj = RObject(t, [self.item() for _ in range(n)])
        elif t == RAWSXP:
            n = self.length()
            if self.kind == "ascii":
                obj = RObject(t, bytes(int(self._token(), 16)
                                       for _ in range(n)))
            else:
                obj = RObject(t, self.raw(n))
        elif t == S4SXP:
            obj = RObject(t, None)
        elif t == EXTPTRSXP:
            obj = RObject(t, "<externalptr>")
            self.refs.append(obj)
            self.item()  # prot
            self.item()  # tag
        elif t == WEAKREFSXP:
            obj = RObject(t, "<weakref>")
            self.refs.append(obj)
        elif t == ALTREP_SXP:
            info = self.item()
            state = self.item()
            attrs = self.item()
            obj = _expand_altrep(info, state)
            obj.attributes = _pairlist_to_attrs(attrs)
            return obj
        elif t == BCODESXP:
            raise RDecodeError("byte code objects are not supported")
        else:
            raise RDecodeError("unsupported SEXP type %d at offset %d"
                               % (t, self.pos))
        if has_attr:
            obj.attributes = _pairlist_to_attrs(self.item())
        return obj

    def _unread_int(self, flags):
        if self.kind == "ascii":
            self._tok -= 1
        else:
            self.pos -= 4


def _unescape_ascii(tok):
    out = bytearray()
    i = 0
    simple = {ord("n"): 10, ord("t"): 9, ord("v"): 11, ord("b"): 8,
              ord("r"): 13, ord("f"): 12, ord("a"): 7, ord("\\"): 92,
              ord("?"): 63, ord("'"): 39, ord('"'): 34}
    while i < len(tok):
        c = tok[i]
        if c == 92 and i + 1 < len(tok):
            d = tok[i + 1]
            if d in simple:
                out.append(simple[d])
                i += 2
                continue
            j = i + 1
            while j < len(tok) and j < i + 4 and 48 <= tok[j] <= 55:
                j += 1
            out.append(int(tok[i + 1:j], 8))
            i = j
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _decode_charsxp(b, levels, native_encoding):
    if levels & (UTF8_MASK | ASCII_MASK):
        return b.decode("utf-8", "surrogateescape")
    if levels & LATIN1_MASK:
        return b.decode("latin-1")
    if levels & BYTES_MASK:
        return b.decode("latin-1")  # arbitrary bytes; keep them 1:1
    # "native" encoding of the writer
    enc = (native_encoding or "UTF-8").lower()
    try:
        return b.decode(enc)
    except (LookupError, UnicodeDecodeError):
        return b.decode("utf-8", "surrogateescape")


def _pairlist_to_attrs(pl):
    if pl is None or pl.rtype == NILSXP:
        return {}
    if pl.rtype != LISTSXP:
        return {}
    return {tag: val for tag, val in pl.value if tag is not None}


def _expand_altrep(info, state):
    """Materialise the ALTREP classes base R writes into streams."""
    cls = info.value[0][1].value if info.rtype == LISTSXP else None
    if cls == "compact_intseq":
        n, start, inc = state.value[:3]
        return RObject(INTSXP, [int(start + i * inc) for i in range(int(n))])
    if cls == "compact_realseq":
        n, start, inc = state.value[:3]
        return RObject(REALSXP, [start + i * inc for i in range(int(n))])
    if cls == "deferred_string":
        # state: pairlist(arg, info); arg is an integer/real vector
        arg = state.value[0][1] if state.rtype == LISTSXP else state
        vals = []
        for v in arg.value:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                vals.append(None)
            elif isinstance(v, float) and v == int(v):
                vals.append(str(int(v)))
            else:
                vals.append(str(v))
        return RObject(STRSXP, vals)
    if cls and cls.startswith("wrap_"):
        return state.value[0]   # list(x, meta)
    raise RDecodeError("unsupported ALTREP class %r" % cls)


# -- public API ------------------------------------------------------------

def unserialize(data):
    """Decode one R serialisation stream (bytes) into an RObject."""
    return _Reader(data).item()


def _decompress_file_bytes(raw):
    """Contents of a saveRDS-style file: gzip, bzip2, xz or plain."""
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:3] == b"BZh":
        return bz2.decompress(raw)
    if raw[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(raw)
    if raw[:2] in (b"X\n", b"B\n", b"A\n"):
        return raw
    # R's in-memory form: 4-byte length then zlib
    return _decompress_chunk(raw, 1)


def _decompress_chunk(chunk, compressed):
    """One lazy-load chunk: 4-byte BE length then compressed data."""
    if len(chunk) < 5:
        raise RDecodeError("lazy-load chunk too short")
    outlen = struct.unpack(">I", chunk[:4])[0]
    body = chunk[4:]
    if compressed in (2, 3):
        kind, body = body[:1], body[1:]
        if kind == b"0":
            out = body
        elif kind == b"1":
            out = zlib.decompress(body)
        elif kind == b"2":
            out = bz2.decompress(body)
        elif kind == b"Z":
            out = lzma.decompress(body)
        else:
            raise RDecodeError("unknown chunk compression type %r" % kind)
    elif compressed in (0, False):
        out = body
    else:
        out = zlib.decompress(body)
    if len(out) != outlen:
        raise RDecodeError("chunk length %d, header says %d"
                           % (len(out), outlen))
    return out


def read_rds(path):
    """Read a .rds file (saveRDS output)."""
    with open(path, "rb") as f:
        return unserialize(_decompress_file_bytes(f.read()))


class LazyLoadDB:
    """An R lazy-load database: ``db = LazyLoadDB("pkg/data/Rdata")``."""

    def __init__(self, base):
        for suffix in (".rdx", ".rdb"):
            if base.endswith(suffix):
                base = base[:-len(suffix)]
        self.base = base
        with open(base + ".rdx", "rb") as f:
            index = unserialize(_decompress_file_bytes(f.read()))
        if index.rtype != VECSXP or "variables" not in (index.names or []):
            raise RDecodeError("%s.rdx is not a lazy-load index" % base)
        comp = index["compressed"] if "compressed" in index.names else None
        self.compressed = 1
        if comp is not None and comp.value:
            v = comp.value[0]
            self.compressed = 1 if v is True else (0 if v is False
                                                    else int(v))
        variables = index["variables"]
        self.variables = {}
        for name, loc in zip(variables.names or [], variables.value):
            off, ln = (int(x) for x in loc.value[:2])
            self.variables[name] = (off, ln)

    def names(self):
        return list(self.variables)

    def raw_chunk(self, name):
        off, ln = self.variables[name]
        with open(self.base + ".rdb", "rb") as f:
            f.seek(off)
            chunk = f.read(ln)
        if len(chunk) != ln:
            raise RDecodeError("%s.rdb is truncated" % self.base)
        return chunk

    def get(self, name):
        data = _decompress_chunk(self.raw_chunk(name), self.compressed)
        return unserialize(data)


def open_any(path):
    """(names, getter) for a lazy-load DB prefix or a .rds file."""
    if path.endswith(".rds") and os.path.exists(path):
        obj = read_rds(path)
        name = os.path.basename(path)[:-4]
        return [name], lambda n: obj
    db = LazyLoadDB(path)
    return db.names(), db.get


def character_lines(obj, column=None):
    """The strings of a character vector, factor or data-frame column."""
    if obj.rtype == VECSXP and column is not None:
        obj = obj[column]
    if obj.rtype == INTSXP and "factor" in obj.classes:
        levels = obj.attr("levels").value
        return [None if v is None else levels[v - 1] for v in obj.value]
    if obj.rtype != STRSXP:
        raise RDecodeError("not a character vector (%s %s)"
                           % (obj.type_name, obj.classes))
    return obj.value


def to_json(obj):
    """A JSON-friendly rendering (for inspection)."""
    if isinstance(obj, RObject):
        if obj.rtype in (VECSXP, EXPRSXP):
            val = [to_json(v) for v in obj.value]
        elif obj.rtype in (LISTSXP, LANGSXP):
            val = [[t, to_json(v)] for t, v in obj.value]
        elif obj.rtype == RAWSXP:
            val = obj.value.hex()
        elif obj.rtype == REALSXP:
            val = [None if math.isnan(v) else v for v in obj.value]
        elif obj.rtype == CPLXSXP:
            val = [[v.real, v.imag] for v in obj.value]
        elif obj.rtype == ENVSXP:
            val = "<environment>"
        else:
            val = obj.value
        out = {"type": obj.type_name, "value": val}
        if obj.attributes:
            out["attributes"] = {k: to_json(v)
                                 for k, v in obj.attributes.items()}
        return out
    return obj


def describe(obj):
    s = "%s[%d]" % (obj.type_name, len(obj))
    if obj.classes:
        s += " class=" + ",".join(obj.classes)
    if obj.rtype == VECSXP and obj.names:
        s += " names=" + ",".join(n or "NA" for n in obj.names)
    return s


def main(argv):
    if len(argv) < 3 or argv[1] not in ("list", "dump", "lines"):
        sys.stderr.write(__doc__)
        return 2
    cmd, path = argv[1], argv[2]
    try:
        names, get = open_any(path)
        if cmd == "list":
            for n in names:
                print("%s\t%s" % (n, describe(get(n))))
            return 0
        if len(argv) < 4:
            sys.stderr.write("rdata_decode.py: %s needs an object name\n"
                             % cmd)
            return 2
        name = argv[3]
        if name not in names:
            sys.stderr.write("rdata_decode.py: no object %r in %s (have: %s)\n"
                             % (name, path, ", ".join(names)))
            return 1
        obj = get(name)
        if cmd == "dump":
            json.dump(to_json(obj), sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
            return 0
        lines = character_lines(obj, argv[4] if len(argv) > 4 else None)
        out = sys.stdout.buffer
        for line in lines:
            out.write(("NA" if line is None else line).encode(
                "utf-8", "surrogateescape") + b"\n")
        return 0
    except (OSError, RDecodeError, KeyError, zlib.error) as e:
        sys.stderr.write("rdata_decode.py: %s: %s\n" % (path, e))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
